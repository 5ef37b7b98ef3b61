/**
 * RFC 5492 capabilities: decode (inside OPEN), encode, and per-session negotiation.
 * Understood: multiprotocol (RFC 4760), route refresh (RFC 2918, also the old code 128),
 * enhanced route refresh (RFC 7313), graceful restart (RFC 4724), 4-octet AS (RFC 6793),
 * ADD-PATH (RFC 7911). Anything else is kept in `others` and ignored.
 */
import {
  AddPathMode,
  Afi,
  type AfiCode,
  CapabilityCode,
  ErrorCode,
  OpenMessageError,
  Safi,
} from "./constants.ts";
import { BgpNotificationError } from "./errors.ts";
import { familyKey } from "./prefix.ts";
import type {
  AddPathEntry,
  AfiSafi,
  Capabilities,
  Capability,
  CodecOptions,
  GracefulRestartCap,
  OpenMessage,
} from "./types.ts";
import { BufferWriter } from "./writer.ts";

/** RFC 4724 §3 Restart Flags / per-family flags. */
const GR_RESTART_STATE = 0x8000;
const GR_TIME_MASK = 0x0fff;
const GR_FORWARDING_STATE = 0x80;

export const EMPTY_CAPABILITIES: Capabilities = {
  multiprotocol: [],
  routeRefresh: false,
  enhancedRouteRefresh: false,
  addPath: [],
  others: [],
};

function malformedCapability(code: number): BgpNotificationError {
  // RFC 4271 §6.2 names no subcode for a malformed capability; 0 is "Unspecific" (erratum 4493),
  // which is what BIRD and OpenBGPD send too.
  return new BgpNotificationError(
    ErrorCode.OPEN_MESSAGE,
    OpenMessageError.UNSPECIFIC,
    Buffer.alloc(0),
    `malformed capability ${code}`,
  );
}

interface MutableCaps {
  multiprotocol: AfiSafi[];
  routeRefresh: boolean;
  enhancedRouteRefresh: boolean;
  fourOctetAs?: number;
  gracefulRestart?: GracefulRestartCap;
  addPath: AddPathEntry[];
  others: Capability[];
}

export function newCapabilityAccumulator(): MutableCaps {
  return { multiprotocol: [], routeRefresh: false, enhancedRouteRefresh: false, addPath: [], others: [] };
}

/** Decodes the capability TLVs of one Capabilities optional parameter into `acc`. */
export function decodeCapabilitiesInto(buf: Buffer, acc: MutableCaps): void {
  let p = 0;
  while (p < buf.length) {
    if (p + 2 > buf.length) throw malformedCapability(-1);
    const code = buf[p]!;
    const len = buf[p + 1]!;
    p += 2;
    if (p + len > buf.length) throw malformedCapability(code);
    const v = buf.subarray(p, p + len);
    p += len;
    switch (code) {
      case CapabilityCode.MULTIPROTOCOL: {
        if (len !== 4) throw malformedCapability(code);
        const afi = v.readUInt16BE(0) as AfiCode;
        const safi = v[3]!;
        if (!acc.multiprotocol.some((f) => f.afi === afi && f.safi === safi)) {
          acc.multiprotocol.push({ afi, safi });
        }
        break;
      }
      case CapabilityCode.ROUTE_REFRESH:
      case CapabilityCode.ROUTE_REFRESH_OLD:
        acc.routeRefresh = true;
        break;
      case CapabilityCode.ENHANCED_ROUTE_REFRESH:
        acc.enhancedRouteRefresh = true;
        break;
      case CapabilityCode.FOUR_OCTET_AS:
        if (len !== 4) throw malformedCapability(code);
        acc.fourOctetAs = v.readUInt32BE(0);
        break;
      case CapabilityCode.GRACEFUL_RESTART: {
        if (len < 2 || (len - 2) % 4 !== 0) throw malformedCapability(code);
        const flags = v.readUInt16BE(0);
        const families: (AfiSafi & { forwardingState: boolean })[] = [];
        for (let i = 2; i < len; i += 4) {
          families.push({
            afi: v.readUInt16BE(i) as AfiCode,
            safi: v[i + 2]!,
            forwardingState: (v[i + 3]! & GR_FORWARDING_STATE) !== 0,
          });
        }
        acc.gracefulRestart = {
          restartState: (flags & GR_RESTART_STATE) !== 0,
          restartTime: flags & GR_TIME_MASK,
          families,
        };
        break;
      }
      case CapabilityCode.ADD_PATH: {
        if (len % 4 !== 0) throw malformedCapability(code);
        for (let i = 0; i < len; i += 4) {
          const mode = v[i + 3]!;
          // RFC 7911 §4: Send/Receive values other than 1-3 are ignored.
          if (mode < AddPathMode.RECEIVE || mode > AddPathMode.BOTH) continue;
          acc.addPath.push({ afi: v.readUInt16BE(i) as AfiCode, safi: v[i + 2]!, mode });
        }
        break;
      }
      default:
        acc.others.push({ code, value: Buffer.from(v) });
    }
  }
}

/** Decodes a standalone sequence of capability TLVs. */
export function decodeCapabilities(buf: Buffer): Capabilities {
  const acc = newCapabilityAccumulator();
  decodeCapabilitiesInto(buf, acc);
  return acc;
}

/** Encodes capability TLVs (code, length, value), without the optional-parameter wrapper. */
export function encodeCapabilities(c: Capabilities): Buffer {
  const w = new BufferWriter(64);
  for (const f of c.multiprotocol) {
    w.u8(CapabilityCode.MULTIPROTOCOL).u8(4).u16(f.afi).u8(0).u8(f.safi);
  }
  if (c.routeRefresh) w.u8(CapabilityCode.ROUTE_REFRESH).u8(0);
  if (c.enhancedRouteRefresh) w.u8(CapabilityCode.ENHANCED_ROUTE_REFRESH).u8(0);
  if (c.gracefulRestart) {
    const gr = c.gracefulRestart;
    w.u8(CapabilityCode.GRACEFUL_RESTART).u8(2 + 4 * gr.families.length);
    w.u16((gr.restartState ? GR_RESTART_STATE : 0) | (gr.restartTime & GR_TIME_MASK));
    for (const f of gr.families)
      w.u16(f.afi)
        .u8(f.safi)
        .u8(f.forwardingState ? GR_FORWARDING_STATE : 0);
  }
  if (c.fourOctetAs !== undefined) w.u8(CapabilityCode.FOUR_OCTET_AS).u8(4).u32(c.fourOctetAs);
  if (c.addPath.length > 0) {
    w.u8(CapabilityCode.ADD_PATH).u8(4 * c.addPath.length);
    for (const e of c.addPath) w.u16(e.afi).u8(e.safi).u8(e.mode);
  }
  for (const o of c.others) {
    if (o.value.length > 255) throw new RangeError(`capability ${o.code} value over 255 octets`);
    w.u8(o.code).u8(o.value.length).bytes(o.value);
  }
  return w.toBuffer();
}

export interface NegotiatedSession {
  codec: CodecOptions;
  families: AfiSafi[];
  holdTime: number;
  peerAs: number;
  routeRefresh: boolean;
  enhancedRouteRefresh: boolean;
  gracefulRestart?: GracefulRestartCap;
}

/** RFC 4760 §8: a speaker that sends no multiprotocol capability speaks IPv4 unicast only. */
function familiesOf(c: Capabilities): readonly AfiSafi[] {
  return c.multiprotocol.length > 0 ? c.multiprotocol : [{ afi: Afi.IPV4, safi: Safi.UNICAST }];
}

function addPathMode(c: Capabilities, f: AfiSafi): number {
  return c.addPath.find((e) => e.afi === f.afi && e.safi === f.safi)?.mode ?? 0;
}

/**
 * What both OPENs agree on. `routeRefresh`/`enhancedRouteRefresh` are true when both sides
 * advertised them; `gracefulRestart` is the peer's capability, present when both advertised GR.
 * ADD-PATH (RFC 7911 §4): we receive path ids iff we said receive and the peer said send, and
 * send them iff we said send and the peer said receive, for negotiated families only.
 */
export function negotiateSession(local: OpenMessage, remote: OpenMessage, ebgp: boolean): NegotiatedSession {
  const lc = local.capabilities;
  const rc = remote.capabilities;
  const remoteFamilies = familiesOf(rc);
  const families = familiesOf(lc).filter((f) =>
    remoteFamilies.some((g) => g.afi === f.afi && g.safi === f.safi),
  );
  const addPathReceive = new Set<string>();
  const addPathSend = new Set<string>();
  for (const f of families) {
    const l = addPathMode(lc, f);
    const r = addPathMode(rc, f);
    if (l & AddPathMode.RECEIVE && r & AddPathMode.SEND) addPathReceive.add(familyKey(f.afi, f.safi));
    if (l & AddPathMode.SEND && r & AddPathMode.RECEIVE) addPathSend.add(familyKey(f.afi, f.safi));
  }
  const fourOctetAs = lc.fourOctetAs !== undefined && rc.fourOctetAs !== undefined;
  const result: NegotiatedSession = {
    codec: { fourOctetAs, addPathReceive, addPathSend, ebgp },
    families,
    holdTime: Math.min(local.holdTime, remote.holdTime),
    peerAs: rc.fourOctetAs ?? remote.myAs,
    routeRefresh: lc.routeRefresh && rc.routeRefresh,
    enhancedRouteRefresh: lc.enhancedRouteRefresh && rc.enhancedRouteRefresh,
  };
  if (lc.gracefulRestart && rc.gracefulRestart) result.gracefulRestart = rc.gracefulRestart;
  return result;
}
