/**
 * Adj-RIB-In of one peer: every route the peer announced (pre-policy attributes kept for
 * soft reconfiguration), the import policy applied, and the accepted routes pushed into the
 * Loc-RIB. Counts: prefixesReceived (pre-policy) and prefixesAccepted (post-policy).
 * Routes whose AS_PATH contains our AS are kept as received but never accepted
 * (RFC 4271 §9.1.2: loop detection).
 *
 * Large tables are taken down in slices so the event loop keeps turning (a 1M-route clear in
 * one go blocked it for ~2 s): clear(limit) and sweepStale(limit) do at most `limit` routes per
 * call and are called again on later macrotasks by the speaker. A dropped session's Adj-RIB-In
 * is detached and drained that way while a new session of the same peer fills a fresh one;
 * supersede() links the two so that a route the new session announces or withdraws removes the
 * old session's copy of it at once (the Loc-RIB never holds both), and the drain, working from
 * the old object only, can never withdraw a route of the new session.
 */
import type { CompiledPolicy } from "../policy/compile.ts";
import { AsPathSegmentType } from "../wire/constants.ts";
import type { Nlri, PathAttributes, Prefix } from "../wire/types.ts";
import { compactNlri } from "../wire/update.ts";
import type { LocRib } from "./loc-rib.ts";
import { makePath, type Path, PathSource, type PeerInfo, ribAttrs } from "./path.ts";
import { ipv4Key, prefixKey, type RouteKey } from "./prefix-util.ts";

/** The parts of a decoded UPDATE the RIB uses (UpdateMessage satisfies it). */
export interface UpdateLike {
  readonly withdrawn: readonly Nlri[];
  readonly attributes: PathAttributes;
  readonly nlri: readonly Nlri[];
  readonly treatAsWithdraw?: boolean;
}

export interface AdjRibInOptions {
  readonly importPolicy: CompiledPolicy;
  /** Our AS, for AS_PATH loop detection (confederation segments included). */
  readonly localAsn: number;
}

function containsAs(attrs: PathAttributes, asn: number): boolean {
  const segs = attrs.asPath;
  if (!segs) return false;
  for (const s of segs) {
    if (s.type === AsPathSegmentType.AS_SEQUENCE || s.type === AsPathSegmentType.AS_SET) {
      if (s.asns.includes(asn)) return true;
    }
  }
  return false;
}

export class AdjRibIn {
  /** Accepted routes (post-policy Path; `sourceAttrs` holds the received attributes). */
  private readonly accepted = new Map<RouteKey, Path>();
  /** Received but rejected by policy or loop detection (attrs as received). */
  private readonly rejected = new Map<RouteKey, Path>();
  private policy: CompiledPolicy;
  private readonly localAsn: number;
  /** Position of an unfinished clear(limit) in `accepted` (kept so each slice starts where the last stopped). */
  private drainIter: Iterator<[RouteKey, Path]> | undefined;
  /** Positions of an unfinished markStale(limit) in `accepted` and `rejected`. */
  private markIter: Iterator<[RouteKey, Path]> | undefined;
  private markRejIter: Iterator<[RouteKey, Path]> | undefined;
  /** Positions of an unfinished sweepStale(limit) in `accepted` and `rejected`. */
  private sweepIter: Iterator<[RouteKey, Path]> | undefined;
  private sweepRejIter: Iterator<[RouteKey, Path]> | undefined;
  /** An older Adj-RIB-In of the same peer still being drained (see supersede()). */
  private prev: AdjRibIn | undefined;

  constructor(
    readonly peer: PeerInfo,
    private readonly loc: LocRib,
    opts: AdjRibInOptions,
  ) {
    this.policy = opts.importPolicy;
    this.localAsn = opts.localAsn;
  }

  get prefixesReceived(): number {
    return this.accepted.size + this.rejected.size;
  }

  get prefixesAccepted(): number {
    return this.accepted.size;
  }

  /**
   * Applies a decoded UPDATE: withdrawals first (RFC 4271 §4.3 order), then announcements of
   * NLRI and MP_REACH_NLRI. One attribute object is shared by all prefixes of each family.
   * RFC 7606 treat-as-withdraw turns every carried prefix into a withdrawal.
   */
  applyUpdate(u: UpdateLike, now: number): void {
    // A route of the new session must never be marked stale by an unfinished marking.
    if (this.markIter !== undefined) this.continueMarking();
    for (const n of u.withdrawn) this.withdraw(n);
    const a = u.attributes;
    if (a.mpUnreach) for (const n of a.mpUnreach.withdrawn) this.withdraw(n);
    // decodeUpdate's IPv4 NLRI as (path id, address, length) triples: keys without Prefix objects.
    const c = compactNlri(u);
    if (u.treatAsWithdraw) {
      if (c) this.withdrawCompact(c.data, c.addPath);
      else for (const n of u.nlri) this.withdraw(n);
      if (a.mpReach) for (const n of a.mpReach.nlri) this.withdraw(n);
      return;
    }
    if (c) {
      if (c.data.length > 0) {
        const attrs = ribAttrs(a, "nlri");
        const src = new PathSource(this.peer, attrs, attrs, now, false);
        this.storeCompact(c.data, c.addPath, src, containsAs(attrs, this.localAsn));
      }
    } else if (u.nlri.length > 0) {
      const attrs = ribAttrs(a, "nlri");
      const src = new PathSource(this.peer, attrs, attrs, now, false);
      const loop = containsAs(attrs, this.localAsn);
      for (const n of u.nlri) this.store(n, src, loop, true);
    }
    if (a.mpReach && a.mpReach.nlri.length > 0) {
      const attrs = ribAttrs(a, "mp");
      const src = new PathSource(this.peer, attrs, attrs, now, false);
      const loop = containsAs(attrs, this.localAsn);
      for (const n of a.mpReach.nlri) this.store(n, src, loop, true);
    }
  }

  /**
   * Announces one route. `attrs` must already be RIB-ready (ribAttrs(): no MP_REACH, next hop
   * in `nextHop`) and should be shared across the prefixes of one UPDATE.
   */
  announce(nlri: Nlri, attrs: PathAttributes, now: number): void {
    this.store(
      nlri,
      new PathSource(this.peer, attrs, attrs, now, false),
      containsAs(attrs, this.localAsn),
      false,
    );
  }

  /** `src`: one per UPDATE and family, shared by its routes. */
  /**
   * `wire`: the prefix was decoded from an UPDATE, so for a numeric (IPv4) key the Path does not
   * keep it (rebuilt from the key on demand, as for the compact NLRI of large UPDATEs): a
   * one-prefix UPDATE of a full table then retains neither the Prefix object nor its text.
   */
  private store(nlri: Nlri, src: PathSource, loop: boolean, wire: boolean): void {
    const prefix = nlri.prefix;
    const pk = prefixKey(prefix);
    const pathId = nlri.pathId ?? 0;
    // ADD-PATH: (prefix, path id) — a string, the rare case.
    const k = nlri.pathId === undefined ? pk : `${pk}#${pathId}`;
    const stored = wire && typeof pk === "number" ? undefined : prefix;
    this.place(k, makePath(pk, src, pathId, stored), loop);
  }

  private storeCompact(d: Uint32Array, addPath: boolean, src: PathSource, loop: boolean): void {
    for (let i = 0; i < d.length; i += 3) {
      const pk = ipv4Key(d[i + 1]!, d[i + 2]!);
      const pathId = d[i]!;
      this.place(addPath ? `${pk}#${pathId}` : pk, makePath(pk, src, pathId, undefined), loop);
    }
  }

  private withdrawCompact(d: Uint32Array, addPath: boolean): void {
    for (let i = 0; i < d.length; i += 3) {
      const pk = ipv4Key(d[i + 1]!, d[i + 2]!);
      const pathId = d[i]!;
      const k = addPath ? `${pk}#${pathId}` : pk;
      if (this.prev !== undefined) this.takeFromPrev(k);
      if (this.accepted.delete(k)) this.loc.withdrawKey(this.peer, pk, pathId);
      else this.rejected.delete(k);
    }
  }

  private place(k: RouteKey, raw: Path, loop: boolean): void {
    if (this.prev !== undefined) this.takeFromPrev(k);
    let accepted: Path | undefined;
    if (!loop) {
      if (this.policy.acceptsAllUnchanged) accepted = raw;
      else {
        const r = this.policy(raw);
        if (r.accept) accepted = raw.withAttrs(r.attrs);
      }
    }
    if (accepted) {
      const p = accepted;
      if (this.rejected.size > 0) this.rejected.delete(k);
      this.accepted.set(k, p);
      this.loc.update(p);
    } else {
      if (this.accepted.delete(k)) this.loc.withdrawKey(this.peer, raw.key, raw.pathId);
      this.rejected.set(k, raw);
    }
  }

  withdraw(nlri: Nlri): void {
    const pk = prefixKey(nlri.prefix);
    const k = nlri.pathId === undefined ? pk : `${pk}#${nlri.pathId}`;
    if (this.prev !== undefined) this.takeFromPrev(k);
    if (this.accepted.delete(k)) this.loc.withdrawKey(this.peer, pk, nlri.pathId ?? 0);
    else this.rejected.delete(k);
  }

  /**
   * This Adj-RIB-In (a new session) replaces `old` (an earlier session of the same peer whose
   * routes are still being withdrawn by clear(limit)). From now on every route this one
   * announces or withdraws first removes `old`'s route under the same key from the Loc-RIB, so
   * the decision never sees the old and the new copy side by side. Older predecessors of `old`
   * stay linked behind it.
   */
  supersede(old: AdjRibIn): void {
    if (old === this || old.isEmpty) return;
    this.prev = old;
  }

  /** True when no route is held (accepted or rejected): a drain is complete. */
  get isEmpty(): boolean {
    return this.accepted.size === 0 && this.rejected.size === 0;
  }

  /** Removes the route under `k` from the chain of drained predecessors (a key is in at most one). */
  private takeFromPrev(k: RouteKey): void {
    let holder: AdjRibIn = this;
    for (let q = this.prev; q !== undefined; q = q.prev) {
      const p = q.accepted.get(k);
      if (p !== undefined) {
        q.accepted.delete(k);
        this.loc.withdrawKey(q.peer, p.key, p.pathId);
      } else {
        q.rejected.delete(k);
      }
      // Unlink predecessors that have nothing left.
      if (q.isEmpty) holder.prev = q.prev;
      else holder = q;
      if (p !== undefined) break;
    }
  }

  /**
   * Session gone without graceful restart: forget everything and withdraw it from the Loc-RIB.
   * `limit`: withdraw at most that many routes now and return false while some are left (call
   * again, e.g. on the next macrotask); true once the Adj-RIB-In is empty. Routes rejected by
   * policy have no Loc-RIB state and go at once. Stops any graceful-restart sweep.
   */
  clear(limit = Number.POSITIVE_INFINITY): boolean {
    this.markIter = undefined;
    this.markRejIter = undefined;
    this.sweepIter = undefined;
    this.sweepRejIter = undefined;
    this.rejected.clear();
    const loc = this.loc;
    const peer = this.peer;
    const acc = this.accepted;
    // One iterator across calls: Map iterators survive deletions, and restarting from the
    // front would walk over the deleted entries again on every slice.
    const it = this.drainIter ?? acc.entries();
    let n = 0;
    while (n < limit) {
      const r = it.next();
      if (r.done) break;
      const [k, p] = r.value;
      acc.delete(k);
      loc.withdrawKey(peer, p.key, p.pathId);
      n++;
    }
    if (acc.size === 0) {
      this.drainIter = undefined;
      return true;
    }
    this.drainIter = it;
    return false;
  }

  /**
   * RFC 4724 §4.2: the session dropped with GR: keep routes, marked stale (no Loc-RIB change).
   * An unfinished sweep stops: what it had not reached yet is stale again anyway. `limit`: mark
   * at most that many routes now and go on with continueMarking(); the rest is marked before
   * anything else touches the table (applyUpdate, reimport, sweepStale finish it first), so no
   * route of a new session is ever marked. Returns true when every route is marked.
   */
  markStale(limit = Number.POSITIVE_INFINITY): boolean {
    this.sweepIter = undefined;
    this.sweepRejIter = undefined;
    this.markIter = this.accepted.entries();
    this.markRejIter = this.rejected.entries();
    return this.continueMarking(limit);
  }

  /** Goes on with an unfinished markStale(limit); true when it is done (or none was running). */
  continueMarking(limit = Number.POSITIVE_INFINITY): boolean {
    const it = this.markIter;
    const itRej = this.markRejIter;
    if (it === undefined || itRej === undefined) return true;
    let n = 0;
    for (; n < limit; n++) {
      const r = it.next();
      if (r.done) break;
      const [k, p] = r.value;
      const s = p.withStale(true);
      if (s === p) continue;
      this.accepted.set(k, s);
      this.loc.replaceQuietly(s);
    }
    for (; n < limit; n++) {
      const r = itRej.next();
      if (r.done) {
        this.markIter = undefined;
        this.markRejIter = undefined;
        return true;
      }
      const [k, p] = r.value;
      this.rejected.set(k, p.withStale(true));
    }
    return false;
  }

  /** True while a markStale(limit) is unfinished. */
  get marking(): boolean {
    return this.markIter !== undefined;
  }

  /**
   * RFC 4724 §4.2: End-of-RIB received or restart time over: delete routes still stale.
   * Returns how many were deleted. `limit`: look at most at that many routes now; while
   * `sweeping` is true the sweep is unfinished and the next call goes on where this one stopped.
   * The new session keeps updating the table meanwhile: a route it re-announces is no longer
   * stale when the sweep reaches it, one it adds comes after the sweep's position or is not
   * stale, so only routes still stale are deleted.
   */
  sweepStale(limit = Number.POSITIVE_INFINITY): number {
    if (this.markIter !== undefined) this.continueMarking();
    const acc = this.accepted;
    const rej = this.rejected;
    const it = this.sweepIter ?? acc.entries();
    const itRej = this.sweepRejIter ?? rej.entries();
    let seen = 0;
    let n = 0;
    let more = false;
    for (;;) {
      if (seen >= limit) {
        more = true;
        break;
      }
      const r = it.next();
      if (r.done) break;
      seen++;
      const [k, p] = r.value;
      if (!p.stale) continue;
      acc.delete(k);
      this.loc.withdrawKey(this.peer, p.key, p.pathId);
      n++;
    }
    if (!more) {
      for (;;) {
        if (seen >= limit) {
          more = true;
          break;
        }
        const r = itRej.next();
        if (r.done) break;
        seen++;
        const [k, p] = r.value;
        if (p.stale) {
          rej.delete(k);
          n++;
        }
      }
    }
    this.sweepIter = more ? it : undefined;
    this.sweepRejIter = more ? itRej : undefined;
    return n;
  }

  /** True while a sweepStale(limit) is unfinished. */
  get sweeping(): boolean {
    return this.sweepIter !== undefined;
  }

  /**
   * Soft reconfiguration inbound: run a (new) import policy over every received route again,
   * from the attributes as received. Changes reach the Loc-RIB like ordinary updates.
   */
  reimport(policy: CompiledPolicy = this.policy): void {
    if (this.markIter !== undefined) this.continueMarking();
    this.policy = policy;
    const all: [RouteKey, Path][] = [];
    for (const [k, p] of this.accepted) all.push([k, p]);
    for (const [k, p] of this.rejected) all.push([k, p]);
    for (const [k, p] of all) {
      // The route as received: its own source when policy changed nothing, else a copy.
      const s = p.src;
      const raw =
        s.attrs === s.sourceAttrs
          ? p
          : makePath(
              p.key,
              new PathSource(s.peer, s.sourceAttrs, s.sourceAttrs, s.learnedAt, s.stale),
              p.pathId,
              p.storedPrefix,
            );
      this.place(k, raw, containsAs(raw.attrs, this.localAsn));
    }
  }

  /** Accepted routes (post-policy). */
  routes(): IterableIterator<Path> {
    return this.accepted.values();
  }

  /** Every received route with its received attributes (`sourceAttrs`) and whether it was accepted. */
  *received(): IterableIterator<{ path: Path; accepted: boolean }> {
    for (const p of this.accepted.values()) yield { path: p, accepted: true };
    for (const p of this.rejected.values()) yield { path: p, accepted: false };
  }

  /** The accepted path for a prefix (and path id), if any. */
  get(prefix: Prefix, pathId?: number): Path | undefined {
    const pk: RouteKey = prefixKey(prefix);
    return this.accepted.get(pathId === undefined ? pk : `${pk}#${pathId}`);
  }
}
