/**
 * In-process ingest pipeline benchmark: N IPv4 /26 prefixes (Calico workload, one attribute
 * set) pre-encoded into UPDATEs with encodeUpdates, then decodeMessage → AdjRibIn.applyUpdate
 * (accept-all import) → one LocRib.flush(), as the speaker does, without sockets. Prints CPU
 * time per stage and, for the first run, retained heap per route (decoded UPDATEs dropped first).
 *
 * Run: node --expose-gc --import tsx bench/pipeline.ts [N] [repeats]   (default 1000000 3)
 */
import { compilePolicy } from "../src/bgp/policy/compile.ts";
import { AdjRibIn } from "../src/bgp/rib/adj-rib-in.ts";
import { LocRib } from "../src/bgp/rib/loc-rib.ts";
import { makePeerInfo } from "../src/bgp/rib/path.ts";
import {
  DEFAULT_CODEC_OPTIONS,
  decodeMessage,
  encodeUpdates,
  type Nlri,
  type UpdateMessage,
} from "../src/bgp/wire/index.ts";

const N = Number(process.argv[2] ?? 1_000_000);
const REPEATS = Number(process.argv[3] ?? 3);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  console.error("run with: node --expose-gc --import tsx bench/pipeline.ts");
  process.exit(1);
}
const heap = (): number => {
  gc!();
  gc!();
  return process.memoryUsage().heapUsed;
};

const opts = DEFAULT_CODEC_OPTIONS;
const nlri: Nlri[] = new Array(N);
for (let i = 0; i < N; i++) {
  const v = (0x0a000000 + i * 64) >>> 0;
  nlri[i] = {
    prefix: { afi: 1, addr: `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`, len: 26 },
  };
}
const msgs = encodeUpdates(
  {
    attributes: {
      origin: 0,
      asPath: [{ type: 2, asns: [64512] }],
      nextHop: "192.168.40.101",
      communities: [64512 * 65536 + 100],
    },
    nlri,
  },
  opts,
);
nlri.length = 0;
const peer = makePeerInfo({
  id: "node1",
  address: "192.168.40.101",
  asn: 64512,
  routerId: "192.168.40.101",
  ibgp: true,
  role: "cluster",
});
const policy = compilePolicy({ terms: [], default: "accept" }, {}, { direction: "import", localAsn: 64512 });
const cpuMs = (c: NodeJS.CpuUsage): number => (c.user + c.system) / 1000;

for (let r = 0; r < REPEATS; r++) {
  const before = heap();
  const loc = new LocRib();
  const adj = new AdjRibIn(peer, loc, { importPolicy: policy, localAsn: 64513 });
  const now = Math.floor(Date.now() / 1000);
  const c0 = process.cpuUsage();
  for (const m of msgs) adj.applyUpdate(decodeMessage(m, opts) as UpdateMessage, now);
  const c1 = process.cpuUsage();
  const changes = loc.flush();
  const c2 = process.cpuUsage();
  const nChanges = changes.length;
  changes.length = 0;
  const after = heap();
  if (adj.prefixesAccepted !== N || nChanges !== N || loc.size !== N) throw new Error("bench: lost routes");
  // Session drop: withdraw everything, then the flush that reports it.
  const c3 = process.cpuUsage();
  adj.clear();
  const gone = loc.flush().length;
  const c4 = process.cpuUsage();
  if (gone !== N || loc.size !== 0) throw new Error("bench: clear lost routes");
  console.log(
    `n=${N} run ${r + 1}: decode+ingest ${(cpuMs(c1) - cpuMs(c0)).toFixed(0)} ms cpu  flush ${(cpuMs(c2) - cpuMs(c1)).toFixed(0)} ms cpu  total ${(cpuMs(c2) - cpuMs(c0)).toFixed(0)} ms cpu  clear+flush ${(cpuMs(c4) - cpuMs(c3)).toFixed(0)} ms cpu  heap ${r === 0 ? ((after - before) / N).toFixed(0) : "-"} B/route`,
  );
}
