/**
 * Ingest benchmark: one generator session sends N IPv4 prefixes to each target in turn
 * (podgate, BIRD 2, GoBGP 3) in the same run, same machine, same pre-encoded bytes.
 * Measures the time from the first UPDATE written to "all N prefixes in the target's table",
 * and memory per route: (RSS after ingest − RSS idle with the session up) / N.
 *
 *   sudo npx tsx bench/ingest.ts --prefixes 100000,1000000 --workload calico,fulltable
 *        [--targets podgate,bird,gobgp] [--cpu-prof DIR] [--json FILE]
 *
 * Needs root (network namespaces). podgate is polled over its control API every 5 ms, BIRD over
 * its control socket every 10 ms ("Routes: N imported"), GoBGP with `gobgp global rib summary`
 * every 100 ms (a process spawn per poll, so its times carry up to ~0.1 s of granularity;
 * GOBGP_POLL_MS=1000 polls less, to check that the polling does not slow GoBGP down).
 */
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { Workload } from "./gen.ts";
import {
  cpuSeconds,
  fmtInt,
  GenProcess,
  makeLab,
  makeTarget,
  mdTable,
  rssKiB,
  sleep,
  type TargetName,
  waitLearned,
  waitUntil,
} from "./harness.ts";

export interface IngestResult {
  target: TargetName;
  workload: Workload;
  prefixes: number;
  updates: number;
  seconds: number;
  prefixesPerSecond: number;
  rssBeforeKiB: number;
  rssAfterKiB: number;
  bytesPerRoute: number;
  cpuSeconds: number;
  /** Target's own longest event-loop block over its life (podgate only; start-up included). */
  loopLagMaxMs?: number;
  /** The same, read just before the ingest started (start-up and session set-up only). */
  loopLagMaxIdleMs?: number;
  error?: string;
}

const POLL_MS: Record<TargetName, number> = {
  podgate: 5,
  bird: 10,
  gobgp: Number(process.env["GOBGP_POLL_MS"] ?? 100),
};

export async function runIngest(opts: {
  prefixes: number[];
  workloads: Workload[];
  targets: TargetName[];
  cpuProfDir?: string;
  timeoutMs?: number;
  log?: (s: string) => void;
}): Promise<IngestResult[]> {
  const log = opts.log ?? ((s: string) => console.error(s));
  const b = await makeLab("bench-ingest", 1);
  const results: IngestResult[] = [];
  try {
    for (const workload of opts.workloads) {
      for (const n of opts.prefixes) {
        for (const name of opts.targets) {
          log(`ingest: ${name} ${workload} ${fmtInt(n)} ...`);
          const target = makeTarget(name, b, {
            sessions: 1,
            hold: 90,
            exportAll: true,
            cpuProfDir: name === "podgate" ? opts.cpuProfDir : undefined,
          });
          const gen = new GenProcess(b, { sessions: 1, prefixes: n, workload, hold: 90 });
          const r: IngestResult = {
            target: name,
            workload,
            prefixes: n,
            updates: 0,
            seconds: Number.NaN,
            prefixesPerSecond: Number.NaN,
            rssBeforeKiB: 0,
            rssAfterKiB: 0,
            bytesPerRoute: Number.NaN,
            cpuSeconds: Number.NaN,
          };
          try {
            const enc = await gen.wait("encoded", 300_000);
            r.updates = Number(enc["updates"]) - 1; // minus End-of-RIB
            await target.start();
            gen.connect();
            await gen.wait("established", 30_000);
            await waitUntil(async () => (await target.established()) === 1, 30_000);
            // Idle with the session up: let the daemon settle before the baseline.
            await sleep(2000);
            const pid = target.pid();
            r.rssBeforeKiB = rssKiB(pid);
            if (target.extra) r.loopLagMaxIdleMs = (await target.extra())["eventLoopLagMaxMs"];
            const cpu0 = cpuSeconds(pid);
            gen.go();
            const first = await gen.wait("firstWrite", 10_000);
            const done = await waitLearned(target, n, opts.timeoutMs ?? 900_000, POLL_MS[name]);
            r.cpuSeconds = cpuSeconds(pid) - cpu0;
            r.seconds = (done - first.t) / 1000;
            r.prefixesPerSecond = n / r.seconds;
            await sleep(3000);
            r.rssAfterKiB = rssKiB(pid);
            r.bytesPerRoute = ((r.rssAfterKiB - r.rssBeforeKiB) * 1024) / n;
            if (target.extra) r.loopLagMaxMs = (await target.extra())["eventLoopLagMaxMs"];
            if (gen.count("down") > 0 || gen.count("notification") > 0) {
              r.error = `session went down during the run: ${JSON.stringify(gen.events.filter((e) => e.ev !== "stats").slice(-3))}`;
            }
          } catch (e) {
            r.error = e instanceof Error ? e.message : String(e);
          } finally {
            await gen.close();
            await target.stop();
          }
          log(
            `  ${name}: ${r.seconds.toFixed(2)} s, ${fmtInt(r.prefixesPerSecond)}/s, ${r.bytesPerRoute.toFixed(0)} B/route${r.loopLagMaxMs !== undefined ? `, max event-loop lag ${r.loopLagMaxMs.toFixed(0)} ms (${r.loopLagMaxIdleMs?.toFixed(0)} ms before the ingest)` : ""}${r.error ? ` ERROR ${r.error}` : ""}`,
          );
          results.push(r);
          await sleep(500);
        }
      }
    }
  } finally {
    await b.lab.teardown();
  }
  return results;
}

export function ingestTable(results: readonly IngestResult[]): string {
  const rows = results.map((r) => [
    r.workload,
    fmtInt(r.prefixes),
    fmtInt(r.updates),
    r.target,
    r.error ? `error: ${r.error.slice(0, 80)}` : r.seconds.toFixed(2),
    r.error ? "" : fmtInt(r.prefixesPerSecond),
    r.error ? "" : r.cpuSeconds.toFixed(1),
    fmtInt(r.rssBeforeKiB / 1024),
    fmtInt(r.rssAfterKiB / 1024),
    r.error ? "" : r.bytesPerRoute.toFixed(0),
  ]);
  return mdTable(
    [
      "workload",
      "prefixes",
      "UPDATEs",
      "target",
      "time (s)",
      "prefixes/s",
      "CPU (s)",
      "RSS idle (MiB)",
      "RSS after (MiB)",
      "bytes/route",
    ],
    rows,
  );
}

/** Ratios the issue asks about, per workload and size (reported, not asserted). */
export function ingestGoals(results: readonly IngestResult[]): string {
  const rows: string[][] = [];
  const keys = new Set(results.map((r) => `${r.workload}/${r.prefixes}`));
  for (const k of keys) {
    const [w, n] = k.split("/");
    const get = (t: TargetName) =>
      results.find((r) => r.workload === w && String(r.prefixes) === n && r.target === t && !r.error);
    const p = get("podgate");
    const bird = get("bird");
    const go = get("gobgp");
    const ratio = (a?: number, c?: number) => (a && c ? (a / c).toFixed(2) : "n/a");
    rows.push([
      w!,
      fmtInt(Number(n)),
      `${ratio(p?.seconds, bird?.seconds)}× (goal ≤ 3)`,
      `${ratio(go?.seconds, p?.seconds)}× (goal ≥ 5)`,
      `${ratio(p?.bytesPerRoute, bird?.bytesPerRoute)}× (goal ≤ 2)`,
    ]);
  }
  return mdTable(
    [
      "workload",
      "prefixes",
      "podgate time / BIRD time",
      "GoBGP time / podgate time",
      "podgate bytes/route / BIRD",
    ],
    rows,
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      prefixes: { type: "string", default: "100000" },
      workload: { type: "string", default: "calico" },
      targets: { type: "string", default: "podgate,bird,gobgp" },
      "cpu-prof": { type: "string" },
      json: { type: "string" },
    },
  });
  const results = await runIngest({
    prefixes: values.prefixes!.split(",").map(Number),
    workloads: values.workload!.split(",") as Workload[],
    targets: values.targets!.split(",") as TargetName[],
    cpuProfDir: values["cpu-prof"],
  });
  console.log(ingestTable(results));
  console.log();
  console.log(ingestGoals(results));
  if (values.json) writeFileSync(values.json, JSON.stringify(results, null, 2));
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
