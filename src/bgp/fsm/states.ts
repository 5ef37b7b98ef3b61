/**
 * BGP FSM states, spelled as in RFC 4271 §8.2.2 (and as the control API prints them).
 */

export type FsmState = "Idle" | "Connect" | "Active" | "OpenSent" | "OpenConfirm" | "Established";

export const FSM_STATES: readonly FsmState[] = [
  "Idle",
  "Connect",
  "Active",
  "OpenSent",
  "OpenConfirm",
  "Established",
];

/** States in which a TCP connection exists and an OPEN has been sent on it. */
export function hasOpenConnection(state: FsmState): boolean {
  return state === "OpenSent" || state === "OpenConfirm" || state === "Established";
}
