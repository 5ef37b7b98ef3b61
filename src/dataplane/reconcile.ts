/**
 * The pure reconcile step: given what the kernel holds and what podgate wants, the fewest
 * route operations that make the kernel match. Rules:
 * - a desired route already present with the same type and the same next-hop SET (order does
 *   not matter, the kernel may report ECMP members in any order) is left alone;
 * - a missing or different one becomes a "replace" (NLM_F_CREATE|NLM_F_REPLACE adds or swaps);
 * - a current route with OUR protocol that is not desired becomes a "delete";
 * - a route with any other protocol is never deleted, and never replaced either: a replace on
 *   the same (table, prefix, metric) would overwrite it, so such a desired route is held back
 *   and reported by conflicts().
 * Replaces come before deletes so a metric change adds the new route before removing the old.
 */
import type { RouteOp } from "./backend.ts";
import { type KernelNextHop, type KernelRoute, routeKey } from "./types.ts";

function hopId(h: KernelNextHop, withIfindex: boolean): string {
  return `${h.gateway}%${withIfindex ? (h.ifindex ?? "") : ""}*${h.weight ?? 1}${h.onlink ? "!onlink" : ""}`;
}

/**
 * True when `current` (as read from the kernel) already is `desired`. The kernel reports the
 * resolved outgoing interface of every gateway; it only matters when the desired hop names one.
 */
export function satisfies(current: KernelRoute, desired: KernelRoute): boolean {
  if (
    current.type !== desired.type ||
    current.family !== desired.family ||
    current.prefix !== desired.prefix ||
    current.table !== desired.table ||
    current.protocol !== desired.protocol ||
    (current.metric ?? 0) !== (desired.metric ?? 0) ||
    current.nextHops.length !== desired.nextHops.length
  ) {
    return false;
  }
  if (desired.nextHops.length === 0) return true;
  const withIf = desired.nextHops.some((h) => h.ifindex !== undefined);
  const want = desired.nextHops.map((h) => hopId(h, withIf)).sort();
  const have = current.nextHops.map((h) => hopId(h, withIf)).sort();
  for (let i = 0; i < want.length; i++) if (want[i] !== have[i]) return false;
  return true;
}

/** Protocols counted as "ours": the explicit one, else those of the desired routes. */
function ourProtocols(desired: readonly KernelRoute[], protocol: number | undefined): Set<number> {
  if (protocol !== undefined) return new Set([protocol]);
  return new Set(desired.map((r) => r.protocol));
}

/**
 * The operations that turn `current` into `desired`. `protocol` names podgate's protocol; when
 * omitted it is taken from the desired routes (so with nothing desired and no protocol given,
 * nothing is deleted — deleting needs to know whose routes are whose).
 */
export function diff(
  current: readonly KernelRoute[],
  desired: readonly KernelRoute[],
  protocol?: number,
): RouteOp[] {
  const ours = ourProtocols(desired, protocol);
  const cur = new Map<string, KernelRoute>();
  const foreign = new Set<string>();
  for (const r of current) {
    const k = routeKey(r);
    if (ours.has(r.protocol)) cur.set(k, r);
    else foreign.add(k);
  }
  const want = new Map<string, KernelRoute>();
  for (const r of desired) want.set(routeKey(r), r);

  const replaces: RouteOp[] = [];
  for (const [k, r] of want) {
    const have = cur.get(k);
    if (have) {
      if (!satisfies(have, r)) replaces.push({ op: "replace", route: r });
    } else if (!foreign.has(k)) {
      replaces.push({ op: "replace", route: r });
    }
  }
  const deletes: RouteOp[] = [];
  for (const [k, r] of cur) if (!want.has(k)) deletes.push({ op: "delete", route: r });
  return [...replaces, ...deletes];
}

/** Desired routes held back by diff() because a route of another protocol sits on the same key. */
export function conflicts(
  current: readonly KernelRoute[],
  desired: readonly KernelRoute[],
  protocol?: number,
): Array<{ desired: KernelRoute; foreign: KernelRoute }> {
  const ours = ourProtocols(desired, protocol);
  const foreign = new Map<string, KernelRoute>();
  const mine = new Set<string>();
  for (const r of current) {
    if (ours.has(r.protocol)) mine.add(routeKey(r));
    else foreign.set(routeKey(r), r);
  }
  const out: Array<{ desired: KernelRoute; foreign: KernelRoute }> = [];
  for (const r of desired) {
    const k = routeKey(r);
    const f = foreign.get(k);
    if (f && !mine.has(k)) out.push({ desired: r, foreign: f });
  }
  return out;
}
