import { describe, expect, it } from "vitest";
import { type CompiledPolicy, compilePolicy } from "../../../../src/bgp/policy/compile.ts";
import { AdjRibOut } from "../../../../src/bgp/rib/adj-rib-out.ts";
import { LocRib } from "../../../../src/bgp/rib/loc-rib.ts";
import { createPath, type PeerInfo } from "../../../../src/bgp/rib/path.ts";
import { Afi, AttrFlag, WellKnownCommunity } from "../../../../src/bgp/wire/constants.ts";
import type { Policy } from "../../../../src/config/types.ts";
import { attrs, LOCAL, LOCAL_ASN, path, peer, seq, v6 } from "./helpers.ts";

const exportCtx = { direction: "export" as const, localAsn: LOCAL_ASN };
const acceptAll = compilePolicy({ terms: [], default: "accept" }, {}, exportCtx);
const SELF = { ipv4: "192.0.2.100", ipv6: "2001:db8::100" };

function out(
  to: PeerInfo,
  policy: CompiledPolicy = acceptAll,
  extra: Partial<ConstructorParameters<typeof AdjRibOut>[1]> = {},
) {
  return new AdjRibOut(to, { localAsn: LOCAL_ASN, nextHopSelf: SELF, exportPolicy: policy, ...extra });
}

const node1 = peer(1); // iBGP (a Calico node in our AS)
const node2 = peer(2);
const office = peer(10, { asn: 65010 }); // eBGP
const upstream = peer(11, { asn: 65011 });

describe("AdjRibOut export rules", () => {
  it("iBGP split horizon: an iBGP-learned route is not sent to another iBGP peer", () => {
    expect(out(node2).exportRoute(path(node1, {}))).toBeUndefined();
    expect(out(node2).exportRoute(path(office, { asPath: [seq(65010)] }))).toBeDefined();
    expect(out(node2).exportRoute(path(LOCAL, {}))).toBeDefined();
  });

  it("never sends a route back to the peer it came from", () => {
    expect(out(office).exportRoute(path(office, { asPath: [seq(65010)] }))).toBeUndefined();
  });

  it("NO_ADVERTISE goes to nobody; NO_EXPORT goes to iBGP only", () => {
    const noAdv = path(LOCAL, { communities: [WellKnownCommunity.NO_ADVERTISE] });
    expect(out(node1).exportRoute(noAdv)).toBeUndefined();
    expect(out(office).exportRoute(noAdv)).toBeUndefined();
    const noExp = path(node1, { communities: [WellKnownCommunity.NO_EXPORT] });
    expect(out(office).exportRoute(noExp)).toBeUndefined();
    const fromOffice = path(office, { asPath: [seq(65010)], communities: [WellKnownCommunity.NO_EXPORT] });
    expect(out(node1).exportRoute(fromOffice)).toBeDefined();
  });

  it("eBGP: prepends our AS, next hop self, no LOCAL_PREF, no received MED", () => {
    const a = out(office).exportRoute(
      path(node1, { asPath: [], nextHop: "192.168.40.101", localPref: 300, med: 7, originatorId: "1.1.1.1" }),
    )!;
    expect(a.asPath).toEqual([seq(LOCAL_ASN)]);
    expect(a.nextHop).toBe("192.0.2.100");
    expect(a.localPref).toBeUndefined();
    expect(a.med).toBeUndefined();
    expect(a.originatorId).toBeUndefined();
    const transit = out(upstream).exportRoute(path(office, { asPath: [seq(65010, 65020)], med: 9 }))!;
    expect(transit.asPath).toEqual([seq(LOCAL_ASN, 65010, 65020)]);
    expect(transit.med).toBeUndefined();
  });

  it("eBGP: MED is sent when the export policy sets it (or for our own routes)", () => {
    const setMed = compilePolicy(
      { terms: [{ set: { med: 42 }, action: "accept" }], default: "reject" },
      {},
      exportCtx,
    );
    expect(out(office, setMed).exportRoute(path(node1, { med: 7 }))!.med).toBe(42);
    expect(out(office).exportRoute(path(LOCAL, { med: 5 }))!.med).toBe(5);
  });

  it("iBGP: next hop kept, LOCAL_PREF defaults to 100, MED kept, AS_PATH not prepended", () => {
    const a = out(node1).exportRoute(
      path(office, { asPath: [seq(65010)], nextHop: "198.51.100.1", med: 3 }),
    )!;
    expect(a.nextHop).toBe("198.51.100.1");
    expect(a.localPref).toBe(100);
    expect(a.med).toBe(3);
    expect(a.asPath).toEqual([seq(65010)]);
    const nhs = out(node1, acceptAll, { forceNextHopSelf: true }).exportRoute(
      path(office, { asPath: [seq(65010)] }),
    )!;
    expect(nhs.nextHop).toBe("192.0.2.100");
    // A local route without a next hop gets ours.
    const { nextHop: _n, ...noNh } = attrs();
    expect(
      out(node1).exportRoute(createPath({ prefix: v6("2001:db8:5::/48"), peer: LOCAL, attrs: noNh }))!
        .nextHop,
    ).toBe("2001:db8::100");
  });

  it("drops unknown non-transitive attributes and marks transitive ones Partial", () => {
    const t = { code: 99, flags: AttrFlag.OPTIONAL | AttrFlag.TRANSITIVE, value: Buffer.from([1]) };
    const nt = { code: 98, flags: AttrFlag.OPTIONAL, value: Buffer.from([2]) };
    const a = out(office).exportRoute(path(node1, { unknown: [t, nt] }))!;
    expect(a.unknown).toEqual([{ ...t, flags: t.flags | AttrFlag.PARTIAL }]);
  });

  it("export policy reject-all sends nothing; families not negotiated are not sent", () => {
    const reject = compilePolicy({ terms: [], default: "reject" }, {}, exportCtx);
    expect(out(office, reject).exportRoute(path(LOCAL, {}))).toBeUndefined();
    const v4only = out(office, acceptAll, { families: new Set([Afi.IPV4]) });
    expect(
      v4only.exportRoute(createPath({ prefix: v6("2001:db8::/32"), peer: LOCAL, attrs: attrs() })),
    ).toBeUndefined();
  });
});

describe("AdjRibOut batches", () => {
  function fed(to: PeerInfo, policy: CompiledPolicy = acceptAll, extra = {}) {
    const loc = new LocRib();
    const o = out(to, policy, extra);
    return { loc, o, push: () => o.apply(loc.flush()) };
  }

  it("groups prefixes by one interned attribute object", () => {
    const { loc, o, push } = fed(office);
    // Two UPDATEs from two nodes with equal content: exported attributes are identical.
    loc.update(path(node1, { nextHop: "192.168.40.101" }, "10.244.1.0/26"));
    loc.update(path(node2, { nextHop: "192.168.40.102" }, "10.244.2.0/26"));
    loc.update(path(node2, { nextHop: "192.168.40.102", communities: [5] }, "10.244.3.0/26"));
    push();
    const b = o.takeBatch();
    expect(b.withdraw).toEqual([]);
    expect(b.announce.size).toBe(2);
    const lists = [...b.announce.values()].map((l) => l.map((n) => `${n.prefix.addr}/${n.prefix.len}`));
    expect(lists).toContainEqual(["10.244.1.0/26", "10.244.2.0/26"]);
    expect(o.prefixesAdvertised).toBe(3);
    expect(o.takeBatch().announce.size).toBe(0);
  });

  it("withdraws when the best goes away, and sends nothing for a route that came and went within a batch", () => {
    const { loc, o, push } = fed(office);
    loc.update(path(node1, {}, "10.244.1.0/26"));
    push();
    o.takeBatch();
    loc.withdraw(node1, { afi: 1, addr: "10.244.1.0", len: 26 });
    loc.update(path(node1, {}, "10.244.9.0/26"));
    push();
    loc.withdraw(node1, { afi: 1, addr: "10.244.9.0", len: 26 });
    push();
    const b = o.takeBatch();
    expect(b.withdraw).toEqual([{ prefix: { afi: 1, addr: "10.244.1.0", len: 26 } }]);
    expect(b.announce.size).toBe(0);
    expect(o.prefixesAdvertised).toBe(0);
  });

  it("a best path change that exports the same attributes sends nothing", () => {
    const { loc, o, push } = fed(office);
    loc.update(path(node2, { nextHop: "192.168.40.102" }, "10.96.0.0/12"));
    push();
    o.takeBatch();
    loc.update(path(node1, { nextHop: "192.168.40.101" }, "10.96.0.0/12")); // new best (lower router id)
    push();
    expect(o.takeBatch().announce.size).toBe(0);
  });

  it("refresh(full) re-sends everything (route refresh); refresh after a policy change sends differences", () => {
    const { loc, o, push } = fed(office);
    loc.update(path(node1, {}, "10.244.1.0/26"));
    loc.update(path(node1, {}, "10.244.2.0/26"));
    push();
    o.takeBatch();
    o.refresh(loc, true);
    expect([...o.takeBatch().announce.values()].flat()).toHaveLength(2);
    const pol: Policy = {
      terms: [{ match: { prefixes: [{ prefix: "10.244.1.0/26", action: "permit" }] }, action: "accept" }],
      default: "reject",
    };
    o.setExportPolicy(compilePolicy(pol, {}, exportCtx), loc);
    const b = o.takeBatch();
    expect(b.announce.size).toBe(0);
    expect(b.withdraw.map((n) => n.prefix.addr)).toEqual(["10.244.2.0"]);
  });

  it("a withdrawal queued before a full refresh is still sent", () => {
    const { loc, o, push } = fed(office);
    loc.update(path(node1, {}, "10.244.1.0/26"));
    push();
    o.takeBatch();
    loc.withdraw(node1, { afi: 1, addr: "10.244.1.0", len: 26 });
    push();
    o.refresh(loc, true);
    expect(o.takeBatch().withdraw.map((n) => n.prefix.addr)).toEqual(["10.244.1.0"]);
  });

  it("initial dump after Established, and reset when the session drops", () => {
    const loc = new LocRib();
    loc.update(path(node1, {}, "10.244.1.0/26"));
    loc.flush();
    const o = out(office);
    o.refresh(loc, true);
    expect([...o.takeBatch().announce.values()].flat()).toHaveLength(1);
    o.reset();
    expect(o.prefixesAdvertised).toBe(0);
    o.refresh(loc, true);
    expect(o.prefixesAdvertised).toBe(1);
  });

  it("ADD-PATH send negotiated: NLRI carry path id 0", () => {
    const { loc, o, push } = fed(office, acceptAll, { addPathSend: new Set([Afi.IPV4]) });
    loc.update(path(node1, {}, "10.244.1.0/26"));
    push();
    expect([...o.takeBatch().announce.values()].flat()).toEqual([
      { prefix: { afi: 1, addr: "10.244.1.0", len: 26 }, pathId: 0 },
    ]);
  });
});

describe("reject-all export (the default toward every peer)", () => {
  it("does no work, advertises nothing, and starts advertising when a policy arrives", () => {
    const rejectAll = compilePolicy({ terms: [], default: "reject" }, {}, exportCtx);
    expect(rejectAll.rejectsAll).toBe(true);
    const loc = new LocRib();
    const o = out(office, rejectAll);
    loc.update(path(node1, {}));
    o.apply(loc.flush());
    expect(o.prefixesAdvertised).toBe(0);
    expect(o.takeBatch().announce.size).toBe(0);
    o.setExportPolicy(acceptAll, loc);
    expect(o.prefixesAdvertised).toBe(1);
    expect([...o.takeBatch().announce.values()].flat()).toHaveLength(1);
    // And back to reject-all: the prefix is withdrawn.
    o.setExportPolicy(rejectAll, loc);
    expect(o.prefixesAdvertised).toBe(0);
    expect(o.takeBatch().withdraw).toHaveLength(1);
  });
});
