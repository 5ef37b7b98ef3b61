/**
 * Which policy a peer actually gets — the single place where podgate's defaults live.
 */
import type { PeerConfig, PodgateConfig } from "../../config/types.ts";
import { ACCEPT_ALL, type CompiledPolicy, compilePolicy, REJECT_ALL, resolvePolicy } from "./compile.ts";

/**
 * The import and export policy names in force for a peer.
 *
 * - Import: the configured policy; otherwise RFC 8212 — an eBGP peer (different AS) without an
 *   import policy accepts nothing ("reject-all"), an iBGP peer (same AS: Calico nodes in our
 *   AS) accepts everything ("accept-all").
 * - Export: the configured policy; otherwise "reject-all" for EVERY peer, iBGP included.
 *   RFC 8212 only demands this for eBGP; podgate is stricter (default deny toward every
 *   peer), so nothing leaks into a cluster or the office network unless a policy says so.
 */
export function effectivePolicies(peer: PeerConfig, localAsn: number): { import: string; export: string } {
  const ibgp = peer.asn === localAsn;
  return {
    import: peer.import ?? (ibgp ? ACCEPT_ALL : REJECT_ALL),
    export: peer.export ?? REJECT_ALL,
  };
}

export interface PeerPolicies {
  readonly importName: string;
  readonly exportName: string;
  readonly import: CompiledPolicy;
  readonly export: CompiledPolicy;
}

/**
 * Compiles both policies of a peer. `nextHopSelf` is our address on the session per family
 * (used by `nextHop: self` in the export policy; ignored on import). Throws on unknown
 * policies/prefix lists.
 */
export function compilePeerPolicies(
  peer: PeerConfig,
  config: Pick<PodgateConfig, "asn" | "policies" | "prefixLists">,
  nextHopSelf?: { readonly ipv4?: string; readonly ipv6?: string },
): PeerPolicies {
  const names = effectivePolicies(peer, config.asn);
  return {
    importName: names.import,
    exportName: names.export,
    // `nextHop: self` means nothing on import (our own address as next hop of a learned
    // route would loop), so the import policy gets no self address and "self" is a no-op there.
    import: compilePolicy(resolvePolicy(names.import, config.policies), config.prefixLists, {
      localAsn: config.asn,
      direction: "import",
    }),
    export: compilePolicy(resolvePolicy(names.export, config.policies), config.prefixLists, {
      localAsn: config.asn,
      direction: "export",
      ...(nextHopSelf ? { nextHopSelf } : {}),
    }),
  };
}
