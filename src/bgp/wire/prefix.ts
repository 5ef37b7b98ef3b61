/**
 * IP prefixes: parsing, containment, and the NLRI wire form of RFC 4271 §4.3 / RFC 4760 §5
 * (length octet + minimal address octets), with the RFC 7911 ADD-PATH 4-octet path identifier in
 * front when negotiated.
 * Address text (parse, RFC 5952 format) is src/net/ip.ts, re-exported here for the codec's users.
 * The IPv4 NLRI paths are the codec's hot loop: no per-octet allocation, table-driven text.
 */
import {
  formatIpv4,
  formatIpv6,
  hostBitsSet,
  maskBytes,
  parseIpv4,
  parseIpv6,
  parsePrefixLength,
} from "../../net/ip.ts";
import { Afi, type AfiCode, Safi } from "./constants.ts";
import type { Nlri, Prefix } from "./types.ts";

export { canonicalIp, formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from "../../net/ip.ts";

/** CodecOptions.addPathReceive/addPathSend key for a family. */
export function familyKey(afi: number, safi: number): string {
  return `${afi}/${safi}`;
}
export const IPV4_UNICAST_KEY = familyKey(Afi.IPV4, Safi.UNICAST);
export const IPV6_UNICAST_KEY = familyKey(Afi.IPV6, Safi.UNICAST);

/** Network mask for an IPv4 prefix length, as an unsigned 32-bit value. */
export function ipv4Mask(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

/**
 * Parses "10.0.0.0/24" or "2001:db8::/32" (a bare address means a host route).
 * Throws TypeError on malformed text and RangeError when host bits are set: a prefix with host
 * bits is almost always a typo in configuration, so it is refused rather than silently masked.
 */
export function parsePrefix(text: string): Prefix {
  const slash = text.indexOf("/");
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const lenText = slash < 0 ? undefined : text.slice(slash + 1);
  const given = lenText === undefined ? undefined : parsePrefixLength(lenText);
  if (given !== undefined && given < 0) throw new TypeError(`invalid prefix length in "${text}"`);
  const v4 = parseIpv4(addrText);
  if (v4 >= 0) {
    const len = given ?? 32;
    if (len > 32) throw new TypeError(`IPv4 prefix length ${len} > 32 in "${text}"`);
    if ((v4 & ~ipv4Mask(len)) >>> 0 !== 0) throw new RangeError(`host bits set in "${text}"`);
    return { afi: Afi.IPV4, addr: formatIpv4(v4), len };
  }
  const v6 = parseIpv6(addrText);
  if (!v6) throw new TypeError(`invalid IP prefix "${text}"`);
  const len = given ?? 128;
  if (len > 128) throw new TypeError(`IPv6 prefix length ${len} > 128 in "${text}"`);
  if (hostBitsSet(v6, len)) throw new RangeError(`host bits set in "${text}"`);
  return { afi: Afi.IPV6, addr: formatIpv6(v6), len };
}

export function formatPrefix(p: Prefix): string {
  return `${p.addr}/${p.len}`;
}

/** A string key for maps; equal prefixes (canonical addr) give equal keys. */
export function prefixKey(p: Prefix): string {
  return `${p.addr}/${p.len}`;
}

function prefixBytes(p: Prefix): Uint8Array {
  if (p.afi === Afi.IPV4) {
    const v = parseIpv4(p.addr);
    if (v < 0) throw new TypeError(`invalid IPv4 prefix address "${p.addr}"`);
    return Uint8Array.of(v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255);
  }
  const b = parseIpv6(p.addr);
  if (!b) throw new TypeError(`invalid IPv6 prefix address "${p.addr}"`);
  return b;
}

/** True when `inner` lies inside `outer` (same family, outer no longer, same leading bits). */
export function prefixContains(outer: Prefix, inner: Prefix): boolean {
  if (outer.afi !== inner.afi || outer.len > inner.len) return false;
  if (outer.afi === Afi.IPV4) {
    const m = ipv4Mask(outer.len);
    return (parseIpv4(outer.addr) & m) >>> 0 === (parseIpv4(inner.addr) & m) >>> 0;
  }
  const a = prefixBytes(outer);
  const b = prefixBytes(inner);
  maskBytes(a, outer.len);
  maskBytes(b, outer.len);
  return a.every((x, i) => x === b[i]);
}

/**
 * Decodes a run of NLRI (RFC 4271 §4.3 / RFC 4760 §5.1.3) from buf[start,end) into `out`.
 * Throws `err()` when a length exceeds the family's maximum or a prefix runs past `end`.
 * Host bits beyond the length are cleared, so `addr` is always canonical.
 */
export function decodeNlri(
  buf: Buffer,
  start: number,
  end: number,
  afi: AfiCode,
  addPath: boolean,
  out: Nlri[],
  err: () => Error,
): void {
  let p = start;
  if (afi === Afi.IPV4) {
    while (p < end) {
      let pathId = 0;
      if (addPath) {
        if (p + 5 > end) throw err();
        pathId = buf.readUInt32BE(p);
        p += 4;
      }
      const len = buf[p++]!;
      if (len > 32) throw err();
      const n = (len + 7) >> 3;
      if (p + n > end) throw err();
      let v = 0;
      if (n > 0) v = buf[p]! << 24;
      if (n > 1) v |= buf[p + 1]! << 16;
      if (n > 2) v |= buf[p + 2]! << 8;
      if (n > 3) v |= buf[p + 3]!;
      p += n;
      v = (v & ipv4Mask(len)) >>> 0;
      const prefix: Prefix = { afi: Afi.IPV4, addr: formatIpv4(v), len };
      out.push(addPath ? { prefix, pathId } : { prefix });
    }
    return;
  }
  const tmp = new Uint8Array(16);
  while (p < end) {
    let pathId = 0;
    if (addPath) {
      if (p + 5 > end) throw err();
      pathId = buf.readUInt32BE(p);
      p += 4;
    }
    const len = buf[p++]!;
    if (len > 128) throw err();
    const n = (len + 7) >> 3;
    if (p + n > end) throw err();
    tmp.fill(0);
    tmp.set(buf.subarray(p, p + n));
    p += n;
    maskBytes(tmp, len);
    const prefix: Prefix = { afi: Afi.IPV6, addr: formatIpv6(tmp), len };
    out.push(addPath ? { prefix, pathId } : { prefix });
  }
}

/**
 * IPv4 NLRI in compact form, for the RIB's hot path: three Uint32 per prefix (path id, masked
 * address, length), no Prefix object or address text. Same validation as decodeNlri (throws
 * `err()` on a length > 32 or a prefix past `end`); host bits are cleared.
 */
export function decodeIpv4NlriCompact(
  buf: Buffer,
  start: number,
  end: number,
  addPath: boolean,
  err: () => Error,
): Uint32Array {
  // Every NLRI takes at least one octet: (end - start) bounds the count.
  const need = (end - start) * 3;
  if (scratch.length < need) scratch = new Uint32Array(need);
  const s = scratch;
  let p = start;
  let o = 0;
  while (p < end) {
    let pathId = 0;
    if (addPath) {
      if (p + 5 > end) throw err();
      pathId = buf.readUInt32BE(p);
      p += 4;
    }
    const len = buf[p++]!;
    if (len > 32) throw err();
    const n = (len + 7) >> 3;
    if (p + n > end) throw err();
    let v = 0;
    if (n > 0) v = buf[p]! << 24;
    if (n > 1) v |= buf[p + 1]! << 16;
    if (n > 2) v |= buf[p + 2]! << 8;
    if (n > 3) v |= buf[p + 3]!;
    p += n;
    s[o] = pathId;
    s[o + 1] = v & ipv4Mask(len);
    s[o + 2] = len;
    o += 3;
  }
  return s.slice(0, o);
}
let scratch = new Uint32Array(3 * 4096);

/** The Nlri objects of a compact IPv4 run, exactly as decodeNlri would have built them. */
export function expandIpv4NlriCompact(c: Uint32Array, addPath: boolean): Nlri[] {
  const out: Nlri[] = new Array(c.length / 3);
  for (let i = 0, o = 0; i < c.length; i += 3, o++) {
    const prefix: Prefix = { afi: Afi.IPV4, addr: formatIpv4(c[i + 1]!), len: c[i + 2]! };
    out[o] = addPath ? { prefix, pathId: c[i]! } : { prefix };
  }
  return out;
}

/** Octets one NLRI takes on the wire. */
export function nlriSize(n: Nlri, addPath: boolean): number {
  return (addPath ? 5 : 1) + ((n.prefix.len + 7) >> 3);
}

/**
 * Writes one NLRI at `pos` (caller checked room with nlriSize) and returns the new position.
 * Throws TypeError for an address that does not match its family.
 */
export function writeNlri(buf: Buffer, pos: number, n: Nlri, addPath: boolean): number {
  let p = pos;
  if (addPath) {
    buf.writeUInt32BE((n.pathId ?? 0) >>> 0, p);
    p += 4;
  }
  const { afi, addr, len } = n.prefix;
  const bytes = (len + 7) >> 3;
  buf[p++] = len;
  if (afi === Afi.IPV4) {
    if (len > 32) throw new TypeError(`IPv4 prefix length ${len}`);
    const v = parseIpv4(addr);
    if (v < 0) throw new TypeError(`invalid IPv4 prefix address "${addr}"`);
    const m = (v & ipv4Mask(len)) >>> 0;
    if (bytes > 0) buf[p] = m >>> 24;
    if (bytes > 1) buf[p + 1] = (m >>> 16) & 255;
    if (bytes > 2) buf[p + 2] = (m >>> 8) & 255;
    if (bytes > 3) buf[p + 3] = m & 255;
    return p + bytes;
  }
  if (len > 128) throw new TypeError(`IPv6 prefix length ${len}`);
  const b = parseIpv6(addr);
  if (!b) throw new TypeError(`invalid IPv6 prefix address "${addr}"`);
  maskBytes(b, len);
  for (let i = 0; i < bytes; i++) buf[p + i] = b[i]!;
  return p + bytes;
}
