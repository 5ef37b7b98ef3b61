/**
 * Path and PathSource: a route is a key plus a source shared by the routes of its UPDATE;
 * every Path of any shape answers the same fields as the 8-field Path it replaced, and the
 * with*() copies change only the field asked for.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createPath, makePath, type Path, PathSource, samePath } from "../../../../src/bgp/rib/path.ts";
import { ipv4PrefixOfKey, prefixKey } from "../../../../src/bgp/rib/prefix-util.ts";
import { attrs, peer, v4, v6 } from "./helpers.ts";

const A = attrs({ localPref: 100 });
const B = attrs({ localPref: 200 });

/** What an 8-field Path used to hold. */
function fields(p: Path) {
  return {
    key: p.key,
    prefix: p.prefix,
    pathId: p.pathId,
    peer: p.peer,
    attrs: p.attrs,
    sourceAttrs: p.sourceAttrs,
    learnedAt: p.learnedAt,
    stale: p.stale,
    nextHop: p.nextHop,
  };
}

describe("Path", () => {
  it("makePath keeps every field it was given, with or without path id and stored prefix", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 26 - 1 }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.boolean(),
        fc.boolean(),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        (block, pathId, store, stale, learnedAt) => {
          const addr = block * 64;
          const text = `${addr >>> 24}.${(addr >>> 16) & 255}.${(addr >>> 8) & 255}.${addr & 255}/26`;
          const prefix = v4(text);
          const key = prefixKey(prefix);
          const src = new PathSource(peer(1), A, B, learnedAt, stale);
          const p = makePath(key, src, pathId, store ? prefix : undefined);
          expect(fields(p)).toEqual({
            key,
            prefix: store ? prefix : ipv4PrefixOfKey(key as number),
            pathId,
            peer: peer(1),
            attrs: A,
            sourceAttrs: B,
            learnedAt,
            stale,
            nextHop: A.nextHop ?? "",
          });
          expect(p.prefix).toEqual(prefix);
          expect(p.storedPrefix).toBe(store ? prefix : undefined);
        },
      ),
    );
  });

  it("routes of one UPDATE share their source; withStale shares one twin and flips back to the original", () => {
    const src = new PathSource(peer(1), A, A, 7, false);
    const p = makePath(prefixKey(v4("10.0.0.0/26")), src, 0, undefined);
    const q = makePath(prefixKey(v4("10.0.0.64/26")), src, 0, undefined);
    const ps = p.withStale(true);
    const qs = q.withStale(true);
    expect(ps).not.toBe(p);
    expect(ps.stale).toBe(true);
    expect(p.stale).toBe(false);
    expect(ps.src).toBe(qs.src);
    expect(ps.withStale(false).src).toBe(src);
    expect(ps.withStale(true)).toBe(ps);
    expect(fields(ps)).toEqual({ ...fields(p), stale: true });
    expect(samePath(p, ps)).toBe(true);
  });

  it("withAttrs replaces the post-policy attributes only, keeping path id and stored prefix", () => {
    const prefix = v6("2001:db8::/64");
    const p = createPath({ prefix, peer: peer(2), attrs: A, pathId: 9, learnedAt: 3 });
    const r = p.withAttrs(B);
    expect(fields(r)).toEqual({ ...fields(p), attrs: B, nextHop: B.nextHop ?? "" });
    expect(r.storedPrefix).toBe(prefix);
    expect(r.sourceAttrs).toBe(A);
    expect(p.withAttrs(A)).toBe(p);
    expect(samePath(p, r)).toBe(false);
  });
});
