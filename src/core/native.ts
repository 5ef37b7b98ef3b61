/**
 * The one loader of the project's N-API addon (native/tcpsock, built by `npm run build:addon`):
 * TCP-MD5/GTSM sockets for the BGP sessions and the sd_notify datagram. Loaded once; null when
 * it is not built (callers say what that costs).
 */
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const ADDON = new URL("../../native/tcpsock/build/Release/tcpsock.node", import.meta.url);

let cached: Record<string, unknown> | null | undefined;

export function loadNativeAddon(): Record<string, unknown> | null {
  if (cached !== undefined) return cached;
  try {
    cached = createRequire(import.meta.url)(fileURLToPath(ADDON)) as Record<string, unknown>;
  } catch {
    cached = null;
  }
  return cached;
}
