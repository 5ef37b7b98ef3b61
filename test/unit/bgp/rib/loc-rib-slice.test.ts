/**
 * LocRib.flush(limit): a flush spread over several calls reports the same changes, in the same
 * order, as one unlimited flush — including prefixes mutated again between two slices.
 */
import { describe, expect, it } from "vitest";
import { LocRib, type RibChange } from "../../../../src/bgp/rib/loc-rib.ts";
import { createPath, makePeerInfo, type PeerInfo } from "../../../../src/bgp/rib/path.ts";
import type { PathAttributes } from "../../../../src/bgp/wire/types.ts";

const mkPeer = (n: number): PeerInfo =>
  makePeerInfo({
    id: `p${n}`,
    address: `192.0.2.${n}`,
    asn: 64512,
    routerId: `192.0.2.${n}`,
    ibgp: true,
    role: "cluster",
  });
const PEERS = [mkPeer(0), mkPeer(1), mkPeer(2)];
const peer = (n: number): PeerInfo => PEERS[n]!;
const A: PathAttributes = Object.freeze({ origin: 0, asPath: [], nextHop: "192.0.2.1", localPref: 100 });
const B: PathAttributes = Object.freeze({ origin: 0, asPath: [], nextHop: "192.0.2.2", localPref: 200 });
const pfx = (i: number) => ({ afi: 1 as const, addr: `10.0.${i}.0`, len: 24 });
const summary = (cs: readonly RibChange[]) =>
  cs.map((c) => `${c.prefix.addr}/${c.prefix.len} ${c.best?.peer.id ?? "-"} ${c.previous?.peer.id ?? "-"}`);

function drain(loc: LocRib, limit: number): RibChange[] {
  const all: RibChange[] = [];
  while (loc.pending) all.push(...loc.flush(limit));
  return all;
}

describe("LocRib.flush(limit)", () => {
  it("reports the same changes as one flush, in order, with mutations between slices", () => {
    const script = (loc: LocRib, between: () => void): void => {
      for (let i = 0; i < 10; i++) loc.update(createPath({ prefix: pfx(i), peer: peer(1), attrs: A }));
      between();
    };
    const one = new LocRib();
    script(one, () => {});
    const ref = one.flush();
    expect(ref).toHaveLength(10);

    const sliced = new LocRib();
    script(sliced, () => {});
    const first = sliced.flush(4);
    expect(first).toHaveLength(4);
    expect(sliced.pending).toBe(true);
    // A not-yet-reported prefix gets a second candidate, a reported one is withdrawn.
    sliced.update(createPath({ prefix: pfx(7), peer: peer(2), attrs: B }));
    sliced.withdraw(peer(1), pfx(1));
    expect(sliced.get(pfx(7))?.best).toBeUndefined();
    const rest = drain(sliced, 3);
    const got = summary([...first, ...rest]);
    expect(got.slice(0, 4)).toEqual(summary(ref).slice(0, 4));
    expect(got).toContain("10.0.7.0/24 p2 -");
    expect(got).toContain("10.0.1.0/24 - p1");
    expect(got.filter((s) => s.startsWith("10.0.7.0/24"))).toHaveLength(1);
    expect(got).toHaveLength(11);
    expect(sliced.get(pfx(7))?.best?.peer.id).toBe("p2");
    expect(sliced.size).toBe(9);
  });
});
