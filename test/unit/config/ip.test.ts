/** Address and prefix text: strict parsing, RFC 5952 output, host-bit corrections. */
import { describe, expect, it } from "vitest";
import { canonicalIp, parsePrefix } from "../../../src/config/ip.ts";
import { suggest } from "../../../src/config/suggest.ts";

describe("canonicalIp", () => {
  it.each([
    ["10.0.0.1", "10.0.0.1"],
    ["2001:DB8:0:0:0:0:0:1", "2001:db8::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"],
    ["::", "::"],
    // RFC 5952 §5: IPv4-mapped addresses keep the dotted quad (was "::ffff:a00:1" before src/net/ip.ts).
    ["::ffff:10.0.0.1", "::ffff:10.0.0.1"],
    ["fe80::1%eth0", undefined],
    ["10.1", undefined],
    ["010.0.0.1", undefined],
  ])("%s → %s", (input, out) => {
    expect(canonicalIp(input)).toBe(out);
  });
});

describe("parsePrefix", () => {
  it("accepts and canonicalises valid prefixes", () => {
    expect(parsePrefix("0.0.0.0/0")).toEqual({
      ok: true,
      prefix: { family: 4, length: 0, text: "0.0.0.0/0" },
    });
    expect(parsePrefix("2001:DB8::/32")).toEqual({
      ok: true,
      prefix: { family: 6, length: 32, text: "2001:db8::/32" },
    });
  });

  it.each([
    ["10.244.1.0/16", "host bits are set; did you mean 10.244.0.0/16?"],
    ["10.0.0.1/31", "host bits are set; did you mean 10.0.0.0/31?"],
    ["2001:db8::1/64", "host bits are set; did you mean 2001:db8::/64?"],
    ["10.0.0.0", 'must be a prefix "address/length" (no "/length" found)'],
    ["10.0.0.0/", "prefix length must be an integer 0..32"],
    ["::/129", "prefix length must be an integer 0..128"],
    ["x/8", 'must be a prefix "address/length" (the address part is not an IP address)'],
  ])("%s → %s", (input, message) => {
    expect(parsePrefix(input)).toEqual({ ok: false, message });
  });
});

describe("suggest", () => {
  it("finds typos and separator/case variants, not unrelated words", () => {
    expect(suggest("router_id", ["routerId", "asn"])).toBe("routerId");
    expect(suggest("pasword", ["password", "passwordFile"])).toBe("password");
    expect(suggest("foo", ["log", "api"])).toBeUndefined();
  });
});
