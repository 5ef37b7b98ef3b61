/**
 * Load generator for the benchmarks: a minimal, fast BGP speaker built on podgate's codec.
 * It pre-encodes every UPDATE before connecting (so encoding never counts against the target),
 * opens one or many sessions (each from its own source address, OPEN with 4-octet AS and
 * multiprotocol IPv4 unicast), and on "go" writes everything as fast as the sockets accept it,
 * answering and sending KEEPALIVEs. It reads what the target sends only far enough to count
 * announced prefixes (for convergence) and to notice NOTIFICATIONs.
 *
 * Run inside a network namespace; the controller talks to it over stdio:
 *   stdin  "connect\n" open the sessions (retrying until the target listens); "go\n" start
 *          writing; EOF exit (so a crashed controller never leaves it behind)
 *   stdout JSON lines: {ev:"encoded"}, {ev:"established"}, {ev:"firstWrite", t},
 *          {ev:"written", t}, {ev:"rxComplete", t}, {ev:"down", ...}, {ev:"stats", ...}
 * Times `t` are epoch milliseconds with sub-millisecond precision (comparable across processes).
 *
 *   node --import tsx bench/gen.ts --target 10.99.0.1 --local 10.99.1.1 --sessions 1 \
 *     --prefixes 100000 --workload calico|fulltable [--hold 90] [--expect-rx 0]
 */
import net from "node:net";
import { parseArgs } from "node:util";
import {
  Afi,
  AsPathSegmentType,
  DEFAULT_CODEC_OPTIONS,
  encodeMessage,
  encodeUpdate,
  encodeUpdates,
  endOfRib,
  HEADER_LENGTH,
  keepalive,
  MessageFramer,
  MessageType,
  type Nlri,
  Origin,
  type PathAttributes,
  Safi,
} from "../src/bgp/wire/index.ts";

export type Workload = "calico" | "fulltable";

/** Wall clock with sub-millisecond precision, comparable between processes on one machine. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

function ipv4(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

/** Calico-like: `count` /26 blocks from 10.0.0.0 + offset blocks (4 per /24), one shared attribute set. */
export function calicoUpdates(count: number, offset: number, asn: number, nextHop: string): Buffer[] {
  const nlri: Nlri[] = new Array(count);
  for (let i = 0; i < count; i++) {
    nlri[i] = { prefix: { afi: Afi.IPV4, addr: ipv4((0x0a000000 + (offset + i) * 64) >>> 0), len: 26 } };
  }
  const attributes: PathAttributes = {
    origin: Origin.IGP,
    asPath: [{ type: AsPathSegmentType.AS_SEQUENCE, asns: [asn] }],
    nextHop,
    communities: [(asn & 0xffff) * 65536 + 100],
  };
  return encodeUpdates({ attributes, nlri }, DEFAULT_CODEC_OPTIONS);
}

/**
 * Prefix-length mix roughly like the public IPv4 table (/24 dominates), /16../24 only.
 * Cumulative weights out of 100.
 */
const LENGTH_MIX: readonly [number, number][] = [
  [24, 60],
  [23, 70],
  [22, 82],
  [21, 88],
  [20, 93],
  [19, 96],
  [18, 98],
  [17, 99],
  [16, 100],
];

/** Deterministic 32-bit PRNG (mulberry32), so every run and every target sees the same table. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Full-table-like: `count` distinct prefixes of mixed lengths /16–/24 walking up from 1.0.0.0
 * (a /24 step per prefix, masked to its length; collisions skipped), each with its own
 * attributes: AS path of 2–5 hops ending in a per-prefix origin AS, MED = index, one community.
 * Every prefix therefore travels in its own UPDATE, like a real table with diverse paths.
 */
export function fullTableUpdates(count: number, offset: number, asn: number, nextHop: string): Buffer[] {
  const rnd = prng(0x5eed + offset);
  const seen = new Set<number>();
  const out: Buffer[] = new Array(count);
  let cursor = (0x01000000 + offset * 256) >>> 0;
  for (let i = 0; i < count; ) {
    const r = rnd() * 100;
    let len = 24;
    for (const [l, w] of LENGTH_MIX) {
      if (r < w) {
        len = l;
        break;
      }
    }
    const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
    const addr = (cursor & mask) >>> 0;
    cursor = (cursor + 256) >>> 0;
    const key = addr * 64 + len;
    if (seen.has(key)) continue;
    seen.add(key);
    const hops = 1 + (i % 4);
    const asns = [asn];
    for (let h = 1; h < hops; h++) asns.push(64600 + ((i * 7 + h * 13) % 400)); // 64600..64999: never the target AS 65000
    asns.push(200000 + i);
    const attributes: PathAttributes = {
      origin: Origin.IGP,
      asPath: [{ type: AsPathSegmentType.AS_SEQUENCE, asns }],
      nextHop,
      med: i,
      communities: [(asn & 0xffff) * 65536 + (i & 0xffff)],
    };
    out[i] = encodeUpdate(
      { attributes, nlri: [{ prefix: { afi: Afi.IPV4, addr: ipv4(addr), len } }] },
      DEFAULT_CODEC_OPTIONS,
    );
    i++;
  }
  return out;
}

/** Concatenates messages into ~256 KiB chunks: fewer write() calls, same bytes. */
export function chunk(msgs: readonly Buffer[], size = 256 * 1024): Buffer[] {
  const out: Buffer[] = [];
  let cur: Buffer[] = [];
  let n = 0;
  for (const m of msgs) {
    cur.push(m);
    n += m.length;
    if (n >= size) {
      out.push(Buffer.concat(cur, n));
      cur = [];
      n = 0;
    }
  }
  if (n > 0) out.push(Buffer.concat(cur, n));
  return out;
}

/** Counts IPv4 NLRI announced in a raw UPDATE (classic field; the targets send IPv4 that way). */
export function countNlri(msg: Buffer): number {
  let p = HEADER_LENGTH;
  const wl = msg.readUInt16BE(p);
  p += 2 + wl;
  const al = msg.readUInt16BE(p);
  p += 2 + al;
  let n = 0;
  while (p < msg.length) {
    const bits = msg[p]!;
    p += 1 + ((bits + 7) >> 3);
    n++;
  }
  return n;
}

interface GenOptions {
  target: string;
  port: number;
  local: string[];
  asn: number;
  targetAsn: number;
  hold: number;
  prefixes: number;
  workload: Workload;
  expectRx: number;
}

function emit(ev: string, extra: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ ev, t: nowMs(), ...extra })}\n`);
}

class GenSession {
  socket: net.Socket | undefined;
  established = false;
  rxPrefixes = 0;
  /** Longest silence from the target (ms) after Established: its KEEPALIVE jitter. */
  maxGapMs = 0;
  private lastRx = 0;
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private framer = new MessageFramer();

  constructor(
    readonly index: number,
    readonly local: string,
    readonly data: Buffer[],
    private readonly o: GenOptions,
    private readonly onEstablished: (s: GenSession) => void,
    private readonly onRx: (s: GenSession) => void,
  ) {}

  connect(): void {
    const s = net.connect({ host: this.o.target, port: this.o.port, localAddress: this.local });
    this.socket = s;
    s.setNoDelay(true);
    s.on("connect", () => {
      const open = encodeMessage(
        {
          type: MessageType.OPEN,
          version: 4,
          myAs: this.o.asn > 0xffff ? 23456 : this.o.asn,
          holdTime: this.o.hold,
          bgpId: this.local,
          capabilities: {
            multiprotocol: [{ afi: Afi.IPV4, safi: Safi.UNICAST }],
            routeRefresh: false,
            enhancedRouteRefresh: false,
            fourOctetAs: this.o.asn,
            addPath: [],
            others: [],
          },
        },
        DEFAULT_CODEC_OPTIONS,
      );
      s.write(open);
    });
    s.on("data", (chunk: Buffer) => {
      for (const m of this.framer.push(chunk)) this.onMessage(m);
    });
    s.on("error", (e) => {
      if (this.established) emit("error", { session: this.index, local: this.local, error: e.message });
    });
    s.on("close", () => {
      clearInterval(this.keepaliveTimer);
      if (this.established) {
        emit("down", { session: this.index, local: this.local });
        return;
      }
      // The target is not listening yet (or refused us): try again shortly.
      this.framer = new MessageFramer();
      setTimeout(() => this.connect(), 250);
    });
  }

  private onMessage(m: Buffer): void {
    const type = m[18];
    const now = nowMs();
    if (this.established && this.lastRx > 0) this.maxGapMs = Math.max(this.maxGapMs, now - this.lastRx);
    this.lastRx = now;
    if (type === MessageType.OPEN) {
      const peerHold = m.readUInt16BE(HEADER_LENGTH + 3);
      const hold = Math.min(peerHold, this.o.hold);
      this.socket!.write(keepalive());
      if (hold > 0) {
        this.keepaliveTimer = setInterval(() => this.socket?.write(keepalive()), (hold * 1000) / 3);
      }
    } else if (type === MessageType.KEEPALIVE) {
      if (!this.established) {
        this.established = true;
        this.onEstablished(this);
      }
    } else if (type === MessageType.UPDATE) {
      const n = countNlri(m);
      if (n > 0) {
        this.rxPrefixes += n;
        this.onRx(this);
      }
    } else if (type === MessageType.NOTIFICATION) {
      emit("notification", { session: this.index, local: this.local, code: m[19], subcode: m[20] });
    }
  }

  /** Writes all pre-encoded data respecting backpressure; resolves when handed to the kernel. */
  async writeAll(): Promise<void> {
    const s = this.socket!;
    for (const b of this.data) {
      if (!s.write(b)) await new Promise<void>((r) => s.once("drain", r));
    }
    await new Promise<void>((r) => s.write(Buffer.alloc(0), () => r()));
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      target: { type: "string" },
      port: { type: "string", default: "179" },
      local: { type: "string" },
      sessions: { type: "string", default: "1" },
      asn: { type: "string", default: "65001" },
      "target-asn": { type: "string", default: "65000" },
      hold: { type: "string", default: "90" },
      prefixes: { type: "string", default: "100000" },
      workload: { type: "string", default: "calico" },
      "expect-rx": { type: "string", default: "0" },
    },
  });
  const sessions = Number(values.sessions);
  const first = (values.local ?? "").split(".").map(Number);
  const base = ((first[0]! << 24) | (first[1]! << 16) | (first[2]! << 8) | first[3]!) >>> 0;
  const o: GenOptions = {
    target: values.target ?? "",
    port: Number(values.port),
    local: Array.from({ length: sessions }, (_, k) => ipv4(base + k)),
    asn: Number(values.asn),
    targetAsn: Number(values["target-asn"]),
    hold: Number(values.hold),
    prefixes: Number(values.prefixes),
    workload: values.workload as Workload,
    expectRx: Number(values["expect-rx"]),
  };
  const t0 = nowMs();
  let totalMsgs = 0;
  let totalBytes = 0;
  const list: GenSession[] = [];
  let up = 0;
  let rxDone = 0;
  for (let k = 0; k < sessions; k++) {
    const offset = k * o.prefixes;
    const msgs =
      o.workload === "calico"
        ? calicoUpdates(o.prefixes, offset, o.asn, o.local[k]!)
        : fullTableUpdates(o.prefixes, offset, o.asn, o.local[k]!);
    msgs.push(endOfRib({ afi: Afi.IPV4, safi: Safi.UNICAST }, DEFAULT_CODEC_OPTIONS));
    totalMsgs += msgs.length;
    for (const m of msgs) totalBytes += m.length;
    list.push(
      new GenSession(
        k,
        o.local[k]!,
        chunk(msgs),
        o,
        () => {
          up++;
          if (up === sessions) emit("established", { sessions });
        },
        (s) => {
          if (o.expectRx > 0 && s.rxPrefixes >= o.expectRx && !(s as { done?: boolean }).done) {
            (s as { done?: boolean }).done = true;
            rxDone++;
            if (rxDone === sessions) emit("rxComplete");
          }
        },
      ),
    );
  }
  emit("encoded", { ms: nowMs() - t0, updates: totalMsgs, bytes: totalBytes });

  process.stdin.setEncoding("utf8");
  process.stdin.on("data", (d: string) => {
    if (d.includes("connect")) for (const s of list) s.connect();
    if (d.includes("go")) {
      emit("firstWrite");
      void Promise.all(list.map((s) => s.writeAll())).then(() => emit("written"));
    }
    if (d.includes("stats")) {
      emit("stats", {
        established: list.filter((s) => s.established && !s.socket?.destroyed).length,
        rx: list.reduce((n, s) => n + s.rxPrefixes, 0),
        maxGapMs: list.reduce((n, s) => Math.max(n, s.maxGapMs), 0),
      });
    }
  });
  process.stdin.on("end", () => process.exit(0));
}

if (import.meta.url === `file://${process.argv[1]}`) void main();
