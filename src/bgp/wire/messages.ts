/**
 * Whole-message codec: decodeMessage dispatches on the header type after the RFC 4271 §6.1
 * checks (marker, length, per-type minimum lengths), encodeMessage is its inverse.
 * KEEPALIVE (§4.4), NOTIFICATION (§4.5) and ROUTE-REFRESH (RFC 2918, RFC 7313) live here.
 */
import {
  ErrorCode,
  HEADER_LENGTH,
  MAX_MESSAGE_LENGTH,
  MessageHeaderError,
  MessageType,
  RouteRefreshError,
} from "./constants.ts";
import { BgpNotificationError } from "./errors.ts";
import { badMessageLength, checkHeader, frame } from "./header.ts";
import { decodeOpen, encodeOpen } from "./open.ts";
import type { BgpMessage, CodecOptions, RouteRefreshMessage } from "./types.ts";
import { decodeUpdate, encodeUpdate, UPDATE_MIN_LENGTH } from "./update.ts";

/** RFC 4271 §4.2: OPEN is at least 29 octets. */
export const OPEN_MIN_LENGTH = 29;
/** RFC 4271 §4.5: NOTIFICATION is at least 21 octets. */
export const NOTIFICATION_MIN_LENGTH = 21;
/** RFC 2918 §3: ROUTE-REFRESH is exactly 23 octets (AFI, Reserved/Subtype, SAFI). */
export const ROUTE_REFRESH_LENGTH = 23;

const KEEPALIVE = frame(MessageType.KEEPALIVE, new Uint8Array(0));

/** The 19-octet KEEPALIVE (a shared constant: do not mutate). */
export function keepalive(): Buffer {
  return KEEPALIVE;
}

/** Decodes one complete message (header included). Throws BgpNotificationError with the RFC error. */
export function decodeMessage(buf: Buffer, opts: CodecOptions): BgpMessage {
  if (buf.length < HEADER_LENGTH) throw badMessageLength(buf.length);
  const length = checkHeader(buf, 0);
  if (length !== buf.length) throw badMessageLength(length);
  const type = buf[HEADER_LENGTH - 1]!;
  switch (type) {
    case MessageType.OPEN:
      if (length < OPEN_MIN_LENGTH) throw badMessageLength(length);
      return decodeOpen(buf);
    case MessageType.UPDATE:
      if (length < UPDATE_MIN_LENGTH) throw badMessageLength(length);
      return decodeUpdate(buf, opts);
    case MessageType.NOTIFICATION:
      if (length < NOTIFICATION_MIN_LENGTH) throw badMessageLength(length);
      return {
        type: MessageType.NOTIFICATION,
        code: buf[HEADER_LENGTH]!,
        subcode: buf[HEADER_LENGTH + 1]!,
        data: Buffer.from(buf.subarray(HEADER_LENGTH + 2)),
      };
    case MessageType.KEEPALIVE:
      // RFC 4271 §4.4: a KEEPALIVE is only the header.
      if (length !== HEADER_LENGTH) throw badMessageLength(length);
      return { type: MessageType.KEEPALIVE };
    case MessageType.ROUTE_REFRESH:
      // RFC 7313 §5: wrong length -> ROUTE-REFRESH Message Error / Invalid Message Length with
      // the complete message as data. Unknown subtypes are returned; the caller ignores them.
      if (length !== ROUTE_REFRESH_LENGTH) {
        throw new BgpNotificationError(
          ErrorCode.ROUTE_REFRESH_MESSAGE,
          RouteRefreshError.INVALID_MESSAGE_LENGTH,
          Buffer.from(buf),
          `ROUTE-REFRESH of ${length} octets`,
        );
      }
      return {
        type: MessageType.ROUTE_REFRESH,
        afi: buf.readUInt16BE(HEADER_LENGTH),
        subtype: buf[HEADER_LENGTH + 2]!,
        safi: buf[HEADER_LENGTH + 3]!,
      } satisfies RouteRefreshMessage;
    default:
      throw new BgpNotificationError(
        ErrorCode.MESSAGE_HEADER,
        MessageHeaderError.BAD_MESSAGE_TYPE,
        Buffer.of(type),
        `bad message type ${type}`,
      );
  }
}

/** Encodes one message. NOTIFICATION data is cut to fit 4096 octets. */
export function encodeMessage(msg: BgpMessage, opts: CodecOptions): Buffer {
  switch (msg.type) {
    case MessageType.OPEN:
      return encodeOpen(msg);
    case MessageType.UPDATE:
      return encodeUpdate(msg, opts);
    case MessageType.NOTIFICATION: {
      const data = msg.data.subarray(0, MAX_MESSAGE_LENGTH - NOTIFICATION_MIN_LENGTH);
      const body = Buffer.allocUnsafe(2 + data.length);
      body[0] = msg.code;
      body[1] = msg.subcode;
      data.copy(body, 2);
      return frame(MessageType.NOTIFICATION, body);
    }
    case MessageType.KEEPALIVE:
      return Buffer.from(KEEPALIVE);
    case MessageType.ROUTE_REFRESH: {
      const body = Buffer.allocUnsafe(4);
      body.writeUInt16BE(msg.afi);
      body[2] = msg.subtype;
      body[3] = msg.safi;
      return frame(MessageType.ROUTE_REFRESH, body);
    }
  }
}
