/**
 * A scripted raw TCP "BGP peer" for hostile.test.ts, run inside a lab namespace with
 * `ip netns exec NS node --import tsx raw-client.ts '<json spec>'` (the test process cannot
 * enter a namespace itself). It connects from a chosen local address, plays the steps (send
 * hex bytes, wait for N messages of a type, sleep, half-close), then waits until the other
 * side closes or the timeout passes, and prints one JSON line: every byte received (hex),
 * whether the peer closed, and what happened. It knows nothing of BGP beyond the header, so
 * the test decodes the reply with podgate's codec.
 */
import net from "node:net";

export type RawStep =
  | { send: string }
  | { waitType: number; count?: number; timeoutMs?: number }
  | { sleepMs: number }
  | { end: true };

export interface RawSpec {
  host: string;
  port: number;
  localAddress: string;
  steps: RawStep[];
  /** How long to wait for the peer to close after the last step (default 5000). */
  closeTimeoutMs?: number;
}

export interface RawResult {
  connected: boolean;
  /** All bytes received, hex. */
  received: string;
  closedByPeer: boolean;
  events: string[];
  error?: string;
}

/** Message types of the complete messages in `buf` (header only: marker skipped, length used). */
function messageTypes(buf: Buffer): number[] {
  const out: number[] = [];
  let p = 0;
  while (p + 19 <= buf.length) {
    const len = buf.readUInt16BE(p + 16);
    if (len < 19 || p + len > buf.length) break;
    out.push(buf[p + 18] ?? 0);
    p += len;
  }
  return out;
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? "{}") as RawSpec;
  const res: RawResult = { connected: false, received: "", closedByPeer: false, events: [] };
  const chunks: Buffer[] = [];
  let closed = false;
  const started = Date.now();
  const ev = (s: string) => res.events.push(`${Date.now() - started}ms ${s}`);
  const sock = net.connect({ host: spec.host, port: spec.port, localAddress: spec.localAddress });
  sock.on("data", (c: Buffer) => chunks.push(c));
  const closedP = new Promise<void>((resolve) => {
    sock.on("close", () => {
      closed = true;
      resolve();
    });
  });
  sock.on("error", (e) => {
    res.error = e.message;
    ev(`error ${e.message}`);
  });
  await new Promise<void>((resolve) => {
    sock.once("connect", () => {
      res.connected = true;
      ev("connected");
      resolve();
    });
    sock.once("close", () => resolve());
  });
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  if (res.connected) {
    for (const step of spec.steps) {
      if (closed) {
        ev("closed before all steps ran");
        break;
      }
      if ("send" in step) {
        sock.write(Buffer.from(step.send, "hex"));
        ev(`sent ${step.send.length / 2} octets`);
      } else if ("waitType" in step) {
        const want = step.count ?? 1;
        const deadline = Date.now() + (step.timeoutMs ?? 5000);
        while (messageTypes(Buffer.concat(chunks)).filter((t) => t === step.waitType).length < want) {
          if (closed || Date.now() > deadline) {
            ev(`gave up waiting for ${want} message(s) of type ${step.waitType}`);
            break;
          }
          await sleep(10);
        }
        ev(`waited for type ${step.waitType}`);
      } else if ("sleepMs" in step) {
        await sleep(step.sleepMs);
      } else {
        sock.end();
        ev("half-closed");
      }
    }
    const timeout = spec.closeTimeoutMs ?? 5000;
    await Promise.race([closedP, sleep(timeout)]);
    res.closedByPeer = closed;
    ev(closed ? "closed" : `still open after ${timeout} ms`);
  }
  sock.destroy();
  res.received = Buffer.concat(chunks).toString("hex");
  // Exit at once: a pending sleep() timer would otherwise keep the process alive.
  process.stdout.write(`${JSON.stringify(res)}\n`, () => process.exit(0));
}

await main();
