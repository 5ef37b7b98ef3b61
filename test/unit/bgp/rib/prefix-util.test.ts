import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  addressSortKey,
  ipv4Key,
  ipv4PrefixOfKey,
  ipv6ToWords,
  prefixKey,
} from "../../../../src/bgp/rib/prefix-util.ts";
import { v4, v6 } from "./helpers.ts";

describe("prefixKey", () => {
  it("is unique across lengths and addresses, /0 to /32", () => {
    const seen = new Map<number | string, string>();
    const texts = [
      "0.0.0.0/0",
      "0.0.0.0/1",
      "128.0.0.0/1",
      "0.0.0.0/32",
      "255.255.255.255/32",
      "10.0.0.0/8",
      "10.0.0.0/9",
      "10.0.0.0/24",
      "10.0.0.0/26",
      "10.0.0.64/26",
      "10.0.0.0/31",
      "10.0.0.1/32",
      "10.0.0.0/30",
    ];
    for (const t of texts) {
      const k = prefixKey(v4(t));
      expect(seen.get(k), `${t} collides with ${seen.get(k)}`).toBeUndefined();
      seen.set(k, t);
    }
    expect(prefixKey(v4("10.0.0.0/26"))).toBe(prefixKey(v4("10.0.0.0/26")));
    // Small integers up to /30 (stored inline by V8).
    expect(prefixKey(v4("255.255.255.252/30"))).toBeLessThan(2 ** 31);
  });

  it("IPv6 keys are text and never collide with IPv4 keys", () => {
    expect(prefixKey(v6("2001:db8::/32"))).toBe("2001:db8::/32");
    expect(prefixKey(v6("::/0"))).not.toBe(prefixKey(v4("0.0.0.0/0")));
  });
});

describe("address helpers", () => {
  it("parses IPv6 forms including embedded IPv4", () => {
    expect(ipv6ToWords("::")).toEqual([0, 0, 0, 0]);
    expect(ipv6ToWords("2001:db8::1")).toEqual([0x20010db8, 0, 0, 1]);
    expect(ipv6ToWords("::ffff:10.0.0.1")).toEqual([0, 0, 0xffff, 0x0a000001]);
    expect(ipv6ToWords("1:2:3:4:5:6:7:8")).toEqual([0x10002, 0x30004, 0x50006, 0x70008]);
    expect(ipv6ToWords("nope")).toBeUndefined();
  });
  it("sort keys order addresses numerically, IPv4 before IPv6", () => {
    expect(addressSortKey("10.0.0.9") < addressSortKey("10.0.0.10")).toBe(true);
    expect(addressSortKey("255.255.255.255") < addressSortKey("::1")).toBe(true);
    expect(addressSortKey("2001:db8::2") < addressSortKey("2001:db8::10")).toBe(true);
  });
});

describe("ipv4Key", () => {
  it("equals prefixKey of the same prefix for every length (int fast path up to /30)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 32 }), (raw, len) => {
        // Masked address, as the NLRI decoder hands it over.
        const addr = len === 0 ? 0 : Math.floor(raw / 2 ** (32 - len)) * 2 ** (32 - len);
        const text = `${addr >>> 24}.${(addr >>> 16) & 255}.${(addr >>> 8) & 255}.${addr & 255}/${len}`;
        const k = ipv4Key(addr, len);
        expect(k).toBe(prefixKey(v4(text)));
        expect(ipv4PrefixOfKey(k)).toEqual(v4(text));
      }),
      { numRuns: 2000 },
    );
  });
  it("stays positive at the edges of the int form", () => {
    expect(ipv4Key(0xfffffffc, 30)).toBe(2 ** 31 - 1);
    expect(ipv4Key(0xfffffffe, 31)).toBe(2 ** 32 - 1);
    expect(ipv4Key(0xffffffff, 32)).toBe(2 ** 33 - 1);
    expect(ipv4Key(0x80000000, 1)).toBe(3);
  });
});
