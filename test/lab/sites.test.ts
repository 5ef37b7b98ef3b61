/**
 * Self-test of the lab's site builders in the two-subnet shape (the gateway on 192.168.40.0/24,
 * the nodes on 192.168.60.0/24 behind a router namespace): calico-node BIRD peers with a plain
 * BIRD gateway across the router (multihop iBGP) and exports each block with the node as next
 * hop, the node mesh comes up on the nodes' own LAN, and pods answer the gateway over HTTP with
 * the gateway's own address as the source (the nodes route back through their default, the router).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BirdDaemon } from "./daemons/bird.ts";
import { type Host, Lab, labPrereqs, waitFor } from "./netns.ts";
import { httpGet, kernelRoutes, ping } from "./probes.ts";
import { addCalicoPod, addClusterSite, type ClusterNodeSpec, calicoMesh } from "./sites.ts";

const skip = labPrereqs(["bird", "birdc", "curl", "ping", "node"]);

const GW_IP = "192.168.40.10";
const ROUTER_GW_SIDE = "192.168.40.1";
const ROUTER_NODE_SIDE = "192.168.60.1";
const NODE_SUBNET = "192.168.60.0/24";
const POD_PORT = 8080;
const NODES: readonly ClusterNodeSpec[] = [
  { name: "node1", ip: "192.168.60.101", block: "10.244.1.0/26", pod: { name: "pod1", ip: "10.244.1.2" } },
  { name: "node2", ip: "192.168.60.102", block: "10.244.2.0/26", pod: { name: "pod2", ip: "10.244.2.2" } },
];

describe.skipIf(!!skip)("lab: cluster site with nodes on another subnet behind a router", () => {
  let lab: Lab;
  let gw: Host;
  let nodes: readonly Host[];
  let router: Host | undefined;
  let gwBird: BirdDaemon;
  let birds: BirdDaemon[];

  beforeAll(async () => {
    lab = new Lab("sites");
    gw = await lab.addHost("gw");
    ({ nodes, router } = await addClusterSite(lab, {
      gateway: gw,
      gatewayIp: GW_IP,
      nodes: NODES,
      router: { gatewaySideIp: ROUTER_GW_SIDE, nodeSideIp: ROUTER_NODE_SIDE, nodeSubnet: NODE_SUBNET },
    }));
    for (const [i, n] of NODES.entries()) {
      await addCalicoPod(lab, nodes[i]!, { ...n.pod!, http: { port: POD_PORT } });
      // The router knows the blocks (in an IPIP lab the tunnel would carry them instead).
      await router!.run(["ip", "route", "add", n.block, "via", n.ip]);
    }
    await gw.run(["ip", "route", "add", "10.244.0.0/16", "via", ROUTER_GW_SIDE]);
    birds = calicoMesh(nodes, NODES, { gatewayIps: [GW_IP] });
    gwBird = new BirdDaemon({
      host: gw,
      routerId: GW_IP,
      asn: 64512,
      neighbors: NODES.map((n) => ({ address: n.ip, asn: 64512, multihop: true, localAddress: GW_IP })),
    });
    await Promise.all([gwBird.start(), ...birds.map((b) => b.start())]);
  }, 60_000);

  afterAll(async () => {
    await lab?.teardown();
  });

  it("puts the nodes on their own subnet, default route via the router", async () => {
    expect(router).toBeDefined();
    for (const [i, n] of NODES.entries()) {
      const def = (await kernelRoutes(nodes[i]!, ["default"]))[0];
      expect(def?.gateway).toBe(ROUTER_NODE_SIDE);
      expect(await nodes[i]!.addrs()).toContain(`eth0 ${n.ip}/24`);
    }
    const toNodes = (await kernelRoutes(gw, [NODE_SUBNET]))[0];
    expect(toNodes?.gateway).toBe(ROUTER_GW_SIDE);
    const p = await ping(gw, NODES[0]!.ip, 2);
    expect(p.stdout).toMatch(/2 packets transmitted, 2 received/);
    expect(p.stdout).toMatch(/ttl=63/); // one router on the way
  });

  it("calico-node BIRD peers with the gateway across the router and with the other node directly", async () => {
    for (const n of NODES)
      await waitFor(async () => (await gwBird.neighborState(n.ip)) === "Established", {
        timeoutMs: 30_000,
        what: `gateway session with ${n.name}`,
      });
    await waitFor(async () => (await birds[0]!.neighborState(NODES[1]!.ip)) === "Established", {
      timeoutMs: 30_000,
      what: "node-to-node mesh session",
    });
    for (const n of NODES) {
      const r = await waitFor(async () => (await gwBird.routes(4)).find((x) => x.prefix === n.block), {
        timeoutMs: 10_000,
        what: `${n.block} at the gateway`,
      });
      expect(r.nextHop).toBe(n.ip);
    }
  });

  it("pods answer the gateway through the router (the pod sees the gateway's address)", async () => {
    for (const n of NODES) {
      const r = await httpGet(gw, n.pod!.ip, POD_PORT);
      expect(r).toEqual({ ok: true, pod: n.pod!.name, from: GW_IP });
    }
  });
});
