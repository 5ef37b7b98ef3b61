/**
 * IPIP toward Calico nodes (issue 5 §2): the rtnetlink messages that create and delete an IPv4-in-
 * IPv4 tunnel device, and the route shape that sends a pod block through it. Pure (no sockets),
 * like rtnl.ts, so every byte is unit-tested; sending is the caller's job (RawNetlinkSocket).
 *
 * Calico in IPIP mode routes `BLOCK via NODE_IP dev tunl0 onlink` on every node; a gateway that
 * wants to reach pods without SNAT'ing through a node does the same from its own ipip device.
 *
 *   struct nlmsghdr  { u32 len; u16 type; u16 flags; u32 seq; u32 pid; }                     16 B
 *   struct ifinfomsg { u8 ifi_family; u8 pad; u16 ifi_type; s32 ifi_index; u32 ifi_flags;
 *                      u32 ifi_change; }                                                      16 B
 *   then rtattrs (host byte order, padded to 4); IFLA_LINKINFO and IFLA_INFO_DATA are nested.
 */
import { DEFAULT_METRIC, type KernelRoute, RT_TABLE_MAIN, RTPROT_PODGATE } from "../types.ts";
import {
  addrBytes,
  addrText,
  align4,
  NLM_F_ACK,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REQUEST,
  NLMSG_HDRLEN,
  parseAttrs,
  r32,
  w16,
  w32,
} from "./rtnl.ts";

// linux/rtnetlink.h
export const RTM_NEWLINK = 16; // 16
export const RTM_DELLINK = 17; // 17
export const IFINFOMSG_LEN = 16;
/** AF_UNSPEC: link messages are family-less. */
export const AF_UNSPEC = 0;
export const RTM_GETLINK = 18; // 18
/** ifi_flags IFF_UP. */
export const IFF_UP = 0x1;

// linux/if_link.h
export const IFLA_IFNAME = 3; // 3
export const IFLA_MTU = 4; // 4
export const IFLA_LINKINFO = 18; // 18
export const IFLA_INFO_KIND = 1; // 1
export const IFLA_INFO_DATA = 2; // 2

// linux/if_tunnel.h
export const IFLA_IPTUN_LOCAL = 2; // 2, u32 in network order
export const IFLA_IPTUN_REMOTE = 3; // 3, u32 in network order (0 = any: NBMA, like tunl0)
export const IFLA_IPTUN_TTL = 4; // 4, u8 (0 = inherit from the inner packet)
export const IFLA_IPTUN_PMTUDISC = 10; // 10, u8 (1 = set DF, do path-MTU discovery)

/** linux/if.h IFNAMSIZ is 16 including the NUL. */
export const IFNAMSIZ = 16;
/** Outer IPv4 header: an IPIP device on a 1500-byte underlay carries 1480. */
export const IPIP_OVERHEAD = 20;
export const DEFAULT_IPIP_MTU = 1500 - IPIP_OVERHEAD;

export interface IpipLinkOptions {
  /** Device name, 1..15 bytes (IFNAMSIZ − 1). */
  readonly name: string;
  /** Outer source address; absent = any (the kernel picks per route). */
  readonly local?: string;
  /** Outer TTL 0..255; 0 (default) inherits the inner packet's TTL. */
  readonly ttl?: number;
  /** Device MTU; default 1480 (1500 − 20). */
  readonly mtu?: number;
  readonly seq: number;
}

/** One rtattr (header + payload + padding). */
function attr(type: number, payload: Buffer): Buffer {
  const b = Buffer.alloc(align4(4 + payload.length));
  w16(b, 4 + payload.length, 0);
  w16(b, type, 2);
  payload.copy(b, 4);
  return b;
}

/** A nested rtattr (no NLA_F_NESTED bit, like iproute2's addattr_nest; the kernel accepts both). */
function nest(type: number, children: readonly Buffer[]): Buffer {
  return attr(type, Buffer.concat(children));
}

function u8(v: number): Buffer {
  return Buffer.from([v]);
}
function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  w32(b, v, 0);
  return b;
}

function checkName(name: string): Buffer {
  const bytes = Buffer.from(name, "utf8");
  if (bytes.length === 0 || bytes.length > IFNAMSIZ - 1) {
    throw new TypeError(`interface name "${name}" must be 1..${IFNAMSIZ - 1} bytes`);
  }
  if (/[\s/:\0]/.test(name) || name === "." || name === "..") {
    throw new TypeError(`interface name "${name}" has a character the kernel refuses`);
  }
  return Buffer.concat([bytes, Buffer.from([0])]); // NUL-terminated, as IFLA_IFNAME expects
}

/**
 * RTM_NEWLINK (create, NLM_F_EXCL: an existing device of that name is EEXIST, never silently
 * reused with other parameters) or RTM_DELLINK by name. Both carry NLM_F_ACK.
 */
export function encodeIpipLinkRequest(op: "create" | "delete", opts: IpipLinkOptions): Buffer {
  const name = checkName(opts.name);
  const attrs: Buffer[] = [attr(IFLA_IFNAME, name)];
  if (op === "create") {
    const mtu = opts.mtu ?? DEFAULT_IPIP_MTU;
    if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) throw new TypeError(`bad MTU ${mtu}`);
    const ttl = opts.ttl ?? 0;
    if (!Number.isInteger(ttl) || ttl < 0 || ttl > 255) throw new TypeError(`bad TTL ${ttl}`);
    const data: Buffer[] = [];
    if (opts.local !== undefined) data.push(attr(IFLA_IPTUN_LOCAL, addrBytes(opts.local, 4)));
    data.push(attr(IFLA_IPTUN_TTL, u8(ttl)), attr(IFLA_IPTUN_PMTUDISC, u8(1)));
    attrs.push(
      attr(IFLA_MTU, u32(mtu)),
      nest(IFLA_LINKINFO, [attr(IFLA_INFO_KIND, Buffer.from("ipip")), nest(IFLA_INFO_DATA, data)]),
    );
  }
  const body = Buffer.concat(attrs);
  const size = NLMSG_HDRLEN + IFINFOMSG_LEN + body.length;
  const b = Buffer.alloc(size);
  w32(b, size, 0);
  w16(b, op === "create" ? RTM_NEWLINK : RTM_DELLINK, 4);
  w16(b, NLM_F_REQUEST | NLM_F_ACK | (op === "create" ? NLM_F_CREATE | NLM_F_EXCL : 0), 6);
  w32(b, opts.seq, 8);
  w32(b, 0, 12); // pid: the kernel fills it
  b[NLMSG_HDRLEN] = AF_UNSPEC; // ifinfomsg stays zero: the device is named by IFLA_IFNAME
  body.copy(b, NLMSG_HDRLEN + IFINFOMSG_LEN);
  return b;
}

/**
 * The route toward one Calico node's pod block over the ipip device: `prefix via nodeIp dev
 * <ifindex> onlink`, Calico's `BLOCK via NODE dev tunl0 onlink`. Onlink because the node address
 * is inside no prefix of the ipip device: without RTNH_F_ONLINK the kernel refuses the gateway
 * (ENETUNREACH, "Nexthop has invalid gateway").
 */
export function ipipRoute(prefix: string, nodeIp: string, ifindex: number): KernelRoute {
  addrBytes(nodeIp, 4); // throws on a non-IPv4 node address: IPIP is IPv4-in-IPv4
  if (!Number.isInteger(ifindex) || ifindex <= 0) throw new TypeError(`bad ifindex ${ifindex}`);
  return {
    prefix,
    family: 4,
    type: "unicast",
    nextHops: [{ gateway: nodeIp, ifindex, onlink: true }],
    table: RT_TABLE_MAIN,
    protocol: RTPROT_PODGATE,
    metric: DEFAULT_METRIC,
  };
}

function ifinfoRequest(
  type: number,
  flags: number,
  seq: number,
  ifi: IfInfo,
  attrs: readonly Buffer[],
): Buffer {
  const body = Buffer.concat(attrs);
  const size = NLMSG_HDRLEN + IFINFOMSG_LEN + body.length;
  const b = Buffer.alloc(size);
  w32(b, size, 0);
  w16(b, type, 4);
  w16(b, flags, 6);
  w32(b, seq, 8);
  w32(b, 0, 12);
  b[NLMSG_HDRLEN] = AF_UNSPEC;
  w32(b, ifi.index ?? 0, NLMSG_HDRLEN + 4);
  w32(b, ifi.flags ?? 0, NLMSG_HDRLEN + 8);
  w32(b, ifi.change ?? 0, NLMSG_HDRLEN + 12);
  body.copy(b, NLMSG_HDRLEN + IFINFOMSG_LEN);
  return b;
}

interface IfInfo {
  readonly index?: number;
  readonly flags?: number;
  readonly change?: number;
}

/** RTM_GETLINK for one device by name (answered by RTM_NEWLINK, or NLMSG_ERROR ENODEV). */
export function encodeGetLinkRequest(name: string, seq: number): Buffer {
  return ifinfoRequest(RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, seq, {}, [attr(IFLA_IFNAME, checkName(name))]);
}

/**
 * RTM_NEWLINK on an existing device (no NLM_F_CREATE): set its MTU and bring it up. ifi_change
 * names IFF_UP, so no other flag of the device is touched.
 */
export function encodeLinkSetRequest(
  ifindex: number,
  opts: { mtu?: number; up: boolean; seq: number },
): Buffer {
  if (!Number.isInteger(ifindex) || ifindex <= 0) throw new TypeError(`bad ifindex ${ifindex}`);
  const attrs: Buffer[] = [];
  if (opts.mtu !== undefined) {
    if (!Number.isInteger(opts.mtu) || opts.mtu < 68 || opts.mtu > 65535)
      throw new TypeError(`bad MTU ${opts.mtu}`);
    attrs.push(attr(IFLA_MTU, u32(opts.mtu)));
  }
  return ifinfoRequest(
    RTM_NEWLINK,
    NLM_F_REQUEST | NLM_F_ACK,
    opts.seq,
    { index: ifindex, flags: opts.up ? IFF_UP : 0, change: IFF_UP },
    attrs,
  );
}

/** A device as RTM_NEWLINK describes it (only what podgate looks at). */
export interface LinkInfo {
  readonly ifindex: number;
  readonly name: string;
  readonly up: boolean;
  readonly mtu?: number;
  /** IFLA_INFO_KIND ("ipip", "wireguard", …); absent for devices without one (physical NICs). */
  readonly kind?: string;
  /** For kind ipip: the outer source address, absent when any. */
  readonly local?: string;
  /** For kind ipip: the fixed remote, absent when any (NBMA, what podgate wants). */
  readonly remote?: string;
}

const cString = (v: Buffer): string => {
  const nul = v.indexOf(0);
  return v.subarray(0, nul < 0 ? v.length : nul).toString("utf8");
};
/** An IFLA_IPTUN_LOCAL/REMOTE value; 0.0.0.0 (any) reads as absent. */
const ipv4Text = (v: Buffer): string | undefined =>
  v.length >= 4 && v.readUInt32BE(0) !== 0 ? addrText(v.subarray(0, 4), 4) : undefined;

/** Decodes the payload (after nlmsghdr) of an RTM_NEWLINK message; undefined if truncated. */
export function decodeLink(payload: Buffer): LinkInfo | undefined {
  if (payload.length < IFINFOMSG_LEN) return undefined;
  const ifindex = r32(payload, 4) | 0; // s32 ifi_index
  const up = (r32(payload, 8) & IFF_UP) !== 0;
  let name = "";
  let mtu: number | undefined;
  let kind: string | undefined;
  let local: string | undefined;
  let remote: string | undefined;
  parseAttrs(payload, IFINFOMSG_LEN, payload.length, (t, v) => {
    if (t === IFLA_IFNAME) name = cString(v);
    else if (t === IFLA_MTU && v.length >= 4) mtu = r32(v, 0);
    else if (t === IFLA_LINKINFO) {
      parseAttrs(v, 0, v.length, (lt, lv) => {
        if (lt === IFLA_INFO_KIND) kind = cString(lv);
        else if (lt === IFLA_INFO_DATA) {
          parseAttrs(lv, 0, lv.length, (dt, dv) => {
            if (dt === IFLA_IPTUN_LOCAL) local = ipv4Text(dv);
            else if (dt === IFLA_IPTUN_REMOTE) remote = ipv4Text(dv);
          });
        }
      });
    }
  });
  return {
    ifindex,
    name,
    up,
    ...(mtu !== undefined ? { mtu } : {}),
    ...(kind !== undefined ? { kind } : {}),
    ...(local !== undefined ? { local } : {}),
    ...(remote !== undefined ? { remote } : {}),
  };
}
