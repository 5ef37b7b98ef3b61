/**
 * CIDR arithmetic for discovery: parse/format IPv4 and IPv6 prefixes as bigints, containment
 * and overlap, the network of an address. Small and lenient on input (cluster objects are
 * written by controllers, not people), strict on output (canonical text).
 */
import { isIPv4, isIPv6 } from "node:net";

export interface Cidr {
  readonly family: 4 | 6;
  /** Network address (host bits cleared). */
  readonly addr: bigint;
  readonly len: number;
}

export function bitsOf(family: 4 | 6): number {
  return family === 4 ? 32 : 128;
}

export function parseAddr(text: string): { family: 4 | 6; addr: bigint } | undefined {
  if (isIPv4(text)) {
    const v = text.split(".").reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n);
    return { family: 4, addr: v };
  }
  if (isIPv6(text) && !text.includes("%")) return { family: 6, addr: parseV6(text) };
  return undefined;
}

function parseV6(text: string): bigint {
  let head = text;
  let tail = "";
  const dbl = text.indexOf("::");
  if (dbl >= 0) {
    head = text.slice(0, dbl);
    tail = text.slice(dbl + 2);
  }
  const groups = (part: string): number[] => {
    if (part === "") return [];
    const out: number[] = [];
    for (const g of part.split(":")) {
      if (g.includes(".")) {
        const [a, b, c, d] = g.split(".").map(Number) as [number, number, number, number];
        out.push((a << 8) | b, (c << 8) | d);
      } else out.push(Number.parseInt(g, 16));
    }
    return out;
  };
  const h = groups(head);
  const t = groups(tail);
  const all = [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  return all.reduce((acc, w) => (acc << 16n) | BigInt(w), 0n);
}

export function formatAddr(family: 4 | 6, addr: bigint): string {
  if (family === 4) {
    return [24n, 16n, 8n, 0n].map((s) => String((addr >> s) & 0xffn)).join(".");
  }
  const words: number[] = [];
  for (let i = 7; i >= 0; i--) words.push(Number((addr >> BigInt(i * 16)) & 0xffffn));
  // RFC 5952: compress the longest run (>= 2) of zero words, the first one on ties.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (best < 0) return hex.join(":");
  return `${hex.slice(0, best).join(":")}::${hex.slice(best + bestLen).join(":")}`;
}

function mask(family: 4 | 6, len: number): bigint {
  const bits = BigInt(bitsOf(family));
  return ((1n << bits) - 1n) ^ ((1n << (bits - BigInt(len))) - 1n);
}

/** Parse "a.b.c.d/n" or "x::/n" (host bits are cleared); a bare address is a host prefix. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf("/");
  const ip = parseAddr(slash < 0 ? text : text.slice(0, slash));
  if (!ip) return undefined;
  const lenText = slash < 0 ? String(bitsOf(ip.family)) : text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lenText)) return undefined;
  const len = Number(lenText);
  if (len > bitsOf(ip.family)) return undefined;
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
  if (!ip || len > bitsOf(ip.family)) return undefined;
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
