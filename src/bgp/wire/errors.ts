/**
 * Typed protocol errors. Every decode failure is a BgpNotificationError carrying the
 * RFC 4271 §6 code/subcode/data to send, so a session can answer any bad input exactly.
 */
import { errorCodeNames } from "./constants.ts";

export class BgpNotificationError extends Error {
  readonly code: number;
  readonly subcode: number;
  readonly data: Buffer;

  constructor(code: number, subcode: number, data: Buffer = Buffer.alloc(0), message?: string) {
    super(message ?? `${errorCodeNames[code] ?? `error ${code}`} / subcode ${subcode}`);
    this.name = "BgpNotificationError";
    this.code = code;
    this.subcode = subcode;
    this.data = data;
  }
}
