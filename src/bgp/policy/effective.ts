/**
 * Which policy a peer actually gets — the single place where podgate's defaults live.
 *
 * A configured `import`/`export` always wins. Otherwise the peer's role decides, using the
 * address space the config declares (`cluster.podCIDRs`/`serviceCIDRs`, `office.prefixes`):
 *
 * | role    | import (default)                                  | export (default)                                      |
 * |---------|---------------------------------------------------|-------------------------------------------------------|
 * | cluster | routes inside the cluster CIDRs, pool length..max | office prefixes when returnPath.mode is advertise     |
 * | office  | routes inside the office prefixes                 | the cluster CIDRs as aggregates (or the specifics)    |
 * | gateway | routes inside cluster CIDRs or office prefixes    | the same                                              |
 *
 * With nothing declared the old rules hold: RFC 8212 — an eBGP peer without an import policy
 * accepts nothing, an iBGP peer (Calico nodes in our AS) everything; and export is
 * "reject-all" for EVERY peer, iBGP included (podgate is stricter than RFC 8212: default
 * deny toward every peer, so nothing leaks into a cluster or the office network).
 * Never a default route: the role filters only match inside declared prefixes.
 */
import type { PeerConfig, PodgateConfig, Policy, PrefixListEntry } from "../../config/types.ts";
import { ACCEPT_ALL, type CompiledPolicy, compilePolicy, REJECT_ALL, resolvePolicy } from "./compile.ts";

/** The parts of the config the role defaults depend on. */
export type RoleScope = Partial<Pick<PodgateConfig, "cluster" | "office" | "returnPath">>;

/** Names of the synthesized role policies (reserved: a "role:" prefix cannot be configured). */
export const ROLE_POLICY = {
  clusterRoutes: "role:cluster-routes",
  clusterAggregates: "role:cluster-aggregates",
  officeRoutes: "role:office-routes",
  gatewayRoutes: "role:gateway-routes",
} as const;

function maxLen(prefix: string): number {
  return prefix.includes(":") ? 128 : 32;
}

function inside(prefixes: readonly string[]): PrefixListEntry[] {
  return prefixes.map((p) => ({
    prefix: p,
    ge: Number(p.split("/")[1]),
    le: maxLen(p),
    action: "permit" as const,
  }));
}

function exact(prefixes: readonly string[]): PrefixListEntry[] {
  const len = (p: string) => Number(p.split("/")[1]);
  return prefixes.map((p) => ({ prefix: p, ge: len(p), le: len(p), action: "permit" as const }));
}

function acceptOnly(entries: PrefixListEntry[]): Policy {
  return { terms: [{ name: "in-scope", match: { prefixes: entries }, action: "accept" }], default: "reject" };
}

/** The role policies for a scope, by name. */
export function rolePolicies(scope: RoleScope): Record<string, Policy> {
  const cluster = [...(scope.cluster?.podCIDRs ?? []), ...(scope.cluster?.serviceCIDRs ?? [])];
  const office = scope.office?.prefixes ?? [];
  return {
    [ROLE_POLICY.clusterRoutes]: acceptOnly(inside(cluster)),
    [ROLE_POLICY.clusterAggregates]: acceptOnly(exact(cluster)),
    [ROLE_POLICY.officeRoutes]: acceptOnly(inside(office)),
    [ROLE_POLICY.gatewayRoutes]: acceptOnly([...inside(cluster), ...inside(office)]),
  };
}

/** The import and export policy names in force for a peer (see the table above). */
export function effectivePolicies(
  peer: PeerConfig,
  localAsn: number,
  scope: RoleScope = {},
): { import: string; export: string } {
  const ibgp = peer.asn === localAsn;
  const hasCluster = (scope.cluster?.podCIDRs.length ?? 0) + (scope.cluster?.serviceCIDRs.length ?? 0) > 0;
  const hasOffice = (scope.office?.prefixes.length ?? 0) > 0;
  const fallbackImport = ibgp ? ACCEPT_ALL : REJECT_ALL;
  let imp: string;
  let exp: string;
  switch (peer.role) {
    case "cluster":
      imp = hasCluster ? ROLE_POLICY.clusterRoutes : fallbackImport;
      exp =
        hasOffice && (scope.returnPath?.mode ?? "advertise") === "advertise"
          ? ROLE_POLICY.officeRoutes
          : REJECT_ALL;
      break;
    case "office":
      imp = hasOffice ? ROLE_POLICY.officeRoutes : fallbackImport;
      exp = !hasCluster
        ? REJECT_ALL
        : scope.office?.advertise === "specifics"
          ? ROLE_POLICY.clusterRoutes
          : ROLE_POLICY.clusterAggregates;
      break;
    default:
      imp = hasCluster || hasOffice ? ROLE_POLICY.gatewayRoutes : fallbackImport;
      exp = hasCluster || hasOffice ? ROLE_POLICY.gatewayRoutes : REJECT_ALL;
  }
  return { import: peer.import ?? imp, export: peer.export ?? exp };
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
  config: Pick<PodgateConfig, "asn" | "policies" | "prefixLists"> & RoleScope,
  nextHopSelf?: { readonly ipv4?: string; readonly ipv6?: string },
): PeerPolicies {
  const names = effectivePolicies(peer, config.asn, config);
  const policies = { ...config.policies, ...rolePolicies(config) };
  return {
    importName: names.import,
    exportName: names.export,
    // `nextHop: self` means nothing on import (our own address as next hop of a learned
    // route would loop), so the import policy gets no self address and "self" is a no-op there.
    import: compilePolicy(resolvePolicy(names.import, policies), config.prefixLists, {
      localAsn: config.asn,
      direction: "import",
    }),
    export: compilePolicy(resolvePolicy(names.export, policies), config.prefixLists, {
      localAsn: config.asn,
      direction: "export",
      ...(nextHopSelf ? { nextHopSelf } : {}),
    }),
  };
}
