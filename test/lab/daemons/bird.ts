/**
 * BIRD 2 launcher for the lab: `bird -f -c CONF -s SOCK -P PID` in a namespace, queried with
 * `birdc -s SOCK`. Run-time announcements are two static protocols in the config; announce/withdraw
 * rewrite the config and run `birdc configure` (BIRD reloads only
 * what changed, sessions stay up). Also a `calicoNode` preset that reproduces calico-node's
 * BIRD (session settings, /26 blackhole blocks exported, learned routes into the kernel).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Host, waitFor } from "../netns.ts";
import {
  type AnnounceAttrs,
  type BgpDaemon,
  type BgpState,
  DaemonBase,
  type DaemonOptions,
  LAB_HOLD_TIME,
  type NeighborSpec,
  neighborFamilies,
  normaliseState,
  prefixAfi,
  type RibRoute,
} from "./types.ts";

export interface BirdOptions extends DaemonOptions {
  /**
   * Session settings put in every BGP protocol instead of the lab's fast timers (the calicoNode
   * preset uses Calico's). Default: connect delay 1, connect retry 2, error wait 1,5, hold 9.
   */
  sessionSettings?: string;
  /** Channel lines added to every BGP channel (e.g. "gateway recursive;"). */
  channelSettings?: string;
  /** Install learned routes into the namespace's kernel table (default false). */
  kernel?: boolean;
  /** Also program our own static announcements (Calico's blackhole blocks) into the kernel. */
  kernelStatic?: boolean;
  /** Import connected routes (protocol direct), needed to resolve `gateway recursive` next hops. */
  direct?: boolean;
}

export class BirdDaemon extends DaemonBase implements BgpDaemon {
  readonly name = "bird" as const;
  declare protected readonly opts: BirdOptions;

  constructor(opts: BirdOptions) {
    super(opts);
  }

  get socket(): string {
    return join(this.dir, "bird.ctl");
  }

  get configFile(): string {
    return join(this.dir, "bird.conf");
  }

  /** BIRD protocol name of the i-th neighbor. */
  protoName(i: number): string {
    return `peer${i}`;
  }

  private neighborIndex(peer: string): number {
    const i = this.opts.neighbors.findIndex((n) => n.address === peer);
    if (i < 0) throw new Error(`bird: no neighbor ${peer}`);
    return i;
  }

  renderConfig(): string {
    const o = this.opts;
    const lines: string[] = [];
    lines.push(`router id ${o.routerId};`);
    lines.push("log stderr all;");
    lines.push("protocol device { scan time 5; }");
    if (o.direct) lines.push('protocol direct { ipv4; ipv6; interface -"cali*", "*"; }');
    if (o.kernel) {
      const src = o.kernelStatic ? "source = RTS_BGP || source = RTS_STATIC" : "source = RTS_BGP";
      lines.push(
        `protocol kernel kernel4 { ipv4 { import none; export filter { if ${src} then accept; reject; }; }; merge paths on; }`,
      );
      lines.push(
        `protocol kernel kernel6 { ipv6 { import none; export filter { if ${src} then accept; reject; }; }; merge paths on; }`,
      );
    }
    // BIRD rejects `include` inside a block, so announcements are rendered into the main file.
    lines.push(...this.renderAnnouncements());
    const session =
      o.sessionSettings ??
      "connect delay time 1; connect retry time 2; error wait time 1,5; error forget time 10;";
    o.neighbors.forEach((n, i) => {
      lines.push(`protocol bgp ${this.protoName(i)} {`);
      lines.push(`  local ${n.localAddress ?? ""} as ${o.asn};`);
      lines.push(`  neighbor ${n.address} as ${n.asn};`);
      lines.push(`  ${session}`);
      if (!o.sessionSettings || n.holdTime !== undefined) {
        const hold = n.holdTime ?? LAB_HOLD_TIME;
        lines.push(`  hold time ${hold}; keepalive time ${Math.max(1, Math.floor(hold / 3))};`);
      }
      if (n.passive) lines.push("  passive on;");
      if (n.password) lines.push(`  password "${n.password}";`);
      if (n.multihop) lines.push("  multihop;");
      for (const afi of neighborFamilies(n)) lines.push(`  ${this.channel(afi, n)}`);
      lines.push("}");
    });
    if (o.extraConfig) lines.push(o.extraConfig);
    return `${lines.join("\n")}\n`;
  }

  private channel(afi: 4 | 6, n: NeighborSpec): string {
    const extra = [this.opts.channelSettings ?? "", n.addPath ? "add paths on;" : ""].join(" ");
    // BIRD drops a MED set on the static route when exporting to eBGP; set in the export filter it is sent.
    const meds = [...this.announced]
      .filter(([p, a]) => prefixAfi(p) === afi && a.med !== undefined)
      .map(([p, a]) => `if net = ${p} then bgp_med = ${a.med};`)
      .join(" ");
    return `ipv${afi} { import all; export filter { if source != RTS_STATIC then reject; ${meds} accept; }; ${extra} };`;
  }

  private renderAnnouncements(): string[] {
    const out: string[] = [];
    for (const afi of [4, 6] as const) {
      const lines: string[] = [];
      for (const [prefix, a] of this.announced) {
        if (prefixAfi(prefix) !== afi) continue;
        const target = a.nextHop ? `via ${a.nextHop}` : "blackhole";
        const body: string[] = [];
        if (a.localPref !== undefined) body.push(`bgp_local_pref = ${a.localPref};`);
        for (const c of a.communities ?? []) {
          const [x, y] = c.split(":");
          body.push(`bgp_community.add((${x},${y}));`);
        }
        if (a.asPathPrepend?.length) {
          // Prepend in reverse so the first listed ASN ends up leftmost.
          for (const asn of [...a.asPathPrepend].reverse()) body.push(`bgp_path.prepend(${asn});`);
        }
        lines.push(
          body.length ? `route ${prefix} ${target} { ${body.join(" ")} };` : `route ${prefix} ${target};`,
        );
      }
      out.push(`protocol static announce${afi} {`, `  ipv${afi};`, ...lines.map((l) => `  ${l}`), "}");
    }
    return out;
  }

  async start(): Promise<void> {
    writeFileSync(this.configFile, this.renderConfig());
    const check = await this.host.exec(["bird", "-p", "-c", this.configFile]);
    if (check.code !== 0) throw new Error(`bird config invalid: ${check.stderr}\n${this.renderConfig()}`);
    const proc = this.host.spawn(
      ["bird", "-f", "-c", this.configFile, "-s", this.socket, "-P", join(this.dir, "bird.pid")],
      { logName: `${this.instance}.log` },
    );
    this.procs.push(proc);
    await waitFor(
      async () => {
        this.assertRunning();
        return (await this.birdc(["show", "status"], false)).includes("Daemon is up");
      },
      { timeoutMs: 10_000, what: `${this.instance} control socket` },
    );
  }

  /** Runs a birdc command; throws on failure when check. */
  async birdc(args: string[], check = true): Promise<string> {
    const r = await this.host.exec(["birdc", "-s", this.socket, ...args]);
    if (check && r.code !== 0) throw new Error(`birdc ${args.join(" ")}: ${r.stderr || r.stdout}`);
    return r.stdout;
  }

  async neighborState(peer: string): Promise<BgpState> {
    const out = await this.birdc(["show", "protocols", "all", this.protoName(this.neighborIndex(peer))]);
    const m = /BGP state:\s+(\S+)/.exec(out);
    return normaliseState(m?.[1] ?? "Idle");
  }

  async routes(afi: 4 | 6): Promise<RibRoute[]> {
    const out = await this.birdc([
      "show",
      "route",
      "all",
      "table",
      `master${afi}`,
      "where",
      "source",
      "=",
      "RTS_BGP",
    ]);
    return parseBirdRoutes(out, (proto) => {
      const m = /^peer(\d+)$/.exec(proto);
      return m ? this.opts.neighbors[Number(m[1])]?.address : undefined;
    });
  }

  /** Adds an announcement before start() (no reconfigure). */
  preAnnounce(prefix: string, attrs: AnnounceAttrs = {}): void {
    this.announced.set(prefix, attrs);
  }

  async announce(prefix: string, attrs: AnnounceAttrs = {}): Promise<void> {
    this.announced.set(prefix, attrs);
    await this.reconfigure();
  }

  async withdraw(prefix: string): Promise<void> {
    this.announced.delete(prefix);
    await this.reconfigure();
  }

  private async reconfigure(): Promise<void> {
    writeFileSync(this.configFile, this.renderConfig());
    const out = await this.birdc(["configure"]);
    if (!/Reconfigured|Reconfiguration in progress/.test(out)) throw new Error(`birdc configure: ${out}`);
  }
}

/** Parses `birdc show route all` output. */
export function parseBirdRoutes(out: string, peerOf: (proto: string) => string | undefined): RibRoute[] {
  const routes: RibRoute[] = [];
  let prefix = "";
  let cur: RibRoute | undefined;
  for (const line of out.split("\n")) {
    // A route line: "10.1.0.0/24   unicast [peer0 12:00:00.000] * (100) [AS65002i]", or the
    // same without the prefix for further paths of that prefix.
    const head = /^(\S+)?\s+(?:unicast|blackhole|unreachable|prohibit)\s+\[(\S+)\s/.exec(line);
    if (head && (head[1] || /^\s/.test(line))) {
      if (head[1]) prefix = head[1];
      cur = { prefix, nextHop: "", asPath: [] };
      const peer = peerOf(head[2] ?? "");
      if (peer) cur.fromPeer = peer;
      routes.push(cur);
      continue;
    }
    if (!cur) continue;
    const attr = /^\s+BGP\.(\w+):\s*(.*)$/.exec(line);
    if (!attr) continue;
    const [, key, value = ""] = attr;
    switch (key) {
      case "as_path":
        cur.asPath = value.replace(/[{}]/g, " ").split(/\s+/).filter(Boolean).map(Number);
        break;
      case "next_hop":
        cur.nextHop = value.split(/\s+/)[0] ?? "";
        break;
      case "med":
        cur.med = Number(value);
        break;
      case "local_pref":
        cur.localPref = Number(value);
        break;
      case "community":
        cur.communities = [...value.matchAll(/\((\d+),\s*(\d+)\)/g)].map((m) => `${m[1]}:${m[2]}`);
        break;
      case "large_community":
        cur.largeCommunities = [...value.matchAll(/\((\d+),\s*(\d+),\s*(\d+)\)/g)].map(
          (m) => `${m[1]}:${m[2]}:${m[3]}`,
        );
        break;
    }
  }
  return routes;
}

export interface CalicoNodeOptions {
  host: Host;
  /** The node's address (router id and session source). */
  nodeIp: string;
  /** The node's IPv6 address: the session source toward IPv6 peers (dual-stack nodes). */
  nodeIp6?: string;
  /** Peers: other nodes (mesh) and external peers such as the gateway. */
  peers: Array<{ address: string; asn?: number; password?: string; meshNode?: boolean }>;
  /** /26 blocks affine to this node: installed as blackholes and exported. */
  blocks: string[];
  /** Default 64512 (Calico's default AS). */
  asn?: number;
  instance?: string;
}

/**
 * BIRD configured like calico-node's: every session gets Calico's settings (gateway recursive,
 * add paths, graceful restart, connect delay 2, connect retry 5, error wait 5,30, hold 240),
 * non-mesh peers get multihop, own blocks are exported as blackholes, learned routes go to the kernel.
 */
export function calicoNode(o: CalicoNodeOptions): BirdDaemon {
  const asn = o.asn ?? 64512;
  const d = new BirdDaemon({
    host: o.host,
    routerId: o.nodeIp,
    asn,
    kernel: true,
    kernelStatic: true,
    direct: true,
    instance: o.instance ?? `calico-${o.host.name}`,
    neighbors: o.peers.map((p) => ({
      address: p.address,
      asn: p.asn ?? asn,
      localAddress: p.address.includes(":") && o.nodeIp6 ? o.nodeIp6 : o.nodeIp,
      multihop: !p.meshNode,
      addPath: true,
      ...(p.password ? { password: p.password } : {}),
    })),
    sessionSettings:
      "graceful restart; long lived graceful restart aware; connect delay time 2; connect retry time 5; error wait time 5,30; hold time 240; keepalive time 80; graceful restart time 120;",
    channelSettings: "gateway recursive;",
  });
  for (const b of o.blocks) d.preAnnounce(b);
  return d;
}
