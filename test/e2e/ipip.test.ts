/**
 * End to end, IPIP toward Calico nodes (issue 5 §2): the nodes sit on their own subnet behind a
 * router namespace that knows no pod route, the way a data-centre fabric does. podgate peers
 * with calico-node BIRDs (iBGP multihop), creates `pgipip0` (local = its address) and installs
 * every block `via NODE dev pgipip0 onlink` (CrossSubnet: the nodes are off its subnets). A
 * laptop behind the gateway then reaches pods by ping and HTTP, with its own address (no SNAT).
 * The nodes send replies back through IPIP, as Felix does for an office IPPool with ipipMode
 * Always (here: a route by hand on each node's tunl0), so the router never routes a pod or an
 * office address: only encapsulation in both directions delivers anything.
 *
 * Needs the ipip kernel module in every namespace (tunl0 on the nodes, pgipip0 on the gateway).
 * Kernels without it — this project's CI machine among them — skip the suite with that reason,
 * even under CI=true: no install step can add a kernel module.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StatusJson } from "../../src/api/types.ts";
import { kernelLacksLinkType } from "../helpers/prereq.ts";
import { Podgate, type PodgateYaml } from "../interop/podgate.ts";
import type { BirdDaemon } from "../lab/daemons/bird.ts";
import { type Host, Lab, labPrereqs, waitFor } from "../lab/netns.ts";
import { httpGet, kernelRoutes, ping, waitHttp } from "../lab/probes.ts";
import { addCalicoPod, addClusterSite, addLaptop, calicoMesh } from "../lab/sites.ts";

const prereq = labPrereqs(["bird", "birdc", "curl", "ping", "node"]);

const skip = prereq ?? kernelLacksLinkType("ipip", ["local", "127.0.0.1"]);

const GW_IP = "192.168.40.10";
const ROUTER_GW_SIDE = "192.168.40.1";
const ROUTER_NODE_SIDE = "172.20.5.1";
const NODE_SUBNET = "172.20.5.0/24";
const OFFICE_LAN = "10.10.0.0/24";
const GW_OFFICE_IP = "10.10.0.1";
const LAPTOP_IP = "10.10.0.50";
const POD_PORT = 8080;
const DEV = "pgipip0";

const NODES = [
  { name: "node1", ip: "172.20.5.11", block: "10.244.1.0/26", pod: { name: "pod1", ip: "10.244.1.2" } },
  { name: "node2", ip: "172.20.5.12", block: "10.244.2.0/26", pod: { name: "pod2", ip: "10.244.2.2" } },
] as const;

function podgateConfig(): Omit<PodgateYaml, "api"> {
  return {
    routerId: GW_IP,
    asn: 64512,
    defaults: { connectRetryTime: 1 },
    log: { level: "debug" },
    cluster: { podCIDRs: ["10.244.0.0/16"] },
    office: { prefixes: [OFFICE_LAN] },
    returnPath: { mode: "advertise" },
    dataplane: { onShutdown: "remove" },
    tunnels: { ipip: { local: GW_IP } },
    peers: NODES.map((n) => ({ name: n.name, address: n.ip, asn: 64512, localAddress: GW_IP })),
  } as Omit<PodgateYaml, "api">;
}

describe.skipIf(!!skip)(
  `e2e: IPIP toward Calico nodes on another subnet${skip ? ` — skipped: ${skip}` : ""}`,
  () => {
    let lab: Lab;
    let gw: Host;
    let laptop: Host;
    let router: Host;
    let nodeHosts: readonly Host[] = [];
    let birds: BirdDaemon[] = [];
    let pg: Podgate;

    beforeAll(async () => {
      lab = new Lab("ipip");
      gw = await lab.addHost("gw");
      const site = await addClusterSite(lab, {
        gateway: gw,
        gatewayIp: GW_IP,
        nodes: NODES,
        router: { gatewaySideIp: ROUTER_GW_SIDE, nodeSideIp: ROUTER_NODE_SIDE, nodeSubnet: NODE_SUBNET },
      });
      nodeHosts = site.nodes;
      router = site.router!;
      for (const [i, n] of NODES.entries()) {
        const node = nodeHosts[i]!;
        await addCalicoPod(lab, node, { name: n.pod.name, ip: n.pod.ip, http: { port: POD_PORT } });
        // calico-node decapsulates on tunl0, and Felix routes an ipipMode Always office pool back
        // through it to the gateway (metric 1: ahead of BIRD's native route to the office).
        await node.run(["ip", "link", "set", "tunl0", "up"]);
        await node.run([
          "ip",
          "route",
          "add",
          OFFICE_LAN,
          "via",
          GW_IP,
          "dev",
          "tunl0",
          "onlink",
          "metric",
          "1",
        ]);
      }
      laptop = await addLaptop(lab, gw, { routerIp: GW_OFFICE_IP, laptopIp: LAPTOP_IP });
      birds = calicoMesh(nodeHosts, NODES, { gatewayIps: [GW_IP] });
      await Promise.all(birds.map((b) => b.start()));
      pg = new Podgate(gw, podgateConfig());
      await pg.start();
    }, 120_000);

    afterAll(async () => {
      await pg?.stop().catch(() => undefined);
      await Promise.all(birds.map((b) => b.stop().catch(() => undefined)));
      await lab?.teardown();
    });

    it("installs every block via its node on pgipip0, onlink", async () => {
      await waitFor(
        async () => {
          const rs = await kernelRoutes(gw, ["proto", "201"]);
          return NODES.every((n) => {
            const r = rs.find((x) => x.dst === n.block) as
              | { gateway?: string; dev?: string; flags?: string[] }
              | undefined;
            return r?.gateway === n.ip && r.dev === DEV && (r.flags ?? []).includes("onlink");
          });
        },
        { timeoutMs: 30_000, what: "blocks via the nodes on pgipip0 onlink" },
      );
      const s = (await pg.status()) as StatusJson & { ipip?: { up: boolean; mtu: number; local: string } };
      expect(s.ipip).toMatchObject({ up: true, mtu: 1480, local: GW_IP });
      // The fabric between gateway and nodes knows no pod and no office route.
      const routerRoutes = (await kernelRoutes(router)).map((r) => r.dst);
      expect(routerRoutes.some((d) => d.startsWith("10.244.") || d.startsWith("10.10."))).toBe(false);
    });

    it("the laptop reaches every pod by ping and HTTP, with its own address (no SNAT)", async () => {
      for (const n of NODES) {
        await waitHttp(laptop, n.pod.ip, POD_PORT, n.pod.name, 20_000);
        expect((await ping(laptop, n.pod.ip, 3)).code).toBe(0);
        const r = await httpGet(laptop, n.pod.ip, POD_PORT);
        expect(r).toEqual({ ok: true, pod: n.pod.name, from: LAPTOP_IP });
      }
    });

    it("stopping with onShutdown remove deletes the device and the routes through it", async () => {
      await pg.stop();
      expect((await gw.exec(["ip", "link", "show", DEV])).code).not.toBe(0);
      expect((await kernelRoutes(gw, ["proto", "201"])).length).toBe(0);
    });
  },
);
