/**
 * The two-site WireGuard lab shared by test/e2e/remote-cluster.test.ts and bench/wireguard.ts:
 *
 *   laptop — FRR office router (AS 65010) — office podgate (AS 64513) — internet —
 *   cluster podgate (AS 64512) — calico-node BIRD node(s) (iBGP 64512) — pods
 *
 * Owns the addresses and AS numbers (`WG_SITES`), the "internet" namespace that alone routes
 * between the gateways' public addresses, the WireGuard keys (made with `podgate wg genkey/pubkey`),
 * the two podgate configs with `tunnels.wireguard`, and clean-up of the wireguard-go interfaces.
 * The office and cluster sites themselves come from ./sites.ts; nothing here starts podgate.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PODGATE_BIN, type PodgateYaml, REPO_ROOT } from "../interop/podgate.ts";
import type { Host, Lab } from "./netns.ts";

/** Addresses and AS numbers of both sites (all inside the lab's namespaces). */
export const WG_SITES = {
  CLUSTER_AS: 64512,
  OFFICE_GW_AS: 64513,
  OFFICE_AS: 65010,
  OFFICE_LAN: "10.10.0.0/24",
  OFFICE_LAN_IP: "10.10.0.1",
  LAPTOP_IP: "10.10.0.50",
  OFFICE_TRANSIT_IP: "192.168.50.1",
  OGW_TRANSIT_IP: "192.168.50.2",
  /** Public addresses: only the internet namespace routes between them. */
  OGW_PUB: "192.0.2.2",
  INET_OGW_SIDE: "192.0.2.1",
  CGW_PUB: "198.51.100.2",
  INET_CGW_SIDE: "198.51.100.1",
  WG_PORT: 51820,
  OGW_TUN: "10.200.0.1",
  CGW_TUN: "10.200.0.2",
  CGW_LAN_IP: "192.168.40.10",
  /** The nodes' default route points here; nothing answers. */
  CLUSTER_LAN_ROUTER: "192.168.40.1",
  POD_CIDR: "10.244.0.0/16",
  SERVICE_CIDR: "10.96.0.0/12",
} as const;

const S = WG_SITES;

/** The BGP session between the two gateways: role `gateway`, hold 9 / keepalive 3. */
const GATEWAY_PEER = { role: "gateway", holdTime: 9, keepaliveTime: 3 } as const;

/**
 * The office gateway, the internet and the cluster gateway namespaces (created in that order):
 * each gateway on its own /24 to the internet, default route there; all three forward.
 */
export async function addInternet(lab: Lab): Promise<{ ogw: Host; inet: Host; cgw: Host }> {
  const ogw = await lab.addHost("ogw");
  const inet = await lab.addHost("inet");
  const cgw = await lab.addHost("cgw");
  await lab.link(ogw, inet, { aAddr: `${S.OGW_PUB}/24`, bAddr: `${S.INET_OGW_SIDE}/24` });
  await lab.link(cgw, inet, { aAddr: `${S.CGW_PUB}/24`, bAddr: `${S.INET_CGW_SIDE}/24` });
  await inet.sysctl("net.ipv4.ip_forward", "1");
  await ogw.run(["ip", "route", "add", "default", "via", S.INET_OGW_SIDE]);
  await cgw.run(["ip", "route", "add", "default", "via", S.INET_CGW_SIDE]);
  for (const g of [ogw, cgw]) await g.sysctl("net.ipv4.ip_forward", "1");
  return { ogw, inet, cgw };
}

/** Both gateways' keys: private key files (0600) in the lab directory and their contents. */
export interface WgKeys {
  readonly officeKeyFile: string;
  readonly clusterKeyFile: string;
  /** Private keys: for "never logged" checks only; never print them. */
  readonly office: string;
  readonly cluster: string;
  readonly officePub: string;
  readonly clusterPub: string;
}

/** Runs the podgate CLI from the repository (not inside a namespace). */
export function podgateCli(args: readonly string[]): string {
  return execFileSync("node", [PODGATE_BIN, ...args], { cwd: REPO_ROOT, encoding: "utf8" }).trim();
}

/** Keys through podgate's own CLI (`wg genkey --out`, `wg pubkey --key`); only public keys are exchanged. */
export function makeWgKeys(lab: Lab): WgKeys {
  const make = (side: string) => {
    const file = join(lab.dir, `${side}.key`);
    podgateCli(["wg", "genkey", "--out", file]);
    const priv = readFileSync(file, "utf8").trim();
    const pub = podgateCli(["wg", "pubkey", "--key", file]).split("\n").pop()!.trim();
    return { file, priv, pub };
  };
  const o = make("office");
  const c = make("cluster");
  return {
    officeKeyFile: o.file,
    clusterKeyFile: c.file,
    office: o.priv,
    cluster: c.priv,
    officePub: o.pub,
    clusterPub: c.pub,
  };
}

type GatewayConfig = Omit<PodgateYaml, "api">;

function common(routerId: string, asn: number) {
  return {
    routerId,
    asn,
    defaults: { connectRetryTime: 1 },
    log: { level: "info" },
    cluster: { podCIDRs: [S.POD_CIDR], serviceCIDRs: [S.SERVICE_CIDR] },
    office: { prefixes: [S.OFFICE_LAN] },
  };
}

/**
 * The office podgate: peers with the office router and, over its WireGuard interface `ifName`
 * (which dials the cluster gateway's public endpoint), with the cluster gateway.
 */
export function officeGatewayConfig(o: { readonly ifName: string; readonly keys: WgKeys }): GatewayConfig {
  return {
    ...common(S.OGW_TRANSIT_IP, S.OFFICE_GW_AS),
    tunnels: {
      wireguard: [
        {
          name: o.ifName,
          privateKeyFile: o.keys.officeKeyFile,
          listenPort: S.WG_PORT,
          address: [`${S.OGW_TUN}/30`],
          peers: [
            {
              publicKey: o.keys.clusterPub,
              endpoint: `${S.CGW_PUB}:${S.WG_PORT}`,
              allowedIPs: [`${S.CGW_TUN}/32`, S.POD_CIDR, S.SERVICE_CIDR],
              persistentKeepalive: 1,
            },
          ],
        },
      ],
    },
    peers: [
      { name: "office-router", address: S.OFFICE_TRANSIT_IP, asn: S.OFFICE_AS },
      { name: "cluster-gateway", address: S.CGW_TUN, asn: S.CLUSTER_AS, ...GATEWAY_PEER },
    ],
  } as GatewayConfig;
}

/**
 * The cluster podgate: peers with every node (iBGP) and, passively over its WireGuard interface
 * `ifName` (no endpoint: the office dials in), with the office gateway; return path `advertise`.
 */
export function clusterGatewayConfig(o: {
  readonly ifName: string;
  readonly keys: WgKeys;
  readonly nodes: readonly { readonly name: string; readonly ip: string }[];
}): GatewayConfig {
  return {
    ...common(S.CGW_LAN_IP, S.CLUSTER_AS),
    returnPath: { mode: "advertise" },
    tunnels: {
      wireguard: [
        {
          name: o.ifName,
          privateKeyFile: o.keys.clusterKeyFile,
          listenPort: S.WG_PORT,
          address: [`${S.CGW_TUN}/30`],
          peers: [
            // No endpoint: the office dials in.
            {
              publicKey: o.keys.officePub,
              allowedIPs: [`${S.OGW_TUN}/32`, S.OFFICE_LAN],
              persistentKeepalive: 1,
            },
          ],
        },
      ],
    },
    peers: [
      ...o.nodes.map((n) => ({ name: n.name, address: n.ip, asn: S.CLUSTER_AS })),
      {
        name: "office-gateway",
        address: S.OGW_TUN,
        asn: S.OFFICE_GW_AS,
        // The office dials in (it may sit behind NAT). Also avoids a reconnect livelock after
        // an outage: two active sides in IdleHold backoff reject each other (Cease/Connection
        // Rejected) for minutes.
        passive: true,
        ...GATEWAY_PEER,
      },
    ],
  } as GatewayConfig;
}

/**
 * Deletes the named WireGuard interfaces wherever they are, synchronously (usable in a process
 * 'exit' hook): wireguard-go ends with its interface.
 */
export function deleteWgInterfacesSync(hosts: readonly (Host | undefined)[], names: readonly string[]): void {
  for (const h of hosts) {
    if (!h) continue;
    for (const n of names) {
      try {
        execFileSync("ip", ["netns", "exec", h.ns, "ip", "link", "del", n], { stdio: "ignore" });
      } catch {
        // not there
      }
    }
  }
}

/** pids of the wireguard-go processes serving the named interfaces (`wireguard-go -f IF`). */
export function wireguardGoPids(names: readonly string[]): number[] {
  const pids: number[] = [];
  for (const name of names) {
    try {
      const out = execFileSync("pgrep", ["-f", `wireguard-go -f ${name}$`], { encoding: "utf8" });
      pids.push(...out.trim().split("\n").filter(Boolean).map(Number));
    } catch {
      // not running
    }
  }
  return pids;
}
