/**
 * Immutable routes ("paths") as every RIB stage sees them, and the peer facts the decision
 * process needs. A Path points at its attributes by reference: all prefixes of one UPDATE
 * share one frozen PathAttributes object (never copied per prefix), which is what keeps a
 * million routes small. The authoritative next hop of a Path is `attrs.nextHop` for both
 * families: `ribAttrs()` moves the MP_REACH_NLRI next hop there once per UPDATE.
 */
import type { PeerRole } from "../../config/types.ts";
import type { PathAttributes, Prefix } from "../wire/types.ts";
import { patchAttrs } from "./attrs.ts";
import { addressSortKey, ipv4PrefixOfKey, prefixKey, type RouteKey } from "./prefix-util.ts";

/** Who a path came from. Create with makePeerInfo()/makeLocalPeer() (they precompute sort keys). */
export interface PeerInfo {
  /** Stable identity (e.g. the peer's configured name); paths compare peers by this object. */
  readonly id: string;
  readonly address: string;
  readonly asn: number;
  /** The peer's BGP Identifier from its OPEN. */
  readonly routerId: string;
  /** True when the peer is in our AS. */
  readonly ibgp: boolean;
  readonly role: PeerRole | "local";
  /** True only for LOCAL peers (routes podgate originates itself). */
  readonly local: boolean;
  /** addressSortKey(address), for the "lowest peer address" tie-breaker. */
  readonly addressKey: string;
  /** addressSortKey(routerId). */
  readonly routerIdKey: string;
}

export function makePeerInfo(p: {
  id: string;
  address: string;
  asn: number;
  routerId: string;
  ibgp: boolean;
  role: PeerRole;
}): PeerInfo {
  return Object.freeze({
    ...p,
    local: false,
    addressKey: addressSortKey(p.address),
    routerIdKey: addressSortKey(p.routerId),
  });
}

/** The pseudo-peer of locally originated routes (static announcements, service CIDRs). */
export function makeLocalPeer(routerId: string, asn: number): PeerInfo {
  return Object.freeze({
    id: "local",
    address: "0.0.0.0",
    asn,
    routerId,
    ibgp: false,
    role: "local" as const,
    local: true,
    addressKey: addressSortKey("0.0.0.0"),
    routerIdKey: addressSortKey(routerId),
  });
}

export class Path {
  constructor(
    readonly key: RouteKey,
    /**
     * The Prefix as given; undefined only with a numeric (IPv4) key, for routes decoded straight
     * from the wire: `prefix` then rebuilds it from the key when asked (display, export), which
     * saves an object and an address string per route (~50 B of heap).
     */
    readonly storedPrefix: Prefix | undefined,
    /** RFC 7911 path identifier as received (0 without ADD-PATH). */
    readonly pathId: number,
    readonly peer: PeerInfo,
    /** Post-import-policy attributes; shared by reference, treat as frozen. */
    readonly attrs: PathAttributes,
    /** Attributes as received (pre-policy), for soft reconfiguration; === attrs when policy changed nothing. */
    readonly sourceAttrs: PathAttributes,
    /**
     * When the route was learned, in whole SECONDS of the caller's clock (a small integer is
     * stored inline; a millisecond timestamp would cost a heap number per route). Display only:
     * never used by the decision (that would make it depend on arrival order).
     */
    readonly learnedAt: number,
    /** RFC 4724 graceful restart: kept from a previous session, deleted by the sweep unless re-announced. */
    readonly stale: boolean,
  ) {}

  get prefix(): Prefix {
    return this.storedPrefix ?? ipv4PrefixOfKey(this.key as number);
  }

  /** Next hop (IPv4 NEXT_HOP or the MP_REACH_NLRI global next hop); "" when absent. */
  get nextHop(): string {
    return this.attrs.nextHop ?? "";
  }

  withStale(stale: boolean): Path {
    return stale === this.stale
      ? this
      : new Path(
          this.key,
          this.storedPrefix,
          this.pathId,
          this.peer,
          this.attrs,
          this.sourceAttrs,
          this.learnedAt,
          stale,
        );
  }

  withAttrs(attrs: PathAttributes): Path {
    return attrs === this.attrs
      ? this
      : new Path(
          this.key,
          this.storedPrefix,
          this.pathId,
          this.peer,
          attrs,
          this.sourceAttrs,
          this.learnedAt,
          this.stale,
        );
  }
}

/** Convenience constructor (originated routes, tests). */
export function createPath(init: {
  prefix: Prefix;
  peer: PeerInfo;
  attrs: PathAttributes;
  pathId?: number;
  learnedAt?: number;
  sourceAttrs?: PathAttributes;
}): Path {
  return new Path(
    prefixKey(init.prefix),
    init.prefix,
    init.pathId ?? 0,
    init.peer,
    init.attrs,
    init.sourceAttrs ?? init.attrs,
    init.learnedAt ?? 0,
    false,
  );
}

/**
 * Two paths that announce the same thing (same peer, path id, attribute object). Used to
 * suppress change events when a route is re-announced unchanged or only its stale flag moved.
 */
export function samePath(a: Path | undefined, b: Path | undefined): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  return a.peer === b.peer && a.pathId === b.pathId && a.attrs === b.attrs && a.key === b.key;
}

/**
 * The attributes a RIB stores for the NLRI of one UPDATE: MP_REACH/MP_UNREACH removed (they
 * hold the UPDATE's NLRI arrays) and, for MP NLRI, the MP next hop moved into `nextHop`.
 * Called once per UPDATE and family, never per prefix. Result is frozen.
 */
export function ribAttrs(attrs: PathAttributes, family: "nlri" | "mp"): PathAttributes {
  const { mpReach, mpUnreach } = attrs;
  if (family === "mp" && mpReach) {
    return patchAttrs(attrs, { mpReach: undefined, mpUnreach: undefined, nextHop: mpReach.nextHop });
  }
  if (!mpReach && !mpUnreach && Object.isFrozen(attrs)) return attrs;
  return patchAttrs(attrs, { mpReach: undefined, mpUnreach: undefined });
}
