/**
 * OPEN (RFC 4271 §4.2): decode with RFC 5492 capabilities and RFC 9072 extended optional
 * parameters, encode, and the §6.2 checks a session runs on a received OPEN (validateOpen).
 */

import { decodeCapabilitiesInto, encodeCapabilities, newCapabilityAccumulator } from "./capabilities.ts";
import {
  AS_TRANS,
  BGP_VERSION,
  ErrorCode,
  HEADER_LENGTH,
  MessageType,
  OPT_PARAM_CAPABILITIES,
  OPT_PARAM_EXTENDED_LENGTH,
  OpenMessageError,
} from "./constants.ts";
import { BgpNotificationError } from "./errors.ts";
import { badMessageLength, frame } from "./header.ts";
import { formatIpv4, parseIpv4 } from "./prefix.ts";
import type { OpenMessage } from "./types.ts";
import { BufferWriter } from "./writer.ts";

/** RFC 4271 §4.2: version, My AS, Hold Time, BGP Identifier, Opt Parm Len = 10 octets. */
const OPEN_FIXED_LENGTH = 10;

function malformedParams(): BgpNotificationError {
  return new BgpNotificationError(
    ErrorCode.OPEN_MESSAGE,
    OpenMessageError.UNSPECIFIC,
    Buffer.alloc(0),
    "malformed optional parameters",
  );
}

/** Decodes an OPEN; `msg` is the whole message (header included, length already checked >= 29). */
export function decodeOpen(msg: Buffer): OpenMessage {
  const b = HEADER_LENGTH;
  const version = msg[b]!;
  const myAs = msg.readUInt16BE(b + 1);
  const holdTime = msg.readUInt16BE(b + 3);
  const bgpId = formatIpv4(msg.readUInt32BE(b + 5));
  let optLen = msg[b + 9]!;
  let p = b + OPEN_FIXED_LENGTH;
  let extended = false;
  // RFC 9072 §2: Non-Ext OP Len 255 followed by Non-Ext OP Type 255 means extended format.
  if (optLen === OPT_PARAM_EXTENDED_LENGTH && msg.length > p && msg[p] === OPT_PARAM_EXTENDED_LENGTH) {
    if (msg.length < p + 3) throw malformedParams();
    optLen = msg.readUInt16BE(p + 1);
    p += 3;
    extended = true;
  }
  if (p + optLen !== msg.length) throw badMessageLength(msg.length);
  const caps = newCapabilityAccumulator();
  const unknownParams: number[] = [];
  const end = p + optLen;
  const hdr = extended ? 3 : 2;
  while (p < end) {
    if (p + hdr > end) throw malformedParams();
    const type = msg[p]!;
    const len = extended ? msg.readUInt16BE(p + 1) : msg[p + 1]!;
    p += hdr;
    if (p + len > end) throw malformedParams();
    if (type === OPT_PARAM_CAPABILITIES) decodeCapabilitiesInto(msg.subarray(p, p + len), caps);
    else unknownParams.push(type);
    p += len;
  }
  const open: OpenMessage = { type: MessageType.OPEN, version, myAs, holdTime, bgpId, capabilities: caps };
  return unknownParams.length > 0 ? { ...open, unknownParams } : open;
}

/**
 * Encodes an OPEN. `myAs` is written as given (callers put AS_TRANS there for a 4-octet AS;
 * see openMyAs). Capabilities that do not fit 255 octets use RFC 9072 extended parameters.
 */
export function encodeOpen(m: OpenMessage): Buffer {
  const caps = encodeCapabilities(m.capabilities);
  const bgpId = parseIpv4(m.bgpId);
  if (bgpId < 0) throw new TypeError(`invalid BGP identifier "${m.bgpId}"`);
  const w = new BufferWriter(OPEN_FIXED_LENGTH + caps.length + 8);
  w.u8(m.version).u16(m.myAs).u16(m.holdTime).u32(bgpId);
  if (caps.length === 0) {
    w.u8(0);
  } else if (caps.length + 2 <= 255) {
    w.u8(caps.length + 2)
      .u8(OPT_PARAM_CAPABILITIES)
      .u8(caps.length)
      .bytes(caps);
  } else {
    w.u8(OPT_PARAM_EXTENDED_LENGTH)
      .u8(OPT_PARAM_EXTENDED_LENGTH)
      .u16(caps.length + 3);
    w.u8(OPT_PARAM_CAPABILITIES).u16(caps.length).bytes(caps);
  }
  return frame(MessageType.OPEN, w.toBuffer());
}

/** RFC 6793 §4.1: the 2-octet My AS field for a local AS (AS_TRANS when it does not fit). */
export function openMyAs(localAs: number): number {
  return localAs > 0xffff ? AS_TRANS : localAs;
}

/** The peer's real AS: the 4-octet capability when present (RFC 6793 §4.1), else My AS. */
export function openPeerAs(open: OpenMessage): number {
  return open.capabilities.fourOctetAs ?? open.myAs;
}

function openError(subcode: number, message: string, data: Buffer = Buffer.alloc(0)): BgpNotificationError {
  return new BgpNotificationError(ErrorCode.OPEN_MESSAGE, subcode, data, message);
}

export interface OpenExpectations {
  /** The configured peer AS; undefined accepts any. */
  peerAs?: number;
  localBgpId: string;
  /** eBGP session. The same-identifier check applies unless this is true (RFC 6286 §2.1). */
  ebgp?: boolean;
}

/**
 * RFC 4271 §6.2 checks on a received OPEN, in the RFC's order; throws the NOTIFICATION to send.
 */
export function validateOpen(open: OpenMessage, expect: OpenExpectations): void {
  if (open.version !== BGP_VERSION) {
    // Data: the largest locally supported version, as a 2-octet unsigned integer.
    const data = Buffer.alloc(2);
    data.writeUInt16BE(BGP_VERSION);
    throw openError(OpenMessageError.UNSUPPORTED_VERSION_NUMBER, `unsupported version ${open.version}`, data);
  }
  const peerAs = openPeerAs(open);
  // RFC 7607 §2: AS 0 in OPEN (My AS or the 4-octet capability) is Bad Peer AS.
  if (peerAs === 0 || open.myAs === 0 || (expect.peerAs !== undefined && peerAs !== expect.peerAs)) {
    throw openError(
      OpenMessageError.BAD_PEER_AS,
      `bad peer AS ${peerAs}, expected ${expect.peerAs ?? "any"}`,
    );
  }
  // RFC 6286 §2.1: any non-zero identifier; it must differ from ours only within one AS.
  if (open.bgpId === "0.0.0.0" || (expect.ebgp !== true && open.bgpId === expect.localBgpId)) {
    throw openError(OpenMessageError.BAD_BGP_IDENTIFIER, `bad BGP identifier ${open.bgpId}`);
  }
  if (open.unknownParams && open.unknownParams.length > 0) {
    throw openError(
      OpenMessageError.UNSUPPORTED_OPTIONAL_PARAMETER,
      `unsupported optional parameter ${open.unknownParams[0]}`,
    );
  }
  if (open.holdTime === 1 || open.holdTime === 2) {
    throw openError(OpenMessageError.UNACCEPTABLE_HOLD_TIME, `unacceptable hold time ${open.holdTime}`);
  }
}
