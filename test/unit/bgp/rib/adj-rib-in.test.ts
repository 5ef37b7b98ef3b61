import { describe, expect, it } from "vitest";
import { compilePolicy } from "../../../../src/bgp/policy/compile.ts";
import { AdjRibIn } from "../../../../src/bgp/rib/adj-rib-in.ts";
import { LocRib } from "../../../../src/bgp/rib/loc-rib.ts";
import { Afi, Safi } from "../../../../src/bgp/wire/constants.ts";
import type { Policy } from "../../../../src/config/types.ts";
import { attrs, LOCAL_ASN, peer, seq, txt, v4, v6 } from "./helpers.ts";

const ctx = { direction: "import" as const, localAsn: LOCAL_ASN };
const acceptAll = compilePolicy({ terms: [], default: "accept" }, {}, ctx);
/** Accepts only inside 10.1.0.0/16 and sets LOCAL_PREF 250. */
const only10_1: Policy = {
  terms: [
    {
      match: { prefixes: [{ prefix: "10.1.0.0/16", le: 32, action: "permit" }] },
      set: { localPref: 250 },
      action: "accept",
    },
  ],
  default: "reject",
};

function setup(policy = acceptAll) {
  const loc = new LocRib();
  const p = peer(1);
  const adj = new AdjRibIn(p, loc, { importPolicy: policy, localAsn: LOCAL_ASN });
  return { loc, p, adj };
}

describe("AdjRibIn", () => {
  it("stores all prefixes of an UPDATE with one shared attribute object and feeds the Loc-RIB", () => {
    const { loc, adj } = setup();
    const a = attrs({ communities: [1] });
    adj.applyUpdate(
      {
        withdrawn: [],
        attributes: a,
        nlri: [{ prefix: v4("10.1.0.0/26") }, { prefix: v4("10.1.0.64/26") }],
      },
      1,
    );
    const ch = loc.flush();
    expect(ch).toHaveLength(2);
    expect(ch[0]!.best!.attrs).toBe(ch[1]!.best!.attrs);
    expect(ch[0]!.best!.attrs).toBe(a); // frozen, no MP attributes: used as is
    expect(adj.prefixesReceived).toBe(2);
    expect(adj.prefixesAccepted).toBe(2);
  });

  it("MP_REACH_NLRI: next hop moved into attrs.nextHop, MP attributes not stored", () => {
    const { loc, adj } = setup();
    adj.applyUpdate(
      {
        withdrawn: [],
        nlri: [],
        attributes: {
          origin: 0,
          asPath: [],
          mpReach: {
            afi: Afi.IPV6,
            safi: Safi.UNICAST,
            nextHop: "2001:db8::1",
            nlri: [{ prefix: v6("2001:db8:1::/64") }, { prefix: v6("2001:db8:2::/64") }],
          },
        },
      },
      1,
    );
    const ch = loc.flush();
    expect(ch.map((c) => c.best!.nextHop)).toEqual(["2001:db8::1", "2001:db8::1"]);
    expect(ch[0]!.best!.attrs.mpReach).toBeUndefined();
    expect(ch[0]!.best!.attrs).toBe(ch[1]!.best!.attrs);
    adj.applyUpdate(
      {
        withdrawn: [],
        nlri: [],
        attributes: {
          mpUnreach: { afi: Afi.IPV6, safi: Safi.UNICAST, withdrawn: [{ prefix: v6("2001:db8:1::/64") }] },
        },
      },
      2,
    );
    expect(loc.flush().map((c) => [txt(c), c.best])).toEqual([["2001:db8:1::/64", undefined]]);
    expect(adj.prefixesReceived).toBe(1);
  });

  it("import policy: rejected routes are counted as received only; accepted ones carry the policy's attributes", () => {
    const { loc, adj } = setup(compilePolicy(only10_1, {}, ctx));
    const a = attrs();
    adj.applyUpdate(
      { withdrawn: [], attributes: a, nlri: [{ prefix: v4("10.1.0.0/26") }, { prefix: v4("10.2.0.0/26") }] },
      1,
    );
    expect(adj.prefixesReceived).toBe(2);
    expect(adj.prefixesAccepted).toBe(1);
    const ch = loc.flush();
    expect(ch).toHaveLength(1);
    expect(ch[0]!.best!.attrs.localPref).toBe(250);
    expect(ch[0]!.best!.sourceAttrs).toBe(a);
  });

  it("AS_PATH containing our AS is never accepted (loop)", () => {
    const { loc, adj } = setup();
    adj.applyUpdate(
      {
        withdrawn: [],
        attributes: attrs({ asPath: [seq(65001, LOCAL_ASN)] }),
        nlri: [{ prefix: v4("10.1.0.0/26") }],
      },
      1,
    );
    expect(adj.prefixesAccepted).toBe(0);
    expect(adj.prefixesReceived).toBe(1);
    expect(loc.flush()).toEqual([]);
  });

  it("an accepted route re-announced with attributes the policy rejects is withdrawn", () => {
    const pol: Policy = {
      terms: [{ match: { community: ["NO_EXPORT"] }, action: "reject" }],
      default: "accept",
    };
    const { loc, adj } = setup(compilePolicy(pol, {}, ctx));
    const nlri = [{ prefix: v4("10.1.0.0/26") }];
    adj.applyUpdate({ withdrawn: [], attributes: attrs(), nlri }, 1);
    loc.flush();
    adj.applyUpdate({ withdrawn: [], attributes: attrs({ communities: [0xffffff01] }), nlri }, 2);
    expect(loc.flush()[0]!.best).toBeUndefined();
    expect([adj.prefixesReceived, adj.prefixesAccepted]).toEqual([1, 0]);
  });

  it("RFC 7606 treat-as-withdraw withdraws the carried prefixes", () => {
    const { loc, adj } = setup();
    const nlri = [{ prefix: v4("10.1.0.0/26") }];
    adj.applyUpdate({ withdrawn: [], attributes: attrs(), nlri }, 1);
    loc.flush();
    adj.applyUpdate({ withdrawn: [], attributes: attrs({ med: 5 }), nlri, treatAsWithdraw: true }, 2);
    expect(loc.flush()[0]!.best).toBeUndefined();
    expect(adj.prefixesReceived).toBe(0);
  });

  it("ADD-PATH: path ids from one peer are separate candidates", () => {
    const { loc, adj } = setup();
    adj.applyUpdate(
      {
        withdrawn: [],
        attributes: attrs(),
        nlri: [
          { prefix: v4("10.1.0.0/26"), pathId: 1 },
          { prefix: v4("10.1.0.0/26"), pathId: 2 },
        ],
      },
      1,
    );
    expect(adj.prefixesReceived).toBe(2);
    const ch = loc.flush();
    expect(ch).toHaveLength(1);
    expect(ch[0]!.multipath.map((p) => p.pathId)).toEqual([1, 2]);
    adj.withdraw({ prefix: v4("10.1.0.0/26"), pathId: 1 });
    expect(loc.flush()[0]!.best!.pathId).toBe(2);
  });

  it("graceful restart: markStale keeps routes silently, sweepStale drops the ones not re-announced", () => {
    const { loc, adj } = setup();
    const a = attrs();
    adj.applyUpdate(
      { withdrawn: [], attributes: a, nlri: [{ prefix: v4("10.1.0.0/26") }, { prefix: v4("10.1.0.64/26") }] },
      1,
    );
    loc.flush();
    adj.markStale();
    expect(loc.flush()).toEqual([]);
    adj.applyUpdate({ withdrawn: [], attributes: a, nlri: [{ prefix: v4("10.1.0.0/26") }] }, 2);
    expect(adj.sweepStale()).toBe(1);
    expect(loc.flush().map((c) => [txt(c), c.best])).toEqual([["10.1.0.64/26", undefined]]);
    expect(adj.prefixesAccepted).toBe(1);
  });

  it("clear() withdraws everything from the Loc-RIB", () => {
    const { loc, adj } = setup();
    adj.applyUpdate({ withdrawn: [], attributes: attrs(), nlri: [{ prefix: v4("10.1.0.0/26") }] }, 1);
    loc.flush();
    adj.clear();
    expect(loc.flush()[0]!.best).toBeUndefined();
    expect(adj.prefixesReceived).toBe(0);
  });

  it("reimport applies a new policy to the attributes as received (soft reconfiguration)", () => {
    const { loc, adj } = setup();
    adj.applyUpdate(
      {
        withdrawn: [],
        attributes: attrs(),
        nlri: [{ prefix: v4("10.1.0.0/26") }, { prefix: v4("10.2.0.0/26") }],
      },
      1,
    );
    loc.flush();
    adj.reimport(compilePolicy(only10_1, {}, ctx));
    const ch = loc.flush();
    expect(ch.map((c) => [txt(c), c.best?.attrs.localPref])).toEqual([
      ["10.1.0.0/26", 250],
      ["10.2.0.0/26", undefined],
    ]);
    adj.reimport(acceptAll);
    const back = loc.flush().map((c) => [txt(c), c.best !== undefined, c.best?.attrs.localPref]);
    expect(back.sort()).toEqual([
      ["10.1.0.0/26", true, undefined],
      ["10.2.0.0/26", true, undefined],
    ]);
    expect(adj.prefixesAccepted).toBe(2);
  });
});
