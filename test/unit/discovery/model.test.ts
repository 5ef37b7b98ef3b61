/**
 * Pure model tests: deriveClusterState / desiredPeers / staticRoutes over objects shaped like a
 * real cluster serves them (the same builders the fake API server is seeded with), plus the
 * Calico selector subset and CIDR helpers.
 */
import { describe, expect, it } from "vitest";
import { canonicalCidr, compareCidrText, networkOf } from "../../../src/discovery/cidr.ts";
import {
  type ClusterObjects,
  deriveClusterState,
  desiredPeers,
  emptyObjects,
  guessServiceCIDR,
  type ServiceCidrSource,
  serviceRanges,
  staticRoutes,
} from "../../../src/discovery/model.ts";
import { parseSelector, SelectorError } from "../../../src/discovery/selector.ts";
import {
  bgpConfiguration,
  bgpPeer,
  blockAffinity,
  calicoNode,
  ciliumNode,
  flannelNode,
  ipPool,
  kubernetesService,
  node,
  serviceCIDR,
} from "../../fakes/k8s-api/seed.ts";

function objs(o: Partial<ClusterObjects>): ClusterObjects {
  return { ...emptyObjects(), ...o };
}

const calicoCluster = (extra: Partial<ClusterObjects> = {}) =>
  objs({
    nodes: [
      calicoNode("node1", "192.168.40.101", { labels: { "podgate.io/peer": "true", rack: "a" } }),
      calicoNode("node2", "192.168.40.102", { labels: { rack: "b" }, asn: 64600 }),
      calicoNode("node3", "192.168.40.103", { ready: false, labels: { "route-reflector": "true" } }),
    ],
    ipPools: [ipPool("default-ipv4-ippool", "172.16.0.0/16")],
    blockAffinities: [
      blockAffinity("node1", "172.16.32.128/26"),
      blockAffinity("node2", "172.16.58.192/26"),
      blockAffinity("node2", "172.16.58.0/26", "pending"),
      blockAffinity("node3", "172.16.1.0/26"),
    ],
    bgpConfigurations: [bgpConfiguration({ asNumber: 61234, nodeToNodeMeshEnabled: false })],
    services: [kubernetesService("10.96.0.1")],
    ...extra,
  });

describe("deriveClusterState: Calico", () => {
  it("reads AS, mesh, nodes, blocks, pools and per-node AS overrides", () => {
    const s = deriveClusterState(calicoCluster());
    expect(s.cni).toBe("calico");
    expect(s.asn).toBe(61234);
    expect(s.asnSource).toBe("bgpconfiguration");
    expect(s.meshEnabled).toBe(false);
    expect(s.nodes.map((n) => [n.name, n.routeIP, n.ready, n.asn, n.asnSource])).toEqual([
      ["node1", "192.168.40.101", true, 61234, "cluster"],
      ["node2", "192.168.40.102", true, 64600, "node-annotation"],
      ["node3", "192.168.40.103", false, 61234, "cluster"],
    ]);
    expect(s.nodes[1]!.blocks).toEqual([
      { cidr: "172.16.58.0/26", state: "pending" },
      { cidr: "172.16.58.192/26", state: "confirmed" },
    ]);
    expect(s.podCIDRs).toEqual(["172.16.0.0/16"]);
    expect(s.podCIDRsSource).toBe("ippools");
    expect(s.pools[0]).toMatchObject({
      blockSize: 26,
      ipipMode: "Always",
      natOutgoing: true,
      disabled: false,
    });
  });

  it("defaults: AS 64512 and mesh on without a BGPConfiguration; block size bounds from enabled pools", () => {
    const s = deriveClusterState(
      calicoCluster({
        bgpConfigurations: [],
        ipPools: [
          ipPool("a", "172.16.0.0/16", { blockSize: 24 }),
          ipPool("b", "172.17.0.0/16", { blockSize: 28 }),
          ipPool("off", "172.18.0.0/16", { blockSize: 30, disabled: true }),
          ipPool("v6", "fd00:10:244::/56", { blockSize: 120 }),
        ],
      }),
    );
    expect(s.asn).toBe(64512);
    expect(s.asnSource).toBe("default");
    expect(s.meshEnabled).toBe(true);
    expect(s.blockSize).toEqual({ v4: { min: 24, max: 28 }, v6: { min: 120, max: 120 } });
    expect(s.podCIDRs).toEqual(["172.16.0.0/16", "172.17.0.0/16", "fd00:10:244::/56"]);
  });

  it("block size defaults are 26 / 122 without pools", () => {
    expect(deriveClusterState(objs({})).blockSize).toEqual({
      v4: { min: 26, max: 26 },
      v6: { min: 122, max: 122 },
    });
  });

  it("service CIDRs: ServiceCIDR objects, else BGPConfiguration serviceClusterIPs, else a labelled guess", () => {
    const withApi = deriveClusterState(
      calicoCluster({
        serviceCIDRs: [serviceCIDR("kubernetes", ["10.96.0.0/12", "fd00:96::/108"])],
        bgpConfigurations: [bgpConfiguration({ serviceClusterIPs: [{ cidr: "10.99.0.0/16" }] })],
      }),
    );
    expect(withApi.serviceCIDRs).toEqual(["10.96.0.0/12", "fd00:96::/108"]);
    expect(withApi.serviceCIDRsSource).toBe("servicecidr");

    const fromBgp = deriveClusterState(
      calicoCluster({
        bgpConfigurations: [bgpConfiguration({ serviceClusterIPs: [{ cidr: "10.99.0.0/16" }] })],
      }),
    );
    expect(fromBgp.serviceCIDRs).toEqual(["10.99.0.0/16"]);
    expect(fromBgp.serviceCIDRsSource).toBe("bgpconfiguration");
    expect(fromBgp.warnings.join("\n")).not.toMatch(/GUESS/);

    const guessed = deriveClusterState(calicoCluster());
    expect(guessed.serviceCIDRs).toEqual(["10.96.0.0/12"]);
    expect(guessed.serviceCIDRsSource).toBe("kubernetes-service-guess");
    expect(guessed.warnings.join("\n")).toMatch(/GUESS.*10\.96\.0\.1/);
  });

  it.each<{ name: string; o: Partial<ClusterObjects>; cidrs: string[]; source: ServiceCidrSource }>([
    {
      name: "v1 only",
      o: { serviceCIDRs: [serviceCIDR("kubernetes", ["10.96.0.0/12"])] },
      cidrs: ["10.96.0.0/12"],
      source: "servicecidr",
    },
    {
      name: "v1beta1 only (1.31-1.32)",
      o: { serviceCIDRsV1beta1: [serviceCIDR("kubernetes", ["10.96.0.0/12"])] },
      cidrs: ["10.96.0.0/12"],
      source: "servicecidr",
    },
    {
      name: "both versions list the same objects: counted once",
      o: {
        serviceCIDRs: [serviceCIDR("kubernetes", ["10.96.0.0/12"]), serviceCIDR("more", ["10.97.0.0/16"])],
        serviceCIDRsV1beta1: [
          serviceCIDR("kubernetes", ["10.96.0.0/12"]),
          serviceCIDR("more", ["10.97.0.0/16"]),
        ],
      },
      cidrs: ["10.96.0.0/12", "10.97.0.0/16"],
      source: "servicecidr",
    },
    {
      name: "v1 has objects: v1beta1 is not read",
      o: {
        serviceCIDRs: [serviceCIDR("kubernetes", ["10.96.0.0/12"])],
        serviceCIDRsV1beta1: [serviceCIDR("other", ["10.99.0.0/16"])],
      },
      cidrs: ["10.96.0.0/12"],
      source: "servicecidr",
    },
    {
      name: "v1beta1 beats BGPConfiguration serviceClusterIPs",
      o: {
        serviceCIDRsV1beta1: [serviceCIDR("kubernetes", ["10.96.0.0/12", "fd00:96::/108"])],
        bgpConfigurations: [bgpConfiguration({ serviceClusterIPs: [{ cidr: "10.99.0.0/16" }] })],
      },
      cidrs: ["10.96.0.0/12", "fd00:96::/108"],
      source: "servicecidr",
    },
    {
      name: "neither version: the guess",
      o: {},
      cidrs: ["10.96.0.0/12"],
      source: "kubernetes-service-guess",
    },
  ])("service CIDR source: $name", ({ o, cidrs, source }) => {
    const s = deriveClusterState(calicoCluster(o));
    expect([s.serviceCIDRs, s.serviceCIDRsSource]).toEqual([cidrs, source]);
  });

  it.each<{ name: string; spec: Record<string, unknown>; name2?: string; want: unknown[]; warn?: RegExp }>([
    {
      name: "LoadBalancer and external ranges, sorted, with their field",
      spec: {
        serviceLoadBalancerIPs: [{ cidr: "192.168.50.0/24" }],
        serviceExternalIPs: [{ cidr: "172.30.5.0/24" }, { cidr: "fd00:50::/112" }],
      },
      want: [
        { cidr: "172.30.5.0/24", sources: ["serviceExternalIPs"] },
        { cidr: "192.168.50.0/24", sources: ["serviceLoadBalancerIPs"] },
        { cidr: "fd00:50::/112", sources: ["serviceExternalIPs"] },
      ],
    },
    {
      name: "a range in both fields is one entry naming both; host bits are cleared",
      spec: {
        serviceExternalIPs: [{ cidr: "192.168.50.7/24" }],
        serviceLoadBalancerIPs: [{ cidr: "192.168.50.0/24" }, { cidr: "192.168.50.0/24" }],
      },
      want: [{ cidr: "192.168.50.0/24", sources: ["serviceExternalIPs", "serviceLoadBalancerIPs"] }],
    },
    {
      name: "a bad entry is skipped with a warning",
      spec: { serviceLoadBalancerIPs: [{ cidr: "not-a-cidr" }, { cidr: "192.168.50.0/24" }] },
      want: [{ cidr: "192.168.50.0/24", sources: ["serviceLoadBalancerIPs"] }],
      warn: /serviceLoadBalancerIPs entry not-a-cidr is not a CIDR/,
    },
    {
      name: "only BGPConfiguration default counts (Calico ignores per-node ones for service IPs)",
      spec: { serviceLoadBalancerIPs: [{ cidr: "192.168.50.0/24" }] },
      name2: "node.node1",
      want: [],
    },
    { name: "none set", spec: { serviceClusterIPs: [{ cidr: "10.96.0.0/12" }] }, want: [] },
  ])("service external/LoadBalancer ranges: $name", ({ spec, name2, want, warn }) => {
    const cfg = bgpConfiguration(spec);
    if (name2) cfg.metadata.name = name2;
    const s = deriveClusterState(calicoCluster({ bgpConfigurations: [cfg] }));
    expect(s.serviceExternalCIDRs).toEqual(want);
    if (warn) expect(s.warnings.join("\n")).toMatch(warn);
    // Never mixed into the ClusterIP ranges.
    for (const e of s.serviceExternalCIDRs) expect(s.serviceCIDRs).not.toContain(e.cidr);
  });

  it("serviceRanges: ClusterIP ranges, then external ranges no ClusterIP range covers", () => {
    const s = deriveClusterState(
      calicoCluster({
        bgpConfigurations: [
          bgpConfiguration({
            serviceClusterIPs: [{ cidr: "10.96.0.0/12" }],
            serviceExternalIPs: [{ cidr: "10.100.0.0/16" }, { cidr: "10.96.0.0/12" }],
            serviceLoadBalancerIPs: [{ cidr: "192.168.50.0/24" }],
          }),
        ],
      }),
    );
    expect(serviceRanges(s)).toEqual(["10.96.0.0/12", "192.168.50.0/24"]);
  });

  it("guessServiceCIDR knows common defaults and says when it falls back", () => {
    expect(guessServiceCIDR("10.96.0.1")?.cidr).toBe("10.96.0.0/12");
    expect(guessServiceCIDR("10.43.0.1")?.cidr).toBe("10.43.0.0/16");
    expect(guessServiceCIDR("172.30.0.1")).toEqual({
      cidr: "172.30.0.0/16",
      why: expect.stringMatching(/no known default/),
    });
  });

  it("deleted='true' affinities and affinities of unknown nodes are ignored (the latter with a warning)", () => {
    const s = deriveClusterState(
      calicoCluster({
        blockAffinities: [
          blockAffinity("node1", "172.16.32.128/26", "confirmed", "true"),
          blockAffinity("ghost", "172.16.9.0/26"),
        ],
      }),
    );
    expect(s.nodes[0]!.blocks).toEqual([]);
    expect(s.warnings).toContain("BlockAffinity for unknown node ghost ignored");
  });

  it("lists existing BGPPeers without exposing secrets", () => {
    const s = deriveClusterState(
      calicoCluster({
        bgpPeers: [
          bgpPeer("podgate", {
            peerIP: "192.168.40.1",
            asNumber: 64512,
            password: { secretKeyRef: { name: "bgp", key: "pw" } },
          }),
          bgpPeer("rack-a", { peerIP: "10.0.0.1", asNumber: 65001, nodeSelector: "rack == 'a'" }),
        ],
      }),
    );
    expect(s.bgpPeers).toEqual([
      {
        name: "podgate",
        peerIP: "192.168.40.1",
        asNumber: 64512,
        node: undefined,
        nodeSelector: undefined,
        peerSelector: undefined,
        hasPassword: true,
      },
      {
        name: "rack-a",
        peerIP: "10.0.0.1",
        asNumber: 65001,
        node: undefined,
        nodeSelector: "rack == 'a'",
        peerSelector: undefined,
        hasPassword: false,
      },
    ]);
  });
});

describe("deriveClusterState: other CNIs", () => {
  it("Flannel: node podCIDRs, no peers, static routes per Ready node", () => {
    const s = deriveClusterState(
      objs({
        nodes: [
          flannelNode("f1", "10.0.0.11", "10.244.0.0/24"),
          flannelNode("f2", "10.0.0.12", "10.244.1.0/24"),
          flannelNode("f3", "10.0.0.13", "10.244.2.0/24", { ready: false }),
        ],
        services: [kubernetesService("10.96.0.1")],
      }),
    );
    expect(s.cni).toBe("flannel");
    expect(s.podCIDRs).toEqual(["10.244.0.0/24", "10.244.1.0/24", "10.244.2.0/24"]);
    expect(s.podCIDRsSource).toBe("node-podcidrs");
    expect(desiredPeers(s)).toEqual([]);
    expect(staticRoutes(s)).toEqual([
      { prefix: "10.96.0.0/12", nextHops: ["10.0.0.11", "10.0.0.12"], kind: "service-cidr", node: undefined },
      { prefix: "10.244.0.0/24", nextHops: ["10.0.0.11"], kind: "pod-cidr", node: "f1" },
      { prefix: "10.244.1.0/24", nextHops: ["10.0.0.12"], kind: "pod-cidr", node: "f2" },
    ]);
  });

  it("Canal (Calico policy + Flannel routing) counts as Flannel", () => {
    const n = flannelNode("f1", "10.0.0.11", "10.244.0.0/24", {
      annotations: { "projectcalico.org/IPv4Address": "10.0.0.11/24" },
    });
    expect(deriveClusterState(objs({ nodes: [n], ipPools: [ipPool("p", "10.244.0.0/16")] })).cni).toBe(
      "flannel",
    );
  });

  it("Cilium cluster-pool: pod CIDR from the annotation when spec.podCIDR is empty", () => {
    const s = deriveClusterState(
      objs({
        nodes: [ciliumNode("c1", "10.1.0.11", "10.0.0.0/24"), ciliumNode("c2", "10.1.0.12", "10.0.1.0/24")],
        serviceCIDRs: [serviceCIDR("kubernetes", ["10.43.0.0/16"])],
      }),
    );
    expect(s.cni).toBe("cilium");
    expect(s.nodes.map((n) => n.podCIDRs)).toEqual([["10.0.0.0/24"], ["10.0.1.0/24"]]);
    expect(staticRoutes(s).map((r) => `${r.prefix}>${r.nextHops.join(",")}`)).toEqual([
      "10.0.0.0/24>10.1.0.11",
      "10.0.1.0/24>10.1.0.12",
      "10.43.0.0/16>10.1.0.11,10.1.0.12",
    ]);
  });

  it("kube-router: BGP-capable, per-node AS from its annotation", () => {
    const n = node({
      name: "k1",
      ip: "10.2.0.11",
      podCIDRs: ["10.42.0.0/24"],
      annotations: { "kube-router.io/node.asn": "65100", "kube-router.io/pod-cidr": "10.42.0.0/24" },
    });
    const s = deriveClusterState(objs({ nodes: [n] }));
    expect(s.cni).toBe("kube-router");
    expect(desiredPeers(s)).toEqual([
      { name: "k1", address: "10.2.0.11", asn: 65100, node: "k1", ready: true },
    ]);
  });

  it("unknown CNI: warns, still routes node podCIDRs", () => {
    const s = deriveClusterState(
      objs({ nodes: [node({ name: "x", ip: "10.3.0.1", podCIDRs: ["10.50.0.0/24"] })] }),
    );
    expect(s.cni).toBe("unknown");
    expect(s.warnings.some((w) => w.includes("CNI not recognised"))).toBe(true);
    expect(staticRoutes(s).map((r) => r.prefix)).toEqual(["10.50.0.0/24"]);
  });

  it("dual-stack nodes route IPv6 pod CIDRs to the IPv6 InternalIP", () => {
    const n = node({ name: "d1", ip: "10.4.0.1", podCIDRs: ["10.60.0.0/24", "fd00:60::/64"] });
    n["status"].addresses.push({ type: "InternalIP", address: "fd00:4::1" });
    const s = deriveClusterState(objs({ nodes: [n] }));
    expect(staticRoutes(s).map((r) => [r.prefix, r.nextHops[0]])).toEqual([
      ["10.60.0.0/24", "10.4.0.1"],
      ["fd00:60::/64", "fd00:4::1"],
    ]);
  });
});

describe("desiredPeers", () => {
  const s = deriveClusterState(calicoCluster());

  it("every node with an address, whatever its Ready condition, with per-node AS", () => {
    expect(desiredPeers(s)).toEqual([
      { name: "node1", address: "192.168.40.101", asn: 61234, node: "node1", ready: true },
      { name: "node2", address: "192.168.40.102", asn: 64600, node: "node2", ready: true },
      { name: "node3", address: "192.168.40.103", asn: 61234, node: "node3", ready: false },
    ]);
  });

  it("nodeSelector narrows the set", () => {
    expect(desiredPeers(s, { nodeSelector: "podgate.io/peer == 'true'" }).map((p) => p.name)).toEqual([
      "node1",
    ]);
    expect(desiredPeers(s, { nodeSelector: "rack in {'a','b'}" }).map((p) => p.name)).toEqual([
      "node1",
      "node2",
    ]);
  });

  it("route reflectors by selector or by explicit addresses", () => {
    expect(desiredPeers(s, { routeReflectors: "has(route-reflector)" }).map((p) => p.name)).toEqual([
      "node3",
    ]);
    expect(desiredPeers(s, { routeReflectors: ["10.9.0.2", "10.9.0.1", "junk"] })).toEqual([
      { name: "rr-10.9.0.1", address: "10.9.0.1", asn: 61234, node: undefined, ready: true },
      { name: "rr-10.9.0.2", address: "10.9.0.2", asn: 61234, node: undefined, ready: true },
    ]);
  });

  it("a bad selector is an error, not an empty match", () => {
    expect(() => desiredPeers(s, { nodeSelector: "rack = 'a'" })).toThrow(SelectorError);
  });
});

describe("staticRoutes: Calico", () => {
  it("confirmed blocks of Ready nodes → node address; services ECMP over Ready nodes", () => {
    const s = deriveClusterState(calicoCluster());
    expect(staticRoutes(s)).toEqual([
      {
        prefix: "10.96.0.0/12",
        nextHops: ["192.168.40.101", "192.168.40.102"],
        kind: "service-cidr",
        node: undefined,
      },
      { prefix: "172.16.32.128/26", nextHops: ["192.168.40.101"], kind: "calico-block", node: "node1" },
      { prefix: "172.16.58.192/26", nextHops: ["192.168.40.102"], kind: "calico-block", node: "node2" },
    ]);
  });

  it("service external / LoadBalancer ranges → ECMP over Ready nodes, kind service-external", () => {
    const s = deriveClusterState(
      calicoCluster({
        bgpConfigurations: [
          bgpConfiguration({
            serviceClusterIPs: [{ cidr: "10.96.0.0/12" }],
            serviceLoadBalancerIPs: [{ cidr: "192.168.50.0/24" }],
          }),
        ],
      }),
    );
    expect(staticRoutes(s).filter((r) => r.kind.startsWith("service"))).toEqual([
      {
        prefix: "10.96.0.0/12",
        nextHops: ["192.168.40.101", "192.168.40.102"],
        kind: "service-cidr",
        node: undefined,
      },
      {
        prefix: "192.168.50.0/24",
        nextHops: ["192.168.40.101", "192.168.40.102"],
        kind: "service-external",
        node: undefined,
      },
    ]);
  });

  it("a block claimed by two nodes (mid-move) goes to one of them, deterministically", () => {
    const s = deriveClusterState(
      calicoCluster({
        blockAffinities: [
          blockAffinity("node2", "172.16.32.128/26"),
          blockAffinity("node1", "172.16.32.128/26"),
        ],
      }),
    );
    expect(staticRoutes(s).filter((r) => r.prefix === "172.16.32.128/26")).toEqual([
      { prefix: "172.16.32.128/26", nextHops: ["192.168.40.101"], kind: "calico-block", node: "node1" },
    ]);
  });

  it("uses Calico's IPv4Address annotation as next hop when it differs from InternalIP", () => {
    const n = calicoNode("m", "10.10.0.5", {
      annotations: { "projectcalico.org/IPv4Address": "192.168.77.5/24" },
    });
    const s = deriveClusterState(
      objs({ nodes: [n], blockAffinities: [blockAffinity("m", "172.16.5.0/26")] }),
    );
    expect(staticRoutes(s)[0]!.nextHops).toEqual(["192.168.77.5"]);
    expect(desiredPeers(s)[0]!.address).toBe("192.168.77.5");
  });
});

describe("selector", () => {
  const labels = { app: "x", "podgate.io/peer": "true", tier: "gw" };
  it.each([
    ["all()", true],
    ["", true],
    ["has(app)", true],
    ["!has(app)", false],
    ["app == 'x'", true],
    ['app == "y"', false],
    ["app != 'y'", true],
    ["missing != 'y'", true],
    ["tier in {'gw', 'rr'}", true],
    ["tier not in {'gw'}", false],
    ["missing not in {'gw'}", true],
    ["has(app) && podgate.io/peer == 'true'", true],
    ["app == 'y' || tier == 'gw'", true],
    ["!(app == 'x' && tier == 'gw')", false],
  ])("%s → %s", (src, want) => {
    expect(parseSelector(src)(labels)).toBe(want);
  });
  it.each(["app = 'x'", "has(app", "app == x", "'a'", "app == 'x' &&"])("rejects %s", (src) => {
    expect(() => parseSelector(src)).toThrow(SelectorError);
  });
});

describe("cidr helpers", () => {
  it("canonicalises and orders", () => {
    expect(canonicalCidr("10.244.1.7/16")).toBe("10.244.0.0/16");
    expect(canonicalCidr("FD00:0:0::1/64")).toBe("fd00::/64");
    expect(canonicalCidr("10.1.2.3/33")).toBeUndefined();
    expect(networkOf("10.96.0.1", 12)).toBe("10.96.0.0/12");
    expect(["10.2.0.0/16", "10.10.0.0/16", "fd00::/8", "10.2.0.0/15"].sort(compareCidrText)).toEqual([
      "10.2.0.0/15",
      "10.2.0.0/16",
      "10.10.0.0/16",
      "fd00::/8",
    ]);
  });
});
