import { describe, expect, it } from "vitest";
import { LocRib } from "../../../../src/bgp/rib/loc-rib.ts";
import { LOCAL, path, peer, txt, v4 } from "./helpers.ts";

describe("LocRib", () => {
  const a = peer(1);
  const b = peer(2);

  it("reports a new prefix once, and nothing for an identical re-announcement", () => {
    const loc = new LocRib();
    const pa = path(a, {});
    loc.update(pa);
    const ch = loc.flush();
    expect(ch).toHaveLength(1);
    expect(txt(ch[0]!)).toBe("10.1.0.0/26");
    expect(ch[0]).toMatchObject({ best: pa, previous: undefined, multipath: [pa] });
    // Same peer, same attribute object: a new Path object but the same route.
    loc.update(path(a, {}).withAttrs(pa.attrs));
    expect(loc.flush()).toEqual([]);
  });

  it("withdrawing the best promotes the next candidate", () => {
    const loc = new LocRib();
    const good = path(a, { localPref: 200 });
    const worse = path(b, { localPref: 100 });
    loc.update(worse);
    loc.update(good);
    expect(loc.flush().map((c) => c.best)).toEqual([good]);
    loc.withdraw(a, v4("10.1.0.0/26"));
    const ch = loc.flush();
    expect(ch).toHaveLength(1);
    expect(ch[0]!.best).toBe(worse);
    expect(ch[0]!.previous).toBe(good);
    loc.withdraw(b, v4("10.1.0.0/26"));
    const gone = loc.flush();
    expect(gone[0]).toMatchObject({ best: undefined, previous: worse, multipath: [] });
    expect(loc.size).toBe(0);
  });

  it("withdrawing a non-best candidate reports nothing", () => {
    const loc = new LocRib();
    loc.update(path(a, { localPref: 200 }));
    loc.update(path(b, { localPref: 100 }));
    loc.flush();
    loc.withdraw(b, v4("10.1.0.0/26"));
    expect(loc.flush()).toEqual([]);
    expect(loc.pathCount).toBe(1);
  });

  it("flush yields each changed prefix once, however many updates touched it", () => {
    const loc = new LocRib();
    for (let i = 0; i < 5; i++) {
      loc.update(path(a, { med: i }, "10.1.0.0/26"));
      loc.update(path(b, { med: i }, "10.1.0.64/26"));
      loc.update(path(b, { med: i }, "10.1.0.0/26"));
    }
    const ch = loc.flush();
    expect(ch.map((c) => txt(c)).sort()).toEqual(["10.1.0.0/26", "10.1.0.64/26"]);
    expect(loc.pending).toBe(false);
  });

  it("a change undone within a batch reports nothing", () => {
    const loc = new LocRib();
    const pa = path(a, {});
    loc.update(pa);
    loc.flush();
    loc.update(path(b, { localPref: 500 }));
    loc.withdraw(b, v4("10.1.0.0/26"));
    expect(loc.flush()).toEqual([]);
  });

  it("reports ECMP set changes even when the best stays", () => {
    const loc = new LocRib();
    const pa = path(a, { nextHop: "192.168.40.101" });
    const pb = path(b, { nextHop: "192.168.40.102" });
    loc.update(pa);
    loc.flush();
    loc.update(pb);
    const ch = loc.flush();
    expect(ch).toHaveLength(1);
    expect(ch[0]!.best).toBe(pa);
    expect(ch[0]!.previous).toBe(pa);
    expect(ch[0]!.multipath).toEqual([pa, pb]);
    expect(loc.get(v4("10.1.0.0/26"))!.multipath).toEqual([pa, pb]);
  });

  it("withdrawPeer removes every path of the peer", () => {
    const loc = new LocRib();
    loc.update(path(a, {}, "10.1.0.0/26"));
    loc.update(path(a, {}, "10.1.0.64/26"));
    loc.update(path(b, {}, "10.1.0.64/26"));
    loc.update(path(LOCAL, {}, "10.9.0.0/24"));
    loc.flush();
    loc.withdrawPeer(a);
    const ch = loc.flush();
    expect(ch.map((c) => [txt(c), c.best?.peer.id])).toEqual([
      ["10.1.0.0/26", undefined],
      ["10.1.0.64/26", "peer2"],
    ]);
    expect(loc.pathCount).toBe(2);
  });

  it("graceful restart: markStale changes nothing, sweepStale removes what was not refreshed", () => {
    const loc = new LocRib();
    const keep = path(a, {}, "10.1.0.0/26");
    const lose = path(a, {}, "10.1.0.64/26");
    loc.update(keep);
    loc.update(lose);
    loc.flush();
    loc.markStale(a);
    expect(loc.flush()).toEqual([]);
    expect(loc.get(v4("10.1.0.0/26"))!.paths[0]!.stale).toBe(true);
    loc.update(path(a, {}, "10.1.0.0/26").withAttrs(keep.attrs)); // re-announced after restart
    loc.sweepStale(a);
    const ch = loc.flush();
    expect(ch.map((c) => [txt(c), c.best])).toEqual([["10.1.0.64/26", undefined]]);
    expect(loc.get(v4("10.1.0.0/26"))!.best!.stale).toBe(false);
  });

  it("invalidateAll re-runs the decision with new reachability", () => {
    let down = "";
    const loc = new LocRib({ nextHopReachable: (p) => p.nextHop !== down });
    const pa = path(a, { nextHop: "192.168.40.101" });
    const pb = path(b, { nextHop: "192.168.40.102" });
    loc.update(pa);
    loc.update(pb);
    loc.flush();
    down = "192.168.40.101";
    loc.invalidateAll();
    const ch = loc.flush();
    expect(ch[0]!.best).toBe(pb);
    expect(ch[0]!.multipath).toEqual([pb]);
  });

  it("selected() lists flushed bests only", () => {
    const loc = new LocRib();
    loc.update(path(a, {}, "10.1.0.0/26"));
    expect([...loc.selected()]).toEqual([]);
    loc.flush();
    expect([...loc.selected()].map((e) => txt(e))).toEqual(["10.1.0.0/26"]);
  });
});
