/**
 * BGP FSM input events, named as in RFC 4271 §8.1 (numbers in comments), as a discriminated
 * union. Events that need data carry it: the decoded OPEN, the NOTIFICATION to send for a bad
 * message, the NOTIFICATION received. Optional RFC events that podgate does not implement
 * (DelayOpen, Tcp_CR_Invalid, the *_with_DampPeerOscillations starts) are left out; damping
 * is always on and expressed with IdleHoldTimer_Expires.
 */
import type { OpenMessage, RouteRefreshMessage, UpdateMessage } from "../wire/types.ts";

/** A NOTIFICATION to send (from a BgpNotificationError) or one received. */
export interface NotificationData {
  readonly code: number;
  readonly subcode: number;
  readonly data: Buffer;
}

export type FsmEvent =
  // §8.1.2 administrative events
  | { readonly type: "ManualStart" } // 1
  /** 2. `subcode` defaults to Cease/Administrative Shutdown; `data` is the RFC 9003 communication. */
  | { readonly type: "ManualStop"; readonly subcode?: number; readonly data?: Buffer }
  | { readonly type: "AutomaticStart" } // 3
  | { readonly type: "ManualStart_with_PassiveTcpEstablishment" } // 4
  | { readonly type: "AutomaticStart_with_PassiveTcpEstablishment" } // 5
  /** 8. e.g. maximum prefixes reached: Cease with `subcode`, then restart after IdleHold. */
  | { readonly type: "AutomaticStop"; readonly subcode?: number; readonly data?: Buffer }
  // §8.1.3 timer events
  | { readonly type: "ConnectRetryTimer_Expires" } // 9
  | { readonly type: "HoldTimer_Expires" } // 10
  | { readonly type: "KeepaliveTimer_Expires" } // 11
  | { readonly type: "IdleHoldTimer_Expires" } // 13
  /** Not in RFC 4271: the session stayed Established long enough to forget past flaps. */
  | { readonly type: "StableTimer_Expires" }
  // §8.1.4 TCP connection events
  | { readonly type: "TcpConnection_Valid" } // 14
  | { readonly type: "Tcp_CR_Acked" } // 16: our outgoing connection completed
  | { readonly type: "TcpConnectionConfirmed" } // 17: we accepted the peer's connection
  | { readonly type: "TcpConnectionFails" } // 18
  // §8.1.5 BGP message events
  | { readonly type: "BGPOpen"; readonly open: OpenMessage } // 19
  | { readonly type: "BGPHeaderErr"; readonly notification: NotificationData } // 21
  | { readonly type: "BGPOpenMsgErr"; readonly notification: NotificationData } // 22
  | { readonly type: "OpenCollisionDump" } // 23
  | { readonly type: "NotifMsgVerErr"; readonly notification: NotificationData } // 24
  | { readonly type: "NotifMsg"; readonly notification: NotificationData } // 25
  | { readonly type: "KeepAliveMsg" } // 26
  /** 27. `update` is absent when the UPDATE arrived before Established (it is not decoded then). */
  | { readonly type: "UpdateMsg"; readonly update?: UpdateMessage }
  | { readonly type: "UpdateMsgErr"; readonly notification: NotificationData } // 28
  /** RFC 2918: not numbered in RFC 4271; handled like UpdateMsg for timers and unexpectedness. */
  | { readonly type: "RouteRefreshMsg"; readonly refresh?: RouteRefreshMessage };

export type FsmEventType = FsmEvent["type"];
