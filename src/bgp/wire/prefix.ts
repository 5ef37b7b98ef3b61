/**
 * IP prefixes: canonical text (IPv4 dotted quad, IPv6 per RFC 5952), parsing, containment, and
 * the NLRI wire form of RFC 4271 §4.3 / RFC 4760 §5 (length octet + minimal address octets),
 * with the RFC 7911 ADD-PATH 4-octet path identifier in front when negotiated.
 * The IPv4 NLRI paths are the codec's hot loop: no per-octet allocation, table-driven text.
 */
import { isIPv6 } from "node:net";
import { Afi, type AfiCode, Safi } from "./constants.ts";
import type { Nlri, Prefix } from "./types.ts";

/** Decimal text of every octet value, so IPv4 formatting is three concatenations. */
const OCTET: readonly string[] = Array.from({ length: 256 }, (_, i) => String(i));

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

export function formatIpv4(v: number): string {
  return `${OCTET[v >>> 24]}.${OCTET[(v >>> 16) & 255]}.${OCTET[(v >>> 8) & 255]}.${OCTET[v & 255]}`;
}

/** Parses dotted-quad IPv4 text to an unsigned 32-bit value; -1 when it is not exactly a.b.c.d. */
export function parseIpv4(text: string): number {
  let v = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
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

/** Parses IPv6 text (any valid RFC 4291 form, including embedded IPv4) to 16 octets, or undefined. */
export function parseIpv6(text: string): Uint8Array | undefined {
  if (!isIPv6(text) || text.includes("%")) return undefined;
  const out = new Uint8Array(16);
  let s = text;
  let tail4: number | undefined;
  const lastColon = s.lastIndexOf(":");
  if (s.indexOf(".", lastColon) >= 0) {
    tail4 = parseIpv4(s.slice(lastColon + 1));
    if (tail4 < 0) return undefined;
    s = `${s.slice(0, lastColon + 1)}0:0`;
  }
  const dbl = s.indexOf("::");
  const parseGroups = (part: string): number[] =>
    part === "" ? [] : part.split(":").map((g) => Number.parseInt(g, 16));
  let groups: number[];
  if (dbl >= 0) {
    const head = parseGroups(s.slice(0, dbl));
    const tail = parseGroups(s.slice(dbl + 2));
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    groups = parseGroups(s);
  }
  if (groups.length !== 8) return undefined;
  for (let i = 0; i < 8; i++) {
    const g = groups[i]!;
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 255;
  }
  if (tail4 !== undefined) {
    out[12] = tail4 >>> 24;
    out[13] = (tail4 >>> 16) & 255;
    out[14] = (tail4 >>> 8) & 255;
    out[15] = tail4 & 255;
  }
  return out;
}

/** RFC 5952 text for 16 octets: lower case, no leading zeros, longest (first) zero run as "::". */
export function formatIpv6(b: Uint8Array, off = 0): string {
  const g: number[] = new Array(8);
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
  const hex = (from: number, to: number): string =>
    g
      .slice(from, to)
      .map((x) => x.toString(16))
      .join(":");
  if (bestAt < 0) return hex(0, 8);
  return `${hex(0, bestAt)}::${hex(bestAt + bestLen, 8)}`;
}

/** Canonical text of an IPv4 or IPv6 address, or undefined when `text` is neither. */
export function canonicalIp(text: string): string | undefined {
  const v4 = parseIpv4(text);
  if (v4 >= 0) return formatIpv4(v4);
  const v6 = parseIpv6(text);
  return v6 ? formatIpv6(v6) : undefined;
}

function maskBytes(b: Uint8Array, len: number): void {
  for (let i = 0; i < b.length; i++) {
    const bits = len - i * 8;
    if (bits >= 8) continue;
    b[i] = bits <= 0 ? 0 : b[i]! & ((0xff << (8 - bits)) & 0xff);
  }
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
  if (lenText !== undefined && !/^(0|[1-9][0-9]{0,2})$/.test(lenText)) {
    throw new TypeError(`invalid prefix length in "${text}"`);
  }
  const v4 = parseIpv4(addrText);
  if (v4 >= 0) {
    const len = lenText === undefined ? 32 : Number(lenText);
    if (len > 32) throw new TypeError(`IPv4 prefix length ${len} > 32 in "${text}"`);
    if ((v4 & ~ipv4Mask(len)) >>> 0 !== 0) throw new RangeError(`host bits set in "${text}"`);
    return { afi: Afi.IPV4, addr: formatIpv4(v4), len };
  }
  const v6 = parseIpv6(addrText);
  if (!v6) throw new TypeError(`invalid IP prefix "${text}"`);
  const len = lenText === undefined ? 128 : Number(lenText);
  if (len > 128) throw new TypeError(`IPv6 prefix length ${len} > 128 in "${text}"`);
  const masked = Uint8Array.from(v6);
  maskBytes(masked, len);
  if (!masked.every((x, i) => x === v6[i])) throw new RangeError(`host bits set in "${text}"`);
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
      const prefix: Prefix = {
        afi: Afi.IPV4,
        addr: `${OCTET[v >>> 24]}.${OCTET[(v >>> 16) & 255]}.${OCTET[(v >>> 8) & 255]}.${OCTET[v & 255]}`,
        len,
      };
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
