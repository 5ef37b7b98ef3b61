/**
 * Model-based property test: a peer that applies every takeBatch() (announce = replace,
 * withdraw = delete) must end up holding exactly exportRoute(best) for every Loc-RIB prefix,
 * whatever mix of changes, refreshes and session resets came before.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compilePolicy } from "../../../../src/bgp/policy/compile.ts";
import { AdjRibOut } from "../../../../src/bgp/rib/adj-rib-out.ts";
import { LocRib } from "../../../../src/bgp/rib/loc-rib.ts";
import type { PathAttributes } from "../../../../src/bgp/wire/types.ts";
import { LOCAL_ASN, path, peer, txt } from "./helpers.ts";

const PEERS = [peer(1), peer(2), peer(3, { asn: 65003 })];
const TARGET = peer(9, { asn: 65009 });
const PREFIXES = ["10.1.0.0/26", "10.1.0.64/26", "10.2.0.0/24", "10.3.0.0/24"];
const VARIANTS = [{}, { localPref: 200 }, { communities: [0xffffff01] }, { med: 4 }];
const shared = VARIANTS.map((a) => path(PEERS[0]!, a).attrs);
/** Exports everything except 10.3.0.0/24. */
const policy = compilePolicy(
  {
    terms: [{ match: { prefixes: [{ prefix: "10.3.0.0/24", action: "permit" }] }, action: "reject" }],
    default: "accept",
  },
  {},
  { direction: "export", localAsn: LOCAL_ASN },
);

type Op =
  | { k: "update"; peer: number; prefix: number; v: number }
  | { k: "withdraw"; peer: number; prefix: number }
  | { k: "flush" }
  | { k: "take" }
  | { k: "refresh"; full: boolean }
  | { k: "reset" };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      k: fc.constant("update" as const),
      peer: fc.nat(2),
      prefix: fc.nat(3),
      v: fc.nat(3),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ k: fc.constant("withdraw" as const), peer: fc.nat(2), prefix: fc.nat(3) }),
  },
  { weight: 3, arbitrary: fc.constant({ k: "flush" as const }) },
  { weight: 2, arbitrary: fc.constant({ k: "take" as const }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("refresh" as const), full: fc.boolean() }) },
  { weight: 1, arbitrary: fc.constant({ k: "reset" as const }) },
);

describe("AdjRibOut against a model peer", () => {
  it("the peer's table converges to exportRoute(best) for every prefix", () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 50 }), (ops) => {
        const loc = new LocRib();
        const out = new AdjRibOut(TARGET, {
          localAsn: LOCAL_ASN,
          nextHopSelf: { ipv4: "192.0.2.100" },
          exportPolicy: policy,
        });
        let held = new Map<string, PathAttributes>();
        const take = () => {
          const b = out.takeBatch();
          for (const n of b.withdraw) held.delete(txt(n));
          for (const [a, list] of b.announce) for (const n of list) held.set(txt(n), a);
        };
        for (const op of ops) {
          switch (op.k) {
            case "update":
              loc.update(path(PEERS[op.peer]!, {}, PREFIXES[op.prefix]!).withAttrs(shared[op.v]!));
              break;
            case "withdraw":
              loc.withdraw(PEERS[op.peer]!, path(PEERS[0]!, {}, PREFIXES[op.prefix]!).prefix);
              break;
            case "flush":
              out.apply(loc.flush());
              break;
            case "take":
              take();
              break;
            case "refresh":
              out.refresh(loc, op.full);
              break;
            case "reset":
              // Session dropped and came back: the peer forgets everything; initial dump.
              out.reset();
              held = new Map();
              out.refresh(loc, true);
              break;
          }
        }
        out.apply(loc.flush());
        take();
        for (const pfx of PREFIXES) {
          const e = loc.get(path(PEERS[0]!, {}, pfx).prefix);
          const want = e?.best ? out.exportRoute(e.best) : undefined;
          expect(held.get(pfx), pfx).toEqual(want);
        }
        expect(out.prefixesAdvertised).toBe(held.size);
      }),
      { numRuns: 1000 },
    );
  });
});
