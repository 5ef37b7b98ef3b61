import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compilePrefixList } from "../../../../src/bgp/policy/prefix-list.ts";
import { Afi } from "../../../../src/bgp/wire/constants.ts";
import type { Prefix } from "../../../../src/bgp/wire/types.ts";
import type { PrefixListEntry } from "../../../../src/config/types.ts";

function p(text: string): Prefix {
  const i = text.lastIndexOf("/");
  const addr = text.slice(0, i);
  return { afi: addr.includes(":") ? Afi.IPV6 : Afi.IPV4, addr, len: Number(text.slice(i + 1)) };
}
const permit = (prefix: string, o: { ge?: number; le?: number } = {}): PrefixListEntry => ({
  prefix,
  action: "permit",
  ...o,
});
const deny = (prefix: string, o: { ge?: number; le?: number } = {}): PrefixListEntry => ({
  prefix,
  action: "deny",
  ...o,
});

describe("prefix lists (Cisco/FRR ge/le semantics)", () => {
  const table: [string, PrefixListEntry[], string, boolean][] = [
    ["exact without ge/le", [permit("10.0.0.0/8")], "10.0.0.0/8", true],
    ["exact: longer does not match", [permit("10.0.0.0/8")], "10.1.0.0/16", false],
    ["ge 16 le 24: /16 inside", [permit("10.0.0.0/8", { ge: 16, le: 24 })], "10.1.0.0/16", true],
    ["ge 16 le 24: /24 inside", [permit("10.0.0.0/8", { ge: 16, le: 24 })], "10.1.2.0/24", true],
    ["ge 16 le 24: /25 too long", [permit("10.0.0.0/8", { ge: 16, le: 24 })], "10.1.2.0/25", false],
    ["ge 16 le 24: /8 itself too short", [permit("10.0.0.0/8", { ge: 16, le: 24 })], "10.0.0.0/8", false],
    ["ge 16 le 24: outside", [permit("10.0.0.0/8", { ge: 16, le: 24 })], "11.1.0.0/16", false],
    ["only le: own length up to le", [permit("10.0.0.0/8", { le: 16 })], "10.0.0.0/8", true],
    ["only le: /17 too long", [permit("10.0.0.0/8", { le: 16 })], "10.1.0.0/17", false],
    ["only ge: up to /32", [permit("10.0.0.0/8", { ge: 24 })], "10.1.2.3/32", true],
    ["only ge: /23 too short", [permit("10.0.0.0/8", { ge: 24 })], "10.1.2.0/23", false],
    ["0.0.0.0/0 exact is only the default route", [permit("0.0.0.0/0")], "0.0.0.0/0", true],
    ["0.0.0.0/0 exact: not 10/8", [permit("0.0.0.0/0")], "10.0.0.0/8", false],
    ["0.0.0.0/0 le 32 matches anything IPv4", [permit("0.0.0.0/0", { le: 32 })], "203.0.113.7/32", true],
    ["0.0.0.0/0 le 32 does not match IPv6", [permit("0.0.0.0/0", { le: 32 })], "2001:db8::/32", false],
    ["/32 host exact", [permit("10.244.1.5/32")], "10.244.1.5/32", true],
    ["/32 host: neighbour", [permit("10.244.1.5/32")], "10.244.1.4/32", false],
    ["::/0 le 128 matches any IPv6", [permit("::/0", { le: 128 })], "2001:db8::1/128", true],
    ["IPv6 /128 exact", [permit("2001:db8::1/128")], "2001:db8::1/128", true],
    ["IPv6 /128: other host", [permit("2001:db8::1/128")], "2001:db8::2/128", false],
    ["IPv6 ge 48 le 64", [permit("2001:db8::/32", { ge: 48, le: 64 })], "2001:db8:1:2::/64", true],
    ["IPv6 ge 48 le 64: /65", [permit("2001:db8::/32", { ge: 48, le: 64 })], "2001:db8:1:2::/65", false],
    [
      "IPv6 low bits compared (last word)",
      [permit("2001:db8::ff00/120", { le: 128 })],
      "2001:db8::ff80/128",
      true,
    ],
    [
      "first match wins: deny before permit",
      [deny("10.1.0.0/16", { le: 32 }), permit("10.0.0.0/8", { le: 32 })],
      "10.1.1.0/24",
      false,
    ],
    [
      "first match wins: permit before deny",
      [permit("10.0.0.0/8", { le: 32 }), deny("10.1.0.0/16", { le: 32 })],
      "10.1.1.0/24",
      true,
    ],
    [
      "deny entry not matching → next entry",
      [deny("10.1.0.0/16"), permit("10.0.0.0/8", { le: 32 })],
      "10.1.1.0/24",
      true,
    ],
    ["implicit deny at the end", [permit("192.168.0.0/16", { le: 32 })], "10.0.0.0/8", false],
    ["empty list denies", [], "10.0.0.0/8", false],
  ];
  for (const [name, entries, prefix, want] of table) {
    it(name, () => expect(compilePrefixList(entries).permits(p(prefix))).toBe(want));
  }

  it("refuses ge/le outside len <= ge <= le <= max, and malformed prefixes", () => {
    expect(() => compilePrefixList([permit("10.0.0.0/16", { ge: 8 })])).toThrow(RangeError);
    expect(() => compilePrefixList([permit("10.0.0.0/8", { le: 33 })])).toThrow(RangeError);
    expect(() => compilePrefixList([permit("10.0.0.0/8", { ge: 24, le: 16 })])).toThrow(RangeError);
    expect(() => compilePrefixList([permit("10.0.0.300/8")])).toThrow(TypeError);
  });

  /** The obvious definition, for the property test. */
  function reference(entries: PrefixListEntry[], x: { v: number; len: number }): boolean {
    for (const e of entries) {
      const [a, l] = e.prefix.split("/");
      const oct = a!.split(".").map(Number);
      const ev = ((oct[0]! << 24) | (oct[1]! << 16) | (oct[2]! << 8) | oct[3]!) >>> 0;
      const el = Number(l);
      const ge = e.ge ?? (e.le !== undefined ? el : el);
      const le = e.le ?? (e.ge !== undefined ? 32 : el);
      const mask = el === 0 ? 0 : (0xffffffff << (32 - el)) >>> 0;
      if (x.len >= el && (x.v & mask) >>> 0 === ev && x.len >= ge && x.len <= le)
        return e.action === "permit";
    }
    return false;
  }
  const fmt = (v: number, len: number): string => {
    const m = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
    const w = (v & m) >>> 0;
    return `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}/${len}`;
  };
  // Addresses from a small space so that entries and routes overlap often.
  const addr = fc.integer({ min: 0, max: 15 }).map((x) => ((x << 28) >>> 0) | ((x & 3) << 20));
  const entryArb = fc
    .record({
      v: addr,
      len: fc.integer({ min: 0, max: 12 }),
      ge: fc.option(fc.integer({ min: 0, max: 32 })),
      le: fc.option(fc.integer({ min: 0, max: 32 })),
      permit: fc.boolean(),
    })
    .filter((r) => {
      const ge = r.ge ?? r.len;
      const le = r.le ?? (r.ge !== null ? 32 : r.len);
      return r.len <= ge && ge <= le;
    })
    .map(
      (r): PrefixListEntry => ({
        prefix: fmt(r.v, r.len),
        action: r.permit ? "permit" : "deny",
        ...(r.ge !== null ? { ge: r.ge } : {}),
        ...(r.le !== null ? { le: r.le } : {}),
      }),
    );

  it("trie lookup equals a linear first-match scan (property)", () => {
    fc.assert(
      fc.property(
        fc.array(entryArb, { maxLength: 12 }),
        fc.array(fc.record({ v: addr, len: fc.integer({ min: 0, max: 32 }) }), {
          minLength: 1,
          maxLength: 20,
        }),
        (entries, routes) => {
          const list = compilePrefixList(entries);
          for (const r of routes) {
            const text = fmt(r.v, r.len);
            const masked = r.len === 0 ? 0 : (r.v & ((0xffffffff << (32 - r.len)) >>> 0)) >>> 0;
            expect(list.permits(p(text))).toBe(reference(entries, { v: masked, len: r.len }));
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  it("a 10k-entry list stays fast (lookups walk at most 32 trie levels)", () => {
    const entries: PrefixListEntry[] = [];
    for (let i = 0; i < 10_000; i++) {
      entries.push(permit(`10.${(i >> 8) & 255}.${i & 255}.0/24`, { le: 32 }));
    }
    const list = compilePrefixList(entries);
    const routes: Prefix[] = [];
    for (let i = 0; i < 20_000; i++) routes.push(p(`10.${(i >> 8) & 63}.${i & 255}.64/26`));
    const t0 = performance.now();
    let hits = 0;
    for (const r of routes) if (list.permits(r)) hits++;
    const ms = performance.now() - t0;
    // Entry i covers 10.(i>>8).(i&255).0/24: a route hits when its 2nd*256+3rd octet < 10000.
    const covered = routes.filter((r) => {
      const o = r.addr.split(".").map(Number);
      return o[1]! * 256 + o[2]! < 10_000;
    });
    expect(hits).toBe(covered.length);
    expect(hits).toBeGreaterThan(10_000);
    // A linear scan would be 20k × 10k = 2e8 comparisons (seconds); the trie takes milliseconds.
    expect(ms).toBeLessThan(1000);
  });
});
