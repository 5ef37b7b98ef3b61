/** The pure BGP FSM (RFC 4271 §8): states, events, actions and `transition()`. */
export type { FsmEvent, FsmEventType, NotificationData } from "./events.ts";
export { FSM_STATES, type FsmState, hasOpenConnection } from "./states.ts";
export {
  DEFAULT_FSM_CONFIG,
  type FsmAction,
  type FsmConfig,
  type FsmResult,
  type FsmSnapshot,
  type FsmTimer,
  initialSnapshot,
  negotiateTimers,
  OPENSENT_HOLD_TIME,
  transition,
} from "./transition.ts";
