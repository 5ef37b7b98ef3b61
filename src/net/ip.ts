/**
 * IP address text ⇄ value: the one parser and formatter behind config/ip, discovery/cidr,
 * bgp/rib/prefix-util and bgp/wire/prefix (they adapt it to their own types).
 *
 * Accepted text (one policy everywhere; anything else is rejected, never guessed at):
 * - IPv4: exactly four decimal octets 0..255 ("a.b.c.d"), no leading zeros ("010" is octal to
 *   inet_aton), no shorthand ("10.1"), no whitespace.
 * - IPv6 (RFC 4291 §2.2): eight groups of 1-4 hex digits in either case (leading zeros allowed
 *   inside a group), at most one "::" standing for one or more zero groups, optionally the last
 *   32 bits as a dotted quad under the IPv4 rules ("::ffff:10.0.0.1"). No zone id (RFC 4007
 *   §11 "fe80::1%eth0": a route or peer address must not depend on a local interface name), no
 *   brackets, no whitespace.
 * - Prefix length: decimal without sign, leading zero or whitespace ("/08" is rejected).
 * Output: dotted quad; IPv6 per RFC 5952 (lower case, no leading zeros, the longest run of two
 * or more zero groups as "::", the first on ties; IPv4-mapped ::ffff:a.b.c.d keeps the quad, §5).
 *
 * parseIpv4/formatIpv4 run once per route in the codec and the RIB: no allocation, table-driven.
 */

export type IpFamily = 4 | 6;

export interface ParsedIp {
  readonly family: IpFamily;
  /** 4 or 16 bytes, network order. */
  readonly bytes: Uint8Array;
}

/** Address bits of a family: the maximum prefix length. */
export function familyBits(family: IpFamily): number {
  return family === 4 ? 32 : 128;
}

/** Decimal text of every octet value, so IPv4 formatting is three concatenations. */
const OCTET: readonly string[] = Array.from({ length: 256 }, (_, i) => String(i));

const DOT = 46;
const COLON = 58;

/** Dotted-quad IPv4 text to an unsigned 32-bit value; -1 when it is not exactly a.b.c.d. */
export function parseIpv4(text: string): number {
  let v = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === DOT) {
      if (digits === 0 || dots === 3) return -1;
      v = v * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      // No leading zeros ("010" is ambiguous: octal in some parsers).
      if (digits > 0 && octet === 0) return -1;
      octet = octet * 10 + (c - 48);
      if (++digits > 3 || octet > 255) return -1;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  return v * 256 + octet;
}

export function formatIpv4(v: number): string {
  return `${OCTET[v >>> 24]}.${OCTET[(v >>> 16) & 255]}.${OCTET[(v >>> 8) & 255]}.${OCTET[v & 255]}`;
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20; // ASCII lower case
  return l >= 97 && l <= 102 ? l - 87 : -1;
}

/** Groups as they appear in the text; "::" is expanded once all are read. */
const groups = new Uint16Array(8);

/**
 * Parses IPv6 text into 16 octets at out[off, off+16); false (out unspecified) when the text is
 * not an IPv6 address under the rules at the top of this file.
 */
export function parseIpv6Into(text: string, out: Uint8Array, off = 0): boolean {
  const n = text.length;
  // Shortest "::", longest "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255".
  if (n < 2 || n > 45) return false;
  let i = 0;
  let count = 0;
  let gap = -1; // group index where "::" stands
  if (text.charCodeAt(0) === COLON) {
    if (text.charCodeAt(1) !== COLON) return false;
    gap = 0;
    i = 2;
  }
  while (i < n) {
    const start = i;
    let v = 0;
    while (i < n && i - start < 5) {
      const h = hexDigit(text.charCodeAt(i));
      if (h < 0) break;
      v = v * 16 + h;
      i++;
    }
    const digits = i - start;
    if (digits === 0 || digits > 4) return false;
    if (i < n && text.charCodeAt(i) === DOT) {
      // Embedded IPv4: the last 32 bits, so it ends the text and needs room for two groups.
      if (count > 6) return false;
      const v4 = parseIpv4(text.slice(start));
      if (v4 < 0) return false;
      groups[count++] = v4 >>> 16;
      groups[count++] = v4 & 0xffff;
      i = n;
      break;
    }
    if (count === 8) return false;
    groups[count++] = v;
    if (i === n) break;
    if (text.charCodeAt(i) !== COLON) return false;
    i++;
    if (i === n) return false; // a lone trailing ":"
    if (text.charCodeAt(i) === COLON) {
      if (gap >= 0) return false;
      gap = count;
      i++;
    }
  }
  // Without "::" exactly eight groups; with it at most seven (it stands for one or more).
  if (gap < 0 ? count !== 8 : count > 7) return false;
  const tail = gap < 0 ? 0 : count - gap;
  const head = count - tail;
  out.fill(0, off, off + 16);
  for (let k = 0; k < head; k++) {
    out[off + k * 2] = groups[k]! >>> 8;
    out[off + k * 2 + 1] = groups[k]! & 255;
  }
  for (let k = 0, at = off + 16 - tail * 2; k < tail; k++, at += 2) {
    out[at] = groups[head + k]! >>> 8;
    out[at + 1] = groups[head + k]! & 255;
  }
  return true;
}

/** IPv6 text to 16 octets, or undefined. */
export function parseIpv6(text: string): Uint8Array | undefined {
  const out = new Uint8Array(16);
  return parseIpv6Into(text, out) ? out : undefined;
}

/** RFC 5952 text for the 16 octets at b[off, off+16). */
export function formatIpv6(b: Uint8Array, off = 0): string {
  const g = groups;
  for (let i = 0; i < 8; i++) g[i] = (b[off + i * 2]! << 8) | b[off + i * 2 + 1]!;
  // RFC 5952 §5: IPv4-mapped addresses keep the dotted quad.
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return `::ffff:${OCTET[b[off + 12]!]}.${OCTET[b[off + 13]!]}.${OCTET[b[off + 14]!]}.${OCTET[b[off + 15]!]}`;
  }
  let bestAt = -1;
  let bestLen = 1; // RFC 5952 §4.2.2: a single 0 group is not compressed.
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  let s = "";
  for (let i = 0; i < 8; i++) {
    if (i === bestAt) {
      s += "::";
      i += bestLen - 1;
      continue;
    }
    if (i > 0 && i !== bestAt + bestLen) s += ":";
    s += g[i]!.toString(16);
  }
  return s;
}

/** An IPv4 or IPv6 address as family and network-order bytes; undefined when it is neither. */
export function parseIp(text: string): ParsedIp | undefined {
  const v4 = parseIpv4(text);
  if (v4 >= 0)
    return { family: 4, bytes: Uint8Array.of(v4 >>> 24, (v4 >>> 16) & 255, (v4 >>> 8) & 255, v4 & 255) };
  const v6 = parseIpv6(text);
  return v6 ? { family: 6, bytes: v6 } : undefined;
}

/** Canonical text: dotted quad, or RFC 5952 IPv6. */
export function formatIp(ip: ParsedIp): string {
  if (ip.family === 6) return formatIpv6(ip.bytes);
  const b = ip.bytes;
  return `${OCTET[b[0]!]}.${OCTET[b[1]!]}.${OCTET[b[2]!]}.${OCTET[b[3]!]}`;
}

/** Canonical text of an IPv4 or IPv6 address, or undefined when `text` is neither. */
export function canonicalIp(text: string): string | undefined {
  const v4 = parseIpv4(text);
  if (v4 >= 0) return formatIpv4(v4);
  const v6 = parseIpv6Into(text, scratch16);
  return v6 ? formatIpv6(scratch16) : undefined;
}
const scratch16 = new Uint8Array(16);

/**
 * The length after the "/" of a prefix: 0..999 written without sign, leading zero or
 * whitespace; -1 otherwise. The caller checks it against familyBits().
 */
export function parsePrefixLength(text: string): number {
  const n = text.length;
  if (n === 0 || n > 3 || (n > 1 && text.charCodeAt(0) === 48)) return -1;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
    v = v * 10 + (c - 48);
  }
  return v;
}

/** Clears every bit of `b` after the first `len` (in place). */
export function maskBytes(b: Uint8Array, len: number): void {
  for (let i = 0; i < b.length; i++) {
    const bits = len - i * 8;
    if (bits >= 8) continue;
    b[i] = bits <= 0 ? 0 : b[i]! & ((0xff << (8 - bits)) & 0xff);
  }
}

/** True when `b` has a 1 bit after the first `len` (a prefix whose host part is not zero). */
export function hostBitsSet(b: Uint8Array, len: number): boolean {
  for (let i = len >> 3; i < b.length; i++) {
    const bits = len - i * 8;
    const host = bits <= 0 ? 0xff : 0xff >> bits;
    if ((b[i]! & host) !== 0) return true;
  }
  return false;
}
