/**
 * BGP best-path selection: RFC 4271 §9.1.2 as an ordered list of small comparators, each
 * naming the reason it decided (GoBGP's BestPathReason), steps numbered as in the RFC
 * (OpenBGPD rde_decide.c).
 *
 * MED and determinism: §9.1.2.2 c) compares MED only between paths from the same neighbouring
 * AS, which makes pairwise comparison non-transitive (A beats B by MED, B beats C by router id,
 * C beats A by router id), so a naive "fold over the candidates" depends on their order.
 * bestPath() therefore works like Cisco's "deterministic-med": it first picks the best path
 * of each neighbour-AS group (MED compared, every step transitive inside a group), then the
 * best of the group winners with MED skipped. Both rounds are lexicographic orders with a
 * final unique tie-breaker (peer address, peer id, path id), so the result is independent of
 * input order. compare(a, b) is the pairwise RFC rule (antisymmetric, not transitive).
 * A missing MED counts as 0 (RFC 4271 §9.1.2.2 c, "lowest possible value").
 */

import { asPathLength, neighbourAs } from "./attrs.ts";
import type { Path } from "./path.ts";
import { addressSortKey } from "./prefix-util.ts";

export type BestPathReason =
  | "only-path"
  | "next-hop-unreachable"
  | "local-pref"
  | "local-origin"
  | "as-path-length"
  | "origin"
  | "med"
  | "ebgp-over-ibgp"
  | "igp-cost"
  | "router-id"
  | "cluster-list"
  | "peer-address"
  | "path-id"
  | "equal";

/** RFC 4271 §5.1.5: the LOCAL_PREF assumed when a path carries none (eBGP paths, policy did not set one). */
export const DEFAULT_LOCAL_PREF = 100;

export interface DecisionOptions {
  /** LOCAL_PREF for paths without one (default 100). */
  readonly defaultLocalPref?: number;
  /** Step 0 hook: is the next hop resolvable? Default: every next hop is reachable. */
  readonly nextHopReachable?: (path: Path) => boolean;
  /** Step e) hook: IGP cost to the next hop. Default: 0 for all (step never decides). */
  readonly igpCost?: (path: Path) => number;
}

type MedMode = "same-neighbour" | "skip" | "always";

interface Ctx {
  readonly lp: number;
  readonly reachable: ((path: Path) => boolean) | undefined;
  readonly igp: ((path: Path) => number) | undefined;
  readonly med: MedMode;
}

/** Negative: a is better; positive: b is better; 0: this step cannot tell them apart. */
type Cmp = (a: Path, b: Path, ctx: Ctx) => number;

interface Step {
  readonly reason: BestPathReason;
  readonly cmp: Cmp;
  /** Part of the ECMP equality (RFC steps up to and including e). */
  readonly ecmp: boolean;
}

function originatorKey(p: Path): string {
  // RFC 4456 §9: a reflected route's ORIGINATOR_ID stands in for the BGP Identifier.
  const o = p.attrs.originatorId;
  return o === undefined ? p.peer.routerIdKey : addressSortKey(o);
}

function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const STEPS: readonly Step[] = [
  {
    // RFC 4271 §9.1.2 (0): a path whose NEXT_HOP cannot be resolved is not a candidate.
    reason: "next-hop-unreachable",
    ecmp: true,
    cmp: (a, b, c) => {
      if (!c.reachable) return 0;
      const ra = c.reachable(a);
      return ra === c.reachable(b) ? 0 : ra ? -1 : 1;
    },
  },
  {
    // RFC 4271 §9.1.1 / §9.1.2.1: highest degree of preference (LOCAL_PREF); eBGP paths carry
    // none unless import policy set one and get the default.
    reason: "local-pref",
    ecmp: true,
    cmp: (a, b, c) => (b.attrs.localPref ?? c.lp) - (a.attrs.localPref ?? c.lp),
  },
  {
    // Not in the RFC (its §9.1.2.2 leaves local routes to implementation): prefer routes
    // podgate originates, like GoBGP's and Cisco's locally originated step.
    reason: "local-origin",
    ecmp: true,
    cmp: (a, b) => (a.peer.local === b.peer.local ? 0 : a.peer.local ? -1 : 1),
  },
  {
    // RFC 4271 §9.1.2.2 a): fewest AS numbers in AS_PATH (AS_SET counts 1, confed segments 0).
    reason: "as-path-length",
    ecmp: true,
    cmp: (a, b) => asPathLength(a.attrs.asPath) - asPathLength(b.attrs.asPath),
  },
  {
    // RFC 4271 §9.1.2.2 b): lowest ORIGIN (IGP < EGP < INCOMPLETE); missing counts as INCOMPLETE.
    reason: "origin",
    ecmp: true,
    cmp: (a, b) => (a.attrs.origin ?? 2) - (b.attrs.origin ?? 2),
  },
  {
    // RFC 4271 §9.1.2.2 c): lowest MED, only between paths from the same neighbouring AS.
    reason: "med",
    ecmp: true,
    cmp: (a, b, c) => {
      if (c.med === "skip") return 0;
      if (c.med === "same-neighbour" && neighbourAs(a.attrs.asPath) !== neighbourAs(b.attrs.asPath)) return 0;
      return (a.attrs.med ?? 0) - (b.attrs.med ?? 0);
    },
  },
  {
    // RFC 4271 §9.1.2.2 d): paths learned over eBGP beat paths learned over iBGP.
    reason: "ebgp-over-ibgp",
    ecmp: true,
    cmp: (a, b) => (a.peer.ibgp === b.peer.ibgp ? 0 : a.peer.ibgp ? 1 : -1),
  },
  {
    // RFC 4271 §9.1.2.2 e): lowest interior cost to the NEXT_HOP (hook; equal by default).
    reason: "igp-cost",
    ecmp: true,
    cmp: (a, b, c) => (c.igp ? c.igp(a) - c.igp(b) : 0),
  },
  {
    // RFC 4271 §9.1.2.2 f): lowest BGP Identifier (ORIGINATOR_ID when present, RFC 4456 §9).
    reason: "router-id",
    ecmp: false,
    cmp: (a, b) => cmpStr(originatorKey(a), originatorKey(b)),
  },
  {
    // RFC 4456 §9: shortest CLUSTER_LIST.
    reason: "cluster-list",
    ecmp: false,
    cmp: (a, b) => (a.attrs.clusterList?.length ?? 0) - (b.attrs.clusterList?.length ?? 0),
  },
  {
    // RFC 4271 §9.1.2.2 g): lowest peer address. A peer id comparison follows so that two
    // distinct peers never tie (same address in different VRFs/tests).
    reason: "peer-address",
    ecmp: false,
    cmp: (a, b) => cmpStr(a.peer.addressKey, b.peer.addressKey) || cmpStr(a.peer.id, b.peer.id),
  },
  {
    // RFC 7911: several paths from one peer (ADD-PATH) — lowest path identifier.
    reason: "path-id",
    ecmp: false,
    cmp: (a, b) => a.pathId - b.pathId,
  },
];

const EQUAL_STEP = STEPS.length;

function makeCtx(o: DecisionOptions | undefined, med: MedMode): Ctx {
  return {
    lp: o?.defaultLocalPref ?? DEFAULT_LOCAL_PREF,
    reachable: o?.nextHopReachable,
    igp: o?.igpCost,
    med,
  };
}

/** Index of the deciding step and the sign (negative: a wins). */
function decide(a: Path, b: Path, ctx: Ctx): [number, number] {
  for (let i = 0; i < STEPS.length; i++) {
    const r = STEPS[i]!.cmp(a, b, ctx);
    if (r !== 0) return [i, r];
  }
  return [EQUAL_STEP, 0];
}

function reasonAt(i: number): BestPathReason {
  return i === EQUAL_STEP ? "equal" : STEPS[i]!.reason;
}

/** Pairwise RFC 4271 §9.1.2 comparison. `winner` is undefined only when a and b tie on every step. */
export function compare(
  a: Path,
  b: Path,
  opts?: DecisionOptions,
): { winner: Path | undefined; reason: BestPathReason } {
  const [i, r] = decide(a, b, makeCtx(opts, "same-neighbour"));
  return { winner: r < 0 ? a : r > 0 ? b : undefined, reason: reasonAt(i) };
}

/** Are a and b equal through step e) (MED compared as values)? Then they are ECMP siblings. */
export function ecmpEqual(a: Path, b: Path, opts?: DecisionOptions): boolean {
  const ctx = makeCtx(opts, "always");
  for (const s of STEPS) {
    if (!s.ecmp) break;
    if (s.cmp(a, b, ctx) !== 0) return false;
  }
  return true;
}

export interface BestPathResult {
  readonly best: Path | undefined;
  /**
   * Why `best` won its closest contest (the latest step that separated it from another
   * candidate); "only-path" for a single candidate.
   */
  readonly reason: BestPathReason;
  /**
   * The ECMP set: best first, then every path equal to it through step e) (same LOCAL_PREF,
   * AS_PATH length, ORIGIN, MED value, eBGP/iBGP, IGP cost; neighbour AS may differ, like
   * "multipath-relax"), in decision order. Empty when there is no best; unreachable paths never.
   */
  readonly multipath: readonly Path[];
}

const NO_PATHS: readonly Path[] = Object.freeze([]);

export function bestPath(paths: readonly Path[], opts?: DecisionOptions): BestPathResult {
  if (paths.length === 0) return { best: undefined, reason: "only-path", multipath: NO_PATHS };
  const only = paths[0]!;
  if (paths.length === 1) {
    if (opts?.nextHopReachable && !opts.nextHopReachable(only)) {
      return { best: undefined, reason: "next-hop-unreachable", multipath: NO_PATHS };
    }
    return { best: only, reason: "only-path", multipath: [only] };
  }
  const inGroup = makeCtx(opts, "always");
  const across = makeCtx(opts, "skip");
  // Round 1: best per neighbour AS (MED compared).
  const groups = new Map<number, Path>();
  for (const p of paths) {
    const n = neighbourAs(p.attrs.asPath);
    const cur = groups.get(n);
    if (!cur || decide(p, cur, inGroup)[1] < 0) groups.set(n, p);
  }
  // Round 2: best of the group winners (MED skipped).
  let best: Path | undefined;
  for (const p of groups.values()) {
    if (!best || decide(p, best, across)[1] < 0) best = p;
  }
  const winner = best!;
  if (opts?.nextHopReachable && !opts.nextHopReachable(winner)) {
    return { best: undefined, reason: "next-hop-unreachable", multipath: NO_PATHS };
  }
  let closest = -1;
  const winnerAs = neighbourAs(winner.attrs.asPath);
  for (const p of paths) {
    if (p === winner) continue;
    const same = neighbourAs(p.attrs.asPath) === winnerAs;
    const [i, r] = decide(winner, p, same ? inGroup : across);
    // r > 0 only across groups: p lost inside its own group on MED (deterministic-MED).
    const step = r > 0 ? STEPS.findIndex((s) => s.reason === "med") : i;
    if (step > closest) closest = step;
  }
  const mp: Path[] = [winner];
  for (const p of paths) if (p !== winner && ecmpEqual(winner, p, opts)) mp.push(p);
  if (mp.length > 2) {
    const rest = mp.slice(1).sort((x, y) => decide(x, y, across)[1]);
    mp.length = 1;
    mp.push(...rest);
  }
  return { best: winner, reason: reasonAt(closest), multipath: mp };
}
