/**
 * Turns `tunnels.ipip` into running state: the device (IpipManager) and the next-hop rule the
 * kernel sync uses (encap.ts), at start and on every reload. Kept out of main.ts so the daemon
 * wiring stays a list of steps.
 */
import { readFileSync } from "node:fs";
import { networkInterfaces } from "node:os";
import type { IpipConfig } from "../config/types.ts";
import type { Logger } from "../core/log.ts";
import { connectedSubnetCheck, ipipResolver, type NextHopResolver } from "./encap.ts";
import { IPIP_OVERHEAD } from "./linux/ipip.ts";
import { IpipManager, type NetlinkRequest } from "./linux/ipip-manager.ts";
import { DEFAULT_UNDERLAY_MTU } from "./tunnels.ts";

/** MTU of the interface that holds `local` (the underlay toward the nodes); undefined when unknown. */
export function interfaceMtuOf(local: string | undefined): number | undefined {
  if (!local) return undefined;
  for (const [dev, addrs] of Object.entries(networkInterfaces())) {
    if (!(addrs ?? []).some((a) => a.address === local)) continue;
    try {
      const mtu = Number(readFileSync(`/sys/class/net/${dev}/mtu`, "utf8").trim());
      return Number.isInteger(mtu) && mtu > 0 ? mtu : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** True when an interface of this host (this network namespace) holds `addr`. */
export function hostHasAddress(addr: string): boolean {
  return Object.values(networkInterfaces()).some((list) => (list ?? []).some((a) => a.address === addr));
}

/** The ipip device MTU: configured, else underlay − 20 (1480 when the underlay is unknown). */
export function ipipMtu(cfg: IpipConfig, underlay = interfaceMtuOf(cfg.local)): number {
  return cfg.mtu ?? (underlay ?? DEFAULT_UNDERLAY_MTU) - IPIP_OVERHEAD;
}

export interface IpipRuntime {
  readonly manager: IpipManager | undefined;
  /** undefined: plain next hops (IPIP off, or its device could not be made). */
  readonly resolver: NextHopResolver | undefined;
  /** The device's ifindex changed (created or recreated): routes through the old one are gone. */
  readonly ifindexChanged: boolean;
}

/**
 * Brings the device in line with `cfg` (undefined = IPIP off: the device is removed unless
 * `keepKernel`). Never throws: a failure is logged, kept in the manager's status, and leaves
 * plain next hops in place.
 */
export async function applyIpip(
  cfg: IpipConfig | undefined,
  prev: IpipManager | undefined,
  o: {
    readonly log: Logger;
    readonly tunnelDevices: readonly string[];
    readonly request?: NetlinkRequest;
    readonly lastIfindex?: number;
  },
): Promise<IpipRuntime & { ifindex?: number }> {
  if (!cfg) {
    if (prev) {
      await prev.shutdown({ keepKernel: false }).catch((e: unknown) => {
        o.log.warn({ error: e instanceof Error ? e.message : String(e) }, "ipip interface not removed");
      });
    }
    return { manager: undefined, resolver: undefined, ifindexChanged: o.lastIfindex !== undefined };
  }
  const manager = prev ?? new IpipManager({ log: o.log, ...(o.request ? { request: o.request } : {}) });
  if (!hostHasAddress(cfg.local)) {
    // Created anyway (the address may come later), but nodes' IPIP to it would go nowhere.
    o.log.warn(
      { tunnel: cfg.name, local: cfg.local },
      "tunnels.ipip.local is not an address of this host: nodes cannot send IPIP back to it",
    );
  }
  try {
    const ifindex = await manager.ensure({
      name: cfg.name,
      mtu: ipipMtu(cfg),
      ...(cfg.local ? { local: cfg.local } : {}),
    });
    const resolver = ipipResolver({
      ifindex,
      mode: cfg.mode,
      onConnectedSubnet: connectedSubnetCheck([cfg.name, ...o.tunnelDevices]),
    });
    return { manager, resolver, ifindex, ifindexChanged: ifindex !== o.lastIfindex };
  } catch (e) {
    o.log.error(
      { tunnel: cfg.name, error: e instanceof Error ? e.message : String(e) },
      "ipip interface not available; cluster routes use plain next hops",
    );
    return { manager, resolver: undefined, ifindexChanged: o.lastIfindex !== undefined };
  }
}
