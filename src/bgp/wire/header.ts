/**
 * RFC 4271 §4.1 message header: 16-octet all-ones marker, 2-octet length, 1-octet type.
 * Owns header validation (§6.1) shared by the framer and decodeMessage, and header writing.
 */
import {
  ErrorCode,
  HEADER_LENGTH,
  MARKER_LENGTH,
  MAX_MESSAGE_LENGTH,
  MessageHeaderError,
  MIN_MESSAGE_LENGTH,
} from "./constants.ts";
import { BgpNotificationError } from "./errors.ts";

/** RFC 4271 §6.1: Bad Message Length carries the erroneous 2-octet Length field as data. */
export function badMessageLength(length: number): BgpNotificationError {
  const data = Buffer.alloc(2);
  data.writeUInt16BE(length & 0xffff);
  return new BgpNotificationError(
    ErrorCode.MESSAGE_HEADER,
    MessageHeaderError.BAD_MESSAGE_LENGTH,
    data,
    `bad message length ${length}`,
  );
}

export function notSynchronized(): BgpNotificationError {
  return new BgpNotificationError(
    ErrorCode.MESSAGE_HEADER,
    MessageHeaderError.CONNECTION_NOT_SYNCHRONIZED,
    Buffer.alloc(0),
    "marker is not all ones",
  );
}

/** Checks the marker and length of a header starting at `at`; returns the Length field. */
export function checkHeader(buf: Buffer, at: number): number {
  for (let i = at; i < at + MARKER_LENGTH; i++) if (buf[i] !== 0xff) throw notSynchronized();
  const length = buf.readUInt16BE(at + MARKER_LENGTH);
  if (length < MIN_MESSAGE_LENGTH || length > MAX_MESSAGE_LENGTH) throw badMessageLength(length);
  return length;
}

/** Writes marker, length and type at `at` (the body must already be or will be in place). */
export function writeHeader(buf: Buffer, at: number, length: number, type: number): void {
  buf.fill(0xff, at, at + MARKER_LENGTH);
  buf.writeUInt16BE(length, at + MARKER_LENGTH);
  buf[at + MARKER_LENGTH + 2] = type;
}

/** A complete message from a type and body. */
export function frame(type: number, body: Uint8Array): Buffer {
  const length = HEADER_LENGTH + body.length;
  if (length > MAX_MESSAGE_LENGTH) throw new RangeError(`BGP message of ${length} octets exceeds 4096`);
  const out = Buffer.allocUnsafe(length);
  writeHeader(out, 0, length, type);
  out.set(body, HEADER_LENGTH);
  return out;
}
