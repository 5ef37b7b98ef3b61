/**
 * Discovery → daemon: discovered nodes become cluster peers (configured ones win), empty
 * cluster CIDRs are filled, and API-derived static routes enter the Loc-RIB like learned ones
 * (ECMP for the service CIDR, the pod aggregate toward the office) while BGP wins where present.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Speaker } from "../../../src/bgp/speaker.ts";
import { parseConfig } from "../../../src/config/load.ts";
import { silentLogger } from "../../../src/core/log.ts";
import { effectiveConfig } from "../../../src/discovery/merge.ts";
import {
  type ClusterObjects,
  deriveClusterState,
  emptyObjects,
  staticRoutes,
} from "../../../src/discovery/model.ts";
import { blockAffinity, calicoNode, ipPool, serviceCIDR } from "../../fakes/k8s-api/seed.ts";

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
