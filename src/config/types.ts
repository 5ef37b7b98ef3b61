/**
 * The validated, defaulted configuration as the rest of podgate sees it. The loader
 * (src/config/load.ts) turns YAML into this shape; the schema there is the single source of
 * truth for validation and for docs/configuration.md.
 */

export type PeerRole = "cluster" | "office" | "gateway";
export type AddPathConfig = "off" | "receive" | "send" | "both";
export type FamilyName = "ipv4" | "ipv6";

export interface PrefixListEntry {
  /** "10.0.0.0/8" */
  readonly prefix: string;
  /** Match prefixes at least this long (default: the entry's own length, i.e. exact unless le/ge given). */
  readonly ge?: number;
  /** Match prefixes at most this long. */
  readonly le?: number;
  readonly action: "permit" | "deny";
}

export interface PolicyMatch {
  /** Name of a prefix list; the route matches when the list's first matching entry permits. */
  readonly prefixList?: string;
  /** Inline prefix entries (same semantics as a prefix list). */
  readonly prefixes?: readonly PrefixListEntry[];
  /** Community in "ASN:VALUE" form or a well-known name (NO_EXPORT, NO_ADVERTISE); any-of. */
  readonly community?: readonly string[];
  /** Large community "GA:LD1:LD2"; any-of. */
  readonly largeCommunity?: readonly string[];
  /** Address family. */
  readonly family?: FamilyName;
}

export interface PolicySet {
  readonly localPref?: number;
  readonly med?: number;
  readonly communitiesAdd?: readonly string[];
  readonly communitiesRemove?: readonly string[];
  readonly largeCommunitiesAdd?: readonly string[];
  /** Prepend the local AS this many times (export) — or the given ASNs. */
  readonly asPathPrepend?: number | readonly number[];
  readonly nextHop?: "self" | string;
}

export interface PolicyTerm {
  readonly name?: string;
  readonly match?: PolicyMatch;
  readonly set?: PolicySet;
  /** accept/reject stop evaluation; "next" applies `set` and continues. */
  readonly action: "accept" | "reject" | "next";
}

/** A named policy: terms in order, then `default` (reject unless stated). */
export interface Policy {
  readonly terms: readonly PolicyTerm[];
  readonly default: "accept" | "reject";
}

export interface MaxPrefixConfig {
  readonly limit: number;
  /** warn: log once; restart: Cease/Maximum Number of Prefixes Reached, then reconnect after restartAfter seconds. */
  readonly action: "warn" | "restart";
  readonly restartAfter: number;
}

export interface PeerConfig {
  readonly address: string;
  readonly asn: number;
  readonly name: string;
  readonly role: PeerRole;
  readonly port: number;
  readonly localAddress?: string;
  /** Never initiate; wait for the peer to connect. */
  readonly passive: boolean;
  readonly holdTime: number;
  readonly keepaliveTime?: number;
  readonly connectRetryTime: number;
  /** RFC 2385 TCP-MD5 key; from `password` or read from `passwordFile`. Never logged. */
  readonly password?: string;
  /** RFC 5082 GTSM. */
  readonly ttlSecurity: boolean;
  /** eBGP multihop TTL (1 = directly connected). */
  readonly multihop?: number;
  readonly families: readonly FamilyName[];
  readonly addPath: AddPathConfig;
  readonly nextHopSelf: boolean;
  readonly gracefulRestart: boolean;
  readonly maxPrefix?: MaxPrefixConfig;
  /** Policy names; undefined = role default (RFC 8212: eBGP without policy accepts/announces nothing). */
  readonly import?: string;
  readonly export?: string;
  readonly shutdownMessage?: string;
  /** Disabled peers are configured but never started. */
  readonly enabled: boolean;
}

export interface OriginateConfig {
  readonly prefix: string;
  readonly nextHop?: string;
  readonly communities?: readonly string[];
  readonly med?: number;
  readonly localPref?: number;
}

export interface WireGuardPeerConfig {
  readonly publicKey: string;
  /** "host:port" / "[v6]:port"; absent on the answering side. */
  readonly endpoint?: string;
  readonly allowedIPs: readonly string[];
  readonly persistentKeepalive?: number;
}

export interface WireGuardConfig {
  /** Interface name, at most 15 characters. */
  readonly name: string;
  /** Absolute path of a 0600 file holding the private key (the key is never in the config). */
  readonly privateKeyFile: string;
  readonly listenPort: number;
  /** "10.200.0.1/30" */
  readonly address: readonly string[];
  /** Absent: underlay MTU − 80. */
  readonly mtu?: number;
  readonly peers: readonly WireGuardPeerConfig[];
}

export interface IpipConfig {
  /** Device name, at most 15 characters. */
  readonly name: string;
  /** Outer source address: the gateway's address the nodes know (required: see the schema). */
  readonly local: string;
  /** Absent: underlay MTU − 20. */
  readonly mtu?: number;
  /** Calico's ipipMode semantics: encapsulate toward every node, or only toward nodes off our subnets. */
  readonly mode: "Always" | "CrossSubnet";
}

export interface TunnelsConfig {
  /** Seconds without a handshake or received data before a peer is reported down. */
  readonly handshakeTimeout: number;
  readonly wireguard: readonly WireGuardConfig[];
  /** Reset a WireGuard peer's stale session (and retry BGP) while a BGP session over it is down. */
  readonly staleReset: boolean;
  /** IPIP toward Calico nodes (absent: off). */
  readonly ipip?: IpipConfig;
}

export interface PodgateConfig {
  readonly routerId: string;
  readonly asn: number;
  readonly listen: { readonly enabled: boolean; readonly address: string; readonly port: number };
  readonly api: { readonly socket: string };
  readonly metrics: {
    readonly enabled: boolean;
    readonly address: string;
    readonly allowNonLoopback: boolean;
  };
  readonly log: { readonly level: "trace" | "debug" | "info" | "warn" | "error" };
  readonly defaults: { readonly holdTime: number; readonly connectRetryTime: number };
  readonly cluster: { readonly podCIDRs: readonly string[]; readonly serviceCIDRs: readonly string[] };
  readonly office: { readonly prefixes: readonly string[]; readonly advertise: "aggregate" | "specifics" };
  readonly returnPath: { readonly mode: "advertise" | "snat" | "none" };
  readonly dataplane: {
    readonly enabled: boolean;
    readonly table: number;
    readonly protocol: number;
    readonly metric: number;
    readonly unreachableAggregates: boolean;
    /** "off" | "auto" | a number as text ("1360"). */
    readonly mssClamp: string;
    readonly sysctl: "set" | "check" | "off";
    readonly onShutdown: "keep" | "remove" | "graceful-restart";
    readonly convergeTimeout: number;
  };
  readonly kubernetes: {
    readonly enabled: boolean;
    readonly kubeconfig?: string;
    readonly nodeSelector?: string;
    readonly peers: boolean;
    readonly staticRoutes: boolean;
  };
  readonly tunnels: TunnelsConfig;
  readonly peers: readonly PeerConfig[];
  readonly prefixLists: Readonly<Record<string, readonly PrefixListEntry[]>>;
  readonly policies: Readonly<Record<string, Policy>>;
  /** Routes podgate itself originates (static announcements). */
  readonly originate: readonly OriginateConfig[];
}
