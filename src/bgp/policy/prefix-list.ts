/**
 * Prefix lists (Cisco/FRR semantics) compiled into a binary trie per address family.
 * An entry "P/n ge G le L" matches a prefix inside P/n whose length is in [G, L]:
 * no ge/le: exactly n; only le: n..L; only ge: G..max (32/128); both: G..L.
 * Entries are evaluated in order, the first match decides (permit/deny), no match = deny.
 * Lookup walks the route's bits once (≤ 32 / 128 trie nodes) and keeps the lowest entry
 * index that matches, so a 10k-entry list costs about what a 10-entry list does.
 */
import type { PrefixListEntry } from "../../config/types.ts";
import { bitAt, maxLen, parsePrefixText, prefixWords } from "../rib/prefix-util.ts";
import { Afi, type AfiCode } from "../wire/constants.ts";
import type { Prefix } from "../wire/types.ts";

interface Rule {
  readonly index: number;
  readonly ge: number;
  readonly le: number;
  readonly permit: boolean;
}

class Node {
  zero: Node | undefined = undefined;
  one: Node | undefined = undefined;
  rules: Rule[] | undefined = undefined;
}

export interface PrefixMatcher {
  /** "permit" / "deny" from the first matching entry, or undefined when no entry matches. */
  lookup(prefix: Prefix): "permit" | "deny" | undefined;
  /** First match permits (implicit deny when nothing matches). */
  permits(prefix: Prefix): boolean;
}

/** Compiles entries; throws TypeError/RangeError on malformed prefixes or ge/le out of range. */
export function compilePrefixList(entries: readonly PrefixListEntry[]): PrefixMatcher {
  const roots: Record<AfiCode, Node> = { [Afi.IPV4]: new Node(), [Afi.IPV6]: new Node() } as Record<
    AfiCode,
    Node
  >;
  entries.forEach((e, index) => {
    const p = parsePrefixText(e.prefix);
    if (!p) throw new TypeError(`invalid prefix "${e.prefix}" in prefix list`);
    const max = maxLen(p.afi);
    let ge = p.len;
    let le = p.len;
    if (e.ge !== undefined || e.le !== undefined) {
      ge = e.ge ?? p.len;
      le = e.le ?? max;
    }
    if (!(p.len <= ge && ge <= le && le <= max)) {
      throw new RangeError(
        `prefix list entry "${e.prefix}": need ${p.len} <= ge (${ge}) <= le (${le}) <= ${max}`,
      );
    }
    let n = roots[p.afi];
    for (let i = 0; i < p.len; i++) {
      if (bitAt(p.words, i)) {
        n.one ??= new Node();
        n = n.one;
      } else {
        n.zero ??= new Node();
        n = n.zero;
      }
    }
    n.rules ??= [];
    n.rules.push({ index, ge, le, permit: e.action === "permit" });
  });

  const lookup = (prefix: Prefix): "permit" | "deny" | undefined => {
    const words = prefixWords(prefix);
    if (!words) return undefined;
    let n: Node | undefined = roots[prefix.afi];
    let best: Rule | undefined;
    const len = prefix.len;
    for (let depth = 0; n; depth++) {
      if (n.rules) {
        for (const r of n.rules) {
          if (len >= r.ge && len <= r.le && (!best || r.index < best.index)) best = r;
        }
      }
      if (depth >= len) break;
      n = bitAt(words, depth) ? n.one : n.zero;
    }
    return best ? (best.permit ? "permit" : "deny") : undefined;
  };
  return { lookup, permits: (p) => lookup(p) === "permit" };
}
