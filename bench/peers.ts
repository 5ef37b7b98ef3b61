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
 *
 *   sudo npx tsx bench/peers.ts converge [--sessions 250 --prefixes 40] [--targets podgate,bird]
 *   sudo npx tsx bench/peers.ts soak [--sessions 1000 --prefixes 10 --soak-seconds 120] [--cpu-prof DIR]
 */
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
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
  error?: string;
}

function pct(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export async function runSoak(opts: {
  sessions: number;
  prefixes: number;
  seconds: number;
  targets: TargetName[];
  cpuProfDir?: string;
  log?: (s: string) => void;
}): Promise<SoakResult[]> {
  const log = opts.log ?? ((s: string) => console.error(s));
  const S = opts.sessions;
  const P = opts.prefixes;
  const HOLD = 9;
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
        const start = Date.now();
        const samples: number[] = [];
        while (Date.now() - start < opts.seconds * 1000) {
          if (target instanceof PodgateTarget) {
            const a = performance.now();
            const s = await target.status();
            samples.push(performance.now() - a);
            const est = s.peers.filter((p) => p.state === "Established").length;
            if (est !== S)
              throw new Error(`only ${est}/${S} Established after ${(Date.now() - start) / 1000} s`);
            await sleep(250);
          } else {
            const est = await target.established();
            if (est !== S)
              throw new Error(`only ${est}/${S} Established after ${(Date.now() - start) / 1000} s`);
            await sleep(2000);
          }
        }
        const elapsed = (Date.now() - start) / 1000;
        r.cpuPercent = ((cpuSeconds(pid) - cpu0) / elapsed) * 100;
        r.rssKiB = rssKiB(pid);
        const st = await gen.stats();
        r.maxKeepaliveGapMs = Number(st["maxGapMs"]);
        r.sessionsDown = gen.count("down") - downBefore;
        r.notifications = gen.count("notification");
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
        r.stable = r.sessionsDown === 0 && r.notifications === 0 && Number(st["established"]) === S;
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

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      sessions: { type: "string" },
      prefixes: { type: "string" },
      targets: { type: "string", default: "podgate,bird" },
      "soak-targets": { type: "string", default: "podgate" },
      "soak-seconds": { type: "string", default: "120" },
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
    });
    console.log(soakTable(res));
    if (values.json) writeFileSync(values.json, JSON.stringify(res, null, 2));
  } else {
    throw new Error(`unknown mode ${mode} (converge | soak)`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
