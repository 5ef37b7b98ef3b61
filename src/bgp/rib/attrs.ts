/**
 * Small pure helpers over PathAttributes used by the decision process, export rules and
 * policy: AS_PATH length and neighbour AS (RFC 4271 §9.1.2.2, RFC 5065), prepending,
 * community tests, and content keys for interning identical attribute sets.
 */
import { AsPathSegmentType, WellKnownCommunity } from "../wire/constants.ts";
import type { AsPathSegment, PathAttributes } from "../wire/types.ts";

/** RFC 4271 §4.3: at most 255 ASNs per segment. */
const MAX_SEGMENT_ASNS = 255;

/**
 * RFC 4271 §9.1.2.2 a): an AS_SET counts as 1 whatever its size; RFC 5065 §5.3:
 * confederation segments do not count.
 */
export function asPathLength(asPath: readonly AsPathSegment[] | undefined): number {
  if (!asPath) return 0;
  let n = 0;
  for (const seg of asPath) {
    if (seg.type === AsPathSegmentType.AS_SEQUENCE) n += seg.asns.length;
    else if (seg.type === AsPathSegmentType.AS_SET) n += 1;
  }
  return n;
}

/**
 * The neighbouring AS for MED comparison (RFC 4271 §9.1.2.2 c): the first ASN of the first
 * AS_SEQUENCE, skipping confederation segments. 0 for routes from inside our AS (empty path).
 */
export function neighbourAs(asPath: readonly AsPathSegment[] | undefined): number {
  if (!asPath) return 0;
  for (const seg of asPath) {
    if (seg.type === AsPathSegmentType.AS_CONFED_SEQUENCE || seg.type === AsPathSegmentType.AS_CONFED_SET) {
      continue;
    }
    if (seg.type === AsPathSegmentType.AS_SEQUENCE && seg.asns.length > 0) return seg.asns[0]!;
    return 0;
  }
  return 0;
}

/** Prepends ASNs (leftmost first) into a leading AS_SEQUENCE, opening new segments past 255. */
export function prependAsPath(
  asPath: readonly AsPathSegment[] | undefined,
  asns: readonly number[],
): readonly AsPathSegment[] {
  const segs = asPath ? [...asPath] : [];
  let pending = [...asns];
  const first = segs[0];
  if (first && first.type === AsPathSegmentType.AS_SEQUENCE && first.asns.length < MAX_SEGMENT_ASNS) {
    const room = MAX_SEGMENT_ASNS - first.asns.length;
    const take = pending.slice(Math.max(0, pending.length - room));
    pending = pending.slice(0, pending.length - take.length);
    segs[0] = { type: AsPathSegmentType.AS_SEQUENCE, asns: [...take, ...first.asns] };
  }
  while (pending.length > 0) {
    const take = pending.slice(Math.max(0, pending.length - MAX_SEGMENT_ASNS));
    pending = pending.slice(0, pending.length - take.length);
    segs.unshift({ type: AsPathSegmentType.AS_SEQUENCE, asns: take });
  }
  return segs;
}

export function hasCommunity(attrs: PathAttributes, c: number): boolean {
  return attrs.communities?.includes(c) === true;
}

export function isNoAdvertise(attrs: PathAttributes): boolean {
  return hasCommunity(attrs, WellKnownCommunity.NO_ADVERTISE);
}

/** NO_EXPORT, and NO_EXPORT_SUBCONFED (podgate runs no confederation, so both stop at our AS). */
export function isNoExport(attrs: PathAttributes): boolean {
  const cs = attrs.communities;
  return (
    cs !== undefined &&
    (cs.includes(WellKnownCommunity.NO_EXPORT) || cs.includes(WellKnownCommunity.NO_EXPORT_SUBCONFED))
  );
}

/**
 * A string that is equal for attribute sets with equal content (order of communities kept:
 * it is what goes on the wire). Used to intern exported attributes; computed once per
 * distinct attribute object, never per prefix.
 */
export function attrsContentKey(a: PathAttributes): string {
  // Plain concatenation (no arrays): this runs once per distinct exported attribute set.
  let k = a.origin === undefined ? "o" : `o${a.origin}`;
  if (a.asPath) {
    k += "|p";
    for (const seg of a.asPath) k += `${seg.type}:${seg.asns.join(",")};`;
  }
  if (a.nextHop !== undefined) k += `|n${a.nextHop}`;
  if (a.med !== undefined) k += `|m${a.med}`;
  if (a.localPref !== undefined) k += `|l${a.localPref}`;
  if (a.atomicAggregate) k += "|A";
  if (a.aggregator) k += `|g${a.aggregator.asn}@${a.aggregator.address}`;
  if (a.communities) k += `|c${a.communities.join(",")}`;
  if (a.originatorId !== undefined) k += `|r${a.originatorId}`;
  if (a.clusterList) k += `|C${a.clusterList.join(",")}`;
  if (a.extendedCommunities) for (const b of a.extendedCommunities) k += `|x${b.toString("hex")}`;
  if (a.largeCommunities) for (const l of a.largeCommunities) k += `|L${l[0]}:${l[1]}:${l[2]}`;
  if (a.unknown) for (const u of a.unknown) k += `|u${u.code}/${u.flags}/${u.value.toString("hex")}`;
  return k;
}

/** Field order of every attribute object built here (one hidden class per field set). */
const ATTR_KEYS = [
  "origin",
  "asPath",
  "nextHop",
  "med",
  "localPref",
  "atomicAggregate",
  "aggregator",
  "communities",
  "originatorId",
  "clusterList",
  "extendedCommunities",
  "largeCommunities",
  "mpReach",
  "mpUnreach",
  "unknown",
] as const satisfies readonly (keyof PathAttributes)[];

export type AttrsPatch = { -readonly [K in keyof PathAttributes]?: PathAttributes[K] | undefined };

/**
 * A new frozen attribute object: `a` with `patch` applied, where a key present in `patch`
 * with value undefined removes the attribute. Never uses `delete` (which drops V8 objects into
 * slow dictionary mode) and always adds fields in one order, so equal field sets share a shape.
 */
export function patchAttrs(a: PathAttributes, patch: AttrsPatch): PathAttributes {
  const o: Record<string, unknown> = {};
  for (const k of ATTR_KEYS) {
    const v = k in patch ? patch[k] : a[k];
    if (v !== undefined) o[k] = v;
  }
  return Object.freeze(o) as PathAttributes;
}
