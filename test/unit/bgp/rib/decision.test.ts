import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bestPath, compare, ecmpEqual } from "../../../../src/bgp/rib/decision.ts";
import type { Path } from "../../../../src/bgp/rib/path.ts";
import { AsPathSegmentType, Origin } from "../../../../src/bgp/wire/constants.ts";
import { LOCAL, path, peer, seq } from "./helpers.ts";

/** Asserts a beats b for `reason`, in both argument orders. */
function beats(a: Path, b: Path, reason: string, opts?: Parameters<typeof compare>[2]): void {
  expect(compare(a, b, opts)).toEqual({ winner: a, reason });
  expect(compare(b, a, opts)).toEqual({ winner: a, reason });
  expect(bestPath([b, a], opts).best).toBe(a);
}

describe("RFC 4271 §9.1.2 steps, one reason each", () => {
  const p1 = peer(1, { asn: 65001 });
  const p2 = peer(2, { asn: 65002 });
  const i1 = peer(3);
  const i2 = peer(4);

  it("(0) unreachable next hop loses", () => {
    const a = path(i1, { nextHop: "192.0.2.10" });
    const b = path(i2, { nextHop: "192.0.2.99", localPref: 500 });
    beats(a, b, "next-hop-unreachable", { nextHopReachable: (p) => p.nextHop !== "192.0.2.99" });
    expect(bestPath([b], { nextHopReachable: () => false }).best).toBeUndefined();
  });

  it("9.1.2.1 highest LOCAL_PREF; missing counts as 100", () => {
    beats(path(i2, { localPref: 200 }), path(i1, { localPref: 150 }), "local-pref");
    beats(path(i2, { localPref: 101 }), path(i1, {}), "local-pref");
    beats(path(i2, {}), path(i1, { localPref: 99 }), "local-pref");
  });

  it("locally originated routes beat learned ones at equal LOCAL_PREF", () => {
    beats(path(LOCAL, { asPath: [seq(1, 2, 3)] }), path(i1, {}), "local-origin");
  });

  it("a) shortest AS_PATH; AS_SET counts 1, confederation segments 0", () => {
    beats(path(p2, { asPath: [seq(65002)] }), path(p1, { asPath: [seq(65001, 65001)] }), "as-path-length");
    const set = path(p1, { asPath: [seq(65001), { type: AsPathSegmentType.AS_SET, asns: [1, 2, 3, 4] }] });
    const three = path(p2, { asPath: [seq(65002, 7, 8)] });
    beats(set, three, "as-path-length");
    const confed = path(p2, {
      asPath: [{ type: AsPathSegmentType.AS_CONFED_SEQUENCE, asns: [1, 2, 3] }, seq(65002)],
    });
    // confed + 1 = length 1; beats a length-2 path.
    beats(confed, path(p1, { asPath: [seq(65001, 9)] }), "as-path-length");
  });

  it("b) lowest ORIGIN", () => {
    beats(
      path(p2, { asPath: [seq(65002)], origin: Origin.IGP }),
      path(p1, { asPath: [seq(65001)], origin: Origin.EGP }),
      "origin",
    );
    beats(
      path(p2, { asPath: [seq(65002)], origin: Origin.EGP }),
      path(p1, { asPath: [seq(65001)], origin: Origin.INCOMPLETE }),
      "origin",
    );
  });

  it("c) lowest MED between paths from the same neighbour AS (missing MED = 0)", () => {
    const p1b = peer(5, { asn: 65001 });
    beats(path(p1b, { asPath: [seq(65001)], med: 10 }), path(p1, { asPath: [seq(65001)], med: 20 }), "med");
    beats(path(p1b, { asPath: [seq(65001)] }), path(p1, { asPath: [seq(65001)], med: 1 }), "med");
  });

  it("c) MED is NOT compared between different neighbour ASes", () => {
    // p2 has the worse MED but the lower router id: the decision falls through to router-id.
    const a = path(p1, { asPath: [seq(65001)], med: 500 });
    const b = path(p2, { asPath: [seq(65002)], med: 5 });
    beats(a, b, "router-id");
  });

  it("d) eBGP over iBGP", () => {
    beats(path(p2, { asPath: [seq(65009)] }), path(i1, { asPath: [seq(65009)] }), "ebgp-over-ibgp");
  });

  it("e) lowest IGP cost (hook)", () => {
    const a = path(i2, { nextHop: "192.0.2.20" });
    const b = path(i1, { nextHop: "192.0.2.10" });
    beats(a, b, "igp-cost", { igpCost: (p) => (p.nextHop === "192.0.2.20" ? 1 : 10) });
    // Without the hook the step is neutral and router id decides.
    expect(compare(a, b).reason).toBe("router-id");
  });

  it("f) lowest BGP Identifier, ORIGINATOR_ID standing in when present", () => {
    beats(path(i1, {}), path(i2, {}), "router-id");
    // i2 (router id 10.0.0.4) reflects a route whose ORIGINATOR_ID 10.0.0.0 is lower than i1 (10.0.0.3).
    const reflected = path(i2, { originatorId: "10.0.0.0" });
    beats(reflected, path(i1, {}), "router-id");
    // Router ids compare numerically, not as text ("10.0.0.9" < "10.0.0.10").
    beats(
      path(peer(7, { routerId: "10.0.0.9" }), {}),
      path(peer(8, { routerId: "10.0.0.10" }), {}),
      "router-id",
    );
  });

  it("f) shortest CLUSTER_LIST", () => {
    const a = path(peer(11, { routerId: "1.1.1.1" }), { originatorId: "9.9.9.9", clusterList: ["1.1.1.1"] });
    const b = path(peer(12, { routerId: "1.1.1.2" }), {
      originatorId: "9.9.9.9",
      clusterList: ["1.1.1.1", "2.2.2.2"],
    });
    beats(a, b, "cluster-list");
  });

  it("g) lowest peer address", () => {
    const a = path(peer(21, { routerId: "1.1.1.1", address: "192.0.2.9" }), {});
    const b = path(peer(22, { routerId: "1.1.1.1", address: "192.0.2.10" }), {});
    beats(a, b, "peer-address");
  });

  it("ADD-PATH: lowest path id from one peer; identical paths are equal", () => {
    beats(path(i1, {}, "10.1.0.0/26", 1), path(i1, {}, "10.1.0.0/26", 2), "path-id");
    const x = path(i1, {});
    expect(compare(x, path(i1, {}))).toEqual({ winner: undefined, reason: "equal" });
  });
});

describe("bestPath", () => {
  it("reports only-path for one candidate and nothing for none", () => {
    const a = path(peer(1), {});
    expect(bestPath([a])).toEqual({ best: a, reason: "only-path", multipath: [a] });
    expect(bestPath([]).best).toBeUndefined();
  });

  it("reports the reason of the closest contest", () => {
    const a = path(peer(1), { localPref: 300 });
    const b = path(peer(2), { localPref: 300 });
    const c = path(peer(3), { localPref: 100 });
    expect(bestPath([c, b, a]).reason).toBe("router-id");
  });

  it("deterministic MED: same result for every order of a non-transitive trio", () => {
    // A beats B on MED (same AS 65001); B beats C on router id; C beats A on router id.
    const a = path(peer(3, { asn: 65001 }), { asPath: [seq(65001)], med: 10 });
    const b = path(peer(1, { asn: 65001 }), { asPath: [seq(65001)], med: 20 });
    const c = path(peer(2, { asn: 65002 }), { asPath: [seq(65002)], med: 0 });
    expect(compare(a, b).winner).toBe(a);
    expect(compare(b, c).winner).toBe(b);
    expect(compare(c, a).winner).toBe(c);
    const orders = [
      [a, b, c],
      [a, c, b],
      [b, a, c],
      [b, c, a],
      [c, a, b],
      [c, b, a],
    ];
    for (const o of orders) expect(bestPath(o).best).toBe(c);
  });

  it("ECMP: equal through step e) regardless of router id; MED, LOCAL_PREF or eBGP/iBGP differences exclude", () => {
    const n1 = path(peer(1), { nextHop: "192.168.40.101" });
    const n2 = path(peer(2), { nextHop: "192.168.40.102" });
    const n3 = path(peer(3), { nextHop: "192.168.40.103" });
    const worseMed = path(peer(4), { med: 5 });
    const lowerLp = path(peer(5), { localPref: 50 });
    const r = bestPath([n3, worseMed, n1, lowerLp, n2]);
    expect(r.best).toBe(n1);
    expect(r.multipath).toEqual([n1, n2, n3]);
    expect(ecmpEqual(n1, worseMed)).toBe(false);
    const ebgp = path(peer(6, { asn: 65006 }), { asPath: [] });
    expect(ecmpEqual(ebgp, n1)).toBe(false);
  });
});

describe("properties", () => {
  const pathArb = fc
    .record({
      lp: fc.constantFrom(undefined, 100, 200),
      asLen: fc.integer({ min: 0, max: 2 }),
      nAs: fc.constantFrom(65001, 65002, 65003),
      origin: fc.constantFrom(Origin.IGP, Origin.EGP, Origin.INCOMPLETE),
      med: fc.constantFrom(undefined, 0, 10, 20),
      ibgp: fc.boolean(),
      rid: fc.integer({ min: 1, max: 4 }),
      clusterLen: fc.integer({ min: 0, max: 2 }),
    })
    .map((r) => r);
  const pathsArb = fc.array(pathArb, { minLength: 1, maxLength: 7 }).map((rs) =>
    rs.map((r, i) =>
      path(peer(i + 1, { routerId: `10.0.0.${r.rid}`, asn: r.ibgp ? 64512 : r.nAs }), {
        ...(r.lp === undefined ? {} : { localPref: r.lp }),
        ...(r.med === undefined ? {} : { med: r.med }),
        asPath: r.asLen === 0 ? [] : [seq(...new Array<number>(r.asLen).fill(r.nAs))],
        origin: r.origin,
        ...(r.clusterLen ? { clusterList: new Array<string>(r.clusterLen).fill("1.1.1.1") } : {}),
      }),
    ),
  );

  it("bestPath (and its ECMP set) does not depend on input order", () => {
    fc.assert(
      fc.property(pathsArb, fc.infiniteStream(fc.nat()), (paths, rnd) => {
        const shuffled = [...paths];
        for (let i = shuffled.length - 1; i > 0; i--) {
          const j = rnd.next().value % (i + 1);
          [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
        }
        const x = bestPath(paths);
        const y = bestPath(shuffled);
        expect(y.best).toBe(x.best);
        expect(y.multipath).toEqual(x.multipath);
        expect(y.reason).toBe(x.reason);
      }),
      { numRuns: 500 },
    );
  });

  it("compare is antisymmetric and names the same reason both ways", () => {
    fc.assert(
      fc.property(pathsArb, (paths) => {
        for (const a of paths) {
          for (const b of paths) {
            const ab = compare(a, b);
            const ba = compare(b, a);
            expect(ab.winner).toBe(ba.winner);
            expect(ab.reason).toBe(ba.reason);
            if (a !== b) expect(ab.winner).toBeDefined();
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
