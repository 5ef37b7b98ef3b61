/**
 * Path attributes, described by ONE table (BIRD's bgp_attr_table): for each known type code its
 * name, the Optional/Transitive flags it must carry, how RFC 7606 handles a malformed value,
 * and its decode/encode functions. update.ts walks the wire attributes and dispatches here.
 *
 * AS numbers above the codec are always 4-octet: on a 2-octet session AS_PATH/AGGREGATOR are
 * merged with AS4_PATH/AS4_AGGREGATOR on decode (RFC 6793 §4.2.3) and split again on encode
 * (RFC 6793 §4.2.2, AS_TRANS in the 2-octet fields).
 */
import {
  Afi,
  type AfiCode,
  AS_TRANS,
  AsPathSegmentType,
  type AsPathSegmentTypeCode,
  AttrFlag,
  AttrType,
  Origin,
  type OriginCode,
  Safi,
  UpdateMessageError,
} from "./constants.ts";
import {
  decodeNlri,
  familyKey,
  formatIpv4,
  formatIpv6,
  nlriSize,
  parseIpv4,
  parseIpv6,
  writeNlri,
} from "./prefix.ts";
import type {
  Aggregator,
  AsPathSegment,
  CodecOptions,
  ErrorHandling,
  LargeCommunity,
  MpReach,
  MpUnreach,
  Nlri,
  PathAttributes,
  RawAttribute,
} from "./types.ts";
import { BufferWriter } from "./writer.ts";

/** Thrown by a descriptor's decode for a malformed value; the table entry says how it is handled. */
export class AttrMalformed extends Error {
  readonly subcode: number;
  constructor(subcode: number, message: string) {
    super(message);
    this.name = "AttrMalformed";
    this.subcode = subcode;
  }
}

/** Attributes being decoded (PathAttributes made writable) plus the RFC 6793 side values. */
export type DecodedAttrs = { -readonly [K in keyof PathAttributes]: PathAttributes[K] };
export interface As4Side {
  as4Path?: AsPathSegment[];
  as4Aggregator?: Aggregator;
}

export interface AttrDescriptor {
  readonly code: number;
  readonly name: string;
  /** Optional|Transitive bits the attribute must carry (RFC 4271 §5 and the defining RFC). */
  readonly flags: number;
  /** RFC 7606 approach for a malformed value. */
  readonly malformed: ErrorHandling;
  /** RFC 7606 §7.5/§7.9/§7.10: discarded when received from an external peer. */
  readonly ebgpDiscard?: boolean;
  decode(v: Buffer, out: DecodedAttrs, side: As4Side, opts: CodecOptions): void;
  /** Writes this attribute (complete TLV) when `a` carries it; may write nothing. */
  encode(a: PathAttributes, w: BufferWriter, opts: CodecOptions): void;
}

const WELL_KNOWN = AttrFlag.TRANSITIVE;
const OPTIONAL_TRANSITIVE = AttrFlag.OPTIONAL | AttrFlag.TRANSITIVE;
const OPTIONAL_NON_TRANSITIVE = AttrFlag.OPTIONAL;

/** Writes flags, type, length (extended when the value is over 255 octets, RFC 4271 §4.3) and value. */
export function writeAttr(w: BufferWriter, flags: number, code: number, value: Uint8Array): void {
  if (value.length > 0xffff) throw new RangeError(`attribute ${code} value over 65535 octets`);
  if (value.length > 255)
    w.u8(flags | AttrFlag.EXTENDED_LENGTH)
      .u8(code)
      .u16(value.length);
  else
    w.u8(flags & ~AttrFlag.EXTENDED_LENGTH)
      .u8(code)
      .u8(value.length);
  w.bytes(value);
}

function lengthError(name: string, len: number): AttrMalformed {
  return new AttrMalformed(UpdateMessageError.ATTRIBUTE_LENGTH_ERROR, `${name}: bad length ${len}`);
}

function u32Attr(v: Buffer, name: string): number {
  if (v.length !== 4) throw lengthError(name, v.length);
  return v.readUInt32BE(0);
}

function u32Value(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

function ipv4Value(text: string, what: string): Buffer {
  const v = parseIpv4(text);
  if (v < 0) throw new TypeError(`${what}: "${text}" is not an IPv4 address`);
  return u32Value(v);
}

/** RFC 4271 §4.3 AS_PATH segments; RFC 7606 §7.2 malformed cases. */
export function decodeAsPath(v: Buffer, asSize: 2 | 4): AsPathSegment[] {
  const segs: AsPathSegment[] = [];
  let p = 0;
  while (p < v.length) {
    if (p + 2 > v.length)
      throw new AttrMalformed(UpdateMessageError.MALFORMED_AS_PATH, "AS_PATH: truncated segment");
    const type = v[p]!;
    const count = v[p + 1]!;
    p += 2;
    if (type < AsPathSegmentType.AS_SET || type > AsPathSegmentType.AS_CONFED_SET) {
      throw new AttrMalformed(UpdateMessageError.MALFORMED_AS_PATH, `AS_PATH: unknown segment type ${type}`);
    }
    if (count === 0) throw new AttrMalformed(UpdateMessageError.MALFORMED_AS_PATH, "AS_PATH: empty segment");
    if (p + count * asSize > v.length) {
      throw new AttrMalformed(UpdateMessageError.MALFORMED_AS_PATH, "AS_PATH: segment overruns attribute");
    }
    const asns: number[] = new Array(count);
    for (let i = 0; i < count; i++) {
      asns[i] = asSize === 4 ? v.readUInt32BE(p) : v.readUInt16BE(p);
      p += asSize;
    }
    segs.push({ type: type as AsPathSegmentTypeCode, asns });
  }
  return segs;
}

/** Encodes segments; long ones are split at 255 ASNs; ASNs over 65535 become AS_TRANS when asSize is 2. */
export function encodeAsPath(segs: readonly AsPathSegment[], asSize: 2 | 4): Buffer {
  const w = new BufferWriter(64);
  for (const s of segs) {
    for (let i = 0; i < s.asns.length || (i === 0 && s.asns.length === 0); i += 255) {
      const chunk = s.asns.slice(i, i + 255);
      if (chunk.length === 0) break;
      w.u8(s.type).u8(chunk.length);
      for (const asn of chunk) {
        if (asSize === 4) w.u32(asn);
        else w.u16(asn > 0xffff ? AS_TRANS : asn);
      }
    }
  }
  return w.toBuffer();
}

const isConfed = (t: number): boolean =>
  t === AsPathSegmentType.AS_CONFED_SEQUENCE || t === AsPathSegmentType.AS_CONFED_SET;

/** RFC 6793 §4.2.3 path length: AS_SET counts 1, confederation segments 0. */
function pathCount(segs: readonly AsPathSegment[]): number {
  let n = 0;
  for (const s of segs) {
    if (s.type === AsPathSegmentType.AS_SEQUENCE) n += s.asns.length;
    else if (s.type === AsPathSegmentType.AS_SET) n += 1;
  }
  return n;
}

/**
 * RFC 6793 §4.2.3: keep the leading (count(AS_PATH) - count(AS4_PATH)) ASes of AS_PATH (with
 * any confederation segments among them) and append AS4_PATH. AS4_PATH longer than AS_PATH
 * is ignored.
 */
export function mergeAs4Path(
  asPath: readonly AsPathSegment[],
  as4Path: readonly AsPathSegment[],
): AsPathSegment[] {
  let need = pathCount(asPath) - pathCount(as4Path);
  if (need < 0) return asPath.slice();
  const out: AsPathSegment[] = [];
  for (const s of asPath) {
    if (isConfed(s.type)) {
      out.push(s);
    } else if (need > 0) {
      if (s.type === AsPathSegmentType.AS_SET) {
        out.push(s);
        need -= 1;
      } else {
        const take = Math.min(need, s.asns.length);
        out.push({ type: s.type, asns: s.asns.slice(0, take) });
        need -= take;
      }
    }
  }
  for (const s of as4Path) {
    const last = out[out.length - 1];
    if (last && last.type === AsPathSegmentType.AS_SEQUENCE && s.type === AsPathSegmentType.AS_SEQUENCE) {
      out[out.length - 1] = { type: last.type, asns: [...last.asns, ...s.asns] };
    } else {
      out.push(s);
    }
  }
  return out;
}

function aggregatorValue(ag: Aggregator, asSize: 2 | 4): Buffer {
  const b = Buffer.allocUnsafe(asSize + 4);
  if (asSize === 4) b.writeUInt32BE(ag.asn >>> 0);
  else b.writeUInt16BE(ag.asn > 0xffff ? AS_TRANS : ag.asn);
  const ip = parseIpv4(ag.address);
  if (ip < 0) throw new TypeError(`AGGREGATOR address "${ag.address}" is not IPv4`);
  b.writeUInt32BE(ip, asSize);
  return b;
}

const needsAs4 = (a: PathAttributes, opts: CodecOptions): boolean =>
  !opts.fourOctetAs && (a.asPath ?? []).some((s) => s.asns.some((n) => n > 0xffff));

/** MP_REACH/MP_UNREACH errors: the prefixes cannot be located, so RFC 7606 §7.11 says session reset. */
function mpError(subcode: number, message: string): AttrMalformed {
  return new AttrMalformed(subcode, message);
}

function mpFamily(v: Buffer, name: string): AfiCode {
  const afi = v.readUInt16BE(0);
  const safi = v[2]!;
  if ((afi !== Afi.IPV4 && afi !== Afi.IPV6) || safi !== Safi.UNICAST) {
    throw mpError(UpdateMessageError.OPTIONAL_ATTRIBUTE_ERROR, `${name}: unsupported family ${afi}/${safi}`);
  }
  return afi;
}

function mpNlri(v: Buffer, start: number, afi: AfiCode, opts: CodecOptions, name: string): Nlri[] {
  const out: Nlri[] = [];
  decodeNlri(v, start, v.length, afi, opts.addPathReceive.has(familyKey(afi, Safi.UNICAST)), out, () =>
    mpError(UpdateMessageError.INVALID_NETWORK_FIELD, `${name}: invalid NLRI`),
  );
  return out;
}

function nlriBytes(list: readonly Nlri[], addPath: boolean): Buffer {
  let size = 0;
  for (const n of list) size += nlriSize(n, addPath);
  const b = Buffer.allocUnsafe(size);
  let p = 0;
  for (const n of list) p = writeNlri(b, p, n, addPath);
  return b;
}

export function encodeMpReachValue(
  m: MpReach,
  opts: CodecOptions,
  nlri: Buffer | undefined = undefined,
): Buffer {
  const w = new BufferWriter(64);
  w.u16(m.afi).u8(m.safi);
  if (m.afi === Afi.IPV4) {
    w.u8(4).bytes(ipv4Value(m.nextHop, "MP_REACH next hop"));
  } else {
    const g = parseIpv6(m.nextHop);
    if (!g) throw new TypeError(`MP_REACH next hop "${m.nextHop}" is not IPv6`);
    const ll = m.linkLocalNextHop !== undefined ? parseIpv6(m.linkLocalNextHop) : undefined;
    if (m.linkLocalNextHop !== undefined && !ll)
      throw new TypeError(`bad link-local next hop "${m.linkLocalNextHop}"`);
    w.u8(ll ? 32 : 16).bytes(g);
    if (ll) w.bytes(ll);
  }
  w.u8(0); // RFC 4760 §3: Reserved (formerly SNPA count)
  w.bytes(nlri ?? nlriBytes(m.nlri, opts.addPathSend.has(familyKey(m.afi, m.safi))));
  return w.toBuffer();
}

export function encodeMpUnreachValue(
  m: MpUnreach,
  opts: CodecOptions,
  withdrawn: Buffer | undefined = undefined,
): Buffer {
  const w = new BufferWriter(64);
  w.u16(m.afi).u8(m.safi);
  w.bytes(withdrawn ?? nlriBytes(m.withdrawn, opts.addPathSend.has(familyKey(m.afi, m.safi))));
  return w.toBuffer();
}

/** The attribute table, in encoding order after MP_UNREACH/MP_REACH (RFC 7606 §5.1 puts those first). */
export const ATTRIBUTE_TABLE: readonly AttrDescriptor[] = [
  {
    code: AttrType.MP_UNREACH_NLRI,
    name: "MP_UNREACH_NLRI",
    flags: OPTIONAL_NON_TRANSITIVE,
    malformed: "session-reset", // RFC 7606 §7.12 / §5.3
    decode(v, out, _side, opts) {
      if (v.length < 3)
        throw mpError(UpdateMessageError.OPTIONAL_ATTRIBUTE_ERROR, "MP_UNREACH_NLRI: too short");
      const afi = mpFamily(v, "MP_UNREACH_NLRI");
      out.mpUnreach = { afi, safi: v[2]!, withdrawn: mpNlri(v, 3, afi, opts, "MP_UNREACH_NLRI") };
    },
    encode(a, w, opts) {
      if (a.mpUnreach) writeAttr(w, this.flags, this.code, encodeMpUnreachValue(a.mpUnreach, opts));
    },
  },
  {
    code: AttrType.MP_REACH_NLRI,
    name: "MP_REACH_NLRI",
    flags: OPTIONAL_NON_TRANSITIVE,
    malformed: "session-reset", // RFC 7606 §7.11 / §5.3
    decode(v, out, _side, opts) {
      const name = "MP_REACH_NLRI";
      if (v.length < 5) throw mpError(UpdateMessageError.OPTIONAL_ATTRIBUTE_ERROR, `${name}: too short`);
      const afi = mpFamily(v, name);
      const nhLen = v[3]!;
      if (5 + nhLen > v.length)
        throw mpError(UpdateMessageError.OPTIONAL_ATTRIBUTE_ERROR, `${name}: next hop overruns`);
      // RFC 7606 §7.11: a next hop length inconsistent with the family is a session reset.
      let m: MpReach;
      if (afi === Afi.IPV4) {
        if (nhLen !== 4)
          throw mpError(UpdateMessageError.OPTIONAL_ATTRIBUTE_ERROR, `${name}: next hop length ${nhLen}`);
        m = {
          afi,
          safi: v[2]!,
          nextHop: formatIpv4(v.readUInt32BE(4)),
          nlri: mpNlri(v, 5 + nhLen, afi, opts, name),
        };
      } else {
        if (nhLen !== 16 && nhLen !== 32) {
          throw mpError(UpdateMessageError.OPTIONAL_ATTRIBUTE_ERROR, `${name}: next hop length ${nhLen}`);
        }
        const nlri = mpNlri(v, 5 + nhLen, afi, opts, name);
        m =
          nhLen === 32
            ? { afi, safi: v[2]!, nextHop: formatIpv6(v, 4), linkLocalNextHop: formatIpv6(v, 20), nlri }
            : { afi, safi: v[2]!, nextHop: formatIpv6(v, 4), nlri };
      }
      out.mpReach = m;
    },
    encode(a, w, opts) {
      if (a.mpReach) writeAttr(w, this.flags, this.code, encodeMpReachValue(a.mpReach, opts));
    },
  },
  {
    code: AttrType.ORIGIN,
    name: "ORIGIN",
    flags: WELL_KNOWN,
    malformed: "treat-as-withdraw", // RFC 7606 §7.1
    decode(v, out) {
      if (v.length !== 1) throw lengthError("ORIGIN", v.length);
      if (v[0]! > Origin.INCOMPLETE) {
        throw new AttrMalformed(
          UpdateMessageError.INVALID_ORIGIN_ATTRIBUTE,
          `ORIGIN: undefined value ${v[0]}`,
        );
      }
      out.origin = v[0] as OriginCode;
    },
    encode(a, w) {
      if (a.origin !== undefined) writeAttr(w, this.flags, this.code, Uint8Array.of(a.origin));
    },
  },
  {
    code: AttrType.AS_PATH,
    name: "AS_PATH",
    flags: WELL_KNOWN,
    malformed: "treat-as-withdraw", // RFC 7606 §7.2
    decode(v, out, _side, opts) {
      out.asPath = decodeAsPath(v, opts.fourOctetAs ? 4 : 2);
    },
    encode(a, w, opts) {
      if (a.asPath) writeAttr(w, this.flags, this.code, encodeAsPath(a.asPath, opts.fourOctetAs ? 4 : 2));
    },
  },
  {
    code: AttrType.NEXT_HOP,
    name: "NEXT_HOP",
    flags: WELL_KNOWN,
    malformed: "treat-as-withdraw", // RFC 7606 §7.3
    decode(v, out) {
      out.nextHop = formatIpv4(u32Attr(v, "NEXT_HOP"));
    },
    encode(a, w) {
      if (a.nextHop !== undefined) writeAttr(w, this.flags, this.code, ipv4Value(a.nextHop, "NEXT_HOP"));
    },
  },
  {
    code: AttrType.MULTI_EXIT_DISC,
    name: "MULTI_EXIT_DISC",
    flags: OPTIONAL_NON_TRANSITIVE,
    malformed: "treat-as-withdraw", // RFC 7606 §7.4
    decode(v, out) {
      out.med = u32Attr(v, "MULTI_EXIT_DISC");
    },
    encode(a, w) {
      if (a.med !== undefined) writeAttr(w, this.flags, this.code, u32Value(a.med));
    },
  },
  {
    code: AttrType.LOCAL_PREF,
    name: "LOCAL_PREF",
    flags: WELL_KNOWN,
    malformed: "treat-as-withdraw", // RFC 7606 §7.5
    ebgpDiscard: true,
    decode(v, out) {
      out.localPref = u32Attr(v, "LOCAL_PREF");
    },
    encode(a, w, opts) {
      // RFC 4271 §5.1.5: not sent to external peers.
      if (a.localPref !== undefined && !opts.ebgp) writeAttr(w, this.flags, this.code, u32Value(a.localPref));
    },
  },
  {
    code: AttrType.ATOMIC_AGGREGATE,
    name: "ATOMIC_AGGREGATE",
    flags: WELL_KNOWN,
    malformed: "attribute-discard", // RFC 7606 §7.6
    decode(v, out) {
      if (v.length !== 0) throw lengthError("ATOMIC_AGGREGATE", v.length);
      out.atomicAggregate = true;
    },
    encode(a, w) {
      if (a.atomicAggregate) writeAttr(w, this.flags, this.code, new Uint8Array(0));
    },
  },
  {
    code: AttrType.AGGREGATOR,
    name: "AGGREGATOR",
    flags: OPTIONAL_TRANSITIVE,
    malformed: "attribute-discard", // RFC 7606 §7.7
    decode(v, out, _side, opts) {
      const asSize = opts.fourOctetAs ? 4 : 2;
      if (v.length !== asSize + 4) throw lengthError("AGGREGATOR", v.length);
      out.aggregator = {
        asn: asSize === 4 ? v.readUInt32BE(0) : v.readUInt16BE(0),
        address: formatIpv4(v.readUInt32BE(asSize)),
      };
    },
    encode(a, w, opts) {
      if (a.aggregator)
        writeAttr(w, this.flags, this.code, aggregatorValue(a.aggregator, opts.fourOctetAs ? 4 : 2));
    },
  },
  {
    code: AttrType.COMMUNITIES,
    name: "COMMUNITIES",
    flags: OPTIONAL_TRANSITIVE,
    malformed: "treat-as-withdraw", // RFC 7606 §7.8
    decode(v, out) {
      if (v.length === 0 || v.length % 4 !== 0) throw lengthError("COMMUNITIES", v.length);
      const c: number[] = new Array(v.length / 4);
      for (let i = 0; i < c.length; i++) c[i] = v.readUInt32BE(i * 4);
      out.communities = c;
    },
    encode(a, w) {
      if (!a.communities || a.communities.length === 0) return;
      const b = Buffer.allocUnsafe(a.communities.length * 4);
      a.communities.forEach((c, i) => {
        b.writeUInt32BE(c >>> 0, i * 4);
      });
      writeAttr(w, this.flags, this.code, b);
    },
  },
  {
    code: AttrType.ORIGINATOR_ID,
    name: "ORIGINATOR_ID",
    flags: OPTIONAL_NON_TRANSITIVE,
    malformed: "treat-as-withdraw", // RFC 7606 §7.9
    ebgpDiscard: true,
    decode(v, out) {
      out.originatorId = formatIpv4(u32Attr(v, "ORIGINATOR_ID"));
    },
    encode(a, w, opts) {
      if (a.originatorId !== undefined && !opts.ebgp) {
        writeAttr(w, this.flags, this.code, ipv4Value(a.originatorId, "ORIGINATOR_ID"));
      }
    },
  },
  {
    code: AttrType.CLUSTER_LIST,
    name: "CLUSTER_LIST",
    flags: OPTIONAL_NON_TRANSITIVE,
    malformed: "treat-as-withdraw", // RFC 7606 §7.10
    ebgpDiscard: true,
    decode(v, out) {
      if (v.length === 0 || v.length % 4 !== 0) throw lengthError("CLUSTER_LIST", v.length);
      const ids: string[] = [];
      for (let i = 0; i < v.length; i += 4) ids.push(formatIpv4(v.readUInt32BE(i)));
      out.clusterList = ids;
    },
    encode(a, w, opts) {
      if (!a.clusterList || a.clusterList.length === 0 || opts.ebgp) return;
      writeAttr(
        w,
        this.flags,
        this.code,
        Buffer.concat(a.clusterList.map((id) => ipv4Value(id, "CLUSTER_LIST"))),
      );
    },
  },
  {
    code: AttrType.EXTENDED_COMMUNITIES,
    name: "EXTENDED_COMMUNITIES",
    flags: OPTIONAL_TRANSITIVE,
    malformed: "treat-as-withdraw", // RFC 7606 §7.14
    decode(v, out) {
      if (v.length === 0 || v.length % 8 !== 0) throw lengthError("EXTENDED_COMMUNITIES", v.length);
      const c: Buffer[] = [];
      for (let i = 0; i < v.length; i += 8) c.push(Buffer.from(v.subarray(i, i + 8)));
      out.extendedCommunities = c;
    },
    encode(a, w) {
      if (!a.extendedCommunities || a.extendedCommunities.length === 0) return;
      for (const c of a.extendedCommunities) {
        if (c.length !== 8) throw new TypeError("extended community must be 8 octets");
      }
      writeAttr(w, this.flags, this.code, Buffer.concat(a.extendedCommunities));
    },
  },
  {
    code: AttrType.AS4_PATH,
    name: "AS4_PATH",
    flags: OPTIONAL_TRANSITIVE,
    malformed: "attribute-discard", // RFC 6793 §6
    decode(v, _out, side) {
      // RFC 6793 §6: confederation segments in AS4_PATH are discarded.
      side.as4Path = decodeAsPath(v, 4).filter((s) => !isConfed(s.type));
    },
    encode(a, w, opts) {
      if (!needsAs4(a, opts)) return;
      const segs = (a.asPath ?? []).filter((s) => !isConfed(s.type));
      writeAttr(w, this.flags, this.code, encodeAsPath(segs, 4));
    },
  },
  {
    code: AttrType.AS4_AGGREGATOR,
    name: "AS4_AGGREGATOR",
    flags: OPTIONAL_TRANSITIVE,
    malformed: "attribute-discard", // RFC 6793 §6
    decode(v, _out, side) {
      if (v.length !== 8) throw lengthError("AS4_AGGREGATOR", v.length);
      side.as4Aggregator = { asn: v.readUInt32BE(0), address: formatIpv4(v.readUInt32BE(4)) };
    },
    encode(a, w, opts) {
      if (!opts.fourOctetAs && a.aggregator && a.aggregator.asn > 0xffff) {
        writeAttr(w, this.flags, this.code, aggregatorValue(a.aggregator, 4));
      }
    },
  },
  {
    code: AttrType.LARGE_COMMUNITIES,
    name: "LARGE_COMMUNITIES",
    flags: OPTIONAL_TRANSITIVE,
    malformed: "treat-as-withdraw", // RFC 8092 §5
    decode(v, out) {
      if (v.length === 0 || v.length % 12 !== 0) throw lengthError("LARGE_COMMUNITIES", v.length);
      const c: LargeCommunity[] = [];
      for (let i = 0; i < v.length; i += 12) {
        c.push([v.readUInt32BE(i), v.readUInt32BE(i + 4), v.readUInt32BE(i + 8)]);
      }
      out.largeCommunities = c;
    },
    encode(a, w) {
      if (!a.largeCommunities || a.largeCommunities.length === 0) return;
      const b = Buffer.allocUnsafe(a.largeCommunities.length * 12);
      a.largeCommunities.forEach((c, i) => {
        b.writeUInt32BE(c[0] >>> 0, i * 12);
        b.writeUInt32BE(c[1] >>> 0, i * 12 + 4);
        b.writeUInt32BE(c[2] >>> 0, i * 12 + 8);
      });
      writeAttr(w, this.flags, this.code, b);
    },
  },
];

/** Table lookup by type code. */
export const ATTRIBUTES_BY_CODE: ReadonlyMap<number, AttrDescriptor> = new Map(
  ATTRIBUTE_TABLE.map((d) => [d.code, d]),
);

export function attributeName(code: number): string {
  return ATTRIBUTES_BY_CODE.get(code)?.name ?? `attribute ${code}`;
}

/** Encodes unknown attributes; optional transitive ones get Partial (RFC 4271 §5, §9.1.2). */
function encodeUnknown(list: readonly RawAttribute[], w: BufferWriter): void {
  for (const u of list) {
    if (ATTRIBUTES_BY_CODE.has(u.code)) continue;
    let flags = u.flags & (AttrFlag.OPTIONAL | AttrFlag.TRANSITIVE | AttrFlag.PARTIAL);
    if ((flags & OPTIONAL_TRANSITIVE) === OPTIONAL_TRANSITIVE) flags |= AttrFlag.PARTIAL;
    writeAttr(w, flags, u.code, u.value);
  }
}

export interface EncodeAttrsOptions {
  /** Leave out MP_REACH/MP_UNREACH (the UPDATE packer writes its own). */
  readonly skipMp?: boolean;
  /** Leave out NEXT_HOP (an MP_REACH-only UPDATE, RFC 4760 §3). */
  readonly skipNextHop?: boolean;
}

/** Encodes every attribute `a` carries, in table order, then unknown ones. */
export function encodePathAttributes(
  a: PathAttributes,
  opts: CodecOptions,
  eo: EncodeAttrsOptions = {},
): Buffer {
  const w = new BufferWriter(128);
  for (const d of ATTRIBUTE_TABLE) {
    if (eo.skipMp && (d.code === AttrType.MP_REACH_NLRI || d.code === AttrType.MP_UNREACH_NLRI)) continue;
    if (eo.skipNextHop && d.code === AttrType.NEXT_HOP) continue;
    d.encode(a, w, opts);
  }
  if (a.unknown) encodeUnknown(a.unknown, w);
  return w.toBuffer();
}
