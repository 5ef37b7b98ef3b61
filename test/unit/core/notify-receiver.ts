/**
 * Test stand-in for systemd's notification socket: a python3 process binds a real AF_UNIX
 * SOCK_DGRAM socket (a file, or an abstract "@name"), turns on SO_PASSCRED like systemd does and
 * prints every datagram as one JSON line with the sender's PID from SCM_CREDENTIALS and its own
 * CLOCK_MONOTONIC time. It exits when its stdin closes (so a crashed test cannot leave it
 * behind); close() also kills it and removes a file socket.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { createInterface } from "node:readline";

/** One datagram as the receiver saw it. */
export interface Datagram {
  /** The datagram's text. */
  text: string;
  /** Its VAR=value lines as a map (a later duplicate wins). */
  vars: Map<string, string>;
  /** Sender PID from SCM_CREDENTIALS (how systemd attributes the message). */
  pid: number;
  /** Receiver's CLOCK_MONOTONIC when it arrived, in microseconds. */
  monoUsec: bigint;
}

export interface Receiver {
  /** The value for NOTIFY_SOCKET: a path, or "@name" for the abstract namespace. */
  readonly address: string;
  readonly received: Datagram[];
  /** Resolves with the first datagram (already received or arriving) that matches. */
  waitFor(pred: (d: Datagram) => boolean, what: string, timeoutMs?: number): Promise<Datagram>;
  close(): void;
}

const PY = String.raw`
import json, os, socket, struct, sys, threading, time
addr = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + addr[1:] if addr.startswith("@") else addr)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
def watch():
    sys.stdin.read()
    os._exit(0)
threading.Thread(target=watch, daemon=True).start()
print(json.dumps({"bound": True}), flush=True)
while True:
    data, anc, flags, _ = s.recvmsg(65536, socket.CMSG_SPACE(12))
    pid = -1
    for level, kind, body in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = struct.unpack("iII", body[:12])[0]
    mono = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    print(json.dumps({"text": data.decode("utf-8", "replace"), "pid": pid, "mono": str(mono)}), flush=True)
`;

function parseVars(text: string): Map<string, string> {
  const vars = new Map<string, string>();
  for (const line of text.split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) vars.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return vars;
}

/** Binds `address` ("@name" = abstract) and resolves once the socket exists. */
export async function startReceiver(address: string): Promise<Receiver> {
  const proc: ChildProcess = spawn("python3", ["-c", PY, address], { stdio: ["pipe", "pipe", "pipe"] });
  const received: Datagram[] = [];
  const waiters = new Set<() => void>();
  let stderr = "";
  let exited = false;
  proc.stderr?.on("data", (b: Buffer) => {
    stderr += b.toString();
  });
  proc.on("exit", () => {
    exited = true;
  });
  const bound = new Promise<void>((resolve, reject) => {
    proc.on("exit", (code) => reject(new Error(`receiver exited ${code}: ${stderr}`)));
    proc.on("error", reject);
    const lines = createInterface({ input: proc.stdout! });
    lines.on("line", (line) => {
      const m = JSON.parse(line) as { bound?: boolean; text?: string; pid?: number; mono?: string };
      if (m.bound) {
        resolve();
        return;
      }
      const text = m.text ?? "";
      received.push({ text, vars: parseVars(text), pid: m.pid ?? -1, monoUsec: BigInt(m.mono ?? "0") });
      for (const w of [...waiters]) w();
    });
  });
  const close = () => {
    if (!exited) proc.kill("SIGKILL");
    proc.stdin?.destroy();
    if (!address.startsWith("@")) rmSync(address, { force: true });
  };
  try {
    await bound;
  } catch (e) {
    close();
    throw e;
  }
  return {
    address,
    received,
    close,
    waitFor(pred, what, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const d = received.find(pred);
          if (!d) return false;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(d);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `no datagram ${what} within ${timeoutMs} ms; got ${JSON.stringify(received.map((r) => r.text))}`,
            ),
          );
        }, timeoutMs);
        if (!check()) waiters.add(check);
      });
    },
  };
}
