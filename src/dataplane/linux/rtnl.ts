/**
 * rtnetlink route codec: KernelRoute ⇄ RTM_NEWROUTE / RTM_DELROUTE / RTM_GETROUTE bytes.
 * Pure (no sockets), so every byte is unit-tested. We encode the messages ourselves instead of
 * using the `netlink` package's formatters because (a) RTA_MULTIPATH is a raw buffer there
 * anyway, (b) bulk installs build tens of thousands of messages and a direct Buffer write is
 * the cheap path, (c) the parse side needs only a handful of attributes.
 *
 * Netlink structures are in HOST byte order (linux/netlink.h); addresses are network order.
 *
 *   struct nlmsghdr { u32 nlmsg_len; u16 nlmsg_type; u16 nlmsg_flags; u32 nlmsg_seq; u32 nlmsg_pid; }  16 B
 *   struct rtmsg    { u8 family, dst_len, src_len, tos, table, protocol, scope, type; u32 flags; }     12 B
 *   struct rtattr   { u16 rta_len; u16 rta_type; } + payload, padded to 4 (RTA_ALIGN)
 *   struct rtnexthop{ u16 rtnh_len; u8 rtnh_flags; u8 rtnh_hops; s32 rtnh_ifindex; } + rtattrs    8 B
 */
import { endianness, constants as osConstants } from "node:os";
import { formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from "../../bgp/wire/prefix.ts";
import type { KernelNextHop, KernelRoute, KernelRouteType } from "../types.ts";

// linux/netlink.h
export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLMSG_OVERRUN = 4;
export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
export const NLM_F_ACK = 0x4;
export const NLM_F_DUMP_INTR = 0x10;
/** NLM_F_ROOT | NLM_F_MATCH */
export const NLM_F_DUMP = 0x300;
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
export const NLMSG_HDRLEN = 16;

// linux/rtnetlink.h
export const RTM_NEWROUTE = 24;
export const RTM_DELROUTE = 25;
export const RTM_GETROUTE = 26;
export const RTMSG_LEN = 12;
export const RTA_DST = 1;
export const RTA_OIF = 4;
export const RTA_GATEWAY = 5;
export const RTA_PRIORITY = 6;
export const RTA_MULTIPATH = 9;
export const RTA_TABLE = 15;
export const RTA_VIA = 18;
export const RTNH_LEN = 8;
/** RTNH_F_ONLINK: in rtm_flags for a single hop, in rtnh_flags for an RTA_MULTIPATH member. */
export const RTNH_F_ONLINK = 4;
/** rtm_flags: a cached clone (IPv6 exceptions), never a configured route. */
export const RTM_F_CLONED = 0x200;
export const RTN_UNICAST = 1;
export const RTN_BLACKHOLE = 6;
export const RTN_UNREACHABLE = 7;
export const RT_SCOPE_UNIVERSE = 0;
export const RT_SCOPE_LINK = 253;
/** In a delete request: "any scope" (what `ip route del` sends). */
export const RT_SCOPE_NOWHERE = 255;
/** rtm_table when the table id only fits in RTA_TABLE (ids > 255). */
export const RT_TABLE_UNSPEC = 0;
export const AF_INET = 2;
export const AF_INET6 = 10;

const LE = endianness() === "LE";

export function w16(b: Buffer, v: number, o: number): void {
  if (LE) b.writeUInt16LE(v, o);
  else b.writeUInt16BE(v, o);
}
export function w32(b: Buffer, v: number, o: number): void {
  if (LE) b.writeUInt32LE(v >>> 0, o);
  else b.writeUInt32BE(v >>> 0, o);
}
export function r16(b: Buffer, o: number): number {
  return LE ? b.readUInt16LE(o) : b.readUInt16BE(o);
}
export function r32(b: Buffer, o: number): number {
  return LE ? b.readUInt32LE(o) : b.readUInt32BE(o);
}
function rs32(b: Buffer, o: number): number {
  return LE ? b.readInt32LE(o) : b.readInt32BE(o);
}

export const align4 = (n: number): number => (n + 3) & ~3;

/** errno number → name ("ENETUNREACH"), from Node's table. */
const ERRNO_NAMES = new Map<number, string>(Object.entries(osConstants.errno).map(([k, v]) => [v, k]));
export function errnoName(errno: number): string {
  return ERRNO_NAMES.get(errno) ?? `E${errno}`;
}

/** Address text → network-order bytes for the given family; throws TypeError on mismatch. */
export function addrBytes(text: string, family: 4 | 6): Buffer {
  if (family === 4) {
    const v = parseIpv4(text);
    if (v < 0) throw new TypeError(`not an IPv4 address: "${text}"`);
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v, 0);
    return b;
  }
  const v6 = parseIpv6(text);
  if (!v6) throw new TypeError(`not an IPv6 address: "${text}"`);
  return Buffer.from(v6);
}

export function addrText(b: Buffer, family: 4 | 6): string {
  return family === 4 ? formatIpv4(b.readUInt32BE(0)) : formatIpv6(b);
}

function splitPrefix(route: KernelRoute): { addr: Buffer; len: number } {
  const slash = route.prefix.indexOf("/");
  if (slash < 0) throw new TypeError(`prefix without length: "${route.prefix}"`);
  const len = Number(route.prefix.slice(slash + 1));
  const max = route.family === 4 ? 32 : 128;
  if (!Number.isInteger(len) || len < 0 || len > max) throw new TypeError(`bad prefix "${route.prefix}"`);
  return { addr: addrBytes(route.prefix.slice(0, slash), route.family), len };
}

function typeCode(t: KernelRouteType): number {
  switch (t) {
    case "unicast":
      return RTN_UNICAST;
    case "unreachable":
      return RTN_UNREACHABLE;
    case "blackhole":
      return RTN_BLACKHOLE;
    default:
      throw new TypeError(`podgate does not install routes of type "${t}"`);
  }
}

/** Writes one rtattr at `o`; returns the aligned end offset. */
function putAttr(b: Buffer, o: number, type: number, payload: Buffer): number {
  w16(b, 4 + payload.length, o);
  w16(b, type, o + 2);
  payload.copy(b, o + 4);
  return o + align4(4 + payload.length);
}

function u32Payload(v: number): Buffer {
  const b = Buffer.alloc(4);
  w32(b, v, 0);
  return b;
}

/**
 * RTA_MULTIPATH payload: one `struct rtnexthop` per next hop, each followed by its RTA_GATEWAY.
 *
 *   0       2        3        4               8
 *   +-------+--------+--------+---------------+-----------------------------+
 *   |rtnh_len|rtnh_fl|rtnh_hops| rtnh_ifindex | rtattr{len,type=RTA_GATEWAY} addr |
 *   +-------+--------+--------+---------------+-----------------------------+
 *
 * rtnh_len covers the rtnexthop and its attributes (RTNH_ALIGN'ed); rtnh_hops is weight − 1.
 */
export function encodeMultipath(family: 4 | 6, hops: readonly KernelNextHop[]): Buffer {
  const parts: Buffer[] = [];
  for (const h of hops) {
    const weight = h.weight ?? 1;
    if (!Number.isInteger(weight) || weight < 1 || weight > 256) throw new TypeError(`bad weight ${weight}`);
    const gw = h.gateway === "" ? undefined : addrBytes(h.gateway, family);
    const attrLen = gw ? align4(4 + gw.length) : 0;
    const b = Buffer.alloc(RTNH_LEN + attrLen);
    w16(b, RTNH_LEN + attrLen, 0);
    b[2] = h.onlink ? RTNH_F_ONLINK : 0; // rtnh_flags
    b[3] = weight - 1;
    w32(b, h.ifindex ?? 0, 4);
    if (gw) putAttr(b, RTNH_LEN, RTA_GATEWAY, gw);
    parts.push(b);
  }
  return Buffer.concat(parts);
}

export interface EncodeOptions {
  readonly seq: number;
  /** Our netlink port id (0 lets the kernel fill it). */
  readonly pid?: number;
}

/**
 * RTM_NEWROUTE (create or replace) or RTM_DELROUTE for a route, with NLM_F_ACK so the kernel
 * answers every message with an NLMSG_ERROR carrying our sequence number (0 = success).
 * A delete names table, prefix, metric, protocol and type but no next hops: it removes the whole
 * route (all ECMP members) and — because rtm_protocol is set — only if it is ours.
 */
export function encodeRouteRequest(op: "replace" | "delete", route: KernelRoute, o: EncodeOptions): Buffer {
  const { addr, len } = splitPrefix(route);
  const family = route.family === 4 ? AF_INET : AF_INET6;
  const type = typeCode(route.type);
  const del = op === "delete";
  let nh: { attr: number; payload: Buffer } | undefined;
  let oif: number | undefined;
  let scope = del ? RT_SCOPE_NOWHERE : RT_SCOPE_UNIVERSE;
  let flags = 0;
  if (!del && route.type === "unicast") {
    if (route.nextHops.length === 0) throw new TypeError(`unicast route ${route.prefix} without next hop`);
    for (const h of route.nextHops) {
      // The kernel needs the device to know which link "onlink" means.
      if (h.onlink && h.ifindex === undefined)
        throw new TypeError(`onlink next hop ${h.gateway} of ${route.prefix} has no ifindex`);
    }
    if (route.nextHops.length > 1) {
      nh = { attr: RTA_MULTIPATH, payload: encodeMultipath(route.family, route.nextHops) };
    } else {
      const h = route.nextHops[0]!;
      if (h.weight !== undefined && h.weight !== 1) {
        // A single hop keeps its weight only inside RTA_MULTIPATH.
        nh = { attr: RTA_MULTIPATH, payload: encodeMultipath(route.family, route.nextHops) };
      } else if (h.gateway !== "") {
        nh = { attr: RTA_GATEWAY, payload: addrBytes(h.gateway, route.family) };
        oif = h.ifindex;
        if (h.onlink) flags |= RTNH_F_ONLINK;
      } else {
        if (h.ifindex === undefined)
          throw new TypeError(`next hop of ${route.prefix} has no gateway nor ifindex`);
        oif = h.ifindex;
        scope = RT_SCOPE_LINK;
      }
    }
  }
  const table = route.table;
  let size = NLMSG_HDRLEN + RTMSG_LEN + 8 /* RTA_TABLE */ + align4(4 + addr.length);
  if (route.metric) size += 8;
  if (nh) size += align4(4 + nh.payload.length);
  if (oif !== undefined) size += 8;

  const b = Buffer.alloc(size);
  w32(b, size, 0);
  w16(b, del ? RTM_DELROUTE : RTM_NEWROUTE, 4);
  w16(b, NLM_F_REQUEST | NLM_F_ACK | (del ? 0 : NLM_F_CREATE | NLM_F_REPLACE), 6);
  w32(b, o.seq, 8);
  w32(b, o.pid ?? 0, 12);
  let p = NLMSG_HDRLEN;
  b[p] = family;
  b[p + 1] = len;
  b[p + 2] = 0; // src_len
  b[p + 3] = 0; // tos
  b[p + 4] = table < 256 ? table : RT_TABLE_UNSPEC;
  b[p + 5] = route.protocol;
  b[p + 6] = scope;
  b[p + 7] = type;
  w32(b, flags, p + 8); // rtm_flags
  p += RTMSG_LEN;
  p = putAttr(b, p, RTA_TABLE, u32Payload(table));
  p = putAttr(b, p, RTA_DST, addr);
  if (route.metric) p = putAttr(b, p, RTA_PRIORITY, u32Payload(route.metric));
  if (nh) p = putAttr(b, p, nh.attr, nh.payload);
  if (oif !== undefined) p = putAttr(b, p, RTA_OIF, u32Payload(oif));
  return b;
}

/** RTM_GETROUTE dump request for one family (the kernel returns every table: filter yourself). */
export function encodeDumpRequest(family: 4 | 6, seq: number, pid = 0): Buffer {
  const size = NLMSG_HDRLEN + RTMSG_LEN;
  const b = Buffer.alloc(size);
  w32(b, size, 0);
  w16(b, RTM_GETROUTE, 4);
  w16(b, NLM_F_REQUEST | NLM_F_DUMP, 6);
  w32(b, seq, 8);
  w32(b, pid, 12);
  b[NLMSG_HDRLEN] = family === 4 ? AF_INET : AF_INET6;
  return b;
}

/** Rewrites nlmsg_seq of an encoded message in place (a resend gets a new sequence number). */
export function setSeq(msg: Buffer, seq: number): void {
  w32(msg, seq, 8);
}

/** Sets or clears NLM_F_ACK of an encoded request in place. */
export function setAck(msg: Buffer, ack: boolean): void {
  const f = r16(msg, 6);
  w16(msg, ack ? f | NLM_F_ACK : f & ~NLM_F_ACK, 6);
}

export interface NlMessage {
  readonly type: number;
  readonly flags: number;
  readonly seq: number;
  readonly pid: number;
  readonly payload: Buffer;
}

/** Splits one received datagram into netlink messages (stops at a malformed length). */
export function parseNlMessages(buf: Buffer): NlMessage[] {
  const out: NlMessage[] = [];
  let o = 0;
  while (o + NLMSG_HDRLEN <= buf.length) {
    const len = r32(buf, o);
    if (len < NLMSG_HDRLEN || o + len > buf.length) break;
    out.push({
      type: r16(buf, o + 4),
      flags: r16(buf, o + 6),
      seq: r32(buf, o + 8),
      pid: r32(buf, o + 12),
      payload: buf.subarray(o + NLMSG_HDRLEN, o + len),
    });
    o += align4(len);
  }
  return out;
}

/** The (positive) errno of an NLMSG_ERROR payload; 0 is an ACK. */
export function parseErrno(payload: Buffer): number {
  return payload.length >= 4 ? -rs32(payload, 0) : 0;
}

export function parseAttrs(
  b: Buffer,
  start: number,
  end: number,
  each: (type: number, v: Buffer) => void,
): void {
  let o = start;
  while (o + 4 <= end) {
    const len = r16(b, o);
    if (len < 4 || o + len > end) break;
    each(r16(b, o + 2) & 0x3fff, b.subarray(o + 4, o + len));
    o += align4(len);
  }
}

function decodeVia(v: Buffer): string | undefined {
  // struct rtvia { u16 rtvia_family; u8 rtvia_addr[]; }
  if (v.length < 2) return undefined;
  const fam = r16(v, 0);
  if (fam === AF_INET && v.length >= 6) return addrText(v.subarray(2, 6), 4);
  if (fam === AF_INET6 && v.length >= 18) return addrText(v.subarray(2, 18), 6);
  return undefined;
}

function decodeMultipath(v: Buffer, family: 4 | 6): KernelNextHop[] {
  const hops: KernelNextHop[] = [];
  let o = 0;
  while (o + RTNH_LEN <= v.length) {
    const len = r16(v, o);
    if (len < RTNH_LEN || o + len > v.length) break;
    const onlink = (v[o + 2]! & RTNH_F_ONLINK) !== 0;
    const weight = v[o + 3]! + 1;
    const ifindex = rs32(v, o + 4);
    let gateway = "";
    parseAttrs(v, o + RTNH_LEN, o + len, (t, a) => {
      if (t === RTA_GATEWAY) gateway = addrText(a, family);
      else if (t === RTA_VIA) gateway = decodeVia(a) ?? gateway;
    });
    hops.push({
      gateway,
      ...(ifindex ? { ifindex } : {}),
      ...(weight !== 1 ? { weight } : {}),
      ...(onlink ? { onlink } : {}),
    });
    o += align4(len);
  }
  return hops;
}

/**
 * A route from an RTM_NEWROUTE payload (dump reply or notification); undefined for other
 * families and for cached clones. Table comes from RTA_TABLE when present (ids > 255).
 */
export function decodeRoute(payload: Buffer): KernelRoute | undefined {
  if (payload.length < RTMSG_LEN) return undefined;
  const fam = payload[0];
  const family: 4 | 6 | undefined = fam === AF_INET ? 4 : fam === AF_INET6 ? 6 : undefined;
  if (family === undefined) return undefined;
  const rtmFlags = r32(payload, 8);
  if (rtmFlags & RTM_F_CLONED) return undefined;
  const dstLen = payload[1]!;
  let table = payload[4]!;
  const protocol = payload[5]!;
  const t = payload[7]!;
  const type: KernelRouteType =
    t === RTN_UNICAST
      ? "unicast"
      : t === RTN_UNREACHABLE
        ? "unreachable"
        : t === RTN_BLACKHOLE
          ? "blackhole"
          : "other";
  let dst: string = family === 4 ? "0.0.0.0" : "::";
  let gateway: string | undefined;
  let oif: number | undefined;
  let metric = 0;
  let multipath: KernelNextHop[] | undefined;
  parseAttrs(payload, RTMSG_LEN, payload.length, (at, v) => {
    switch (at) {
      case RTA_DST:
        dst = addrText(v, family);
        break;
      case RTA_GATEWAY:
        gateway = addrText(v, family);
        break;
      case RTA_VIA:
        gateway = decodeVia(v);
        break;
      case RTA_OIF:
        oif = r32(v, 0);
        break;
      case RTA_PRIORITY:
        metric = r32(v, 0);
        break;
      case RTA_TABLE:
        table = r32(v, 0);
        break;
      case RTA_MULTIPATH:
        multipath = decodeMultipath(v, family);
        break;
    }
  });
  let nextHops: KernelNextHop[] = [];
  if (type === "unicast") {
    if (multipath) nextHops = multipath;
    else if (gateway !== undefined || oif !== undefined) {
      nextHops = [
        {
          gateway: gateway ?? "",
          ...(oif !== undefined ? { ifindex: oif } : {}),
          ...(rtmFlags & RTNH_F_ONLINK ? { onlink: true } : {}),
        },
      ];
    }
  }
  return { prefix: `${dst}/${dstLen}`, family, type, nextHops, table, protocol, metric };
}
