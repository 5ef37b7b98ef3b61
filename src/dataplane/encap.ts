/**
 * Which next hops go through a tunnel (issue 5 §2): the rule that turns a cluster route's next
 * hop (a node address) into `via NODE dev <ipip> onlink` instead of a plain `via NODE`. Pure apart
 * from the default connected-subnet check, which reads this host's interface addresses.
 *
 * Modes follow Calico's IPPool ipipMode: "Always" encapsulates toward every node,
 * "CrossSubnet" only toward nodes that are not on a subnet this host is directly attached to
 * (on the same L2 a plain route works and saves 20 bytes a packet).
 */
import { networkInterfaces } from "node:os";
import type { Path } from "../bgp/rib/path.ts";
import { type Cidr, containsCidr, parseCidr } from "../discovery/cidr.ts";
import type { KernelNextHop } from "./types.ts";

export type EncapMode = "Always" | "CrossSubnet";

/** The kernel next hop for one path's next hop address. */
export type NextHopResolver = (nextHop: string, path: Path) => KernelNextHop;

export const plainNextHop: NextHopResolver = (nextHop) => ({ gateway: nextHop });

export interface IpipEncapOptions {
  readonly ifindex: number;
  readonly mode: EncapMode;
  /** True when `addr` is inside a subnet of one of this host's interfaces (CrossSubnet only). */
  readonly onConnectedSubnet: (addr: string) => boolean;
}

/**
 * Cluster routes (BGP from cluster peers, and the Kubernetes-derived ones, whose pseudo-peers
 * also have role cluster) over IPv4 next hops go through the ipip device; everything else —
 * office and gateway routes, IPv6 — stays plain.
 */
export function ipipResolver(o: IpipEncapOptions): NextHopResolver {
  return (nextHop, path) => {
    if (path.peer.role !== "cluster" || nextHop.includes(":")) return { gateway: nextHop };
    if (o.mode === "CrossSubnet" && o.onConnectedSubnet(nextHop)) return { gateway: nextHop };
    return { gateway: nextHop, ifindex: o.ifindex, onlink: true };
  };
}

/** Builds the subnet test from interface address/prefix pairs (e.g. "10.0.0.1/24"); IPv4 only. */
export function subnetMatcher(cidrs: Iterable<string>): (addr: string) => boolean {
  const nets: Cidr[] = [];
  for (const c of cidrs) {
    const net = c.includes("/") ? parseCidr(c) : undefined;
    if (net?.family === 4 && net.len > 0) nets.push(net);
  }
  return (addr) => {
    const ip = parseCidr(addr);
    return !!ip && nets.some((n) => containsCidr(n, ip));
  };
}

/**
 * The default CrossSubnet test: this host's IPv4 interface subnets (loopback and the listed
 * devices — the tunnels themselves — excluded), re-read at most every 10 s so an address added
 * later counts without a restart.
 */
export function connectedSubnetCheck(excludeDevices: readonly string[] = []): (addr: string) => boolean {
  let match: (addr: string) => boolean = () => false;
  let at = -Infinity;
  return (addr) => {
    const now = Date.now();
    if (now - at > 10_000) {
      const cidrs: string[] = [];
      for (const [dev, addrs] of Object.entries(networkInterfaces())) {
        if (excludeDevices.includes(dev)) continue;
        for (const a of addrs ?? []) if (a.family === "IPv4" && !a.internal && a.cidr) cidrs.push(a.cidr);
      }
      match = subnetMatcher(cidrs);
      at = now;
    }
    return match(addr);
  };
}
