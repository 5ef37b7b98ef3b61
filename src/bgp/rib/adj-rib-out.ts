/**
 * Adj-RIB-Out of one peer: what the peer should hold, computed from Loc-RIB changes, the
 * export rules of RFC 4271/1997 and the peer's export policy, batched for the session.
 *
 * Rules, in order (exportRoute):
 *  1. only families negotiated on the session;
 *  2. never back to the peer the route came from;
 *  3. iBGP split horizon: an iBGP-learned route is never sent to an iBGP peer (podgate is not
 *     a route reflector, RFC 4271 §9.2.1);
 *  4. RFC 1997: NO_ADVERTISE to nobody, NO_EXPORT (and NO_EXPORT_SUBCONFED) not to eBGP;
 *  5. preparation: MP_REACH/MP_UNREACH dropped (the session builds them), unknown optional
 *     non-transitive attributes dropped, transitive ones passed with Partial (RFC 4271 §5);
 *     toward eBGP: LOCAL_PREF, ORIGINATOR_ID, CLUSTER_LIST removed, NEXT_HOP = our session
 *     address, MED removed unless the route is our own (RFC 4271 §5.1.4: a MED received from
 *     a neighbouring AS is not passed to other ASes) — so toward eBGP a MED is only sent when
 *     the export policy sets one or the route is locally originated; toward iBGP the next hop
 *     is kept unless nextHopSelf is configured or the route has none;
 *  6. export policy (sees the prepared attributes; may set MED, next hop, communities, prepend);
 *  7. finalisation: eBGP: our AS prepended (RFC 4271 §5.1.2), LOCAL_PREF removed; iBGP:
 *     LOCAL_PREF defaults to 100 (§5.1.5); ORIGIN defaults to IGP, AS_PATH to empty.
 *
 * Exported attribute objects are interned per peer and family (reference-counted): equal
 * content gives the same object, so takeBatch() groups prefixes by attribute object and the
 * session packs each group into as few UPDATEs as possible. For IPv6 the session moves
 * `attrs.nextHop` into MP_REACH_NLRI; the prefixes of one group are always of one family.
 *
 * ADD-PATH send is not implemented: only the best path is sent; when the session negotiated
 * ADD-PATH send for the family, the Nlri carries pathId 0 (one path per prefix, so one id).
 */
import type { CompiledPolicy } from "../policy/compile.ts";
import { Afi, type AfiCode, AttrFlag, Origin } from "../wire/constants.ts";
import type { Nlri, PathAttributes, Prefix } from "../wire/types.ts";
import {
  type AttrsPatch,
  attrsContentKey,
  isNoAdvertise,
  isNoExport,
  patchAttrs,
  prependAsPath,
} from "./attrs.ts";
import { DEFAULT_LOCAL_PREF } from "./decision.ts";
import type { LocRib, RibChange } from "./loc-rib.ts";
import type { Path, PeerInfo } from "./path.ts";
import type { RouteKey } from "./prefix-util.ts";

export interface AdjRibOutOptions {
  readonly localAsn: number;
  /** Our address on this session per family; the next hop for eBGP (and nextHopSelf iBGP). */
  readonly nextHopSelf: { readonly ipv4?: string; readonly ipv6?: string };
  /** PeerConfig.nextHopSelf: also rewrite the next hop toward this iBGP peer. */
  readonly forceNextHopSelf?: boolean;
  readonly exportPolicy: CompiledPolicy;
  /** Families negotiated on the session (default: both). */
  readonly families?: ReadonlySet<AfiCode>;
  /** Families in which ADD-PATH send was negotiated: Nlri gets pathId 0. */
  readonly addPathSend?: ReadonlySet<AfiCode>;
  readonly defaultLocalPref?: number;
}

/** One batch for the session: announcements grouped by (interned) attributes, and withdrawals. */
export interface OutBatch {
  readonly announce: Map<PathAttributes, Nlri[]>;
  readonly withdraw: Nlri[];
}

/** Entries per transformation cache before it is cleared (see prepCache). */
const CACHE_LIMIT = 8192;

interface Pending {
  readonly prefix: Prefix;
  /** What the peer holds from us for this prefix (null: nothing). */
  readonly sent: PathAttributes | null;
  /** Announce even if unchanged (route refresh / initial dump). */
  force: boolean;
}

export class AdjRibOut {
  private readonly advertised = new Map<RouteKey, PathAttributes>();
  private readonly pending = new Map<RouteKey, Pending>();
  private readonly byContent = new Map<string, PathAttributes>();
  private readonly refs = new Map<PathAttributes, { key: string; n: number }>();
  /**
   * Per variant (family × locally originated): source attrs -> prepared attrs (null: not
   * exportable). These caches are plain Maps cleared when they reach CACHE_LIMIT entries:
   * with shared attributes they always hit; with per-route attributes a WeakMap of a million
   * entries cost more (ephemeron GC) than recomputing.
   */
  private prepCache: Map<PathAttributes, PathAttributes | null>[] = [
    new Map(),
    new Map(),
    new Map(),
    new Map(),
  ];
  /** policy output -> interned final attrs (validated against `refs` on use). */
  private finalCache = new Map<PathAttributes, PathAttributes>();
  private policy: CompiledPolicy;
  private readonly ebgp: boolean;
  private readonly families: ReadonlySet<AfiCode>;
  private readonly lp: number;

  constructor(
    readonly peer: PeerInfo,
    private readonly opts: AdjRibOutOptions,
  ) {
    this.policy = opts.exportPolicy;
    this.ebgp = !peer.ibgp;
    this.families = opts.families ?? new Set<AfiCode>([Afi.IPV4, Afi.IPV6]);
    this.lp = opts.defaultLocalPref ?? DEFAULT_LOCAL_PREF;
  }

  /** Routes the peer holds from us or will after the next batch. */
  get prefixesAdvertised(): number {
    return this.advertised.size;
  }

  get hasPending(): boolean {
    return this.pending.size > 0;
  }

  /** The attributes we would send this peer for a Loc-RIB best path, or undefined (not exported). Pure. */
  exportRoute(path: Path): PathAttributes | undefined {
    // Default-deny peers are the common case (every peer without an export policy): no work.
    if (this.policy.rejectsAll) return undefined;
    const afi = path.storedPrefix?.afi ?? Afi.IPV4; // no stored prefix: an IPv4 key
    if (!this.families.has(afi)) return undefined;
    const src = path.peer;
    if (src === this.peer || src.id === this.peer.id) return undefined;
    if (!this.ebgp && src.ibgp) return undefined;
    const a = path.attrs;
    if (a.communities !== undefined) {
      if (isNoAdvertise(a)) return undefined;
      if (this.ebgp && isNoExport(a)) return undefined;
    }
    const prep = this.prepare(a, afi, src.local);
    if (!prep) return undefined;
    const r = this.policy({ prefix: path.prefix, attrs: prep });
    if (!r.accept) return undefined;
    return this.finalize(r.attrs, afi);
  }

  private prepare(a: PathAttributes, afi: AfiCode, local: boolean): PathAttributes | undefined {
    const cache = this.prepCache[(afi === Afi.IPV4 ? 0 : 2) + (local ? 1 : 0)]!;
    const hit = cache.get(a);
    if (hit !== undefined) return hit ?? undefined;
    if (cache.size >= CACHE_LIMIT) cache.clear();
    const self = afi === Afi.IPV4 ? this.opts.nextHopSelf.ipv4 : this.opts.nextHopSelf.ipv6;
    const patch: AttrsPatch = { mpReach: undefined, mpUnreach: undefined };
    if (a.unknown) {
      // RFC 4271 §5: optional transitive attributes we do not know are passed on with Partial;
      // non-transitive ones are dropped.
      const kept = a.unknown
        .filter((u) => (u.flags & AttrFlag.OPTIONAL) !== 0 && (u.flags & AttrFlag.TRANSITIVE) !== 0)
        .map((u) => ({ ...u, flags: u.flags | AttrFlag.PARTIAL }));
      patch.unknown = kept.length > 0 ? kept : undefined;
    }
    let result: PathAttributes | null;
    if (this.ebgp) {
      patch.localPref = undefined;
      patch.originatorId = undefined;
      patch.clusterList = undefined;
      if (!local) patch.med = undefined;
      patch.nextHop = self;
      result = self === undefined ? null : patchAttrs(a, patch);
    } else {
      if (self !== undefined && (this.opts.forceNextHopSelf || !a.nextHop)) patch.nextHop = self;
      const nh = "nextHop" in patch ? patch.nextHop : a.nextHop;
      result = nh ? patchAttrs(a, patch) : null;
    }
    cache.set(a, result);
    return result ?? undefined;
  }

  private finalize(a: PathAttributes, afi: AfiCode): PathAttributes {
    const cached = this.finalCache.get(a);
    if (cached && this.refs.has(cached)) return cached;
    if (this.finalCache.size >= CACHE_LIMIT) this.finalCache.clear();
    const o = this.ebgp
      ? patchAttrs(a, {
          asPath: prependAsPath(a.asPath, [this.opts.localAsn]),
          localPref: undefined,
          origin: a.origin ?? Origin.IGP,
        })
      : patchAttrs(a, {
          localPref: a.localPref ?? this.lp,
          asPath: a.asPath ?? [],
          origin: a.origin ?? Origin.IGP,
        });
    const key = `${afi}|${attrsContentKey(o)}`;
    let interned = this.byContent.get(key);
    if (!interned) {
      interned = o;
      this.byContent.set(key, interned);
      // n = 0 until an advertisement references it; unreferenced entries go at the next unref.
      this.refs.set(interned, { key, n: 0 });
    }
    this.finalCache.set(a, interned);
    return interned;
  }

  private ref(a: PathAttributes): void {
    const r = this.refs.get(a);
    if (r) r.n++;
  }

  private unref(a: PathAttributes): void {
    const r = this.refs.get(a);
    if (r && --r.n <= 0) {
      this.refs.delete(a);
      this.byContent.delete(r.key);
    }
  }

  /** `of.prefix` is read only when something is queued (Loc-RIB prefixes may be built on demand). */
  private setDesired(
    key: RouteKey,
    of: { readonly prefix: Prefix },
    desired: PathAttributes | undefined,
    force: boolean,
  ): void {
    const cur = this.advertised.get(key);
    let p = this.pending.get(key);
    if (!p && (cur !== desired || force)) {
      p = { prefix: of.prefix, sent: cur ?? null, force };
      this.pending.set(key, p);
    }
    if (p && force) p.force = true;
    if (cur === desired) return;
    if (desired) {
      this.ref(desired);
      this.advertised.set(key, desired);
    } else {
      this.advertised.delete(key);
    }
    if (cur) this.unref(cur);
  }

  /** Feeds Loc-RIB changes (in flush order). */
  apply(changes: readonly RibChange[]): void {
    // Nothing was ever advertised under a reject-all policy (setExportPolicy refreshes on change).
    if (this.policy.rejectsAll && this.advertised.size === 0 && this.pending.size === 0) return;
    for (const c of changes) {
      this.setDesired(c.key, c, c.best ? this.exportRoute(c.best) : undefined, false);
    }
  }

  /**
   * Recomputes everything from the Loc-RIB (its state as of the last flush, which is what
   * the change stream has delivered). `full`: queue every exported prefix even if the peer
   * already has it — session just Established (initial dump) or ROUTE-REFRESH received.
   * Without `full` only differences are queued (export policy changed).
   */
  refresh(loc: LocRib, full: boolean): void {
    for (const e of loc.selected()) {
      this.setDesired(e.key, e, this.exportRoute(e.best!), full);
    }
  }

  /** Replace the export policy and queue the differences it makes. */
  setExportPolicy(policy: CompiledPolicy, loc: LocRib): void {
    this.policy = policy;
    for (const c of this.prepCache) c.clear();
    this.finalCache.clear();
    this.refresh(loc, false);
  }

  /** Session down: the peer holds nothing from us any more. */
  reset(): void {
    this.advertised.clear();
    this.pending.clear();
    this.byContent.clear();
    this.refs.clear();
    this.finalCache.clear();
    for (const c of this.prepCache) c.clear();
  }

  /** Takes everything queued since the last call, each prefix once, grouped by attributes. */
  takeBatch(): OutBatch {
    const announce = new Map<PathAttributes, Nlri[]>();
    const withdraw: Nlri[] = [];
    const addPath = this.opts.addPathSend;
    for (const [key, p] of this.pending) {
      const now = this.advertised.get(key) ?? null;
      if (now === null ? p.sent === null : now === p.sent && !p.force) continue;
      const nlri: Nlri = addPath?.has(p.prefix.afi) ? { prefix: p.prefix, pathId: 0 } : { prefix: p.prefix };
      if (now) {
        const list = announce.get(now);
        if (list) list.push(nlri);
        else announce.set(now, [nlri]);
      } else {
        withdraw.push(nlri);
      }
    }
    this.pending.clear();
    return { announce, withdraw };
  }

  /** The attributes currently advertised (or queued) for a prefix key. */
  advertisedAttrs(key: RouteKey): PathAttributes | undefined {
    return this.advertised.get(key);
  }
}
