/**
 * KernelSync: keeps the kernel's routing table in line with the speaker's Loc-RIB. It owns
 * the translation RibChange → desired KernelRoute, the coalescing of change bursts into one
 * batched apply, error accounting and retries, and the restart story:
 *
 *  1. startupReconcile(): ADOPT the routes already in the table with our protocol (from a
 *     previous run) — nothing is deleted, so forwarding continues while sessions come up;
 *  2. onChanges(): incremental updates, applied once per macrotask (or per coalesceMs);
 *     a re-learned route identical to the adopted one costs no kernel operation;
 *  3. converged() (the lead calls it after End-of-RIB from every peer, or a timeout): a full
 *     reconcile — stale adopted routes are deleted, drift repaired, with the fewest changes.
 *
 * Routes with another protocol are never deleted or replaced (reconcile.ts). All backend calls
 * run one at a time in order, so a delete can never overtake the replace it follows.
 */
import { networkInterfaces } from "node:os";
import type { Path } from "../bgp/rib/path.ts";
import type { Prefix } from "../bgp/wire/types.ts";
import type { Logger } from "../core/log.ts";
import type { RouteBackend, RouteOp } from "./backend.ts";
import { type NextHopResolver, plainNextHop } from "./encap.ts";
import { conflicts, diff, satisfies } from "./reconcile.ts";
import {
  DEFAULT_METRIC,
  type KernelNextHop,
  type KernelRoute,
  RT_TABLE_MAIN,
  RTPROT_PODGATE,
} from "./types.ts";

/** What a Loc-RIB change or entry view gives us (RibChange and LocRibEntryView both fit). */
export interface RouteSnapshotEntry {
  readonly prefix: Prefix;
  readonly best: Path | undefined;
  readonly multipath: readonly Path[];
}

export interface KernelSyncOptions {
  readonly backend: RouteBackend;
  readonly log: Logger;
  /** Routing table (default 254, main). */
  readonly table?: number;
  /** rtm_protocol marking podgate's routes (default 201). */
  readonly protocol?: number;
  /** Metric of podgate's routes (default 20, see types.ts DEFAULT_METRIC). */
  readonly metric?: number;
  /**
   * Locally originated routes (aggregates podgate announces itself): not installed (false,
   * default), or installed as "unreachable" (senders get ICMP unreachable for unused pod
   * addresses instead of a routing loop) or "blackhole".
   */
  readonly installLocal?: false | "unreachable" | "blackhole";
  /** True for addresses of this host: a path whose next hop is us is not installed. Default: os.networkInterfaces(). */
  readonly isLocalAddress?: (addr: string) => boolean;
  /** 0 (default): apply once per macrotask; > 0: collect changes for this many ms first. */
  readonly coalesceMs?: number;
  /** Retry failed routes after this long (default 10 s). */
  readonly retryMs?: number;
  /** How a path's next hop becomes a kernel next hop (e.g. through the ipip device); default plain `via`. */
  readonly nextHop?: NextHopResolver;
}

export interface KernelSyncStatus {
  readonly phase: "new" | "adopting" | "converged" | "stopped";
  /** Routes podgate believes are in the kernel (after the last apply). */
  readonly installed: number;
  readonly desired: number;
  /** Desired routes the kernel refused (retried every retryMs). */
  readonly failed: number;
  /** Routes adopted at startup. */
  readonly adopted: number;
  /** Stale routes deleted by the last full reconcile. */
  readonly staleRemoved: number;
  /** Desired routes held back because a route of another protocol holds the same key. */
  readonly conflicts: number;
  /** Failed operations since start. */
  readonly errors: number;
  readonly lastError?: { readonly prefix: string; readonly code: string; readonly at: number };
  readonly lastSync?: { readonly ops: number; readonly ms: number; readonly at: number };
}

function prefixText(p: Prefix | string): string {
  return typeof p === "string" ? p : `${p.addr}/${p.len}`;
}

/** Default isLocalAddress: this host's interface addresses, refreshed at most every 10 s. */
function interfaceAddressCheck(): (addr: string) => boolean {
  let cache = new Set<string>();
  let at = -Infinity;
  return (addr) => {
    const now = Date.now();
    if (now - at > 10_000) {
      cache = new Set(
        Object.values(networkInterfaces())
          .flat()
          .map((a) => a?.address ?? ""),
      );
      at = now;
    }
    return cache.has(addr);
  };
}

export class KernelSync {
  private readonly backend: RouteBackend;
  private readonly log: Logger;
  readonly table: number;
  readonly protocol: number;
  readonly metric: number;
  private readonly installLocal: false | "unreachable" | "blackhole";
  private readonly isLocal: (addr: string) => boolean;
  private readonly coalesceMs: number;
  private readonly retryMs: number;
  private nextHop: NextHopResolver;

  private readonly desired = new Map<string, KernelRoute>();
  private readonly installed = new Map<string, KernelRoute>();
  private readonly dirty = new Set<string>();
  private readonly failed = new Set<string>();
  /**
   * Prefixes where a route of another protocol sits on our (table, metric) key, as seen by the
   * last full listing: a replace there would overwrite it, so they are never installed.
   */
  private readonly blocked = new Set<string>();
  private phase: KernelSyncStatus["phase"] = "new";
  private scheduled: NodeJS.Immediate | NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private flushing = false;
  private errors = 0;
  private adopted = 0;
  private staleRemoved = 0;
  private conflictCount = 0;
  private lastError: KernelSyncStatus["lastError"];
  private lastSync: KernelSyncStatus["lastSync"];

  constructor(opts: KernelSyncOptions) {
    this.backend = opts.backend;
    this.log = opts.log;
    this.table = opts.table ?? RT_TABLE_MAIN;
    this.protocol = opts.protocol ?? RTPROT_PODGATE;
    this.metric = opts.metric ?? DEFAULT_METRIC;
    this.installLocal = opts.installLocal ?? false;
    this.isLocal = opts.isLocalAddress ?? interfaceAddressCheck();
    this.coalesceMs = opts.coalesceMs ?? 0;
    this.retryMs = opts.retryMs ?? 10_000;
    this.nextHop = opts.nextHop ?? plainNextHop;
  }

  /**
   * Replaces the next-hop rule (a reload turned IPIP on or off, or the device was recreated) and
   * re-derives every route from `snapshot` (the current Loc-RIB): routes whose kernel form
   * changed are replaced on the next flush, the others cost nothing.
   */
  setNextHopResolver(r: NextHopResolver | undefined, snapshot: Iterable<RouteSnapshotEntry>): void {
    this.nextHop = r ?? plainNextHop;
    this.onChanges(snapshot);
  }

  /** The kernel route for a Loc-RIB best path + ECMP set, or undefined when nothing is to be installed. */
  toKernelRoute(e: RouteSnapshotEntry): KernelRoute | undefined {
    const best = e.best;
    if (!best) return undefined;
    const family: 4 | 6 = e.prefix.afi === 2 ? 6 : 4;
    const base = {
      prefix: prefixText(e.prefix),
      family,
      table: this.table,
      protocol: this.protocol,
      metric: this.metric,
    };
    if (best.peer.local) {
      return this.installLocal ? { ...base, type: this.installLocal, nextHops: [] } : undefined;
    }
    const hops: KernelNextHop[] = [];
    const seen = new Set<string>();
    for (const p of e.multipath.length > 0 ? e.multipath : [best]) {
      const nh = p.nextHop;
      // Local-origin paths have no next hop to forward to; a next hop that is one of our own
      // addresses would make the kernel route to itself; an IPv4 route over an IPv6 next hop
      // (RFC 8950) needs RTA_VIA, which this backend does not encode yet.
      if (p.peer.local || nh === "" || seen.has(nh)) continue;
      if (nh.includes(":") !== (family === 6)) continue;
      if (this.isLocal(nh)) continue;
      seen.add(nh);
      hops.push(this.nextHop(nh, p));
    }
    if (hops.length === 0) return undefined;
    return { ...base, type: "unicast", nextHops: hops };
  }

  /** Feed the speaker's `changes` event here. Cheap: the kernel work happens on the next flush. */
  onChanges(changes: Iterable<RouteSnapshotEntry>): void {
    if (this.phase === "stopped") return;
    for (const c of changes) {
      const key = prefixText(c.prefix);
      const r = this.toKernelRoute(c);
      if (r) this.desired.set(key, r);
      else this.desired.delete(key);
      this.dirty.add(key);
    }
    this.schedule();
  }

  /**
   * Step 1 of a start: adopt our routes already in the table (nothing is deleted), then install
   * `snapshot` (e.g. speaker.locRib.selected() when KernelSync starts after the speaker).
   */
  startupReconcile(snapshot: Iterable<RouteSnapshotEntry> = []): Promise<void> {
    this.phase = "adopting";
    return this.serial(async () => {
      const current = await this.backend.list({ table: this.table });
      let other = 0;
      for (const r of current) {
        const onOurKey = (r.metric ?? 0) === this.metric;
        if (r.protocol !== this.protocol) {
          if (onOurKey) this.blocked.add(r.prefix);
        } else if (onOurKey) {
          this.installed.set(r.prefix, r);
        } else {
          other++; // not on our key: converged() removes it as stale
        }
      }
      this.adopted = this.installed.size;
      this.log.info(
        { table: this.table, protocol: this.protocol, adopted: this.adopted, otherMetric: other },
        "kernel routes adopted from a previous run",
      );
    }).then(() => this.onChanges(snapshot));
  }

  /**
   * Step 3: the speaker has converged. Full reconcile of the table against the desired state:
   * deletes stale routes of ours, repairs drift, reports conflicts with foreign routes.
   */
  converged(): Promise<void> {
    if (this.phase === "stopped") return Promise.resolve();
    this.phase = "converged";
    return this.resync();
  }

  /** Full reconcile (also usable periodically to repair routes changed behind our back). */
  resync(): Promise<void> {
    return this.serial(async () => {
      this.cancelScheduled();
      const t0 = performance.now();
      const current = await this.backend.list({ table: this.table });
      const desired = [...this.desired.values()];
      const ops = diff(current, desired, this.protocol);
      const held = conflicts(current, desired, this.protocol);
      this.conflictCount = held.length;
      for (const c of held.slice(0, 10)) {
        this.log.warn(
          { prefix: c.desired.prefix, foreignProtocol: c.foreign.protocol, metric: c.foreign.metric },
          "route not installed: a route of another protocol holds the same prefix and metric",
        );
      }
      this.installed.clear();
      this.blocked.clear();
      for (const r of current) {
        if (r.protocol === this.protocol) this.installed.set(r.prefix, r);
        else if ((r.metric ?? 0) === this.metric) this.blocked.add(r.prefix);
      }
      this.dirty.clear();
      const stale = ops.filter((o) => o.op === "delete").length;
      await this.applyOps(ops, t0);
      this.staleRemoved = stale;
      this.log.info({ ops: ops.length, stale, conflicts: held.length }, "kernel routes reconciled");
    }).finally(() => {
      if (this.dirty.size > 0) this.schedule();
    });
  }

  /** "keep": leave routes in place (the next start adopts them); "remove": delete all of ours in the table. */
  async shutdown(mode: "keep" | "remove"): Promise<void> {
    this.phase = "stopped";
    this.cancelScheduled();
    clearTimeout(this.retryTimer);
    await this.serial(async () => {
      if (mode === "remove") {
        const ours = await this.backend.list({ table: this.table, protocol: this.protocol });
        await this.applyOps(
          ours.map((route) => ({ op: "delete", route })),
          performance.now(),
        );
      }
    });
    this.backend.close();
  }

  /** True when the route for this prefix is in the kernel as far as podgate knows (`podgate routes`). */
  isInstalled(prefix: Prefix | string): boolean {
    return this.installed.has(prefixText(prefix));
  }

  status(): KernelSyncStatus {
    return {
      phase: this.phase,
      installed: this.installed.size,
      desired: this.desired.size,
      failed: this.failed.size,
      adopted: this.adopted,
      staleRemoved: this.staleRemoved,
      conflicts: Math.max(this.conflictCount, [...this.blocked].filter((k) => this.desired.has(k)).length),
      errors: this.errors,
      ...(this.lastError ? { lastError: this.lastError } : {}),
      ...(this.lastSync ? { lastSync: this.lastSync } : {}),
    };
  }

  /** Resolves when every change received so far has been applied (tests, shutdown ordering). */
  async idle(): Promise<void> {
    for (let i = 0; i < 100; i++) {
      await this.chain;
      if (!this.scheduled && !this.flushing && this.dirty.size === 0) return;
      await new Promise((r) => setImmediate(r));
    }
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private cancelScheduled(): void {
    if (this.scheduled) {
      clearTimeout(this.scheduled as NodeJS.Timeout);
      clearImmediate(this.scheduled as NodeJS.Immediate);
      this.scheduled = undefined;
    }
  }

  private schedule(): void {
    if (this.scheduled || this.flushing || this.phase === "stopped" || this.dirty.size === 0) return;
    const run = () => {
      this.scheduled = undefined;
      void this.flush();
    };
    this.scheduled = this.coalesceMs > 0 ? setTimeout(run, this.coalesceMs) : setImmediate(run);
  }

  private flush(): Promise<void> {
    this.flushing = true;
    return this.serial(async () => {
      const t0 = performance.now();
      const ops: RouteOp[] = [];
      for (const key of this.dirty) {
        const want = this.desired.get(key);
        const have = this.installed.get(key);
        if (want) {
          if (this.blocked.has(key) && !have) continue; // a foreign route holds the key
          if (!have || !satisfies(have, want)) ops.push({ op: "replace", route: want });
          else this.failed.delete(key);
        } else {
          this.failed.delete(key);
          if (have) ops.push({ op: "delete", route: have });
        }
      }
      this.dirty.clear();
      await this.applyOps(ops, t0);
    })
      .catch((e: unknown) => {
        this.errors++;
        this.lastError = { prefix: "*", code: "EBACKEND", at: Date.now() };
        this.log.error({ err: e }, "kernel route sync failed");
      })
      .finally(() => {
        this.flushing = false;
        this.schedule();
      });
  }

  private async applyOps(ops: readonly RouteOp[], t0: number): Promise<void> {
    if (ops.length === 0) return;
    const results = await this.backend.apply(ops);
    const failures: Array<{ prefix: string; op: string; code: string }> = [];
    results.forEach((res, i) => {
      const { op, route } = ops[i]!;
      const key = route.prefix;
      const metricOk = (route.metric ?? 0) === this.metric;
      if (res.ok || (op === "delete" && res.code === "ESRCH")) {
        // Track by prefix only routes on our metric (others are stale leftovers being removed).
        if (op === "replace") this.installed.set(key, route);
        else if (metricOk) this.installed.delete(key);
        this.failed.delete(key);
        return;
      }
      this.errors++;
      const code = res.code ?? "EUNKNOWN";
      this.lastError = { prefix: key, code, at: Date.now() };
      failures.push({ prefix: key, op, code });
      // A failed replace leaves the old route (if any) in place; a failed delete leaves the
      // route. Either way the key is retried later.
      this.failed.add(key);
    });
    this.lastSync = { ops: ops.length, ms: Math.round(performance.now() - t0), at: Date.now() };
    if (failures.length > 0) {
      this.log.warn(
        { failed: failures.length, of: ops.length, first: failures.slice(0, 5) },
        "kernel refused some routes",
      );
      this.armRetry();
    }
  }

  private armRetry(): void {
    if (this.retryTimer || this.phase === "stopped") return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      for (const k of this.failed) this.dirty.add(k);
      this.schedule();
    }, this.retryMs);
    this.retryTimer.unref();
  }
}
