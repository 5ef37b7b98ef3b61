/**
 * Property tests for src/net/ip.ts and its four adapters: format(parse(x)) round trips, every
 * RFC 4291 spelling of an address parses to the same value and prints the RFC 5952 text,
 * acceptance matches node:net's isIPv4/isIPv6 (minus zone ids), and config/ip, discovery/cidr,
 * bgp/rib/prefix-util and bgp/wire/prefix agree on every address and prefix text.
 */
import { isIPv4, isIPv6 } from "node:net";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import * as ip from "../../../src/net/ip.ts";
import { observeAddress, observePrefix, REJECTED } from "./observe.ts";

const u32 = fc.integer({ min: 0, max: 0xffffffff });

/** Eight 16-bit groups, biased towards zero runs so "::" placement is exercised. */
const groups8 = fc.array(
  fc.oneof(
    { weight: 3, arbitrary: fc.constant(0) },
    { weight: 1, arbitrary: fc.constantFrom(1, 0xffff, 0xdb8) },
    { weight: 2, arbitrary: fc.integer({ min: 0, max: 0xffff }) },
  ),
  { minLength: 8, maxLength: 8 },
);

function bytesOf(g: readonly number[]): Uint8Array {
  const b = new Uint8Array(16);
  g.forEach((w, i) => {
    b[i * 2] = w >> 8;
    b[i * 2 + 1] = w & 255;
  });
  return b;
}

/** Any RFC 4291 §2.2 spelling of the groups: case, leading zeros, any zero run as "::", a dotted tail. */
const spelling = groups8.chain((g) =>
  fc
    .record({
      upper: fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
      pad: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 8, maxLength: 8 }),
      compress: fc.nat(),
      dotted: fc.boolean(),
    })
    .map(({ upper, pad, compress, dotted }) => {
      const text = g.map((w, i) => {
        const h = w.toString(16);
        const s = "0".repeat(Math.max(0, Math.min(pad[i]!, 4 - h.length))) + h;
        return upper[i] ? s.toUpperCase() : s;
      });
      let tail: string[] = [];
      let head = text;
      if (dotted) {
        head = text.slice(0, 6);
        tail = [ip.formatIpv4(((g[6]! << 16) | g[7]!) >>> 0)];
      }
      // Zero runs within the hex part that "::" may stand for.
      const runs: [number, number][] = [];
      for (let i = 0; i < head.length; i++) {
        if (g[i] !== 0) continue;
        for (let j = i; j < head.length && g[j] === 0; j++) runs.push([i, j + 1]);
      }
      const run = runs.length > 0 && compress % 3 !== 0 ? runs[compress % runs.length] : undefined;
      const all = [...head, ...tail];
      const s = run ? `${all.slice(0, run[0]).join(":")}::${all.slice(run[1]).join(":")}` : all.join(":");
      return { groups: g, text: s };
    }),
);

/** Near misses: valid texts with one character inserted, removed or replaced. */
const ipChars = fc.constantFrom(..."0123456789abcdefABCDEFgx:.%/ -");
const mutated = fc
  .tuple(
    fc.oneof(
      spelling.map((s) => s.text),
      u32.map(ip.formatIpv4),
    ),
    fc.nat(),
    ipChars,
    fc.constantFrom("insert", "delete", "replace"),
  )
  .map(([t, at, c, op]) => {
    const i = at % (t.length + 1);
    if (op === "insert") return t.slice(0, i) + c + t.slice(i);
    if (op === "delete") return t.slice(0, i) + t.slice(i + 1);
    return t.slice(0, i) + c + t.slice(i + 1);
  });
const anyText = fc.oneof(
  spelling.map((s) => s.text),
  u32.map(ip.formatIpv4),
  mutated,
  fc.string({ unit: ipChars, maxLength: 46 }),
);

/** The address a rib sort key ("4" + 8 hex digits, "6" + 32) stands for, as canonical text. */
function keyAddress(key: string): string {
  if (key.startsWith("4")) return ip.formatIpv4(Number.parseInt(key.slice(1), 16));
  const b = new Uint8Array(16);
  for (let i = 0; i < 16; i++) b[i] = Number.parseInt(key.slice(1 + i * 2, 3 + i * 2), 16);
  return ip.formatIpv6(b);
}

describe("src/net/ip.ts", () => {
  it("IPv4: parse(format(v)) === v, and the text is canonical", () => {
    fc.assert(
      fc.property(u32, (v) => {
        const t = ip.formatIpv4(v);
        expect(ip.parseIpv4(t)).toBe(v);
        expect(ip.canonicalIp(t)).toBe(t);
      }),
    );
  });

  it("IPv6: parse(format(b)) === b, and the text is canonical", () => {
    fc.assert(
      fc.property(fc.oneof(groups8.map(bytesOf), fc.uint8Array({ minLength: 16, maxLength: 16 })), (b) => {
        const t = ip.formatIpv6(b);
        expect(ip.parseIpv6(t)).toEqual(b);
        expect(ip.canonicalIp(t)).toBe(t);
        expect(t).toBe(t.toLowerCase());
      }),
    );
  });

  it("every spelling of an address parses to its value and prints the one RFC 5952 text", () => {
    fc.assert(
      fc.property(spelling, ({ groups, text }) => {
        const b = bytesOf(groups);
        expect(ip.parseIpv6(text)).toEqual(b);
        expect(ip.canonicalIp(text)).toBe(ip.formatIpv6(b));
      }),
    );
  });

  it("accepts exactly what node:net accepts, minus zone ids", () => {
    fc.assert(
      fc.property(anyText, (t) => {
        expect(ip.parseIpv4(t) >= 0).toBe(isIPv4(t));
        expect(ip.parseIpv6(t) !== undefined).toBe(isIPv6(t) && !t.includes("%"));
      }),
      { numRuns: 3000 },
    );
  });

  it("prefix lengths: canonical decimal only", () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(..."0123456789+- x.e"), maxLength: 5 }), (t) => {
        const ok = /^(0|[1-9][0-9]{0,2})$/.test(t);
        expect(ip.parsePrefixLength(t)).toBe(ok ? Number(t) : -1);
      }),
    );
  });

  it("hostBitsSet agrees with maskBytes", () => {
    // Mostly zero octets with single high or low bits: one stray host bit is the case that matters.
    const octet = fc.oneof(fc.constant(0), fc.constant(0), fc.constantFrom(0x80, 0x01, 0xff), fc.nat(255));
    const sparseBytes = fc.array(octet, { minLength: 16, maxLength: 16 }).map((a) => Uint8Array.from(a));
    expect(ip.hostBitsSet(Uint8Array.of(10, 0, 0, 0x80), 24)).toBe(true);
    expect(ip.hostBitsSet(Uint8Array.of(10, 0, 0x40, 0), 17)).toBe(true);
    expect(ip.hostBitsSet(Uint8Array.of(10, 0, 0x80, 0), 17)).toBe(false);
    expect(ip.hostBitsSet(Uint8Array.of(10, 0, 0x80, 0), 24)).toBe(false);
    fc.assert(
      fc.property(sparseBytes, fc.integer({ min: 0, max: 128 }), (b, len) => {
        const m = b.slice();
        ip.maskBytes(m, len);
        expect(ip.hostBitsSet(b, len)).toBe(!m.every((x, i) => x === b[i]));
        expect(ip.hostBitsSet(m, len)).toBe(false);
      }),
    );
  });
});

describe("the four adapters agree", () => {
  it("on addresses: same acceptance, same canonical text", () => {
    fc.assert(
      fc.property(anyText, (t) => {
        const seen = observeAddress(t);
        expect(seen.discovery).toBe(seen.config);
        expect(seen.wire).toBe(seen.config);
        expect(seen.rib === REJECTED ? REJECTED : keyAddress(seen.rib)).toBe(seen.config);
      }),
      { numRuns: 2000 },
    );
  });

  it("on prefixes: same acceptance and text where host bits are clear", () => {
    const lenText = fc.oneof(
      fc.integer({ min: 0, max: 130 }).map(String),
      fc.constantFrom("", "08", "-1", " 8", "+8", "033"),
    );
    const prefixText = fc
      .tuple(
        fc.oneof(
          anyText,
          spelling.map((s) => s.text),
        ),
        lenText,
        fc.boolean(),
      )
      .map(([a, l, mask]) => {
        // Half the time clear the host bits so that the accepting paths are exercised too.
        const c = mask ? observePrefix(`${a}/${l}`).discovery : REJECTED;
        return c !== REJECTED ? c : `${a}/${l}`;
      });
    fc.assert(
      fc.property(prefixText, (t) => {
        const seen = observePrefix(t);
        if (seen.config.startsWith(REJECTED)) {
          expect(seen.wire.startsWith(REJECTED)).toBe(true);
          // Only host bits set separates config's refusal from discovery's masking.
          if (!seen.config.includes("host bits")) expect(seen.discovery).toBe(REJECTED);
        } else {
          expect(seen.wire).toBe(seen.config);
          expect(seen.discovery).toBe(seen.config);
        }
        expect(seen.rib === REJECTED).toBe(seen.discovery === REJECTED);
      }),
      { numRuns: 2000 },
    );
  });
});
