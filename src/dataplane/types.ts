/**
 * The dataplane's desired-state vocabulary: one kernel route as podgate wants it (or finds it),
 * independent of how it is installed. Everything above the backend (reconcile, KernelSync)
 * speaks only this type; the rtnetlink codec is the one place that knows the wire layout.
 */

/**
 * Route types podgate installs: "unreachable" answers ICMP unreachable, "blackhole" drops
 * silently. "other" only appears in routes READ from the kernel (prohibit, throw, local …): podgate
 * never installs one, but reconcile must still see it to leave it alone.
 */
export type KernelRouteType = "unicast" | "unreachable" | "blackhole" | "other";

export interface KernelNextHop {
  /** Gateway address text (canonical); "" for a device route (then ifindex is required). */
  readonly gateway: string;
  /** Outgoing interface; required for IPv6 link-local gateways, optional otherwise. */
  readonly ifindex?: number;
  /** ECMP weight 1..256 (kernel rtnh_hops + 1); 1 when absent. */
  readonly weight?: number;
  /**
   * RTNH_F_ONLINK: the gateway is reachable on `ifindex` even though no prefix of that device
   * covers it (Calico's `via NODE dev tunl0 onlink`). Needs ifindex.
   */
  readonly onlink?: boolean;
}

export interface KernelRoute {
  /** Canonical prefix text, host bits zero: "10.244.1.0/26", "fd00:10::/64". */
  readonly prefix: string;
  readonly family: 4 | 6;
  readonly type: KernelRouteType;
  /** Empty for unreachable/blackhole; more than one member is an ECMP route. */
  readonly nextHops: readonly KernelNextHop[];
  /** Routing table id (254 = main). Tables above 255 are fine. */
  readonly table: number;
  /** rtm_protocol: who installed the route. podgate's own is configurable (default 201). */
  readonly protocol: number;
  /** RTA_PRIORITY (the metric ip route shows); 0 when absent. */
  readonly metric?: number;
}

/** The kernel's main routing table (RT_TABLE_MAIN). */
export const RT_TABLE_MAIN = 254;

/**
 * podgate's default rtm_protocol. Not in iproute2's rt_protos list (186 bgp … 192 eigrp, 99
 * openr) nor FRR's (186–197, where 196 is staticd: a gateway also running FRR would have its
 * static routes taken for ours). gateway/install.sh registers `201 podgate` in
 * /etc/iproute2/rt_protos.d/podgate.conf so `ip route` prints the name.
 */
export const RTPROT_PODGATE = 201;

/**
 * Default metric for podgate's routes. Non-zero on purpose: an IPv4 NLM_F_REPLACE overwrites the
 * route with the same (prefix, tos, metric) whatever its protocol, so installing with metric 0
 * could clobber a connected (proto kernel, metric 0) or static route of the same prefix. 20 is
 * what zebra uses for BGP routes.
 */
export const DEFAULT_METRIC = 20;

/** Identity of a route inside one table, as the kernel keys it for replace/delete (prefix + metric). */
export function routeKey(r: Pick<KernelRoute, "prefix" | "table" | "metric">): string {
  return `${r.table}|${r.prefix}|${r.metric ?? 0}`;
}
