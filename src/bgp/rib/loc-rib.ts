/**
 * Loc-RIB: per prefix, the candidate paths from every peer (post import policy) and the
 * selected best path plus its ECMP set. Mutations only mark prefixes dirty; flush() runs the
 * decision process once per dirty prefix and returns a change for each prefix whose best
 * path or ECMP set really changed (re-announcing an identical route, or flipping its stale
 * flag, produces nothing). Consumers — Adj-RIB-Out per peer, kernel sync — are driven only by
 * these changes.
 */
import type { Prefix } from "../wire/types.ts";
import { type BestPathReason, type BestPathResult, bestPath, type DecisionOptions } from "./decision.ts";
import { type Path, type PeerInfo, samePath } from "./path.ts";
import { prefixKey, type RouteKey } from "./prefix-util.ts";

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

/**
 * One prefix. Memory matters (one per route): the usual single candidate is stored without an
 * array, and the ECMP set only when it has more than one member.
 */
class RibEntry {
  /** Candidates in arrival order, at most one per (peer, pathId): a Path, an array, or undefined. */
  cands: Path | Path[] | undefined;
  /** Best path as last reported by flush(). */
  best: Path | undefined = undefined;
  /** ECMP set as last reported when it has 2+ members; undefined otherwise. */
  mp: readonly Path[] | undefined = undefined;
  dirty = false;
  constructor(
    readonly key: RouteKey,
    readonly prefix: Prefix,
    first: Path,
  ) {
    this.cands = first;
  }

  get paths(): readonly Path[] {
    const c = this.cands;
    return c === undefined ? NONE : Array.isArray(c) ? c : [c];
  }

  get multipath(): readonly Path[] {
    return this.mp ?? (this.best ? [this.best] : NONE);
  }

  get count(): number {
    const c = this.cands;
    return c === undefined ? 0 : Array.isArray(c) ? c.length : 1;
  }
}

export interface LocRibEntryView {
  readonly key: RouteKey;
  readonly prefix: Prefix;
  readonly paths: readonly Path[];
  readonly best: Path | undefined;
  readonly multipath: readonly Path[];
}

function sameSet(a: readonly Path[], b: readonly Path[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!samePath(a[i], b[i])) return false;
  return true;
}

export class LocRib {
  private readonly entries = new Map<RouteKey, RibEntry>();
  private dirty: RibEntry[] = [];
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
    return this.dirty.length > 0;
  }

  private touch(e: RibEntry): void {
    if (!e.dirty) {
      e.dirty = true;
      this.dirty.push(e);
    }
  }

  /** Adds or replaces the candidate of (path.peer, path.pathId) for path.prefix. */
  update(path: Path): void {
    const e = this.entries.get(path.key);
    if (!e) {
      const n = new RibEntry(path.key, path.prefix, path);
      this.entries.set(path.key, n);
      this.paths++;
      this.touch(n);
      return;
    }
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
    const e = this.entries.get(key);
    if (!e) return;
    this.removeWhere(e, (q) => q.peer === peer && q.pathId === pathId);
  }

  /** Removes the candidates matching `drop`; returns how many. */
  private removeWhere(e: RibEntry, drop: (p: Path) => boolean): number {
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
    for (const e of this.entries.values()) {
      const c = e.cands;
      if (c === undefined) continue;
      if (!Array.isArray(c)) {
        if (c.peer === peer) e.cands = c.withStale(true);
        continue;
      }
      for (let i = 0; i < c.length; i++) {
        const q = c[i]!;
        if (q.peer === peer) c[i] = q.withStale(true);
      }
    }
  }

  /** RFC 4724: after End-of-RIB (or the restart timer), delete the peer's paths still stale. */
  sweepStale(peer: PeerInfo): void {
    this.filterPeer(peer, (p) => !p.stale);
  }

  private filterPeer(peer: PeerInfo, keep: (p: Path) => boolean): void {
    for (const e of this.entries.values()) this.removeWhere(e, (q) => q.peer === peer && !keep(q));
  }

  /** Re-run the decision for every prefix at the next flush (next-hop reachability or IGP cost changed). */
  invalidateAll(): void {
    for (const e of this.entries.values()) this.touch(e);
  }

  /**
   * Runs the decision process for every prefix touched since the last flush and returns one
   * change per prefix whose best path or ECMP set differs from what was last reported.
   */
  flush(): RibChange[] {
    const out: RibChange[] = [];
    const dirty = this.dirty;
    this.dirty = [];
    for (const e of dirty) {
      e.dirty = false;
      const c = e.cands;
      const prevBest = e.best;
      const prevMp = e.mp;
      let r: BestPathResult;
      if (c !== undefined && !Array.isArray(c) && !this.opts.nextHopReachable) {
        // The common case, without allocating: one candidate, nothing to decide.
        e.best = c;
        e.mp = undefined;
        if (prevMp === undefined && samePath(prevBest, c)) continue;
        r = { best: c, reason: "only-path", multipath: [c] };
      } else {
        r = bestPath(e.paths, this.opts);
        e.best = r.best;
        e.mp = r.multipath.length > 1 ? r.multipath : undefined;
        if (c === undefined) this.entries.delete(e.key);
        if (samePath(prevBest, r.best) && sameSet(prevMp ?? NONE, e.mp ?? NONE)) continue;
      }
      out.push({
        key: e.key,
        prefix: e.prefix,
        best: r.best,
        previous: prevBest,
        multipath: r.multipath,
        reason: r.reason,
      });
    }
    return out;
  }

  get(prefix: Prefix): LocRibEntryView | undefined {
    return this.entries.get(prefixKey(prefix));
  }

  getKey(key: RouteKey): LocRibEntryView | undefined {
    return this.entries.get(key);
  }

  /** Every prefix with a best path as of the last flush (for Adj-RIB-Out dumps, show commands). */
  *selected(): IterableIterator<LocRibEntryView> {
    for (const e of this.entries.values()) if (e.best) yield e;
  }

  /** Every prefix with candidates (including ones without a usable best). */
  entriesView(): IterableIterator<LocRibEntryView> {
    return this.entries.values();
  }
}
