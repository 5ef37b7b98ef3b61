/**
 * Sites for namespace lab suites, built from `Lab` hosts the way the real networks look:
 *
 * - a cluster site: node namespaces on a LAN with the gateway, or (two-subnet topology, e.g.
 *   Calico CrossSubnet/IPIP) on their own subnet behind a router namespace; each node forwards
 *   and has a default route (proxy ARP answers the pods' 169.254.1.1 only for a routable address);
 * - pods plumbed the way Calico does it (/32 on eth0, veth, proxy ARP with proxy_delay 0, /32
 *   route on the node), optionally serving `{pod, from}` over HTTP (and N bytes on /big);
 * - a kube-proxy-like ClusterIP (nft DNAT on a node) and its hit counter;
 * - calico-node BIRD for every node (full iBGP mesh plus the gateway as a multihop peer);
 * - an office site (FRR router on a /30 transit to the gateway, a laptop on the office LAN) or a
 *   laptop linked straight to the gateway.
 *
 * Addresses are the caller's (inside namespaces the lab creates); nothing here starts podgate.
 */
import { type BirdDaemon, calicoNode } from "./daemons/bird.ts";
import { FrrDaemon } from "./daemons/frr.ts";
import { type Host, type Lab, waitFor } from "./netns.ts";

/** One cluster node: its name (namespace), address, own /26 block and optionally its first pod. */
export interface ClusterNodeSpec {
  readonly name: string;
  readonly ip: string;
  readonly block: string;
  readonly pod?: { readonly name: string; readonly ip: string };
}

/** The router namespace between the gateway's subnet and the nodes' subnet. */
export interface ClusterRouterSpec {
  /** Host name (default "router"). */
  readonly name?: string;
  /** The router's address on the gateway's LAN (the gateway's prefix length). */
  readonly gatewaySideIp: string;
  /** The router's address on the nodes' LAN: the nodes' default route. */
  readonly nodeSideIp: string;
  /** The nodes' subnet (its length is the nodes' prefix length); the gateway routes it via the router. */
  readonly nodeSubnet: string;
}

export interface ClusterSiteOptions {
  /** The gateway's namespace: it joins the cluster LAN (with `router`: the router's gateway-side LAN). */
  readonly gateway: Host;
  readonly gatewayIp: string;
  readonly nodes: readonly ClusterNodeSpec[];
  /** Prefix length of the gateway's LAN (and of the nodes' when there is no router). Default 24. */
  readonly prefixLen?: number;
  /**
   * The nodes' default route on a one-subnet LAN: an address nobody answers (the LAN's router
   * is not modelled). Ignored with `router` (the router is the default route then).
   */
  readonly defaultVia?: string;
  /** Two-subnet topology: the nodes on `router.nodeSubnet`, reached through a router namespace. */
  readonly router?: ClusterRouterSpec;
}

export interface ClusterSite {
  /** The node namespaces, in `nodes` order. */
  readonly nodes: readonly Host[];
  /** The router namespace (two-subnet topology only). */
  readonly router?: Host;
}

/**
 * Creates the node namespaces and their LAN(s); nodes forward and get their default route.
 * One subnet: gateway and nodes on one bridge. With `router`: gateway and router on one bridge,
 * router and nodes on another; the gateway routes the nodes' subnet via the router.
 */
export async function addClusterSite(lab: Lab, o: ClusterSiteOptions): Promise<ClusterSite> {
  const len = o.prefixLen ?? 24;
  const nodes: Host[] = [];
  for (const n of o.nodes) nodes.push(await lab.addHost(n.name));
  let router: Host | undefined;
  let defaultVia = o.defaultVia;
  if (o.router) {
    const r = o.router;
    const nodeLen = Number(r.nodeSubnet.split("/")[1]);
    router = await lab.addHost(r.name ?? "router");
    await lab.bridge([
      { host: o.gateway, addr: `${o.gatewayIp}/${len}` },
      { host: router, addr: `${r.gatewaySideIp}/${len}` },
    ]);
    await lab.bridge([
      { host: router, addr: `${r.nodeSideIp}/${nodeLen}` },
      ...o.nodes.map((n, i) => ({ host: nodes[i]!, addr: `${n.ip}/${nodeLen}` })),
    ]);
    await router.sysctl("net.ipv4.ip_forward", "1");
    await o.gateway.run(["ip", "route", "add", r.nodeSubnet, "via", r.gatewaySideIp]);
    defaultVia = r.nodeSideIp;
  } else {
    await lab.bridge([
      { host: o.gateway, addr: `${o.gatewayIp}/${len}` },
      ...o.nodes.map((n, i) => ({ host: nodes[i]!, addr: `${n.ip}/${len}` })),
    ]);
  }
  if (!defaultVia) throw new Error("addClusterSite: defaultVia (or router) is required");
  for (const h of nodes) {
    await h.sysctl("net.ipv4.ip_forward", "1");
    await h.run(["ip", "route", "add", "default", "via", defaultVia]);
  }
  return router ? { nodes, router } : { nodes };
}

/** A pod's HTTP server: answers `{pod, from}` on `/` (and `bigBytes` bytes on `/big`). */
export interface PodHttpOptions {
  readonly port: number;
  readonly bigBytes?: number;
}

export interface CalicoPod {
  readonly host: Host;
  /** The node end of the pod's veth (the `cali…` interface). */
  readonly nodeIf: string;
}

const podCounters = new WeakMap<Lab, number>();

/**
 * A pod the way Calico plumbs it: a namespace (`<name>x<n>`, unique in the lab) with `ip/32` on
 * its veth, default route via 169.254.1.1 answered by proxy ARP (proxy_delay 0) on the node end,
 * and a /32 route to it on the node. With `http`, starts the pod's server and waits for it.
 */
export async function addCalicoPod(
  lab: Lab,
  node: Host,
  pod: { readonly name: string; readonly ip: string; readonly http?: PodHttpOptions },
): Promise<CalicoPod> {
  const n = podCounters.get(lab) ?? 0;
  podCounters.set(lab, n + 1);
  const host = await lab.addHost(`${pod.name}x${n}`);
  const { aIf, bIf } = await lab.link(node, host, { bAddr: `${pod.ip}/32` });
  await host.run(["ip", "route", "add", "169.254.1.1", "dev", bIf, "scope", "link"]);
  await host.run(["ip", "route", "add", "default", "via", "169.254.1.1", "dev", bIf]);
  await node.sysctl(`net.ipv4.conf.${aIf}.proxy_arp`, "1");
  await node.sysctl(`net.ipv4.neigh.${aIf}.proxy_delay`, "0");
  await node.run(["ip", "route", "add", `${pod.ip}/32`, "dev", aIf]);
  if (pod.http) await startPodHttp(host, pod.name, pod.ip, pod.http);
  return { host, nodeIf: aIf };
}

async function startPodHttp(host: Host, name: string, ip: string, o: PodHttpOptions): Promise<void> {
  const big = o.bigBytes === undefined ? "" : `const big=Buffer.alloc(${o.bigBytes},120);`;
  const bigRoute =
    o.bigBytes === undefined
      ? ""
      : `if(q.url==="/big"){s.setHeader("content-length",String(big.length));s.end(big);return;}`;
  const script = `${big}require("node:http").createServer((q,s)=>{s.setHeader("connection","close");${bigRoute}s.end(JSON.stringify({pod:${JSON.stringify(name)},from:q.socket.remoteAddress}))}).listen(${o.port},"0.0.0.0")`;
  host.spawn(["node", "-e", script], { logName: `${name}-http.log` });
  await waitFor(
    async () => (await host.exec(["curl", "-s", "--max-time", "1", `http://${ip}:${o.port}/`])).code === 0,
    { timeoutMs: 10_000, what: `${name}'s HTTP server` },
  );
}

export interface ClusterIpOptions {
  readonly clusterIp: string;
  readonly port: number;
  /** The backend pod's address and port (default: `port`). */
  readonly backendIp: string;
  readonly backendPort?: number;
  /** Sources inside this CIDR keep their address; others are masqueraded (like kube-proxy). */
  readonly podCidr: string;
}

/** A kube-proxy-like Service on a node: DNAT the ClusterIP to the backend (nft table `pgsvc`). */
export async function installClusterIp(node: Host, o: ClusterIpOptions): Promise<void> {
  const rules = `table ip pgsvc {
  chain pre {
    type nat hook prerouting priority dstnat; policy accept;
    ip daddr ${o.clusterIp} tcp dport ${o.port} counter dnat to ${o.backendIp}:${o.backendPort ?? o.port}
  }
  chain post {
    type nat hook postrouting priority srcnat; policy accept;
    ct status dnat ip saddr != ${o.podCidr} masquerade
  }
}
`;
  const r = await node.exec(["nft", "-f", "-"], { input: rules });
  if (r.code !== 0) throw new Error(`nft on ${node.name}: ${r.stderr}`);
}

/** Packets DNATed by the node's ClusterIP rule so far (NaN if the rule is missing). */
export async function clusterIpHits(node: Host): Promise<number> {
  const out = await node.run(["nft", "list", "chain", "ip", "pgsvc", "pre"]);
  return Number(/counter packets (\d+)/.exec(out)?.[1] ?? Number.NaN);
}

/**
 * calico-node's BIRD on every node (not started): the full iBGP node-to-node mesh, each
 * `gatewayIps` address as a multihop peer, and the node's block plus `extraBlocks` (e.g. a
 * service CIDR, like Calico's serviceClusterIPs) exported.
 */
export function calicoMesh(
  hosts: readonly Host[],
  nodes: readonly ClusterNodeSpec[],
  o: {
    readonly gatewayIps: readonly string[];
    readonly extraBlocks?: readonly string[];
    readonly asn?: number;
  },
): BirdDaemon[] {
  return nodes.map((n, i) =>
    calicoNode({
      host: hosts[i]!,
      nodeIp: n.ip,
      peers: [
        ...o.gatewayIps.map((address) => ({ address })),
        ...nodes.filter((other) => other !== n).map((other) => ({ address: other.ip, meshNode: true })),
      ],
      blocks: [n.block, ...(o.extraBlocks ?? [])],
      ...(o.asn !== undefined ? { asn: o.asn } : {}),
    }),
  );
}

export interface OfficeSiteOptions {
  /** The gateway's namespace: linked to the office router by a /30. */
  readonly gateway: Host;
  readonly gatewayTransitIp: string;
  readonly officeTransitIp: string;
  /** The office router's address on the office LAN (the laptop's default route). */
  readonly lanIp: string;
  readonly laptopIp: string;
  /** Office LAN prefix length (default 24). */
  readonly prefixLen?: number;
}

/** An office: router namespace (forwarding) on a /30 to the gateway, a laptop on a bridged LAN. */
export async function addOfficeSite(lab: Lab, o: OfficeSiteOptions): Promise<{ office: Host; laptop: Host }> {
  const len = o.prefixLen ?? 24;
  const office = await lab.addHost("office");
  const laptop = await lab.addHost("laptop");
  await lab.bridge([
    { host: office, addr: `${o.lanIp}/${len}` },
    { host: laptop, addr: `${o.laptopIp}/${len}` },
  ]);
  await lab.link(o.gateway, office, { aAddr: `${o.gatewayTransitIp}/30`, bAddr: `${o.officeTransitIp}/30` });
  await laptop.run(["ip", "route", "add", "default", "via", o.lanIp]);
  await office.sysctl("net.ipv4.ip_forward", "1");
  return { office, laptop };
}

/** A laptop linked straight to a router (e.g. the gateway): default route via it; the router forwards. */
export async function addLaptop(
  lab: Lab,
  router: Host,
  o: { readonly routerIp: string; readonly laptopIp: string; readonly prefixLen?: number },
): Promise<Host> {
  const len = o.prefixLen ?? 24;
  const laptop = await lab.addHost("laptop");
  await lab.link(router, laptop, { aAddr: `${o.routerIp}/${len}`, bAddr: `${o.laptopIp}/${len}` });
  await laptop.run(["ip", "route", "add", "default", "via", o.routerIp]);
  await router.sysctl("net.ipv4.ip_forward", "1");
  return laptop;
}

/**
 * The office router: FRR peering with the gateway (not started). `gracefulRestartHelper` keeps
 * FRR's default GR helper mode (the launcher turns GR off for interop tests), so a restarting
 * gateway keeps its routes there.
 */
export function officeFrr(o: {
  readonly host: Host;
  readonly routerId: string;
  readonly asn: number;
  readonly gatewayIp: string;
  readonly gatewayAsn: number;
  readonly instance?: string;
  readonly gracefulRestartHelper?: boolean;
}): FrrDaemon {
  return new FrrDaemon({
    host: o.host,
    routerId: o.routerId,
    asn: o.asn,
    instance: o.instance ?? "frr-office",
    neighbors: [{ address: o.gatewayIp, asn: o.gatewayAsn }],
    ...(o.gracefulRestartHelper
      ? { extraConfig: `router bgp ${o.asn}\n no bgp graceful-restart-disable\n!` }
      : {}),
  });
}
