/**
 * The BGP finite state machine of RFC 4271 §8 as one pure function:
 * `transition(snapshot, event) → { next, actions }`. No I/O and no timers live here; the
 * session driver (src/bgp/session/peer.ts) performs the returned actions in order and turns
 * timer expiries and socket input back into events.
 *
 * Deliberate choices (each marked where it applies):
 * - DelayOpen and the SendNOTIFICATIONwithoutOPEN option are not implemented.
 * - Peer oscillation damping (RFC 4271 §8.1.1 DampPeerOscillations) is always on: every
 *   automatic return to Idle arms the IdleHold timer, which doubles from `idleHoldInitial` to
 *   `idleHoldMax`; it is reset once a session stays Established for `stableTime` seconds.
 * - Like OpenBGPD (session.c, EVNT_CON_OPENFAIL), a failed outgoing connect in Connect goes to
 *   Active and retries after ConnectRetryTime instead of dropping to Idle: "connection
 *   refused" while the peer boots must not trigger exponential backoff.
 * - A NOTIFICATION is never answered with a NOTIFICATION (RFC 4271 §6.4 spirit), although
 *   §8.2.2 lists event 25 among the "other events" of OpenSent.
 * - Configured passive peers never connect: they wait in Active (no ConnectRetry timer).
 */
import { CeaseSubcode, ErrorCode, FsmError } from "../wire/constants.ts";
import type { FsmEvent, NotificationData } from "./events.ts";
import type { FsmState } from "./states.ts";

export type FsmTimer = "ConnectRetry" | "Hold" | "Keepalive" | "IdleHold" | "Stable";

export type FsmAction =
  /** Initiate an outgoing TCP connection (aborting any attempt in progress). */
  | { readonly kind: "connect" }
  /** Close the TCP connection, or abort the connection attempt. */
  | { readonly kind: "drop-connection" }
  | { readonly kind: "send-open" }
  | { readonly kind: "send-keepalive" }
  | {
      readonly kind: "send-notification";
      readonly code: number;
      readonly subcode: number;
      readonly data: Buffer;
    }
  | { readonly kind: "start-timer"; readonly timer: FsmTimer; readonly seconds: number }
  | { readonly kind: "stop-timer"; readonly timer: FsmTimer }
  /** The session entered Established with the negotiated hold/keepalive in `next`. */
  | { readonly kind: "established" }
  /** A connection on which OPEN was sent is gone: release resources (and routes if it was Established). */
  | { readonly kind: "session-down"; readonly wasEstablished: boolean }
  | { readonly kind: "process-update"; readonly event: Extract<FsmEvent, { type: "UpdateMsg" }> }
  | {
      readonly kind: "process-route-refresh";
      readonly event: Extract<FsmEvent, { type: "RouteRefreshMsg" }>;
    };

export interface FsmConfig {
  /** Our proposed hold time (RFC 4271 §4.2), 0 or ≥ 3. */
  readonly holdTime: number;
  /** Configured keepalive interval; bounded by a third of the negotiated hold time. */
  readonly keepaliveTime?: number;
  readonly connectRetryTime: number;
  /** Never initiate connections. */
  readonly passive: boolean;
  readonly idleHoldInitial: number;
  readonly idleHoldMax: number;
  /** Seconds of Established after which the IdleHold backoff is reset. */
  readonly stableTime: number;
}

export interface FsmSnapshot {
  readonly state: FsmState;
  readonly config: FsmConfig;
  readonly connectRetryCounter: number;
  /** Started and not administratively stopped: errors lead back to a start after IdleHold. */
  readonly autoRestart: boolean;
  /** Negotiated hold time (RFC 4271 §4.2: the smaller of both OPENs); 0 before OpenConfirm. */
  readonly holdTime: number;
  /** Negotiated keepalive interval; 0 when hold time is 0. */
  readonly keepaliveTime: number;
  /** The IdleHold delay the next automatic restart will wait. */
  readonly idleHoldTime: number;
}

export interface FsmResult {
  readonly next: FsmSnapshot;
  readonly actions: FsmAction[];
}

/** RFC 4271 §8.2.2 OpenSent: "sets its HoldTimer to a large value ... 4 minutes". */
export const OPENSENT_HOLD_TIME = 240;

export const DEFAULT_FSM_CONFIG: FsmConfig = {
  holdTime: 90,
  connectRetryTime: 120,
  passive: false,
  idleHoldInitial: 1,
  idleHoldMax: 120,
  stableTime: 60,
};

export function initialSnapshot(config: Partial<FsmConfig> = {}): FsmSnapshot {
  const full = { ...DEFAULT_FSM_CONFIG, ...config };
  return {
    state: "Idle",
    config: full,
    connectRetryCounter: 0,
    autoRestart: false,
    holdTime: 0,
    keepaliveTime: 0,
    idleHoldTime: full.idleHoldInitial,
  };
}

/** RFC 4271 §4.2 / §10: hold = min(ours, theirs); keepalive = hold/3 or the configured value if smaller. */
export function negotiateTimers(
  config: FsmConfig,
  peerHoldTime: number,
): { hold: number; keepalive: number } {
  const hold = Math.min(config.holdTime, peerHoldTime);
  if (hold === 0) return { hold: 0, keepalive: 0 };
  const third = Math.max(1, Math.floor(hold / 3));
  const keepalive =
    config.keepaliveTime && config.keepaliveTime > 0 ? Math.min(config.keepaliveTime, third) : third;
  return { hold, keepalive };
}

// ---------------------------------------------------------------------------------------------
// Action helpers

const start = (timer: FsmTimer, seconds: number): FsmAction => ({ kind: "start-timer", timer, seconds });
const stop = (timer: FsmTimer): FsmAction => ({ kind: "stop-timer", timer });
const notify = (n: NotificationData): FsmAction => ({
  kind: "send-notification",
  code: n.code,
  subcode: n.subcode,
  data: n.data,
});
const cease = (subcode: number, data: Buffer = Buffer.alloc(0)): NotificationData => ({
  code: ErrorCode.CEASE,
  subcode,
  data,
});
const HOLD_TIMER_EXPIRED: NotificationData = {
  code: ErrorCode.HOLD_TIMER_EXPIRED,
  subcode: 0,
  data: Buffer.alloc(0),
};

/** RFC 6608 §4: message events get the per-state subcode, timer and other events "Unspecified". */
const MESSAGE_EVENTS: ReadonlySet<FsmEvent["type"]> = new Set([
  "BGPOpen",
  "KeepAliveMsg",
  "UpdateMsg",
  "UpdateMsgErr",
  "RouteRefreshMsg",
]);

function fsmError(state: FsmState, event: FsmEvent): NotificationData {
  let subcode: number = FsmError.UNSPECIFIED;
  if (MESSAGE_EVENTS.has(event.type)) {
    if (state === "OpenSent") subcode = FsmError.UNEXPECTED_MESSAGE_IN_OPENSENT;
    else if (state === "OpenConfirm") subcode = FsmError.UNEXPECTED_MESSAGE_IN_OPENCONFIRM;
    else if (state === "Established") subcode = FsmError.UNEXPECTED_MESSAGE_IN_ESTABLISHED;
  }
  return { code: ErrorCode.FSM, subcode, data: Buffer.alloc(0) };
}

interface IdleOpts {
  /** NOTIFICATION to send before dropping (only when OPEN was sent, i.e. OpenSent and later). */
  readonly send?: NotificationData;
  /** ConnectRetryCounter: +1 on errors, 0 on ManualStop (RFC 4271 §8.2.2). */
  readonly counter: "increment" | "zero" | "keep";
  /** ManualStop: no automatic restart. */
  readonly manual?: boolean;
}

/** The common "go to Idle" tail of RFC 4271 §8.2.2: stop timers, drop, release, damp. */
function toIdle(s: FsmSnapshot, opts: IdleOpts): FsmResult {
  const actions: FsmAction[] = [];
  if (opts.send) actions.push(notify(opts.send));
  actions.push(stop("ConnectRetry"), stop("Hold"), stop("Keepalive"), stop("Stable"), stop("IdleHold"));
  actions.push({ kind: "drop-connection" });
  if (s.state === "OpenSent" || s.state === "OpenConfirm" || s.state === "Established") {
    actions.push({ kind: "session-down", wasEstablished: s.state === "Established" });
  }
  const counter =
    opts.counter === "increment"
      ? s.connectRetryCounter + 1
      : opts.counter === "zero"
        ? 0
        : s.connectRetryCounter;
  const autoRestart = opts.manual ? false : s.autoRestart;
  let idleHoldTime = s.idleHoldTime;
  if (opts.manual) {
    idleHoldTime = s.config.idleHoldInitial;
  } else if (autoRestart) {
    // §8.1.1 DampPeerOscillations: wait, and wait longer each time the peer flaps.
    actions.push(start("IdleHold", s.idleHoldTime));
    idleHoldTime = Math.min(s.idleHoldTime * 2, s.config.idleHoldMax);
  }
  return {
    next: {
      ...s,
      state: "Idle",
      connectRetryCounter: counter,
      autoRestart,
      holdTime: 0,
      keepaliveTime: 0,
      idleHoldTime,
    },
    actions,
  };
}

const same = (s: FsmSnapshot): FsmResult => ({ next: s, actions: [] });

/** Connect or Active after a (re)start; `passive` decides which (RFC 4271 §8.2.2 Idle). */
function startSession(s: FsmSnapshot, passive: boolean, resetCounter: boolean): FsmResult {
  const base = {
    ...s,
    autoRestart: true,
    connectRetryCounter: resetCounter ? 0 : s.connectRetryCounter,
  };
  // A manual start during a pending automatic restart makes the IdleHold timer moot.
  const actions: FsmAction[] = [stop("IdleHold")];
  if (passive || s.config.passive) {
    // Listen only. A configured passive peer never connects, so no ConnectRetry timer.
    if (!s.config.passive) actions.push(start("ConnectRetry", s.config.connectRetryTime));
    return { next: { ...base, state: "Active" }, actions };
  }
  actions.push(start("ConnectRetry", s.config.connectRetryTime), { kind: "connect" });
  return { next: { ...base, state: "Connect" }, actions };
}

/** Connect/Active → OpenSent when a TCP connection is up (events 16/17, no DelayOpen). */
function connectionUp(s: FsmSnapshot): FsmResult {
  return {
    next: { ...s, state: "OpenSent" },
    actions: [stop("ConnectRetry"), { kind: "send-open" }, start("Hold", OPENSENT_HOLD_TIME)],
  };
}

/** Back to Active waiting for a connection (and retrying one unless passive). */
function backToActive(s: FsmSnapshot, extra: FsmAction[] = []): FsmResult {
  const actions: FsmAction[] = [...extra, stop("Hold"), stop("Keepalive"), { kind: "drop-connection" }];
  if (s.state === "OpenSent") actions.push({ kind: "session-down", wasEstablished: false });
  if (!s.config.passive) actions.push(start("ConnectRetry", s.config.connectRetryTime));
  return { next: { ...s, state: "Active" }, actions };
}

/** Restart the hold timer on any message (RFC 4271 §4.4), unless hold time is 0. */
function holdRestart(s: FsmSnapshot): FsmAction[] {
  return s.holdTime > 0 ? [start("Hold", s.holdTime)] : [];
}

// ---------------------------------------------------------------------------------------------
// Per state, RFC 4271 §8.2.2

function idle(s: FsmSnapshot, e: FsmEvent): FsmResult {
  switch (e.type) {
    case "ManualStart":
      return startSession(s, false, true);
    case "ManualStart_with_PassiveTcpEstablishment":
      return startSession(s, true, true);
    case "AutomaticStart":
      return startSession(s, false, false);
    case "AutomaticStart_with_PassiveTcpEstablishment":
      return startSession(s, true, false);
    case "IdleHoldTimer_Expires":
      // §8.1.1: after IdleHoldTime the automatic start happens.
      return s.autoRestart ? startSession(s, s.config.passive, false) : same(s);
    case "ManualStop":
      // Already idle; just make sure a pending automatic restart is cancelled.
      return {
        next: { ...s, autoRestart: false, idleHoldTime: s.config.idleHoldInitial },
        actions: [stop("IdleHold")],
      };
    default:
      // "Any other event (Events 9-12, 15-28) received in the Idle state does not cause change in the state."
      return same(s);
  }
}

function connect(s: FsmSnapshot, e: FsmEvent): FsmResult {
  switch (e.type) {
    case "ManualStart":
    case "AutomaticStart":
    case "ManualStart_with_PassiveTcpEstablishment":
    case "AutomaticStart_with_PassiveTcpEstablishment":
    case "TcpConnection_Valid":
    case "StableTimer_Expires":
      return same(s);
    case "ManualStop":
      return toIdle(s, { counter: "zero", manual: true });
    case "ConnectRetryTimer_Expires":
      // Drop the attempt, restart the timer, try again.
      return {
        next: s,
        actions: [
          { kind: "drop-connection" },
          start("ConnectRetry", s.config.connectRetryTime),
          { kind: "connect" },
        ],
      };
    case "Tcp_CR_Acked":
    case "TcpConnectionConfirmed":
      return connectionUp(s);
    case "TcpConnectionFails":
      // OpenBGPD behaviour (see module comment): wait in Active, retry after ConnectRetryTime.
      return backToActive(s);
    default:
      // Any other event: release, drop, counter + 1, damp, Idle.
      return toIdle(s, { counter: "increment" });
  }
}

function active(s: FsmSnapshot, e: FsmEvent): FsmResult {
  switch (e.type) {
    case "ManualStart":
    case "AutomaticStart":
    case "ManualStart_with_PassiveTcpEstablishment":
    case "AutomaticStart_with_PassiveTcpEstablishment":
    case "TcpConnection_Valid":
    case "StableTimer_Expires":
      return same(s);
    case "ManualStop":
      return toIdle(s, { counter: "zero", manual: true });
    case "ConnectRetryTimer_Expires":
      if (s.config.passive) return same(s);
      return {
        next: { ...s, state: "Connect" },
        actions: [start("ConnectRetry", s.config.connectRetryTime), { kind: "connect" }],
      };
    case "Tcp_CR_Acked":
    case "TcpConnectionConfirmed":
      return connectionUp(s);
    default:
      // Including TcpConnectionFails (event 18): counter + 1, damp, Idle.
      return toIdle(s, { counter: "increment" });
  }
}

/**
 * ManualStop (event 2), AutomaticStop (8) and HoldTimer_Expires (10) once an OPEN is out: the
 * same in OpenSent, OpenConfirm and Established (RFC 4271 §8.2.2) — NOTIFICATION, release,
 * Idle; only a manual stop zeroes the ConnectRetryCounter.
 */
function sessionStop(
  s: FsmSnapshot,
  e: Extract<FsmEvent, { type: "ManualStop" | "AutomaticStop" | "HoldTimer_Expires" }>,
): FsmResult {
  switch (e.type) {
    case "ManualStop":
      return toIdle(s, {
        send: cease(e.subcode ?? CeaseSubcode.ADMINISTRATIVE_SHUTDOWN, e.data),
        counter: "zero",
        manual: true,
      });
    case "AutomaticStop":
      return toIdle(s, {
        send: cease(e.subcode ?? CeaseSubcode.ADMINISTRATIVE_RESET, e.data),
        counter: "increment",
      });
    case "HoldTimer_Expires":
      return toIdle(s, { send: HOLD_TIMER_EXPIRED, counter: "increment" });
  }
}

function openSent(s: FsmSnapshot, e: FsmEvent): FsmResult {
  switch (e.type) {
    case "ManualStart":
    case "AutomaticStart":
    case "ManualStart_with_PassiveTcpEstablishment":
    case "AutomaticStart_with_PassiveTcpEstablishment":
    case "StableTimer_Expires":
    // Events 14, 16, 17: a second connection is collision tracking, done by the driver.
    case "TcpConnection_Valid":
    case "Tcp_CR_Acked":
    case "TcpConnectionConfirmed":
      return same(s);
    case "ManualStop":
    case "AutomaticStop":
    case "HoldTimer_Expires":
      return sessionStop(s, e);
    case "TcpConnectionFails":
      // Close, restart ConnectRetry, keep listening: Active.
      return backToActive(s);
    case "BGPOpen": {
      const { hold, keepalive } = negotiateTimers(s.config, e.open.holdTime);
      const actions: FsmAction[] = [stop("ConnectRetry"), { kind: "send-keepalive" }];
      if (hold > 0) actions.push(start("Keepalive", keepalive), start("Hold", hold));
      else actions.push(stop("Keepalive"), stop("Hold")); // hold 0: no keepalives, no hold timer
      return { next: { ...s, state: "OpenConfirm", holdTime: hold, keepaliveTime: keepalive }, actions };
    }
    case "BGPHeaderErr":
    case "BGPOpenMsgErr":
      return toIdle(s, { send: e.notification, counter: "increment" });
    case "OpenCollisionDump":
      return toIdle(s, { send: cease(CeaseSubcode.CONNECTION_COLLISION_RESOLUTION), counter: "increment" });
    case "NotifMsgVerErr":
      return toIdle(s, { counter: "keep" });
    case "NotifMsg":
      return toIdle(s, { counter: "increment" });
    default:
      // Events 9, 11-13, 20, 26-28: FSM Error (RFC 6608 subcode 1 for messages).
      return toIdle(s, { send: fsmError(s.state, e), counter: "increment" });
  }
}

function openConfirm(s: FsmSnapshot, e: FsmEvent): FsmResult {
  switch (e.type) {
    case "ManualStart":
    case "AutomaticStart":
    case "ManualStart_with_PassiveTcpEstablishment":
    case "AutomaticStart_with_PassiveTcpEstablishment":
    case "StableTimer_Expires":
    case "TcpConnection_Valid":
    case "Tcp_CR_Acked":
    case "TcpConnectionConfirmed":
      return same(s);
    case "ManualStop":
    case "AutomaticStop":
    case "HoldTimer_Expires":
      return sessionStop(s, e);
    case "KeepaliveTimer_Expires":
      return { next: s, actions: [{ kind: "send-keepalive" }, start("Keepalive", s.keepaliveTime)] };
    case "TcpConnectionFails":
    case "NotifMsgVerErr":
    case "NotifMsg":
      return toIdle(s, { counter: "increment" });
    case "BGPHeaderErr":
    case "BGPOpenMsgErr":
      return toIdle(s, { send: e.notification, counter: "increment" });
    case "OpenCollisionDump":
      return toIdle(s, { send: cease(CeaseSubcode.CONNECTION_COLLISION_RESOLUTION), counter: "increment" });
    case "KeepAliveMsg":
      return {
        next: { ...s, state: "Established" },
        actions: [...holdRestart(s), start("Stable", s.config.stableTime), { kind: "established" }],
      };
    default:
      // Events 9, 12-13, 19 (a second OPEN on this connection), 20, 27-28: FSM Error subcode 2.
      return toIdle(s, { send: fsmError(s.state, e), counter: "increment" });
  }
}

function established(s: FsmSnapshot, e: FsmEvent): FsmResult {
  switch (e.type) {
    case "ManualStart":
    case "AutomaticStart":
    case "ManualStart_with_PassiveTcpEstablishment":
    case "AutomaticStart_with_PassiveTcpEstablishment":
    case "TcpConnection_Valid":
    case "Tcp_CR_Acked":
    case "TcpConnectionConfirmed":
      return same(s);
    case "ManualStop":
    case "AutomaticStop":
    case "HoldTimer_Expires":
      return sessionStop(s, e);
    case "KeepaliveTimer_Expires":
      return { next: s, actions: [{ kind: "send-keepalive" }, start("Keepalive", s.keepaliveTime)] };
    case "StableTimer_Expires":
      // Not RFC 4271: the peer has been stable long enough; forget earlier flaps.
      return { next: { ...s, idleHoldTime: s.config.idleHoldInitial }, actions: [] };
    case "TcpConnectionFails":
    case "NotifMsgVerErr":
    case "NotifMsg":
      return toIdle(s, { counter: "increment" });
    case "KeepAliveMsg":
      return { next: s, actions: holdRestart(s) };
    case "UpdateMsg":
      return { next: s, actions: [{ kind: "process-update", event: e }, ...holdRestart(s)] };
    case "RouteRefreshMsg":
      return { next: s, actions: [{ kind: "process-route-refresh", event: e }, ...holdRestart(s)] };
    case "UpdateMsgErr":
    case "BGPHeaderErr":
    case "BGPOpenMsgErr":
      return toIdle(s, { send: e.notification, counter: "increment" });
    case "OpenCollisionDump":
      return toIdle(s, { send: cease(CeaseSubcode.CONNECTION_COLLISION_RESOLUTION), counter: "increment" });
    default:
      // Events 9, 12-13, 19-20: FSM Error subcode 3 for an OPEN.
      return toIdle(s, { send: fsmError(s.state, e), counter: "increment" });
  }
}

const TABLE: Record<FsmState, (s: FsmSnapshot, e: FsmEvent) => FsmResult> = {
  Idle: idle,
  Connect: connect,
  Active: active,
  OpenSent: openSent,
  OpenConfirm: openConfirm,
  Established: established,
};

/** RFC 4271 §8.2.2 as a function. Performing `actions` in order is the caller's job. */
export function transition(state: FsmSnapshot, event: FsmEvent): FsmResult {
  return TABLE[state.state](state, event);
}
