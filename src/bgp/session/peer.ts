/**
 * PeerSession: the I/O driver for one configured BGP neighbor. It owns the TCP connection(s),
 * the stream framer, the timers and the counters; every protocol decision is made by the pure
 * FSM (src/bgp/fsm/transition.ts), whose actions this file performs in order.
 *
 * - Incoming connections are handed in by the Listener (acceptConnection); outgoing ones are
 *   opened here with connectTcp (TCP MD5 / GTSM / multihop TTL from the peer config).
 * - Two connections at once are allowed until their OPENs decide the RFC 4271 §6.8 collision
 *   (collision.ts); the loser gets Cease/Connection Collision Resolution.
 * - Any bad input is answered with the exact NOTIFICATION of the codec's BgpNotificationError,
 *   then the connection closes. Exceptions (including ones thrown by event listeners) never
 *   escape: they are logged and the session is reset (Cease/Administrative Reset).
 * - UPDATEs given to send() are queued and written with backpressure; KEEPALIVE, OPEN and
 *   NOTIFICATION bypass the queue so a large table dump cannot starve the peer's hold timer.
 */
import { EventEmitter } from "node:events";
import type net from "node:net";
import type { FamilyName, PeerConfig } from "../../config/types.ts";
import { type Clock, systemClock, type TimerHandle } from "../../core/clock.ts";
import type { FsmEvent, NotificationData } from "../fsm/events.ts";
import type { FsmState } from "../fsm/states.ts";
import {
  type FsmAction,
  type FsmConfig,
  type FsmResult,
  type FsmSnapshot,
  type FsmTimer,
  initialSnapshot,
  transition,
} from "../fsm/transition.ts";
import {
  AddPathMode,
  Afi,
  BGP_VERSION,
  BgpNotificationError,
  type Capabilities,
  CeaseSubcode,
  type CodecOptions,
  carriesShutdownCommunication,
  DEFAULT_CODEC_OPTIONS,
  decodeMessage,
  decodeShutdownCommunication,
  describeNotification,
  ErrorCode,
  encodeMessage,
  encodeShutdownCommunication,
  HEADER_LENGTH,
  keepalive,
  MessageFramer,
  MessageType,
  type NegotiatedSession,
  negotiateSession,
  type OpenMessage,
  OpenMessageError,
  openMyAs,
  type RouteRefreshMessage,
  Safi,
  type UpdateMessage,
  validateOpen,
} from "../wire/index.ts";
import { resolveCollision, switchToCandidate } from "./collision.ts";
import { connectTcp, GTSM_TTL } from "./tcpsock.ts";

/** pino-compatible logger subset (object first). */
export interface SessionLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const nullLogger: SessionLogger = { debug() {}, info() {}, warn() {}, error() {} };

export interface LocalIdentity {
  readonly asn: number;
  readonly routerId: string;
  /** Source address for outgoing connections when the peer config has none. */
  readonly localAddress?: string;
}

export interface PeerSessionOptions {
  readonly config: PeerConfig;
  readonly local: LocalIdentity;
  readonly clock?: Clock;
  readonly logger?: SessionLogger;
  /** Capabilities to advertise; default buildCapabilities(config, local.asn). */
  readonly capabilities?: Capabilities;
  /** FSM tuning (IdleHold backoff, stable time); hold/connect-retry/passive come from config. */
  readonly fsm?: Partial<Pick<FsmConfig, "idleHoldInitial" | "idleHoldMax" | "stableTime">>;
  /** Opens outgoing connections; default connectTcp (tests may inject). */
  readonly connect?: typeof connectTcp;
  /** Wall clock for `since`, epoch ms; default Date.now. */
  readonly wallClock?: () => number;
}

/** Why a connection that had sent OPEN went away. */
export interface DownReason {
  readonly kind: "notification-sent" | "notification-received" | "hold-timer" | "tcp-closed" | "error";
  readonly code?: number;
  readonly subcode?: number;
  /** RFC 9003 shutdown communication, or an error text. */
  readonly message?: string;
  /** The session was Established: the speaker must flush the peer's routes. */
  readonly wasEstablished: boolean;
}

/** Facts negotiated when the session became Established. */
export interface SessionFacts extends NegotiatedSession {
  readonly peerBgpId: string;
  /** Negotiated hold time and keepalive interval (seconds; 0 = none). */
  readonly holdTime: number;
  readonly keepaliveTime: number;
  readonly ebgp: boolean;
  /** Our end of the TCP connection (next-hop-self uses it). */
  readonly localAddress: string;
  readonly localPort: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly remoteOpen: OpenMessage;
  readonly localOpen: OpenMessage;
}

export interface StateChange {
  readonly from: FsmState;
  readonly to: FsmState;
  readonly reason?: string;
}

export type MessageCounters = Record<
  "open" | "update" | "notification" | "keepalive" | "routeRefresh",
  number
>;

export interface PeerSessionInfo {
  readonly address: string;
  readonly state: FsmState;
  /** Epoch ms of the last state change. */
  readonly since: number;
  readonly lastError?: string;
  readonly connectRetryCounter: number;
  readonly messagesIn: Readonly<MessageCounters>;
  readonly messagesOut: Readonly<MessageCounters>;
  readonly updatesIn: number;
  readonly updatesOut: number;
  /** UPDATE octets waiting in our send queue. */
  readonly queuedBytes: number;
  readonly session?: SessionFacts;
}

export interface PeerSessionEvents {
  state: [change: StateChange];
  established: [facts: SessionFacts];
  update: [update: UpdateMessage];
  "route-refresh": [refresh: RouteRefreshMessage];
  down: [reason: DownReason];
  /** The UPDATE send queue became empty. */
  drain: [];
}

export interface StopOptions {
  /** Cease subcode; default Administrative Shutdown (RFC 4486). */
  readonly subcode?: number;
  /** RFC 9003 shutdown communication; default config.shutdownMessage. */
  readonly message?: string;
}

/** RFC 4724 §3: the restart time we advertise. */
export const GRACEFUL_RESTART_TIME = 120;
/** Coalesce queued UPDATEs into writes of about this size. */
const WRITE_BATCH_BYTES = 64 * 1024;
/** After a NOTIFICATION, give the peer this long to read it before the socket is destroyed. */
const CLOSE_LINGER_MS = 2000;

const FAMILY: Record<FamilyName, { afi: 1 | 2; safi: number }> = {
  ipv4: { afi: Afi.IPV4, safi: Safi.UNICAST },
  ipv6: { afi: Afi.IPV6, safi: Safi.UNICAST },
};

/** The OPEN capabilities for a peer: MP per family, route refresh (+enhanced), 4-octet AS, GR, ADD-PATH. */
export function buildCapabilities(config: PeerConfig, localAsn: number): Capabilities {
  const fams = config.families.map((f) => FAMILY[f]);
  const mode =
    config.addPath === "receive"
      ? AddPathMode.RECEIVE
      : config.addPath === "send"
        ? AddPathMode.SEND
        : config.addPath === "both"
          ? AddPathMode.BOTH
          : 0;
  return {
    multiprotocol: fams,
    routeRefresh: true,
    enhancedRouteRefresh: true,
    fourOctetAs: localAsn,
    gracefulRestart: config.gracefulRestart
      ? {
          restartState: false,
          restartTime: GRACEFUL_RESTART_TIME,
          families: fams.map((f) => ({ ...f, forwardingState: false })),
        }
      : undefined,
    addPath: mode === 0 ? [] : fams.map((f) => ({ ...f, mode })),
    others: [],
  };
}

/** "::ffff:10.0.0.1" → "10.0.0.1"; IPv6 lower-cased. */
export function normalizeAddress(addr: string): string {
  const a = addr.toLowerCase();
  return a.startsWith("::ffff:") && a.includes(".") ? a.slice(7) : a;
}

const TIMER_EVENT: Record<FsmTimer, FsmEvent["type"]> = {
  ConnectRetry: "ConnectRetryTimer_Expires",
  Hold: "HoldTimer_Expires",
  Keepalive: "KeepaliveTimer_Expires",
  IdleHold: "IdleHoldTimer_Expires",
  Stable: "StableTimer_Expires",
};

const COUNTER_OF: Record<number, keyof MessageCounters> = {
  [MessageType.OPEN]: "open",
  [MessageType.UPDATE]: "update",
  [MessageType.NOTIFICATION]: "notification",
  [MessageType.KEEPALIVE]: "keepalive",
  [MessageType.ROUTE_REFRESH]: "routeRefresh",
};

const CONNECT_ERRORS: Record<string, string> = {
  ECONNREFUSED: "Connection refused",
  ETIMEDOUT: "Connection timed out",
  EHOSTUNREACH: "No route to host",
  ENETUNREACH: "Network unreachable",
  ECONNRESET: "Connection reset by peer",
  EADDRNOTAVAIL: "Local address not available",
};

function errorText(err: unknown): string {
  const code = (err as { code?: string }).code;
  if (code && CONNECT_ERRORS[code]) return CONNECT_ERRORS[code];
  return err instanceof Error ? err.message : String(err);
}

/** One TCP connection with its own framer and write queue. */
class Conn {
  readonly framer = new MessageFramer();
  closed = false;
  queue: Buffer[] = [];
  head = 0;
  queuedBytes = 0;
  waitingDrain = false;
  socketError?: string;
  constructor(
    readonly socket: net.Socket,
    readonly outgoing: boolean,
  ) {}
}

interface ArmedTimer {
  handle: TimerHandle;
  /** clock.now() at which it is due; a restart to a later time only moves this (lazy re-arm). */
  due: number;
}

function newCounters(): MessageCounters {
  return { open: 0, update: 0, notification: 0, keepalive: 0, routeRefresh: 0 };
}

export class PeerSession extends EventEmitter<PeerSessionEvents> {
  readonly config: PeerConfig;
  readonly address: string;
  private readonly local: LocalIdentity;
  private readonly clock: Clock;
  private readonly log: SessionLogger;
  private readonly wallClock: () => number;
  private readonly connectFn: typeof connectTcp;
  private readonly localOpen: OpenMessage;
  private readonly ebgp: boolean;

  private fsm: FsmSnapshot;
  private main: Conn | undefined;
  private candidate: Conn | undefined;
  /** Generation of the outgoing connect in progress (0: none); bumped to abandon one. */
  private attempt = 0;
  private attemptSeq = 0;
  private readonly timers = new Map<FsmTimer, ArmedTimer>();
  private readonly pending: { ev: FsmEvent; reason?: Omit<DownReason, "wasEstablished"> }[] = [];
  private dispatching = false;
  /** An internal-error reset is queued: do not queue another for errors it causes. */
  private resetting = false;
  private reason: Omit<DownReason, "wasEstablished"> | undefined;
  private negotiated: { open: OpenMessage; session: NegotiatedSession } | undefined;
  private facts: SessionFacts | undefined;
  private codec: CodecOptions = DEFAULT_CODEC_OPTIONS;

  private since: number;
  private lastError: string | undefined;
  private readonly messagesIn = newCounters();
  private readonly messagesOut = newCounters();
  private updatesIn = 0;
  private updatesOut = 0;

  constructor(opts: PeerSessionOptions) {
    super();
    this.config = opts.config;
    this.address = normalizeAddress(opts.config.address);
    this.local = opts.local;
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger ?? nullLogger;
    this.wallClock = opts.wallClock ?? Date.now;
    this.connectFn = opts.connect ?? connectTcp;
    this.ebgp = opts.config.asn !== opts.local.asn;
    this.localOpen = {
      type: MessageType.OPEN,
      version: BGP_VERSION,
      myAs: openMyAs(opts.local.asn),
      holdTime: opts.config.holdTime,
      bgpId: opts.local.routerId,
      capabilities: opts.capabilities ?? buildCapabilities(opts.config, opts.local.asn),
    };
    this.fsm = initialSnapshot({
      holdTime: opts.config.holdTime,
      keepaliveTime: opts.config.keepaliveTime,
      connectRetryTime: opts.config.connectRetryTime,
      passive: opts.config.passive,
      ...opts.fsm,
    });
    this.since = this.wallClock();
  }

  // -------------------------------------------------------------------------------------------
  // Public API

  get state(): FsmState {
    return this.fsm.state;
  }

  /** ManualStart (passive peers: ManualStart_with_PassiveTcpEstablishment). */
  start(): void {
    this.dispatch({ type: this.config.passive ? "ManualStart_with_PassiveTcpEstablishment" : "ManualStart" });
  }

  /** ManualStop: NOTIFICATION Cease (with an RFC 9003 communication), close, stay Idle. */
  stop(opts: StopOptions = {}): void {
    const subcode = opts.subcode ?? CeaseSubcode.ADMINISTRATIVE_SHUTDOWN;
    const message = opts.message ?? this.config.shutdownMessage;
    const data =
      message !== undefined && carriesShutdownCommunication(ErrorCode.CEASE, subcode)
        ? encodeShutdownCommunication(message)
        : Buffer.alloc(0);
    this.dispatch(
      { type: "ManualStop", subcode, data },
      { kind: "notification-sent", code: ErrorCode.CEASE, subcode, message },
    );
  }

  /** Cease/Administrative Reset, then start again at once. */
  reset(message?: string): void {
    this.stop({ subcode: CeaseSubcode.ADMINISTRATIVE_RESET, message });
    this.start();
  }

  /**
   * An early ConnectRetryTimer_Expires (RFC 4271 §8.2.2 event 9) for a path that just came back
   * (a WireGuard tunnel re-keyed): in Connect or Active, drop the attempt in progress and connect
   * again now instead of waiting out the timer; the restarted timer keeps its jitter. Returns
   * false, doing nothing, in any other state and for a passive peer.
   */
  retryConnect(): boolean {
    const st = this.fsm.state;
    if (this.config.passive || (st !== "Connect" && st !== "Active")) return false;
    this.stopTimer("ConnectRetry");
    this.dispatch({ type: "ConnectRetryTimer_Expires" });
    return true;
  }

  /** AutomaticStop (e.g. maximum prefixes): Cease with `subcode`, then restart after IdleHold. */
  automaticStop(subcode: number, message?: string): void {
    const data =
      message !== undefined && carriesShutdownCommunication(ErrorCode.CEASE, subcode)
        ? encodeShutdownCommunication(message)
        : Buffer.alloc(0);
    this.dispatch(
      { type: "AutomaticStop", subcode, data },
      { kind: "notification-sent", code: ErrorCode.CEASE, subcode, message },
    );
  }

  /**
   * Queues encoded UPDATE (or ROUTE-REFRESH) messages for the Established session. Returns false
   * (and drops them) when the session is not Established. Written with backpressure.
   */
  send(buffers: readonly Buffer[]): boolean {
    const c = this.main;
    if (this.fsm.state !== "Established" || !c || c.closed) return false;
    for (const b of buffers) {
      c.queue.push(b);
      c.queuedBytes += b.length;
    }
    this.flush(c);
    return true;
  }

  /** Hands an accepted TCP connection from this peer to the session (called by the Listener). */
  acceptConnection(socket: net.Socket): void {
    try {
      const st = this.fsm.state;
      if (st === "Idle") {
        // RFC 4486: Connection Rejected for a connection we do not want now.
        this.log.info({ peer: this.address }, "connection refused while Idle");
        this.rejectSocket(socket, CeaseSubcode.CONNECTION_REJECTED);
        return;
      }
      if (st === "Established") {
        // RFC 4271 §6.8: a collision with an Established session closes the new connection.
        this.log.info(
          { peer: this.address },
          "connection collision with Established session: new connection closed",
        );
        this.rejectSocket(socket, CeaseSubcode.CONNECTION_COLLISION_RESOLUTION);
        return;
      }
      this.newConnection(socket, false);
    } catch (err) {
      socket.destroy();
      this.internalError(err);
    }
  }

  info(): PeerSessionInfo {
    return {
      address: this.address,
      state: this.fsm.state,
      since: this.since,
      lastError: this.lastError,
      connectRetryCounter: this.fsm.connectRetryCounter,
      messagesIn: { ...this.messagesIn },
      messagesOut: { ...this.messagesOut },
      updatesIn: this.updatesIn,
      updatesOut: this.updatesOut,
      queuedBytes: this.main?.queuedBytes ?? 0,
      session: this.facts,
    };
  }

  // -------------------------------------------------------------------------------------------
  // FSM plumbing

  private dispatch(ev: FsmEvent, reason?: Omit<DownReason, "wasEstablished">): void {
    this.pending.push({ ev, reason });
    if (this.dispatching) return; // re-entrant (e.g. a listener called stop()): run after this one
    this.dispatching = true;
    try {
      for (let item = this.pending.shift(); item; item = this.pending.shift()) {
        try {
          this.step(item.ev, item.reason);
        } catch (err) {
          this.internalError(err);
        } finally {
          if (item.reason?.kind === "error") this.resetting = false;
        }
      }
    } finally {
      this.dispatching = false;
    }
  }

  private step(ev: FsmEvent, reason: Omit<DownReason, "wasEstablished"> | undefined): void {
    const res = transition(this.fsm, ev);
    this.reason = reason ?? this.reasonFrom(ev, res.actions);
    const failed = res.next.state === "Idle" || (res.next.state === "Active" && this.fsm.state !== "Idle");
    const why = failed && ev.type !== "IdleHoldTimer_Expires" ? this.reasonText(this.reason) : ev.type;
    this.apply(res, why);
  }

  private apply(res: FsmResult, why: string | undefined): void {
    const from = this.fsm.state;
    this.fsm = res.next;
    const to = res.next.state;
    if (from !== to) this.since = this.wallClock();
    for (const a of res.actions) this.perform(a);
    if (from !== to) {
      this.log.info({ peer: this.address, from, to, reason: why }, "BGP state change");
      this.emit("state", { from, to, reason: why });
    }
  }

  private perform(a: FsmAction): void {
    switch (a.kind) {
      case "connect":
        this.startConnect();
        return;
      case "drop-connection":
        this.attempt = 0;
        if (this.main) this.closeConn(this.main);
        if (this.candidate) this.closeConn(this.candidate);
        this.main = undefined;
        this.candidate = undefined;
        return;
      case "send-open":
        if (this.main) this.write(this.main, encodeMessage(this.localOpen, this.codec));
        return;
      case "send-keepalive":
        if (this.main) this.write(this.main, keepalive());
        return;
      case "send-notification":
        if (this.main) this.sendNotification(this.main, a);
        return;
      case "start-timer":
        this.startTimer(a.timer, a.seconds);
        return;
      case "stop-timer":
        this.stopTimer(a.timer);
        return;
      case "established":
        this.onEstablished();
        return;
      case "session-down": {
        const r = this.reason ?? { kind: "error" as const };
        this.facts = undefined;
        this.negotiated = undefined;
        this.codec = DEFAULT_CODEC_OPTIONS;
        this.lastError = this.reasonText(r);
        this.log.warn({ peer: this.address, ...r, wasEstablished: a.wasEstablished }, "BGP session down");
        this.emit("down", { ...r, wasEstablished: a.wasEstablished });
        return;
      }
      case "process-update":
        if (a.event.update) {
          this.updatesIn++;
          this.emit("update", a.event.update);
        }
        return;
      case "process-route-refresh":
        if (a.event.refresh) this.emit("route-refresh", a.event.refresh);
        return;
    }
  }

  /** The reason for a possible session-down, from the event or the NOTIFICATION about to be sent. */
  private reasonFrom(ev: FsmEvent, actions: readonly FsmAction[]): Omit<DownReason, "wasEstablished"> {
    switch (ev.type) {
      case "HoldTimer_Expires":
        return { kind: "hold-timer", code: ErrorCode.HOLD_TIMER_EXPIRED, subcode: 0 };
      case "NotifMsg":
      case "NotifMsgVerErr": {
        const n = ev.notification;
        const message = carriesShutdownCommunication(n.code, n.subcode)
          ? decodeShutdownCommunication(n.data)
          : undefined;
        return { kind: "notification-received", code: n.code, subcode: n.subcode, message };
      }
      case "TcpConnectionFails":
        return { kind: "tcp-closed", message: this.main?.socketError ?? "Connection closed by peer" };
    }
    const sent = actions.find((a) => a.kind === "send-notification");
    if (sent && sent.kind === "send-notification") {
      return { kind: "notification-sent", code: sent.code, subcode: sent.subcode };
    }
    return { kind: "error" };
  }

  private reasonText(r: Omit<DownReason, "wasEstablished">): string {
    const msg = r.message !== undefined ? `: '${r.message}'` : "";
    switch (r.kind) {
      case "hold-timer":
        return "Hold timer expired";
      case "notification-received":
        return `Received NOTIFICATION ${describeNotification(r.code ?? 0, r.subcode ?? 0)}${msg}`;
      case "notification-sent":
        return `Sent NOTIFICATION ${describeNotification(r.code ?? 0, r.subcode ?? 0)}${msg}`;
      case "tcp-closed":
        return r.message ?? "Connection closed";
      case "error":
        return r.message ?? "Internal error";
    }
  }

  // -------------------------------------------------------------------------------------------
  // Timers (lazy: restarting a running timer to a later time only moves its due time, so the
  // per-message hold timer restart of a 200k-route dump costs nothing)

  private startTimer(timer: FsmTimer, seconds: number): void {
    // RFC 4271 §10: jitter (0.75–1.0) on the retry timers, so two peers that failed together do
    // not retry in lockstep and refuse each other's connections (both Idle) every round.
    const jitter = timer === "IdleHold" || timer === "ConnectRetry" ? 0.75 + Math.random() * 0.25 : 1;
    const due = this.clock.now() + seconds * 1000 * jitter;
    const armed = this.timers.get(timer);
    if (armed && armed.due <= due && armed.due > this.clock.now()) {
      armed.due = due;
      return;
    }
    armed?.handle.cancel();
    this.arm(timer, due);
  }

  private arm(timer: FsmTimer, due: number): void {
    const entry: ArmedTimer = {
      due,
      handle: this.clock.setTimeout(() => this.onTimer(timer, entry), Math.max(0, due - this.clock.now())),
    };
    this.timers.set(timer, entry);
  }

  private onTimer(timer: FsmTimer, entry: ArmedTimer): void {
    if (this.timers.get(timer) !== entry) return;
    const now = this.clock.now();
    if (entry.due > now) {
      this.arm(timer, entry.due); // moved later since it was armed
      return;
    }
    this.timers.delete(timer);
    this.dispatch({ type: TIMER_EVENT[timer] } as FsmEvent);
  }

  private stopTimer(timer: FsmTimer): void {
    this.timers.get(timer)?.handle.cancel();
    this.timers.delete(timer);
  }

  // -------------------------------------------------------------------------------------------
  // Connections

  private startConnect(): void {
    const gen = ++this.attemptSeq;
    this.attempt = gen;
    const cfg = this.config;
    const localAddress = cfg.localAddress ?? this.local.localAddress;
    const security = cfg.ttlSecurity
      ? { ttl: GTSM_TTL, minTtl: GTSM_TTL }
      : cfg.multihop !== undefined
        ? { ttl: cfg.multihop }
        : {};
    this.log.debug({ peer: this.address, port: cfg.port }, "connecting");
    this.connectFn({
      host: this.address,
      port: cfg.port,
      ...(localAddress ? { localAddress } : {}),
      timeoutMs: Math.max(1, cfg.connectRetryTime) * 1000,
      ...(cfg.password !== undefined ? { md5Password: cfg.password } : {}),
      ...security,
    }).then(
      (socket) => {
        if (this.attempt !== gen) {
          socket.destroy(); // abandoned (stopped, or retried meanwhile)
          return;
        }
        this.attempt = 0;
        try {
          this.newConnection(socket, true);
        } catch (err) {
          socket.destroy();
          this.internalError(err);
        }
      },
      (err: unknown) => {
        if (this.attempt !== gen) return;
        this.attempt = 0;
        this.lastError = errorText(err);
        this.log.info({ peer: this.address, err: this.lastError }, "connect failed");
        if (this.fsm.state === "Connect")
          this.dispatch({ type: "TcpConnectionFails" }, { kind: "tcp-closed", message: this.lastError });
      },
    );
  }

  private wrap(socket: net.Socket, outgoing: boolean): Conn {
    const c = new Conn(socket, outgoing);
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.onData(c, chunk));
    socket.on("error", (err) => {
      c.socketError = errorText(err);
    });
    socket.on("close", () => this.onClose(c));
    return c;
  }

  /** A new TCP connection, ours or the peer's: the main one, or a collision candidate. */
  private newConnection(socket: net.Socket, outgoing: boolean): void {
    const st = this.fsm.state;
    if ((st === "Connect" || st === "Active") && !this.main) {
      this.main = this.wrap(socket, outgoing);
      this.dispatch({ type: outgoing ? "Tcp_CR_Acked" : "TcpConnectionConfirmed" });
      return;
    }
    if ((st === "OpenSent" || st === "OpenConfirm") && !this.candidate) {
      // RFC 4271 §6.8: keep both until an OPEN tells us which one to drop.
      this.log.info({ peer: this.address, outgoing }, "second connection: collision detection pending");
      const c = this.wrap(socket, outgoing);
      this.candidate = c;
      this.write(c, encodeMessage(this.localOpen, this.codec));
      return;
    }
    this.rejectSocket(
      socket,
      st === "Idle" ? CeaseSubcode.CONNECTION_REJECTED : CeaseSubcode.CONNECTION_COLLISION_RESOLUTION,
    );
  }

  private rejectSocket(socket: net.Socket, subcode: number): void {
    socket.on("error", () => {});
    const n = encodeMessage(
      { type: MessageType.NOTIFICATION, code: ErrorCode.CEASE, subcode, data: Buffer.alloc(0) },
      this.codec,
    );
    this.messagesOut.notification++;
    socket.end(n);
    const t = setTimeout(() => socket.destroy(), CLOSE_LINGER_MS);
    t.unref();
    socket.on("close", () => clearTimeout(t));
  }

  private onClose(c: Conn): void {
    const byUs = c.closed;
    c.closed = true;
    if (c === this.candidate) {
      this.candidate = undefined;
      return;
    }
    if (c !== this.main || byUs) return;
    if (this.candidate && (this.fsm.state === "OpenSent" || this.fsm.state === "OpenConfirm")) {
      this.log.info({ peer: this.address }, "connection closed; continuing on the other connection");
      this.promoteCandidate();
      return;
    }
    this.dispatch({ type: "TcpConnectionFails" });
  }

  private closeConn(c: Conn): void {
    if (c.closed) return;
    c.closed = true;
    c.queue = [];
    c.head = 0;
    c.queuedBytes = 0;
    // end() flushes what is written (the NOTIFICATION) first; destroy if the peer does not read.
    c.socket.end();
    const t = setTimeout(() => c.socket.destroy(), CLOSE_LINGER_MS);
    t.unref();
    c.socket.once("close", () => clearTimeout(t));
  }

  /** Switch the session to the collision candidate (the main connection lost or died). */
  private promoteCandidate(): void {
    const c = this.candidate;
    if (!c) return;
    const old = this.main;
    this.candidate = undefined;
    this.main = c;
    if (old) this.closeConn(old);
    this.apply(switchToCandidate(this.fsm), "connection collision");
  }

  // -------------------------------------------------------------------------------------------
  // Output

  private write(c: Conn, buf: Buffer): void {
    if (c.closed) return;
    const type = buf[HEADER_LENGTH - 1] ?? 0;
    const key = COUNTER_OF[type];
    if (key) this.messagesOut[key]++;
    c.socket.write(buf);
    if (c === this.main) this.noteSent();
  }

  private sendNotification(c: Conn, n: NotificationData): void {
    this.write(
      c,
      encodeMessage(
        { type: MessageType.NOTIFICATION, code: n.code, subcode: n.subcode, data: n.data },
        this.codec,
      ),
    );
    this.log.info(
      { peer: this.address, code: n.code, subcode: n.subcode },
      `sent NOTIFICATION ${describeNotification(n.code, n.subcode)}`,
    );
  }

  /** RFC 4271 §4.4: any message sent resets the keepalive timer. */
  private noteSent(): void {
    if (this.fsm.keepaliveTime > 0 && this.timers.has("Keepalive")) {
      this.startTimer("Keepalive", this.fsm.keepaliveTime);
    }
  }

  /** Writes queued UPDATEs in ~64 KiB batches until the socket asks us to wait for 'drain'. */
  private flush(c: Conn): void {
    if (c.waitingDrain || c.closed) return;
    let ok = true;
    let wrote = false;
    while (ok && c.head < c.queue.length) {
      const parts: Buffer[] = [];
      let size = 0;
      while (c.head < c.queue.length && size < WRITE_BATCH_BYTES) {
        const b = c.queue[c.head++]!;
        parts.push(b);
        size += b.length;
        const key = COUNTER_OF[b[HEADER_LENGTH - 1] ?? 0];
        if (key) this.messagesOut[key]++;
        if (key === "update") this.updatesOut++;
      }
      c.queuedBytes -= size;
      ok = c.socket.write(parts.length === 1 ? parts[0]! : Buffer.concat(parts, size));
      wrote = true;
    }
    if (c.head >= c.queue.length) {
      c.queue = [];
      c.head = 0;
    } else if (c.head > 4096) {
      c.queue = c.queue.slice(c.head);
      c.head = 0;
    }
    if (wrote && c === this.main) this.noteSent();
    if (!ok) {
      c.waitingDrain = true;
      c.socket.once("drain", () => {
        c.waitingDrain = false;
        try {
          this.flush(c);
        } catch (err) {
          this.internalError(err);
        }
      });
      return;
    }
    if (wrote && c === this.main) this.emit("drain");
  }

  // -------------------------------------------------------------------------------------------
  // Input

  private onData(c: Conn, chunk: Buffer): void {
    if (c.closed) return;
    try {
      let msgs: Buffer[];
      try {
        msgs = c.framer.push(chunk);
      } catch (err) {
        if (err instanceof BgpNotificationError) {
          this.badInput(c, err);
          return;
        }
        throw err;
      }
      for (const m of msgs) {
        if (c.closed) return;
        this.onMessage(c, m);
      }
    } catch (err) {
      this.internalError(err);
    }
  }

  /** Malformed input: the exact NOTIFICATION, then close (through the FSM for the main connection). */
  private badInput(c: Conn, err: BgpNotificationError): void {
    const notification = { code: err.code, subcode: err.subcode, data: err.data };
    this.log.warn(
      { peer: this.address, code: err.code, subcode: err.subcode, err: err.message },
      "malformed message",
    );
    if (c !== this.main) {
      this.sendNotification(c, notification);
      this.closeConn(c);
      if (c === this.candidate) this.candidate = undefined;
      return;
    }
    const ev: FsmEvent =
      err.code === ErrorCode.MESSAGE_HEADER
        ? { type: "BGPHeaderErr", notification }
        : err.code === ErrorCode.OPEN_MESSAGE
          ? { type: "BGPOpenMsgErr", notification }
          : { type: "UpdateMsgErr", notification };
    this.dispatch(ev, {
      kind: "notification-sent",
      code: err.code,
      subcode: err.subcode,
      message: err.message,
    });
  }

  private decode(c: Conn, buf: Buffer): ReturnType<typeof decodeMessage> | undefined {
    try {
      return decodeMessage(buf, this.codec);
    } catch (err) {
      if (err instanceof BgpNotificationError) {
        this.badInput(c, err);
        return undefined;
      }
      throw err;
    }
  }

  private onMessage(c: Conn, buf: Buffer): void {
    const type = buf[HEADER_LENGTH - 1] ?? 0;
    const key = COUNTER_OF[type];
    if (key) this.messagesIn[key]++;
    if (c === this.candidate) {
      this.onCandidateMessage(c, buf, type);
      return;
    }
    const established = this.fsm.state === "Established";
    switch (type) {
      case MessageType.OPEN: {
        const open = this.decode(c, buf) as OpenMessage | undefined;
        if (!open) return;
        if (this.fsm.state !== "OpenSent") {
          this.dispatch({ type: "BGPOpen", open }); // unexpected here: the FSM answers with FSM Error
          return;
        }
        if (!this.checkOpen(c, open)) return;
        if (this.candidate) {
          const winner = this.collide(open);
          if (winner === "candidate") return; // main closed; continue on the candidate
        }
        this.acceptOpen(open);
        return;
      }
      case MessageType.UPDATE: {
        if (!established) {
          this.dispatch({ type: "UpdateMsg" });
          return;
        }
        const update = this.decode(c, buf) as UpdateMessage | undefined;
        if (update) this.dispatch({ type: "UpdateMsg", update });
        return;
      }
      case MessageType.NOTIFICATION: {
        const n = this.decode(c, buf);
        if (!n || n.type !== MessageType.NOTIFICATION) return;
        const notification = { code: n.code, subcode: n.subcode, data: n.data };
        this.log.warn(
          { peer: this.address, code: n.code, subcode: n.subcode },
          `received NOTIFICATION ${describeNotification(n.code, n.subcode)}`,
        );
        if (
          n.code === ErrorCode.CEASE &&
          n.subcode === CeaseSubcode.CONNECTION_COLLISION_RESOLUTION &&
          this.candidate &&
          (this.fsm.state === "OpenSent" || this.fsm.state === "OpenConfirm")
        ) {
          // The peer resolved the collision before us: continue on the other connection.
          this.promoteCandidate();
          return;
        }
        const versionError =
          n.code === ErrorCode.OPEN_MESSAGE && n.subcode === OpenMessageError.UNSUPPORTED_VERSION_NUMBER;
        this.dispatch({ type: versionError ? "NotifMsgVerErr" : "NotifMsg", notification });
        return;
      }
      case MessageType.KEEPALIVE:
        if (this.decode(c, buf)) this.dispatch({ type: "KeepAliveMsg" });
        return;
      case MessageType.ROUTE_REFRESH: {
        if (!established) {
          this.dispatch({ type: "RouteRefreshMsg" });
          return;
        }
        const refresh = this.decode(c, buf) as RouteRefreshMessage | undefined;
        if (refresh) this.dispatch({ type: "RouteRefreshMsg", refresh });
        return;
      }
      default:
        this.decode(c, buf); // throws Message Header Error / Bad Message Type
    }
  }

  /** RFC 4271 §6.2 checks; a failure goes through the FSM as BGPOpenMsgErr. */
  private checkOpen(c: Conn, open: OpenMessage): boolean {
    try {
      validateOpen(open, { peerAs: this.config.asn, localBgpId: this.local.routerId, ebgp: this.ebgp });
      return true;
    } catch (err) {
      if (err instanceof BgpNotificationError) {
        this.badInput(c, err);
        return false;
      }
      throw err;
    }
  }

  private acceptOpen(open: OpenMessage): void {
    this.negotiated = { open, session: negotiateSession(this.localOpen, open, this.ebgp) };
    this.codec = this.negotiated.session.codec;
    this.dispatch({ type: "BGPOpen", open });
  }

  /** An OPEN arrived while both connections exist: decide (RFC 4271 §6.8) and drop the loser. */
  private collide(open: OpenMessage): "existing" | "candidate" {
    const main = this.main!;
    const cand = this.candidate!;
    const winner = resolveCollision({
      localId: this.local.routerId,
      remoteId: open.bgpId,
      localAs: this.local.asn,
      remoteAs: this.config.asn,
      existing: { outgoing: main.outgoing, state: this.fsm.state },
      candidate: { outgoing: cand.outgoing },
    });
    const loser = winner === "existing" ? cand : main;
    this.log.info(
      {
        peer: this.address,
        kept: winner === "existing" ? main.outgoing : cand.outgoing ? "outgoing" : "incoming",
      },
      "connection collision resolved",
    );
    this.sendNotification(loser, {
      code: ErrorCode.CEASE,
      subcode: CeaseSubcode.CONNECTION_COLLISION_RESOLUTION,
      data: Buffer.alloc(0),
    });
    if (winner === "existing") {
      this.closeConn(cand);
      this.candidate = undefined;
    } else {
      this.promoteCandidate();
    }
    return winner;
  }

  /** The candidate connection: only its OPEN is expected; it settles the collision. */
  private onCandidateMessage(c: Conn, buf: Buffer, type: number): void {
    if (type === MessageType.NOTIFICATION) {
      // The peer dropped this connection (typically Cease/Collision Resolution): forget it.
      this.closeConn(c);
      this.candidate = undefined;
      return;
    }
    if (type !== MessageType.OPEN) {
      this.sendNotification(c, { code: ErrorCode.FSM, subcode: 1, data: Buffer.alloc(0) });
      this.closeConn(c);
      this.candidate = undefined;
      return;
    }
    const open = this.decode(c, buf) as OpenMessage | undefined;
    if (!open || c.closed) return;
    try {
      validateOpen(open, { peerAs: this.config.asn, localBgpId: this.local.routerId, ebgp: this.ebgp });
    } catch (err) {
      if (err instanceof BgpNotificationError) {
        this.badInput(c, err);
        return;
      }
      throw err;
    }
    if (this.fsm.state === "Established" || !this.main) {
      this.sendNotification(c, {
        code: ErrorCode.CEASE,
        subcode: CeaseSubcode.CONNECTION_COLLISION_RESOLUTION,
        data: Buffer.alloc(0),
      });
      this.closeConn(c);
      this.candidate = undefined;
      return;
    }
    if (this.collide(open) === "candidate") this.acceptOpen(open);
  }

  private onEstablished(): void {
    const n = this.negotiated;
    const s = this.main?.socket;
    if (!n || !s) return;
    this.lastError = undefined;
    this.facts = {
      ...n.session,
      peerBgpId: n.open.bgpId,
      holdTime: this.fsm.holdTime,
      keepaliveTime: this.fsm.keepaliveTime,
      ebgp: this.ebgp,
      localAddress: normalizeAddress(s.localAddress ?? ""),
      localPort: s.localPort ?? 0,
      remoteAddress: normalizeAddress(s.remoteAddress ?? ""),
      remotePort: s.remotePort ?? 0,
      remoteOpen: n.open,
      localOpen: this.localOpen,
    };
    this.log.info(
      { peer: this.address, peerAs: n.session.peerAs, holdTime: this.fsm.holdTime, peerBgpId: n.open.bgpId },
      "BGP session established",
    );
    this.emit("established", this.facts);
  }

  /** Never let an exception escape: log it and reset the session (Cease/Administrative Reset). */
  private internalError(err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    this.log.error(
      { peer: this.address, err: message, stack: err instanceof Error ? err.stack : undefined },
      "internal error",
    );
    this.lastError = `Internal error: ${message}`;
    if (this.fsm.state === "Idle" || this.resetting) return;
    this.resetting = true;
    if (this.dispatching) {
      // Already inside dispatch: queue the reset behind the current event.
      this.pending.push({
        ev: { type: "AutomaticStop", subcode: CeaseSubcode.ADMINISTRATIVE_RESET, data: Buffer.alloc(0) },
        reason: { kind: "error", message },
      });
      return;
    }
    this.dispatch(
      { type: "AutomaticStop", subcode: CeaseSubcode.ADMINISTRATIVE_RESET, data: Buffer.alloc(0) },
      { kind: "error", message },
    );
  }
}
