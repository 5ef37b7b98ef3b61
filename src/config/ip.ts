/**
 * IP address and prefix text handling for the config loader: strict parsing (no zone ids, no
 * shorthand IPv4 like "10.1"), canonical formatting (RFC 5952 for IPv6) and prefix checks that
 * can suggest the corrected prefix when host bits are set.
 */
import { isIPv4, isIPv6 } from "node:net";

export type IpFamily = 4 | 6;

export interface ParsedIp {
  readonly family: IpFamily;
  /** 4 or 16 bytes, network order. */
  readonly bytes: Uint8Array;
}

/** Parse an IPv4 or IPv6 address; undefined when the text is not one. */
export function parseIp(text: string): ParsedIp | undefined {
  if (isIPv4(text)) return { family: 4, bytes: Uint8Array.from(text.split(".").map(Number)) };
  // node:net accepts zone ids ("fe80::1%eth0"); a BGP peer address in config must not carry one.
  if (!isIPv6(text) || text.includes("%")) return undefined;
  return { family: 6, bytes: parseIPv6(text) };
}

function parseIPv6(text: string): Uint8Array {
  const out = new Uint8Array(16);
  let head = text;
  let tail = "";
  const dbl = text.indexOf("::");
  if (dbl >= 0) {
    head = text.slice(0, dbl);
    tail = text.slice(dbl + 2);
  }
  const words = (part: string): number[] => {
    if (part === "") return [];
    const result: number[] = [];
    for (const group of part.split(":")) {
      if (group.includes(".")) {
        const [a, b, c, d] = group.split(".").map(Number) as [number, number, number, number];
        result.push((a << 8) | b, (c << 8) | d);
      } else {
        result.push(Number.parseInt(group, 16));
      }
    }
    return result;
  };
  const h = words(head);
  const t = words(tail);
  const all = [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  all.forEach((w, i) => {
    out[i * 2] = w >> 8;
    out[i * 2 + 1] = w & 0xff;
  });
  return out;
}

/** Canonical text: dotted quad, or RFC 5952 IPv6 (lower case, longest zero run of 2+ groups compressed). */
export function formatIp(ip: ParsedIp): string {
  if (ip.family === 4) return Array.from(ip.bytes).join(".");
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((ip.bytes[i]! << 8) | ip.bytes[i + 1]!);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (ws: number[]) => ws.map((w) => w.toString(16)).join(":");
  if (bestLen < 2) return hex(words);
  return `${hex(words.slice(0, bestStart))}::${hex(words.slice(bestStart + bestLen))}`;
}

/** Canonical form of an address, or undefined when it is not an address. */
export function canonicalIp(text: string): string | undefined {
  const ip = parseIp(text);
  return ip ? formatIp(ip) : undefined;
}

export interface ParsedPrefix {
  readonly family: IpFamily;
  readonly length: number;
  /** Canonical "addr/len" text. */
  readonly text: string;
}

export type PrefixResult =
  | { readonly ok: true; readonly prefix: ParsedPrefix }
  | { readonly ok: false; readonly message: string };

/** Maximum prefix length per family. */
export function maxPrefixLength(family: IpFamily): number {
  return family === 4 ? 32 : 128;
}

/**
 * Parse "addr/len". Host bits must be zero: a typo such as 10.244.1.0/16 would otherwise match a
 * different range than the operator meant, so it is an error whose message names the fix.
 */
export function parsePrefix(text: string): PrefixResult {
  const slash = text.indexOf("/");
  if (slash < 0) return { ok: false, message: 'must be a prefix "address/length" (no "/length" found)' };
  const ip = parseIp(text.slice(0, slash));
  const lenText = text.slice(slash + 1);
  if (!ip)
    return {
      ok: false,
      message: 'must be a prefix "address/length" (the address part is not an IP address)',
    };
  const max = maxPrefixLength(ip.family);
  if (!/^\d{1,3}$/.test(lenText) || Number(lenText) > max) {
    return { ok: false, message: `prefix length must be an integer 0..${max}` };
  }
  const length = Number(lenText);
  const masked = new Uint8Array(ip.bytes);
  for (let bit = length; bit < max; bit++) masked[bit >> 3]! &= ~(0x80 >> (bit & 7));
  const fixed = `${formatIp({ family: ip.family, bytes: masked })}/${length}`;
  if (!masked.every((b, i) => b === ip.bytes[i])) {
    return { ok: false, message: `host bits are set; did you mean ${fixed}?` };
  }
  return { ok: true, prefix: { family: ip.family, length, text: fixed } };
}
