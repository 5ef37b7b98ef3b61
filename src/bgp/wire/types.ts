/**
 * Typed BGP messages, path attributes and prefixes: the contract between the pure codec
 * (decode/encode) and everything above it (FSM, sessions, RIBs, policy).
 * Plain data only; no behaviour lives here.
 */
import type { AfiCode, AsPathSegmentTypeCode, OriginCode, SafiCode } from "./constants.ts";

/** An IP prefix. `addr` is canonical text ("10.1.2.0", "2001:db8::"), host bits zero. */
export interface Prefix {
  readonly afi: AfiCode;
  readonly addr: string;
  readonly len: number;
}

/** One NLRI entry; `pathId` is present only when ADD-PATH receive/send is negotiated for its family. */
export interface Nlri {
  readonly prefix: Prefix;
  readonly pathId?: number;
}

export interface AsPathSegment {
  readonly type: AsPathSegmentTypeCode;
  readonly asns: readonly number[];
}

export interface Aggregator {
  readonly asn: number;
  readonly address: string;
}

/** RFC 8092 large community: global administrator, local data 1, local data 2. */
export type LargeCommunity = readonly [number, number, number];

/** An attribute podgate does not interpret; kept byte for byte (optional transitive ones are passed on with Partial). */
export interface RawAttribute {
  readonly code: number;
  readonly flags: number;
  readonly value: Buffer;
}

export interface MpReach {
  readonly afi: AfiCode;
  readonly safi: SafiCode;
  /** Global next hop, and for IPv6 the optional link-local one (RFC 2545). */
  readonly nextHop: string;
  readonly linkLocalNextHop?: string;
  readonly nlri: readonly Nlri[];
}

export interface MpUnreach {
  readonly afi: AfiCode;
  readonly safi: SafiCode;
  readonly withdrawn: readonly Nlri[];
}

/**
 * Decoded path attributes. AS numbers are always 4-octet values here: when the session is
 * 2-octet the decoder merges AS4_PATH/AS4_AGGREGATOR (RFC 6793 §4.2.3) and the encoder
 * produces AS_TRANS + AS4_* again, so nothing above the codec sees AS_TRANS games.
 */
export interface PathAttributes {
  readonly origin?: OriginCode;
  readonly asPath?: readonly AsPathSegment[];
  readonly nextHop?: string;
  readonly med?: number;
  readonly localPref?: number;
  readonly atomicAggregate?: boolean;
  readonly aggregator?: Aggregator;
  readonly communities?: readonly number[];
  readonly originatorId?: string;
  readonly clusterList?: readonly string[];
  readonly extendedCommunities?: readonly Buffer[];
  readonly largeCommunities?: readonly LargeCommunity[];
  readonly mpReach?: MpReach;
  readonly mpUnreach?: MpUnreach;
  /** Unrecognised attributes, in arrival order. */
  readonly unknown?: readonly RawAttribute[];
}

export interface Capability {
  readonly code: number;
  readonly value: Buffer;
}

export interface AfiSafi {
  readonly afi: AfiCode;
  readonly safi: SafiCode;
}

export interface AddPathEntry extends AfiSafi {
  /** AddPathMode: 1 receive, 2 send, 3 both. */
  readonly mode: number;
}

export interface GracefulRestartCap {
  readonly restartState: boolean;
  readonly restartTime: number;
  readonly families: readonly (AfiSafi & { readonly forwardingState: boolean })[];
}

/** The capabilities of one OPEN, parsed. Unknown capabilities are kept in `others`. */
export interface Capabilities {
  readonly multiprotocol: readonly AfiSafi[];
  readonly routeRefresh: boolean;
  readonly enhancedRouteRefresh: boolean;
  readonly fourOctetAs?: number;
  readonly gracefulRestart?: GracefulRestartCap;
  readonly addPath: readonly AddPathEntry[];
  readonly others: readonly Capability[];
}

export interface OpenMessage {
  readonly type: 1;
  readonly version: number;
  /** The 2-octet "My Autonomous System" field (AS_TRANS when the real AS is 4-octet). */
  readonly myAs: number;
  readonly holdTime: number;
  readonly bgpId: string;
  readonly capabilities: Capabilities;
  /** Types of optional parameters other than Capabilities (2); validateOpen refuses them (RFC 4271 §6.2). */
  readonly unknownParams?: readonly number[];
}

export interface UpdateMessage {
  readonly type: 2;
  readonly withdrawn: readonly Nlri[];
  readonly attributes: PathAttributes;
  readonly nlri: readonly Nlri[];
  /**
   * RFC 7606: set when a malformed attribute made this UPDATE "treat-as-withdraw": every
   * prefix it carries (nlri and mpReach) must be withdrawn instead of announced.
   */
  readonly treatAsWithdraw?: boolean;
  /** RFC 7606 notes for logs: attributes discarded or errors downgraded. */
  readonly errors?: readonly BgpErrorNote[];
}

export interface NotificationMessage {
  readonly type: 3;
  readonly code: number;
  readonly subcode: number;
  readonly data: Buffer;
}

export interface KeepaliveMessage {
  readonly type: 4;
}

export interface RouteRefreshMessage {
  readonly type: 5;
  readonly afi: number;
  /** RFC 7313 subtype: 0 normal, 1 BoRR, 2 EoRR. */
  readonly subtype: number;
  readonly safi: number;
}

export type BgpMessage =
  | OpenMessage
  | UpdateMessage
  | NotificationMessage
  | KeepaliveMessage
  | RouteRefreshMessage;

/** RFC 7606 §2 error-handling approaches, strongest first. */
export type ErrorHandling = "session-reset" | "treat-as-withdraw" | "attribute-discard";

export interface BgpErrorNote {
  readonly code: number;
  readonly subcode: number;
  readonly handling: ErrorHandling;
  readonly attrCode?: number;
  readonly message: string;
}

/**
 * Facts negotiated for one session that change how UPDATEs are read and written
 * (GoBGP's MarshallingOption). Passed explicitly to the codec; never global.
 */
export interface CodecOptions {
  /** Both sides advertised the 4-octet AS capability. */
  readonly fourOctetAs: boolean;
  /** Families in which we RECEIVE path identifiers (we advertised receive, peer advertised send). Key: `${afi}/${safi}`. */
  readonly addPathReceive: ReadonlySet<string>;
  /** Families in which we SEND path identifiers. Key: `${afi}/${safi}`. */
  readonly addPathSend: ReadonlySet<string>;
  /** eBGP session: LOCAL_PREF from the peer is discarded (RFC 7606 §7.5) and not required. */
  readonly ebgp?: boolean;
}

export const DEFAULT_CODEC_OPTIONS: CodecOptions = {
  fourOctetAs: true,
  addPathReceive: new Set(),
  addPathSend: new Set(),
};
