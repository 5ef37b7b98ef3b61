/**
 * NOTIFICATION helpers: names for logs (OpenBGPD's suberr_*_names, never bare numbers) and the
 * RFC 9003 Shutdown Communication carried by Cease/Administrative Shutdown and Reset.
 */
import {
  CeaseSubcode,
  ErrorCode,
  errorCodeNames,
  MessageType,
  SHUTDOWN_COMMUNICATION_MAX,
} from "./constants.ts";
import type { NotificationMessage } from "./types.ts";

/** IANA "BGP Error Subcodes" registries, by error code. */
const subcodeNames: Record<number, Record<number, string>> = {
  [ErrorCode.MESSAGE_HEADER]: {
    0: "Unspecific",
    1: "Connection Not Synchronized",
    2: "Bad Message Length",
    3: "Bad Message Type",
  },
  [ErrorCode.OPEN_MESSAGE]: {
    0: "Unspecific",
    1: "Unsupported Version Number",
    2: "Bad Peer AS",
    3: "Bad BGP Identifier",
    4: "Unsupported Optional Parameter",
    5: "Authentication Failure (deprecated)",
    6: "Unacceptable Hold Time",
    7: "Unsupported Capability",
    11: "Role Mismatch",
  },
  [ErrorCode.UPDATE_MESSAGE]: {
    0: "Unspecific",
    1: "Malformed Attribute List",
    2: "Unrecognized Well-known Attribute",
    3: "Missing Well-known Attribute",
    4: "Attribute Flags Error",
    5: "Attribute Length Error",
    6: "Invalid ORIGIN Attribute",
    7: "AS Routing Loop (deprecated)",
    8: "Invalid NEXT_HOP Attribute",
    9: "Optional Attribute Error",
    10: "Invalid Network Field",
    11: "Malformed AS_PATH",
  },
  [ErrorCode.FSM]: {
    0: "Unspecified Error",
    1: "Receive Unexpected Message in OpenSent State",
    2: "Receive Unexpected Message in OpenConfirm State",
    3: "Receive Unexpected Message in Established State",
  },
  [ErrorCode.CEASE]: {
    1: "Maximum Number of Prefixes Reached",
    2: "Administrative Shutdown",
    3: "Peer De-configured",
    4: "Administrative Reset",
    5: "Connection Rejected",
    6: "Other Configuration Change",
    7: "Connection Collision Resolution",
    8: "Out of Resources",
    9: "Hard Reset",
    10: "BFD Down",
  },
  [ErrorCode.ROUTE_REFRESH_MESSAGE]: { 1: "Invalid Message Length" },
};

/** "Cease/Administrative Shutdown", "Hold Timer Expired", "Cease/subcode 42", "error 99/subcode 1". */
export function describeNotification(code: number, subcode: number): string {
  const name = errorCodeNames[code] ?? `error ${code}`;
  const sub = subcodeNames[code]?.[subcode];
  if (sub) return `${name}/${sub}`;
  if (subcode === 0) return name;
  return `${name}/subcode ${subcode}`;
}

export function notification(
  code: number,
  subcode: number,
  data: Buffer = Buffer.alloc(0),
): NotificationMessage {
  return { type: MessageType.NOTIFICATION, code, subcode, data };
}

/**
 * RFC 9003 §2: one length octet then UTF-8 text, at most 255 octets; longer text is cut on a
 * UTF-8 character boundary so the receiver never sees a broken sequence.
 */
export function encodeShutdownCommunication(text: string): Buffer {
  const utf8 = Buffer.from(text, "utf8");
  let len = Math.min(utf8.length, SHUTDOWN_COMMUNICATION_MAX);
  // Back up over continuation octets (10xxxxxx) so the cut falls before a character start.
  if (len < utf8.length) while (len > 0 && (utf8[len]! & 0xc0) === 0x80) len--;
  const out = Buffer.allocUnsafe(1 + len);
  out[0] = len;
  utf8.copy(out, 1, 0, len);
  return out;
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** The Shutdown Communication in a NOTIFICATION's data, or undefined if absent or malformed (RFC 9003 §3). */
export function decodeShutdownCommunication(data: Buffer): string | undefined {
  if (data.length === 0) return undefined;
  const len = data[0]!;
  if (len === 0 || 1 + len > data.length) return undefined;
  try {
    return strictUtf8.decode(data.subarray(1, 1 + len));
  } catch {
    return undefined;
  }
}

/** True for the Cease subcodes that may carry a Shutdown Communication (RFC 9003 §2). */
export function carriesShutdownCommunication(code: number, subcode: number): boolean {
  return (
    code === ErrorCode.CEASE &&
    (subcode === CeaseSubcode.ADMINISTRATIVE_SHUTDOWN || subcode === CeaseSubcode.ADMINISTRATIVE_RESET)
  );
}
