/**
 * Summarises a V8 CPU profile (`node --cpu-prof`, e.g. from `bench/ingest.ts --cpu-prof DIR`):
 * self time per function and inclusive time per podgate source file, top entries first.
 *
 *   npx tsx bench/prof-summary.ts FILE.cpuprofile [top=25]
 */
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const file = process.argv[2];
if (!file) {
  console.error("usage: npx tsx bench/prof-summary.ts FILE.cpuprofile [top]");
  process.exit(2);
}
const top = Number(process.argv[3] ?? 25);
const prof = JSON.parse(readFileSync(file, "utf8")) as Profile;
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const selfUs = new Map<number, number>();
let total = 0;
prof.samples.forEach((id, i) => {
  const dt = prof.timeDeltas[i] ?? 0;
  selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
  total += dt;
});

const short = (url: string) =>
  url.replace(/^file:\/\/.*?\/(src|node_modules|bench)\//, "$1/").replace(/^node:/, "node:");
const label = (n: ProfileNode) =>
  `${n.callFrame.functionName || "(anonymous)"} ${short(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;

const selfByFn = new Map<string, number>();
const inclByFile = new Map<string, number>();
for (const [id, us] of selfUs) {
  const n = byId.get(id)!;
  selfByFn.set(label(n), (selfByFn.get(label(n)) ?? 0) + us);
  // Inclusive per source file: count each file once per sample stack.
  const files = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const u = byId.get(cur)!.callFrame.url;
    if (u.includes("/src/")) files.add(short(u));
  }
  for (const f of files) inclByFile.set(f, (inclByFile.get(f) ?? 0) + us);
}

// Longest stretch without an idle sample: the longest event-loop block (what hold timers feel).
let best = { start: 0, end: 0, us: 0 };
let runStart = -1;
let runUs = 0;
prof.samples.forEach((id, i) => {
  const idle = byId.get(id)!.callFrame.functionName === "(idle)";
  if (!idle) {
    if (runStart < 0) {
      runStart = i;
      runUs = 0;
    }
    runUs += prof.timeDeltas[i] ?? 0;
    if (runUs > best.us) best = { start: runStart, end: i, us: runUs };
  } else runStart = -1;
});
const blockSelf = new Map<string, number>();
const blockIncl = new Map<string, number>();
for (let i = best.start; i <= best.end; i++) {
  const id = prof.samples[i]!;
  const dt = prof.timeDeltas[i] ?? 0;
  const l = label(byId.get(id)!);
  blockSelf.set(l, (blockSelf.get(l) ?? 0) + dt);
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const n = byId.get(cur)!;
    if (!n.callFrame.url.includes("/src/")) continue;
    const k = label(n);
    if (seen.has(k)) continue;
    seen.add(k);
    blockIncl.set(k, (blockIncl.get(k) ?? 0) + dt);
  }
}

const pct = (us: number) => `${((us / total) * 100).toFixed(1).padStart(5)}%`;
console.log(`total sampled: ${(total / 1e6).toFixed(2)} s`);
console.log("\nself time by function:");
for (const [k, us] of [...selfByFn].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`${pct(us)} ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`);
}
console.log("\ninclusive time by podgate file:");
for (const [k, us] of [...inclByFile].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`${pct(us)} ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`);
}
console.log(`\nlongest busy stretch (no idle sample): ${(best.us / 1000).toFixed(0)} ms; inside it, self:`);
for (const [k, us] of [...blockSelf].sort((a, b) => b[1] - a[1]).slice(0, 10)) {
  console.log(`${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`);
}
console.log("inside it, inclusive (podgate functions):");
for (const [k, us] of [...blockIncl].sort((a, b) => b[1] - a[1]).slice(0, 12)) {
  console.log(`${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`);
}
