/**
 * OpenBGPD 7.7 launcher for the lab: `/usr/sbin/bgpd -d -f CONF` in a namespace, one control
 * socket per instance (`socket "DIR/bgpd.sock"`), `listen on` each local address, no FIB
 * updates. Queried with `bgpctl -s SOCK -j`; announcements are `bgpctl network add/delete`.
 * Its session engine chroots to /run/openbgpd, which must exist.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
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
  type RibRoute,
} from "./types.ts";

export const OPENBGPD_BIN = "/usr/sbin/bgpd";

export interface OpenbgpdOptions extends DaemonOptions {
  /** Addresses to `listen on` (default: every neighbor's localAddress; without any, all addresses). */
  listenOn?: string[];
}

export class OpenbgpdDaemon extends DaemonBase implements BgpDaemon {
  readonly name = "openbgpd" as const;
  declare protected readonly opts: OpenbgpdOptions;

  constructor(opts: OpenbgpdOptions) {
    super(opts);
  }

  get socket(): string {
    return join(this.dir, "bgpd.sock");
  }

  renderConfig(): string {
    const o = this.opts;
    const l: string[] = [];
    l.push(`AS ${o.asn}`, `router-id ${o.routerId}`, `socket "${this.socket}"`, "fib-update no");
    // Default is 120 s: far too slow for a lab.
    l.push("connect-retry 2");
    const listen = o.listenOn ?? o.neighbors.flatMap((n) => (n.localAddress ? [n.localAddress] : []));
    if (o.listen !== false) {
      // Without `listen on` bgpd binds the wildcard on both families, which is fine in a namespace.
      for (const a of listen) l.push(`listen on ${a}`);
    }
    o.neighbors.forEach((n, i) => {
      const fams = neighborFamilies(n);
      l.push(`neighbor ${n.address} {`);
      l.push(`  remote-as ${n.asn}`, `  descr "peer${i}"`);
      l.push(`  holdtime ${n.holdTime ?? LAB_HOLD_TIME}`, "  holdtime min 3");
      if (n.passive) l.push("  passive");
      if (n.password) l.push(`  tcp md5sig password "${n.password}"`);
      if (n.multihop) l.push("  multihop 255");
      if (n.localAddress) l.push(`  local-address ${n.localAddress}`);
      l.push(`  announce IPv4 ${fams.includes(4) ? "unicast" : "none"}`);
      l.push(`  announce IPv6 ${fams.includes(6) ? "unicast" : "none"}`);
      if (n.addPath) l.push("  announce add-path recv yes", "  announce add-path send all");
      l.push("}");
    });
    // Default deny otherwise.
    l.push("allow from any", "allow to any");
    if (o.extraConfig) l.push(o.extraConfig);
    return `${l.join("\n")}\n`;
  }

  async start(): Promise<void> {
    mkdirSync("/run/openbgpd", { recursive: true });
    const conf = join(this.dir, "bgpd.conf");
    writeFileSync(conf, this.renderConfig(), { mode: 0o600 });
    const check = await this.host.exec([OPENBGPD_BIN, "-n", "-f", conf]);
    if (check.code !== 0) throw new Error(`openbgpd config invalid: ${check.stderr}\n${this.renderConfig()}`);
    this.procs.push(
      this.host.spawn([OPENBGPD_BIN, "-d", "-v", "-f", conf], { logName: `${this.instance}.log` }),
    );
    await waitFor(
      async () => {
        this.assertRunning();
        return (await this.bgpctl(["show", "summary"], false)).code === 0;
      },
      { timeoutMs: 10_000, what: `${this.instance} control socket` },
    );
    for (const [p, a] of [...this.announced]) await this.announce(p, a);
  }

  /** `bgpctl -s SOCK [-j] ARGS` inside the namespace. */
  async bgpctl(args: string[], check = true, json = true): Promise<{ stdout: string; code: number }> {
    const r = await this.host.exec(["bgpctl", "-s", this.socket, ...(json ? ["-j"] : []), ...args]);
    if (check && r.code !== 0) throw new Error(`bgpctl ${args.join(" ")}: ${r.stderr || r.stdout}`);
    return r;
  }

  async neighborState(peer: string): Promise<BgpState> {
    const { stdout } = await this.bgpctl(["show", "neighbor", peer]);
    const j = JSON.parse(stdout) as { neighbors?: Array<{ remote_addr?: string; state?: string }> };
    const n = j.neighbors?.find((x) => x.remote_addr === peer) ?? j.neighbors?.[0];
    return normaliseState(n?.state ?? "Idle");
  }

  async routes(afi: 4 | 6): Promise<RibRoute[]> {
    // Adj-RIB-In (every path from every peer). The family filter argument is ignored by 7.7 with
    // -j and our own networks show up as neighbor "LOCAL", so both are filtered here.
    const { stdout } = await this.bgpctl(["show", "rib", "in", "detail"]);
    const j = JSON.parse(stdout) as { rib?: OpenbgpdRibEntry[] };
    const fromPeers = (j.rib ?? []).filter(
      (e) =>
        e.prefix.includes(":") === (afi === 6) &&
        e.neighbor?.description !== "LOCAL" &&
        e.neighbor?.remote_addr !== "???",
    );
    return fromPeers.map((e) => {
      const r: RibRoute = {
        prefix: e.prefix,
        // exit_nexthop is the BGP NEXT_HOP; true_nexthop the resolved gateway.
        nextHop: e.exit_nexthop ?? "",
        asPath: (e.aspath ?? "")
          .replace(/[{}()]/g, " ")
          .split(/\s+/)
          .filter((s) => /^\d+$/.test(s))
          .map(Number),
      };
      if (e.neighbor?.remote_addr) r.fromPeer = e.neighbor.remote_addr;
      if (e.metric !== undefined) r.med = e.metric;
      if (e.localpref !== undefined) r.localPref = e.localpref;
      const comms = e.communities?.map(String) ?? [];
      if (comms.length) r.communities = comms;
      const large = e.large_communities?.map(String) ?? [];
      if (large.length) r.largeCommunities = large;
      return r;
    });
  }

  async announce(prefix: string, attrs: AnnounceAttrs = {}): Promise<void> {
    const args = ["network", "add", prefix];
    if (attrs.nextHop) args.push("nexthop", attrs.nextHop);
    if (attrs.med !== undefined) args.push("med", String(attrs.med));
    if (attrs.localPref !== undefined) args.push("localpref", String(attrs.localPref));
    for (const c of attrs.communities ?? []) args.push("community", c);
    if (attrs.asPathPrepend?.length) {
      // bgpctl can only prepend our own AS (prepend-self N).
      if (attrs.asPathPrepend.some((a) => a !== this.opts.asn)) {
        throw new Error("openbgpd: asPathPrepend supports only the daemon's own ASN (prepend-self)");
      }
      args.push("prepend-self", String(attrs.asPathPrepend.length));
    }
    await this.bgpctl(args, true, false);
    this.announced.set(prefix, attrs);
  }

  async withdraw(prefix: string): Promise<void> {
    await this.bgpctl(["network", "delete", prefix], true, false);
    this.announced.delete(prefix);
  }
}

interface OpenbgpdRibEntry {
  prefix: string;
  aspath?: string;
  exit_nexthop?: string;
  true_nexthop?: string;
  neighbor?: { remote_addr?: string; description?: string };
  /** MULTI_EXIT_DISC */
  metric?: number;
  localpref?: number;
  communities?: unknown[];
  large_communities?: unknown[];
}
