/**
 * Connection collision detection, RFC 4271 §6.8 (with RFC 6286 §2.3 for equal identifiers).
 * A PeerSession may hold two TCP connections to the same peer for a moment (one it opened, one
 * the peer opened). These pure helpers decide which survives and how the session's FSM moves
 * when it switches to the other connection; peer.ts does the I/O.
 */

import type { FsmState } from "../fsm/states.ts";
import type { FsmResult, FsmSnapshot } from "../fsm/transition.ts";
import { OPENSENT_HOLD_TIME } from "../fsm/transition.ts";

/** A dotted-quad BGP Identifier as an unsigned 32-bit integer (RFC 6286 §2.1 compares them so). */
export function bgpIdToUint32(id: string): number {
  const parts = id.split(".");
  if (parts.length !== 4) throw new TypeError(`invalid BGP identifier "${id}"`);
  let v = 0;
  for (const p of parts) {
    const n = Number(p);
    if (!/^\d{1,3}$/.test(p) || n > 255) throw new TypeError(`invalid BGP identifier "${id}"`);
    v = v * 256 + n;
  }
  return v;
}

export interface CollisionSide {
  /** We initiated this connection. */
  readonly outgoing: boolean;
}

export interface CollisionInput {
  readonly localId: string;
  readonly remoteId: string;
  /** Only used when the identifiers are equal (eBGP, RFC 6286 §2.3). */
  readonly localAs: number;
  readonly remoteAs: number;
  /** The connection the session already runs its FSM on, and the FSM's state. */
  readonly existing: CollisionSide & { readonly state: FsmState };
  /** The second connection, on which an OPEN was just sent or received. */
  readonly candidate: CollisionSide;
}

/**
 * Which connection survives. RFC 4271 §6.8: an Established connection always wins; otherwise
 * the connection initiated by the side with the higher BGP Identifier is kept (for equal
 * identifiers, the side with the larger AS number, RFC 6286 §2.3).
 */
export function resolveCollision(c: CollisionInput): "existing" | "candidate" {
  if (c.existing.state === "Established") return "existing";
  if (c.existing.outgoing === c.candidate.outgoing) return "existing"; // not a collision between the two sides
  const local = bgpIdToUint32(c.localId);
  const remote = bgpIdToUint32(c.remoteId);
  const localWins = local !== remote ? local > remote : c.localAs > c.remoteAs;
  // Keep the connection the winner initiated: ours (outgoing) if we win.
  const keepOutgoing = localWins;
  return c.existing.outgoing === keepOutgoing ? "existing" : "candidate";
}

/**
 * The session switches its FSM to the candidate connection, on which an OPEN was sent and none
 * processed yet: that connection's own FSM (RFC 4271 keeps one per connection) is in OpenSent
 * with the large hold timer. Negotiated timers of the old connection are forgotten.
 */
export function switchToCandidate(s: FsmSnapshot): FsmResult {
  return {
    next: { ...s, state: "OpenSent", holdTime: 0, keepaliveTime: 0 },
    actions: [
      { kind: "stop-timer", timer: "Keepalive" },
      { kind: "start-timer", timer: "Hold", seconds: OPENSENT_HOLD_TIME },
    ],
  };
}
