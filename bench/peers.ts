/**
 * Many-peer benchmarks, one generator process driving every session (each from its own source
 * address on the generator's veth):
 *
 * converge: S peers × P prefixes (default 250 × 40) against podgate and BIRD in the same run.
 *   Reports the time to bring all sessions to Established, the time from the first UPDATE
 *   written to all S×P prefixes in the target's table, and — with route-server style export
 *   to every peer (default; --no-export turns it off) — to every session having received the
 *   other peers' (S−1)×P prefixes ("full convergence").
 * soak: S peers × P prefixes (default 1000 × 10) with hold 9 s / keepalive 3 s against podgate
 *   (and BIRD with --soak-targets podgate,bird), held for --soak-seconds (default 120; 600 for
 *   the 10-minute run). Passes when no session went down (no hold-timer expiry on either
 *   side). Reports podgate's `eventLoopLagP99Ms` from status (cumulative since start, so it
 *   includes the connection burst), the control API's response time sampled every 250 ms
 *   during the soak (an outside proxy for event-loop lag), the longest silence any generator
 *   session saw from the target (KEEPALIVE jitter), CPU and RSS. The soak does not export
 *   (podgate's real fan-in case: cluster peers are iBGP and get nothing back).
 *   Every --sample-seconds (default 30) it also records a time series — RSS, V8 heapUsed /
 *   heapTotal / external (podgate's /metrics, served in the target namespace for the run),
 *   event-loop delay p99/max since the previous sample, slowest API answer, CPU, the time the
 *   daemon's main thread waited for a CPU (/proc/<pid>/schedstat), load, Established count and
 *   the peers' state-transition counters — and prints it with the least-squares RSS and
 *   heapUsed slopes (MiB/min) from t ≥ 60 s: a leak is a steady climb. A session leaving
 *   Established is recorded (time, podgate's lastError, an extra sample) and the soak goes on.
 *
 *   sudo npx tsx bench/peers.ts converge [--sessions 250 --prefixes 40] [--targets podgate,bird]
 *   sudo npx tsx bench/peers.ts soak [--sessions 1000 --prefixes 10 --soak-seconds 120]
 *     [--sample-seconds 30] [--cpu-prof DIR] [--json FILE]
 */
import { readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { StatusJson } from "../src/api/types.ts";
import { nowMs } from "./gen.ts";
import {
  cpuSeconds,
  fmtInt,
  GenProcess,
  makeLab,
  makeTarget,
  mdTable,
  PodgateTarget,
  rssKiB,
  sleep,
  type TargetName,
  waitLearned,
  waitUntil,
} from "./harness.ts";

export interface ConvergeResult {
  target: TargetName;
  sessions: number;
  prefixesPerSession: number;
  exportAll: boolean;
  establishSeconds: number;
  learnSeconds: number;
  convergeSeconds: number;
  cpuSeconds: number;
  rssAfterKiB: number;
  error?: string;
}

export async function runConverge(opts: {
  sessions: number;
  prefixes: number;
  targets: TargetName[];
  exportAll: boolean;
  log?: (s: string) => void;
}): Promise<ConvergeResult[]> {
  const log = opts.log ?? ((s: string) => console.error(s));
  const S = opts.sessions;
  const P = opts.prefixes;
  const b = await makeLab("bench-peers", S);
  const results: ConvergeResult[] = [];
  try {
    for (const name of opts.targets) {
      log(`converge: ${name} ${S} peers × ${P} prefixes ...`);
      const target = makeTarget(name, b, { sessions: S, hold: 90, exportAll: opts.exportAll });
      const gen = new GenProcess(b, {
        sessions: S,
        prefixes: P,
        workload: "calico",
        hold: 90,
        expectRx: opts.exportAll ? (S - 1) * P : 0,
      });
      const r: ConvergeResult = {
        target: name,
        sessions: S,
        prefixesPerSession: P,
        exportAll: opts.exportAll,
        establishSeconds: Number.NaN,
        learnSeconds: Number.NaN,
        convergeSeconds: Number.NaN,
        cpuSeconds: Number.NaN,
        rssAfterKiB: 0,
      };
      try {
        await gen.wait("encoded", 60_000);
        await target.start();
        const t0 = nowMs();
        gen.connect();
        const up = await gen.wait("established", 120_000);
        r.establishSeconds = (up.t - t0) / 1000;
        await waitUntil(async () => (await target.established()) === S, 60_000);
        await sleep(1000);
        const pid = target.pid();
        const cpu0 = cpuSeconds(pid);
        gen.go();
        const first = await gen.wait("firstWrite", 10_000);
        const learned = await waitLearned(target, S * P, 300_000, 10);
        r.learnSeconds = (learned - first.t) / 1000;
        if (opts.exportAll) {
          const rx = await gen.wait("rxComplete", 300_000);
          r.convergeSeconds = (rx.t - first.t) / 1000;
        }
        r.cpuSeconds = cpuSeconds(pid) - cpu0;
        r.rssAfterKiB = rssKiB(pid);
        if (gen.count("down") > 0) r.error = `${gen.count("down")} sessions went down`;
      } catch (e) {
        r.error = e instanceof Error ? e.message : String(e);
      } finally {
        await gen.close();
        await target.stop();
      }
      log(
        `  ${name}: up ${r.establishSeconds.toFixed(2)} s, learned ${r.learnSeconds.toFixed(3)} s, converged ${r.convergeSeconds.toFixed(3)} s${r.error ? ` ERROR ${r.error}` : ""}`,
      );
      results.push(r);
      await sleep(1000);
    }
  } finally {
    await b.lab.teardown();
  }
  return results;
}

export function convergeTable(results: readonly ConvergeResult[]): string {
  return mdTable(
    [
      "target",
      "peers × prefixes",
      "export to peers",
      "all Established (s)",
      "all learned (s)",
      "full convergence (s)",
      "CPU (s)",
      "RSS (MiB)",
    ],
    results
      .map((r) => [
        r.target,
        `${r.sessions} × ${r.prefixesPerSession}`,
        r.exportAll ? "all" : "none",
        r.establishSeconds.toFixed(2),
        r.learnSeconds.toFixed(3),
        r.exportAll ? r.convergeSeconds.toFixed(3) : "n/a",
        r.cpuSeconds.toFixed(2),
        fmtInt(r.rssAfterKiB / 1024),
      ])
      .map((row, i) =>
        results[i]!.error ? [...row.slice(0, 3), `error: ${results[i]!.error}`, "", "", "", ""] : row,
      ),
  );
}

/** One point of the soak's time series (every --sample-seconds, plus one when a session drops). */
export interface SoakSample {
  /** Seconds since the soak window started. */
  t: number;
  /** Taken because a session went down (not on the regular schedule). */
  atDrop?: boolean;
  rssMiB: number;
  /** From podgate's /metrics (prom-client process metrics). */
  heapUsedMiB?: number;
  heapTotalMiB?: number;
  externalMiB?: number;
  /** Event-loop delay since the previous sample (prom-client resets its histogram per scrape). */
  lagP99Ms?: number;
  lagMaxMs?: number;
  /** Slowest control-API answer since the previous sample. */
  apiMaxMs: number;
  /** CPU of the daemon since the previous sample, % of one core. */
  cpuPercent: number;
  /** Time the daemon's main thread spent runnable but waiting for a CPU (schedstat), % of wall. */
  runQueuePercent: number;
  /** 1-minute load average of the machine. */
  load1: number;
  established: number;
  /** Sum over peers of their state-transition counts and of their distinct (from,to) pairs. */
  transitions: number;
  transitionPairs: number;
}

/** A session seen leaving Established during the soak, with podgate's view of it. */
export interface SoakDrop {
  t: number;
  address: string;
  state: string;
  info: string;
  lastError?: string;
}

export interface SoakResult {
  target: TargetName;
  sessions: number;
  prefixesPerSession: number;
  seconds: number;
  stable: boolean;
  sessionsDown: number;
  notifications: number;
  establishSeconds: number;
  eventLoopLagP99Ms?: number;
  eventLoopLagMaxMs?: number;
  apiSamples?: number;
  apiP50Ms?: number;
  apiP99Ms?: number;
  apiMaxMs?: number;
  maxKeepaliveGapMs: number;
  cpuPercent: number;
  rssKiB: number;
  /** `uptime`'s load averages (1, 5, 15 min) when the soak window started and ended. */
  loadStart?: string;
  loadEnd?: string;
  samples?: SoakSample[];
  /** Least-squares slope over the samples from t ≥ 60 s (MiB/min): a leak is a steady climb. */
  rssSlopeMiBPerMin?: number;
  heapSlopeMiBPerMin?: number;
  /** Standard errors of the two slopes (MiB/min). */
  rssSlopeStdErr?: number;
  heapSlopeStdErr?: number;
  /** Lowest heapUsed (after a GC, roughly) in the first and second half of the t ≥ 60 s samples. */
  heapFloorMiB?: [number, number];
  drops?: SoakDrop[];
  /** Generator-side "down" events, seconds since the soak window started. */
  genDownAt?: number[];
  error?: string;
}

function pct(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Least-squares slope of y over x (units of y per unit of x); NaN with fewer than 3 points. */
export function slope(points: readonly (readonly [number, number])[]): number {
  const n = points.length;
  if (n < 3) return Number.NaN;
  let sx = 0;
  let sy = 0;
  for (const [x, y] of points) {
    sx += x;
    sy += y;
  }
  const mx = sx / n;
  const my = sy / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) * (x - mx);
  }
  return den === 0 ? Number.NaN : num / den;
}

/**
 * Standard error of slope(): with GC's sawtooth in heapUsed a small leak hides in the noise,
 * so the slope is only meaningful next to this (a leak shows as |slope| well above ~2 × SE).
 */
export function slopeStdErr(points: readonly (readonly [number, number])[]): number {
  const n = points.length;
  const b = slope(points);
  if (n < 3 || Number.isNaN(b)) return Number.NaN;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  let sxx = 0;
  let sse = 0;
  for (const [x, y] of points) {
    sxx += (x - mx) * (x - mx);
    const e = y - (my + b * (x - mx));
    sse += e * e;
  }
  return Math.sqrt(sse / (n - 2) / sxx);
}

function loadAvg(): string {
  try {
    return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  } catch {
    return "?";
  }
}

/** Nanoseconds the process's main thread has waited on a run queue (/proc/<pid>/schedstat field 2). */
function runQueueNs(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, "utf8").split(" ")[1]);
  } catch {
    return 0;
  }
}

const MiB = 1024 * 1024;

export async function runSoak(opts: {
  sessions: number;
  prefixes: number;
  seconds: number;
  targets: TargetName[];
  cpuProfDir?: string;
  /** Memory/lag sample interval (s); 30 by default. */
  sampleSeconds?: number;
  log?: (s: string) => void;
}): Promise<SoakResult[]> {
  const log = opts.log ?? ((s: string) => console.error(s));
  const S = opts.sessions;
  const P = opts.prefixes;
  const HOLD = 9;
  const sampleMs = (opts.sampleSeconds ?? 30) * 1000;
  const b = await makeLab("bench-soak", S);
  const results: SoakResult[] = [];
  try {
    for (const name of opts.targets) {
      log(`soak: ${name} ${S} peers × ${P} prefixes, hold ${HOLD} s, ${opts.seconds} s ...`);
      const target = makeTarget(name, b, {
        sessions: S,
        hold: HOLD,
        exportAll: false,
        cpuProfDir: opts.cpuProfDir,
        metrics: name === "podgate",
      });
      const gen = new GenProcess(b, { sessions: S, prefixes: P, workload: "calico", hold: HOLD });
      const r: SoakResult = {
        target: name,
        sessions: S,
        prefixesPerSession: P,
        seconds: opts.seconds,
        stable: false,
        sessionsDown: 0,
        notifications: 0,
        establishSeconds: Number.NaN,
        maxKeepaliveGapMs: Number.NaN,
        cpuPercent: Number.NaN,
        rssKiB: 0,
      };
      try {
        await gen.wait("encoded", 60_000);
        await target.start();
        const t0 = nowMs();
        gen.connect();
        const up = await gen.wait("established", 180_000);
        r.establishSeconds = (up.t - t0) / 1000;
        gen.go();
        await waitLearned(target, S * P, 300_000, 50);
        await sleep(2000);
        const downBefore = gen.count("down");
        const pid = target.pid();
        const cpu0 = cpuSeconds(pid);
        r.loadStart = loadAvg();
        log(`  soak window starts, load ${r.loadStart}`);
        const start = Date.now();
        const startNow = nowMs();
        const samples: number[] = [];
        const series: SoakSample[] = [];
        const drops: SoakDrop[] = [];
        const dropped = new Set<string>();
        let winApiMax = 0;
        let winT = Date.now();
        let winCpu = cpu0;
        let winRq = runQueueNs(pid);
        let lastStatus: StatusJson | undefined;
        let nextSample = start;
        const takeSample = async (atDrop: boolean): Promise<void> => {
          const now = Date.now();
          const cpu = cpuSeconds(pid);
          const rq = runQueueNs(pid);
          const wall = Math.max(1, now - winT);
          const x: SoakSample = {
            t: Math.round((now - start) / 100) / 10,
            rssMiB: rssKiB(pid) / 1024,
            apiMaxMs: winApiMax,
            cpuPercent: ((cpu - winCpu) * 1000 * 100) / wall,
            runQueuePercent: ((rq - winRq) / 1e6 / wall) * 100,
            load1: Number(loadAvg().split(" ")[0]),
            established: 0,
            transitions: 0,
            transitionPairs: 0,
          };
          if (atDrop) x.atDrop = true;
          if (target instanceof PodgateTarget) {
            try {
              const m = await target.scrape();
              const get = (k: string) => m.get(k);
              const mib = (k: string) => (get(k) === undefined ? undefined : get(k)! / MiB);
              const ms = (k: string) => (get(k) === undefined ? undefined : get(k)! * 1000);
              x.heapUsedMiB = mib("nodejs_heap_size_used_bytes");
              x.heapTotalMiB = mib("nodejs_heap_size_total_bytes");
              x.externalMiB = mib("nodejs_external_memory_bytes");
              x.lagP99Ms = ms("nodejs_eventloop_lag_p99_seconds");
              x.lagMaxMs = ms("nodejs_eventloop_lag_max_seconds");
            } catch (e) {
              log(`  metrics scrape failed: ${e instanceof Error ? e.message : String(e)}`);
            }
            const st = lastStatus ?? (await target.status());
            for (const p of st.peers) {
              if (p.state === "Established") x.established++;
              for (const tr of p.stateTransitions ?? []) {
                x.transitions += tr.count;
                x.transitionPairs++;
              }
            }
          } else {
            x.established = await target.established();
          }
          series.push(x);
          log(
            `  t=${x.t}s rss=${x.rssMiB.toFixed(1)} heapUsed=${x.heapUsedMiB?.toFixed(1)} lagMax=${x.lagMaxMs?.toFixed(1)} apiMax=${x.apiMaxMs.toFixed(1)} cpu=${x.cpuPercent.toFixed(1)}% rq=${x.runQueuePercent.toFixed(1)}% load=${x.load1} est=${x.established} tr=${x.transitions}/${x.transitionPairs}${atDrop ? " (drop)" : ""}`,
          );
          winApiMax = 0;
          winT = now;
          winCpu = cpu;
          winRq = rq;
        };
        while (Date.now() - start < opts.seconds * 1000) {
          if (Date.now() >= nextSample) {
            await takeSample(false);
            nextSample += sampleMs;
          }
          if (target instanceof PodgateTarget) {
            const a = performance.now();
            const s = await target.status();
            const dt = performance.now() - a;
            samples.push(dt);
            winApiMax = Math.max(winApiMax, dt);
            lastStatus = s;
            const gone = s.peers.filter((p) => p.state !== "Established" && !dropped.has(p.address));
            if (gone.length > 0) {
              const t = (Date.now() - start) / 1000;
              for (const p of gone) {
                dropped.add(p.address);
                drops.push({ t, address: p.address, state: p.state, info: p.info, lastError: p.lastError });
              }
              log(
                `  t=${t}s: ${gone.length} session(s) left Established: ${gone
                  .slice(0, 5)
                  .map((p) => `${p.address} ${p.state} ${p.lastError ?? p.info}`)
                  .join("; ")}`,
              );
              await takeSample(true);
            }
            await sleep(250);
          } else {
            const est = await target.established();
            if (est !== S)
              drops.push({ t: (Date.now() - start) / 1000, address: "?", state: `${est}/${S}`, info: "" });
            await sleep(2000);
          }
        }
        await takeSample(false);
        const elapsed = (Date.now() - start) / 1000;
        r.loadEnd = loadAvg();
        log(`  soak window ends, load ${r.loadEnd}`);
        r.cpuPercent = ((cpuSeconds(pid) - cpu0) / elapsed) * 100;
        r.rssKiB = rssKiB(pid);
        const st = await gen.stats();
        r.maxKeepaliveGapMs = Number(st["maxGapMs"]);
        r.sessionsDown = gen.count("down") - downBefore;
        r.notifications = gen.count("notification");
        r.genDownAt = gen.events
          .filter((e) => e.ev === "down" && e.t >= startNow)
          .map((e) => Math.round((e.t - startNow) / 100) / 10);
        if (samples.length > 0) {
          samples.sort((x, y) => x - y);
          r.apiSamples = samples.length;
          r.apiP50Ms = pct(samples, 50);
          r.apiP99Ms = pct(samples, 99);
          r.apiMaxMs = samples[samples.length - 1];
        }
        if (target.extra) {
          const x = await target.extra();
          r.eventLoopLagP99Ms = x["eventLoopLagP99Ms"];
          r.eventLoopLagMaxMs = x["eventLoopLagMaxMs"];
        }
        r.samples = series;
        r.drops = drops;
        const late = series.filter((x) => !x.atDrop && x.t >= 60);
        const rssPts = late.map((x) => [x.t / 60, x.rssMiB] as const);
        r.rssSlopeMiBPerMin = slope(rssPts);
        r.rssSlopeStdErr = slopeStdErr(rssPts);
        const heap = late.filter((x) => x.heapUsedMiB !== undefined);
        const heapPts = heap.map((x) => [x.t / 60, x.heapUsedMiB!] as const);
        r.heapSlopeMiBPerMin = slope(heapPts);
        r.heapSlopeStdErr = slopeStdErr(heapPts);
        if (heap.length >= 4) {
          const half = Math.floor(heap.length / 2);
          const floor = (xs: SoakSample[]) => Math.min(...xs.map((x) => x.heapUsedMiB!));
          r.heapFloorMiB = [floor(heap.slice(0, half)), floor(heap.slice(half))];
        }
        r.stable =
          r.sessionsDown === 0 &&
          r.notifications === 0 &&
          drops.length === 0 &&
          Number(st["established"]) === S;
        if (!r.stable && target instanceof PodgateTarget) {
          const keep = join(tmpdir(), `podgate-soak-${process.pid}.log`);
          writeFileSync(keep, target.log());
          log(`  podgate log kept in ${keep}`);
        }
      } catch (e) {
        r.error = e instanceof Error ? e.message : String(e);
        r.sessionsDown = gen.count("down");
        r.notifications = gen.count("notification");
      } finally {
        await gen.close();
        await target.stop();
      }
      log(`  ${name}: stable=${r.stable} ${r.error ?? ""}`);
      results.push(r);
      await sleep(1000);
    }
  } finally {
    await b.lab.teardown();
  }
  return results;
}

export function soakTable(results: readonly SoakResult[]): string {
  const f = (x: number | undefined, d = 1) => (x === undefined || Number.isNaN(x) ? "n/a" : x.toFixed(d));
  return mdTable(
    [
      "target",
      "peers × prefixes",
      "timers",
      "soak (s)",
      "stable",
      "sessions down",
      "all Established (s)",
      "eventLoopLagP99Ms (since start)",
      "eventLoopLagMaxMs",
      "API p50 / p99 / max (ms)",
      "max KEEPALIVE gap (ms)",
      "CPU %",
      "RSS (MiB)",
    ],
    results.map((r) => [
      r.target,
      `${r.sessions} × ${r.prefixesPerSession}`,
      "3 s / 9 s",
      String(r.seconds),
      r.error ? `no: ${r.error}` : r.stable ? "yes" : "no",
      String(r.sessionsDown),
      f(r.establishSeconds, 2),
      f(r.eventLoopLagP99Ms, 2),
      f(r.eventLoopLagMaxMs, 1),
      r.apiSamples
        ? `${f(r.apiP50Ms)} / ${f(r.apiP99Ms)} / ${f(r.apiMaxMs)} (${r.apiSamples} samples)`
        : "n/a",
      f(r.maxKeepaliveGapMs, 0),
      f(r.cpuPercent, 1),
      fmtInt(r.rssKiB / 1024),
    ]),
  );
}

/** The soak's time series (memory, per-window lag, CPU, run-queue wait, transitions) and slopes. */
export function soakSeriesTable(r: SoakResult): string {
  const f = (x: number | undefined, d = 1) => (x === undefined || Number.isNaN(x) ? "n/a" : x.toFixed(d));
  const table = mdTable(
    [
      "t (s)",
      "RSS (MiB)",
      "heapUsed (MiB)",
      "heapTotal (MiB)",
      "external (MiB)",
      "lag p99 / max (ms)",
      "API max (ms)",
      "CPU %",
      "run-queue wait %",
      "load 1m",
      "Established",
      "transitions (count / pairs)",
    ],
    (r.samples ?? []).map((x) => [
      `${f(x.t, 0)}${x.atDrop ? " (drop)" : ""}`,
      f(x.rssMiB),
      f(x.heapUsedMiB),
      f(x.heapTotalMiB),
      f(x.externalMiB),
      `${f(x.lagP99Ms)} / ${f(x.lagMaxMs)}`,
      f(x.apiMaxMs),
      f(x.cpuPercent),
      f(x.runQueuePercent),
      f(x.load1, 2),
      String(x.established),
      `${x.transitions} / ${x.transitionPairs}`,
    ]),
  );
  const lines = [
    `${r.target}: load (1/5/15 min) at start ${r.loadStart ?? "?"}, at end ${r.loadEnd ?? "?"}`,
    `slope from t ≥ 60 s: RSS ${f(r.rssSlopeMiBPerMin, 2)} ± ${f(r.rssSlopeStdErr, 2)} MiB/min, heapUsed ${f(r.heapSlopeMiBPerMin, 2)} ± ${f(r.heapSlopeStdErr, 2)} MiB/min (± standard error)`,
  ];
  if (r.heapFloorMiB)
    lines.push(
      `heapUsed floor (lowest sample) first half ${f(r.heapFloorMiB[0])} MiB, second half ${f(r.heapFloorMiB[1])} MiB`,
    );
  if (r.drops && r.drops.length > 0) {
    lines.push(
      `drops (${r.drops.length}): ${r.drops
        .slice(0, 10)
        .map((d) => `t=${d.t}s ${d.address} ${d.state} ${d.lastError ?? d.info}`)
        .join("; ")}`,
    );
  }
  if (r.genDownAt && r.genDownAt.length > 0)
    lines.push(`generator saw ${r.genDownAt.length} down at t = ${r.genDownAt.slice(0, 20).join(", ")} s`);
  return `${table}\n\n${lines.join("\n")}`;
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      sessions: { type: "string" },
      prefixes: { type: "string" },
      targets: { type: "string", default: "podgate,bird" },
      "soak-targets": { type: "string", default: "podgate" },
      "soak-seconds": { type: "string", default: "120" },
      "sample-seconds": { type: "string", default: "30" },
      "no-export": { type: "boolean", default: false },
      "cpu-prof": { type: "string" },
      json: { type: "string" },
    },
  });
  const mode = positionals[0] ?? "converge";
  if (mode === "converge") {
    const res = await runConverge({
      sessions: Number(values.sessions ?? 250),
      prefixes: Number(values.prefixes ?? 40),
      targets: values.targets!.split(",") as TargetName[],
      exportAll: !values["no-export"],
    });
    console.log(convergeTable(res));
    if (values.json) writeFileSync(values.json, JSON.stringify(res, null, 2));
  } else if (mode === "soak") {
    const res = await runSoak({
      sessions: Number(values.sessions ?? 1000),
      prefixes: Number(values.prefixes ?? 10),
      seconds: Number(values["soak-seconds"]),
      targets: values["soak-targets"]!.split(",") as TargetName[],
      cpuProfDir: values["cpu-prof"],
      sampleSeconds: Number(values["sample-seconds"]),
    });
    console.log(soakTable(res));
    for (const r of res) console.log(`\n${soakSeriesTable(r)}`);
    if (values.json) writeFileSync(values.json, JSON.stringify(res, null, 2));
  } else {
    throw new Error(`unknown mode ${mode} (converge | soak)`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
