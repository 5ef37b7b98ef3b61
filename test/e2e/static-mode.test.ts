/**
 * End-to-end suite for static mode (issue 4 §6): podgate learns nodes and Calico block
 * affinities from a (fake) Kubernetes API, installs a kernel route per block via its node, and
 * a laptop reaches a pod with NO BGP session anywhere (`kubernetes.peers: false`, no peers, no
 * listener). The fake API server runs as its own process inside the gateway's namespace
 * (test/e2e/static/kube-runner.ts, on that namespace's loopback), so podgate talks to it over
 * real HTTP exactly as to a kube-apiserver, and the test mutates the cluster through it.
 *
 * Lab: gateway, three nodes on one bridge (192.168.40.0/24), pods plumbed like Calico (/32 on
 * eth0, veth, proxy ARP, proxy_delay 0, /32 route on the node), a laptop linked straight to the
 * gateway (10.10.0.0/24, default via the gateway). Nodes get the route back to the office by
 * hand (returnPath none): the test is about the gateway's static routes only.
 *
 * Scenarios run in order on one lab: routes from the API and a TCP answer from a pod; a block
 * moving to another node; a node going NotReady (and back); the API server stopped (routes
 * stay) and restarted (state continues). See docs/discovery.md, "Static mode end to end".
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RouteJson, StatusJson } from "../../src/api/types.ts";
import {
  bgpConfiguration,
  blockAffinity,
  blockAffinityName,
  calicoNode,
  ipPool,
  kubernetesService,
} from "../fakes/k8s-api/seed.ts";
import type { KObject, ResourceName } from "../fakes/k8s-api/server.ts";
import { Podgate, type PodgateYaml } from "../interop/podgate.ts";
import { type Host, Lab, labPrereqs, waitFor } from "../lab/netns.ts";
import { httpGet, ping, podgateRoutes, type RouteMap, waitHttp, waitPodgateRoutes } from "../lab/probes.ts";
import { addCalicoPod, addClusterSite, addLaptop } from "../lab/sites.ts";
import { FakeCluster } from "./static/fake-cluster.ts";

const skip = labPrereqs(["curl", "ping", "node"]);

// ---- topology ---------------------------------------------------------------------------------

const GW_CLUSTER_IP = "192.168.40.10";
/** The nodes' default route (nothing answers): proxy ARP for 169.254.1.1 needs a route to it. */
const CLUSTER_LAN_ROUTER = "192.168.40.1";
const OFFICE_LAN = "10.10.0.0/24";
const GW_OFFICE_IP = "10.10.0.1";
const LAPTOP_IP = "10.10.0.50";
const POOL = "172.16.0.0/16";
const SERVICE_CIDR = "10.96.0.0/12";
const POD_PORT = 8080;
/** Port of the fake API on the gateway namespace's loopback (pid-derived: parallel runs stay apart). */
const API_PORT = 20_000 + (process.pid % 20_000);

const NODES = [
  { name: "node1", ip: "192.168.40.101", block: "172.16.1.0/26" },
  { name: "node2", ip: "192.168.40.102", block: "172.16.2.0/26" },
  { name: "node3", ip: "192.168.40.103", block: "172.16.3.0/26" },
] as const;
type NodeName = (typeof NODES)[number]["name"];
const nodeIp = (name: NodeName) => NODES.find((n) => n.name === name)!.ip;

/** The pod the laptop talks to: in node2's block first, then moved with its block to node3. */
const POD_IP = "172.16.2.2";
const MOVED_BLOCK = "172.16.2.0/26";

function seed(): Array<{ res: ResourceName; obj: KObject }> {
  return [
    ...NODES.map((n) => ({ res: "nodes" as const, obj: calicoNode(n.name, n.ip) })),
    { res: "services", obj: kubernetesService("10.96.0.1") },
    { res: "ippools", obj: ipPool("default-ipv4-ippool", POOL, { ipipMode: "Never", vxlanMode: "Always" }) },
    ...NODES.map((n) => ({ res: "blockaffinities" as const, obj: blockAffinity(n.name, n.block) })),
    {
      res: "bgpconfigurations",
      obj: bgpConfiguration({ asNumber: 64512, serviceClusterIPs: [{ cidr: SERVICE_CIDR }] }),
    },
  ];
}

/** Static mode: no peers, no listener, routes from the API only; cluster CIDRs filled from it. */
function podgateConfig(kubeconfig: string): Omit<PodgateYaml, "api"> {
  return {
    routerId: GW_CLUSTER_IP,
    asn: 64512,
    listen: { enabled: false },
    log: { level: "debug" },
    peers: [],
    kubernetes: { enabled: true, kubeconfig, peers: false, staticRoutes: true },
    office: { prefixes: [OFFICE_LAN] },
    returnPath: { mode: "none" },
  } as Omit<PodgateYaml, "api">;
}

// ---- small helpers ----------------------------------------------------------------------------

/** The routes the test cares about: every block, the service CIDR. */
const WATCHED = [...NODES.map((n) => n.block), SERVICE_CIDR];

function pick(k: RouteMap): Record<string, string[] | undefined> {
  return Object.fromEntries(WATCHED.map((p) => [p, k.get(p)]));
}

/** Waits until the gateway's kernel holds exactly `want` for the watched prefixes (absent = undefined). */
async function waitKernel(gw: Host, want: Record<string, string[] | undefined>, timeoutMs = 20_000) {
  const norm = (o: Record<string, string[] | undefined>) =>
    JSON.stringify(WATCHED.map((p) => [p, o[p] ? [...o[p]!].sort() : null]));
  await waitPodgateRoutes(
    gw,
    (m) => {
      const got = pick(m);
      if (norm(got) === norm(want)) return true;
      throw new Error(`kernel ${norm(got)}\n  want ${norm(want)}`);
    },
    { timeoutMs, intervalMs: 200, what: "podgate's kernel routes in the gateway" },
  );
}

/** TCP (HTTP) GET of the pod server on POD_PORT. */
const tcpGet = (from: Host, ip: string, timeoutS = 2) => httpGet(from, ip, POD_PORT, timeoutS);

const waitTcp = (from: Host, ip: string, pod: string, timeoutMs = 15_000) =>
  waitHttp(from, ip, POD_PORT, pod, timeoutMs);

// ---- the suite --------------------------------------------------------------------------------

describe.skipIf(!!skip)("e2e: static mode — routes from the Kubernetes API, no BGP", () => {
  let lab: Lab;
  let gw: Host;
  let laptop: Host;
  const nodes = new Map<NodeName, Host>();
  let api: FakeCluster;
  let pg: Podgate;
  /** The node end of the current pod's veth (deleted to move the pod). */
  let podLink: { node: Host; ifName: string } | undefined;
  /** Whether the laptop could NOT reach the pod before podgate started. */
  let unreachableBefore = false;

  /** A pod the way Calico plumbs it, with a tiny TCP (HTTP) server answering {pod, from}. */
  async function addPod(node: Host, name: string, ip: string): Promise<void> {
    const { nodeIf } = await addCalicoPod(lab, node, { name, ip, http: { port: POD_PORT } });
    podLink = { node, ifName: nodeIf };
  }

  async function kubeStatus(): Promise<{ connected: boolean; synced: boolean }> {
    const s = (await pg.status()) as StatusJson & { kubernetes?: { connected: boolean; synced: boolean } };
    if (!s.kubernetes) throw new Error("podgate status has no kubernetes section");
    return s.kubernetes;
  }

  /** Every route in the fully-up cluster: each block via its node, services by ECMP over all. */
  const allUp = (blocks: Record<string, NodeName>, ready: readonly NodeName[]) => {
    const want: Record<string, string[] | undefined> = {};
    for (const [block, n] of Object.entries(blocks)) if (ready.includes(n)) want[block] = [nodeIp(n)];
    want[SERVICE_CIDR] = ready.map(nodeIp).sort();
    return want;
  };

  beforeAll(async () => {
    lab = new Lab("static");
    gw = await lab.addHost("gw");
    const site = await addClusterSite(lab, {
      gateway: gw,
      gatewayIp: GW_CLUSTER_IP,
      nodes: NODES,
      defaultVia: CLUSTER_LAN_ROUTER,
    });
    for (const [i, n] of NODES.entries()) nodes.set(n.name, site.nodes[i]!);
    laptop = await addLaptop(lab, gw, { routerIp: GW_OFFICE_IP, laptopIp: LAPTOP_IP });
    for (const h of nodes.values()) {
      // The return path, by hand: this suite is about the gateway's routes toward the cluster.
      await h.run(["ip", "route", "add", OFFICE_LAN, "via", GW_CLUSTER_IP]);
    }
    await gw.run(["ip", "link", "set", "lo", "up"]);
    await addPod(nodes.get("node2")!, "pod", POD_IP);

    api = new FakeCluster(gw, API_PORT, seed());
    await api.start();
    // Before podgate runs (it can sync from the API before the first test starts): the pod
    // must be unreachable without its route, or reaching it later would prove nothing.
    unreachableBefore = (await tcpGet(laptop, POD_IP, 1)).ok === false;
    pg = new Podgate(gw, podgateConfig(api.kubeconfig));
    await pg.start();
  }, 90_000);

  afterAll(async () => {
    await pg?.stop().catch(() => undefined);
    await lab?.teardown();
  }, 30_000);

  it("installs each block via its node from the API, and the laptop reaches a pod on node2", async () => {
    expect(unreachableBefore, "no route to the pod before podgate has one would prove nothing").toBe(true);

    await waitKernel(
      gw,
      allUp(Object.fromEntries(NODES.map((n) => [n.block, n.name])), ["node1", "node2", "node3"]),
    );

    const json = JSON.parse(await pg.cli(gw, ["routes", "--json"])) as { routes: RouteJson[] };
    for (const n of NODES) {
      const r = json.routes.find((x) => x.prefix === n.block && x.best);
      expect(r, `routes --json has ${n.block}`).toBeDefined();
      expect(r).toMatchObject({ nextHop: n.ip, source: "kubernetes", localPref: 50, installed: true });
    }
    expect(json.routes.filter((r) => r.source === "bgp")).toEqual([]);
    const status = await pg.status();
    expect(status.peers).toEqual([]);
    expect(await kubeStatus()).toMatchObject({ connected: true, synced: true });

    const p = await ping(laptop, POD_IP);
    expect(p.code, p.stdout + p.stderr).toBe(0);
    const r = await waitTcp(laptop, POD_IP, "pod");
    expect(r.from).toBe(LAPTOP_IP);
  });

  it("follows a block that moves to another node (and the laptop reaches the moved pod)", async () => {
    // Calico's IPAM: the old affinity goes, a new one for node3 appears, the pod is recreated there.
    await api.delete("blockaffinities", blockAffinityName("node2", MOVED_BLOCK));
    await waitKernel(gw, {
      ...allUp({ [NODES[0].block]: "node1", [NODES[2].block]: "node3" }, ["node1", "node2", "node3"]),
    });
    await api.apply("blockaffinities", blockAffinity("node3", MOVED_BLOCK));
    if (podLink) await podLink.node.run(["ip", "link", "del", podLink.ifName]);
    await addPod(nodes.get("node3")!, "moved", POD_IP);

    await waitKernel(
      gw,
      allUp({ [NODES[0].block]: "node1", [MOVED_BLOCK]: "node3", [NODES[2].block]: "node3" }, [
        "node1",
        "node2",
        "node3",
      ]),
    );
    const r = await waitTcp(laptop, POD_IP, "moved");
    expect(r.from).toBe(LAPTOP_IP);
    const p = await ping(laptop, POD_IP);
    expect(p.code, p.stdout + p.stderr).toBe(0);
  });

  it("drops a node's blocks when it becomes NotReady, and brings them back when it is Ready", async () => {
    const blocks = { [NODES[0].block]: "node1", [MOVED_BLOCK]: "node3", [NODES[2].block]: "node3" } as const;
    await api.apply("nodes", calicoNode("node3", nodeIp("node3"), { ready: false }));
    await waitKernel(gw, allUp(blocks, ["node1", "node2"]));
    // No route: the gateway refuses (ICMP net unreachable) instead of sending it anywhere.
    const r = await tcpGet(laptop, POD_IP, 1);
    expect(r.ok).toBe(false);

    await api.apply("nodes", calicoNode("node3", nodeIp("node3")));
    await waitKernel(gw, allUp(blocks, ["node1", "node2", "node3"]));
    await waitTcp(laptop, POD_IP, "moved");
  });

  it("keeps every route while the API server is gone, and continues when it is back", async () => {
    const blocks = { [NODES[0].block]: "node1", [MOVED_BLOCK]: "node3", [NODES[2].block]: "node3" } as const;
    const up = allUp(blocks, ["node1", "node2", "node3"]);
    await waitKernel(gw, up);

    await api.stop();
    await waitFor(async () => !(await kubeStatus()).connected || undefined, {
      timeoutMs: 20_000,
      what: "podgate reports the API as disconnected",
    });
    // Several watch restarts fail meanwhile; nothing may be withdrawn.
    const until = Date.now() + 5_000;
    while (Date.now() < until) {
      expect(pick(await podgateRoutes(gw))).toEqual(
        Object.fromEntries(WATCHED.map((p) => [p, up[p] ? [...up[p]!].sort() : undefined])),
      );
      await new Promise((r) => setTimeout(r, 500));
    }
    await waitTcp(laptop, POD_IP, "moved", 5_000);

    await api.start();
    await waitFor(async () => (await kubeStatus()).connected || undefined, {
      timeoutMs: 40_000,
      what: "podgate reconnected to the API",
    });
    await waitKernel(gw, up);
    // The restarted server has no history before its start: podgate's resumed watches got 410
    // and it re-read the cluster (a relist) without churning a single route.
    const stats = await api.stats();
    expect(stats.lists["blockaffinities"] ?? 0, JSON.stringify(stats)).toBeGreaterThanOrEqual(1);
    expect(stats.lists["nodes"] ?? 0, JSON.stringify(stats)).toBeGreaterThanOrEqual(1);
    // State continues: a change made after the restart arrives.
    const NEW_BLOCK = "172.16.1.64/26";
    await api.apply("blockaffinities", blockAffinity("node1", NEW_BLOCK));
    await waitFor(
      async () => {
        const k = await podgateRoutes(gw);
        if (JSON.stringify(k.get(NEW_BLOCK)) === JSON.stringify([nodeIp("node1")])) return true;
        throw new Error(JSON.stringify(k.get(NEW_BLOCK)));
      },
      { timeoutMs: 20_000, what: `${NEW_BLOCK} via node1 after the API came back` },
    );
    await waitKernel(gw, up);
    await waitTcp(laptop, POD_IP, "moved");
  }, 90_000);
});
