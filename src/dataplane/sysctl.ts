/**
 * Kernel forwarding settings a gateway needs, checked (and optionally set) at start:
 * - net.ipv4.ip_forward = 1 and net.ipv6.conf.all.forwarding = 1: without them the installed
 *   routes serve only the gateway itself, office traffic to pods is dropped;
 * - net.ipv4.conf.{all,default}.rp_filter = 2 (loose). Strict reverse-path filtering (1) drops
 *   a packet when the route back to its source leaves by another interface than the one it
 *   arrived on. Through a cluster that is normal: a reply from a pod may come back through a
 *   different node or tunnel than the request went out (ECMP, CrossSubnet, node failover), and
 *   strict mode silently drops it. Loose mode still drops sources with no route at all. The
 *   kernel uses max(all, <interface>), so "all"=2 is enough to relax every interface; "default"
 *   covers interfaces created later.
 * Previous values are logged so an operator can restore them. The file system root is a
 * parameter so tests can point it at a temporary directory.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../core/log.ts";

export interface SysctlWant {
  readonly key: string;
  readonly value: string;
  readonly why: string;
}

export const GATEWAY_SYSCTLS: readonly SysctlWant[] = [
  { key: "net.ipv4.ip_forward", value: "1", why: "forward IPv4 between office and cluster" },
  { key: "net.ipv6.conf.all.forwarding", value: "1", why: "forward IPv6 between office and cluster" },
  {
    key: "net.ipv4.conf.all.rp_filter",
    value: "2",
    why: "loose rp_filter: asymmetric paths through the cluster",
  },
  { key: "net.ipv4.conf.default.rp_filter", value: "2", why: "loose rp_filter for interfaces created later" },
];

export interface SysctlResult {
  readonly key: string;
  /** Value found; undefined when the key does not exist (e.g. IPv6 disabled). */
  readonly previous: string | undefined;
  readonly wanted: string;
  readonly ok: boolean;
  readonly changed: boolean;
  readonly error?: string;
}

function keyPath(root: string, key: string): string {
  return join(root, "proc/sys", ...key.split("."));
}

/**
 * Checks each wanted setting; with mode "set" writes the ones that differ. Never throws:
 * a missing key or a read-only /proc (containers) is reported in the result and logged.
 */
export async function ensureSysctls(opts: {
  readonly mode: "check" | "set";
  readonly log: Logger;
  readonly want?: readonly SysctlWant[];
  /** Root of the file system holding /proc/sys (default "/"). */
  readonly root?: string;
}): Promise<SysctlResult[]> {
  const root = opts.root ?? "/";
  const out: SysctlResult[] = [];
  for (const w of opts.want ?? GATEWAY_SYSCTLS) {
    const path = keyPath(root, w.key);
    let previous: string | undefined;
    try {
      previous = (await readFile(path, "utf8")).trim();
    } catch (e) {
      out.push({
        key: w.key,
        previous,
        wanted: w.value,
        ok: false,
        changed: false,
        error: (e as Error).message,
      });
      opts.log.warn({ key: w.key, why: w.why }, "sysctl not readable");
      continue;
    }
    if (previous === w.value) {
      out.push({ key: w.key, previous, wanted: w.value, ok: true, changed: false });
      continue;
    }
    if (opts.mode === "check") {
      out.push({ key: w.key, previous, wanted: w.value, ok: false, changed: false });
      opts.log.warn(
        { key: w.key, value: previous, wanted: w.value, why: w.why },
        "sysctl differs (not changed: check mode)",
      );
      continue;
    }
    try {
      await writeFile(path, `${w.value}\n`);
      out.push({ key: w.key, previous, wanted: w.value, ok: true, changed: true });
      opts.log.info({ key: w.key, previous, value: w.value, why: w.why }, "sysctl set");
    } catch (e) {
      out.push({
        key: w.key,
        previous,
        wanted: w.value,
        ok: false,
        changed: false,
        error: (e as Error).message,
      });
      opts.log.warn(
        { key: w.key, previous, wanted: w.value, err: (e as Error).message },
        "sysctl could not be set",
      );
    }
  }
  return out;
}
