/**
 * RIB ingest benchmark: N IPv4 /26 routes from one peer through Adj-RIB-In (accept-all
 * import policy) into the Loc-RIB, then one flush(). Prints CPU time and retained heap per
 * route, with all prefixes of an UPDATE sharing one attribute object ("shared") and with
 * every route carrying its own attributes ("unique").
 *
 * Run: node --expose-gc --import tsx bench/rib.ts [N...]   (default: 100000 1000000)
 */
import { compilePolicy } from "../src/bgp/policy/compile.ts";
import { AdjRibIn } from "../src/bgp/rib/adj-rib-in.ts";
import { AdjRibOut } from "../src/bgp/rib/adj-rib-out.ts";
import { LocRib, type RibChange } from "../src/bgp/rib/loc-rib.ts";
import { makePeerInfo, type PeerInfo } from "../src/bgp/rib/path.ts";
import { Afi, AsPathSegmentType, Origin } from "../src/bgp/wire/constants.ts";
import type { Nlri, PathAttributes } from "../src/bgp/wire/types.ts";

/** Prefixes per UPDATE: a 4096-octet UPDATE holds ~1000 /26 NLRI (4 octets each). */
const PER_UPDATE = 900;

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  console.error("run with: node --expose-gc --import tsx bench/rib.ts");
  process.exit(1);
}

function heap(): number {
  gc!();
  gc!();
  return process.memoryUsage().heapUsed;
}

function makeNlri(n: number): Nlri[] {
  const out: Nlri[] = new Array(n);
  const base = 10 * 2 ** 24;
  for (let i = 0; i < n; i++) {
    const v = base + i * 64;
    const addr = `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
    out[i] = { prefix: { afi: Afi.IPV4, addr, len: 26 } };
  }
  return out;
}

function attrsFor(i: number): PathAttributes {
  return Object.freeze({
    origin: Origin.IGP,
    asPath: [{ type: AsPathSegmentType.AS_SEQUENCE, asns: [64512] }],
    nextHop: "192.168.40.101",
    med: i,
    communities: [(64512 << 16) | 7],
  });
}

/** Feeds the changes to a fresh eBGP Adj-RIB-Out and takes one batch; returns [ms, groups]. */
function exportOnce(changes: readonly RibChange[], office: PeerInfo, n: number): [number, number] {
  const out = new AdjRibOut(office, {
    localAsn: 64513,
    nextHopSelf: { ipv4: "192.0.2.100" },
    exportPolicy: compilePolicy(
      { terms: [], default: "accept" },
      {},
      { direction: "export", localAsn: 64513 },
    ),
  });
  const t0 = performance.now();
  out.apply(changes);
  const batch = out.takeBatch();
  const ms = performance.now() - t0;
  if (out.prefixesAdvertised !== n) throw new Error("bench: export lost routes");
  return [ms, batch.announce.size];
}

function run(n: number, mode: "shared" | "unique"): void {
  const nlri = makeNlri(n);
  const updates: { withdrawn: Nlri[]; attributes: PathAttributes; nlri: Nlri[] }[] = [];
  if (mode === "shared") {
    for (let i = 0; i < n; i += PER_UPDATE) {
      updates.push({ withdrawn: [], attributes: attrsFor(i), nlri: nlri.slice(i, i + PER_UPDATE) });
    }
  } else {
    for (let i = 0; i < n; i++) updates.push({ withdrawn: [], attributes: attrsFor(i), nlri: [nlri[i]!] });
  }
  const peer = makePeerInfo({
    id: "node1",
    address: "192.168.40.101",
    asn: 64512,
    routerId: "192.168.40.101",
    ibgp: true,
    role: "cluster",
  });
  const office = makePeerInfo({
    id: "office",
    address: "192.0.2.1",
    asn: 65010,
    routerId: "192.0.2.1",
    ibgp: false,
    role: "office",
  });
  const policy = compilePolicy(
    { terms: [], default: "accept" },
    {},
    { direction: "import", localAsn: 64512 },
  );
  const before = heap();
  const loc = new LocRib();
  const adj = new AdjRibIn(peer, loc, { importPolicy: policy, localAsn: 64513 });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const now = Math.floor(Date.now() / 1000);
  for (const u of updates) adj.applyUpdate(u, now);
  const t1 = performance.now();
  const changes = loc.flush();
  const t2 = performance.now();
  const cpu = process.cpuUsage(cpu0);
  const nChanges = changes.length;
  const [exportMs, groups] = exportOnce(changes, office, n);
  changes.length = 0;
  const after = heap();
  if (adj.prefixesAccepted !== n || nChanges !== n) throw new Error("bench: wrong counts");
  const perRoute = (after - before) / n;
  console.log(
    `${mode.padEnd(6)} n=${String(n).padStart(8)}  ingest ${(t1 - t0).toFixed(0).padStart(5)} ms  flush ${(
      t2 - t1
    )
      .toFixed(0)
      .padStart(4)} ms  cpu ${((cpu.user + cpu.system) / 1000).toFixed(0).padStart(5)} ms  ` +
      `${(((t2 - t0) * 1e6) / n).toFixed(0).padStart(5)} ns/route  heap ${perRoute.toFixed(0)} B/route (RIB only; prefixes/UPDATEs excluded)` +
      `  | export to 1 eBGP peer ${exportMs.toFixed(0)} ms, ${groups} attribute groups`,
  );
  // Keep everything alive until measured.
  if (loc.size !== n || updates.length === 0) throw new Error("bench: lost routes");
}

const sizes = process.argv.slice(2).map(Number);
for (const n of sizes.length > 0 ? sizes : [100_000, 1_000_000]) {
  run(n, "shared");
  run(n, "unique");
}
