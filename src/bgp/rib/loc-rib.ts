/**
 * Loc-RIB: per prefix, the candidate paths from every peer (post import policy) and the
 * selected best path plus its ECMP set. Mutations only mark prefixes dirty; flush() runs the
 * decision process once per dirty prefix and returns a change for each prefix whose best
 * path or ECMP set really changed (re-announcing an identical route, or flipping its stale
 * flag, produces nothing). Consumers — Adj-RIB-Out per peer, kernel sync — are driven only by
 * these changes.
 */
import type { Prefix } from "../wire/types.ts";
import { type BestPathReason, bestPath, type DecisionOptions } from "./decision.ts";
import { type Path, type PeerInfo, samePath } from "./path.ts";
import { ipv4PrefixOfKey, prefixKey, type RouteKey } from "./prefix-util.ts";

export interface RibChange {
  readonly key: RouteKey;
  readonly prefix: Prefix;
  /** The new best path; undefined when the prefix is gone (or no candidate is usable). */
  readonly best: Path | undefined;
  /** The best path reported by the previous change for this prefix. */
  readonly previous: Path | undefined;
  /** ECMP set, best first (see BestPathResult.multipath); empty when best is undefined. */
  readonly multipath: readonly Path[];
  readonly reason: BestPathReason;
}

const NONE: readonly Path[] = Object.freeze([]);

/** A change; the one-member ECMP array is only built if someone asks for it. */
class Change implements RibChange {
  constructor(
    readonly key: RouteKey,
    /** Path.storedPrefix: undefined for a numeric key, rebuilt on demand (see Path). */
    private readonly storedPrefix: Prefix | undefined,
    readonly best: Path | undefined,
    readonly previous: Path | undefined,
    private readonly mp: readonly Path[] | undefined,
    readonly reason: BestPathReason,
  ) {}

  get prefix(): Prefix {
    return this.storedPrefix ?? ipv4PrefixOfKey(this.key as number);
  }

  get multipath(): readonly Path[] {
    return this.mp ?? (this.best ? [this.best] : NONE);
  }
}

/**
 * The change for a brand-new prefix whose only candidate is the best: one field, everything
 * else derived (a large initial ingest is made of these).
 */
class NewRoute implements RibChange {
  constructor(readonly best: Path) {}
  get key(): RouteKey {
    return this.best.key;
  }
  get prefix(): Prefix {
    return this.best.prefix;
  }
  get previous(): undefined {
    return undefined;
  }
  get multipath(): readonly Path[] {
    return [this.best];
  }
  get reason(): BestPathReason {
    return "only-path";
  }
}

/**
 * A prefix that needs more than a bare Path: several candidates, a pending change, or a
 * reported best that differs from its only candidate. The usual prefix — one candidate that
 * is the reported best — is stored in the map as the Path itself (no entry object): that is
 * most of a large table, and the reason this class exists only for the rest.
 */
class RibEntry {
  /** Candidates in arrival order, at most one per (peer, pathId): a Path, an array, or undefined. */
  cands: Path | Path[] | undefined;
  /** Best path as last reported by flush(). */
  best: Path | undefined;
  /** ECMP set as last reported when it has 2+ members; undefined otherwise. */
  mp: readonly Path[] | undefined = undefined;
  dirty = false;
  constructor(
    readonly key: RouteKey,
    readonly storedPrefix: Prefix | undefined,
    cands: Path | Path[] | undefined,
    best: Path | undefined,
  ) {
    this.cands = cands;
    this.best = best;
  }

  get prefix(): Prefix {
    return this.storedPrefix ?? ipv4PrefixOfKey(this.key as number);
  }

  get paths(): readonly Path[] {
    const c = this.cands;
    return c === undefined ? NONE : Array.isArray(c) ? c : [c];
  }

  get multipath(): readonly Path[] {
    return this.mp ?? (this.best ? [this.best] : NONE);
  }
}

export interface LocRibEntryView {
  readonly key: RouteKey;
  readonly prefix: Prefix;
  readonly paths: readonly Path[];
  readonly best: Path | undefined;
  readonly multipath: readonly Path[];
}

function viewOf(v: Path | RibEntry): LocRibEntryView {
  if (v instanceof RibEntry) return v;
  const one = [v];
  return { key: v.key, prefix: v.prefix, paths: one, best: v, multipath: one };
}

function sameSet(a: readonly Path[], b: readonly Path[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!samePath(a[i], b[i])) return false;
  return true;
}

export class LocRib {
  /**
   * Per prefix: a Path (its only candidate, already reported as best — or, if its key is in
   * `fresh`, a brand-new prefix not reported yet) or a RibEntry.
   */
  private readonly entries = new Map<RouteKey, Path | RibEntry>();
  /**
   * Paths of prefixes created since the last flush (nothing reported for them yet), from
   * index `freshAt` on (a sliced flush may leave some). While `freshExact` holds, each is
   * still the bare value in `entries` (nothing touched it since), so flush() needs no lookup.
   */
  private fresh: Path[] = [];
  private freshAt = 0;
  private freshExact = true;
  private dirty: RibEntry[] = [];
  private dirtyAt = 0;
  private paths = 0;

  constructor(private readonly opts: DecisionOptions = {}) {}

  /** Number of prefixes with at least one candidate or a reported best. */
  get size(): number {
    return this.entries.size;
  }

  /** Number of candidate paths over all prefixes. */
  get pathCount(): number {
    return this.paths;
  }

  /** True when mutations are waiting for flush(). */
  get pending(): boolean {
    return this.dirtyAt < this.dirty.length || this.freshAt < this.fresh.length;
  }

  private touch(e: RibEntry): void {
    if (!e.dirty) {
      e.dirty = true;
      this.dirty.push(e);
    }
  }

  /**
   * The entry object for a key, creating one from a bare Path. A bare Path is taken to be the
   * reported best; if it was in fact fresh, flush() corrects that before deciding.
   */
  private entryFor(key: RouteKey, v: Path | RibEntry): RibEntry {
    if (v instanceof RibEntry) return v;
    this.freshExact = false;
    const e = new RibEntry(key, v.storedPrefix, v, v);
    this.entries.set(key, e);
    return e;
  }

  /** Adds or replaces the candidate of (path.peer, path.pathId) for path.prefix. */
  update(path: Path): void {
    const v = this.entries.get(path.key);
    if (v === undefined) {
      this.entries.set(path.key, path);
      this.fresh.push(path);
      this.paths++;
      return;
    }
    const e = this.entryFor(path.key, v);
    const c = e.cands;
    if (c === undefined) {
      e.cands = path;
      this.paths++;
    } else if (!Array.isArray(c)) {
      if (c.peer === path.peer && c.pathId === path.pathId) {
        e.cands = path;
      } else {
        e.cands = [c, path];
        this.paths++;
      }
    } else {
      let i = 0;
      for (; i < c.length; i++) {
        const q = c[i]!;
        if (q.peer === path.peer && q.pathId === path.pathId) break;
      }
      if (i === c.length) {
        c.push(path);
        this.paths++;
      } else {
        c[i] = path;
      }
    }
    this.touch(e);
  }

  /** Removes the candidate of (peer, pathId) for the prefix; a no-op when absent. */
  withdraw(peer: PeerInfo, prefix: Prefix, pathId = 0): void {
    this.withdrawKey(peer, prefixKey(prefix), pathId);
  }

  withdrawKey(peer: PeerInfo, key: RouteKey, pathId = 0): void {
    const v = this.entries.get(key);
    if (v === undefined) return;
    this.removeWhere(key, v, (q) => q.peer === peer && q.pathId === pathId);
  }

  /** Removes the candidates matching `drop`; returns how many. */
  private removeWhere(key: RouteKey, v: Path | RibEntry, drop: (p: Path) => boolean): number {
    if (!(v instanceof RibEntry)) {
      if (!drop(v)) return 0;
      const e = this.entryFor(key, v);
      e.cands = undefined;
      this.paths--;
      this.touch(e);
      return 1;
    }
    const e = v;
    const c = e.cands;
    if (c === undefined) return 0;
    let removed = 0;
    if (!Array.isArray(c)) {
      if (drop(c)) {
        e.cands = undefined;
        removed = 1;
      }
    } else {
      const kept = c.filter((q) => !drop(q));
      removed = c.length - kept.length;
      if (removed > 0) e.cands = kept.length === 0 ? undefined : kept.length === 1 ? kept[0] : kept;
    }
    if (removed > 0) {
      this.paths -= removed;
      this.touch(e);
    }
    return removed;
  }

  /**
   * Removes every path of a peer. Scans the table (no per-peer index: that would cost a map
   * entry per route); AdjRibIn.clear() withdraws by its own keys instead and is cheaper.
   */
  withdrawPeer(peer: PeerInfo): void {
    this.filterPeer(peer, () => false);
  }

  /** RFC 4724: keep the peer's paths but mark them stale (no change is reported for that). */
  markStale(peer: PeerInfo): void {
    for (const [key, v] of this.entries) {
      if (!(v instanceof RibEntry)) {
        // Same route, only the flag differs: still the reported best, stays bare.
        if (v.peer === peer) this.entries.set(key, v.withStale(true));
        continue;
      }
      const c = v.cands;
      if (c === undefined) continue;
      if (!Array.isArray(c)) {
        if (c.peer === peer) v.cands = c.withStale(true);
        continue;
      }
      for (let i = 0; i < c.length; i++) {
        const q = c[i]!;
        if (q.peer === peer) c[i] = q.withStale(true);
      }
    }
  }

  /**
   * Swaps a candidate for an equivalent one (same peer, path id and attributes; e.g. its stale
   * copy) without re-running the decision or reporting anything. Falls back to update() when
   * the candidate is missing or not equivalent.
   */
  replaceQuietly(path: Path): void {
    const v = this.entries.get(path.key);
    if (v !== undefined && !(v instanceof RibEntry)) {
      if (samePath(v, path)) {
        this.freshExact = false;
        this.entries.set(path.key, path);
        return;
      }
    } else if (v !== undefined) {
      const c = v.cands;
      if (c !== undefined && !Array.isArray(c) && samePath(c, path)) {
        v.cands = path;
        return;
      }
      if (Array.isArray(c)) {
        const i = c.findIndex((q) => samePath(q, path));
        if (i >= 0) {
          c[i] = path;
          return;
        }
      }
    }
    this.update(path);
  }

  /** RFC 4724: after End-of-RIB (or the restart timer), delete the peer's paths still stale. */
  sweepStale(peer: PeerInfo): void {
    this.filterPeer(peer, (p) => !p.stale);
  }

  private filterPeer(peer: PeerInfo, keep: (p: Path) => boolean): void {
    for (const [key, v] of this.entries) this.removeWhere(key, v, (q) => q.peer === peer && !keep(q));
  }

  /** Re-run the decision for every prefix at the next flush (next-hop reachability or IGP cost changed). */
  invalidateAll(): void {
    for (const [key, v] of this.entries) this.touch(this.entryFor(key, v));
  }

  /**
   * Runs the decision process for every prefix touched since the last flush and returns one
   * change per prefix whose best path or ECMP set differs from what was last reported.
   * `limit`: decide at most that many prefixes (new ones first, in arrival order) and leave the
   * rest pending for the next call, so a huge batch can be spread over several macrotasks.
   * Each prefix is still reported at most once per call and in the order of its mutations.
   */
  flush(limit = Number.POSITIVE_INFINITY): RibChange[] {
    const out: RibChange[] = [];
    const reach = this.opts.nextHopReachable;
    const fresh = this.fresh;
    const exact = this.freshExact;
    let budget = limit;
    let i = this.freshAt;
    const fEnd = Math.min(fresh.length, i + budget);
    for (; i < fEnd; i++) {
      const p = fresh[i]!;
      const v = exact ? p : this.entries.get(p.key);
      if (v === undefined) continue;
      if (v instanceof RibEntry) {
        // entryFor() took the bare path for a reported best; for a fresh prefix it never was.
        v.best = undefined;
        continue;
      }
      // Untouched new prefix with one candidate: it is the best (if its next hop resolves).
      if (reach && !reach(v)) {
        this.entries.set(v.key, new RibEntry(v.key, v.storedPrefix, v, undefined));
        continue;
      }
      out.push(new NewRoute(v));
    }
    budget -= i - this.freshAt;
    if (i < fresh.length) {
      this.freshAt = i;
      return out; // dirty entries may include fresh ones not corrected yet: they wait
    }
    this.fresh = [];
    this.freshAt = 0;
    this.freshExact = true;
    const dirty = this.dirty;
    let j = this.dirtyAt;
    const dEnd = Math.min(dirty.length, j + budget);
    for (; j < dEnd; j++) {
      const e = dirty[j]!;
      e.dirty = false;
      const c = e.cands;
      const prevBest = e.best;
      const prevMp = e.mp;
      if (c !== undefined && !Array.isArray(c) && (!reach || reach(c))) {
        // One candidate: nothing to decide; store it bare again.
        e.best = c;
        e.mp = undefined;
        this.entries.set(e.key, c);
        if (prevMp === undefined && samePath(prevBest, c)) continue;
        out.push(new Change(e.key, e.storedPrefix, c, prevBest, undefined, "only-path"));
        continue;
      }
      const r = bestPath(e.paths, this.opts);
      e.best = r.best;
      e.mp = r.multipath.length > 1 ? r.multipath : undefined;
      if (c === undefined) this.entries.delete(e.key);
      if (samePath(prevBest, r.best) && sameSet(prevMp ?? NONE, e.mp ?? NONE)) continue;
      out.push(new Change(e.key, e.storedPrefix, r.best, prevBest, e.mp, r.reason));
    }
    if (j < dirty.length) {
      this.dirtyAt = j;
    } else {
      this.dirty = [];
      this.dirtyAt = 0;
    }
    return out;
  }

  /** True when nothing has been reported yet for this (new) prefix. */
  private isFresh(key: RouteKey): boolean {
    const f = this.fresh;
    for (let i = this.freshAt; i < f.length; i++) if (f[i]!.key === key) return true;
    return false;
  }

  /** The prefix's candidates and its best/ECMP set as of the last flush. */
  get(prefix: Prefix): LocRibEntryView | undefined {
    return this.getKey(prefixKey(prefix));
  }

  getKey(key: RouteKey): LocRibEntryView | undefined {
    const v = this.entries.get(key);
    if (v === undefined) return undefined;
    if (this.isFresh(key)) {
      // Nothing reported yet for a fresh prefix (a RibEntry's `best` is only tentative here).
      const paths = v instanceof RibEntry ? v.paths : [v];
      return { key, prefix: v.prefix, paths, best: undefined, multipath: NONE };
    }
    return viewOf(v);
  }

  /**
   * Every prefix with a best path as of the last flush (for Adj-RIB-Out dumps, show
   * commands). Call it with nothing pending (after flush()).
   */
  *selected(): IterableIterator<LocRibEntryView> {
    const fresh =
      this.freshAt < this.fresh.length
        ? new Set(this.fresh.slice(this.freshAt).map((p) => p.key))
        : undefined;
    for (const [key, v] of this.entries) {
      if (fresh?.has(key)) continue; // nothing reported yet
      if (v instanceof RibEntry) {
        if (v.best) yield v;
      } else {
        yield viewOf(v);
      }
    }
  }
}
