/**
 * Stream framer: turns arbitrary TCP reads into complete BGP messages (pg-protocol's parser
 * buffering). Keeps leftover bytes across pushes and validates each header as soon as its
 * 19 octets are in (RFC 4271 §6.1: marker, 19 <= length <= 4096). Type checks live in decode.
 *
 * Returned messages are subarrays of the pushed chunk or of an internal copy: callers must not
 * mutate a chunk after pushing it. After a throw the framer stays failed (the session closes).
 */
import { HEADER_LENGTH, MARKER_LENGTH } from "./constants.ts";
import type { BgpNotificationError } from "./errors.ts";
import { checkHeader, notSynchronized } from "./header.ts";

export class MessageFramer {
  private pending: Buffer | undefined;
  private failed: BgpNotificationError | undefined;

  /** Octets held back waiting for the rest of a message. */
  get buffered(): number {
    return this.pending?.length ?? 0;
  }

  push(chunk: Buffer): Buffer[] {
    if (this.failed) throw this.failed;
    let buf = chunk;
    if (this.pending) {
      buf = Buffer.concat([this.pending, chunk]);
      this.pending = undefined;
    }
    const out: Buffer[] = [];
    let at = 0;
    try {
      while (buf.length - at >= HEADER_LENGTH) {
        const length = checkHeader(buf, at);
        if (buf.length - at < length) break;
        out.push(buf.subarray(at, at + length));
        at += length;
      }
      // Fail fast on a bad marker even before the full header arrived.
      const partial = Math.min(buf.length - at, MARKER_LENGTH);
      for (let i = 0; i < partial; i++) if (buf[at + i] !== 0xff) throw notSynchronized();
    } catch (e) {
      this.failed = e as BgpNotificationError;
      throw e;
    }
    // Copy the tail so a small leftover does not pin a large read buffer.
    if (at < buf.length) this.pending = Buffer.from(buf.subarray(at));
    return out;
  }
}
