/**
 * The standard benchmark set (`npm run bench`, as root): codec throughput (bench/codec.ts),
 * RIB ingest in-process (bench/rib.ts), ingest of 100k and 1M prefixes from one peer for both
 * workloads against podgate, BIRD 2 and GoBGP 3 (bench/ingest.ts), 250 peers × 40 prefixes
 * convergence against podgate and BIRD and a 1000 peers × 10 prefixes soak with 3 s / 9 s
 * timers (bench/peers.ts). Prints one Markdown report (machine, versions, tables).
 *
 *   sudo npm run bench -- [--quick] [--soak-minutes 10] [--out FILE]
 *   --quick: 100k prefixes only and a 30 s soak (a smoke run, not for docs/performance.md)
 */
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { cpus, release } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { REPO } from "./harness.ts";
import { ingestGoals, ingestTable, runIngest } from "./ingest.ts";
import { convergeTable, runConverge, runSoak, soakTable } from "./peers.ts";

function sh(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", cwd: REPO, stdio: ["ignore", "pipe", "pipe"] }).trim();
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    return `${err.stdout ?? ""}${err.stderr ?? ""}`.trim();
  }
}

function machine(): string {
  const mem = /MemTotal:\s+(\d+)/.exec(readFileSync("/proc/meminfo", "utf8"));
  return [
    `- CPU: ${cpus().length} × ${cpus()[0]?.model ?? "?"}; RAM ${Math.round(Number(mem?.[1] ?? 0) / 1024 / 1024)} GiB`,
    `- Kernel ${release()}; Node ${process.version}`,
    `- ${sh("bird", ["--version"]).split("\n")[0]}; ${sh("gobgpd", ["--version"])}`,
    `- podgate ${sh("git", ["rev-parse", "--short", "HEAD"])} (${new Date().toISOString().slice(0, 10)})`,
  ].join("\n");
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      "soak-minutes": { type: "string" },
      out: { type: "string" },
    },
  });
  if (process.getuid?.() !== 0) {
    console.error("npm run bench needs root (network namespaces): sudo npm run bench");
    process.exit(2);
  }
  const soakSeconds = values["soak-minutes"] ? Number(values["soak-minutes"]) * 60 : values.quick ? 30 : 120;
  const sizes = values.quick ? [100_000] : [100_000, 1_000_000];
  const parts: string[] = ["# podgate benchmark run", "", machine(), ""];
  const log = (s: string) => console.error(s);

  log("codec ...");
  parts.push(
    "## Codec throughput (`npx tsx bench/codec.ts`)",
    "",
    "```text",
    sh("npx", ["tsx", "bench/codec.ts"]),
    "```",
    "",
  );
  log("rib ...");
  parts.push(
    "## RIB in-process (`node --expose-gc --import tsx bench/rib.ts`)",
    "",
    "```text",
    sh(process.execPath, ["--expose-gc", "--import", "tsx", join(REPO, "bench/rib.ts")]),
    "```",
    "",
  );

  const ingest = await runIngest({
    prefixes: sizes,
    workloads: ["calico", "fulltable"],
    targets: ["podgate", "bird", "gobgp"],
    log,
  });
  parts.push(
    `## Ingest (\`sudo npx tsx bench/ingest.ts --prefixes ${sizes.join(",")} --workload calico,fulltable\`)`,
    "",
    ingestTable(ingest),
    "",
    ingestGoals(ingest),
    "",
  );

  const conv = await runConverge({
    sessions: 250,
    prefixes: 40,
    targets: ["podgate", "bird"],
    exportAll: true,
    log,
  });
  parts.push(
    "## 250 peers × 40 prefixes (`sudo npx tsx bench/peers.ts converge`)",
    "",
    convergeTable(conv),
    "",
  );

  const soak = await runSoak({
    sessions: 1000,
    prefixes: 10,
    seconds: soakSeconds,
    targets: ["podgate"],
    log,
  });
  parts.push(
    `## 1000 peers × 10 prefixes soak (\`sudo npx tsx bench/peers.ts soak --soak-seconds ${soakSeconds}\`)`,
    "",
    soakTable(soak),
    "",
  );

  const report = parts.join("\n");
  console.log(report);
  if (values.out) writeFileSync(values.out, report);
}

await main();
