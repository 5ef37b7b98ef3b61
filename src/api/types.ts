/**
 * The JSON shapes of the local control API, `podgate status --json` and `podgate routes --json`.
 * Scripts rely on these fields: add fields freely, never rename or remove one
 * (docs/api.md documents each).
 */
import type { FsmStateName } from "./state-names.ts";

export interface PeerStatus {
  readonly address: string;
  readonly asn: number;
  readonly name: string;
  readonly role: string;
  /** RFC 4271 spelling: Idle, Connect, Active, OpenSent, OpenConfirm, Established. */
  readonly state: FsmStateName;
  /** ISO 8601 time of the last state change. */
  readonly since: string;
  /** Human-readable detail like calicoctl's INFO column: "Established", last error, etc. */
  readonly info: string;
  readonly prefixesReceived: number;
  readonly prefixesAccepted: number;
  readonly prefixesAdvertised: number;
  readonly peerRouterId?: string;
  readonly holdTime?: number;
  readonly families?: readonly string[];
  readonly lastError?: string;
  readonly updatesReceived: number;
  readonly updatesSent: number;
  /** FSM moves since the daemon started, one entry per (from, to) pair seen (metrics' flap counters). */
  readonly stateTransitions?: readonly {
    readonly from: string;
    readonly to: string;
    readonly count: number;
  }[];
  /** Times the session reached Established (BGP4-MIB bgpPeerFsmEstablishedTransitions). */
  readonly establishedTransitions?: number;
}

export interface StatusJson {
  readonly routerId: string;
  readonly asn: number;
  readonly version: string;
  readonly startedAt: string;
  readonly peers: readonly PeerStatus[];
  /** Event-loop delay of the daemon since start, 99th percentile and maximum (ms). */
  readonly eventLoopLagP99Ms?: number;
  readonly eventLoopLagMaxMs?: number;
  /** Kernel sync status (installed, failed, conflicts, last error); absent when the dataplane is off. */
  readonly dataplane?: unknown;
  /** Kubernetes API connection: connected, synced, age of the last event, per-resource state. */
  readonly kubernetes?: unknown;
  /** nftables (table inet podgate): SNAT/MSS state, applies, errors. */
  readonly nftables?: unknown;
  /** WireGuard tunnels: per peer latest handshake age, endpoint, bytes, up/down. */
  readonly tunnels?: unknown;
  /** The ipip device (tunnels.ipip): name, ifindex, up, mtu, local, created/adopted, lastError. */
  readonly ipip?: unknown;
}

export interface RouteJson {
  readonly prefix: string;
  readonly nextHop: string;
  /** Address of the peer the path came from, or "local" for routes podgate originates. */
  readonly peer: string;
  readonly best: boolean;
  /**
   * Where the path came from: a BGP peer, the Kubernetes API (static mode), the service CIDR
   * fallback (ECMP to the Established cluster peers), or podgate itself.
   */
  readonly source: "bgp" | "kubernetes" | "service-fallback" | "local";
  readonly family: "ipv4" | "ipv6";
  readonly pathId?: number;
  readonly asPath: string;
  readonly origin: "igp" | "egp" | "incomplete";
  readonly localPref?: number;
  readonly med?: number;
  readonly communities?: readonly string[];
  readonly largeCommunities?: readonly string[];
  /** Peers this prefix is currently advertised to (best path entries only). */
  readonly advertisedTo?: readonly string[];
  /** The prefix has a podgate route in the kernel (absent when the dataplane is off). */
  readonly installed?: boolean;
  /** Why this path won or lost against the best (decision-process step). */
  readonly reason?: string;
  readonly age: number;
}

export interface RoutesJson {
  readonly routes: readonly RouteJson[];
}

/** What the API server needs from the daemon. */
export interface DaemonView {
  status(): StatusJson;
  routes(filter?: { prefix?: string; peer?: string }): RoutesJson;
  resetPeer(address: string, message?: string): boolean;
  reload?(): Promise<{ ok: boolean; message: string }>;
  /** Route audit (discovery vs BGP); undefined while there is no cluster state. */
  audit?(): unknown;
}
