/**
 * Joins what the config says with what the Kubernetes API says: discovered nodes become
 * cluster peers (configured peers with the same address win), and empty `cluster.podCIDRs` /
 * `serviceCIDRs` are filled from the cluster. Pure: the daemon hands the result to
 * Speaker.reconfigure, which keeps unchanged sessions up.
 */
import type { PeerConfig, PodgateConfig } from "../config/types.ts";
import { type ClusterState, desiredPeers } from "./model.ts";

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
    serviceCIDRs: base.cluster.serviceCIDRs.length > 0 ? base.cluster.serviceCIDRs : state.serviceCIDRs,
  };
  return { ...base, peers, cluster };
}
