/**
 * Import/export policy: configuration (`Policy`, prefix lists) compiled once into a plain
 * function called per route. Terms run in order; a matching term applies its `set` and then
 * accepts, rejects or continues ("next"); after the last term the policy's default applies
 * (OpenBGPD-style default deny unless the policy says accept).
 *
 * Attribute sharing: a policy never copies attributes per prefix. The attributes produced
 * for an input attribute object and a given sequence of applied terms are cached (weakly, by
 * the input object), so every prefix of one UPDATE that takes the same terms ends up with the
 * same output object. This is what keeps Adj-RIB-Out grouping and memory cheap.
 */
import type { Policy, PolicyMatch, PolicySet, PrefixListEntry } from "../../config/types.ts";
import { type AttrsPatch, patchAttrs, prependAsPath } from "../rib/attrs.ts";
import { ipv4ToNumber, ipv6ToWords } from "../rib/prefix-util.ts";
import { Afi, type AfiCode } from "../wire/constants.ts";
import type { PathAttributes, Prefix } from "../wire/types.ts";
import { parseCommunity, parseLargeCommunity } from "./community.ts";
import { compilePrefixList, type PrefixMatcher } from "./prefix-list.ts";

export type PolicyDirection = "import" | "export";

export interface PolicyContext {
  readonly direction: PolicyDirection;
  /** Our AS: `asPathPrepend: N` prepends it N times. */
  readonly localAsn: number;
  /** `nextHop: "self"` per family (our address on the session). Missing: "self" leaves the next hop alone. */
  readonly nextHopSelf?: { readonly ipv4?: string; readonly ipv6?: string };
}

/** What a policy looks at. A rib Path satisfies it. */
export interface RouteView {
  readonly prefix: Prefix;
  readonly attrs: PathAttributes;
}

export interface PolicyResult {
  readonly accept: boolean;
  /** The (possibly modified) attributes; the input object itself when nothing was set. */
  readonly attrs: PathAttributes;
}

export type CompiledPolicy = ((route: RouteView) => PolicyResult) & {
  /** Set on policies that accept every route unchanged (no terms, default accept): callers may skip the call. */
  readonly acceptsAllUnchanged?: boolean;
  /** Set on policies that reject every route (no terms, default reject): callers may skip all work. */
  readonly rejectsAll?: boolean;
};

export const ACCEPT_ALL = "accept-all";
export const REJECT_ALL = "reject-all";

/** Built-in policies; their names are reserved. */
export const BUILTIN_POLICIES: Readonly<Record<string, Policy>> = {
  [ACCEPT_ALL]: { terms: [], default: "accept" },
  [REJECT_ALL]: { terms: [], default: "reject" },
};

type Matcher = (route: RouteView, attrs: PathAttributes) => boolean;
type Setter = (attrs: PathAttributes, afi: AfiCode) => PathAttributes;

function compileMatch(
  m: PolicyMatch | undefined,
  prefixLists: Readonly<Record<string, readonly PrefixListEntry[]>>,
  listCache: Map<string, PrefixMatcher>,
): Matcher | undefined {
  if (!m) return undefined;
  const tests: Matcher[] = [];
  if (m.family !== undefined) {
    const afi = m.family === "ipv4" ? Afi.IPV4 : Afi.IPV6;
    tests.push((r) => r.prefix.afi === afi);
  }
  if (m.prefixList !== undefined) {
    const name = m.prefixList;
    let pl = listCache.get(name);
    if (!pl) {
      const entries = prefixLists[name];
      if (!entries) throw new Error(`policy refers to unknown prefix list "${name}"`);
      pl = compilePrefixList(entries);
      listCache.set(name, pl);
    }
    const list = pl;
    tests.push((r) => list.permits(r.prefix));
  }
  if (m.prefixes !== undefined) {
    const list = compilePrefixList(m.prefixes);
    tests.push((r) => list.permits(r.prefix));
  }
  if (m.community !== undefined) {
    const want = new Set(m.community.map(parseCommunity));
    tests.push((_r, a) => a.communities?.some((c) => want.has(c)) === true);
  }
  if (m.largeCommunity !== undefined) {
    const want = new Set(m.largeCommunity.map((t) => parseLargeCommunity(t).join(":")));
    tests.push((_r, a) => a.largeCommunities?.some((l) => want.has(l.join(":"))) === true);
  }
  if (tests.length === 0) return undefined;
  if (tests.length === 1) return tests[0]!;
  return (r, a) => tests.every((t) => t(r, a));
}

function addressFamily(text: string): AfiCode | undefined {
  if (ipv4ToNumber(text) >= 0) return Afi.IPV4;
  return ipv6ToWords(text) ? Afi.IPV6 : undefined;
}

function compileSet(s: PolicySet | undefined, ctx: PolicyContext): Setter | undefined {
  if (!s) return undefined;
  const add = s.communitiesAdd?.map(parseCommunity);
  const remove = s.communitiesRemove ? new Set(s.communitiesRemove.map(parseCommunity)) : undefined;
  const addLarge = s.largeCommunitiesAdd?.map(parseLargeCommunity);
  const prepend =
    s.asPathPrepend === undefined
      ? undefined
      : typeof s.asPathPrepend === "number"
        ? new Array<number>(s.asPathPrepend).fill(ctx.localAsn)
        : [...s.asPathPrepend];
  const nh = s.nextHop;
  if (nh !== undefined && nh !== "self" && addressFamily(nh) === undefined) {
    throw new TypeError(`invalid next hop "${nh}" in policy`);
  }
  return (a, afi) => {
    const o: AttrsPatch = {};
    if (s.localPref !== undefined) o.localPref = s.localPref;
    if (s.med !== undefined) o.med = s.med;
    let cs = a.communities;
    if (remove && cs) {
      const kept = cs.filter((c) => !remove.has(c));
      cs = kept.length > 0 ? kept : undefined;
      o.communities = cs;
    }
    if (add) {
      const next = [...(cs ?? [])];
      for (const c of add) if (!next.includes(c)) next.push(c);
      o.communities = next;
    }
    if (addLarge) {
      const ls = [...(a.largeCommunities ?? [])];
      for (const l of addLarge) {
        if (!ls.some((x) => x[0] === l[0] && x[1] === l[1] && x[2] === l[2])) ls.push(l);
      }
      o.largeCommunities = ls;
    }
    if (prepend && prepend.length > 0) o.asPath = prependAsPath(a.asPath, prepend);
    if (nh === "self") {
      const self = afi === Afi.IPV4 ? ctx.nextHopSelf?.ipv4 : ctx.nextHopSelf?.ipv6;
      if (self !== undefined) o.nextHop = self;
    } else if (nh !== undefined && addressFamily(nh) === afi) {
      o.nextHop = nh;
    }
    return patchAttrs(a, o);
  };
}

interface Term {
  readonly match: Matcher | undefined;
  readonly set: Setter | undefined;
  readonly action: "accept" | "reject" | "next";
}

/** One memoised step: the attributes after applying a term's set to a given input. */
interface CacheNode {
  readonly attrs: PathAttributes;
  next: Map<number, CacheNode> | undefined;
}

/**
 * Compiles a policy. Throws on unknown prefix lists and malformed communities/prefixes
 * (config validation should have caught them; a policy must never half-work).
 */
export function compilePolicy(
  policy: Policy,
  prefixLists: Readonly<Record<string, readonly PrefixListEntry[]>>,
  ctx: PolicyContext,
): CompiledPolicy {
  const listCache = new Map<string, PrefixMatcher>();
  const terms: Term[] = policy.terms.map((t) => ({
    match: compileMatch(t.match, prefixLists, listCache),
    set: compileSet(t.set, ctx),
    action: t.action,
  }));
  const acceptByDefault = policy.default === "accept";
  if (terms.length === 0) {
    if (!acceptByDefault) {
      return Object.assign((r: RouteView) => ({ accept: false, attrs: r.attrs }), { rejectsAll: true });
    }
    return Object.assign((r: RouteView) => ({ accept: true, attrs: r.attrs }), { acceptsAllUnchanged: true });
  }
  const cache = new WeakMap<PathAttributes, Map<number, CacheNode>>();
  return (route) => {
    const input = route.attrs;
    const afi = route.prefix.afi;
    let attrs = input;
    let level: Map<number, CacheNode> | undefined;
    let node: CacheNode | undefined;
    for (let i = 0; i < terms.length; i++) {
      const t = terms[i]!;
      if (t.match && !t.match(route, attrs)) continue;
      if (t.set) {
        // Memoised per (input attrs, sequence of applied terms, family of "self").
        const k = i * 2 + (afi === Afi.IPV4 ? 0 : 1);
        if (node) {
          level = node.next ??= new Map();
        } else {
          level = cache.get(input);
          if (!level) {
            level = new Map();
            cache.set(input, level);
          }
        }
        let n = level.get(k);
        if (!n) {
          n = { attrs: t.set(attrs, afi), next: undefined };
          level.set(k, n);
        }
        node = n;
        attrs = n.attrs;
      }
      if (t.action === "accept") return { accept: true, attrs };
      if (t.action === "reject") return { accept: false, attrs };
    }
    return { accept: acceptByDefault, attrs };
  };
}

/** Looks a policy up by name: built-ins first, then the configured ones. Throws when unknown. */
export function resolvePolicy(name: string, policies: Readonly<Record<string, Policy>>): Policy {
  const p = BUILTIN_POLICIES[name] ?? policies[name];
  if (!p) throw new Error(`unknown policy "${name}"`);
  return p;
}
