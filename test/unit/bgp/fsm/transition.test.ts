/** Table tests for the pure BGP FSM: every state × every event, hold time negotiation, backoff, RFC 6608 subcodes. */
import { describe, expect, it } from "vitest";
import type { FsmEvent } from "../../../../src/bgp/fsm/events.ts";
import { FSM_STATES, type FsmState } from "../../../../src/bgp/fsm/states.ts";
import {
  type FsmAction,
  type FsmSnapshot,
  initialSnapshot,
  negotiateTimers,
  OPENSENT_HOLD_TIME,
  transition,
} from "../../../../src/bgp/fsm/transition.ts";
import { CeaseSubcode, ErrorCode, FsmError, OpenMessageError } from "../../../../src/bgp/wire/constants.ts";
import type { OpenMessage } from "../../../../src/bgp/wire/types.ts";

const open = (holdTime: number): OpenMessage => ({
  type: 1,
  version: 4,
  myAs: 64512,
  holdTime,
  bgpId: "10.0.0.1",
  capabilities: {
    multiprotocol: [],
    routeRefresh: true,
    enhancedRouteRefresh: false,
    addPath: [],
    others: [],
  },
});
const note = (code: number, subcode: number) => ({ code, subcode, data: Buffer.alloc(0) });

const EVENTS: Record<FsmEvent["type"], FsmEvent> = {
  ManualStart: { type: "ManualStart" },
  ManualStop: { type: "ManualStop" },
  AutomaticStart: { type: "AutomaticStart" },
  ManualStart_with_PassiveTcpEstablishment: { type: "ManualStart_with_PassiveTcpEstablishment" },
  AutomaticStart_with_PassiveTcpEstablishment: { type: "AutomaticStart_with_PassiveTcpEstablishment" },
  AutomaticStop: { type: "AutomaticStop", subcode: CeaseSubcode.MAXIMUM_PREFIXES_REACHED },
  ConnectRetryTimer_Expires: { type: "ConnectRetryTimer_Expires" },
  HoldTimer_Expires: { type: "HoldTimer_Expires" },
  KeepaliveTimer_Expires: { type: "KeepaliveTimer_Expires" },
  IdleHoldTimer_Expires: { type: "IdleHoldTimer_Expires" },
  StableTimer_Expires: { type: "StableTimer_Expires" },
  TcpConnection_Valid: { type: "TcpConnection_Valid" },
  Tcp_CR_Acked: { type: "Tcp_CR_Acked" },
  TcpConnectionConfirmed: { type: "TcpConnectionConfirmed" },
  TcpConnectionFails: { type: "TcpConnectionFails" },
  BGPOpen: { type: "BGPOpen", open: open(90) },
  BGPHeaderErr: { type: "BGPHeaderErr", notification: note(ErrorCode.MESSAGE_HEADER, 1) },
  BGPOpenMsgErr: {
    type: "BGPOpenMsgErr",
    notification: note(ErrorCode.OPEN_MESSAGE, OpenMessageError.BAD_PEER_AS),
  },
  OpenCollisionDump: { type: "OpenCollisionDump" },
  NotifMsgVerErr: { type: "NotifMsgVerErr", notification: note(ErrorCode.OPEN_MESSAGE, 1) },
  NotifMsg: { type: "NotifMsg", notification: note(ErrorCode.CEASE, 2) },
  KeepAliveMsg: { type: "KeepAliveMsg" },
  UpdateMsg: { type: "UpdateMsg" },
  UpdateMsgErr: { type: "UpdateMsgErr", notification: note(ErrorCode.UPDATE_MESSAGE, 1) },
  RouteRefreshMsg: { type: "RouteRefreshMsg" },
};

/** A snapshot in `state` as the FSM itself would have produced it (started, hold 90 negotiated). */
function at(state: FsmState, cfg: Parameters<typeof initialSnapshot>[0] = {}): FsmSnapshot {
  const base = { ...initialSnapshot({ holdTime: 90, connectRetryTime: 5, ...cfg }), autoRestart: true };
  if (state === "OpenConfirm" || state === "Established")
    return { ...base, state, holdTime: 90, keepaliveTime: 30 };
  return { ...base, state };
}

type Summary = { to: FsmState; send?: string; kinds: string[] };
function summarize(from: FsmState, ev: FsmEvent): Summary {
  const { next, actions } = transition(at(from), ev);
  const n = actions.find((a) => a.kind === "send-notification");
  const kinds = actions
    .filter((a) => a.kind !== "stop-timer" && a.kind !== "send-notification")
    .map(actionName);
  return {
    to: next.state,
    ...(n && n.kind === "send-notification" ? { send: `${n.code}/${n.subcode}` } : {}),
    kinds,
  };
}
function actionName(a: FsmAction): string {
  if (a.kind === "start-timer") return `start:${a.timer}`;
  if (a.kind === "session-down") return a.wasEstablished ? "down:est" : "down";
  return a.kind;
}

// Expected [next state, notification sent] for every state × event. "-" = no notification.
// Idle-bound rows with an automatic restart always add start:IdleHold (checked separately).
const I = "Idle";
const EXPECTED: Record<FsmState, Partial<Record<FsmEvent["type"], [FsmState, string]>>> = {
  Idle: {
    ManualStart: ["Connect", "-"],
    AutomaticStart: ["Connect", "-"],
    ManualStart_with_PassiveTcpEstablishment: ["Active", "-"],
    AutomaticStart_with_PassiveTcpEstablishment: ["Active", "-"],
    IdleHoldTimer_Expires: ["Connect", "-"],
  },
  Connect: {
    ManualStop: [I, "-"],
    ConnectRetryTimer_Expires: ["Connect", "-"],
    Tcp_CR_Acked: ["OpenSent", "-"],
    TcpConnectionConfirmed: ["OpenSent", "-"],
    TcpConnectionFails: ["Active", "-"],
    HoldTimer_Expires: [I, "-"],
    BGPOpen: [I, "-"],
    KeepAliveMsg: [I, "-"],
    NotifMsg: [I, "-"],
  },
  Active: {
    ManualStop: [I, "-"],
    ConnectRetryTimer_Expires: ["Connect", "-"],
    Tcp_CR_Acked: ["OpenSent", "-"],
    TcpConnectionConfirmed: ["OpenSent", "-"],
    TcpConnectionFails: [I, "-"],
    UpdateMsg: [I, "-"],
  },
  OpenSent: {
    ManualStop: [I, "6/2"],
    AutomaticStop: [I, "6/1"],
    HoldTimer_Expires: [I, "4/0"],
    TcpConnectionFails: ["Active", "-"],
    BGPOpen: ["OpenConfirm", "-"],
    BGPHeaderErr: [I, "1/1"],
    BGPOpenMsgErr: [I, "2/2"],
    OpenCollisionDump: [I, "6/7"],
    NotifMsgVerErr: [I, "-"],
    NotifMsg: [I, "-"],
    ConnectRetryTimer_Expires: [I, "5/0"],
    KeepaliveTimer_Expires: [I, "5/0"],
    KeepAliveMsg: [I, "5/1"],
    UpdateMsg: [I, "5/1"],
    UpdateMsgErr: [I, "5/1"],
    RouteRefreshMsg: [I, "5/1"],
    Tcp_CR_Acked: ["OpenSent", "-"],
    TcpConnectionConfirmed: ["OpenSent", "-"],
  },
  OpenConfirm: {
    ManualStop: [I, "6/2"],
    AutomaticStop: [I, "6/1"],
    HoldTimer_Expires: [I, "4/0"],
    KeepaliveTimer_Expires: ["OpenConfirm", "-"],
    TcpConnectionFails: [I, "-"],
    NotifMsgVerErr: [I, "-"],
    NotifMsg: [I, "-"],
    BGPHeaderErr: [I, "1/1"],
    BGPOpenMsgErr: [I, "2/2"],
    OpenCollisionDump: [I, "6/7"],
    KeepAliveMsg: ["Established", "-"],
    BGPOpen: [I, "5/2"],
    UpdateMsg: [I, "5/2"],
    RouteRefreshMsg: [I, "5/2"],
    ConnectRetryTimer_Expires: [I, "5/0"],
  },
  Established: {
    ManualStop: [I, "6/2"],
    AutomaticStop: [I, "6/1"],
    HoldTimer_Expires: [I, "4/0"],
    KeepaliveTimer_Expires: ["Established", "-"],
    TcpConnectionFails: [I, "-"],
    NotifMsg: [I, "-"],
    KeepAliveMsg: ["Established", "-"],
    UpdateMsg: ["Established", "-"],
    RouteRefreshMsg: ["Established", "-"],
    UpdateMsgErr: [I, "3/1"],
    BGPHeaderErr: [I, "1/1"],
    BGPOpenMsgErr: [I, "2/2"],
    NotifMsgVerErr: [I, "-"],
    OpenCollisionDump: [I, "6/7"],
    BGPOpen: [I, "5/3"],
    ConnectRetryTimer_Expires: [I, "5/0"],
    StableTimer_Expires: ["Established", "-"],
  },
};

const STARTS: FsmEvent["type"][] = [
  "ManualStart",
  "AutomaticStart",
  "ManualStart_with_PassiveTcpEstablishment",
  "AutomaticStart_with_PassiveTcpEstablishment",
];
/** Events that change nothing in a state (no actions at all). */
const IGNORED: Record<FsmState, FsmEvent["type"][]> = {
  Idle: (Object.keys(EVENTS) as FsmEvent["type"][]).filter(
    (e) => !STARTS.includes(e) && e !== "IdleHoldTimer_Expires" && e !== "ManualStop",
  ),
  Connect: [...STARTS, "TcpConnection_Valid", "StableTimer_Expires"],
  Active: [...STARTS, "TcpConnection_Valid", "StableTimer_Expires"],
  // Events 16/17 on a second connection are collision tracking in the driver.
  OpenSent: [
    ...STARTS,
    "TcpConnection_Valid",
    "StableTimer_Expires",
    "Tcp_CR_Acked",
    "TcpConnectionConfirmed",
  ],
  OpenConfirm: [
    ...STARTS,
    "TcpConnection_Valid",
    "StableTimer_Expires",
    "Tcp_CR_Acked",
    "TcpConnectionConfirmed",
  ],
  Established: [...STARTS, "TcpConnection_Valid", "Tcp_CR_Acked", "TcpConnectionConfirmed"],
};
const MESSAGES: FsmEvent["type"][] = [
  "BGPOpen",
  "KeepAliveMsg",
  "UpdateMsg",
  "UpdateMsgErr",
  "RouteRefreshMsg",
];
/** RFC 4271 §8.2.2 "any other event": Idle; with an OPEN sent, FSM Error (RFC 6608 subcode per state for messages). */
const fsmErr =
  (sub: number) =>
  (e: FsmEvent["type"]): [FsmState, string] => [I, `5/${MESSAGES.includes(e) ? sub : 0}`];
const DEFAULT: Record<FsmState, (e: FsmEvent["type"]) => [FsmState, string]> = {
  Idle: () => ["Idle", "-"],
  Connect: () => [I, "-"],
  Active: () => [I, "-"],
  OpenSent: fsmErr(1),
  OpenConfirm: fsmErr(2),
  Established: fsmErr(3),
};

describe("transition: every state × every event", () => {
  const rows: [FsmState, FsmEvent["type"]][] = [];
  for (const st of FSM_STATES)
    for (const ev of Object.keys(EVENTS) as FsmEvent["type"][]) rows.push([st, ev]);

  it.each(rows)("%s + %s", (st, evName) => {
    const ev = EVENTS[evName];
    const got = summarize(st, ev);
    const exp = EXPECTED[st][evName] ?? (IGNORED[st].includes(evName) ? [st, "-"] : DEFAULT[st](evName));
    expect(got.to).toBe(exp[0]);
    expect(got.send ?? "-").toBe(exp[1]);
    if (got.to === "Idle" && st !== "Idle") {
      expect(got.kinds).toContain("drop-connection");
      const manual = evName === "ManualStop";
      expect(got.kinds.includes("start:IdleHold")).toBe(!manual);
      const hadOpen = st === "OpenSent" || st === "OpenConfirm" || st === "Established";
      expect(got.kinds.some((k) => k.startsWith("down"))).toBe(hadOpen);
    }
    if (got.to === st && exp[1] === "-" && IGNORED[st].includes(evName)) expect(got.kinds).toEqual([]);
  });

  it("ManualStop in Idle cancels a pending automatic restart", () => {
    const { next, actions } = transition(at("Idle"), EVENTS.ManualStop);
    expect(next.autoRestart).toBe(false);
    expect(actions).toContainEqual({ kind: "stop-timer", timer: "IdleHold" });
    expect(transition(next, EVENTS.IdleHoldTimer_Expires).next.state).toBe("Idle");
  });

  it("Established → Idle reports that routes must be flushed", () => {
    const { actions } = transition(at("Established"), EVENTS.HoldTimer_Expires);
    expect(actions).toContainEqual({ kind: "session-down", wasEstablished: true });
  });

  it("ManualStop carries the subcode and RFC 9003 data given", () => {
    const data = Buffer.from([11, ...Buffer.from("maintenance")]);
    const { actions } = transition(at("Established"), {
      type: "ManualStop",
      subcode: CeaseSubcode.ADMINISTRATIVE_RESET,
      data,
    });
    expect(actions[0]).toEqual({ kind: "send-notification", code: ErrorCode.CEASE, subcode: 4, data });
  });

  it("Connect/Active → OpenSent sends OPEN and arms the 4-minute hold timer", () => {
    const { actions } = transition(at("Connect"), EVENTS.Tcp_CR_Acked);
    expect(actions).toEqual([
      { kind: "stop-timer", timer: "ConnectRetry" },
      { kind: "send-open" },
      { kind: "start-timer", timer: "Hold", seconds: OPENSENT_HOLD_TIME },
    ]);
  });

  it("UPDATE and ROUTE-REFRESH in Established are processed and restart the hold timer", () => {
    const { actions } = transition(at("Established"), EVENTS.UpdateMsg);
    expect(actions).toEqual([
      { kind: "process-update", event: EVENTS.UpdateMsg },
      { kind: "start-timer", timer: "Hold", seconds: 90 },
    ]);
    expect(transition(at("Established"), EVENTS.RouteRefreshMsg).actions[0]?.kind).toBe(
      "process-route-refresh",
    );
  });
});

describe("starting", () => {
  it("ManualStart connects with the ConnectRetry timer", () => {
    const { next, actions } = transition(initialSnapshot({ connectRetryTime: 5 }), EVENTS.ManualStart);
    expect(next.state).toBe("Connect");
    expect(actions).toEqual([
      { kind: "stop-timer", timer: "IdleHold" },
      { kind: "start-timer", timer: "ConnectRetry", seconds: 5 },
      { kind: "connect" },
    ]);
  });

  it("a manual start while an automatic restart is pending cancels the IdleHold timer", () => {
    const idle = transition(at("OpenSent"), EVENTS.HoldTimer_Expires);
    expect(idle.actions).toContainEqual({ kind: "start-timer", timer: "IdleHold", seconds: 1 });
    const r = transition(idle.next, EVENTS.ManualStart);
    expect(r.next.state).toBe("Connect");
    expect(r.actions[0]).toEqual({ kind: "stop-timer", timer: "IdleHold" });
  });

  it("a configured passive peer waits in Active and never connects", () => {
    let s = initialSnapshot({ passive: true });
    s = transition(s, EVENTS.ManualStart).next;
    expect(s.state).toBe("Active");
    const r = transition(s, EVENTS.ConnectRetryTimer_Expires);
    expect(r.next.state).toBe("Active");
    expect(r.actions).toEqual([]);
    expect(transition(initialSnapshot({ passive: true }), EVENTS.ManualStart).actions).toEqual([
      { kind: "stop-timer", timer: "IdleHold" },
    ]);
    // After an error the automatic restart is passive too.
    const down = transition({ ...s, state: "OpenSent" }, EVENTS.HoldTimer_Expires).next;
    const again = transition(down, EVENTS.IdleHoldTimer_Expires);
    expect(again.next.state).toBe("Active");
    expect(again.actions.some((a) => a.kind === "connect")).toBe(false);
  });

  it("a connection refused in Connect waits in Active and retries after ConnectRetryTime", () => {
    const s = transition(initialSnapshot({ connectRetryTime: 7 }), EVENTS.ManualStart).next;
    const r = transition(s, EVENTS.TcpConnectionFails);
    expect(r.next.state).toBe("Active");
    expect(r.actions).toContainEqual({ kind: "start-timer", timer: "ConnectRetry", seconds: 7 });
    const retry = transition(r.next, EVENTS.ConnectRetryTimer_Expires);
    expect(retry.next.state).toBe("Connect");
    expect(retry.actions).toContainEqual({ kind: "connect" });
  });
});

describe("hold time negotiation (RFC 4271 §4.2, §8.2.2 OpenSent)", () => {
  it.each([
    // ours, theirs, hold, keepalive
    [90, 240, 90, 30],
    [240, 240, 240, 80], // BIRD as configured by Calico
    [240, 0, 0, 0],
    [0, 240, 0, 0],
    [3, 240, 3, 1],
    [10, 9, 9, 3],
  ])("ours %i, theirs %i → hold %i keepalive %i", (ours, theirs, hold, keepalive) => {
    expect(negotiateTimers(initialSnapshot({ holdTime: ours }).config, theirs)).toEqual({ hold, keepalive });
  });

  it("a configured keepalive is used when shorter than hold/3, never longer", () => {
    expect(negotiateTimers(initialSnapshot({ holdTime: 240, keepaliveTime: 10 }).config, 240).keepalive).toBe(
      10,
    );
    expect(negotiateTimers(initialSnapshot({ holdTime: 240, keepaliveTime: 200 }).config, 90).keepalive).toBe(
      30,
    );
  });

  it("hold 240: OpenSent + OPEN starts keepalive 80 and hold 240", () => {
    const s = { ...at("OpenSent", { holdTime: 240 }) };
    const { next, actions } = transition(s, { type: "BGPOpen", open: open(240) });
    expect(next).toMatchObject({ state: "OpenConfirm", holdTime: 240, keepaliveTime: 80 });
    expect(actions).toContainEqual({ kind: "send-keepalive" });
    expect(actions).toContainEqual({ kind: "start-timer", timer: "Keepalive", seconds: 80 });
    expect(actions).toContainEqual({ kind: "start-timer", timer: "Hold", seconds: 240 });
  });

  it("hold 0: no keepalive timer and no hold timer, ever", () => {
    const s = at("OpenSent", { holdTime: 240 });
    const r1 = transition(s, { type: "BGPOpen", open: open(0) });
    expect(r1.next.holdTime).toBe(0);
    expect(r1.actions.filter((a) => a.kind === "start-timer")).toEqual([]);
    expect(r1.actions).toContainEqual({ kind: "stop-timer", timer: "Hold" });
    const r2 = transition(r1.next, EVENTS.KeepAliveMsg);
    expect(r2.next.state).toBe("Established");
    expect(r2.actions.filter((a) => a.kind === "start-timer" && a.timer !== "Stable")).toEqual([]);
    expect(transition(r2.next, EVENTS.UpdateMsg).actions).toEqual([
      { kind: "process-update", event: EVENTS.UpdateMsg },
    ]);
  });
});

describe("IdleHold backoff (DampPeerOscillations)", () => {
  const flap = (s: FsmSnapshot): { s: FsmSnapshot; wait: number } => {
    // Start, connect, exchange OPENs, establish, then the hold timer expires.
    let x = transition(
      s,
      s.state === "Idle" && !s.autoRestart ? EVENTS.ManualStart : EVENTS.IdleHoldTimer_Expires,
    ).next;
    x = transition(x, EVENTS.Tcp_CR_Acked).next;
    x = transition(x, { type: "BGPOpen", open: open(90) }).next;
    x = transition(x, EVENTS.KeepAliveMsg).next;
    expect(x.state).toBe("Established");
    const r = transition(x, EVENTS.HoldTimer_Expires);
    const idleHold = r.actions.find((a) => a.kind === "start-timer" && a.timer === "IdleHold");
    return { s: r.next, wait: idleHold && idleHold.kind === "start-timer" ? idleHold.seconds : -1 };
  };

  it("doubles from 1 s to the 120 s cap", () => {
    let s = initialSnapshot({ idleHoldInitial: 1, idleHoldMax: 120 });
    const waits: number[] = [];
    for (let i = 0; i < 10; i++) {
      const r = flap(s);
      s = r.s;
      waits.push(r.wait);
    }
    expect(waits).toEqual([1, 2, 4, 8, 16, 32, 64, 120, 120, 120]);
    expect(s.connectRetryCounter).toBe(10);
  });

  it("resets after the session stays Established for stableTime", () => {
    let s = initialSnapshot({ idleHoldInitial: 1, idleHoldMax: 120, stableTime: 60 });
    for (let i = 0; i < 5; i++) s = flap(s).s;
    expect(s.idleHoldTime).toBe(32);
    let x = transition(s, EVENTS.IdleHoldTimer_Expires).next;
    x = transition(x, EVENTS.Tcp_CR_Acked).next;
    x = transition(x, { type: "BGPOpen", open: open(90) }).next;
    const est = transition(x, EVENTS.KeepAliveMsg);
    expect(est.actions).toContainEqual({ kind: "start-timer", timer: "Stable", seconds: 60 });
    const stable = transition(est.next, EVENTS.StableTimer_Expires).next;
    expect(stable.idleHoldTime).toBe(1);
    const down = transition(stable, EVENTS.HoldTimer_Expires);
    expect(down.actions).toContainEqual({ kind: "start-timer", timer: "IdleHold", seconds: 1 });
  });

  it("ManualStop resets the backoff and the counter", () => {
    let s = initialSnapshot();
    for (let i = 0; i < 3; i++) s = flap(s).s;
    const est = { ...s, state: "Established" as const };
    const r = transition(est, EVENTS.ManualStop);
    expect(r.next).toMatchObject({
      state: "Idle",
      autoRestart: false,
      connectRetryCounter: 0,
      idleHoldTime: 1,
    });
  });
});

describe("FSM Error subcodes (RFC 6608)", () => {
  it.each([
    ["OpenSent", "KeepAliveMsg", FsmError.UNEXPECTED_MESSAGE_IN_OPENSENT],
    ["OpenSent", "UpdateMsg", FsmError.UNEXPECTED_MESSAGE_IN_OPENSENT],
    ["OpenConfirm", "UpdateMsg", FsmError.UNEXPECTED_MESSAGE_IN_OPENCONFIRM],
    ["OpenConfirm", "BGPOpen", FsmError.UNEXPECTED_MESSAGE_IN_OPENCONFIRM],
    ["Established", "BGPOpen", FsmError.UNEXPECTED_MESSAGE_IN_ESTABLISHED],
    ["OpenSent", "ConnectRetryTimer_Expires", FsmError.UNSPECIFIED],
  ] as const)("%s + %s → 5/%i", (st, ev, subcode) => {
    const { actions } = transition(at(st), EVENTS[ev]);
    expect(actions[0]).toEqual({
      kind: "send-notification",
      code: ErrorCode.FSM,
      subcode,
      data: Buffer.alloc(0),
    });
  });
});
