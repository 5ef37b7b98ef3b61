/**
 * Model-based property test: random updates, withdrawals, stale marking and sweeps across a
 * few prefixes and peers. A consumer that only applies flush() changes must always hold
 * exactly what bestPath() says over the candidates a plain model tracks.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bestPath } from "../../../../src/bgp/rib/decision.ts";
import { LocRib } from "../../../../src/bgp/rib/loc-rib.ts";
import { type Path, samePath } from "../../../../src/bgp/rib/path.ts";
import { path, peer, txt } from "./helpers.ts";

const PEERS = [peer(1), peer(2), peer(3, { asn: 65003 })];
const PREFIXES = ["10.1.0.0/26", "10.1.0.64/26", "10.2.0.0/24"];
const ATTRS = [{}, { localPref: 200 }, { med: 5 }];

type Op =
  | { k: "update"; peer: number; prefix: number; attrs: number }
  | { k: "withdraw"; peer: number; prefix: number }
  | { k: "withdrawPeer"; peer: number }
  | { k: "markStale"; peer: number }
  | { k: "sweepStale"; peer: number }
  | { k: "flush" };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      k: fc.constant("update" as const),
      peer: fc.nat(2),
      prefix: fc.nat(2),
      attrs: fc.nat(2),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ k: fc.constant("withdraw" as const), peer: fc.nat(2), prefix: fc.nat(2) }),
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("withdrawPeer" as const), peer: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("markStale" as const), peer: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("sweepStale" as const), peer: fc.nat(2) }) },
  { weight: 3, arbitrary: fc.constant({ k: "flush" as const }) },
);

/** One attribute object per variant, as an UPDATE would share them. */
const shared = ATTRS.map((a) => path(PEERS[0]!, a).attrs);

describe("LocRib against a model", () => {
  it("consumers driven by flush() changes always match bestPath over the candidates", () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => {
        const loc = new LocRib();
        const model = new Map<string, Path>(); // `${prefix}|${peer}` -> path
        const consumer = new Map<string, Path>(); // prefix -> best, from changes only
        const check = () => {
          const seen = new Set<string>();
          for (const c of loc.flush()) {
            const t = txt(c);
            expect(seen.has(t), `prefix ${t} reported twice in one flush`).toBe(false);
            seen.add(t);
            expect(samePath(c.previous, consumer.get(t))).toBe(true);
            if (c.best) consumer.set(t, c.best);
            else consumer.delete(t);
          }
          for (const pfx of PREFIXES) {
            const cands = [...model.entries()].filter(([k]) => k.startsWith(`${pfx}|`)).map(([, p]) => p);
            const want = bestPath(cands).best;
            expect(samePath(consumer.get(pfx), want), `best for ${pfx}`).toBe(true);
          }
        };
        for (const op of ops) {
          switch (op.k) {
            case "update": {
              const pr = PEERS[op.peer]!;
              const p = path(pr, {}, PREFIXES[op.prefix]!).withAttrs(shared[op.attrs]!);
              loc.update(p);
              model.set(`${PREFIXES[op.prefix]}|${pr.id}`, p);
              break;
            }
            case "withdraw": {
              const pr = PEERS[op.peer]!;
              loc.withdraw(pr, path(pr, {}, PREFIXES[op.prefix]!).prefix);
              model.delete(`${PREFIXES[op.prefix]}|${pr.id}`);
              break;
            }
            case "withdrawPeer":
              loc.withdrawPeer(PEERS[op.peer]!);
              for (const k of [...model.keys()]) if (k.endsWith(`|${PEERS[op.peer]!.id}`)) model.delete(k);
              break;
            case "markStale":
              loc.markStale(PEERS[op.peer]!);
              for (const [k, p] of model) if (p.peer === PEERS[op.peer]) model.set(k, p.withStale(true));
              break;
            case "sweepStale":
              loc.sweepStale(PEERS[op.peer]!);
              for (const [k, p] of [...model]) if (p.peer === PEERS[op.peer] && p.stale) model.delete(k);
              break;
            case "flush":
              check();
              break;
          }
          // Between flushes, the views show the state last reported, never pending changes.
          const sel = new Map([...loc.selected()].map((e) => [txt(e), e.best]));
          expect(sel.size).toBe(consumer.size);
          for (const [t, b] of consumer) {
            expect(samePath(sel.get(t), b)).toBe(true);
            expect(samePath(loc.get(b.prefix)?.best, b)).toBe(true);
          }
        }
        check();
        expect(loc.pathCount).toBe(model.size);
      }),
      { numRuns: 1000 },
    );
  });
});
