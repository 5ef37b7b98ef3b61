/**
 * Bounds-checked big-endian reader over a Buffer slice (pg-protocol's buffer-reader, plus the
 * bounds checks it lacks). Every read past the end throws the BgpNotificationError that the
 * caller chose at construction, so each parsing context answers with its own RFC error.
 */
import type { BgpNotificationError } from "./errors.ts";

/** Builds the error to throw when a read runs past the end of the reader's window. */
export type UnderflowError = () => BgpNotificationError;

export class BufferReader {
  readonly buf: Buffer;
  offset: number;
  readonly end: number;
  private readonly underflow: UnderflowError;

  constructor(buf: Buffer, underflow: UnderflowError, start = 0, end = buf.length) {
    this.buf = buf;
    this.offset = start;
    this.end = end;
    this.underflow = underflow;
  }

  get remaining(): number {
    return this.end - this.offset;
  }

  get atEnd(): boolean {
    return this.offset >= this.end;
  }

  /** Throws the underflow error unless `n` more octets are available. */
  need(n: number): void {
    if (this.offset + n > this.end) throw this.underflow();
  }

  u8(): number {
    if (this.offset + 1 > this.end) throw this.underflow();
    return this.buf[this.offset++]!;
  }

  u16(): number {
    if (this.offset + 2 > this.end) throw this.underflow();
    const v = this.buf.readUInt16BE(this.offset);
    this.offset += 2;
    return v;
  }

  u32(): number {
    if (this.offset + 4 > this.end) throw this.underflow();
    const v = this.buf.readUInt32BE(this.offset);
    this.offset += 4;
    return v;
  }

  /** The next `n` octets as a subarray (no copy). */
  bytes(n: number): Buffer {
    if (n < 0 || this.offset + n > this.end) throw this.underflow();
    const b = this.buf.subarray(this.offset, this.offset + n);
    this.offset += n;
    return b;
  }

  /** Everything left, as a subarray. */
  rest(): Buffer {
    const b = this.buf.subarray(this.offset, this.end);
    this.offset = this.end;
    return b;
  }

  skip(n: number): void {
    if (n < 0 || this.offset + n > this.end) throw this.underflow();
    this.offset += n;
  }

  /** A reader over the next `n` octets (advancing this one past them), with its own underflow error. */
  sub(n: number, underflow: UnderflowError = this.underflow): BufferReader {
    if (n < 0 || this.offset + n > this.end) throw this.underflow();
    const r = new BufferReader(this.buf, underflow, this.offset, this.offset + n);
    this.offset += n;
    return r;
  }
}
