/**
 * Sliced take-down of an Adj-RIB-In: clear(limit) and sweepStale(limit) over several calls give
 * the same Loc-RIB as one call, each prefix is reported once, and a new session's Adj-RIB-In
 * that supersedes a draining one replaces its routes instead of sitting next to them.
 */
import { describe, expect, it } from "vitest";
import { compilePolicy } from "../../../../src/bgp/policy/compile.ts";
import { AdjRibIn } from "../../../../src/bgp/rib/adj-rib-in.ts";
import { LocRib, type RibChange } from "../../../../src/bgp/rib/loc-rib.ts";
import { makePeerInfo, type PeerInfo } from "../../../../src/bgp/rib/path.ts";
import type { Nlri } from "../../../../src/bgp/wire/types.ts";
import { attrs, LOCAL_ASN, peer, seq, txt, v4 } from "./helpers.ts";

const acceptAll = compilePolicy(
  { terms: [], default: "accept" },
  {},
  { direction: "import", localAsn: LOCAL_ASN },
);

/** The i-th /26 from 10.0.0.0. */
function block(i: number): Nlri {
  const v = 0x0a000000 + i * 64;
  return { prefix: v4(`${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}/26`) };
}

function blocks(from: number, to: number): Nlri[] {
  const out: Nlri[] = [];
  for (let i = from; i < to; i++) out.push(block(i));
  return out;
}

/** A new session of the same configured peer: same id and address, a new PeerInfo object. */
function session(routerId: string): PeerInfo {
  return makePeerInfo({
    id: "192.0.2.1",
    address: "192.0.2.1",
    asn: 65001,
    routerId,
    ibgp: false,
    role: "office",
  });
}

function adjFor(loc: LocRib, p: PeerInfo): AdjRibIn {
  return new AdjRibIn(p, loc, { importPolicy: acceptAll, localAsn: LOCAL_ASN });
}

function announce(adj: AdjRibIn, nlri: Nlri[], asPath: number[] = [65001]): void {
  adj.applyUpdate({ withdrawn: [], attributes: attrs({ asPath: [seq(...asPath)] }), nlri }, 1);
}

/** prefix text → how many changes reported it. */
function countByPrefix(changes: readonly RibChange[], into = new Map<string, number>()): Map<string, number> {
  for (const c of changes) into.set(txt(c), (into.get(txt(c)) ?? 0) + 1);
  return into;
}

describe("AdjRibIn sliced drain", () => {
  it("clear(limit) withdraws at most `limit` per call, reports each prefix once, and other peers' paths take over", () => {
    const loc = new LocRib();
    const big = adjFor(loc, session("10.0.0.1"));
    const other = adjFor(loc, peer(2, { asn: 65002 }));
    announce(big, blocks(0, 10_000));
    announce(other, blocks(0, 100), [65002, 1, 2]); // longer AS_PATH: big's paths are best
    loc.flush();

    const seen = new Map<string, number>();
    const calls: boolean[] = [];
    for (let i = 0; i < 10 && calls.at(-1) !== true; i++) {
      calls.push(big.clear(4096));
      const ch = loc.flush();
      // Each slice reports exactly the routes it withdrew.
      expect(ch.length).toBe(i < 2 ? 4096 : 10_000 - 2 * 4096);
      countByPrefix(ch, seen);
    }
    expect(calls).toEqual([false, false, true]);
    expect(big.isEmpty).toBe(true);
    expect(seen.size).toBe(10_000);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    expect(loc.size).toBe(100);
    for (const e of loc.selected()) expect(e.best!.peer).toBe(other.peer);
  });

  it("a superseding session replaces the draining session's routes; the drain never removes the new ones", () => {
    const loc = new LocRib();
    const oldAdj = adjFor(loc, session("10.0.0.1"));
    announce(oldAdj, blocks(0, 10_000));
    loc.flush();
    // The session drops: the first slice goes, then a new session comes up before the rest.
    expect(oldAdj.clear(3000)).toBe(false);
    const newAdj = adjFor(loc, session("10.0.0.1"));
    newAdj.supersede(oldAdj);
    // The new session re-announces blocks 2000..4999 (some already drained, some not yet) with
    // another AS_PATH, and withdraws 6000 (still held by the old session).
    announce(newAdj, blocks(2000, 5000), [65001, 7]);
    newAdj.withdraw(block(6000));
    const ch = loc.flush();
    // Never two candidates of this peer for one prefix.
    for (let i = 0; i < 10_000; i += 97) {
      const e = loc.get(block(i).prefix);
      expect(e?.paths.length ?? 0).toBeLessThanOrEqual(1);
    }
    // One change per prefix: old best → new best (or gone) in a single step.
    expect([...countByPrefix(ch).values()].every((n) => n === 1)).toBe(true);
    expect(loc.get(block(6000).prefix)).toBeUndefined();
    expect(loc.get(block(4000).prefix)!.best!.peer).toBe(newAdj.peer);

    while (!oldAdj.clear(1000)) loc.flush();
    loc.flush();
    expect(loc.size).toBe(3000);
    for (const e of loc.selected()) {
      expect(e.best!.peer).toBe(newAdj.peer);
      expect(e.best!.attrs.asPath).toEqual([seq(65001, 7)]);
    }
    expect(newAdj.prefixesAccepted).toBe(3000);
  });

  it("chains: a third session supersedes the second while the first is still draining", () => {
    const loc = new LocRib();
    const a1 = adjFor(loc, session("10.0.0.1"));
    announce(a1, blocks(0, 100));
    a1.clear(10);
    const a2 = adjFor(loc, session("10.0.0.1"));
    a2.supersede(a1);
    announce(a2, blocks(50, 150));
    a2.clear(5);
    const a3 = adjFor(loc, session("10.0.0.1"));
    a3.supersede(a2);
    announce(a3, blocks(0, 200));
    loc.flush();
    for (let i = 0; i < 200; i++) {
      const e = loc.get(block(i).prefix)!;
      expect(e.paths).toHaveLength(1);
      expect(e.best!.peer).toBe(a3.peer);
    }
    expect(a1.isEmpty && a2.isEmpty).toBe(true);
  });

  it("sweepStale(limit): slices delete only routes still stale when reached; markStale stops a running sweep", () => {
    const loc = new LocRib();
    const adj = adjFor(loc, session("10.0.0.1"));
    announce(adj, blocks(0, 1000));
    loc.flush();
    adj.markStale();
    expect(loc.flush()).toEqual([]);
    announce(adj, blocks(0, 100)); // re-announced before End-of-RIB
    let removed = adj.sweepStale(300);
    expect(adj.sweeping).toBe(true);
    announce(adj, blocks(900, 950)); // re-announced during the sweep, ahead of its position
    announce(adj, blocks(5000, 5010)); // new prefixes during the sweep
    while (adj.sweeping) removed += adj.sweepStale(300);
    expect(removed).toBe(1000 - 100 - 50);
    const ch = loc.flush();
    expect(ch.filter((c) => c.best === undefined)).toHaveLength(850);
    expect(adj.prefixesAccepted).toBe(160);

    // A new graceful restart during a sweep cancels it: nothing more is deleted until the next one.
    adj.markStale();
    adj.sweepStale(50);
    expect(adj.sweeping).toBe(true);
    adj.markStale();
    expect(adj.sweeping).toBe(false);
    expect(adj.prefixesAccepted).toBe(110);
  });

  it("markStale(limit): marks in slices without Loc-RIB changes; an UPDATE first finishes the marking, so new routes are never stale", () => {
    const loc = new LocRib();
    const adj = adjFor(loc, session("10.0.0.1"));
    announce(adj, blocks(0, 1000));
    loc.flush();
    expect(adj.markStale(300)).toBe(false);
    expect(adj.marking).toBe(true);
    expect(adj.continueMarking(300)).toBe(false);
    expect(loc.flush()).toEqual([]);
    // The peer is back and re-announces block 900 (not marked yet) before the marking is done.
    announce(adj, [block(900)]);
    expect(adj.marking).toBe(false);
    // Only the re-announced route changes (a new attribute object); marking reported nothing.
    expect(loc.flush().map(txt)).toEqual([txt(block(900))]);
    expect(adj.sweepStale()).toBe(999);
    expect(loc.flush().filter((c) => c.best === undefined)).toHaveLength(999);
    expect(adj.get(block(900).prefix)!.stale).toBe(false);
  });
});
