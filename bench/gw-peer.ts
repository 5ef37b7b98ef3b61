/**
 * Two-sided BGP probe for the gateway convergence benchmark (bench/gateway.ts). Runs inside a
 * network namespace and holds two sessions to the gateway under test:
 *   - "cluster" (from --cluster-local, AS --cluster-asn): on stdin `a <prefix>` it sends one
 *     UPDATE announcing the prefix (next hop = its own address), `w <prefix>` a withdraw; it
 *     prints {ev:"sent", op, prefix, t} with the time taken just before write();
 *   - "office" (from --office-local, AS --office-asn): only listens; for every prefix in a
 *     received UPDATE it prints {ev:"rx", op:"a"|"w", prefix, t} with the arrival time.
 * Times are epoch ms with sub-ms precision (nowMs), comparable with the controller's clock.
 * Exits when stdin closes, so a crashed controller never leaves it behind.
 */
import net from "node:net";
import { parseArgs } from "node:util";
import {
  Afi,
  AsPathSegmentType,
  DEFAULT_CODEC_OPTIONS,
  encodeMessage,
  encodeUpdate,
  HEADER_LENGTH,
  keepalive,
  MessageFramer,
  MessageType,
  Origin,
  Safi,
} from "../src/bgp/wire/index.ts";
import { nowMs } from "./gen.ts";

function emit(ev: string, extra: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ ev, t: nowMs(), ...extra })}\n`);
}

/** Reads IPv4 prefixes from a classic NLRI / withdrawn-routes field (no ADD-PATH). */
function readPrefixes(b: Buffer, start: number, end: number): string[] {
  const out: string[] = [];
  let p = start;
  while (p < end) {
    const len = b[p]!;
    const n = (len + 7) >> 3;
    const o = [0, 0, 0, 0];
    for (let i = 0; i < n; i++) o[i] = b[p + 1 + i]!;
    out.push(`${o.join(".")}/${len}`);
    p += 1 + n;
  }
  return out;
}

class ProbeSession {
  socket: net.Socket | undefined;
  established = false;
  private framer = new MessageFramer();
  private ka: NodeJS.Timeout | undefined;

  constructor(
    readonly role: "cluster" | "office",
    readonly local: string,
    readonly asn: number,
    readonly target: string,
  ) {}

  connect(): void {
    const s = net.connect({ host: this.target, port: 179, localAddress: this.local });
    this.socket = s;
    s.setNoDelay(true);
    s.on("connect", () => {
      s.write(
        encodeMessage(
          {
            type: MessageType.OPEN,
            version: 4,
            myAs: this.asn > 0xffff ? 23456 : this.asn,
            holdTime: 90,
            bgpId: this.local,
            capabilities: {
              multiprotocol: [{ afi: Afi.IPV4, safi: Safi.UNICAST }],
              routeRefresh: false,
              enhancedRouteRefresh: false,
              fourOctetAs: this.asn,
              addPath: [],
              others: [],
            },
          },
          DEFAULT_CODEC_OPTIONS,
        ),
      );
    });
    s.on("data", (c: Buffer) => {
      for (const m of this.framer.push(c)) this.onMessage(m);
    });
    s.on("error", () => {});
    s.on("close", () => {
      clearInterval(this.ka);
      if (this.established) {
        emit("down", { role: this.role });
        return;
      }
      this.framer = new MessageFramer();
      setTimeout(() => this.connect(), 250);
    });
  }

  private onMessage(m: Buffer): void {
    const type = m[18];
    if (type === MessageType.OPEN) {
      this.socket!.write(keepalive());
      const hold = Math.min(90, m.readUInt16BE(HEADER_LENGTH + 3));
      if (hold > 0) this.ka = setInterval(() => this.socket?.write(keepalive()), (hold * 1000) / 3);
    } else if (type === MessageType.KEEPALIVE) {
      if (!this.established) {
        this.established = true;
        emit("established", { role: this.role });
      }
    } else if (type === MessageType.UPDATE && this.role === "office") {
      const t = nowMs();
      const wl = m.readUInt16BE(HEADER_LENGTH);
      const wEnd = HEADER_LENGTH + 2 + wl;
      const al = m.readUInt16BE(wEnd);
      const nStart = wEnd + 2 + al;
      for (const p of readPrefixes(m, HEADER_LENGTH + 2, wEnd))
        process.stdout.write(`${JSON.stringify({ ev: "rx", op: "w", prefix: p, t })}\n`);
      for (const p of readPrefixes(m, nStart, m.length))
        process.stdout.write(`${JSON.stringify({ ev: "rx", op: "a", prefix: p, t })}\n`);
    } else if (type === MessageType.NOTIFICATION) {
      emit("notification", { role: this.role, code: m[19], subcode: m[20] });
    }
  }

  send(op: "a" | "w", prefix: string): void {
    const [addr, len] = prefix.split("/");
    const n = { prefix: { afi: Afi.IPV4, addr: addr!, len: Number(len) } };
    const msg =
      op === "a"
        ? encodeUpdate(
            {
              attributes: {
                origin: Origin.IGP,
                asPath: [{ type: AsPathSegmentType.AS_SEQUENCE, asns: [this.asn] }],
                nextHop: this.local,
              },
              nlri: [n],
            },
            DEFAULT_CODEC_OPTIONS,
          )
        : encodeUpdate({ withdrawn: [n] }, DEFAULT_CODEC_OPTIONS);
    emit("sent", { op, prefix });
    this.socket!.write(msg);
  }
}

function main(): void {
  const { values } = parseArgs({
    options: {
      target: { type: "string" },
      "cluster-local": { type: "string" },
      "cluster-asn": { type: "string", default: "65001" },
      "office-local": { type: "string" },
      "office-asn": { type: "string", default: "65002" },
    },
  });
  const target = values.target ?? "";
  const cluster = new ProbeSession(
    "cluster",
    values["cluster-local"] ?? "",
    Number(values["cluster-asn"]),
    target,
  );
  const office = new ProbeSession(
    "office",
    values["office-local"] ?? "",
    Number(values["office-asn"]),
    target,
  );
  cluster.connect();
  office.connect();
  let buf = "";
  process.stdin.setEncoding("utf8");
  process.stdin.on("data", (d: string) => {
    buf += d;
    let i = buf.indexOf("\n");
    while (i >= 0) {
      const [op, prefix] = buf.slice(0, i).trim().split(" ");
      buf = buf.slice(i + 1);
      i = buf.indexOf("\n");
      if ((op === "a" || op === "w") && prefix) cluster.send(op, prefix);
    }
  });
  process.stdin.on("end", () => process.exit(0));
}

if (import.meta.url === `file://${process.argv[1]}`) main();
