/**
 * Maximum-prefix check (RFC 4486 Cease subcode 1 "Maximum Number of Prefixes Reached").
 */
import type { PeerConfig } from "../../config/types.ts";

/** Warn when the accepted count reaches this share of the limit (FRR's default threshold is 75%). */
export const MAX_PREFIX_WARN_RATIO = 0.9;

/**
 * - "exceeded": accepted > limit and the action is "restart" (send Cease/MAXIMUM_PREFIXES_REACHED).
 * - "warn": accepted > limit with action "warn", or accepted >= 90% of the limit.
 * - "ok": otherwise, or no limit configured.
 * The caller logs a warning once per crossing; this function has no memory.
 */
export function checkMaxPrefix(
  peer: Pick<PeerConfig, "maxPrefix">,
  accepted: number,
): "ok" | "warn" | "exceeded" {
  const m = peer.maxPrefix;
  if (!m) return "ok";
  if (accepted > m.limit) return m.action === "restart" ? "exceeded" : "warn";
  if (accepted >= m.limit * MAX_PREFIX_WARN_RATIO) return "warn";
  return "ok";
}
