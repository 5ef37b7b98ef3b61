/**
 * End to end over IPv6 (issue 3 left it out of the lab): dual-stack calico-node BIRDs peer with
 * podgate over IPv4 and over IPv6 (one session per family, as calico-node does), advertise a v4
 * /26 and a v6 /122 block each, and podgate installs both families in the gateway's kernel; a
 * dual-stack laptop then reaches a pod by ping and TCP over IPv6 as well as IPv4, and a node
 * going away withdraws its v6 block. Return path: routes by hand on the nodes (returnPath none):
 * the suite is about IPv6 forwarding through podgate's routes, not the return-path modes.
 *
 * Lab: gateway and two nodes on one dual-stack LAN (192.168.40.0/24, fd00:40::/64), a pod per
 * node plumbed like Calico (v4 /32 and v6 /128 on eth0, default routes via the node), a laptop
 * linked straight to the gateway (10.10.0.0/24, fd00:10::/64).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Podgate, type PodgateYaml } from "../interop/podgate.ts";
import { type BirdDaemon, calicoNode } from "../lab/daemons/bird.ts";
import { type Host, Lab, labPrereqs, waitFor } from "../lab/netns.ts";
import { httpGet, type KernelRouteJson, kernelRoutes, ping } from "../lab/probes.ts";
import { addCalicoPod, addLaptop } from "../lab/sites.ts";

const skip = labPrereqs(["bird", "birdc", "curl", "ping", "node"]);

const GW_IP = "192.168.40.10";
const GW_IP6 = "fd00:40::10";
const GW_LAPTOP_IP = "10.10.0.1";
const GW_LAPTOP_IP6 = "fd00:10::1";
const LAPTOP_IP = "10.10.0.50";
const LAPTOP_IP6 = "fd00:10::50";
const OFFICE_LAN = "10.10.0.0/24";
const OFFICE_LAN6 = "fd00:10::/64";
const POD_PORT = 8080;

const NODES = [
  {
    name: "node1",
    ip: "192.168.40.101",
    ip6: "fd00:40::101",
    block: "10.244.1.0/26",
    block6: "fd10:244:0:1::/122",
    pod: { name: "pod1", ip: "10.244.1.2", ip6: "fd10:244:0:1::2" },
  },
  {
    name: "node2",
    ip: "192.168.40.102",
    ip6: "fd00:40::102",
    block: "10.244.2.0/26",
    block6: "fd10:244:0:2::/122",
    pod: { name: "pod2", ip: "10.244.2.2", ip6: "fd10:244:0:2::2" },
  },
] as const;

function podgateConfig(): Omit<PodgateYaml, "api"> {
  return {
    routerId: GW_IP,
    asn: 64512,
    defaults: { connectRetryTime: 1 },
    log: { level: "info" },
    cluster: { podCIDRs: ["10.244.0.0/16", "fd10:244::/56"] },
    office: { prefixes: [OFFICE_LAN, OFFICE_LAN6] },
    returnPath: { mode: "none" },
    peers: NODES.flatMap((n) => [
      { name: n.name, address: n.ip, asn: 64512 },
      { name: `${n.name}-v6`, address: n.ip6, asn: 64512 },
    ]),
  } as Omit<PodgateYaml, "api">;
}

/** A TCP server on the pod's IPv6 address answering {pod, from} (sites.ts's server is IPv4-only). */
function serveV6(pod: Host, name: string, ip6: string): void {
  const script = `require("node:http").createServer((q,s)=>{s.setHeader("connection","close");s.end(JSON.stringify({pod:${JSON.stringify(name)},from:q.socket.remoteAddress}))}).listen(${POD_PORT},${JSON.stringify(ip6)})`;
  pod.spawn(["node", "-e", script], { logName: `${name}-http6.log` });
}

describe.skipIf(!!skip)("e2e: IPv6 pods through podgate (dual-stack nodes, one session per family)", () => {
  let lab: Lab;
  let gw: Host;
  let laptop: Host;
  const nodeHosts: Host[] = [];
  const birds: BirdDaemon[] = [];
  let pg: Podgate;

  beforeAll(async () => {
    lab = new Lab("v6");
    gw = await lab.addHost("gw");
    for (const n of NODES) nodeHosts.push(await lab.addHost(n.name));
    await lab.bridge([
      { host: gw, addr: `${GW_IP}/24`, addr6: `${GW_IP6}/64` },
      ...NODES.map((n, i) => ({ host: nodeHosts[i]!, addr: `${n.ip}/24`, addr6: `${n.ip6}/64` })),
    ]);
    laptop = await addLaptop(lab, gw, { routerIp: GW_LAPTOP_IP, laptopIp: LAPTOP_IP });
    /** The interface of a host that holds an IPv4 address (addLaptop's link ends). */
    const devOf = async (h: Host, ip: string) =>
      (
        JSON.parse(await h.run(["ip", "-j", "-4", "addr", "show"])) as {
          ifname: string;
          addr_info: { local: string }[];
        }[]
      ).find((l) => l.addr_info.some((a) => a.local === ip))!.ifname;
    await gw.addAddr(await devOf(gw, GW_LAPTOP_IP), `${GW_LAPTOP_IP6}/64`);
    const laptopDev = await devOf(laptop, LAPTOP_IP);
    await laptop.addAddr(laptopDev, `${LAPTOP_IP6}/64`);
    await laptop.run(["ip", "-6", "route", "add", "default", "via", GW_LAPTOP_IP6]);
    await gw.sysctl("net.ipv6.conf.all.forwarding", "1");

    for (const [i, n] of NODES.entries()) {
      const node = nodeHosts[i]!;
      await node.sysctl("net.ipv4.ip_forward", "1");
      await node.sysctl("net.ipv6.conf.all.forwarding", "1");
      // A default route (proxy ARP for 169.254.1.1 needs a routable address) and the way back
      // to the laptop (returnPath none: by hand).
      await node.run(["ip", "route", "add", "default", "via", "192.168.40.1"]);
      await node.run(["ip", "route", "add", OFFICE_LAN, "via", GW_IP]);
      await node.run(["ip", "-6", "route", "add", OFFICE_LAN6, "via", GW_IP6]);
      const pod = await addCalicoPod(lab, node, { name: n.pod.name, ip: n.pod.ip, http: { port: POD_PORT } });
      // Calico's IPv6 plumbing: a /128 on the pod's eth0, default route via the node end's
      // link-local address, a /128 route to the pod on the node.
      await pod.host.addAddr("eth0", `${n.pod.ip6}/128`);
      const ll = (
        JSON.parse(
          await node.run(["ip", "-j", "-6", "addr", "show", "dev", pod.nodeIf, "scope", "link"]),
        ) as {
          addr_info: { local: string }[];
        }[]
      )[0]!.addr_info[0]!.local;
      await pod.host.run(["ip", "-6", "route", "add", "default", "via", ll, "dev", "eth0"]);
      await node.run(["ip", "-6", "route", "add", `${n.pod.ip6}/128`, "dev", pod.nodeIf]);
      serveV6(pod.host, n.pod.name, n.pod.ip6);
      birds.push(
        calicoNode({
          host: node,
          nodeIp: n.ip,
          nodeIp6: n.ip6,
          peers: [{ address: GW_IP }, { address: GW_IP6 }],
          blocks: [n.block, n.block6],
        }),
      );
    }
    await Promise.all(birds.map((b) => b.start()));
    pg = new Podgate(gw, podgateConfig());
    await pg.start();
  }, 120_000);

  afterAll(async () => {
    await pg?.stop().catch(() => undefined);
    await Promise.all(birds.map((b) => b.stop().catch(() => undefined)));
    await lab?.teardown();
  });

  const podgateRoutesByDst = async () => {
    const v6 = JSON.parse(
      await gw.run(["ip", "-j", "-6", "route", "show", "proto", "201"]),
    ) as KernelRouteJson[];
    const rs = [...(await kernelRoutes(gw, ["proto", "201"])), ...v6];
    return new Map(rs.map((r) => [r.dst, r.gateway ?? ""]));
  };

  it("installs every node's v4 and v6 block with the node's address of that family as next hop", async () => {
    await waitFor(
      async () => {
        const m = await podgateRoutesByDst();
        const ok = NODES.every((n) => m.get(n.block) === n.ip && m.get(n.block6) === n.ip6);
        if (ok) return true;
        throw new Error(JSON.stringify([...m]));
      },
      { timeoutMs: 30_000, what: "v4 and v6 blocks in the gateway's kernel" },
    );
  }, 60_000);

  it("the laptop reaches every pod over IPv6 (ping, TCP) and IPv4, with its own address", async () => {
    for (const n of NODES) {
      await waitFor(async () => (await ping(laptop, n.pod.ip6)).code === 0, {
        timeoutMs: 15_000,
        what: `laptop ping ${n.pod.ip6}`,
      });
      const r6 = await httpGet(laptop, `[${n.pod.ip6}]`, POD_PORT);
      expect(r6).toEqual({ ok: true, pod: n.pod.name, from: LAPTOP_IP6 });
      expect(await httpGet(laptop, n.pod.ip, POD_PORT)).toEqual({
        ok: true,
        pod: n.pod.name,
        from: LAPTOP_IP,
      });
    }
  });

  it("a node going away withdraws its v6 block; the other node's stays", async () => {
    await birds[0]!.stop();
    await waitFor(
      async () => {
        const m = await podgateRoutesByDst();
        if (!m.has(NODES[0].block6) && m.get(NODES[1].block6) === NODES[1].ip6) return true;
        throw new Error(JSON.stringify([...m]));
      },
      { timeoutMs: 30_000, what: "node1's v6 block withdrawn" },
    );
    expect((await ping(laptop, NODES[0].pod.ip6)).code).not.toBe(0);
    expect((await ping(laptop, NODES[1].pod.ip6)).code).toBe(0);
  }, 60_000);
});
