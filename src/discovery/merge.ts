/**
 * Joins what the config says with what the Kubernetes API says: discovered nodes become
 * cluster peers (configured peers with the same address win), and empty `cluster.podCIDRs` /
 * `serviceCIDRs` are filled from the cluster — `serviceCIDRs` with every service range: the
 * ClusterIP ranges and the external / LoadBalancer IP ranges Calico advertises over BGP. Pure:
 * the daemon hands the result to Speaker.reconfigure, which keeps unchanged sessions up.
 *
 * The config always wins: a non-empty `cluster.serviceCIDRs` is used as written. What the
 * cluster advertises beyond it is named by `mergeWarnings` (log each once: `warnOnce`), and
 * `clusterStaticRoutes` leaves those ranges out of the static routes too.
 */
import type { PeerConfig, PodgateConfig } from "../config/types.ts";
import { type Cidr, containsCidr, parseCidr } from "./cidr.ts";
import { type ClusterState, desiredPeers, type StaticRoute, serviceRanges, staticRoutes } from "./model.ts";

export function effectiveConfig(base: PodgateConfig, state: ClusterState | undefined): PodgateConfig {
  const k = base.kubernetes;
  if (!k.enabled || !state) return base;
  const peers: PeerConfig[] = [...base.peers];
  if (k.peers) {
    const taken = new Set(base.peers.map((p) => p.address));
    const names = new Set(base.peers.map((p) => p.name));
    for (const d of desiredPeers(state, k.nodeSelector ? { nodeSelector: k.nodeSelector } : {})) {
      if (taken.has(d.address)) continue;
      taken.add(d.address);
      const name = names.has(d.name) ? `${d.name}-${d.address}` : d.name;
      names.add(name);
      peers.push({
        address: d.address,
        asn: d.asn,
        name,
        role: "cluster",
        port: 179,
        passive: false,
        holdTime: base.defaults.holdTime,
        connectRetryTime: base.defaults.connectRetryTime,
        ttlSecurity: false,
        families: d.address.includes(":") ? ["ipv6"] : ["ipv4"],
        addPath: "receive",
        nextHopSelf: true,
        gracefulRestart: true,
        enabled: true,
      });
    }
  }
  const cluster = {
    podCIDRs: base.cluster.podCIDRs.length > 0 ? base.cluster.podCIDRs : state.podCIDRs,
    // Every service range: the role defaults (src/bgp/policy/effective.ts) accept routes inside
    // cluster.serviceCIDRs from cluster peers and aggregate-advertise them to the office, and the
    // speaker's service fallback routes each of them by ECMP to the Established cluster peers.
    serviceCIDRs: base.cluster.serviceCIDRs.length > 0 ? base.cluster.serviceCIDRs : serviceRanges(state),
  };
  return { ...base, peers, cluster };
}

function parsed(list: readonly string[]): Cidr[] {
  return list.map((c) => parseCidr(c)).filter((c) => c !== undefined);
}

/** External / LoadBalancer ranges of the cluster that the config's cluster CIDRs do not cover. */
function uncoveredExternal(base: PodgateConfig, state: ClusterState): string[] {
  if (base.cluster.serviceCIDRs.length === 0) return [];
  const declared = parsed([...base.cluster.podCIDRs, ...base.cluster.serviceCIDRs]);
  return state.serviceExternalCIDRs
    .filter((e) => !declared.some((d) => containsCidr(d, parseCidr(e.cidr)!)))
    .map((e) => `${e.cidr} (BGPConfiguration default ${e.sources.join(", ")})`);
}

/**
 * What an operator should know about the merge, as stable text (same input, same text): today,
 * service external / LoadBalancer ranges the cluster advertises over BGP while the config's
 * explicit `cluster.serviceCIDRs` (and podCIDRs) leave them out — podgate then rejects their
 * routes from the nodes, does not advertise them to the office and installs no static route.
 */
export function mergeWarnings(base: PodgateConfig, state: ClusterState | undefined): string[] {
  if (!base.kubernetes.enabled || !state) return [];
  const missing = uncoveredExternal(base, state);
  if (missing.length === 0) return [];
  return [
    "the cluster advertises service external/LoadBalancer ranges that cluster.serviceCIDRs in " +
      `the config does not list: ${missing.join(", ")}; podgate neither accepts their routes from ` +
      "the nodes nor advertises them to the office; add them to cluster.serviceCIDRs, or leave it " +
      "empty to take every service range from the cluster",
  ];
}

/**
 * Static routes (static mode) with the config's word on service ranges: `staticRoutes(state)`
 * less the external / LoadBalancer ranges an explicit `cluster.serviceCIDRs` leaves out, so the
 * gateway does not route a range it neither accepts over BGP nor advertises.
 */
export function clusterStaticRoutes(base: PodgateConfig, state: ClusterState): StaticRoute[] {
  const all = staticRoutes(state);
  if (!base.kubernetes.enabled || base.cluster.serviceCIDRs.length === 0) return all;
  const declared = parsed([...base.cluster.podCIDRs, ...base.cluster.serviceCIDRs]);
  return all.filter(
    (r) => r.kind !== "service-external" || declared.some((d) => containsCidr(d, parseCidr(r.prefix)!)),
  );
}

/**
 * Logs each message once while it lasts: call the result with the current messages after every
 * change; a message is passed to `sink` when it appears, and again only after it went away and
 * came back.
 */
export function warnOnce(sink: (message: string) => void): (messages: readonly string[]) => void {
  let active = new Set<string>();
  return (messages) => {
    const next = new Set(messages);
    for (const m of next) if (!active.has(m)) sink(m);
    active = next;
  };
}
