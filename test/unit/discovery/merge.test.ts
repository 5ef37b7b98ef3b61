/**
 * Discovery → daemon: discovered nodes become cluster peers (configured ones win), empty
 * cluster CIDRs are filled (service CIDRs with Calico's external / LoadBalancer ranges too, and
 * then the role defaults accept and aggregate them), an explicit config wins with a warning, and
 * API-derived static routes enter the Loc-RIB like learned ones (ECMP for the service ranges,
 * the aggregates toward the office) while BGP wins where present.
 */
import { afterEach, describe, expect, it } from "vitest";
import { compilePeerPolicies } from "../../../src/bgp/policy/effective.ts";
import { Speaker } from "../../../src/bgp/speaker.ts";
import { Origin, parsePrefix } from "../../../src/bgp/wire/index.ts";
import { parseConfig } from "../../../src/config/load.ts";
import type { PodgateConfig } from "../../../src/config/types.ts";
import { silentLogger } from "../../../src/core/log.ts";
import {
  clusterStaticRoutes,
  effectiveConfig,
  mergeWarnings,
  warnOnce,
} from "../../../src/discovery/merge.ts";
import {
  type ClusterObjects,
  deriveClusterState,
  emptyObjects,
  staticRoutes,
} from "../../../src/discovery/model.ts";
import {
  bgpConfiguration,
  blockAffinity,
  calicoNode,
  ipPool,
  serviceCIDR,
} from "../../fakes/k8s-api/seed.ts";

const objects: ClusterObjects = {
  ...emptyObjects(),
  nodes: [
    calicoNode("node1", "192.168.40.101"),
    calicoNode("node2", "192.168.40.102"),
    calicoNode("node3", "192.168.40.103", { ready: false }),
  ],
  ipPools: [ipPool("default-ipv4-ippool", "10.244.0.0/16")],
  blockAffinities: [
    blockAffinity("node1", "10.244.1.0/26"),
    blockAffinity("node2", "10.244.2.0/26"),
    blockAffinity("node3", "10.244.3.0/26"),
    blockAffinity("node2", "10.244.9.0/26", "pending"),
  ],
  serviceCIDRs: [serviceCIDR("kubernetes", ["10.96.0.0/12"])],
};

// No listening socket, and the only BGP peer is passive on a documentation address: the test
// touches no network.
const base = parseConfig(
  [
    "routerId: 192.168.40.10",
    "asn: 64512",
    "listen: { enabled: false }",
    "kubernetes: { enabled: true }",
    "office: { prefixes: [10.10.0.0/24] }",
    "peers:",
    "  - { address: 192.168.40.101, asn: 64512, name: node1-fixed, holdTime: 30, passive: true }",
    "  - { address: 192.0.2.1, asn: 65010, passive: true }",
  ].join("\n"),
  "merge.yaml",
);

const speakers: Speaker[] = [];
afterEach(async () => {
  await Promise.all(speakers.splice(0).map((s) => s.stop()));
});

describe("effectiveConfig", () => {
  it("adds discovered nodes as cluster peers, keeps configured peers, fills cluster CIDRs", () => {
    const state = deriveClusterState(objects);
    const eff = effectiveConfig(base, state);
    expect(eff.peers.map((p) => [p.address, p.name, p.role])).toEqual([
      ["192.168.40.101", "node1-fixed", "cluster"],
      ["192.0.2.1", "192.0.2.1", "office"],
      ["192.168.40.102", "node2", "cluster"],
      ["192.168.40.103", "node3", "cluster"],
    ]);
    expect(eff.peers[0]!.holdTime).toBe(30);
    expect(eff.cluster).toEqual({ podCIDRs: ["10.244.0.0/16"], serviceCIDRs: ["10.96.0.0/12"] });
    const off = { ...base, kubernetes: { ...base.kubernetes, enabled: false } };
    expect(effectiveConfig(off, state)).toBe(off);
  });
});

describe("static routes from the API in the speaker", () => {
  it("installs blocks of Ready nodes, the service CIDR by ECMP, and counts them for the aggregate", async () => {
    const state = deriveClusterState(objects);
    const eff = effectiveConfig(base, state);
    // Only the configured passive peers: discovered ones would dial real node addresses.
    const s = new Speaker({ config: { ...eff, peers: base.peers }, log: silentLogger });
    speakers.push(s);
    await s.start();
    s.setStaticRoutes(staticRoutes(state));
    await new Promise((r) => setTimeout(r, 20));
    const routes = s.routes().routes;
    const best = routes.filter((r) => r.best).map((r) => [r.prefix, r.nextHop, r.source]);
    expect(best).toEqual([
      // The API's service route beats the aggregate of the same prefix (LOCAL_PREF 50 > 1).
      ["10.96.0.0/12", expect.any(String), "kubernetes"],
      ["10.244.0.0/16", "self", "local"],
      ["10.244.1.0/26", "192.168.40.101", "kubernetes"],
      ["10.244.2.0/26", "192.168.40.102", "kubernetes"],
    ]);
    // node3 is not Ready: no route via it; the pending affinity is ignored.
    expect(routes.some((r) => r.nextHop === "192.168.40.103")).toBe(false);
    // ECMP candidates for the service CIDR via both Ready nodes.
    expect(
      routes
        .filter((r) => r.prefix === "10.96.0.0/12")
        .map((r) => r.nextHop)
        .sort(),
    ).toEqual(["192.168.40.101", "192.168.40.102", "self"]);
    expect(s.activeAggregates()).toEqual(["10.244.0.0/16", "10.96.0.0/12"]);

    // A block moves from node2 to node1: one change, the aggregate stays.
    const moved = deriveClusterState({
      ...objects,
      blockAffinities: [blockAffinity("node1", "10.244.1.0/26"), blockAffinity("node1", "10.244.2.0/26")],
    });
    s.setStaticRoutes(staticRoutes(moved));
    await new Promise((r) => setTimeout(r, 20));
    expect(s.routes({ prefix: "10.244.2.0/26" }).routes).toEqual([
      expect.objectContaining({ nextHop: "192.168.40.101", best: true }),
    ]);
    s.setStaticRoutes([]);
    await new Promise((r) => setTimeout(r, 20));
    expect(s.routes().routes).toEqual([]);
    expect(s.activeAggregates()).toEqual([]);
  });
});

// ------------------------------------------------------------------ service external / LB ranges

const LB = "192.168.50.0/24";
const EXT = "203.0.113.0/24";

/** The cluster above, plus Calico advertising a LoadBalancer and an external-IP range. */
const withExternal: ClusterObjects = {
  ...objects,
  bgpConfigurations: [
    bgpConfiguration({
      serviceClusterIPs: [{ cidr: "10.96.0.0/12" }],
      serviceLoadBalancerIPs: [{ cidr: LB }],
      serviceExternalIPs: [{ cidr: EXT }],
    }),
  ],
};

function withServiceCIDRs(cidrs: string[], podCIDRs: string[] = []): PodgateConfig {
  return { ...base, cluster: { podCIDRs, serviceCIDRs: cidrs } };
}

describe("effectiveConfig: service external / LoadBalancer ranges", () => {
  const state = deriveClusterState(withExternal);
  it.each<{ name: string; cfg: PodgateConfig; services: string[]; warn: RegExp | undefined }>([
    {
      name: "empty cluster.serviceCIDRs: ClusterIP range, then the external/LB ranges",
      cfg: base,
      services: ["10.96.0.0/12", LB, EXT],
      warn: undefined,
    },
    {
      name: "explicit cluster.serviceCIDRs wins, and the ranges it leaves out are named",
      cfg: withServiceCIDRs(["10.96.0.0/12"]),
      services: ["10.96.0.0/12"],
      warn: /does not list: 192\.168\.50\.0\/24 \(BGPConfiguration default serviceLoadBalancerIPs\), 203\.0\.113\.0\/24 \(BGPConfiguration default serviceExternalIPs\);/,
    },
    {
      name: "explicit list naming one of them: only the other is named",
      cfg: withServiceCIDRs(["10.96.0.0/12", LB]),
      services: ["10.96.0.0/12", LB],
      warn: /does not list: 203\.0\.113\.0\/24 \(BGPConfiguration default serviceExternalIPs\);/,
    },
    {
      name: "explicit list covering both with wider prefixes: no warning",
      cfg: withServiceCIDRs(["10.96.0.0/12", "192.168.0.0/16", "203.0.113.0/24"]),
      services: ["10.96.0.0/12", "192.168.0.0/16", "203.0.113.0/24"],
      warn: undefined,
    },
    {
      name: "kubernetes disabled: the config as is, no warning",
      cfg: { ...withServiceCIDRs(["10.96.0.0/12"]), kubernetes: { ...base.kubernetes, enabled: false } },
      services: ["10.96.0.0/12"],
      warn: undefined,
    },
  ])("$name", ({ cfg, services, warn }) => {
    expect(effectiveConfig(cfg, state).cluster.serviceCIDRs).toEqual(services);
    const w = mergeWarnings(cfg, state);
    if (warn) {
      expect(w).toHaveLength(1);
      expect(w[0]).toMatch(warn);
      expect(w[0]).toMatch(/cluster\.serviceCIDRs/);
    } else {
      expect(w).toEqual([]);
    }
  });

  it("no warning without external ranges, and none without a cluster state", () => {
    const plain = deriveClusterState(objects);
    expect(mergeWarnings(withServiceCIDRs(["10.96.0.0/12"]), plain)).toEqual([]);
    expect(mergeWarnings(withServiceCIDRs(["10.96.0.0/12"]), undefined)).toEqual([]);
  });

  it("the role defaults then accept them from cluster peers and advertise their aggregates to the office", () => {
    const route = (p: string) => ({ prefix: parsePrefix(p), attrs: { origin: Origin.IGP, asPath: [] } });
    const policiesFor = (cfg: PodgateConfig) => {
      const eff = effectiveConfig(cfg, state);
      const node = eff.peers.find((p) => p.role === "cluster")!;
      const office = eff.peers.find((p) => p.role === "office")!;
      return { cluster: compilePeerPolicies(node, eff), office: compilePeerPolicies(office, eff) };
    };
    const filled = policiesFor(base);
    // A /32 Calico advertises for a LoadBalancer IP (externalTrafficPolicy Local) and the range.
    expect(filled.cluster.import(route("192.168.50.10/32")).accept).toBe(true);
    expect(filled.cluster.import(route(EXT)).accept).toBe(true);
    expect(filled.cluster.import(route("198.51.100.0/24")).accept).toBe(false);
    // Toward the office: the aggregates exactly (office.advertise: aggregate by default).
    expect(filled.office.export(route(LB)).accept).toBe(true);
    expect(filled.office.export(route("192.168.50.10/32")).accept).toBe(false);
    // An explicit config without them: rejected from the nodes, not advertised.
    const explicit = policiesFor(withServiceCIDRs(["10.96.0.0/12"], ["10.244.0.0/16"]));
    expect(explicit.cluster.import(route("192.168.50.10/32")).accept).toBe(false);
    expect(explicit.office.export(route(LB)).accept).toBe(false);
  });

  it("clusterStaticRoutes leaves out the external ranges an explicit config does not list", () => {
    const prefixes = (cfg: PodgateConfig) => clusterStaticRoutes(cfg, state).map((r) => r.prefix);
    expect(prefixes(base)).toEqual(staticRoutes(state).map((r) => r.prefix));
    expect(prefixes(base)).toEqual(expect.arrayContaining([LB, EXT]));
    expect(prefixes(withServiceCIDRs(["10.96.0.0/12"]))).not.toEqual(expect.arrayContaining([LB]));
    expect(prefixes(withServiceCIDRs(["10.96.0.0/12"]))).toEqual(
      staticRoutes(state)
        .filter((r) => r.kind !== "service-external")
        .map((r) => r.prefix),
    );
    expect(prefixes(withServiceCIDRs(["10.96.0.0/12", "192.168.0.0/16"]))).toContain(LB);
  });

  it("warnOnce: a message once while it lasts, again after it went away", () => {
    const seen: string[] = [];
    const warn = warnOnce((m) => seen.push(m));
    warn(["a"]);
    warn(["a"]);
    warn(["a", "b"]);
    warn([]);
    warn(["a"]);
    expect(seen).toEqual(["a", "b", "a"]);
  });

  it("in the speaker: the LB range is routed by ECMP over the Ready nodes and aggregated toward the office", async () => {
    const eff = effectiveConfig(base, state);
    const s = new Speaker({ config: { ...eff, peers: base.peers }, log: silentLogger });
    speakers.push(s);
    await s.start();
    s.setStaticRoutes(staticRoutes(state));
    await new Promise((r) => setTimeout(r, 20));
    const lb = s.routes({ prefix: LB }).routes;
    expect(
      lb
        .filter((r) => r.source === "kubernetes")
        .map((r) => r.nextHop)
        .sort(),
    ).toEqual(["192.168.40.101", "192.168.40.102"]);
    expect(lb.find((r) => r.best)?.source).toBe("kubernetes");
    expect(s.activeAggregates()).toEqual(expect.arrayContaining([LB, EXT, "10.96.0.0/12"]));
  });
});
