/**
 * The BGP speaker: sessions + RIBs + policy as one component. It owns one PeerSession per
 * configured peer, the shared listener, the Loc-RIB and, per Established peer, its
 * Adj-RIB-In and Adj-RIB-Out. Data flows one way:
 *
 *   UPDATE in → Adj-RIB-In (import policy) → Loc-RIB (decision) → flush → Adj-RIB-Out
 *   (export policy) → packed UPDATEs out, and `changes` to other consumers (kernel sync).
 *
 * Loc-RIB flushes are batched: UPDATEs arriving in one burst of socket reads are applied
 * first and the decision process and exports run once, on the next macrotask.
 */
import { EventEmitter } from "node:events";
import { networkInterfaces } from "node:os";
import type { PeerStatus, RouteJson, RoutesJson, StatusJson } from "../api/types.ts";
import type { OriginateConfig, PeerConfig, PodgateConfig } from "../config/types.ts";
import { type Clock, systemClock, type TimerHandle } from "../core/clock.ts";
import type { Logger } from "../core/log.ts";
import { formatCommunity } from "./policy/community.ts";
import { compilePeerPolicies, type PeerPolicies } from "./policy/effective.ts";
import { parseCommunity } from "./policy/index.ts";
import { compare } from "./rib/decision.ts";
import {
  AdjRibIn,
  AdjRibOut,
  checkMaxPrefix,
  createPath,
  LocRib,
  makeLocalPeer,
  makePeerInfo,
  type PeerInfo,
  type RibChange,
  type RouteKey,
} from "./rib/index.ts";
import type { Path } from "./rib/path.ts";
import { addressSortKey } from "./rib/prefix-util.ts";
import { BgpListener } from "./session/listener.ts";
import { buildCapabilities, type DownReason, PeerSession, type SessionFacts } from "./session/peer.ts";
import {
  Afi,
  type AfiCode,
  AsPathSegmentType,
  CeaseSubcode,
  describeNotification,
  endOfRib,
  formatPrefix,
  isEndOfRib,
  Origin,
  type PathAttributes,
  type Prefix,
  parsePrefix,
  prefixContains,
  Safi,
  type UpdateMessage,
} from "./wire/index.ts";
import { encodeUpdates } from "./wire/update.ts";

const VERSION = "0.1.0";
/** API-derived routes lose to BGP-learned ones (RFC 4271 §9.1.2.1: higher LOCAL_PREF wins). */
const STATIC_LOCAL_PREF = 50;
const AGGREGATE_LOCAL_PREF = 1;
const SERVICE_FALLBACK_LOCAL_PREF = 40;
/** Restarting speaker: how long to wait for peers to come up before the ones that are up decide. */
const DEFERRAL_GRACE_MS = 5_000;
/**
 * Loc-RIB prefixes decided per macrotask. A 1M-route flush in one go blocked the event loop
 * for seconds (keepalives late); slices let timers and socket reads run in between.
 */
const FLUSH_SLICE = 50_000;
/**
 * Routes withdrawn (dropped session) or swept (graceful restart over) per macrotask. Dropping a
 * 1M-route peer in one go blocked the event loop for ~2 s; each slice also makes the flush of
 * the next macrotask small (bench/peer-drop.ts, docs/performance.md §6).
 */
const DROP_SLICE = 4_096;

interface AggregateState {
  readonly prefix: Prefix;
  /** Cluster best paths inside it. */
  count: number;
}

interface PeerEntry {
  config: PeerConfig;
  session: PeerSession;
  policies: PeerPolicies;
  /** Adj-RIB-In of the current (or gracefully restarting) session. */
  adjIn?: AdjRibIn;
  adjOut?: AdjRibOut;
  facts?: SessionFacts;
  /** RFC 4724: routes kept stale while the peer restarts; swept on End-of-RIB or timeout. */
  staleTimer?: TimerHandle;
  /** Families for which we still wait for End-of-RIB after a graceful restart. */
  awaitingEor?: Set<AfiCode>;
  maxPrefixWarned: boolean;
  /** Families still owing End-of-RIB in the current session (initial sync tracking). */
  eorOwed?: Set<AfiCode>;
  /** This peer delivered a full table (End-of-RIB for every family) at least once. */
  synced: boolean;
  /** Restarting speaker: our initial table to this peer waits for the initial sync. */
  deferred?: boolean;
  /** Max-prefix restart: the session is held down until this timer fires. */
  maxPrefixTimer?: TimerHandle;
  /** Stale routes deleted so far by the running graceful-restart sweep (for its log line). */
  swept?: number;
  /** FSM state changes of this peer's session, "From>To" → count (kept across config changes). */
  transitions: Map<string, number>;
  /** Times the session reached Established (BGP4-MIB bgpPeerFsmEstablishedTransitions). */
  established: { count: number };
  lastError?: string;
  /** The last NOTIFICATION sent or received, kept because later TCP errors overwrite lastError. */
  lastNotification?: { text: string; at: number };
}

export interface SpeakerEvents {
  /** Loc-RIB best-path changes after each flush (for the dataplane). */
  changes: [changes: readonly RibChange[]];
  /** Every enabled peer has sent End-of-RIB for all its families since start (once). */
  "initial-sync": [];
}

/** The per-peer flap counters of PeerStatus, always filled by the speaker. */
export type PeerTransitions = Required<Pick<PeerStatus, "stateTransitions" | "establishedTransitions">>;

export interface SpeakerOptions {
  readonly config: PodgateConfig;
  readonly log: Logger;
  readonly clock?: Clock;
}

/** Finds an address of the other family on the interface that holds `addr` (next hop for the other family). */
function siblingAddress(addr: string, family: "IPv4" | "IPv6"): string | undefined {
  const ifs = networkInterfaces();
  for (const list of Object.values(ifs)) {
    if (!list?.some((a) => a.address === addr)) continue;
    const global = list.find((a) => a.family === family && !a.internal && !a.address.startsWith("fe80"));
    if (global) return global.address;
  }
  return undefined;
}

/** RIB timestamps are whole seconds (a small integer per route, not a heap number). */
function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

function afiOf(address: string): AfiCode {
  return address.includes(":") ? Afi.IPV6 : Afi.IPV4;
}

function originName(o: number | undefined): RouteJson["origin"] {
  return o === Origin.EGP ? "egp" : o === Origin.INCOMPLETE ? "incomplete" : "igp";
}

function formatAsPath(a: PathAttributes): string {
  const parts: string[] = [];
  for (const s of a.asPath ?? []) {
    const list = s.asns.join(" ");
    if (s.type === AsPathSegmentType.AS_SEQUENCE) parts.push(list);
    else if (s.type === AsPathSegmentType.AS_SET) parts.push(`{${s.asns.join(",")}}`);
    else if (s.type === AsPathSegmentType.AS_CONFED_SEQUENCE) parts.push(`(${list})`);
    else parts.push(`[${s.asns.join(",")}]`);
  }
  return parts.filter((p) => p.length > 0).join(" ");
}

/** Routes ordered as operators read them: IPv4 before IPv6, by address, then length; best path first. */
function compareRoutes(a: RouteJson, b: RouteJson): number {
  if (a.family !== b.family) return a.family === "ipv4" ? -1 : 1;
  if (a.prefix !== b.prefix) {
    const [aa, al] = a.prefix.split("/");
    const [ba, bl] = b.prefix.split("/");
    const c = addressSortKey(aa!).localeCompare(addressSortKey(ba!));
    if (c !== 0) return c;
    return Number(al) - Number(bl);
  }
  if (a.best !== b.best) return a.best ? -1 : 1;
  return a.peer.localeCompare(b.peer);
}

function sameConfig(a: PeerConfig, b: PeerConfig): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export class Speaker extends EventEmitter<SpeakerEvents> {
  readonly locRib = new LocRib();
  private config: PodgateConfig;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly peers = new Map<string, PeerEntry>();
  private listener: BgpListener | undefined;
  private readonly localPeer: PeerInfo;
  /** Originated prefixes currently in the Loc-RIB, by prefix text. */
  private originated = new Map<string, OriginateConfig>();
  private aggregates: AggregateState[] = [];
  /** Routes from the Kubernetes API (static mode), by prefix text → next hops. */
  private staticRoutes = new Map<string, readonly string[]>();
  /** Service CIDR fallback: prefix → cluster peer addresses it is currently routed to. */
  private serviceFallback = new Map<string, readonly string[]>();
  /** Pseudo-peers for API-derived routes, one per next-hop node address. */
  private readonly apiPeers = new Map<string, PeerInfo>();
  /** Loc-RIB key → the aggregate a cluster best path is counted in. */
  private readonly counted = new Map<RouteKey, AggregateState>();
  private flushScheduled = false;
  /**
   * Adj-RIB-Ins of sessions that went down, detached from their peer and withdrawn from the
   * Loc-RIB a slice per macrotask (oldest first), and the latest of them per peer address, which
   * a new session of that peer supersedes.
   */
  private readonly drains: AdjRibIn[] = [];
  private readonly lastDrain = new Map<string, AdjRibIn>();
  /** Peers whose graceful-restart sweep of stale routes is running, a slice per macrotask. */
  private readonly sweeps = new Set<PeerEntry>();
  /** Peers gone into graceful restart whose routes are still being marked stale, likewise. */
  private readonly markings = new Set<PeerEntry>();
  private backgroundScheduled = false;
  private readonly startedAt = new Date();
  private stopped = false;

  constructor(opts: SpeakerOptions) {
    super();
    this.config = opts.config;
    this.log = opts.log;
    this.clock = opts.clock ?? systemClock;
    this.localPeer = makeLocalPeer(opts.config.routerId, opts.config.asn);
  }

  async start(): Promise<void> {
    const cfg = this.config;
    if (cfg.listen.enabled) {
      this.listener = new BgpListener({
        address: cfg.listen.address,
        port: cfg.listen.port,
        logger: this.log,
      });
    }
    for (const p of cfg.peers) this.addPeer(p);
    if (this.listener) await this.listener.start();
    this.applyOriginate(cfg.originate);
    this.rebuildAggregates();
    if (this.deferring) {
      this.deferStartedAt = this.clock.now();
      this.deferTimer = this.clock.setTimeout(() => this.releaseDeferred(), this.deferralSeconds * 1000);
      const recheck = () => {
        this.checkDeferral();
        if (this.deferring && !this.stopped) this.clock.setTimeout(recheck, 1000);
      };
      this.clock.setTimeout(recheck, DEFERRAL_GRACE_MS);
    }
    for (const e of this.peers.values()) if (e.config.enabled) e.session.start();
    this.checkInitialSync();
  }

  /**
   * Stops every session with Cease (RFC 9003 message when given) and closes the listener.
   * `graceful`: RFC 4724 restart instead — no NOTIFICATION; the process exits and the TCP
   * sessions simply close, so peers in graceful-restart helper mode keep our routes (stale)
   * until we are back, while the kernel keeps forwarding.
   */
  async stop(message = "podgate shutting down", opts: { graceful?: boolean } = {}): Promise<void> {
    this.stopped = true;
    this.deferTimer?.cancel();
    for (const e of this.peers.values()) {
      e.staleTimer?.cancel();
      e.maxPrefixTimer?.cancel();
      if (!opts.graceful) e.session.stop({ subcode: CeaseSubcode.ADMINISTRATIVE_SHUTDOWN, message });
    }
    await this.listener?.close();
  }

  /**
   * RFC 4724 §4.1, the restarting speaker: forwarding state survived (the kernel kept our
   * routes), so the OPEN carries Restart State and Forwarding State, and our initial tables are
   * deferred until every peer has sent End-of-RIB (or `deferralSeconds`), so no peer sees a
   * partial table followed by End-of-RIB. Call before start().
   */
  setRestarting(deferralSeconds: number): void {
    this.restarting = true;
    this.deferring = true;
    this.deferralSeconds = deferralSeconds;
  }

  private restarting = false;
  private deferring = false;
  private deferralSeconds = 120;
  private deferTimer: TimerHandle | undefined;

  private deferStartedAt = 0;

  /**
   * A peer that never comes up (wrong AS, bad password, powered off) must not hold every other
   * peer's table back for the whole deferral time: after a short grace period, the sessions that
   * are up decide — once each of them has sent End-of-RIB, selection is done.
   */
  private checkDeferral(): void {
    if (!this.deferring) return;
    if (this.clock.now() - this.deferStartedAt < DEFERRAL_GRACE_MS) return;
    let up = 0;
    for (const e of this.peers.values()) {
      if (!e.facts) continue;
      up++;
      if (!e.synced) return;
    }
    if (up > 0) this.releaseDeferred();
  }

  /** Sends the deferred initial tables (and End-of-RIB) to every Established peer. */
  private releaseDeferred(): void {
    if (!this.deferring) return;
    this.deferring = false;
    this.deferTimer?.cancel();
    this.deferTimer = undefined;
    this.flushNow(Number.POSITIVE_INFINITY);
    for (const e of this.peers.values()) if (e.deferred) this.sendInitialTable(e);
    this.log.info("initial best-path selection complete; tables sent to every peer");
  }

  private sendInitialTable(e: PeerEntry): void {
    e.deferred = false;
    const facts = e.facts;
    if (!e.adjOut || !facts) return;
    e.adjOut.refresh(this.locRib, true);
    this.sendPending(e);
    // RFC 4724 §2: End-of-RIB after the initial table, for every negotiated family.
    e.session.send(facts.families.map((f) => endOfRib(f, facts.codec)));
  }

  /**
   * Applies a new configuration: added peers start, removed peers get Cease/Peer
   * De-configured, changed peers are reset, unchanged sessions stay up. Policy-only and
   * originate changes are applied without touching sessions.
   */
  reconfigure(next: PodgateConfig): void {
    const prev = this.config;
    if (next.asn !== prev.asn || next.routerId !== prev.routerId) {
      throw new Error("changing asn or routerId needs a restart");
    }
    this.config = next;
    // Role policies depend on the declared address space: when it changes, every peer recompiles.
    const policiesChanged =
      JSON.stringify([prev.policies, prev.prefixLists]) !== JSON.stringify([next.policies, next.prefixLists]);
    const scopeChanged =
      JSON.stringify([prev.cluster, prev.office, prev.returnPath]) !==
      JSON.stringify([next.cluster, next.office, next.returnPath]);
    const wanted = new Map(next.peers.map((p) => [p.address, p]));
    for (const [addr, e] of this.peers) {
      if (!wanted.has(addr)) {
        e.session.stop({
          subcode: CeaseSubcode.PEER_DECONFIGURED,
          message: "peer removed from configuration",
        });
        this.dropPeerRoutes(e);
        this.listener?.unregister(addr);
        this.peers.delete(addr);
      }
    }
    for (const p of next.peers) {
      const e = this.peers.get(p.address);
      if (!e) {
        const n = this.addPeer(p);
        if (p.enabled) n.session.start();
        continue;
      }
      const { import: _i, export: _x, ...restNew } = p;
      const { import: _pi, export: _px, ...restOld } = e.config;
      if (!sameConfig(restNew as PeerConfig, restOld as PeerConfig)) {
        e.session.stop({
          subcode: CeaseSubcode.OTHER_CONFIGURATION_CHANGE,
          message: "configuration changed",
        });
        this.dropPeerRoutes(e);
        this.listener?.unregister(p.address);
        this.peers.delete(p.address);
        const n = this.addPeer(p);
        // Same peer, new session object: its state-change counters go on (no counter reset).
        n.transitions = e.transitions;
        n.established = e.established;
        if (p.enabled) n.session.start();
        continue;
      }
      if (!sameConfig(p, e.config) || scopeChanged || policiesChanged) {
        // Policy change only: soft reconfiguration in and out, the session stays up.
        e.config = p;
        e.policies = compilePeerPolicies(p, next, this.nextHopSelf(e));
        e.adjIn?.reimport(e.policies.import);
        this.scheduleFlush();
        if (e.adjOut) {
          e.adjOut.setExportPolicy(e.policies.export, this.locRib);
          // The Loc-RIB may not change at all: send what the new policy queued now.
          this.sendPending(e);
        }
      }
    }
    this.applyOriginate(next.originate);
    if (
      JSON.stringify([prev.cluster, prev.office.advertise]) !==
      JSON.stringify([next.cluster, next.office.advertise])
    ) {
      this.rebuildAggregates();
      this.updateServiceFallback();
    }
    this.scheduleFlush();
  }

  resetPeer(address: string, message?: string): boolean {
    const e = this.peers.get(address);
    if (!e) return false;
    e.session.reset(message ?? "reset by operator");
    return true;
  }

  private addPeer(p: PeerConfig): PeerEntry {
    const caps = buildCapabilities(p, this.config.asn);
    const gr = caps.gracefulRestart;
    const capabilities =
      this.restarting && gr
        ? {
            ...caps,
            gracefulRestart: {
              ...gr,
              restartState: true,
              families: gr.families.map((f) => ({ ...f, forwardingState: true })),
            },
          }
        : caps;
    const session = new PeerSession({
      capabilities,
      config: p,
      local: {
        asn: this.config.asn,
        routerId: this.config.routerId,
        ...(p.localAddress ? { localAddress: p.localAddress } : {}),
      },
      clock: this.clock,
      logger: this.log,
    });
    const entry: PeerEntry = {
      config: p,
      session,
      policies: compilePeerPolicies(p, this.config),
      maxPrefixWarned: false,
      synced: false,
      transitions: new Map(),
      established: { count: 0 },
    };
    session.on("established", (facts) => this.guard(entry, () => this.onEstablished(entry, facts)));
    session.on("update", (u) => this.guard(entry, () => this.onUpdate(entry, u)));
    session.on("route-refresh", () =>
      this.guard(entry, () => {
        entry.adjOut?.refresh(this.locRib, true);
        this.sendPending(entry);
      }),
    );
    session.on("down", (reason) => this.guard(entry, () => this.onDown(entry, reason)));
    session.on("state", (c) => {
      this.log.info({ peer: p.address, from: c.from, to: c.to, reason: c.reason }, "peer state");
      const k = `${c.from}>${c.to}`;
      entry.transitions.set(k, (entry.transitions.get(k) ?? 0) + 1);
      if (c.to === "Established") entry.established.count++;
    });
    this.peers.set(p.address, entry);
    this.listener?.register(session);
    return entry;
  }

  /** Handlers never throw into the session: a bug resets that one peer, never the daemon. */
  private guard(entry: PeerEntry, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error(
        { err, peer: entry.config.address },
        "internal error handling peer event; resetting session",
      );
      entry.lastError = `internal error: ${err instanceof Error ? err.message : String(err)}`;
      entry.session.reset("internal error");
    }
  }

  private nextHopSelf(e: PeerEntry): { ipv4?: string; ipv6?: string } {
    const local = e.facts?.localAddress;
    if (!local) return {};
    const out: { ipv4?: string; ipv6?: string } = {};
    if (afiOf(local) === Afi.IPV4) {
      out.ipv4 = local;
      const v6 = siblingAddress(local, "IPv6");
      if (v6) out.ipv6 = v6;
    } else {
      out.ipv6 = local;
      const v4 = siblingAddress(local, "IPv4");
      if (v4) out.ipv4 = v4;
      else if (this.config.routerId) out.ipv4 = this.config.routerId;
    }
    return out;
  }

  private onEstablished(e: PeerEntry, facts: SessionFacts): void {
    e.facts = facts;
    e.maxPrefixWarned = false;
    const cfg = e.config;
    const info = makePeerInfo({
      id: cfg.address,
      address: cfg.address,
      asn: cfg.asn,
      routerId: facts.peerBgpId,
      ibgp: cfg.asn === this.config.asn,
      role: cfg.role,
    });
    const nhs = this.nextHopSelf(e);
    e.policies = compilePeerPolicies(cfg, this.config, nhs);
    // A gracefully restarting peer keeps its stale routes until End-of-RIB; a new Adj-RIB-In
    // would not know them, so the old one is kept when the peer's identity is unchanged.
    if (e.adjIn && e.staleTimer && e.adjIn.peer.routerId === facts.peerBgpId) {
      e.adjIn.reimport(e.policies.import);
    } else {
      // Another identity: its stale routes go like a dropped session's, in the background.
      if (e.adjIn) this.dropPeerRoutes(e);
      e.adjIn = new AdjRibIn(info, this.locRib, {
        importPolicy: e.policies.import,
        localAsn: this.config.asn,
      });
      // Routes of an earlier session still being withdrawn: this session's routes replace them.
      const old = this.lastDrain.get(cfg.address);
      if (old) e.adjIn.supersede(old);
    }
    e.eorOwed = new Set(facts.families.map((f) => f.afi));
    const families = new Set<AfiCode>(
      facts.families.filter((f) => f.safi === Safi.UNICAST).map((f) => f.afi),
    );
    const addPathSend = new Set<AfiCode>();
    for (const k of facts.codec.addPathSend) addPathSend.add(Number(k.split("/")[0]) as AfiCode);
    e.adjOut = new AdjRibOut(info, {
      localAsn: this.config.asn,
      nextHopSelf: nhs,
      forceNextHopSelf: cfg.nextHopSelf,
      exportPolicy: e.policies.export,
      families,
      addPathSend,
    });
    // A peer without graceful restart sends no End-of-RIB: do not wait for one.
    if (!facts.gracefulRestart && !e.synced) {
      e.synced = true;
      this.checkInitialSync();
      this.checkDeferral();
    }
    if (cfg.role === "cluster") this.updateServiceFallback();
    if (this.deferring) {
      e.deferred = true;
    } else {
      // Make sure pending Loc-RIB changes are settled before the initial dump.
      this.flushNow(Number.POSITIVE_INFINITY);
      this.sendInitialTable(e);
    }
    this.log.info(
      {
        peer: cfg.address,
        peerAs: facts.peerAs,
        holdTime: facts.holdTime,
        families: facts.families.map((f) => (f.afi === Afi.IPV4 ? "ipv4" : "ipv6")),
        addPathReceive: [...facts.codec.addPathReceive],
        advertised: e.adjOut.prefixesAdvertised,
      },
      "session established",
    );
  }

  private onUpdate(e: PeerEntry, u: UpdateMessage): void {
    const adjIn = e.adjIn;
    if (!adjIn) return;
    if (u.errors?.length) {
      this.log.warn({ peer: e.config.address, errors: u.errors }, "UPDATE errors handled per RFC 7606");
    }
    const eor = isEndOfRib(u);
    if (eor) {
      this.log.debug({ peer: e.config.address, afi: eor.afi }, "End-of-RIB received");
      if (e.eorOwed?.delete(eor.afi) && e.eorOwed.size === 0) {
        e.synced = true;
        this.checkInitialSync();
        this.checkDeferral();
      }
      if (e.awaitingEor?.delete(eor.afi) && e.awaitingEor.size === 0) this.sweepStale(e);
      return;
    }
    adjIn.applyUpdate(u, nowSeconds());
    const max = e.config.maxPrefix;
    if (max) {
      const verdict = checkMaxPrefix(e.config, adjIn.prefixesAccepted);
      if (verdict === "exceeded" && max.action === "restart") {
        this.log.warn(
          { peer: e.config.address, limit: max.limit },
          "maximum prefixes exceeded; closing session",
        );
        e.lastError = `maximum prefixes (${max.limit}) exceeded`;
        // A manual stop holds the session down; the restart timer below brings it back.
        e.session.stop({
          subcode: CeaseSubcode.MAXIMUM_PREFIXES_REACHED,
          message: `maximum prefixes ${max.limit} exceeded`,
        });
        e.maxPrefixTimer?.cancel();
        e.maxPrefixTimer = this.clock.setTimeout(() => {
          e.maxPrefixTimer = undefined;
          if (!this.stopped && this.peers.get(e.config.address) === e) e.session.start();
        }, max.restartAfter * 1000);
      } else if (verdict !== "ok" && !e.maxPrefixWarned) {
        e.maxPrefixWarned = true;
        this.log.warn(
          { peer: e.config.address, limit: max.limit, accepted: adjIn.prefixesAccepted },
          verdict === "exceeded" ? "maximum prefixes exceeded" : "approaching maximum prefixes",
        );
      }
    }
    this.scheduleFlush();
  }

  private onDown(e: PeerEntry, reason: DownReason): void {
    const facts = e.facts;
    e.facts = undefined;
    if (e.config.role === "cluster") this.updateServiceFallback();
    e.adjOut?.reset();
    e.adjOut = undefined;
    if (reason.kind === "notification-sent" || reason.kind === "notification-received") {
      const what =
        reason.code !== undefined ? describeNotification(reason.code, reason.subcode ?? 0) : "NOTIFICATION";
      const dir = reason.kind === "notification-sent" ? "sent" : "received";
      e.lastNotification = {
        text: `NOTIFICATION ${dir}: ${what}${reason.message ? ` '${reason.message}'` : ""}`,
        at: Date.now(),
      };
    }
    const gr = facts?.gracefulRestart;
    const graceful =
      gr !== undefined && e.config.gracefulRestart && reason.kind === "tcp-closed" && reason.wasEstablished;
    if (graceful && e.adjIn) {
      // RFC 4724 §4.2: the peer restarts; keep its routes (stale) for its restart time.
      this.sweeps.delete(e); // an unfinished sweep stops: its routes are stale again
      // Marked in slices too (1M routes took ~0.8 s in one go); whatever is left is finished
      // by the Adj-RIB-In itself before a new session's first UPDATE or the sweep.
      if (!e.adjIn.markStale(0)) {
        this.markings.add(e);
        this.scheduleBackground();
      }
      e.awaitingEor = new Set(facts!.families.map((f) => f.afi));
      e.staleTimer?.cancel();
      e.staleTimer = this.clock.setTimeout(() => this.sweepStale(e), Math.max(1, gr.restartTime) * 1000);
      this.log.info(
        { peer: e.config.address, restartTime: gr.restartTime },
        "peer restarting gracefully; routes kept stale",
      );
      return;
    }
    this.dropPeerRoutes(e);
  }

  private initialSyncDone = false;

  private checkInitialSync(): void {
    if (this.initialSyncDone) return;
    for (const e of this.peers.values()) if (e.config.enabled && !e.synced) return;
    this.initialSyncDone = true;
    // After the flush, so consumers have seen every route the peers sent.
    setImmediate(() => {
      this.releaseDeferred();
      this.emit("initial-sync");
    });
  }

  /** RFC 4724 §4.2: End-of-RIB or restart time over: delete the routes still stale, in slices. */
  private sweepStale(e: PeerEntry): void {
    e.staleTimer?.cancel();
    e.staleTimer = undefined;
    e.awaitingEor = undefined;
    if (!e.adjIn) return;
    e.swept = 0;
    this.sweeps.add(e);
    this.scheduleBackground();
  }

  /**
   * Session gone for good: the Adj-RIB-In is detached now (a new session of the peer starts
   * with a fresh one) and its routes are withdrawn from the Loc-RIB in the background, a slice
   * per macrotask, each slice's withdrawals reported by the next flush.
   */
  private dropPeerRoutes(e: PeerEntry): void {
    e.staleTimer?.cancel();
    e.staleTimer = undefined;
    e.awaitingEor = undefined;
    this.sweeps.delete(e);
    const adj = e.adjIn;
    if (!adj) return;
    e.adjIn = undefined;
    if (adj.isEmpty) return;
    this.drains.push(adj);
    this.lastDrain.set(e.config.address, adj);
    this.scheduleBackground();
  }

  private scheduleBackground(): void {
    if (this.backgroundScheduled) return;
    this.backgroundScheduled = true;
    setImmediate(() => {
      this.backgroundScheduled = false;
      this.runBackground();
    });
  }

  /** One slice of the drains and sweeps: at most DROP_SLICE routes, then the event loop turns. */
  private runBackground(): void {
    let budget = DROP_SLICE;
    let touched = false;
    while (budget > 0 && this.drains.length > 0) {
      const adj = this.drains[0]!;
      const before = adj.prefixesAccepted;
      const done = adj.clear(budget);
      budget -= Math.max(1, before - adj.prefixesAccepted);
      touched = true;
      if (!done) break;
      this.drains.shift();
      if (this.lastDrain.get(adj.peer.address) === adj) this.lastDrain.delete(adj.peer.address);
    }
    for (const e of this.markings) {
      if (budget <= 0) break;
      const adj = e.adjIn;
      const done = !adj?.marking || adj.continueMarking(budget);
      budget = 0; // it looked at up to `budget` routes: one marking per slice
      if (done) this.markings.delete(e);
    }
    for (const e of this.sweeps) {
      if (budget <= 0) break;
      const adj = e.adjIn;
      if (!adj) {
        this.sweeps.delete(e);
        continue;
      }
      e.swept = (e.swept ?? 0) + adj.sweepStale(budget);
      budget = 0; // it looked at up to `budget` routes: one sweep per slice
      touched = true;
      if (adj.sweeping) break;
      this.sweeps.delete(e);
      if (e.swept > 0) {
        this.log.info(
          { peer: e.config.address, removed: e.swept },
          "stale routes removed after graceful restart",
        );
      }
      e.swept = undefined;
    }
    if (touched) this.scheduleFlush();
    if (this.drains.length > 0 || this.sweeps.size > 0 || this.markings.size > 0) this.scheduleBackground();
  }

  private applyOriginate(list: readonly OriginateConfig[]): void {
    const next = new Map(list.map((o) => [formatPrefix(parsePrefix(o.prefix)), o]));
    for (const [key, o] of this.originated) {
      if (!next.has(key)) this.locRib.withdraw(this.localPeer, parsePrefix(o.prefix));
    }
    for (const [key, o] of next) {
      const prev = this.originated.get(key);
      if (prev && JSON.stringify(prev) === JSON.stringify(o)) continue;
      const prefix = parsePrefix(o.prefix);
      const attrs: PathAttributes = Object.freeze({
        origin: Origin.IGP,
        asPath: [],
        ...(o.nextHop ? { nextHop: o.nextHop } : {}),
        ...(o.med !== undefined ? { med: o.med } : {}),
        ...(o.localPref !== undefined ? { localPref: o.localPref } : {}),
        ...(o.communities?.length ? { communities: o.communities.map(parseCommunity) } : {}),
      });
      this.locRib.update(createPath({ prefix, peer: this.localPeer, attrs, learnedAt: nowSeconds() }));
    }
    this.originated = next;
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flushNow();
    });
  }

  /** Decides up to `limit` prefixes and hands their changes on; the rest go to the next macrotask. */
  private flushNow(limit = FLUSH_SLICE): void {
    const changes = this.locRib.flush(limit);
    if (this.locRib.pending) this.scheduleFlush();
    if (changes.length === 0) return;
    // Aggregates follow the cluster routes of this flush; their own changes join the batch.
    if (this.trackAggregates(changes)) {
      const more = this.locRib.flush(limit);
      this.trackAggregates(more); // a slice may have brought more cluster routes
      for (const c of more) changes.push(c);
      if (this.locRib.pending) this.scheduleFlush();
    }
    for (const e of this.peers.values()) {
      if (!e.adjOut) continue;
      e.adjOut.apply(changes);
      this.sendPending(e);
    }
    this.emit("changes", changes);
  }

  /** The cluster aggregates podgate originates (pod and service CIDRs), in `office.advertise: aggregate` mode. */
  private aggregateList(): Prefix[] {
    const c = this.config.cluster;
    if (this.config.office.advertise !== "aggregate" || !c) return [];
    return [...c.podCIDRs, ...c.serviceCIDRs].map(parsePrefix);
  }

  /**
   * Keeps, per aggregate, the number of cluster routes inside it, and originates the aggregate
   * only while that number is above zero: an office router with two gateways then follows the
   * one that still reaches the cluster. Returns true when an aggregate appeared or went.
   */
  private trackAggregates(changes: readonly RibChange[]): boolean {
    if (this.aggregates.length === 0) return false;
    let moved = false;
    for (const c of changes) {
      const was = this.counted.get(c.key);
      const b = c.best;
      const agg =
        b && !b.peer.local && (b.peer.role === "cluster" || b.peer.role === "gateway")
          ? this.aggregates.find((a) => prefixContains(a.prefix, c.prefix))
          : undefined;
      if (was === agg) continue;
      if (was) {
        this.counted.delete(c.key);
        if (--was.count === 0) moved = this.setAggregate(was, false) || moved;
      }
      if (agg) {
        this.counted.set(c.key, agg);
        if (agg.count++ === 0) moved = this.setAggregate(agg, true) || moved;
      }
    }
    return moved;
  }

  private setAggregate(a: AggregateState, on: boolean): boolean {
    if (on) {
      // LOCAL_PREF 1: a route the cluster (or the API) gives for the very same prefix — Calico's
      // serviceClusterIPs is exactly the service CIDR — must win, so it is what gets installed
      // (ECMP via the nodes) instead of the aggregate's unreachable route.
      const attrs: PathAttributes = Object.freeze({
        origin: Origin.IGP,
        asPath: [],
        localPref: AGGREGATE_LOCAL_PREF,
      });
      this.locRib.update(
        createPath({ prefix: a.prefix, peer: this.localPeer, attrs, learnedAt: nowSeconds() }),
      );
    } else {
      this.locRib.withdraw(this.localPeer, a.prefix);
    }
    this.log.info(
      { aggregate: formatPrefix(a.prefix), active: on },
      on ? "aggregate advertised" : "aggregate withdrawn",
    );
    return true;
  }

  /**
   * Routes derived from the Kubernetes API (static mode). Each becomes a path from a pseudo-peer
   * per node (role cluster, iBGP) with LOCAL_PREF 50: the same dataplane and office
   * advertisement as learned routes, while a BGP-learned route (LOCAL_PREF 100) wins wherever a
   * session delivers one (mixed mode). Replaces the previous set with the fewest changes.
   */
  setStaticRoutes(routes: readonly { prefix: string; nextHops: readonly string[] }[]): void {
    const next = new Map<string, readonly string[]>();
    for (const r of routes) next.set(formatPrefix(parsePrefix(r.prefix)), [...r.nextHops].sort());
    this.syncPseudoRoutes(this.staticRoutes, next, "kubernetes", STATIC_LOCAL_PREF);
    this.staticRoutes = next;
  }

  /**
   * Service CIDRs are reachable through any node (kube-proxy DNATs a ClusterIP wherever it
   * lands). Routes Calico advertises for them (serviceClusterIPs) win; otherwise this fallback
   * sends each declared service CIDR by ECMP to the cluster peers that are Established, with
   * LOCAL_PREF 40 (below API-derived routes and anything learned over BGP).
   */
  private updateServiceFallback(): void {
    const up = [...this.peers.values()]
      .filter((e) => e.facts !== undefined && e.config.role === "cluster")
      .map((e) => e.config.address)
      .sort();
    const next = new Map<string, readonly string[]>();
    for (const cidr of this.config.cluster?.serviceCIDRs ?? []) {
      next.set(
        formatPrefix(parsePrefix(cidr)),
        up.filter((a) => a.includes(":") === cidr.includes(":")),
      );
    }
    this.syncPseudoRoutes(this.serviceFallback, next, "service-fallback", SERVICE_FALLBACK_LOCAL_PREF);
    this.serviceFallback = next;
  }

  /**
   * Moves the Loc-RIB from one set of non-BGP routes (prefix → next hops) to another with the
   * fewest changes: one path per next hop, from a pseudo-peer `${source}:${address}` (role
   * cluster, iBGP), so equal paths form an ECMP set like routes from several nodes would.
   */
  private syncPseudoRoutes(
    before: ReadonlyMap<string, readonly string[]>,
    next: ReadonlyMap<string, readonly string[]>,
    source: "kubernetes" | "service-fallback",
    localPref: number,
  ): void {
    for (const [prefix, hops] of before) {
      const now = next.get(prefix) ?? [];
      for (const h of hops)
        if (!now.includes(h)) this.locRib.withdraw(this.pseudoPeer(source, h), parsePrefix(prefix));
    }
    for (const [prefix, hops] of next) {
      const had = before.get(prefix) ?? [];
      for (const h of hops) {
        if (had.includes(h)) continue;
        const attrs: PathAttributes = Object.freeze({
          origin: Origin.INCOMPLETE,
          asPath: [],
          nextHop: h,
          localPref,
        });
        const peer = this.pseudoPeer(source, h);
        this.locRib.update(createPath({ prefix: parsePrefix(prefix), peer, attrs, learnedAt: nowSeconds() }));
      }
    }
    this.scheduleFlush();
  }

  private pseudoPeer(source: "kubernetes" | "service-fallback", address: string): PeerInfo {
    const id = `${source}:${address}`;
    let p = this.apiPeers.get(id);
    if (!p) {
      p = makePeerInfo({
        id,
        address,
        asn: this.config.asn,
        routerId: address.includes(":") ? "0.0.0.1" : address,
        ibgp: true,
        role: "cluster",
      });
      this.apiPeers.set(id, p);
    }
    return p;
  }

  /** Recomputes the aggregate set and counts from the Loc-RIB (start, and when the cluster CIDRs change). */
  private rebuildAggregates(): void {
    for (const a of this.aggregates) if (a.count > 0) this.locRib.withdraw(this.localPeer, a.prefix);
    this.counted.clear();
    this.aggregates = this.aggregateList().map((prefix) => ({ prefix, count: 0 }));
    const current: RibChange[] = [];
    for (const e of this.locRib.selected()) {
      current.push({
        key: e.key,
        prefix: e.prefix,
        best: e.best,
        previous: undefined,
        multipath: [],
        reason: "only-path",
      });
    }
    this.trackAggregates(current);
    this.scheduleFlush();
  }

  /** Aggregates currently originated (for the dataplane's unreachable routes and `routes`). */
  activeAggregates(): string[] {
    return this.aggregates.filter((a) => a.count > 0).map((a) => formatPrefix(a.prefix));
  }

  private sendPending(e: PeerEntry): void {
    const out = e.adjOut;
    const facts = e.facts;
    if (!out || !facts || !out.hasPending || e.deferred) return;
    const batch = out.takeBatch();
    const buffers: Buffer[] = [];
    if (batch.withdraw.length > 0) buffers.push(...encodeUpdates({ withdrawn: batch.withdraw }, facts.codec));
    for (const [attrs, nlri] of batch.announce) {
      buffers.push(...encodeUpdates({ attributes: attrs, nlri }, facts.codec));
    }
    if (buffers.length > 0) e.session.send(buffers);
  }

  /**
   * Connect again now to these peers (addresses) if they are trying to (Connect/Active): the path
   * to them just came back (PeerSession.retryConnect). Returns the addresses retried.
   */
  retryConnect(addresses: readonly string[]): string[] {
    const out: string[] = [];
    for (const a of addresses) if (this.peers.get(a)?.session.retryConnect()) out.push(a);
    return out;
  }

  // ---- views for the control API -------------------------------------------------------

  status(): StatusJson {
    const peers: PeerStatus[] = [];
    for (const e of this.peers.values()) {
      const i = e.session.info();
      const facts = i.session;
      const sessionError = i.lastError ?? e.lastError;
      // A NOTIFICATION says more than the TCP error that usually follows it ("closed by peer").
      const note = e.lastNotification;
      const lastError =
        note && sessionError && !sessionError.includes("NOTIFICATION")
          ? `${sessionError} (last ${note.text})`
          : (sessionError ?? note?.text);
      const established = i.state === "Established";
      const info = established
        ? "Established"
        : !e.config.enabled
          ? "Disabled"
          : e.maxPrefixTimer
            ? `Maximum prefixes exceeded; retry in ${e.config.maxPrefix?.restartAfter ?? 0}s`
            : (lastError ?? (e.config.passive ? "Waiting for the peer to connect" : "Connecting"));
      peers.push({
        address: e.config.address,
        asn: e.config.asn,
        name: e.config.name,
        role: e.config.role,
        state: i.state,
        since: new Date(i.since).toISOString(),
        info,
        prefixesReceived: e.adjIn?.prefixesReceived ?? 0,
        prefixesAccepted: e.adjIn?.prefixesAccepted ?? 0,
        prefixesAdvertised: e.adjOut?.prefixesAdvertised ?? 0,
        updatesReceived: i.updatesIn,
        updatesSent: i.updatesOut,
        ...(established && facts
          ? {
              peerRouterId: facts.peerBgpId,
              holdTime: facts.holdTime,
              families: facts.families.map((f) => (f.afi === Afi.IPV4 ? "ipv4" : "ipv6")),
            }
          : {}),
        ...(lastError ? { lastError } : {}),
        ...this.transitionsOf(e),
      } satisfies PeerStatus & PeerTransitions);
    }
    return {
      routerId: this.config.routerId,
      asn: this.config.asn,
      version: VERSION,
      startedAt: this.startedAt.toISOString(),
      peers,
    };
  }

  private transitionsOf(e: PeerEntry): PeerTransitions {
    const stateTransitions: { from: string; to: string; count: number }[] = [];
    for (const [k, count] of e.transitions) {
      const [from = "", to = ""] = k.split(">");
      stateTransitions.push({ from, to, count });
    }
    return { stateTransitions, establishedTransitions: e.established.count };
  }

  private advertisedTo(key: RouteKey): string[] {
    const out: string[] = [];
    for (const e of this.peers.values()) if (e.adjOut?.advertisedAttrs(key)) out.push(e.config.address);
    return out;
  }

  routes(filter: { prefix?: string; peer?: string } = {}): RoutesJson {
    const now = nowSeconds();
    const routes: RouteJson[] = [];
    const wantPrefix = filter.prefix ? formatPrefix(parsePrefix(filter.prefix)) : undefined;
    const toJson = (p: Path, best: boolean, reason?: string): RouteJson => {
      const a = p.attrs;
      return {
        prefix: formatPrefix(p.prefix),
        nextHop: a.nextHop ?? (p.peer.local ? "self" : ""),
        peer: p.peer.local ? "local" : p.peer.address,
        source: p.peer.local
          ? "local"
          : p.peer.id.startsWith("kubernetes:")
            ? "kubernetes"
            : p.peer.id.startsWith("service-fallback:")
              ? "service-fallback"
              : "bgp",
        best,
        family: p.prefix.afi === Afi.IPV4 ? "ipv4" : "ipv6",
        ...(p.pathId ? { pathId: p.pathId } : {}),
        asPath: formatAsPath(a),
        origin: originName(a.origin),
        ...(a.localPref !== undefined ? { localPref: a.localPref } : {}),
        ...(a.med !== undefined ? { med: a.med } : {}),
        ...(a.communities?.length ? { communities: a.communities.map(formatCommunity) } : {}),
        ...(a.largeCommunities?.length
          ? { largeCommunities: a.largeCommunities.map((l) => l.join(":")) }
          : {}),
        ...(reason ? { reason } : {}),
        ...(best ? { advertisedTo: this.advertisedTo(p.key) } : {}),
        age: Math.max(0, now - p.learnedAt),
      };
    };
    for (const entry of this.locRib.selected()) {
      if (wantPrefix && formatPrefix(entry.prefix) !== wantPrefix) continue;
      for (const p of entry.paths) {
        if (filter.peer && p.peer.address !== filter.peer && !(filter.peer === "local" && p.peer.local))
          continue;
        const best = p === entry.best;
        routes.push(toJson(p, best, best || !entry.best ? undefined : compare(entry.best, p).reason));
      }
    }
    routes.sort(compareRoutes);
    return { routes };
  }
}
