/** FSM state names as the API spells them (RFC 4271 §8.2.2). */
export type FsmStateName = "Idle" | "Connect" | "Active" | "OpenSent" | "OpenConfirm" | "Established";
