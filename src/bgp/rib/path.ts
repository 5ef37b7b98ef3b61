/**
 * Immutable routes ("paths") as every RIB stage sees them, and the peer facts the decision
 * process needs. A Path points at a PathSource shared by all prefixes of one UPDATE (peer,
 * frozen attributes, learn time, stale flag; never copied per prefix), which is what keeps a
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

/**
 * What the routes of one UPDATE (and address family) have in common: the peer, the attributes
 * before and after import policy, when they were learned and whether they are stale. One object
 * per UPDATE, shared by all its Paths, so that a route costs only its key and a pointer (a Path
 * of 2 fields is 40 B of heap instead of 88 B with 8 fields; at 1M /26 routes that is ~48 MB
 * less to allocate, copy through the young generation and keep).
 */
export class PathSource {
  /** The same source with the stale flag flipped, made once (see withStale). */
  private twin: PathSource | undefined = undefined;
  constructor(
    readonly peer: PeerInfo,
    /** Post-import-policy attributes; shared by reference, treat as frozen. */
    readonly attrs: PathAttributes,
    /** Attributes as received (pre-policy), for soft reconfiguration; === attrs when policy changed nothing. */
    readonly sourceAttrs: PathAttributes,
    /**
     * When the routes were learned, in whole SECONDS of the caller's clock (a small integer is
     * stored inline). Display only: never used by the decision (that would make it depend on
     * arrival order).
     */
    readonly learnedAt: number,
    /** RFC 4724 graceful restart: kept from a previous session, deleted by the sweep unless re-announced. */
    readonly stale: boolean,
  ) {}

  /** This source with `stale` set as asked; marking a million routes stale shares one twin. */
  withStale(stale: boolean): PathSource {
    if (stale === this.stale) return this;
    let t = this.twin;
    if (t === undefined) {
      t = new PathSource(this.peer, this.attrs, this.sourceAttrs, this.learnedAt, stale);
      t.twin = this;
      this.twin = t;
    }
    return t;
  }
}

/**
 * One route: its key and the source it shares with the other routes of its UPDATE. The RFC 7911
 * path identifier and a stored Prefix are only held by the (rarer) PathWithId subclass: with a
 * numeric IPv4 key and no ADD-PATH a route needs neither (`prefix` is rebuilt from the key).
 * Create with makePath() or createPath().
 */
export class Path {
  constructor(
    readonly key: RouteKey,
    readonly src: PathSource,
  ) {}

  /** RFC 7911 path identifier as received (0 without ADD-PATH). */
  get pathId(): number {
    return 0;
  }

  /**
   * The Prefix as given; undefined only with a numeric (IPv4) key, for routes decoded straight
   * from the wire: `prefix` then rebuilds it from the key when asked (display, export).
   */
  get storedPrefix(): Prefix | undefined {
    return undefined;
  }

  get prefix(): Prefix {
    return this.storedPrefix ?? ipv4PrefixOfKey(this.key as number);
  }

  get peer(): PeerInfo {
    return this.src.peer;
  }

  /** Post-import-policy attributes; shared by reference, treat as frozen. */
  get attrs(): PathAttributes {
    return this.src.attrs;
  }

  /** Attributes as received (pre-policy), for soft reconfiguration; === attrs when policy changed nothing. */
  get sourceAttrs(): PathAttributes {
    return this.src.sourceAttrs;
  }

  /** When the route was learned, whole seconds of the caller's clock (display only). */
  get learnedAt(): number {
    return this.src.learnedAt;
  }

  /** RFC 4724 graceful restart: kept from a previous session, deleted by the sweep unless re-announced. */
  get stale(): boolean {
    return this.src.stale;
  }

  /** Next hop (IPv4 NEXT_HOP or the MP_REACH_NLRI global next hop); "" when absent. */
  get nextHop(): string {
    return this.src.attrs.nextHop ?? "";
  }

  withStale(stale: boolean): Path {
    return stale === this.src.stale
      ? this
      : makePath(this.key, this.src.withStale(stale), this.pathId, this.storedPrefix);
  }

  withAttrs(attrs: PathAttributes): Path {
    const s = this.src;
    return attrs === s.attrs
      ? this
      : makePath(
          this.key,
          new PathSource(s.peer, attrs, s.sourceAttrs, s.learnedAt, s.stale),
          this.pathId,
          this.storedPrefix,
        );
  }
}

/** A Path with an ADD-PATH identifier or a stored Prefix (IPv6, originated routes). */
class PathWithId extends Path {
  constructor(
    key: RouteKey,
    src: PathSource,
    private readonly id: number,
    private readonly stored: Prefix | undefined,
  ) {
    super(key, src);
  }

  override get pathId(): number {
    return this.id;
  }

  override get storedPrefix(): Prefix | undefined {
    return this.stored;
  }
}

/** The smallest Path for (key, source, path id, stored prefix). */
export function makePath(
  key: RouteKey,
  src: PathSource,
  pathId: number,
  storedPrefix: Prefix | undefined,
): Path {
  return pathId === 0 && storedPrefix === undefined
    ? new Path(key, src)
    : new PathWithId(key, src, pathId, storedPrefix);
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
  return makePath(
    prefixKey(init.prefix),
    new PathSource(init.peer, init.attrs, init.sourceAttrs ?? init.attrs, init.learnedAt ?? 0, false),
    init.pathId ?? 0,
    init.prefix,
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
