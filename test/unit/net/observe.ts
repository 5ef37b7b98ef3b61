/**
 * What each of the four address modules makes of a text, as one comparable string per module.
 * Shared by the pinned-behaviour table and the property tests.
 */
import { addressSortKey, parsePrefixText } from "../../../src/bgp/rib/prefix-util.ts";
import * as wire from "../../../src/bgp/wire/prefix.ts";
import * as config from "../../../src/config/ip.ts";
import * as discovery from "../../../src/discovery/cidr.ts";

export const REJECTED = "✗";

export interface Seen {
  readonly config: string;
  readonly discovery: string;
  readonly rib: string;
  readonly wire: string;
}

/** An address text through each module's address parser (and its formatter where it has one). */
export function observeAddress(text: string): Seen {
  const d = discovery.parseAddr(text);
  const key = addressSortKey(text);
  return {
    config: config.canonicalIp(text) ?? REJECTED,
    discovery: d ? discovery.formatAddr(d.family, d.addr) : REJECTED,
    // addressSortKey puts what neither ipv4ToNumber nor ipv6ToWords parses under "9".
    rib: key.startsWith("9") ? REJECTED : key,
    wire: wire.canonicalIp(text) ?? REJECTED,
  };
}

/** A prefix text through each module's prefix parser. */
export function observePrefix(text: string): Seen {
  const c = config.parsePrefix(text);
  const r = parsePrefixText(text);
  let w: string;
  try {
    w = wire.formatPrefix(wire.parsePrefix(text));
  } catch (e) {
    w = `${REJECTED} ${(e as Error).name}: ${(e as Error).message}`;
  }
  return {
    config: c.ok ? c.prefix.text : `${REJECTED} ${c.message}`,
    discovery: discovery.canonicalCidr(text) ?? REJECTED,
    rib: r ? `${r.afi} ${r.words.map((x) => x.toString(16).padStart(8, "0")).join(".")}/${r.len}` : REJECTED,
    wire: w,
  };
}
