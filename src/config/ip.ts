/**
 * IP address and prefix text for the config loader: addresses are src/net/ip.ts (strict parsing,
 * no zone ids, no shorthand IPv4 like "10.1", RFC 5952 output); this file owns the prefix check
 * that refuses host bits and suggests the corrected prefix in its message.
 */
import { familyBits, formatIp, type IpFamily, maskBytes, parseIp, parsePrefixLength } from "../net/ip.ts";

export {
  canonicalIp,
  familyBits as maxPrefixLength,
  formatIp,
  type IpFamily,
  type ParsedIp,
  parseIp,
} from "../net/ip.ts";

export interface ParsedPrefix {
  readonly family: IpFamily;
  readonly length: number;
  /** Canonical "addr/len" text. */
  readonly text: string;
}

export type PrefixResult =
  | { readonly ok: true; readonly prefix: ParsedPrefix }
  | { readonly ok: false; readonly message: string };

/**
 * Parse "addr/len". Host bits must be zero: a typo such as 10.244.1.0/16 would otherwise match a
 * different range than the operator meant, so it is an error whose message names the fix.
 */
export function parsePrefix(text: string): PrefixResult {
  const slash = text.indexOf("/");
  if (slash < 0) return { ok: false, message: 'must be a prefix "address/length" (no "/length" found)' };
  const ip = parseIp(text.slice(0, slash));
  if (!ip)
    return {
      ok: false,
      message: 'must be a prefix "address/length" (the address part is not an IP address)',
    };
  const max = familyBits(ip.family);
  const length = parsePrefixLength(text.slice(slash + 1));
  if (length < 0 || length > max) return { ok: false, message: `prefix length must be an integer 0..${max}` };
  const masked = ip.bytes.slice();
  maskBytes(masked, length);
  const fixed = `${formatIp({ family: ip.family, bytes: masked })}/${length}`;
  if (!masked.every((b, i) => b === ip.bytes[i])) {
    return { ok: false, message: `host bits are set; did you mean ${fixed}?` };
  }
  return { ok: true, prefix: { family: ip.family, length, text: fixed } };
}
