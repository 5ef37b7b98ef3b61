/**
 * The common shape of the lab's BGP daemon launchers (BIRD, FRR, GoBGP, OpenBGPD, ExaBGP) and
 * a small base class with the process handling they share: an instance directory under
 * lab.dir, tracked processes, graceful stop, signals for failure tests, RFC 4271 state names.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Host, LabProcess } from "../netns.ts";

/** RFC 4271 §8.2.2 session states. */
export type BgpState = "Idle" | "Connect" | "Active" | "OpenSent" | "OpenConfirm" | "Established";

export interface NeighborSpec {
  /** Peer address (IPv4 or IPv6). The session's transport family follows it. */
  address: string;
  asn: number;
  /** TCP MD5 signature key (RFC 2385). */
  password?: string;
  /** Never connect, only accept. */
  passive?: boolean;
  /** Hold time in seconds (keepalive = hold / 3). Default 9 in the lab so failures show fast. */
  holdTime?: number;
  /** Negotiate ADD-PATH (RFC 7911) send + receive. */
  addPath?: boolean;
  /** eBGP multihop (TTL 255). */
  multihop?: boolean;
  /** Also carry IPv6 unicast on this session (MP-BGP); a v6 neighbor address always does. */
  ipv6?: boolean;
  /** Also carry IPv4 unicast on a session with a v6 neighbor address. */
  ipv4?: boolean;
  /** Source address for the session. */
  localAddress?: string;
}

export interface DaemonOptions {
  host: Host;
  routerId: string;
  asn: number;
  neighbors: NeighborSpec[];
  /** Accept incoming sessions (default true). */
  listen?: boolean;
  /** Appended verbatim to the generated config. */
  extraConfig?: string;
  /** Instance name (directory under lab.dir and log names); default `<daemon>-<host>`. */
  instance?: string;
}

export interface RibRoute {
  prefix: string;
  nextHop: string;
  asPath: number[];
  localPref?: number;
  med?: number;
  /** "65000:1" */
  communities?: string[];
  /** "1:2:3" */
  largeCommunities?: string[];
  /** Address of the peer the route was learned from. */
  fromPeer?: string;
}

export interface AnnounceAttrs {
  nextHop?: string;
  med?: number;
  /** "65000:1" */
  communities?: string[];
  /** ASNs placed in front of the path before the daemon adds its own (eBGP) AS. */
  asPathPrepend?: number[];
  localPref?: number;
}

export interface BgpDaemon {
  readonly name: "bird" | "frr" | "gobgp" | "openbgpd" | "exabgp";
  /** Writes the config into lab.dir/<inst>/, spawns in the host netns, waits for the control socket. */
  start(): Promise<void>;
  /** Graceful stop (SIGTERM), waits for exit. */
  stop(): Promise<void>;
  /** Raw signal to the daemon's processes (SIGSTOP/SIGCONT/SIGKILL for failure tests). */
  kill(signal?: NodeJS.Signals): void;
  restart(): Promise<void>;
  /** RFC 4271 state name of the session with `peer` (the neighbor address). */
  neighborState(peer: string): Promise<BgpState>;
  /** Routes learned from BGP peers (all paths, not only best). */
  routes(afi: 4 | 6): Promise<RibRoute[]>;
  /** Originates a route at run time (replaces an earlier announcement of the same prefix). */
  announce(prefix: string, attrs?: AnnounceAttrs): Promise<void>;
  withdraw(prefix: string): Promise<void>;
  /** The daemon's log output so far. */
  logs(): string;
}

/** Maps a daemon's state spelling to RFC 4271's. Unknown strings map to Idle. */
export function normaliseState(s: string): BgpState {
  const k = s.toLowerCase().replace(/[^a-z]/g, "");
  switch (k) {
    case "established":
    case "up":
      return "Established";
    case "connect":
      return "Connect";
    case "active":
      return "Active";
    case "opensent":
      return "OpenSent";
    case "openconfirm":
      return "OpenConfirm";
    default:
      return "Idle";
  }
}

/** Families carried on a session with this neighbor. */
export function neighborFamilies(n: NeighborSpec): Array<4 | 6> {
  const v6 = n.address.includes(":");
  const out: Array<4 | 6> = [];
  if (!v6 || n.ipv4) out.push(4);
  if (v6 || n.ipv6) out.push(6);
  return out;
}

export function prefixAfi(prefix: string): 4 | 6 {
  return prefix.includes(":") ? 6 : 4;
}

/** Shared process bookkeeping. */
export abstract class DaemonBase {
  abstract readonly name: BgpDaemon["name"];
  protected procs: LabProcess[] = [];
  /** Announced prefixes, kept so a restart re-announces them. */
  protected announced = new Map<string, AnnounceAttrs>();
  constructor(protected readonly opts: DaemonOptions) {}

  /** Instance name: directory under lab.dir. */
  get instance(): string {
    return this.opts.instance ?? `${this.name}-${this.opts.host.name}`;
  }

  get host(): Host {
    return this.opts.host;
  }

  /** The instance directory (created, world-traversable so daemons dropping privileges can enter). */
  get dir(): string {
    const d = join(this.opts.host.lab.dir, this.instance);
    mkdirSync(d, { recursive: true, mode: 0o755 });
    return d;
  }

  async stop(): Promise<void> {
    const ps = [...this.procs].reverse();
    for (const p of ps) await this.opts.host.lab.stopProcess(p, 5000);
    this.procs = [];
  }

  kill(signal: NodeJS.Signals = "SIGKILL"): void {
    for (const p of this.procs) {
      const pid = p.child.pid;
      if (pid === undefined || !p.running()) continue;
      try {
        process.kill(-pid, signal);
      } catch {
        try {
          process.kill(pid, signal);
        } catch {
          // gone
        }
      }
    }
  }

  logs(): string {
    return this.procs.map((p) => `==> ${p.logFile}\n${p.log()}`).join("\n");
  }

  /** Throws with the log when a process of ours has died (e.g. while waiting for its socket). */
  protected assertRunning(): void {
    for (const p of this.procs) {
      if (!p.running()) throw new Error(`${this.name} process ${p.argv.join(" ")} exited; log:\n${p.log()}`);
    }
  }

  abstract start(): Promise<void>;

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }
}

/** Lab default timers: short so sessions come up and fail fast. */
export const LAB_HOLD_TIME = 9;
