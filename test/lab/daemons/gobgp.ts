/**
 * GoBGP 3.10 launcher for the lab: `gobgpd -f CONF -t toml --api-hosts 127.0.0.1:PORT
 * --pprof-disable` in a namespace (127.0.0.1 is per namespace, so every instance can use the
 * same port), queried with `gobgp -p PORT -j ...` run inside the namespace. Announcements are
 * `gobgp global rib add`.
 */
import { writeFileSync } from "node:fs";
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
  prefixAfi,
  type RibRoute,
} from "./types.ts";

/** gRPC port inside the namespace. */
export const GOBGP_API_PORT = 50051;

export class GobgpDaemon extends DaemonBase implements BgpDaemon {
  readonly name = "gobgp" as const;

  constructor(opts: DaemonOptions) {
    super(opts);
  }

  renderConfig(): string {
    const o = this.opts;
    const l: string[] = [];
    l.push("[global.config]", `  as = ${o.asn}`, `  router-id = "${o.routerId}"`);
    // -1 disables the listener.
    if (o.listen === false) l.push("  port = -1");
    for (const n of o.neighbors) {
      const hold = n.holdTime ?? LAB_HOLD_TIME;
      l.push("", "[[neighbors]]", "  [neighbors.config]");
      l.push(`    neighbor-address = "${n.address}"`, `    peer-as = ${n.asn}`);
      if (n.password) l.push(`    auth-password = "${n.password}"`);
      l.push("  [neighbors.timers.config]");
      l.push(
        "    connect-retry = 1",
        `    hold-time = ${hold}`,
        `    keepalive-interval = ${Math.max(1, Math.floor(hold / 3))}`,
      );
      l.push("  [neighbors.transport.config]");
      if (n.passive) l.push("    passive-mode = true");
      if (n.localAddress) l.push(`    local-address = "${n.localAddress}"`);
      if (n.multihop)
        l.push("  [neighbors.ebgp-multihop.config]", "    enabled = true", "    multihop-ttl = 255");
      for (const afi of neighborFamilies(n)) {
        l.push(
          "  [[neighbors.afi-safis]]",
          "    [neighbors.afi-safis.config]",
          `      afi-safi-name = "ipv${afi}-unicast"`,
        );
        if (n.addPath) {
          l.push("    [neighbors.afi-safis.add-paths.config]", "      receive = true", "      send-max = 8");
        }
      }
    }
    if (o.extraConfig) l.push(o.extraConfig);
    return `${l.join("\n")}\n`;
  }

  async start(): Promise<void> {
    const conf = join(this.dir, "gobgpd.toml");
    writeFileSync(conf, this.renderConfig());
    this.procs.push(
      this.host.spawn(
        [
          "gobgpd",
          "-f",
          conf,
          "-t",
          "toml",
          "--api-hosts",
          `127.0.0.1:${GOBGP_API_PORT}`,
          "--pprof-disable",
          "-l",
          "debug",
        ],
        { logName: `${this.instance}.log` },
      ),
    );
    await waitFor(
      async () => {
        this.assertRunning();
        const r = await this.gobgp(["neighbor"], false);
        return r.code === 0 && (JSON.parse(r.stdout) as unknown[]).length === this.opts.neighbors.length;
      },
      { timeoutMs: 10_000, what: `${this.instance} gRPC API with its neighbors` },
    );
    for (const [p, a] of [...this.announced]) await this.announce(p, a);
  }

  /** `gobgp -p PORT -j ARGS` inside the namespace. */
  async gobgp(args: string[], check = true): Promise<{ stdout: string; code: number }> {
    const r = await this.host.exec(["gobgp", "-p", String(GOBGP_API_PORT), "-j", ...args]);
    if (check && r.code !== 0) throw new Error(`gobgp ${args.join(" ")}: ${r.stderr || r.stdout}`);
    return r;
  }

  async neighborState(peer: string): Promise<BgpState> {
    const { stdout } = await this.gobgp(["neighbor"]);
    const list = JSON.parse(stdout) as Array<{
      conf?: { neighbor_address?: string };
      state?: { session_state?: number | string };
    }>;
    const n = list.find((x) => x.conf?.neighbor_address === peer);
    if (!n) throw new Error(`gobgp: no neighbor ${peer}`);
    return gobgpState(n.state?.session_state);
  }

  async routes(afi: 4 | 6): Promise<RibRoute[]> {
    const { stdout } = await this.gobgp(["global", "rib", "-a", `ipv${afi}`]);
    const j = JSON.parse(stdout || "{}") as Record<string, GobgpPath[]>;
    const out: RibRoute[] = [];
    for (const [prefix, paths] of Object.entries(j)) {
      for (const p of paths) {
        // Locally originated paths carry no neighbor address.
        const from = p["neighbor-ip"];
        if (!from || from === "<nil>" || from === "0.0.0.0" || from === "::") continue;
        const r: RibRoute = { prefix, nextHop: "", asPath: [], fromPeer: from };
        for (const a of p.attrs ?? []) {
          switch (a.type) {
            case 2:
              r.asPath = (a.as_paths ?? []).flatMap((s) => s.asns ?? []);
              break;
            case 3:
              r.nextHop = a.nexthop ?? "";
              break;
            case 4:
              r.med = a.metric ?? 0;
              break;
            case 5:
              r.localPref = a.value ?? 0;
              break;
            case 8:
              r.communities = (a.communities ?? []).map((c) => `${c >>> 16}:${c & 0xffff}`);
              break;
            case 14:
              r.nextHop = a.nexthop ?? r.nextHop;
              break;
            case 32:
              r.largeCommunities = (a.values ?? []).map((v) => `${v.ASN}:${v.LocalData1}:${v.LocalData2}`);
              break;
          }
        }
        out.push(r);
      }
    }
    return out;
  }

  async announce(prefix: string, attrs: AnnounceAttrs = {}): Promise<void> {
    const afi = prefixAfi(prefix);
    if (this.announced.has(prefix))
      await this.gobgp(["global", "rib", "del", prefix, "-a", `ipv${afi}`], false);
    const args = ["global", "rib", "add", prefix, "-a", `ipv${afi}`, "origin", "igp"];
    if (attrs.nextHop) args.push("nexthop", attrs.nextHop);
    if (attrs.med !== undefined) args.push("med", String(attrs.med));
    if (attrs.localPref !== undefined) args.push("local-pref", String(attrs.localPref));
    if (attrs.communities?.length) args.push("community", attrs.communities.join(","));
    if (attrs.asPathPrepend?.length) args.push("aspath", attrs.asPathPrepend.join(" "));
    await this.gobgp(args);
    this.announced.set(prefix, attrs);
  }

  async withdraw(prefix: string): Promise<void> {
    await this.gobgp(["global", "rib", "del", prefix, "-a", `ipv${prefixAfi(prefix)}`]);
    this.announced.delete(prefix);
  }
}

interface GobgpPath {
  "neighbor-ip"?: string;
  attrs?: Array<{
    type: number;
    as_paths?: Array<{ asns?: number[] }>;
    nexthop?: string;
    metric?: number;
    value?: number;
    communities?: number[];
    values?: Array<{ ASN: number; LocalData1: number; LocalData2: number }>;
  }>;
}

/** GoBGP reports session_state as a number (bgp.FSMState) or a name, depending on version. */
function gobgpState(s: number | string | undefined): BgpState {
  if (typeof s === "number") {
    // pkg/packet/bgp FSMState: idle=0? The API enum is UNKNOWN=0, IDLE=1, CONNECT=2, ACTIVE=3, OPENSENT=4, OPENCONFIRM=5, ESTABLISHED=6.
    return (
      (["Idle", "Idle", "Connect", "Active", "OpenSent", "OpenConfirm", "Established"] as const)[s] ?? "Idle"
    );
  }
  return normaliseState(s ?? "Idle");
}
