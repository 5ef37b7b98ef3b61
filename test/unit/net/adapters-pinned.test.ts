/**
 * Pinned results of the typed entry points of the four address modules (bytes, bigints,
 * 32-bit words, route keys), beyond the canonical text checked in ip-pinned.test.ts.
 */
import { describe, expect, it } from "vitest";
import {
  ipv4PrefixOfKey,
  ipv4ToNumber,
  ipv6ToWords,
  parsePrefixText,
  prefixKey,
  prefixWords,
} from "../../../src/bgp/rib/prefix-util.ts";
import {
  formatIpv4,
  formatIpv6,
  parseIpv4,
  parseIpv6,
  prefixContains,
  canonicalIp as wireCanonicalIp,
  writeNlri,
} from "../../../src/bgp/wire/prefix.ts";
import { formatIp, maxPrefixLength, parseIp } from "../../../src/config/ip.ts";
import {
  bitsOf,
  compareAddrText,
  compareCidrText,
  containsCidr,
  formatAddr,
  formatCidr,
  networkOf,
  overlaps,
  parseAddr,
  parseCidr,
} from "../../../src/discovery/cidr.ts";
import { parseNet, within } from "../../../src/doctor/diagnose.ts";
import { defaultDnsServer } from "../../../src/render/model.ts";

describe("config/ip", () => {
  it("parseIp gives family and network-order bytes", () => {
    expect(parseIp("10.0.0.1")).toEqual({ family: 4, bytes: Uint8Array.of(10, 0, 0, 1) });
    expect(parseIp("::ffff:10.0.0.1")).toEqual({
      family: 6,
      bytes: Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1),
    });
    expect(parseIp("2001:db8::1")?.bytes[1]).toBe(0x01);
    expect(parseIp("fe80::1%eth0")).toBeUndefined();
  });
  it("formatIp", () => {
    expect(formatIp({ family: 4, bytes: Uint8Array.of(192, 168, 0, 1) })).toBe("192.168.0.1");
    const b = new Uint8Array(16);
    b[0] = 0x20;
    b[1] = 0x01;
    b[15] = 1;
    expect(formatIp({ family: 6, bytes: b })).toBe("2001::1");
    expect(maxPrefixLength(4)).toBe(32);
    expect(maxPrefixLength(6)).toBe(128);
  });
});

describe("discovery/cidr", () => {
  it("parseAddr and formatAddr use bigints", () => {
    expect(parseAddr("10.0.0.1")).toEqual({ family: 4, addr: 0x0a000001n });
    expect(parseAddr("2001:db8::1")).toEqual({ family: 6, addr: 0x20010db8000000000000000000000001n });
    expect(parseAddr("nope")).toBeUndefined();
    expect(formatAddr(6, 0n)).toBe("::");
    expect(formatAddr(4, 0xffffffffn)).toBe("255.255.255.255");
    expect(formatAddr(6, (1n << 128n) - 1n)).toBe("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
    expect(bitsOf(4)).toBe(32);
  });
  it("parseCidr clears host bits; a bare address is a host prefix", () => {
    expect(parseCidr("10.0.0.1/24")).toEqual({ family: 4, addr: 0x0a000000n, len: 24 });
    expect(parseCidr("2001:db8::1")).toEqual({
      family: 6,
      addr: 0x20010db8000000000000000000000001n,
      len: 128,
    });
    expect(parseCidr("10.0.0.0/33")).toBeUndefined();
    expect(formatCidr({ family: 6, addr: 0n, len: 0 })).toBe("::/0");
  });
  it("containment, overlap, networkOf, ordering", () => {
    const a = parseCidr("10.0.0.0/8")!;
    const b = parseCidr("10.1.0.0/16")!;
    const c = parseCidr("11.0.0.0/8")!;
    expect(containsCidr(a, b)).toBe(true);
    expect(containsCidr(b, a)).toBe(false);
    expect(overlaps(b, a)).toBe(true);
    expect(overlaps(a, c)).toBe(false);
    expect(networkOf("10.1.2.3", 16)).toBe("10.1.0.0/16");
    expect(networkOf("2001:db8::1", 64)).toBe("2001:db8::/64");
    expect(networkOf("10.1.2.3", 33)).toBeUndefined();
    expect(networkOf("x", 8)).toBeUndefined();
    const sorted = ["2001:db8::/32", "10.0.0.0/16", "10.0.0.0/8", "9.0.0.0/8", "zzz", "::/0"].sort(
      compareCidrText,
    );
    expect(sorted).toEqual(["9.0.0.0/8", "10.0.0.0/8", "10.0.0.0/16", "::/0", "2001:db8::/32", "zzz"]);
    expect(compareAddrText("10.0.0.9", "10.0.0.10")).toBeLessThan(0);
  });
});

describe("bgp/rib/prefix-util", () => {
  it("numeric forms", () => {
    expect(ipv4ToNumber("255.255.255.255")).toBe(0xffffffff);
    expect(ipv4ToNumber("1.2.3")).toBe(-1);
    expect(ipv6ToWords("2001:db8::ffff:1.2.3.4")).toEqual([0x20010db8, 0, 0xffff, 0x01020304]);
    expect(ipv6ToWords("10.0.0.1")).toBeUndefined();
    expect(prefixWords({ afi: 1, addr: "10.0.0.1", len: 32 })).toEqual([0x0a000001]);
    expect(prefixWords({ afi: 2, addr: "::1", len: 128 })).toEqual([0, 0, 0, 1]);
    expect(prefixWords({ afi: 1, addr: "::1", len: 32 })).toBeUndefined();
    expect(parsePrefixText("10.0.0.0/8")).toEqual({ afi: 1, words: [0x0a000000], len: 8 });
  });
  it("IPv4 route keys round trip through ipv4PrefixOfKey", () => {
    for (const [addr, len] of [
      ["0.0.0.0", 0],
      ["255.255.255.255", 32],
      ["10.0.0.64", 26],
      ["128.0.0.0", 1],
    ] as const) {
      const p = { afi: 1 as const, addr, len };
      expect(ipv4PrefixOfKey(prefixKey(p) as number)).toEqual(p);
    }
  });
});

describe("bgp/wire/prefix", () => {
  it("parse and format", () => {
    expect(parseIpv4("10.0.0.1")).toBe(0x0a000001);
    expect(parseIpv4("010.0.0.1")).toBe(-1);
    expect(formatIpv4(0xc0a80001)).toBe("192.168.0.1");
    expect(parseIpv6("::ffff:1.2.3.4")).toEqual(
      Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4),
    );
    expect(parseIpv6("1.2.3.4")).toBeUndefined();
    const buf = Buffer.alloc(20);
    buf[2] = 0x20;
    buf[3] = 0x01;
    buf[17] = 5;
    expect(formatIpv6(buf, 2)).toBe("2001::5");
    expect(wireCanonicalIp("2001:DB8::1")).toBe("2001:db8::1");
  });
  it("prefixContains and writeNlri", () => {
    expect(
      prefixContains({ afi: 2, addr: "2001:db8::", len: 32 }, { afi: 2, addr: "2001:db8:1::", len: 48 }),
    ).toBe(true);
    expect(prefixContains({ afi: 1, addr: "10.0.0.0", len: 8 }, { afi: 1, addr: "11.0.0.0", len: 16 })).toBe(
      false,
    );
    const out = Buffer.alloc(32);
    expect(writeNlri(out, 0, { prefix: { afi: 2, addr: "2001:db8::", len: 32 } }, false)).toBe(5);
    expect([...out.subarray(0, 5)]).toEqual([32, 0x20, 0x01, 0x0d, 0xb8]);
    expect(() => writeNlri(out, 0, { prefix: { afi: 1, addr: "010.0.0.0", len: 8 } }, false)).toThrow(
      TypeError,
    );
    expect(() => writeNlri(out, 0, { prefix: { afi: 2, addr: "fe80::%eth0", len: 8 } }, false)).toThrow(
      TypeError,
    );
  });
});

describe("callers converted to src/net/ip.ts", () => {
  it("doctor parseNet/within: host prefixes, host bits cleared, strict text", () => {
    expect(parseNet("10.244.1.7/26")).toEqual({ v6: false, base: 0x0af40100n, len: 26 });
    expect(parseNet("fd00::1")).toEqual({ v6: true, base: 0xfd000000000000000000000000000001n, len: 128 });
    // Before src/net/ip.ts: accepted as 10.0.0.0/8 (extra "/9" ignored, "010" read as 10, "" as /0).
    expect(parseNet("10.0.0.0/8/9")).toBeUndefined();
    expect(parseNet("010.0.0.0/8")).toBeUndefined();
    expect(parseNet("10.0.0.0/")).toBeUndefined();
    // Before: a dotted IPv4 tail was not understood, so this was false.
    expect(within("::ffff:10.0.0.0/120", "::ffff:10.0.0.0/104")).toBe(true);
  });
  it("render: dotted masks and the default cluster DNS address", () => {
    expect(
      defaultDnsServer({ text: "10.96.0.0/12", address: "10.96.0.0", length: 12, mask: "255.240.0.0" }),
    ).toBe("10.96.0.10");
    expect(defaultDnsServer({ text: "10.255.255.0/24", address: "10.255.255.0", length: 24, mask: "" })).toBe(
      "10.255.255.10",
    );
  });
});
