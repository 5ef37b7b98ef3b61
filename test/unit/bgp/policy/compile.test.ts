import { describe, expect, it } from "vitest";
import { parseCommunity, parseLargeCommunity } from "../../../../src/bgp/policy/community.ts";
import { compilePolicy, type PolicyContext, resolvePolicy } from "../../../../src/bgp/policy/compile.ts";
import { compilePeerPolicies, effectivePolicies } from "../../../../src/bgp/policy/effective.ts";
import { checkMaxPrefix } from "../../../../src/bgp/rib/max-prefix.ts";
import { Afi, AsPathSegmentType, WellKnownCommunity } from "../../../../src/bgp/wire/constants.ts";
import type { PathAttributes, Prefix } from "../../../../src/bgp/wire/types.ts";
import type { PeerConfig, Policy } from "../../../../src/config/types.ts";

const ctx: PolicyContext = {
  direction: "export",
  localAsn: 64512,
  nextHopSelf: { ipv4: "192.0.2.100", ipv6: "2001:db8::100" },
};
const P4: Prefix = { afi: Afi.IPV4, addr: "10.244.1.0", len: 26 };
const P6: Prefix = { afi: Afi.IPV6, addr: "2001:db8:1::", len: 64 };
const base: PathAttributes = Object.freeze({
  origin: 0,
  asPath: [{ type: AsPathSegmentType.AS_SEQUENCE, asns: [65001] }],
  nextHop: "192.168.40.101",
});

function run(policy: Policy, attrs: PathAttributes = base, prefix: Prefix = P4, lists = {}) {
  return compilePolicy(policy, lists, ctx)({ prefix, attrs });
}
const one = (t: Policy["terms"][number], dflt: "accept" | "reject" = "reject"): Policy => ({
  terms: [t],
  default: dflt,
});

describe("communities", () => {
  it("parses ASN:VALUE and well-known names", () => {
    expect(parseCommunity("65000:1")).toBe(((65000 << 16) | 1) >>> 0);
    expect(parseCommunity("NO_EXPORT")).toBe(WellKnownCommunity.NO_EXPORT);
    expect(parseCommunity("no-advertise")).toBe(WellKnownCommunity.NO_ADVERTISE);
    expect(() => parseCommunity("65536:1")).toThrow();
    expect(() => parseCommunity("1:2:3")).toThrow();
    expect(parseLargeCommunity("4200000000:1:2")).toEqual([4200000000, 1, 2]);
    expect(() => parseLargeCommunity("1:2")).toThrow();
  });
});

describe("compilePolicy", () => {
  it("built-ins: accept-all returns the input object, reject-all rejects", () => {
    const acc = compilePolicy(resolvePolicy("accept-all", {}), {}, ctx)({ prefix: P4, attrs: base });
    expect(acc).toEqual({ accept: true, attrs: base });
    expect(acc.attrs).toBe(base);
    expect(compilePolicy(resolvePolicy("reject-all", {}), {}, ctx)({ prefix: P4, attrs: base }).accept).toBe(
      false,
    );
    expect(() => resolvePolicy("nope", {})).toThrow(/unknown policy/);
  });

  it("matches a named prefix list; unknown lists are refused at compile time", () => {
    const lists = { pods: [{ prefix: "10.244.0.0/16", ge: 26, le: 26, action: "permit" as const }] };
    const pol = one({ match: { prefixList: "pods" }, action: "accept" });
    expect(run(pol, base, P4, lists).accept).toBe(true);
    expect(run(pol, base, { afi: 1, addr: "10.244.0.0", len: 24 }, lists).accept).toBe(false);
    expect(() => compilePolicy(one({ match: { prefixList: "x" }, action: "accept" }), {}, ctx)).toThrow(
      /prefix list/,
    );
  });

  it("community match is any-of, by value or well-known name", () => {
    const pol = one({ match: { community: ["65000:1", "NO_EXPORT"] }, action: "accept" });
    expect(run(pol, { ...base, communities: [7, WellKnownCommunity.NO_EXPORT] }).accept).toBe(true);
    expect(run(pol, { ...base, communities: [parseCommunity("65000:1")] }).accept).toBe(true);
    expect(run(pol, { ...base, communities: [parseCommunity("65000:2")] }).accept).toBe(false);
    expect(run(pol, base).accept).toBe(false);
  });

  it("large community and family matches; all conditions of a term must hold", () => {
    const pol = one({ match: { largeCommunity: ["64512:1:2"], family: "ipv6" }, action: "accept" });
    const withLc = { ...base, largeCommunities: [[64512, 1, 2] as const] };
    expect(run(pol, withLc, P6).accept).toBe(true);
    expect(run(pol, withLc, P4).accept).toBe(false);
    expect(run(pol, base, P6).accept).toBe(false);
  });

  it("sets LOCAL_PREF, MED, communities (add/remove), large communities", () => {
    const r = run(
      one({
        set: {
          localPref: 250,
          med: 10,
          communitiesAdd: ["65000:9", "65000:1"],
          communitiesRemove: ["65000:1", "NO_EXPORT"],
          largeCommunitiesAdd: ["64512:0:1"],
        },
        action: "accept",
      }),
      { ...base, communities: [parseCommunity("65000:1"), WellKnownCommunity.NO_EXPORT, 5] },
    );
    expect(r.accept).toBe(true);
    expect(r.attrs.localPref).toBe(250);
    expect(r.attrs.med).toBe(10);
    // remove runs before add: 65000:1 removed then added back.
    expect(r.attrs.communities).toEqual([5, parseCommunity("65000:9"), parseCommunity("65000:1")]);
    expect(r.attrs.largeCommunities).toEqual([[64512, 0, 1]]);
    expect(base.localPref).toBeUndefined(); // input untouched
  });

  it("AS_PATH prepend: N times the local AS, or an explicit list", () => {
    const n = run(one({ set: { asPathPrepend: 2 }, action: "accept" }));
    expect(n.attrs.asPath).toEqual([{ type: AsPathSegmentType.AS_SEQUENCE, asns: [64512, 64512, 65001] }]);
    const l = run(one({ set: { asPathPrepend: [65100, 65101] }, action: "accept" }));
    expect(l.attrs.asPath).toEqual([{ type: AsPathSegmentType.AS_SEQUENCE, asns: [65100, 65101, 65001] }]);
  });

  it("next hop self (per family) and explicit next hop", () => {
    expect(run(one({ set: { nextHop: "self" }, action: "accept" })).attrs.nextHop).toBe("192.0.2.100");
    expect(run(one({ set: { nextHop: "self" }, action: "accept" }), base, P6).attrs.nextHop).toBe(
      "2001:db8::100",
    );
    expect(run(one({ set: { nextHop: "198.51.100.7" }, action: "accept" })).attrs.nextHop).toBe(
      "198.51.100.7",
    );
    expect(() => compilePolicy(one({ set: { nextHop: "bogus" }, action: "accept" }), {}, ctx)).toThrow();
  });

  it("'next' applies its set and continues; later terms see the modified attributes; default applies at the end", () => {
    const pol: Policy = {
      terms: [
        { set: { communitiesAdd: ["65000:5"] }, action: "next" },
        { match: { community: ["65000:5"] }, set: { localPref: 300 }, action: "next" },
        { match: { family: "ipv6" }, action: "reject" },
      ],
      default: "accept",
    };
    const r4 = run(pol);
    expect(r4.accept).toBe(true);
    expect(r4.attrs.localPref).toBe(300);
    expect(run(pol, base, P6).accept).toBe(false);
    expect(run({ ...pol, default: "reject" }).accept).toBe(false);
  });

  it("routes with the same input attributes share one output object", () => {
    const f = compilePolicy(one({ set: { localPref: 200 }, action: "accept" }), {}, ctx);
    const a = f({ prefix: P4, attrs: base });
    const b = f({ prefix: { afi: 1, addr: "10.244.1.64", len: 26 }, attrs: base });
    expect(a.attrs).toBe(b.attrs);
    expect(a.attrs).not.toBe(base);
    expect(Object.isFrozen(a.attrs)).toBe(true);
  });
});

function peerCfg(asn: number, extra: Partial<PeerConfig> = {}): PeerConfig {
  return {
    address: "192.0.2.1",
    asn,
    name: "p",
    role: "office",
    port: 179,
    passive: false,
    holdTime: 90,
    connectRetryTime: 5,
    ttlSecurity: false,
    families: ["ipv4"],
    addPath: "off",
    nextHopSelf: false,
    gracefulRestart: true,
    enabled: true,
    ...extra,
  };
}

describe("effectivePolicies (RFC 8212 and podgate's default deny)", () => {
  it("eBGP without policies: reject-all both ways", () => {
    expect(effectivePolicies(peerCfg(65010), 64512)).toEqual({ import: "reject-all", export: "reject-all" });
  });
  it("iBGP without policies: accept-all import, reject-all export", () => {
    expect(effectivePolicies(peerCfg(64512), 64512)).toEqual({ import: "accept-all", export: "reject-all" });
  });
  it("configured names win", () => {
    expect(effectivePolicies(peerCfg(65010, { import: "in", export: "out" }), 64512)).toEqual({
      import: "in",
      export: "out",
    });
  });
  it("compilePeerPolicies compiles what effectivePolicies names", () => {
    const config = {
      asn: 64512,
      prefixLists: {},
      policies: {
        out: { terms: [{ action: "accept" as const, set: { nextHop: "self" } }], default: "reject" as const },
      },
    };
    const pp = compilePeerPolicies(peerCfg(65010, { export: "out" }), config, { ipv4: "192.0.2.100" });
    expect(pp.importName).toBe("reject-all");
    expect(pp.import({ prefix: P4, attrs: base }).accept).toBe(false);
    expect(pp.export({ prefix: P4, attrs: base }).attrs.nextHop).toBe("192.0.2.100");
    // The same policy on import: "self" is a no-op there.
    const pi = compilePeerPolicies(peerCfg(65010, { import: "out" }), config, { ipv4: "192.0.2.100" });
    const r = pi.import({ prefix: P4, attrs: base });
    expect(r.accept).toBe(true);
    expect(r.attrs.nextHop).toBe("192.168.40.101");
  });
});

describe("role defaults (cluster, office, gateway)", () => {
  const scope = {
    cluster: { podCIDRs: ["10.244.0.0/16"], serviceCIDRs: ["10.96.0.0/12"] },
    office: { prefixes: ["10.10.0.0/24"], advertise: "aggregate" as const },
    returnPath: { mode: "advertise" as const },
  };
  const config = { asn: 64512, prefixLists: {}, policies: {}, ...scope };
  const pfx = (t: string) => {
    const [addr, len] = t.split("/");
    return { afi: 1 as const, addr: addr!, len: Number(len) };
  };
  const accepts = (
    f: (r: { prefix: ReturnType<typeof pfx>; attrs: typeof base }) => { accept: boolean },
    t: string,
  ) => f({ prefix: pfx(t), attrs: base }).accept;

  it("a cluster peer accepts only routes inside the pod and service CIDRs, /16../32", () => {
    const pp = compilePeerPolicies(peerCfg(64512, { role: "cluster" }), config);
    expect(pp.importName).toBe("role:cluster-routes");
    for (const ok of ["10.244.1.0/26", "10.244.1.7/32", "10.244.0.0/16", "10.96.0.0/12", "10.96.0.10/32"]) {
      expect(accepts(pp.import, ok), ok).toBe(true);
    }
    for (const bad of ["0.0.0.0/0", "10.0.0.0/8", "10.10.0.0/24", "192.168.1.0/24", "10.240.0.0/12"]) {
      expect(accepts(pp.import, bad), bad).toBe(false);
    }
    // Return path: office prefixes go to the cluster, nothing else.
    expect(pp.exportName).toBe("role:office-routes");
    expect(accepts(pp.export, "10.10.0.0/24")).toBe(true);
    expect(accepts(pp.export, "10.244.1.0/26")).toBe(false);
  });

  it("without returnPath advertise, nothing goes to the cluster", () => {
    const names = effectivePolicies(peerCfg(64512, { role: "cluster" }), 64512, {
      ...scope,
      returnPath: { mode: "snat" },
    });
    expect(names.export).toBe("reject-all");
  });

  it("an office peer sends the cluster aggregates only and accepts only office prefixes", () => {
    const pp = compilePeerPolicies(peerCfg(65010, { role: "office" }), config);
    expect([pp.importName, pp.exportName]).toEqual(["role:office-routes", "role:cluster-aggregates"]);
    expect(accepts(pp.export, "10.244.0.0/16")).toBe(true);
    expect(accepts(pp.export, "10.96.0.0/12")).toBe(true);
    expect(accepts(pp.export, "10.244.1.0/26")).toBe(false);
    expect(accepts(pp.import, "10.10.0.0/24")).toBe(true);
    expect(accepts(pp.import, "10.10.0.128/25")).toBe(true);
    expect(accepts(pp.import, "0.0.0.0/0")).toBe(false);
    expect(accepts(pp.import, "10.244.1.0/26")).toBe(false);
  });

  it("advertise: specifics sends the learned cluster routes instead", () => {
    const names = effectivePolicies(peerCfg(65010, { role: "office" }), 64512, {
      ...scope,
      office: { prefixes: [], advertise: "specifics" },
    });
    expect(names).toEqual({ import: "reject-all", export: "role:cluster-routes" });
  });

  it("configured policies still win over role defaults", () => {
    expect(
      effectivePolicies(peerCfg(64512, { role: "cluster", import: "x", export: "y" }), 64512, scope),
    ).toEqual({
      import: "x",
      export: "y",
    });
  });
});

describe("checkMaxPrefix", () => {
  const lim = (action: "warn" | "restart") => ({ maxPrefix: { limit: 100, action, restartAfter: 60 } });
  it("ok / warn near the limit / exceeded above it with restart", () => {
    expect(checkMaxPrefix({}, 1e9)).toBe("ok");
    expect(checkMaxPrefix(lim("restart"), 89)).toBe("ok");
    expect(checkMaxPrefix(lim("restart"), 90)).toBe("warn");
    expect(checkMaxPrefix(lim("restart"), 100)).toBe("warn");
    expect(checkMaxPrefix(lim("restart"), 101)).toBe("exceeded");
    expect(checkMaxPrefix(lim("warn"), 101)).toBe("warn");
  });
});
