/**
 * RouteTable against a plain Map model: random sets, deletes, clears over keys that collide
 * (a small integer range), integers above 2^31 and strings (the Map beside the table), and a
 * cursor walking while the table changes (the guarantees the sliced RIB walks rely on).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { RouteKey } from "../../../../src/bgp/rib/prefix-util.ts";
import { RouteTable } from "../../../../src/bgp/rib/route-table.ts";

/** Keys other than the pool's: integers above 2^31 and strings live in the Map beside the table. */
const EXTRA: RouteKey[] = [
  2 ** 31,
  2 ** 32 + 5,
  2 ** 33 - 1,
  "2001:db8::/32",
  "10.0.0.0/26#1",
  "::/0",
  1,
  2,
  3,
];

type Op =
  | { t: "set"; k: number; v: number }
  | { t: "del"; k: number }
  | { t: "clear" }
  | { t: "step"; n: number };

/** `k` indexes the pool followed by EXTRA (modulo its length). */
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ t: fc.constant("set" as const), k: fc.nat(), v: fc.nat() }) },
  { weight: 6, arbitrary: fc.record({ t: fc.constant("del" as const), k: fc.nat() }) },
  { weight: 1, arbitrary: fc.constant({ t: "clear" as const }) },
  {
    weight: 3,
    arbitrary: fc.record({ t: fc.constant("step" as const), n: fc.integer({ min: 1, max: 40 }) }),
  },
);

/**
 * A pool of random integer keys, all inserted first (growth; random slots make the probe chains
 * that deletions must not break), then random ops over the pool and EXTRA. Half the time the
 * pool is consecutive /26 keys instead (the ingest's shape).
 */
const ops = fc.tuple(
  fc.oneof(
    fc.uniqueArray(fc.integer({ min: 1, max: 2 ** 31 - 1 }), { minLength: 1, maxLength: 500 }),
    fc.integer({ min: 1, max: 500 }).map((n) => Array.from({ length: n }, (_, i) => 2 ** 26 + i)),
  ),
  fc.array(op, { maxLength: 400 }),
);

function keyOf(pool: readonly number[], i: number): RouteKey {
  const all = pool.length + EXTRA.length;
  const j = i % all;
  return j < pool.length ? pool[j]! : EXTRA[j - pool.length]!;
}

describe("RouteTable", () => {
  it("behaves like a Map (get, has, size, delete results, entries as a set)", () => {
    fc.assert(
      fc.property(ops, ([pool, list]) => {
        const t = new RouteTable<number>();
        const m = new Map<RouteKey, number>();
        for (let i = 0; i < pool.length; i++) {
          t.set(pool[i]!, i);
          m.set(pool[i]!, i);
        }
        for (const o of list) {
          if (o.t === "set") {
            const k = keyOf(pool, o.k);
            t.set(k, o.v);
            m.set(k, o.v);
          } else if (o.t === "del") {
            const k = keyOf(pool, o.k);
            expect(t.delete(k)).toBe(m.delete(k));
          } else if (o.t === "clear") {
            t.clear();
            m.clear();
          }
          if (o.t !== "step" && o.t !== "clear") {
            const k = keyOf(pool, o.k);
            expect(t.get(k)).toBe(m.get(k));
            expect(t.has(k)).toBe(m.has(k));
          }
          expect(t.size).toBe(m.size);
        }
        // Every key the model holds is still found (no probe chain broken by a deletion).
        for (const [k, v] of m) expect(t.get(k)).toBe(v);
        const got = new Map(t.entries());
        expect(got.size).toBe(m.size);
        expect(got).toEqual(m);
        expect([...t.values()].sort()).toEqual([...m.values()].sort());
      }),
      { numRuns: 300 },
    );
  });

  it("a cursor sees every entry present at its start and not deleted, only live values, and no repeat unless the table grew", () => {
    fc.assert(
      fc.property(ops, ([pool, list]) => {
        const t = new RouteTable<number>();
        const m = new Map<RouteKey, number>();
        for (let i = 0; i < pool.length; i++) {
          t.set(pool[i]!, i);
          m.set(pool[i]!, i);
        }
        const atStart = new Set(m.keys());
        const deleted = new Set<RouteKey>();
        const seen: RouteKey[] = [];
        let inserted = false;
        let cleared = false;
        const c = t.cursor();
        let done = false;
        const step = (n: number): void => {
          for (let i = 0; i < n && !done; i++) {
            if (!c.next()) {
              done = true;
              break;
            }
            // Only live entries, with their current value.
            expect(m.get(c.key)).toBe(c.value);
            seen.push(c.key);
          }
        };
        for (const o of list) {
          if (o.t === "set") {
            const k = keyOf(pool, o.k);
            if (!m.has(k)) inserted = true;
            t.set(k, o.v);
            m.set(k, o.v);
          } else if (o.t === "del") {
            const k = keyOf(pool, o.k);
            if (m.delete(k)) deleted.add(k);
            t.delete(k);
          } else if (o.t === "clear") {
            for (const k of m.keys()) deleted.add(k);
            t.clear();
            m.clear();
            cleared = true;
          } else {
            step(o.n);
          }
        }
        step(Number.POSITIVE_INFINITY);
        expect(c.next()).toBe(false);
        const seenSet = new Set(seen);
        for (const k of atStart) if (!deleted.has(k)) expect(seenSet.has(k)).toBe(true);
        if (!inserted && !cleared) expect(seen.length).toBe(seenSet.size);
      }),
      { numRuns: 300 },
    );
  });

  it("keeps 100k consecutive /26 keys and drops them again (growth, tombstones, reuse)", () => {
    const t = new RouteTable<number>();
    const n = 100_000;
    for (let i = 0; i < n; i++) t.set(2 ** 26 + i, i);
    expect(t.size).toBe(n);
    for (let i = 0; i < n; i += 2) expect(t.delete(2 ** 26 + i)).toBe(true);
    expect(t.size).toBe(n / 2);
    let bad = 0;
    for (let i = 0; i < n; i++) if (t.get(2 ** 26 + i) !== (i % 2 === 0 ? undefined : i)) bad++;
    expect(bad).toBe(0);
    for (let i = 0; i < n; i += 2) t.set(2 ** 26 + i, -i);
    expect(t.size).toBe(n);
    let count = 0;
    let wrong = 0;
    for (const [k, v] of t) {
      const i = (k as number) - 2 ** 26;
      if (v !== (i % 2 === 0 ? -i : i)) wrong++;
      count++;
    }
    expect(wrong).toBe(0);
    expect(count).toBe(n);
  });
});
