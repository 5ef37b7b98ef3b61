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
  const parts: string[] = [
    a.origin === undefined ? "" : String(a.origin),
    a.asPath ? a.asPath.map((s) => `${s.type}:${s.asns.join(",")}`).join(" ") : "-",
    a.nextHop ?? "",
    a.med === undefined ? "" : String(a.med),
    a.localPref === undefined ? "" : String(a.localPref),
    a.atomicAggregate ? "A" : "",
    a.aggregator ? `${a.aggregator.asn}@${a.aggregator.address}` : "",
    a.communities ? a.communities.join(",") : "-",
    a.originatorId ?? "",
    a.clusterList ? a.clusterList.join(",") : "-",
    a.extendedCommunities ? a.extendedCommunities.map((b) => b.toString("hex")).join(",") : "-",
    a.largeCommunities ? a.largeCommunities.map((l) => l.join(":")).join(",") : "-",
    a.unknown ? a.unknown.map((u) => `${u.code}/${u.flags}/${u.value.toString("hex")}`).join(",") : "-",
  ];
  return parts.join("|");
}
