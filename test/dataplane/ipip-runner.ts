/**
 * Runs IpipManager steps inside a network namespace (Node cannot setns(): the root test starts
 * this under `ip netns exec NS node --import tsx`) and prints one JSON line: per step either
 * {ok: true, ifindex?, status} or {ok: false, error}. Steps on stdin:
 *   {"do":"ensure","name":N,"local"?:A,"mtu":M}   {"do":"shutdown","keepKernel":B}
 */
import { readFileSync } from "node:fs";
import { silentLogger } from "../../src/core/log.ts";
import { IpipManager } from "../../src/dataplane/linux/ipip-manager.ts";

type Step =
  | { do: "ensure"; name: string; local?: string; mtu: number }
  | { do: "shutdown"; keepKernel: boolean };

async function main(): Promise<void> {
  const steps = JSON.parse(readFileSync(0, "utf8")) as Step[];
  const m = new IpipManager({ log: silentLogger });
  const out: unknown[] = [];
  for (const s of steps) {
    try {
      if (s.do === "ensure") {
        const ifindex = await m.ensure({ name: s.name, mtu: s.mtu, ...(s.local ? { local: s.local } : {}) });
        out.push({ ok: true, ifindex, status: m.status() });
      } else {
        await m.shutdown({ keepKernel: s.keepKernel });
        out.push({ ok: true });
      }
    } catch (e) {
      out.push({ ok: false, error: e instanceof Error ? e.message : String(e) });
    }
  }
  await m.shutdown({ keepKernel: true });
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

await main();
