/**
 * CIDR arithmetic for discovery: IPv4 and IPv6 prefixes as bigints, containment and overlap,
 * the network of an address. Address text is parsed and formatted by src/net/ip.ts (canonical
 * output, RFC 5952); this file converts its bytes to and from bigints. A bare address is a host
 * prefix and host bits are cleared: cluster objects are written by controllers, not people.
 */
import {
  familyBits,
  formatIpv4,
  formatIpv6,
  type IpFamily,
  parseIpv4,
  parseIpv6Into,
  parsePrefixLength,
} from "../net/ip.ts";

export { familyBits as bitsOf } from "../net/ip.ts";

export interface Cidr {
  readonly family: 4 | 6;
  /** Network address (host bits cleared). */
  readonly addr: bigint;
  readonly len: number;
}

/** 16 octets shared by the IPv6 conversions below (never held across calls). */
const v6 = new Uint8Array(16);
const v6View = new DataView(v6.buffer);

export function parseAddr(text: string): { family: 4 | 6; addr: bigint } | undefined {
  const v4 = parseIpv4(text);
  if (v4 >= 0) return { family: 4, addr: BigInt(v4) };
  if (!parseIpv6Into(text, v6)) return undefined;
  return { family: 6, addr: (v6View.getBigUint64(0) << 64n) | v6View.getBigUint64(8) };
}

export function formatAddr(family: 4 | 6, addr: bigint): string {
  if (family === 4) return formatIpv4(Number(BigInt.asUintN(32, addr)));
  v6View.setBigUint64(0, BigInt.asUintN(64, addr >> 64n));
  v6View.setBigUint64(8, BigInt.asUintN(64, addr));
  return formatIpv6(v6);
}

function mask(family: IpFamily, len: number): bigint {
  const bits = BigInt(familyBits(family));
  return ((1n << bits) - 1n) ^ ((1n << (bits - BigInt(len))) - 1n);
}

/** Parse "a.b.c.d/n" or "x::/n" (host bits are cleared); a bare address is a host prefix. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf("/");
  const ip = parseAddr(slash < 0 ? text : text.slice(0, slash));
  if (!ip) return undefined;
  const len = slash < 0 ? familyBits(ip.family) : parsePrefixLength(text.slice(slash + 1));
  if (len < 0 || len > familyBits(ip.family)) return undefined;
  return { family: ip.family, addr: ip.addr & mask(ip.family, len), len };
}

export function formatCidr(c: Cidr): string {
  return `${formatAddr(c.family, c.addr)}/${c.len}`;
}

/** Canonical text of a CIDR, or undefined when it does not parse. */
export function canonicalCidr(text: string): string | undefined {
  const c = parseCidr(text);
  return c ? formatCidr(c) : undefined;
}

export function containsCidr(outer: Cidr, inner: Cidr): boolean {
  return (
    outer.family === inner.family &&
    outer.len <= inner.len &&
    (inner.addr & mask(outer.family, outer.len)) === outer.addr
  );
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return containsCidr(a, b) || containsCidr(b, a);
}

/** The network of `addr` with prefix length `len`, as canonical CIDR text. */
export function networkOf(addrText: string, len: number): string | undefined {
  const ip = parseAddr(addrText);
  if (!ip || len > familyBits(ip.family)) return undefined;
  return formatCidr({ family: ip.family, addr: ip.addr & mask(ip.family, len), len });
}

/** Sort key order for CIDR texts: family, address, length. */
export function compareCidrText(a: string, b: string): number {
  const x = parseCidr(a);
  const y = parseCidr(b);
  if (!x || !y) return a < b ? -1 : a > b ? 1 : 0;
  if (x.family !== y.family) return x.family - y.family;
  if (x.addr !== y.addr) return x.addr < y.addr ? -1 : 1;
  return x.len - y.len;
}

export function compareAddrText(a: string, b: string): number {
  return compareCidrText(a, b);
}
