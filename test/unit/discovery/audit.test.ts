/**
 * Route audit tests: cluster states built from the same object builders the fake API server is
 * seeded with, against hand-made Loc-RIB paths (RouteJson) and session states (PeerStatus).
 * Each finding must appear exactly when its condition holds, with its stable code; plus the
 * eBGP next-hop-self hairpin, the text renderer and `podgate audit` against a real HTTP socket.
 */
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PeerStatus, RouteJson } from "../../../src/api/types.ts";
import { type AuditFinding, audit, auditJson, formatAudit } from "../../../src/discovery/audit.ts";
import { runAudit } from "../../../src/discovery/cli.ts";
import { type ClusterObjects, deriveClusterState, emptyObjects } from "../../../src/discovery/model.ts";
import {
  bgpConfiguration,
  bgpPeer,
  blockAffinity,
  calicoNode,
  flannelNode,
  ipPool,
  kubernetesService,
} from "../../fakes/k8s-api/seed.ts";

const N1 = "192.168.40.101";
const N2 = "192.168.40.102";
const N3 = "192.168.40.103";
const B1 = "172.16.32.128/26";
const B2 = "172.16.58.192/26";
const B3 = "172.16.1.0/26";

function cluster(extra: Partial<ClusterObjects> = {}, opts: { n3Ready?: boolean } = {}): ClusterObjects {
  return {
    ...emptyObjects(),
    nodes: [
      calicoNode("node1", N1),
      calicoNode("node2", N2),
      calicoNode("node3", N3, { ready: opts.n3Ready ?? true }),
    ],
    ipPools: [ipPool("default-ipv4-ippool", "172.16.0.0/16")],
    blockAffinities: [blockAffinity("node1", B1), blockAffinity("node2", B2), blockAffinity("node3", B3)],
    bgpConfigurations: [bgpConfiguration({ asNumber: 64512, serviceClusterIPs: [{ cidr: "10.96.0.0/12" }] })],
    services: [kubernetesService()],
    ...extra,
  };
}

function route(prefix: string, peer: string, nextHop = peer, extra: Partial<RouteJson> = {}): RouteJson {
  return {
    prefix,
    nextHop,
    peer,
    best: true,
    source: "bgp",
    family: "ipv4",
    asPath: "",
    origin: "igp",
    age: 10,
    ...extra,
  };
}

function peer(address: string, extra: Partial<PeerStatus> = {}): PeerStatus {
  return {
    address,
    asn: 64512,
    name: address,
    role: "cluster",
    state: "Established",
    since: "2025-01-01T00:00:00Z",
    info: "Established",
    prefixesReceived: 1,
    prefixesAccepted: 1,
    prefixesAdvertised: 0,
    updatesReceived: 1,
    updatesSent: 1,
    ...extra,
  };
}

const allUp = () => [peer(N1), peer(N2), peer(N3)];
const healthyRoutes = () => [route(B1, N1), route(B2, N2), route(B3, N3)];
const codes = (fs: readonly AuditFinding[]) => fs.map((f) => `${f.severity}:${f.code}`);

describe("audit: a healthy iBGP cluster", () => {
  it("has no findings when every confirmed block arrives from its node", () => {
    expect(audit(deriveClusterState(cluster()), healthyRoutes(), allUp())).toEqual([]);
  });

  it("ignores office peers, borrowed /32s, service routes and static (kubernetes) routes", () => {
    const routes = [
      ...healthyRoutes(),
      route("172.16.58.203/32", N1), // an IP node1 borrowed from node2's block
      route("10.96.0.0/12", N2),
      route("10.96.0.10/32", N3),
      route("10.20.0.0/16", "192.168.40.1"), // the office router's prefix
      route(B1, "kubernetes", N1, { source: "kubernetes", best: false }),
    ];
    const peers = [...allUp(), peer("192.168.40.1", { role: "office", asn: 65000 })];
    expect(audit(deriveClusterState(cluster()), routes, peers)).toEqual([]);
  });
});

describe("audit: one finding per condition", () => {
  const cases: {
    name: string;
    objs?: Partial<ClusterObjects>;
    n3Ready?: boolean;
    routes: RouteJson[];
    peers: PeerStatus[];
    want: string[];
    check?: (f: AuditFinding[]) => void;
  }[] = [
    {
      name: "missing-block: node2 is Established but its block is absent",
      routes: [route(B1, N1), route(B3, N3)],
      peers: allUp(),
      want: ["error:missing-block"],
      check: (f) => {
        expect(f[0]).toMatchObject({
          object: "BlockAffinity node2-172-16-58-192-26",
          prefix: B2,
          node: "node2",
          peer: N2,
        });
      },
    },
    {
      name: "missing-block is only a warning while a static route covers it",
      routes: [route(B1, N1), route(B3, N3), route(B2, "kubernetes", N2, { source: "kubernetes" })],
      peers: allUp(),
      want: ["warning:missing-block"],
    },
    {
      name: "missing-block blames podgate's import policy when the peer's prefixes were rejected",
      routes: [route(B1, N1), route(B3, N3)],
      peers: [peer(N1), peer(N2, { prefixesReceived: 1, prefixesAccepted: 0 }), peer(N3)],
      want: ["error:missing-block"],
      check: (f) => expect(f[0]!.fix).toContain("cluster.podCIDRs"),
    },
    {
      name: "no missing-block for a NotReady node",
      n3Ready: false,
      routes: [route(B1, N1), route(B2, N2)],
      peers: allUp(),
      want: [],
    },
    {
      name: "no missing-block for a pending affinity",
      objs: {
        blockAffinities: [
          blockAffinity("node1", B1),
          blockAffinity("node2", B2),
          blockAffinity("node3", B3, "pending"),
        ],
      },
      routes: [route(B1, N1), route(B2, N2)],
      peers: allUp(),
      want: [],
    },
    {
      name: "peer-down (not missing-block) when the node's session is down",
      routes: [route(B1, N1), route(B3, N3)],
      peers: [peer(N1), peer(N2, { state: "Active", info: "Connection refused" }), peer(N3)],
      want: ["error:peer-down"],
      check: (f) => {
        expect(f[0]).toMatchObject({ object: "Node node2", node: "node2", peer: N2 });
        expect(f[0]!.what).toContain("Connection refused");
      },
    },
    {
      name: "peer-down of a NotReady node is a warning",
      n3Ready: false,
      routes: [route(B1, N1), route(B2, N2)],
      peers: [peer(N1), peer(N2), peer(N3, { state: "Connect", info: "Connecting" })],
      want: ["warning:peer-down"],
    },
    {
      name: "missing-block as a warning for a node podgate does not peer with (nodeSelector)",
      routes: [route(B1, N1), route(B2, N2)],
      peers: [peer(N1), peer(N2)],
      want: ["warning:missing-block"],
      check: (f) => expect(f[0]!.fix).toContain("nodeSelector"),
    },
    {
      name: "unexpected-prefix: outside every pool and service CIDR",
      routes: [...healthyRoutes(), route("203.0.113.0/24", N3)],
      peers: allUp(),
      want: ["warning:unexpected-prefix"],
      check: (f) =>
        expect(f[0]).toMatchObject({ object: "Node node3", prefix: "203.0.113.0/24", node: "node3" }),
    },
    {
      name: "no unexpected-prefix for Calico's serviceLoadBalancerIPs / serviceExternalIPs ranges and /32s in them",
      objs: {
        bgpConfigurations: [
          bgpConfiguration({
            asNumber: 64512,
            serviceClusterIPs: [{ cidr: "10.96.0.0/12" }],
            serviceLoadBalancerIPs: [{ cidr: "192.168.50.0/24" }],
            serviceExternalIPs: [{ cidr: "203.0.113.0/24" }],
          }),
        ],
      },
      routes: [
        ...healthyRoutes(),
        route("192.168.50.0/24", N1),
        route("192.168.50.0/24", N2),
        route("192.168.50.10/32", N3), // externalTrafficPolicy Local: only nodes with endpoints
        route("203.0.113.0/24", N3),
      ],
      peers: allUp(),
      want: [],
    },
    {
      name: "unexpected-prefix: a LoadBalancer-looking route outside the advertised LB range is still flagged",
      objs: {
        bgpConfigurations: [
          bgpConfiguration({
            asNumber: 64512,
            serviceClusterIPs: [{ cidr: "10.96.0.0/12" }],
            serviceLoadBalancerIPs: [{ cidr: "192.168.50.0/24" }],
          }),
        ],
      },
      routes: [...healthyRoutes(), route("192.168.50.0/24", N1), route("192.168.51.0/24", N1)],
      peers: allUp(),
      want: ["warning:unexpected-prefix"],
      check: (f) => {
        expect(f[0]).toMatchObject({ prefix: "192.168.51.0/24", node: "node1" });
        expect(f[0]!.why).toContain("192.168.50.0/24");
        expect(f[0]!.fix).toContain("serviceLoadBalancerIPs");
      },
    },
    {
      name: "unexpected-prefix: a block inside the pool that no BlockAffinity claims (deleted affinity)",
      objs: {
        blockAffinities: [
          blockAffinity("node1", B1),
          blockAffinity("node2", B2),
          blockAffinity("node3", B3),
          blockAffinity("node2", "172.16.9.0/26", "confirmed", "true"),
        ],
      },
      routes: [...healthyRoutes(), route("172.16.9.0/26", N2)],
      peers: allUp(),
      want: ["warning:unexpected-prefix"],
      check: (f) =>
        expect(f[0]).toMatchObject({ object: "IPPool default-ipv4-ippool", prefix: "172.16.9.0/26" }),
    },
    {
      name: "stale-affinity: a pendingDeletion block still advertised by its old node",
      objs: {
        blockAffinities: [
          blockAffinity("node1", B1),
          blockAffinity("node2", B2),
          blockAffinity("node3", B3),
          blockAffinity("node1", "172.16.7.0/26", "pendingDeletion"),
        ],
      },
      routes: [...healthyRoutes(), route("172.16.7.0/26", N1)],
      peers: allUp(),
      want: ["warning:stale-affinity"],
      check: (f) =>
        expect(f[0]).toMatchObject({ object: "BlockAffinity node1-172-16-7-0-26", node: "node1", peer: N1 }),
    },
    {
      name: "no stale-affinity when the block moved and only the new owner advertises it",
      objs: {
        blockAffinities: [
          blockAffinity("node1", B1),
          blockAffinity("node2", B2),
          blockAffinity("node3", B3),
          blockAffinity("node1", B2, "pendingDeletion"),
        ],
      },
      routes: healthyRoutes(),
      peers: allUp(),
      want: [],
    },
    {
      name: "export-disabled: an info per pool with disableBGPExport, its blocks not missing",
      objs: {
        ipPools: [
          ipPool("default-ipv4-ippool", "172.16.0.0/16"),
          ipPool("quiet", "10.250.0.0/16", { disableBGPExport: true }),
        ],
        blockAffinities: [
          blockAffinity("node1", B1),
          blockAffinity("node2", B2),
          blockAffinity("node3", B3),
          blockAffinity("node3", "10.250.0.0/26"),
        ],
      },
      routes: healthyRoutes(),
      peers: allUp(),
      want: ["info:export-disabled"],
      check: (f) => expect(f[0]).toMatchObject({ object: "IPPool quiet", prefix: "10.250.0.0/16" }),
    },
    {
      name: "wrong-next-hop: a next hop that is no node (a route reflector with next-hop-self)",
      routes: [route(B1, N1), route(B2, "192.168.40.250", "192.168.40.250"), route(B3, N3)],
      peers: [...allUp(), peer("192.168.40.250", { name: "rr1" })],
      want: ["error:wrong-next-hop"],
      check: (f) => expect(f[0]).toMatchObject({ prefix: B2, node: "node2", peer: "192.168.40.250" }),
    },
  ];

  for (const c of cases) {
    it(c.name, () => {
      const f = audit(deriveClusterState(cluster(c.objs, { n3Ready: c.n3Ready })), c.routes, c.peers);
      expect(codes(f)).toEqual(c.want);
      c.check?.(f);
    });
  }
});

describe("audit: the eBGP next-hop-self hairpin", () => {
  it("all blocks via one node (only node1 peered, eBGP) is one wrong-next-hop naming the BGPPeer", () => {
    const objs = cluster({
      bgpPeers: [bgpPeer("podgate", { peerIP: "192.168.40.10", asNumber: 65010 })],
    });
    const routes = [route(B1, N1), route(B2, N1), route(B3, N1)];
    const f = audit(deriveClusterState(objs), routes, [peer(N1)]);
    // node2/node3 blocks are delivered (via the wrong hop), so they are not "missing".
    expect(codes(f)).toEqual(["warning:wrong-next-hop"]);
    expect(f[0]).toMatchObject({ object: "BGPPeer podgate", node: "node1", peer: N1 });
    expect(f[0]!.fix).toContain("nextHopMode: Keep");
    expect(f[0]!.fix).toContain("keepOriginalNextHop: true");
    expect(f[0]!.fix).toContain("64512");
    expect(f[0]!.what).toContain("2 paths");
  });

  it("every node relaying every block (ADD-PATH) is still one finding listing the nodes", () => {
    const routes = [B1, B2, B3].flatMap((b) => [N1, N2, N3].map((n) => route(b, n)));
    const f = audit(deriveClusterState(cluster()), routes, allUp());
    expect(codes(f)).toEqual(["warning:wrong-next-hop"]);
    expect(f[0]!.object).toBe("BGPPeer toward podgate (nodes node1, node2, node3)");
    expect(f[0]!.what).toContain("6 paths");
  });

  it("is not reported when relayed paths keep the owner's next hop (nextHopMode: Keep)", () => {
    const routes = [B1, B2, B3].flatMap((b, i) => [N1, N2, N3].map((n) => route(b, n, [N1, N2, N3][i])));
    expect(audit(deriveClusterState(cluster()), routes, allUp())).toEqual([]);
  });
});

describe("audit: CNI without BGP", () => {
  const flannel = (): ClusterObjects => ({
    ...emptyObjects(),
    nodes: [flannelNode("f1", "10.0.0.11", "10.244.0.0/24"), flannelNode("f2", "10.0.0.12", "10.244.1.0/24")],
    services: [kubernetesService()],
  });

  it("no-bgp warning for Flannel without static routes, info once static routes exist", () => {
    expect(codes(audit(deriveClusterState(flannel()), [], []))).toEqual(["warning:no-bgp"]);
    const staticR = [route("10.244.0.0/24", "kubernetes", "10.0.0.11", { source: "kubernetes" })];
    const f = audit(deriveClusterState(flannel()), staticR, []);
    expect(codes(f)).toEqual(["info:no-bgp"]);
    expect(f[0]!.object).toBe("CNI flannel");
  });

  it("not for Calico with BGP sessions up", () => {
    expect(codes(audit(deriveClusterState(cluster()), healthyRoutes(), allUp()))).not.toContain(
      "warning:no-bgp",
    );
  });

  it("VXLAN-only Calico with every session down hints at static mode", () => {
    const objs = cluster({
      ipPools: [ipPool("default-ipv4-ippool", "172.16.0.0/16", { ipipMode: "Never", vxlanMode: "Always" })],
    });
    const down = [N1, N2, N3].map((a) => peer(a, { state: "Active", info: "Connection refused" }));
    const f = audit(deriveClusterState(objs), [], down);
    expect(codes(f)).toEqual(["error:peer-down", "error:peer-down", "error:peer-down", "warning:no-bgp"]);
  });
});

describe("audit: output", () => {
  it("sorts by severity then code, and counts in the summary", () => {
    const objs = cluster({
      ipPools: [
        ipPool("default-ipv4-ippool", "172.16.0.0/16"),
        ipPool("quiet", "10.250.0.0/16", { disableBGPExport: true }),
      ],
    });
    const f = audit(
      deriveClusterState(objs),
      [route(B1, N1), route("203.0.113.0/24", N1)],
      [peer(N1), peer(N2), peer(N3, { state: "Idle", info: "Disabled" })],
    );
    expect(codes(f)).toEqual([
      "error:missing-block",
      "error:peer-down",
      "warning:unexpected-prefix",
      "info:export-disabled",
    ]);
    expect(auditJson(f).summary).toEqual({ errors: 2, warnings: 1, infos: 1 });
    expect(f[1]!.fix).toContain("enabled: true");
    const text = formatAudit(f);
    expect(text).toMatch(/^Route audit: 2 errors, 1 warning, 1 info\n/);
    expect(text.indexOf("ERRORS (2)")).toBeLessThan(text.indexOf("WARNINGS (1)"));
    expect(text.indexOf("WARNINGS (1)")).toBeLessThan(text.indexOf("INFO (1)"));
    expect(text).toContain("| 1 | missing-block");
    expect(text).toContain("[4] why:");
  });

  it("says so when there is nothing to report", () => {
    const text = formatAudit([]);
    expect(text).toContain("Route audit: 0 errors, 0 warnings, 0 info");
    expect(text).toContain("delivered by BGP with its node as next hop");
  });
});

describe("podgate audit (CLI against a socket)", () => {
  const dir = mkdtempSync(join(tmpdir(), `podgate-audit-${process.pid}-`));
  const sock = join(dir, "api.sock");
  let body: unknown = auditJson([]);
  let status = 200;
  const server = http.createServer((req, res) => {
    const ok = req.url === "/v1/audit" && req.method === "GET";
    const text = JSON.stringify(ok ? body : { error: "no such endpoint" });
    res.writeHead(ok ? status : 404, { "content-type": "application/json" });
    res.end(text);
  });
  beforeAll(() => new Promise<void>((r) => server.listen(sock, () => r())));
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  const run = async (argv: string[]) => {
    let out = "";
    let err = "";
    const code = await runAudit(argv, { out: (s) => (out += s), err: (s) => (err += s) });
    return { code, out, err };
  };

  it("renders findings, exits 3 when one is an error, --json passes the body through", async () => {
    const f = audit(deriveClusterState(cluster()), [route(B1, N1), route(B3, N3)], allUp());
    body = auditJson(f);
    status = 200;
    const r = await run(["--socket", sock]);
    expect(r.code).toBe(3);
    expect(r.out).toContain("missing-block");
    const j = await run(["--socket", sock, "--json"]);
    expect(j.code).toBe(3);
    expect(JSON.parse(j.out)).toEqual(body);
    body = auditJson([]);
    expect((await run(["--socket", sock])).code).toBe(0);
  });

  it("reports the daemon's error (e.g. cluster not synced) and an unreachable socket with exit 1", async () => {
    body = { error: "cluster state not synced yet" };
    status = 503;
    const r = await run(["--socket", sock]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("cluster state not synced yet");
    const gone = await run(["--socket", join(dir, "nope.sock")]);
    expect(gone.code).toBe(1);
    expect(gone.err).toContain("cannot reach podgate");
    expect((await run(["--bogus"])).code).toBe(2);
  });
});
