/**
 * Benchmark harness: a two-namespace lab (generator "gen" ↔ target "tgt" over one veth), the
 * three targets (podgate, BIRD 2, GoBGP 3) configured alike — passive toward the generator's
 * source addresses, import everything, no kernel export — and the generator process
 * (bench/gen.ts) driven over stdio. Everything runs inside namespaces the Lab creates and tears
 * down (also on crash); the generator exits when our stdin pipe closes.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { EventEmitter } from "node:events";
import { readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { apiRequest } from "../src/api/client.ts";
import type { StatusJson } from "../src/api/types.ts";
import { type Host, Lab } from "../test/lab/netns.ts";
import { nowMs, type Workload } from "./gen.ts";

export const REPO = join(dirname(fileURLToPath(import.meta.url)), "..");
export const TARGET_ADDR = "10.99.0.1";
export const GEN_BASE = "10.99.1.1";
export const TARGET_ASN = 65000;
export const GEN_ASN = 65001;

export type TargetName = "podgate" | "bird" | "gobgp";

export function ipv4Add(a: string, k: number): string {
  const p = a.split(".").map(Number);
  const v = (((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0) + k;
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** VmRSS of a process in KiB (0 when it is gone). */
export function rssKiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** User+system CPU seconds a process has used so far (from /proc/<pid>/stat). */
export function cpuSeconds(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8");
    const rest = f.slice(f.lastIndexOf(")") + 2).split(" ");
    // Fields 14 and 15 (utime, stime) are rest[11], rest[12]; clock ticks are 100/s on Linux.
    return (Number(rest[11]) + Number(rest[12])) / 100;
  } catch {
    return 0;
  }
}

export interface BenchLab {
  lab: Lab;
  gen: Host;
  tgt: Host;
}

/** Creates the namespaces, the veth and `sessions` source addresses on the generator side. */
export async function makeLab(name: string, sessions: number): Promise<BenchLab> {
  if (process.getuid?.() !== 0)
    throw new Error("the benchmarks need root (network namespaces): run with sudo");
  const lab = new Lab(name);
  const gen = await lab.addHost("gen");
  const tgt = await lab.addHost("tgt");
  const { aIf } = await lab.link(gen, tgt, { aAddr: `${GEN_BASE}/16`, bAddr: `${TARGET_ADDR}/16` });
  if (sessions > 1) {
    const file = join(lab.dir, "addrs.batch");
    const lines: string[] = [];
    for (let k = 1; k < sessions; k++) lines.push(`addr add ${ipv4Add(GEN_BASE, k)}/16 dev ${aIf}`);
    writeFileSync(file, `${lines.join("\n")}\n`);
    await gen.run(["ip", "-batch", file]);
  }
  // Many concurrent connections from one namespace: keep SYN backlog generous on the target.
  await tgt.sysctl("net.core.somaxconn", "4096");
  await tgt.sysctl("net.ipv4.tcp_max_syn_backlog", "4096");
  return { lab, gen, tgt };
}

export interface TargetOptions {
  sessions: number;
  hold: number;
  /** Export learned routes to the generator sessions (route-server style fan-out). */
  exportAll: boolean;
  /** podgate only: write a V8 CPU profile to this directory. */
  cpuProfDir?: string;
  /** podgate only: serve Prometheus metrics on METRICS_ADDRESS in the target namespace (heap, lag). */
  metrics?: boolean;
}

/** Where the podgate target serves /metrics when TargetOptions.metrics is set (inside `tgt`). */
export const METRICS_ADDRESS = "127.0.0.1:9179";

/** Unlabelled samples of a Prometheus text page (`name value`), e.g. nodejs_heap_size_used_bytes. */
export function parsePromUnlabelled(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*) (\S+)$/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

/** One BGP daemon under test. */
export interface Target {
  readonly name: TargetName;
  start(): Promise<void>;
  pid(): number;
  /** Prefixes in the target's table learned from the generator sessions. */
  learned(): Promise<number>;
  /** Sessions in Established. */
  established(): Promise<number>;
  /** Event-loop lag p99 (podgate only, from status). */
  extra?(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

function neighbors(n: number): string[] {
  return Array.from({ length: n }, (_, k) => ipv4Add(GEN_BASE, k));
}

/** podgate: `node bin/podgate.js run`, status over the control API's unix socket. */
export class PodgateTarget implements Target {
  readonly name = "podgate" as const;
  private proc: ReturnType<Host["spawn"]> | undefined;
  readonly socket: string;

  constructor(
    private readonly b: BenchLab,
    private readonly o: TargetOptions,
  ) {
    this.socket = join(b.lab.dir, `podgate-${process.pid}.sock`);
  }

  async start(): Promise<void> {
    const cfgFile = join(this.b.lab.dir, "podgate.yaml");
    const lines = [
      `routerId: ${TARGET_ADDR}`,
      `asn: ${TARGET_ASN}`,
      `listen: { address: ${TARGET_ADDR}, port: 179 }`,
      `api: { socket: ${this.socket} }`,
      // Like the BIRD target (no kernel protocol): measure the speaker, not route installation.
      "dataplane: { enabled: false }",
      "log: { level: warn }",
      `defaults: { holdTime: ${this.o.hold} }`,
      ...(this.o.metrics ? [`metrics: { enabled: true, address: "${METRICS_ADDRESS}" }`] : []),
      "peers:",
    ];
    for (const a of neighbors(this.o.sessions)) {
      lines.push(
        `  - { address: ${a}, asn: ${GEN_ASN}, passive: true, families: [ipv4], import: accept-all, export: ${this.o.exportAll ? "accept-all" : "reject-all"} }`,
      );
    }
    writeFileSync(cfgFile, `${lines.join("\n")}\n`);
    const node = [process.execPath];
    if (this.o.cpuProfDir) node.push("--cpu-prof", `--cpu-prof-dir=${this.o.cpuProfDir}`);
    this.proc = this.b.tgt.spawn([...node, join(REPO, "bin/podgate.js"), "run", "--config", cfgFile], {
      env: { ...process.env, PODGATE_LOG_LEVEL: "warn" },
      logName: "podgate.log",
    });
    await waitUntil(async () => {
      if (!this.proc?.running()) throw new Error(`podgate exited: ${this.proc?.log()}`);
      await this.status();
      return true;
    }, 20_000);
  }

  pid(): number {
    return this.proc?.child.pid ?? 0;
  }

  status(): Promise<StatusJson> {
    return apiRequest<StatusJson>(this.socket, "GET", "/v1/status");
  }

  async learned(): Promise<number> {
    const s = await this.status();
    return s.peers.reduce((n, p) => n + p.prefixesAccepted, 0);
  }

  async established(): Promise<number> {
    const s = await this.status();
    return s.peers.filter((p) => p.state === "Established").length;
  }

  async extra(): Promise<Record<string, number>> {
    const s = await this.status();
    return {
      eventLoopLagP99Ms: s.eventLoopLagP99Ms ?? Number.NaN,
      eventLoopLagMaxMs: s.eventLoopLagMaxMs ?? Number.NaN,
    };
  }

  log(): string {
    return this.proc?.log() ?? "";
  }

  /**
   * One /metrics scrape (needs TargetOptions.metrics), unlabelled samples only. prom-client's
   * nodejs_eventloop_lag_* histogram is reset by each scrape, so those cover the time since
   * the previous scrape.
   */
  async scrape(): Promise<Map<string, number>> {
    const out = await this.b.tgt.run([
      "curl",
      "-sf",
      "--max-time",
      "10",
      `http://${METRICS_ADDRESS}/metrics`,
    ]);
    return parsePromUnlabelled(out);
  }

  async stop(): Promise<void> {
    if (this.proc) await this.b.lab.stopProcess(this.proc, 10_000);
  }
}

/** Minimal BIRD control-socket client: one command at a time, reply ends at a "DDDD " line. */
class BirdCtl {
  private sock: net.Socket | undefined;
  private buf = "";
  private waiter: ((s: string) => void) | undefined;
  private greeted = false;

  constructor(private readonly path: string) {}

  async connect(): Promise<void> {
    const s = net.connect(this.path);
    this.sock = s;
    s.setEncoding("utf8");
    await new Promise<void>((resolve, reject) => {
      s.once("error", reject);
      s.on("data", (d: string) => {
        this.buf += d;
        if (!this.greeted) {
          if (/^0001 .*\n/m.test(this.buf)) {
            this.greeted = true;
            this.buf = "";
            resolve();
          }
          return;
        }
        if (/(^|\n)\d{4} [^\n]*\n$/.test(this.buf) && this.waiter) {
          const w = this.waiter;
          const out = this.buf;
          this.buf = "";
          this.waiter = undefined;
          w(out);
        }
      });
    });
  }

  cmd(line: string): Promise<string> {
    return new Promise((resolve) => {
      this.waiter = resolve;
      this.sock!.write(`${line}\n`);
    });
  }

  close(): void {
    this.sock?.destroy();
  }
}

/** BIRD 2: passive BGP protocols, `import all`, no kernel protocol (nothing goes to the FIB). */
export class BirdTarget implements Target {
  readonly name = "bird" as const;
  private proc: ReturnType<Host["spawn"]> | undefined;
  private ctl: BirdCtl | undefined;
  readonly socket: string;

  constructor(
    private readonly b: BenchLab,
    private readonly o: TargetOptions,
  ) {
    this.socket = join(b.lab.dir, "bird.ctl");
  }

  async start(): Promise<void> {
    const conf = join(this.b.lab.dir, "bird.conf");
    const ka = Math.max(1, Math.floor(this.o.hold / 3));
    const lines = [
      `router id ${TARGET_ADDR};`,
      "log stderr { warning, error, fatal };",
      "protocol device { scan time 60; }",
      "template bgp gen {",
      `  local ${TARGET_ADDR} as ${TARGET_ASN};`,
      "  passive on;",
      `  hold time ${this.o.hold}; keepalive time ${ka};`,
      `  ipv4 { import all; export ${this.o.exportAll ? "all" : "none"}; };`,
      "}",
    ];
    neighbors(this.o.sessions).forEach((a, k) => {
      lines.push(`protocol bgp g${k} from gen { neighbor ${a} as ${GEN_ASN}; }`);
    });
    writeFileSync(conf, `${lines.join("\n")}\n`);
    this.proc = this.b.tgt.spawn(
      ["bird", "-f", "-c", conf, "-s", this.socket, "-P", join(this.b.lab.dir, "bird.pid")],
      {
        logName: "bird.log",
      },
    );
    await waitUntil(async () => {
      if (!this.proc?.running()) throw new Error(`bird exited: ${this.proc?.log()}`);
      const c = new BirdCtl(this.socket);
      await c.connect();
      this.ctl = c;
      return true;
    }, 20_000);
  }

  pid(): number {
    return this.proc?.child.pid ?? 0;
  }

  async learned(): Promise<number> {
    if (this.o.sessions === 1) {
      // O(1): the channel's import counter ("Routes: N imported").
      const out = await this.ctl!.cmd("show protocols all g0");
      const m = /Routes:\s+(\d+) imported/.exec(out);
      return m ? Number(m[1]) : 0;
    }
    const out = await this.ctl!.cmd("show route count");
    const m = /(\d+) of \d+ routes/.exec(out);
    return m ? Number(m[1]) : 0;
  }

  async established(): Promise<number> {
    const out = await this.ctl!.cmd("show protocols");
    return (out.match(/\bEstablished\b/g) ?? []).length;
  }

  async stop(): Promise<void> {
    this.ctl?.close();
    if (this.proc) await this.b.lab.stopProcess(this.proc, 10_000);
  }
}

/** GoBGP 3: default policies (accept), no zebra; queried with the `gobgp` CLI in the namespace. */
export class GobgpTarget implements Target {
  readonly name = "gobgp" as const;
  private proc: ReturnType<Host["spawn"]> | undefined;

  constructor(
    private readonly b: BenchLab,
    private readonly o: TargetOptions,
  ) {}

  async start(): Promise<void> {
    const conf = join(this.b.lab.dir, "gobgpd.toml");
    const ka = Math.max(1, Math.floor(this.o.hold / 3));
    const l = ["[global.config]", `  as = ${TARGET_ASN}`, `  router-id = "${TARGET_ADDR}"`];
    l.push(`  local-address-list = ["${TARGET_ADDR}"]`);
    if (!this.o.exportAll) {
      l.push("[global.apply-policy.config]", '  default-export-policy = "reject-route"');
    }
    for (const a of neighbors(this.o.sessions)) {
      l.push(
        "[[neighbors]]",
        "  [neighbors.config]",
        `    neighbor-address = "${a}"`,
        `    peer-as = ${GEN_ASN}`,
      );
      l.push(
        "  [neighbors.timers.config]",
        `    hold-time = ${this.o.hold}`,
        `    keepalive-interval = ${ka}`,
      );
      l.push("  [neighbors.transport.config]", "    passive-mode = true");
      l.push(
        "  [[neighbors.afi-safis]]",
        "    [neighbors.afi-safis.config]",
        '      afi-safi-name = "ipv4-unicast"',
      );
    }
    writeFileSync(conf, `${l.join("\n")}\n`);
    this.proc = this.b.tgt.spawn(
      ["gobgpd", "-f", conf, "-t", "toml", "--api-hosts", "127.0.0.1:50051", "--pprof-disable", "-l", "warn"],
      { logName: "gobgpd.log" },
    );
    await waitUntil(async () => {
      if (!this.proc?.running()) throw new Error(`gobgpd exited: ${this.proc?.log()}`);
      const r = await this.b.tgt.exec(["gobgp", "-p", "50051", "-j", "neighbor"]);
      return r.code === 0 && (JSON.parse(r.stdout) as unknown[]).length === this.o.sessions;
    }, 20_000);
  }

  pid(): number {
    return this.proc?.child.pid ?? 0;
  }

  async learned(): Promise<number> {
    // `global rib summary`: destinations/paths in the global (Loc-)RIB.
    const r = await this.b.tgt.exec(["gobgp", "-p", "50051", "-j", "global", "rib", "summary", "-a", "ipv4"]);
    const j = JSON.parse(r.stdout) as { num_path?: number; numPath?: number };
    return Number(j.num_path ?? j.numPath ?? 0);
  }

  async established(): Promise<number> {
    const r = await this.b.tgt.exec(["gobgp", "-p", "50051", "-j", "neighbor"]);
    const list = JSON.parse(r.stdout) as Array<{ state?: { session_state?: number | string } }>;
    return list.filter((n) => n.state?.session_state === 6 || n.state?.session_state === "ESTABLISHED")
      .length;
  }

  async stop(): Promise<void> {
    if (this.proc) await this.b.lab.stopProcess(this.proc, 10_000);
  }
}

export function makeTarget(name: TargetName, b: BenchLab, o: TargetOptions): Target {
  if (name === "podgate") return new PodgateTarget(b, o);
  if (name === "bird") return new BirdTarget(b, o);
  return new GobgpTarget(b, o);
}

export interface GenEvent {
  ev: string;
  t: number;
  [k: string]: unknown;
}

const liveGens = new Set<ChildProcess>();
process.on("exit", () => {
  for (const c of liveGens) c.kill("SIGKILL");
});

/** The generator process (bench/gen.ts) in the gen namespace; events from its stdout. */
export class GenProcess extends EventEmitter {
  readonly child: ChildProcess;
  readonly events: GenEvent[] = [];
  private stderr = "";

  constructor(
    b: BenchLab,
    args: { sessions: number; prefixes: number; workload: Workload; hold: number; expectRx?: number },
  ) {
    super();
    this.child = spawn(
      "ip",
      [
        "netns",
        "exec",
        b.gen.ns,
        process.execPath,
        "--max-old-space-size=8192",
        "--import",
        "tsx",
        join(REPO, "bench/gen.ts"),
        "--target",
        TARGET_ADDR,
        "--local",
        GEN_BASE,
        "--sessions",
        String(args.sessions),
        "--prefixes",
        String(args.prefixes),
        "--workload",
        args.workload,
        "--hold",
        String(args.hold),
        "--asn",
        String(GEN_ASN),
        "--expect-rx",
        String(args.expectRx ?? 0),
      ],
      { stdio: ["pipe", "pipe", "pipe"], cwd: REPO },
    );
    let line = "";
    this.child.stdout!.setEncoding("utf8");
    this.child.stdout!.on("data", (d: string) => {
      line += d;
      let i = line.indexOf("\n");
      while (i >= 0) {
        const l = line.slice(0, i);
        line = line.slice(i + 1);
        i = line.indexOf("\n");
        try {
          const e = JSON.parse(l) as GenEvent;
          this.events.push(e);
          this.emit(e.ev, e);
          this.emit("any", e);
        } catch {
          // not an event line
        }
      }
    });
    this.child.stderr!.setEncoding("utf8");
    this.child.stderr!.on("data", (d: string) => {
      this.stderr += d;
    });
    // Never outlive the controller: gen exits when its stdin closes (even if we are SIGKILLed),
    // and is killed on a normal exit.
    liveGens.add(this.child);
    this.child.once("exit", () => liveGens.delete(this.child));
  }

  /** Resolves with the first event named `ev` (past or future). */
  wait(ev: string, timeoutMs: number): Promise<GenEvent> {
    const seen = this.events.find((e) => e.ev === ev);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(`generator: no "${ev}" within ${timeoutMs} ms; stderr: ${this.stderr.slice(-2000)}`),
          ),
        timeoutMs,
      );
      this.once(ev, (e: GenEvent) => {
        clearTimeout(timer);
        resolve(e);
      });
      this.child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`generator exited (${code}) before "${ev}": ${this.stderr.slice(-2000)}`));
      });
    });
  }

  connect(): void {
    this.child.stdin!.write("connect\n");
  }

  /** Asks for a {ev:"stats"} line (established sessions, prefixes received, max silence). */
  async stats(): Promise<GenEvent> {
    const n = this.count("stats");
    this.child.stdin!.write("stats\n");
    await waitUntil(async () => this.count("stats") > n, 10_000, 10);
    return this.events.filter((e) => e.ev === "stats")[n]!;
  }

  go(): void {
    this.child.stdin!.write("go\n");
  }

  count(ev: string): number {
    return this.events.filter((e) => e.ev === ev).length;
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const done = new Promise((r) => this.child.once("exit", r));
    this.child.stdin!.end();
    const t = setTimeout(() => this.child.kill("SIGKILL"), 3000);
    await done;
    clearTimeout(t);
  }
}

/** Polls fn (throws count as "not yet") until it returns true; throws on timeout. */
export async function waitUntil(
  fn: () => Promise<boolean>,
  timeoutMs: number,
  intervalMs = 100,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if (await fn()) return;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms: ${String(last)}`);
    await sleep(intervalMs);
  }
}

/**
 * Polls `learned()` until it reaches `want`; returns the time it was first seen (epoch ms).
 * For podgate one more status round trip follows, so the Loc-RIB flush (setImmediate after
 * the last UPDATE) has certainly run; its time is returned.
 */
export async function waitLearned(
  t: Target,
  want: number,
  timeoutMs: number,
  intervalMs: number,
): Promise<number> {
  const end = Date.now() + timeoutMs;
  let last = 0;
  for (;;) {
    try {
      last = await t.learned();
    } catch {
      // not yet
    }
    if (last >= want) {
      if (t.name === "podgate") await t.learned();
      return nowMs();
    }
    if (Date.now() > end) throw new Error(`${t.name}: ${last}/${want} prefixes after ${timeoutMs} ms`);
    await sleep(intervalMs);
  }
}

export const fmtInt = (x: number): string => Math.round(x).toLocaleString("en-US");

/** Renders rows as a Markdown table. */
export function mdTable(head: string[], rows: (string | number)[][]): string {
  const line = (r: (string | number)[]) => `| ${r.join(" | ")} |`;
  return [line(head), line(head.map(() => "---")), ...rows.map(line)].join("\n");
}
