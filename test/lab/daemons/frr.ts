/**
 * FRR 8.4 launcher for the lab: zebra + bgpd in the foreground in a namespace with every path
 * explicit (zserv socket, vty sockets, pid files, config) under lab.dir/<inst>/, owned by the
 * frr user they drop to. Queried with `vtysh --vty_socket DIR ... json`. Run-time announcements
 * are `network P route-map <per-prefix map>` (the map sets MED, communities, next hop, prepend).
 */
import { chmodSync, chownSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { waitFor } from "../netns.ts";
import {
  type AnnounceAttrs,
  type BgpDaemon,
  type BgpState,
  DaemonBase,
  type DaemonOptions,
  LAB_HOLD_TIME,
  neighborFamilies,
  normaliseState,
  prefixAfi,
  type RibRoute,
} from "./types.ts";

const FRR_LIBDIR = "/usr/lib/frr";

export class FrrDaemon extends DaemonBase implements BgpDaemon {
  readonly name = "frr" as const;
  private mapCounter = 0;
  /** prefix -> route-map name used by its network statement. */
  private maps = new Map<string, string>();

  constructor(opts: DaemonOptions) {
    super(opts);
  }

  renderConfig(): string {
    const o = this.opts;
    const l: string[] = [];
    l.push(`hostname ${this.instance}`);
    l.push("log stdout informational");
    l.push("!");
    l.push(`router bgp ${o.asn}`);
    l.push(` bgp router-id ${o.routerId}`);
    l.push(" no bgp ebgp-requires-policy");
    l.push(" no bgp network import-check");
    l.push(" no bgp default ipv4-unicast");
    l.push(" bgp graceful-restart-disable");
    for (const n of o.neighbors) {
      const a = n.address;
      l.push(` neighbor ${a} remote-as ${n.asn}`);
      const hold = n.holdTime ?? LAB_HOLD_TIME;
      l.push(` neighbor ${a} timers ${Math.max(1, Math.floor(hold / 3))} ${hold}`);
      l.push(` neighbor ${a} timers connect 1`);
      l.push(` neighbor ${a} advertisement-interval 0`);
      if (n.password) l.push(` neighbor ${a} password ${n.password}`);
      if (n.passive) l.push(` neighbor ${a} passive`);
      if (n.multihop) l.push(` neighbor ${a} ebgp-multihop 255`);
      if (n.localAddress) l.push(` neighbor ${a} update-source ${n.localAddress}`);
    }
    for (const afi of [4, 6] as const) {
      const ns = o.neighbors.filter((n) => neighborFamilies(n).includes(afi));
      if (ns.length === 0) continue;
      l.push(` address-family ipv${afi} unicast`);
      for (const n of ns) {
        l.push(`  neighbor ${n.address} activate`);
        if (n.addPath) l.push(`  neighbor ${n.address} addpath-tx-all-paths`);
      }
      l.push(" exit-address-family");
    }
    l.push("!");
    if (o.extraConfig) l.push(o.extraConfig);
    return `${l.join("\n")}\n`;
  }

  private chownTree(dir: string): void {
    const { uid, gid } = frrIds();
    chownSync(dir, uid, gid);
    for (const f of readdirSync(dir)) chownSync(join(dir, f), uid, gid);
  }

  async start(): Promise<void> {
    const dir = this.dir;
    // The daemons run as user frr: every parent directory must be traversable.
    chmodSync(dirname(dir), 0o755);
    writeFileSync(join(dir, "zebra.conf"), `hostname ${this.instance}\n`);
    writeFileSync(join(dir, "bgpd.conf"), this.renderConfig());
    writeFileSync(join(dir, "vtysh.conf"), "");
    this.chownTree(dir);
    const common = ["--vty_socket", dir, "-P", "0", "--log", "stdout"];
    const zserv = join(dir, "zserv.api");
    this.procs.push(
      this.host.spawn(
        [
          join(FRR_LIBDIR, "zebra"),
          ...common,
          "-z",
          zserv,
          "-f",
          join(dir, "zebra.conf"),
          "-i",
          join(dir, "zebra.pid"),
        ],
        { logName: `${this.instance}-zebra.log` },
      ),
    );
    await waitFor(
      async () => {
        this.assertRunning();
        return (await this.vtysh(["show version"], "zebra", false)).code === 0;
      },
      { timeoutMs: 10_000, what: `${this.instance} zebra vty` },
    );
    this.procs.push(
      this.host.spawn(
        [
          join(FRR_LIBDIR, "bgpd"),
          ...common,
          "-z",
          zserv,
          "-f",
          join(dir, "bgpd.conf"),
          "-i",
          join(dir, "bgpd.pid"),
        ],
        { logName: `${this.instance}-bgpd.log` },
      ),
    );
    await waitFor(
      async () => {
        this.assertRunning();
        return (await this.vtysh(["show bgp summary json"], "bgpd", false)).code === 0;
      },
      { timeoutMs: 10_000, what: `${this.instance} bgpd vty` },
    );
    // Re-announce after a restart.
    for (const [p, a] of [...this.announced]) await this.announce(p, a);
  }

  /** Runs vtysh commands (each one a -c) against this instance. */
  async vtysh(
    cmds: string[],
    daemon?: "zebra" | "bgpd",
    check = true,
  ): Promise<{ stdout: string; code: number }> {
    const args = ["vtysh", "--vty_socket", this.dir];
    if (daemon) args.push("-d", daemon);
    for (const c of cmds) args.push("-c", c);
    const r = await this.host.exec(args);
    if (
      check &&
      (r.code !== 0 || /% (Unknown|Ambiguous|Invalid|Incomplete)|Command incomplete/.test(r.stdout))
    ) {
      throw new Error(`vtysh ${cmds.join(" | ")}: ${r.code} ${r.stdout} ${r.stderr}`);
    }
    return r;
  }

  async neighborState(peer: string): Promise<BgpState> {
    const { stdout } = await this.vtysh([`show bgp neighbors ${peer} json`], "bgpd");
    const j = JSON.parse(stdout) as Record<string, { bgpState?: string }>;
    return normaliseState(j[peer]?.bgpState ?? "Idle");
  }

  async routes(afi: 4 | 6): Promise<RibRoute[]> {
    const { stdout } = await this.vtysh([`show bgp ipv${afi} unicast json detail`], "bgpd");
    const j = JSON.parse(stdout) as {
      routes?: Record<string, FrrDetailPath[] | { paths?: FrrDetailPath[] }>;
    };
    const out: RibRoute[] = [];
    for (const [prefix, v] of Object.entries(j.routes ?? {})) {
      const paths = Array.isArray(v) ? v : (v.paths ?? []);
      for (const p of paths) {
        // Locally originated (network statement) paths have no peer; skip them.
        const peerAddr = p.peer?.peerId;
        if (!peerAddr || peerAddr === "0.0.0.0" || peerAddr === "::") continue;
        const r: RibRoute = {
          prefix,
          nextHop: p.nexthops?.[0]?.ip ?? "",
          asPath: (p.aspath?.string ?? "")
            .replace(/[{}()]/g, " ")
            .split(/\s+/)
            .filter((s) => /^\d+$/.test(s))
            .map(Number),
          fromPeer: peerAddr,
        };
        if (p.med !== undefined) r.med = p.med;
        if (p.metric !== undefined) r.med = p.metric;
        if (p.locPrf !== undefined) r.localPref = p.locPrf;
        if (p.localpref !== undefined) r.localPref = p.localpref;
        if (p.community?.string) r.communities = p.community.string.split(/\s+/);
        if (p.largeCommunity?.string) r.largeCommunities = p.largeCommunity.string.split(/\s+/);
        out.push(r);
      }
    }
    return out;
  }

  async announce(prefix: string, attrs: AnnounceAttrs = {}): Promise<void> {
    const afi = prefixAfi(prefix);
    const map = this.maps.get(prefix) ?? `LAB-ANN-${this.mapCounter++}`;
    this.maps.set(prefix, map);
    const sets: string[] = [];
    if (attrs.med !== undefined) sets.push(`set metric ${attrs.med}`);
    if (attrs.localPref !== undefined) sets.push(`set local-preference ${attrs.localPref}`);
    if (attrs.communities?.length) sets.push(`set community ${attrs.communities.join(" ")}`);
    if (attrs.asPathPrepend?.length) sets.push(`set as-path prepend ${attrs.asPathPrepend.join(" ")}`);
    if (attrs.nextHop)
      sets.push(afi === 4 ? `set ip next-hop ${attrs.nextHop}` : `set ipv6 next-hop global ${attrs.nextHop}`);
    await this.vtysh(["conf t", `no route-map ${map}`], "bgpd", false);
    await this.vtysh(
      [
        "conf t",
        `route-map ${map} permit 10`,
        ...sets,
        "exit",
        `router bgp ${this.opts.asn}`,
        `address-family ipv${afi} unicast`,
        `network ${prefix} route-map ${map}`,
      ],
      "bgpd",
    );
    this.announced.set(prefix, attrs);
  }

  async withdraw(prefix: string): Promise<void> {
    const afi = prefixAfi(prefix);
    await this.vtysh(
      ["conf t", `router bgp ${this.opts.asn}`, `address-family ipv${afi} unicast`, `no network ${prefix}`],
      "bgpd",
    );
    this.announced.delete(prefix);
  }
}

interface FrrDetailPath {
  aspath?: { string?: string };
  med?: number;
  metric?: number;
  locPrf?: number;
  localpref?: number;
  community?: { string?: string };
  largeCommunity?: { string?: string };
  nexthops?: Array<{ ip?: string }>;
  peer?: { peerId?: string };
}

let ids: { uid: number; gid: number } | undefined;
function frrIds(): { uid: number; gid: number } {
  if (ids) return ids;
  const line = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((x) => x.startsWith("frr:"));
  if (!line) throw new Error("no frr user in /etc/passwd");
  const f = line.split(":");
  ids = { uid: Number(f[2]), gid: Number(f[3]) };
  return ids;
}
