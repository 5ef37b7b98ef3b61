/**
 * Peer-drop benchmark: how long the event loop is blocked, and how long it takes until every
 * route is withdrawn, when a BGP session carrying N routes goes down (no graceful restart).
 *
 * One run (the measured process is the speaker; the BGP peers are separate processes so their
 * work never shows up in the lag):
 *   - a real Speaker (src/bgp/speaker.ts of the tree given by --src) listens on 127.0.0.1;
 *   - generator "big" (bench/gen.ts, 127.0.0.2, AS 65001) sends N Calico /26 routes;
 *   - generator "office" (127.0.0.3, AS 65002) sends one route, 10.0.0.0/26 — the same prefix as
 *     the big peer's first one — and receives everything (export accept-all), so the drop also
 *     costs the Adj-RIB-Out withdrawals toward it, as on a gateway;
 *   - once the office peer has received all N routes, the big generator is killed (SIGKILL:
 *     the TCP session closes, podgate drops the peer's routes).
 * Measured from the kill: max and p99 event-loop delay (perf_hooks.monitorEventLoopDelay,
 * 1 ms resolution) and the longest gap of a 1 ms heartbeat timer; time until the Loc-RIB is back
 * to the office route only (the last `changes` event); number of `changes` events (macrotasks
 * that reported withdrawals); withdrawals reported; the end state (1 route, from the office
 * peer, i.e. the other peer's path took over).
 *
 *   npx tsx bench/peer-drop.ts [--prefixes 1000000] [--src DIR]
 *   npx tsx bench/peer-drop.ts --prefixes 1000000 --compare BEFORE_DIR [--runs 3]
 *
 * --compare runs one child per measurement, alternating BEFORE_DIR's speaker and this tree's
 * (BEFORE_DIR: e.g. `git archive <commit> src | tar -x -C DIR` plus a node_modules symlink), and
 * prints a Markdown table. No root needed (loopback only).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..");

interface DropResult {
  src: string;
  prefixes: number;
  ingestS: number;
  maxLagMs: number;
  p99LagMs: number;
  maxGapMs: number;
  dropMs: number;
  changeEvents: number;
  withdrawn: number;
  endState: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(fn: () => boolean, what: string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** A bench/gen.ts child over loopback; resolves events by name. */
class Gen {
  readonly child: ChildProcess;
  private readonly seen = new Set<string>();
  private readonly waiters = new Map<string, () => void>();
  constructor(port: number, local: string, asn: number, prefixes: number, expectRx: number) {
    this.child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        join(REPO, "bench/gen.ts"),
        "--target",
        "127.0.0.1",
        "--port",
        String(port),
        "--local",
        local,
        "--asn",
        String(asn),
        "--prefixes",
        String(prefixes),
        "--workload",
        "calico",
        "--hold",
        "90",
        "--expect-rx",
        String(expectRx),
      ],
      { stdio: ["pipe", "pipe", "inherit"], cwd: REPO },
    );
    let buf = "";
    this.child.stdout!.setEncoding("utf8");
    this.child.stdout!.on("data", (d: string) => {
      buf += d;
      for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        try {
          const ev = (JSON.parse(line) as { ev: string }).ev;
          this.seen.add(ev);
          this.waiters.get(ev)?.();
        } catch {
          // not an event line
        }
      }
    });
  }
  send(cmd: string): void {
    this.child.stdin!.write(`${cmd}\n`);
  }
  wait(ev: string, ms: number): Promise<void> {
    if (this.seen.has(ev)) return Promise.resolve();
    return new Promise((res, rej) => {
      const t = setTimeout(() => rej(new Error(`generator: no '${ev}' within ${ms} ms`)), ms);
      this.waiters.set(ev, () => {
        clearTimeout(t);
        res();
      });
    });
  }
  kill(): void {
    this.child.kill("SIGKILL");
  }
}

async function runOnce(src: string, n: number): Promise<DropResult> {
  const mod = (p: string) => import(pathToFileURL(join(src, p)).href);
  const { Speaker } = (await mod("src/bgp/speaker.ts")) as typeof import("../src/bgp/speaker.ts");
  const { parseConfig } = (await mod("src/config/load.ts")) as typeof import("../src/config/load.ts");
  const { silentLogger } = (await mod("src/core/log.ts")) as typeof import("../src/core/log.ts");
  // --trace: time the speaker's own steps during the drop (flushNow; runBackground after the change).
  const trace = new Map<string, { n: number; total: number; max: number }>();
  let tracing = false;
  if (process.env.PEER_DROP_TRACE) {
    const proto = Speaker.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
    for (const name of ["flushNow", "runBackground"]) {
      const orig = proto[name];
      if (!orig) continue;
      proto[name] = function (this: unknown, ...a: unknown[]) {
        const t = performance.now();
        try {
          return orig.apply(this, a);
        } finally {
          if (tracing) {
            const d = performance.now() - t;
            const s = trace.get(name) ?? { n: 0, total: 0, max: 0 };
            s.n++;
            s.total += d;
            s.max = Math.max(s.max, d);
            trace.set(name, s);
          }
        }
      };
    }
  }
  const port = 30_000 + (process.pid % 20_000);
  const yaml = [
    "routerId: 127.0.0.1",
    "asn: 65000",
    `listen: { address: 127.0.0.1, port: ${port} }`,
    "peers:",
    "  - { address: 127.0.0.2, asn: 65001, passive: true, import: accept-all, export: reject-all }",
    "  - { address: 127.0.0.3, asn: 65002, passive: true, import: accept-all, export: accept-all }",
  ].join("\n");
  const speaker = new Speaker({ config: parseConfig(yaml, "peer-drop.yaml"), log: silentLogger });
  await speaker.start();
  const big = new Gen(port, "127.0.0.2", 65001, n, 0);
  const office = new Gen(port, "127.0.0.3", 65002, 1, n);
  const gens = [big, office];
  const cleanup = () => {
    for (const g of gens) g.child.kill("SIGKILL");
  };
  process.on("exit", cleanup);
  try {
    await Promise.all(gens.map((g) => g.wait("encoded", 120_000)));
    for (const g of gens) g.send("connect");
    await Promise.all(gens.map((g) => g.wait("established", 30_000)));
    office.send("go");
    await until(() => speaker.locRib.size === 1 && !speaker.locRib.pending, "the office route", 10_000);
    const t0 = performance.now();
    big.send("go");
    // The office peer holds all N prefixes (its own included, as 10.0.0.0/26's best is ours
    // or its own): podgate has ingested and exported everything.
    await office.wait("rxComplete", 600_000).catch(() => undefined);
    await until(
      () => speaker.locRib.size === n && !speaker.locRib.pending,
      "all routes in the Loc-RIB",
      600_000,
    );
    const ingestS = (performance.now() - t0) / 1000;
    await sleep(1000);
    (globalThis as { gc?: () => void }).gc?.();
    await sleep(200);

    let changeEvents = 0;
    let withdrawn = 0;
    let lastChange = 0;
    let done: () => void = () => undefined;
    const finished = new Promise<void>((r) => {
      done = r;
    });
    speaker.on("changes", (cs) => {
      changeEvents++;
      for (const c of cs) if (c.best?.peer.address !== "127.0.0.2") withdrawn++;
      lastChange = performance.now();
      if (speaker.locRib.size === 1 && !speaker.locRib.pending) done();
    });
    const h = monitorEventLoopDelay({ resolution: 1 });
    let maxGap = 0;
    let last = performance.now();
    const beat = setInterval(() => {
      const now = performance.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
    }, 1);
    h.enable();
    tracing = true;
    const tKill = performance.now();
    big.kill();
    await Promise.race([finished, sleep(120_000)]);
    h.disable();
    tracing = false;
    clearInterval(beat);
    if (trace.size > 0) console.error("trace (ms):", JSON.stringify(Object.fromEntries(trace)));
    const rest = speaker.routes().routes;
    const endState =
      rest.length === 1 && rest[0]!.peer === "127.0.0.3" && rest[0]!.best
        ? "ok (1 route, office path best)"
        : `WRONG: ${rest.length} routes`;
    await speaker.stop("bench over");
    return {
      src,
      prefixes: n,
      ingestS,
      maxLagMs: h.max / 1e6,
      p99LagMs: h.percentile(99) / 1e6,
      maxGapMs: maxGap,
      dropMs: lastChange - tKill,
      changeEvents,
      withdrawn,
      endState,
    };
  } finally {
    cleanup();
    process.off("exit", cleanup);
  }
}

function runChild(src: string, n: number): Promise<DropResult> {
  return new Promise((res, rej) => {
    const c = spawn(
      process.execPath,
      [
        "--expose-gc",
        "--max-old-space-size=8192",
        "--import",
        "tsx",
        fileURLToPath(import.meta.url),
        "--prefixes",
        String(n),
        "--src",
        src,
        "--json",
      ],
      { stdio: ["ignore", "pipe", "inherit"], cwd: REPO },
    );
    let out = "";
    c.stdout!.setEncoding("utf8");
    c.stdout!.on("data", (d: string) => {
      out += d;
    });
    c.on("exit", (code) => {
      const line = out.trim().split("\n").pop() ?? "";
      try {
        res(JSON.parse(line) as DropResult);
      } catch {
        rej(new Error(`child for ${src} exited ${code}: ${out}`));
      }
    });
  });
}

const f = (x: number, d = 1) => x.toFixed(d);

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      prefixes: { type: "string", default: "1000000" },
      src: { type: "string", default: REPO },
      compare: { type: "string" },
      runs: { type: "string", default: "2" },
      json: { type: "boolean", default: false },
    },
  });
  const n = Number(values.prefixes);
  if (!values.compare) {
    const r = await runOnce(resolve(values.src!), n);
    console.log(values.json ? JSON.stringify(r) : r);
    process.exit(0);
  }
  const before = resolve(values.compare);
  const rows: (string | number)[][] = [];
  for (let i = 0; i < Number(values.runs); i++) {
    for (const [label, src] of [
      ["before", before],
      ["after", REPO],
    ] as const) {
      const r = await runChild(src, n);
      console.error(`${label}: ${JSON.stringify(r)}`);
      rows.push([
        label,
        n.toLocaleString("en-US"),
        f(r.maxLagMs),
        f(r.p99LagMs),
        f(r.maxGapMs),
        f(r.dropMs, 0),
        r.changeEvents,
        r.withdrawn.toLocaleString("en-US"),
        r.endState,
      ]);
    }
  }
  const head = [
    "code",
    "routes dropped",
    "max event-loop delay (ms)",
    "p99 delay (ms)",
    "max 1 ms-timer gap (ms)",
    "kill → last withdrawal (ms)",
    "`changes` events",
    "withdrawals reported",
    "end state",
  ];
  console.log(`| ${head.join(" | ")} |`);
  console.log(`| ${head.map(() => "---").join(" | ")} |`);
  for (const r of rows) console.log(`| ${r.join(" | ")} |`);
}

void main();
