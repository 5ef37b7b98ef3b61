/**
 * Runs NetlinkRouteBackend steps inside a network namespace and prints one JSON line of
 * results. Node cannot setns(), so the root tests start this with
 * `ip netns exec NS node --import tsx test/dataplane/runner.ts` and pass the steps as JSON on
 * stdin. Steps:
 *   {"do":"apply","ops":[RouteOp…]}                  → RouteOpResult[]
 *   {"do":"list","filter":{table,protocol?,family?}}  → KernelRoute[]
 *   {"do":"diffApply","table":T,"protocol":P,"desired":[KernelRoute…]} → {ops, results}
 *   {"do":"bulk","n":N,"base":"10.128.0.0","gateway":G,"table":T,"protocol":P,"op":"replace"|"delete"}
 *        → {n, ms, rate, failed, stats}
 */
import { readFileSync } from "node:fs";
import type { RouteOp } from "../../src/dataplane/backend.ts";
import { NetlinkRouteBackend } from "../../src/dataplane/linux/netlink-backend.ts";
import { diff } from "../../src/dataplane/reconcile.ts";
import type { KernelRoute } from "../../src/dataplane/types.ts";

type Step =
  | { do: "apply"; ops: RouteOp[] }
  | { do: "list"; filter: { table: number; protocol?: number; family?: 4 | 6 } }
  | { do: "diffApply"; table: number; protocol: number; desired: KernelRoute[] }
  | {
      do: "bulk";
      n: number;
      base: string;
      gateway: string;
      table: number;
      protocol: number;
      op: "replace" | "delete";
      batchSize?: number;
      maxInFlight?: number;
      /** A tiny SO_RCVBUF: the window must shrink so that even all-failing batches never overflow it. */
      smallRcvbuf?: boolean;
    };

function hostRoutes(s: Extract<Step, { do: "bulk" }>): KernelRoute[] {
  const [a, b] = s.base.split(".").map(Number) as [number, number];
  const out: KernelRoute[] = [];
  for (let i = 0; i < s.n; i++) {
    out.push({
      prefix: `${a}.${b + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`,
      family: 4,
      type: "unicast",
      nextHops: [{ gateway: s.gateway }],
      table: s.table,
      protocol: s.protocol,
      metric: 20,
    });
  }
  return out;
}

async function main(): Promise<void> {
  const steps = JSON.parse(readFileSync(0, "utf8")) as Step[];
  const out: unknown[] = [];
  for (const s of steps) {
    const backend = new NetlinkRouteBackend(
      s.do !== "bulk"
        ? {}
        : s.smallRcvbuf
          ? { batchSize: 500, recvBufferSize: 4096 }
          : { batchSize: s.batchSize ?? 200, maxInFlight: s.maxInFlight ?? 4000 },
    );
    try {
      if (s.do === "apply") out.push(await backend.apply(s.ops));
      else if (s.do === "list") out.push(await backend.list(s.filter));
      else if (s.do === "diffApply") {
        const current = await backend.list({ table: s.table });
        const ops = diff(current, s.desired, s.protocol);
        out.push({ ops, results: await backend.apply(ops) });
      } else {
        const ops: RouteOp[] = hostRoutes(s).map((route) => ({ op: s.op, route }));
        const t0 = performance.now();
        const results = await backend.apply(ops);
        const ms = performance.now() - t0;
        out.push({
          n: s.n,
          ms: Math.round(ms),
          rate: Math.round(s.n / (ms / 1000)),
          failed: results.filter((r) => !r.ok).length,
          firstError: results.find((r) => !r.ok),
          stats: backend.stats,
        });
      }
    } finally {
      backend.close();
    }
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack}\n`);
  process.exit(1);
});
