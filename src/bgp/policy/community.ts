/**
 * Text forms of communities used in configuration: RFC 1997 "ASN:VALUE" and the well-known
 * names (NO_EXPORT, NO_ADVERTISE, ... also accepted as "no-export"), RFC 8092 "GA:LD1:LD2".
 */
import { WellKnownCommunity } from "../wire/constants.ts";
import type { LargeCommunity } from "../wire/types.ts";

const WELL_KNOWN: Readonly<Record<string, number>> = {
  NO_EXPORT: WellKnownCommunity.NO_EXPORT,
  NO_ADVERTISE: WellKnownCommunity.NO_ADVERTISE,
  NO_EXPORT_SUBCONFED: WellKnownCommunity.NO_EXPORT_SUBCONFED,
  GRACEFUL_SHUTDOWN: WellKnownCommunity.GRACEFUL_SHUTDOWN,
  BLACKHOLE: WellKnownCommunity.BLACKHOLE,
};

const U16 = /^(0|[1-9][0-9]{0,4})$/;
const U32 = /^(0|[1-9][0-9]{0,9})$/;

/** "65000:1" or a well-known name to the 32-bit community value; throws on bad text. */
export function parseCommunity(text: string): number {
  const wk = WELL_KNOWN[text.toUpperCase().replaceAll("-", "_")];
  if (wk !== undefined) return wk;
  const [hi, lo, extra] = text.split(":");
  if (extra !== undefined || hi === undefined || lo === undefined || !U16.test(hi) || !U16.test(lo)) {
    throw new TypeError(`invalid community "${text}" (expected ASN:VALUE or a well-known name)`);
  }
  const h = Number(hi);
  const l = Number(lo);
  if (h > 0xffff || l > 0xffff) throw new RangeError(`community "${text}" out of range`);
  return ((h << 16) | l) >>> 0;
}

export function formatCommunity(c: number): string {
  for (const [name, v] of Object.entries(WELL_KNOWN)) if (v === c) return name;
  return `${c >>> 16}:${c & 0xffff}`;
}

/** "GA:LD1:LD2" (each 32-bit) to a large community; throws on bad text. */
export function parseLargeCommunity(text: string): LargeCommunity {
  const parts = text.split(":");
  if (parts.length !== 3 || !parts.every((p) => U32.test(p) && Number(p) <= 0xffffffff)) {
    throw new TypeError(`invalid large community "${text}" (expected GA:LD1:LD2)`);
  }
  return [Number(parts[0]), Number(parts[1]), Number(parts[2])];
}
