import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RouteJson } from "../../src/api/types.ts";
import { Podgate, type PodgateYaml } from "../interop/podgate.ts";
import type { BirdDaemon } from "../lab/daemons/bird.ts";
import type { FrrDaemon } from "../lab/daemons/frr.ts";
import type { RibRoute } from "../lab/daemons/types.ts";
import { type Host, Lab, labPrereqs, waitFor } from "../lab/netns.ts";
import {
  httpGet,
  ping,
  podgateRoutes,
  type RouteMap,
  routesFrom,
  waitHttp,
  waitPodgateRoutes,
  waitRoutesFrom,
} from "../lab/probes.ts";
import {
  addCalicoPod,
  addClusterSite,
  addOfficeSite,
  type ClusterNodeSpec,
  calicoMesh,
  clusterIpHits,
  installClusterIp,
  officeFrr,
} from "../lab/sites.ts";

const skip = labPrereqs(["bird", "birdc", "vtysh", "/usr/lib/frr/bgpd", "nft", "curl", "ping", "node"]);

// ---- topology ---------------------------------------------------------------------------------

const CLUSTER_AS = 64512;
const OFFICE_AS = 65010;
const GW_CLUSTER_IP = "192.168.40.10";
/** The nodes' default route points here; nothing answers (the cluster LAN's router is not modelled). */
const CLUSTER_LAN_ROUTER = "192.168.40.1";
const GW_TRANSIT_IP = "192.168.50.2";
const OFFICE_TRANSIT_IP = "192.168.50.1";
const OFFICE_LAN = "10.10.0.0/24";
const OFFICE_LAN_IP = "10.10.0.1";
const LAPTOP_IP = "10.10.0.50";
const POD_CIDR = "10.244.0.0/16";
const SERVICE_CIDR = "10.96.0.0/12";
/** The emulated Service: ClusterIP 10.96.0.10:80 → pod2:80, DNATed on every node (kube-proxy). */
const CLUSTER_IP = "10.96.0.10";
const POD_PORT = 80;

const NODES: readonly (ClusterNodeSpec & { pod: { name: string; ip: string } })[] = [
  { name: "node1", ip: "192.168.40.101", block: "10.244.1.0/26", pod: { name: "pod1", ip: "10.244.1.2" } },
  { name: "node2", ip: "192.168.40.102", block: "10.244.2.0/26", pod: { name: "pod2", ip: "10.244.2.2" } },
  { name: "node3", ip: "192.168.40.103", block: "10.244.3.0/26", pod: { name: "pod3", ip: "10.244.3.2" } },
];
const SERVICE_BACKEND = NODES[1]!.pod.ip;

/** podgate's config: role-based defaults only (no prefix lists, no policies). */
function podgateConfig(mode: "advertise" | "snat"): Omit<PodgateYaml, "api"> {
  return {
    routerId: GW_CLUSTER_IP,
    asn: CLUSTER_AS,
    defaults: { connectRetryTime: 1 },
    log: { level: "info" },
    cluster: { podCIDRs: [POD_CIDR], serviceCIDRs: [SERVICE_CIDR] },
    office: { prefixes: [OFFICE_LAN] },
    returnPath: { mode },
    // RFC 4724 restart: routes stay in the kernel and no NOTIFICATION is sent, so the office
    // router and the nodes (graceful-restart helpers) keep our routes across a restart.
    dataplane: { onShutdown: "graceful-restart" },
    peers: [
      ...NODES.map((n) => ({ name: n.name, address: n.ip, asn: CLUSTER_AS })),
      { name: "office-router", address: OFFICE_TRANSIT_IP, asn: OFFICE_AS },
    ],
  } as Omit<PodgateYaml, "api">;
}

// ---- the suite --------------------------------------------------------------------------------

describe.skipIf(!!skip)("e2e: office laptop → pods and ClusterIPs through podgate", () => {
  let lab: Lab;
  let gw: Host;
  let office: Host;
  let laptop: Host;
  const nodeHosts: Host[] = [];
  const birds: BirdDaemon[] = [];
  let frr: FrrDaemon;
  let pg: Podgate;

  /** A pod the way Calico plumbs it, with a tiny HTTP server answering {pod, from}. */
  async function addPod(node: Host, name: string, ip: string): Promise<Host> {
    return (await addCalicoPod(lab, node, { name, ip, http: { port: POD_PORT } })).host;
  }

  const pgRoutes = async (): Promise<readonly RouteJson[]> => pg.routes();
  /** The routes the office router has from podgate. */
  const officeRoutes = async (): Promise<RibRoute[]> => routesFrom(frr, GW_TRANSIT_IP);

  /** Waits until the office router has exactly these cluster prefixes from podgate (next hop = gateway). */
  async function waitOfficeHas(want: string[], what: string): Promise<void> {
    await waitRoutesFrom(
      frr,
      GW_TRANSIT_IP,
      (rs) =>
        JSON.stringify(rs.map((r) => r.prefix).sort()) === JSON.stringify([...want].sort()) &&
        rs.every((r) => r.nextHop === GW_TRANSIT_IP),
      { what },
    );
  }

  const waitKernel = (pred: (k: RouteMap) => boolean, what: string) => waitPodgateRoutes(gw, pred, { what });

  async function waitAllEstablished(): Promise<void> {
    await pg.waitEstablished([...NODES.map((n) => n.ip), OFFICE_TRANSIT_IP], 60_000);
  }

  /**
   * Brings the lab back to its starting state when an earlier scenario left it broken (podgate
   * exited, a node's BIRD stopped), so each scenario's verdict is about itself. Says so on stderr.
   */
  async function recover(): Promise<void> {
    if (!pg.running()) {
      console.error(
        `e2e: podgate was not running (an earlier scenario killed it); log tail:\n${pg.logs().slice(-3000)}`,
      );
      await pg.start();
    }
    for (const b of birds) {
      const up = (await b.birdc(["show", "status"], false).catch(() => "")).includes("Daemon is up");
      if (!up) await b.start();
    }
    await waitAllEstablished();
    await waitOfficeHas([POD_CIDR, SERVICE_CIDR], "the office router to have both aggregates");
    await waitKernel((m) => (m.get(SERVICE_CIDR)?.length ?? 0) === 3, "the service CIDR via all three nodes");
    // The advertise return path: every node routes the office LAN via the gateway.
    await waitFor(
      async () => {
        for (const h of nodeHosts) {
          const out = await h.run(["ip", "route", "show", OFFICE_LAN]);
          if (!out.includes(`via ${GW_CLUSTER_IP}`)) throw new Error(`${h.name}: ${out.trim()}`);
        }
        return true;
      },
      { timeoutMs: 15_000, what: "every node to route the office LAN via the gateway" },
    );
  }

  beforeAll(async () => {
    lab = new Lab("e2e");
    gw = await lab.addHost("gw");
    const site = await addClusterSite(lab, {
      gateway: gw,
      gatewayIp: GW_CLUSTER_IP,
      nodes: NODES,
      defaultVia: CLUSTER_LAN_ROUTER,
    });
    nodeHosts.push(...site.nodes);
    ({ office, laptop } = await addOfficeSite(lab, {
      gateway: gw,
      gatewayTransitIp: GW_TRANSIT_IP,
      officeTransitIp: OFFICE_TRANSIT_IP,
      lanIp: OFFICE_LAN_IP,
      laptopIp: LAPTOP_IP,
    }));
    // ECMP by 5-tuple on the gateway so several connections to the ClusterIP spread over nodes.
    await gw.sysctl("net.ipv4.fib_multipath_hash_policy", "1");
    for (const h of nodeHosts) {
      await installClusterIp(h, {
        clusterIp: CLUSTER_IP,
        port: POD_PORT,
        backendIp: SERVICE_BACKEND,
        podCidr: POD_CIDR,
      });
    }
    for (const [i, n] of NODES.entries()) await addPod(nodeHosts[i]!, n.pod.name, n.pod.ip);

    // Calico's serviceClusterIPs: every node announces the service CIDR.
    birds.push(...calicoMesh(nodeHosts, NODES, { gatewayIps: [GW_CLUSTER_IP], extraBlocks: [SERVICE_CIDR] }));
    // An office router in FRR's default graceful-restart helper mode: a restarting gateway can
    // keep its routes there.
    frr = officeFrr({
      host: office,
      routerId: OFFICE_TRANSIT_IP,
      asn: OFFICE_AS,
      gatewayIp: GW_TRANSIT_IP,
      gatewayAsn: CLUSTER_AS,
      gracefulRestartHelper: true,
    });
    await Promise.all([...birds.map((b) => b.start()), frr.start()]);
    await frr.announce(OFFICE_LAN);
    pg = new Podgate(gw, podgateConfig("advertise"), "podgate");
    await pg.start();
    await waitAllEstablished();
    await waitOfficeHas([POD_CIDR, SERVICE_CIDR], "the office router to learn both aggregates");
  }, 120_000);

  afterAll(async () => {
    if (process.env["PODGATE_E2E_LOGS"] === "1" && pg) console.log(pg.logs().slice(-20_000));
    await lab?.teardown();
  });

  it("1. laptop → every pod by ICMP and by TCP (HTTP)", async () => {
    for (const n of NODES) {
      await waitFor(async () => (await ping(laptop, n.pod.ip)).code === 0, {
        timeoutMs: 15_000,
        what: `laptop ping ${n.pod.ip}`,
      });
      const r = await ping(laptop, n.pod.ip, 3, 2);
      expect(r.stdout, r.stdout).toMatch(/3 packets transmitted, 3 received/);
      const h = await httpGet(laptop, n.pod.ip, POD_PORT);
      // The advertise return path keeps the laptop's own address end to end.
      expect(h).toEqual({ ok: true, pod: n.pod.name, from: LAPTOP_IP });
    }
    // podgate installed each block with its node as next hop.
    const k = await podgateRoutes(gw);
    for (const n of NODES) expect(k.get(n.block), JSON.stringify([...k])).toEqual([n.ip]);
  });

  it("2. laptop → ClusterIP 10.96.0.10:80 (DNAT on every node); service CIDR is ECMP over the nodes", async () => {
    const k = await waitKernel(
      (m) => (m.get(SERVICE_CIDR)?.length ?? 0) === 3,
      "service CIDR as ECMP over three nodes in the gateway's kernel",
    );
    expect(k.get(SERVICE_CIDR)).toEqual(NODES.map((n) => n.ip).sort());
    const before = await Promise.all(nodeHosts.map(clusterIpHits));
    const N = 12;
    for (let i = 0; i < N; i++) {
      const h = await httpGet(laptop, CLUSTER_IP, POD_PORT);
      expect(h, `request ${i}`).toMatchObject({ ok: true, pod: NODES[1]!.pod.name });
    }
    const after = await Promise.all(nodeHosts.map(clusterIpHits));
    const perNode = after.map((a, i) => a - before[i]!);
    // Every connection was DNATed by a node; with a 5-tuple hash more than one node served.
    expect(
      perNode.reduce((a, b) => a + b, 0),
      JSON.stringify(perNode),
    ).toBe(N);
    expect(perNode.filter((x) => x > 0).length, JSON.stringify(perNode)).toBeGreaterThanOrEqual(2);
  });

  it("7. a cluster peer's 0.0.0.0/0 and office prefix are filtered", async () => {
    const b = birds[0]!;
    const node1 = NODES[0]!.ip;
    const acceptedBefore = (await pg.peer(node1)).prefixesAccepted;
    const receivedBefore = (await pg.peer(node1)).prefixesReceived;
    try {
      await b.announce("0.0.0.0/0", { nextHop: CLUSTER_LAN_ROUTER });
      await b.announce(OFFICE_LAN, { nextHop: CLUSTER_LAN_ROUTER });
      // The routes did arrive (so the filter, not the transport, keeps them out).
      await waitFor(
        async () => {
          const p = await pg.peer(node1);
          if (p.prefixesReceived >= receivedBefore + 2) return true;
          throw new Error(JSON.stringify(p));
        },
        { timeoutMs: 15_000, what: "podgate to receive the two bogus routes from node1" },
      );
      expect((await pg.peer(node1)).prefixesAccepted).toBe(acceptedBefore);
      const rs = await pgRoutes();
      const bogus = rs.filter(
        (r) => r.peer === node1 && (r.prefix === "0.0.0.0/0" || r.prefix === OFFICE_LAN),
      );
      expect(bogus).toEqual([]);
      expect(rs.filter((r) => r.prefix === "0.0.0.0/0")).toEqual([]);
      // The office prefix is known only from the office router.
      expect(rs.filter((r) => r.prefix === OFFICE_LAN).map((r) => r.peer)).toEqual([OFFICE_TRANSIT_IP]);
      const k = await podgateRoutes(gw);
      expect(k.has("default")).toBe(false);
      expect(k.get(OFFICE_LAN)).toEqual([OFFICE_TRANSIT_IP]);
      const officeFromPg = (await officeRoutes()).map((r) => r.prefix);
      expect(officeFromPg).not.toContain("0.0.0.0/0");
    } finally {
      await b.withdraw("0.0.0.0/0");
      await b.withdraw(OFFICE_LAN);
    }
  });

  it("8. an unused pod address is refused by the gateway (ICMP unreachable, no loop)", async () => {
    const k = await podgateRoutes(gw);
    expect(k.get(POD_CIDR)).toEqual(["unreachable"]);
    expect(k.get(SERVICE_CIDR)?.length).toBe(3);
    const t0 = Date.now();
    const r = await ping(laptop, "10.244.200.1", 1, 3);
    const ms = Date.now() - t0;
    expect(r.code, r.stdout).not.toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(`From ${GW_TRANSIT_IP.replaceAll(".", "\\.")} .*Destination (Host|Net) Unreachable`),
    );
    expect(r.stdout).not.toMatch(/Time to live exceeded/);
    // Refused at once, not a 3 s timeout.
    expect(ms).toBeLessThan(2_000);
    const h = await httpGet(laptop, "10.244.200.1", POD_PORT, 3);
    expect(h.ok).toBe(false);
    if (!h.ok) expect(h.error).toMatch(/No route to host|Couldn't connect/i);
  });

  it("3. a new block on a node, with a new pod in it, becomes reachable", async () => {
    const block = "10.244.1.64/26";
    const ip = "10.244.1.66";
    await addPod(nodeHosts[0]!, "pod1b", ip);
    await birds[0]!.announce(block);
    await waitFor(
      async () => (await pgRoutes()).some((r) => r.prefix === block && r.peer === NODES[0]!.ip && r.best),
      { timeoutMs: 15_000, what: `podgate to learn ${block} from node1` },
    );
    await waitKernel((m) => m.get(block)?.[0] === NODES[0]!.ip, `${block} via node1 in the gateway's kernel`);
    await waitHttp(laptop, ip, POD_PORT, "pod1b");
    const r = await ping(laptop, ip, 2);
    expect(r.stdout).toMatch(/2 packets transmitted, 2 received/);
  });

  it("4. a node goes down: its block is withdrawn; a rescheduled pod on another node is reachable", async () => {
    const n3 = NODES[2]!;
    await birds[2]!.stop();
    await waitFor(async () => !(await pgRoutes()).some((r) => r.peer === n3.ip), {
      timeoutMs: 20_000,
      what: `podgate to drop every route from ${n3.name}`,
    });
    const k = await waitKernel(
      (m) => !m.has(n3.block) && (m.get(SERVICE_CIDR)?.length ?? 0) === 2,
      `${n3.block} gone and the service ECMP without ${n3.name} in the gateway's kernel`,
    );
    expect(k.get(SERVICE_CIDR)).toEqual([NODES[0]!.ip, NODES[1]!.ip]);
    // The office router still has the aggregates (other nodes remain), never the block itself.
    const off = (await officeRoutes()).map((r) => r.prefix);
    expect(off.sort()).toEqual([POD_CIDR, SERVICE_CIDR].sort());
    // The old pod address now hits the unreachable aggregate.
    const dead = await ping(laptop, n3.pod.ip, 1, 2);
    expect(dead.stdout).toMatch(/Unreachable/);

    // "Rescheduled": the pod comes back on node2 in a new block there.
    const block = "10.244.2.192/26";
    const ip = "10.244.2.194";
    await addPod(nodeHosts[1]!, "pod3r", ip);
    await birds[1]!.announce(block);
    await waitKernel((m) => m.get(block)?.[0] === NODES[1]!.ip, `${block} via node2 in the gateway's kernel`);
    const h = await waitHttp(laptop, ip, POD_PORT, "pod3r");
    expect(h.from).toBe(LAPTOP_IP);

    // node3 comes back for the next scenarios.
    await birds[2]!.start();
    await pg.waitEstablished([n3.ip], 30_000);
    await waitKernel((m) => m.get(n3.block)?.[0] === n3.ip, `${n3.block} back in the gateway's kernel`);
  });

  it("9. aggregates leave the office router when every node is gone, and come back with one node", async () => {
    await recover();
    await Promise.all(birds.map((b) => b.stop()));
    await waitOfficeHas([], "the office router to lose both aggregates");
    const k = await waitKernel(
      (m) => ![...m.keys()].some((p) => p.startsWith("10.244.") || p.startsWith("10.96.")),
      "no cluster route left in the gateway's kernel",
    );
    expect(k.has(POD_CIDR)).toBe(false);
    // The laptop now gets nothing back from the pods (no route at the office router).
    expect((await ping(laptop, NODES[0]!.pod.ip, 1, 1)).code).not.toBe(0);

    await birds[0]!.start();
    await waitOfficeHas([POD_CIDR, SERVICE_CIDR], "the aggregates to return with node1");
    await waitHttp(laptop, NODES[0]!.pod.ip, POD_PORT, NODES[0]!.pod.name);

    await Promise.all(birds.slice(1).map((b) => b.start()));
    await waitAllEstablished();
    await waitKernel((m) => (m.get(SERVICE_CIDR)?.length ?? 0) === 3, "all three nodes back");
  }, 90_000);

  it("5. podgate restart (SIGTERM, graceful restart): forwarding continues, the office router re-learns", async () => {
    await recover();
    await waitHttp(laptop, NODES[0]!.pod.ip, POD_PORT, NODES[0]!.pod.name);
    // 0.1 s interval for ~12 s across the restart.
    const loop = laptop.exec(["ping", "-n", "-i", "0.1", "-c", "120", "-W", "1", NODES[0]!.pod.ip], {
      timeoutMs: 30_000,
    });
    await new Promise((r) => setTimeout(r, 1000));
    const code = await pg.stop();
    expect(code).toBe(0);
    // Routes of ours stay in the kernel while podgate is down.
    const kept = await podgateRoutes(gw);
    expect(kept.get(NODES[0]!.block)).toEqual([NODES[0]!.ip]);
    await pg.start();
    const r = await loop;
    const m = /(\d+) packets transmitted, (\d+) received/.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    const lost = Number(m![1]) - Number(m![2]);
    await waitAllEstablished();
    await waitOfficeHas([POD_CIDR, SERVICE_CIDR], "the office router to re-learn the aggregates");
    await waitHttp(laptop, NODES[2]!.pod.ip, POD_PORT, NODES[2]!.pod.name);
    const errors = r.stdout.split("\n").filter((l) => l.startsWith("From "));
    const summary = r.stdout.split("\n").slice(-3).join("\n");
    expect(
      lost,
      `lost ${lost} of ${m![1]} pings across the restart\n${errors.join("\n")}\n${summary}`,
    ).toBeLessThanOrEqual(1);
  }, 90_000);

  /** Waits until no node has a route to the office LAN (only podgate ever gives them one). */
  async function waitNoOfficeRouteOnNodes(what: string): Promise<void> {
    await waitFor(
      async () => {
        for (const h of nodeHosts) {
          const out = await h.run(["ip", "route", "show", OFFICE_LAN]);
          if (out.trim() !== "") {
            const pgView = (await pgRoutes()).filter((r) => r.prefix === OFFICE_LAN);
            throw new Error(`${h.name}: ${out.trim()}; podgate: ${JSON.stringify(pgView)}`);
          }
        }
        return true;
      },
      { timeoutMs: 15_000, what },
    );
    for (const h of nodeHosts) {
      const via = await h.run(["ip", "route", "get", LAPTOP_IP]);
      expect(via).toContain(`via ${CLUSTER_LAN_ROUTER}`);
    }
  }

  it("6a. reload advertise → snat: podgate withdraws the office prefix from the nodes", async () => {
    await recover();
    for (const h of nodeHosts)
      expect(await h.run(["ip", "route", "show", OFFICE_LAN])).toContain(GW_CLUSTER_IP);
    await pg.reload({ ...(podgateConfig("snat") as PodgateYaml), api: { socket: pg.socket } });
    await waitNoOfficeRouteOnNodes("every node to drop its route to the office LAN after the reload");
  }, 60_000);

  it("6. returnPath snat (fresh start): no return route in the cluster, the pod sees the gateway", async () => {
    await pg.stop();
    pg.writeConfig({ ...(podgateConfig("snat") as PodgateYaml), api: { socket: pg.socket } });
    await pg.start();
    await waitAllEstablished();
    await waitOfficeHas([POD_CIDR, SERVICE_CIDR], "the office router to have both aggregates");
    await waitNoOfficeRouteOnNodes("no node to have a route to the office LAN in snat mode");
    for (const n of NODES) {
      const h = await waitHttp(laptop, n.pod.ip, POD_PORT, n.pod.name);
      expect(h.from).toBe(GW_CLUSTER_IP);
    }
    // ICMP too (masquerade handles it), and the ClusterIP through a node's DNAT.
    expect((await ping(laptop, NODES[2]!.pod.ip, 2)).stdout).toMatch(/2 packets transmitted, 2 received/);
    expect(await httpGet(laptop, CLUSTER_IP, POD_PORT)).toMatchObject({
      ok: true,
      pod: NODES[1]!.pod.name,
    });
  }, 60_000);
});
