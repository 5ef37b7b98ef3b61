/**
 * fast-check properties: encode/decode round trips for arbitrary valid messages, and random or
 * mutated byte streams through framer + decoder that may only ever fail with
 * BgpNotificationError (and always terminate).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  AS_TRANS,
  type AsPathSegment,
  type BgpMessage,
  BgpNotificationError,
  type CodecOptions,
  decodeMessage,
  encodeMessage,
  encodeUpdates,
  formatIpv4,
  formatIpv6,
  ipv4Mask,
  MessageFramer,
  type Nlri,
  type OpenMessage,
  type PathAttributes,
  type Prefix,
  type UpdateMessage,
} from "../../../../src/bgp/wire/index.ts";

/** FC_SCALE=20 runs every property 20 times longer (a soak, not for CI). */
const SCALE = Number(process.env["FC_SCALE"] ?? 1);
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const asn = fc
  .oneof(fc.integer({ min: 1, max: 65535 }), fc.integer({ min: 65536, max: 0xffffffff }))
  .filter((a) => a !== AS_TRANS);
const asn2 = fc.integer({ min: 1, max: 65535 }).filter((a) => a !== AS_TRANS);
const ipv4 = u32.map(formatIpv4);
const ipv6Bytes = fc.uint8Array({ minLength: 16, maxLength: 16 });
const ipv6 = ipv6Bytes.map((b) => formatIpv6(b));

const prefix4: fc.Arbitrary<Prefix> = fc
  .tuple(u32, fc.integer({ min: 0, max: 32 }))
  .map(([v, len]) => ({ afi: 1, addr: formatIpv4((v & ipv4Mask(len)) >>> 0), len }));
const prefix6: fc.Arbitrary<Prefix> = fc
  .tuple(ipv6Bytes, fc.integer({ min: 0, max: 128 }))
  .map(([b, len]) => {
    const m = Uint8Array.from(b);
    for (let i = 0; i < 16; i++) {
      const bits = len - i * 8;
      if (bits < 8) m[i] = bits <= 0 ? 0 : m[i]! & ((0xff << (8 - bits)) & 0xff);
    }
    return { afi: 2, addr: formatIpv6(m), len };
  });
const nlriOf = (p: fc.Arbitrary<Prefix>, addPath: boolean): fc.Arbitrary<Nlri> =>
  addPath
    ? fc.tuple(p, u32).map(([prefix, pathId]) => ({ prefix, pathId }))
    : p.map((prefix) => ({ prefix }));

/** AS paths as real speakers build them: confederation segments first, no two adjacent SEQUENCEs. */
const asPath: fc.Arbitrary<AsPathSegment[]> = fc
  .tuple(
    fc.option(
      // Confederation member ASNs stay 2-octet: RFC 6793 §4.2.2 keeps them out of AS4_PATH, so a
      // 4-octet one cannot survive a 2-octet session by design.
      fc.record({
        type: fc.constantFrom(3 as const, 4 as const),
        asns: fc.array(asn2, { minLength: 1, maxLength: 4 }),
      }),
      { nil: undefined },
    ),
    fc.array(
      fc.record({
        type: fc.constantFrom(1 as const, 2 as const),
        asns: fc.array(asn, { minLength: 1, maxLength: 6 }),
      }),
      { maxLength: 3 },
    ),
  )
  .map(([confed, segs]) => {
    const out: AsPathSegment[] = confed ? [confed] : [];
    for (const s of segs) {
      const last = out[out.length - 1];
      if (last && last.type === 2 && s.type === 2) continue;
      out.push(s);
    }
    return out;
  });

const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });

const attributes = (ap: boolean): fc.Arbitrary<PathAttributes> =>
  fc
    .record({
      origin: opt(fc.constantFrom(0 as const, 1 as const, 2 as const)),
      asPath: opt(asPath),
      nextHop: opt(ipv4),
      med: opt(u32),
      localPref: opt(u32),
      atomicAggregate: opt(fc.constant(true)),
      aggregator: opt(fc.record({ asn, address: ipv4 })),
      communities: opt(fc.array(u32, { minLength: 1, maxLength: 5 })),
      originatorId: opt(ipv4),
      clusterList: opt(fc.array(ipv4, { minLength: 1, maxLength: 3 })),
      extendedCommunities: opt(
        fc.array(
          fc.uint8Array({ minLength: 8, maxLength: 8 }).map((b) => Buffer.from(b)),
          { minLength: 1, maxLength: 3 },
        ),
      ),
      largeCommunities: opt(fc.array(fc.tuple(u32, u32, u32), { minLength: 1, maxLength: 3 })),
      mpReach: opt(
        fc.record({
          afi: fc.constant(2 as const),
          safi: fc.constant(1),
          nextHop: ipv6,
          linkLocalNextHop: opt(ipv6),
          nlri: fc.array(nlriOf(prefix6, ap), { maxLength: 8 }),
        }),
      ),
      mpUnreach: opt(
        fc.record({
          afi: fc.constant(2 as const),
          safi: fc.constant(1),
          withdrawn: fc.array(nlriOf(prefix6, ap), { maxLength: 8 }),
        }),
      ),
      unknown: opt(
        fc.uniqueArray(
          fc.record({
            code: fc.integer({ min: 100, max: 255 }),
            flags: fc.constant(0xe0),
            value: fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
          }),
          { minLength: 1, maxLength: 2, selector: (u) => u.code },
        ),
      ),
    })
    .map((a) => {
      // Drop absent keys (the decoder never creates undefined properties).
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(a)) {
        if (v === undefined) continue;
        if (k === "mpReach" && (v as { linkLocalNextHop?: string }).linkLocalNextHop === undefined) {
          const { linkLocalNextHop: _ll, ...rest } = v as { linkLocalNextHop?: string };
          out[k] = rest;
          continue;
        }
        out[k] = v;
      }
      return out as PathAttributes;
    });

const codecOpts = fc.record({ fourOctetAs: fc.boolean(), addPath: fc.boolean() });
const toCodec = (o: { fourOctetAs: boolean; addPath: boolean }): CodecOptions => {
  const fam = new Set(o.addPath ? ["1/1", "2/1"] : []);
  return { fourOctetAs: o.fourOctetAs, addPathReceive: fam, addPathSend: fam };
};

/** RFC 6793 §4.2.3: a 2-octet AGGREGATOR with a 4-octet path makes receivers ignore AS4_PATH; keep generators out of that corner. */
function fitSession(a: PathAttributes, o: CodecOptions): PathAttributes {
  if (o.fourOctetAs || !a.aggregator || a.aggregator.asn > 0xffff) return a;
  const big = (a.asPath ?? []).some((s) => s.asns.some((x) => x > 0xffff));
  if (!big) return a;
  const { aggregator: _a, ...rest } = a;
  return rest;
}

describe("property: round trips", () => {
  it("UPDATE encode -> decode is the identity", () => {
    fc.assert(
      fc.property(
        codecOpts.chain((o) =>
          fc.tuple(
            fc.constant(o),
            attributes(o.addPath),
            fc.array(nlriOf(prefix4, o.addPath), { maxLength: 20 }),
            fc.array(nlriOf(prefix4, o.addPath), { maxLength: 20 }),
          ),
        ),
        ([o, attrs, withdrawn, nlri]) => {
          const opts = toCodec(o);
          const m: UpdateMessage = { type: 2, withdrawn, attributes: fitSession(attrs, opts), nlri };
          let buf: Buffer;
          try {
            buf = encodeMessage(m, opts);
          } catch (e) {
            // Only the 4096-octet limit may refuse a generated message.
            expect(e).toBeInstanceOf(RangeError);
            return;
          }
          const back = decodeMessage(buf, opts) as UpdateMessage;
          const { treatAsWithdraw: _t, errors: _e, ...plain } = back;
          expect(plain).toEqual(m);
          expect(encodeMessage(back, opts)).toEqual(buf);
        },
      ),
      { numRuns: 400 * SCALE },
    );
  });

  it("encodeUpdates: every prefix comes back exactly once, in order, in <= 4096-octet messages", () => {
    fc.assert(
      fc.property(
        codecOpts.chain((o) =>
          fc.tuple(
            fc.constant(o),
            fc.array(nlriOf(fc.oneof(prefix4, prefix6), o.addPath), { maxLength: 3000 }),
            fc.array(nlriOf(fc.oneof(prefix4, prefix6), o.addPath), { maxLength: 3000 }),
          ),
        ),
        ([o, withdrawn, nlri]) => {
          const opts = toCodec(o);
          const attrs: PathAttributes = {
            origin: 0,
            asPath: [{ type: 2, asns: [70000] }],
            nextHop: "192.0.2.1",
            mpReach: { afi: 2, safi: 1, nextHop: "2001:db8::1", nlri: [] },
          };
          const msgs = encodeUpdates({ withdrawn, attributes: attrs, nlri }, opts);
          const gotW: Nlri[] = [];
          const gotN: Nlri[] = [];
          for (const b of msgs) {
            expect(b.length).toBeLessThanOrEqual(4096);
            const u = decodeMessage(b, opts) as UpdateMessage;
            expect(u.errors).toBeUndefined();
            gotW.push(...u.withdrawn, ...(u.attributes.mpUnreach?.withdrawn ?? []));
            gotN.push(...u.nlri, ...(u.attributes.mpReach?.nlri ?? []));
          }
          const order = (l: Nlri[]) => [
            ...l.filter((x) => x.prefix.afi === 1),
            ...l.filter((x) => x.prefix.afi === 2),
          ];
          expect(gotW).toEqual(order(withdrawn));
          expect(gotN).toEqual(order(nlri));
        },
      ),
      { numRuns: 60 * SCALE },
    );
  });

  it("OPEN encode -> decode is the identity", () => {
    const fam = fc.record({ afi: fc.constantFrom(1 as const, 2 as const), safi: fc.constantFrom(1, 2, 128) });
    const openArb: fc.Arbitrary<OpenMessage> = fc.record({
      type: fc.constant(1 as const),
      version: fc.constant(4),
      myAs: fc.integer({ min: 0, max: 65535 }),
      holdTime: fc.integer({ min: 0, max: 65535 }),
      bgpId: ipv4,
      capabilities: fc.record({
        multiprotocol: fc.uniqueArray(fam, { maxLength: 4, selector: (f) => `${f.afi}/${f.safi}` }),
        routeRefresh: fc.boolean(),
        enhancedRouteRefresh: fc.boolean(),
        fourOctetAs: asn,
        addPath: fc.array(
          fc.record({
            afi: fc.constantFrom(1 as const, 2 as const),
            safi: fc.constant(1),
            mode: fc.integer({ min: 1, max: 3 }),
          }),
          { maxLength: 3 },
        ),
        gracefulRestart: fc.record({
          restartState: fc.boolean(),
          restartTime: fc.integer({ min: 0, max: 4095 }),
          families: fc.array(
            fam.chain((f) =>
              fc.record({
                afi: fc.constant(f.afi),
                safi: fc.constant(f.safi),
                forwardingState: fc.boolean(),
              }),
            ),
            { maxLength: 3 },
          ),
        }),
        // Enough unknown capabilities to need RFC 9072 extended parameters sometimes.
        others: fc.array(
          fc.record({
            code: fc.integer({ min: 200, max: 255 }),
            value: fc.uint8Array({ maxLength: 120 }).map((b) => Buffer.from(b)),
          }),
          { maxLength: 4 },
        ),
      }),
    });
    fc.assert(
      fc.property(openArb, (m) => {
        const opts = toCodec({ fourOctetAs: true, addPath: false });
        const back = decodeMessage(encodeMessage(m, opts), opts);
        expect(back).toEqual(m);
      }),
      { numRuns: 300 * SCALE },
    );
  });
});

const SEED_MESSAGES: Buffer[] = (() => {
  const opts = toCodec({ fourOctetAs: true, addPath: false });
  const list: BgpMessage[] = [
    { type: 4 },
    { type: 3, code: 6, subcode: 2, data: Buffer.from("0362796500", "hex") },
    { type: 5, afi: 1, subtype: 0, safi: 1 },
    {
      type: 1,
      version: 4,
      myAs: 65001,
      holdTime: 90,
      bgpId: "192.0.2.1",
      capabilities: {
        multiprotocol: [{ afi: 1, safi: 1 }],
        routeRefresh: true,
        enhancedRouteRefresh: true,
        fourOctetAs: 65001,
        gracefulRestart: {
          restartState: false,
          restartTime: 120,
          families: [{ afi: 1, safi: 1, forwardingState: true }],
        },
        addPath: [{ afi: 1, safi: 1, mode: 3 }],
        others: [{ code: 71, value: Buffer.from("00010100000e10", "hex") }],
      },
    },
    {
      type: 2,
      withdrawn: [{ prefix: { afi: 1, addr: "10.1.0.0", len: 16 } }],
      attributes: {
        origin: 0,
        asPath: [{ type: 2, asns: [65001, 70000] }],
        nextHop: "192.0.2.1",
        med: 5,
        localPref: 100,
        atomicAggregate: true,
        aggregator: { asn: 65001, address: "192.0.2.1" },
        communities: [1, 2],
        originatorId: "192.0.2.2",
        clusterList: ["192.0.2.3"],
        extendedCommunities: [Buffer.alloc(8, 1)],
        largeCommunities: [[1, 2, 3]],
        mpReach: {
          afi: 2,
          safi: 1,
          nextHop: "2001:db8::1",
          linkLocalNextHop: "fe80::1",
          nlri: [{ prefix: { afi: 2, addr: "2001:db8::", len: 32 } }],
        },
        mpUnreach: { afi: 2, safi: 1, withdrawn: [{ prefix: { afi: 2, addr: "2001:db9::", len: 32 } }] },
        unknown: [{ code: 99, flags: 0xc0, value: Buffer.from("abcd", "hex") }],
      },
      nlri: [{ prefix: { afi: 1, addr: "10.0.0.0", len: 24 } }],
    },
  ];
  return list.map((m) => encodeMessage(m, opts));
})();

/** Feeds a byte stream through the framer in the given chunk sizes and decodes every message. */
function pump(stream: Buffer, chunks: number[], opts: CodecOptions): void {
  const f = new MessageFramer();
  let at = 0;
  let i = 0;
  try {
    while (at < stream.length) {
      const size = Math.max(1, chunks[i++ % Math.max(1, chunks.length)] ?? 1);
      for (const m of f.push(stream.subarray(at, at + size))) {
        try {
          decodeMessage(m, opts);
        } catch (e) {
          if (!(e instanceof BgpNotificationError)) throw e;
        }
      }
      at += size;
    }
  } catch (e) {
    if (!(e instanceof BgpNotificationError)) throw e;
  }
}

describe("property: hostile input only ever yields BgpNotificationError", () => {
  it("random bytes", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 2000 }),
        fc.array(fc.integer({ min: 1, max: 300 }), { maxLength: 10 }),
        codecOpts,
        (bytes, chunks, o) => {
          pump(Buffer.from(bytes), chunks, toCodec(o));
          // With a valid marker in front the bytes reach the body decoders.
          const body = Buffer.from(bytes.subarray(0, 4077));
          const msg = Buffer.concat([
            Buffer.alloc(16, 0xff),
            Buffer.alloc(2),
            Buffer.of(1 + ((bytes[0] ?? 0) % 5)),
            body,
          ]);
          msg.writeUInt16BE(msg.length, 16);
          try {
            decodeMessage(msg, toCodec(o));
          } catch (e) {
            expect(e).toBeInstanceOf(BgpNotificationError);
          }
        },
      ),
      { numRuns: 1000 * SCALE },
    );
  });

  it("mutated valid messages (body and header), split at random", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: SEED_MESSAGES.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        fc.boolean(),
        fc.array(fc.integer({ min: 1, max: 100 }), { maxLength: 6 }),
        codecOpts,
        (which, edits, touchHeader, chunks, o) => {
          const msg = Buffer.from(SEED_MESSAGES[which]!);
          for (const [pos, val] of edits) {
            const lo = touchHeader ? 0 : 19;
            if (msg.length <= lo) continue;
            msg[lo + (pos % (msg.length - lo))] = val;
          }
          const opts = toCodec(o);
          try {
            decodeMessage(msg, opts);
          } catch (e) {
            expect(e).toBeInstanceOf(BgpNotificationError);
          }
          pump(Buffer.concat([msg, SEED_MESSAGES[0]!, msg]), chunks, opts);
        },
      ),
      { numRuns: 3000 * SCALE },
    );
  });

  it("truncated and extended messages with a consistent length field", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: SEED_MESSAGES.length - 1 }),
        fc.integer({ min: -60, max: 20 }),
        codecOpts,
        (which, delta, o) => {
          const src = SEED_MESSAGES[which]!;
          const len = Math.max(19, Math.min(4096, src.length + delta));
          const msg = Buffer.alloc(len, 0);
          src.copy(msg, 0, 0, Math.min(len, src.length));
          msg.writeUInt16BE(len, 16);
          try {
            decodeMessage(msg, toCodec(o));
          } catch (e) {
            expect(e).toBeInstanceOf(BgpNotificationError);
          }
        },
      ),
      { numRuns: 1000 * SCALE },
    );
  });
});
