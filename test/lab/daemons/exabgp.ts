/**
 * ExaBGP 4.2 launcher for the lab. ExaBGP has no RIB and no control socket of its own, so one
 * API helper process (a few lines of Python, which ExaBGP already needs) does both jobs:
 * it copies command lines written to a FIFO (lab.dir/<inst>/commands) to its stdout, where
 * ExaBGP reads API commands, and appends everything ExaBGP writes to its stdin (JSON `update`
 * and `state` messages, "done" acks) to a log file (lab.dir/<inst>/received.jsonl). routes()
 * and neighborState() replay that file. The helper keeps stdout open for as long as ExaBGP runs.
 */
import { closeSync, constants, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { waitFor } from "../netns.ts";
import {
  type AnnounceAttrs,
  type BgpDaemon,
  type BgpState,
  DaemonBase,
  type DaemonOptions,
  LAB_HOLD_TIME,
  type NeighborSpec,
  neighborFamilies,
  prefixAfi,
  type RibRoute,
} from "./types.ts";

const API_HELPER = `import sys, threading
fifo, out = sys.argv[1], sys.argv[2]
def pump():
    while True:
        with open(fifo) as f:
            for line in f:
                sys.stdout.write(line)
                sys.stdout.flush()
threading.Thread(target=pump, daemon=True).start()
with open(out, "a") as o:
    for line in sys.stdin:
        o.write(line)
        o.flush()
`;

export class ExabgpDaemon extends DaemonBase implements BgpDaemon {
  readonly name = "exabgp" as const;
  /** Resolved local address per neighbor (ExaBGP 4.2 requires local-address). */
  private locals = new Map<string, string>();

  constructor(opts: DaemonOptions) {
    super(opts);
  }

  get fifo(): string {
    return join(this.dir, "commands");
  }

  get receivedFile(): string {
    return join(this.dir, "received.jsonl");
  }

  renderConfig(): string {
    const o = this.opts;
    const l: string[] = [];
    l.push("process lab-api {");
    l.push(`  run /usr/bin/python3 ${join(this.dir, "api.py")} ${this.fifo} ${this.receivedFile};`);
    l.push("  encoder json;");
    l.push("}");
    for (const n of o.neighbors) {
      const hold = n.holdTime ?? LAB_HOLD_TIME;
      l.push(`neighbor ${n.address} {`);
      l.push(`  router-id ${o.routerId};`);
      l.push(`  local-address ${this.locals.get(n.address) ?? n.localAddress};`);
      l.push(`  local-as ${o.asn};`, `  peer-as ${n.asn};`, `  hold-time ${hold};`);
      if (n.passive) l.push("  passive true;");
      if (n.password) l.push(`  md5-password "${n.password}";`);
      if (n.multihop) l.push("  outgoing-ttl 255;");
      l.push("  family {");
      for (const afi of neighborFamilies(n)) l.push(`    ipv${afi} unicast;`);
      l.push("  }");
      if (n.addPath) l.push("  capability {", "    add-path send/receive;", "  }");
      l.push(
        "  api {",
        "    processes [ lab-api ];",
        "    neighbor-changes;",
        "    receive {",
        "      parsed;",
        "      update;",
        "    }",
        "  }",
      );
      l.push("}");
    }
    if (o.extraConfig) l.push(o.extraConfig);
    return `${l.join("\n")}\n`;
  }

  private async resolveLocals(): Promise<void> {
    for (const n of this.opts.neighbors) {
      if (n.localAddress) {
        this.locals.set(n.address, n.localAddress);
        continue;
      }
      const out = await this.host.run(["ip", "-j", "route", "get", n.address]);
      const src = (JSON.parse(out) as Array<{ prefsrc?: string }>)[0]?.prefsrc;
      if (!src) throw new Error(`exabgp: no source address toward ${n.address}; set localAddress`);
      this.locals.set(n.address, src);
    }
  }

  async start(): Promise<void> {
    const dir = this.dir;
    await this.resolveLocals();
    writeFileSync(join(dir, "api.py"), API_HELPER);
    writeFileSync(this.receivedFile, "");
    await this.host.run(["rm", "-f", this.fifo]);
    await this.host.run(["mkfifo", "-m", "600", this.fifo]);
    const conf = join(dir, "exabgp.conf");
    writeFileSync(conf, this.renderConfig());
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      "exabgp.daemon.daemonize": "false",
      "exabgp.daemon.user": "root",
      "exabgp.log.destination": "stdout",
      "exabgp.api.cli": "false",
      "exabgp.api.ack": "false",
      // ExaBGP only listens when told where.
      "exabgp.tcp.bind": this.opts.listen === false ? "" : [...new Set(this.locals.values())].join(" "),
      "exabgp.tcp.port": "179",
    };
    mkdirSync(dir, { recursive: true });
    this.procs.push(this.host.spawn(["exabgp", conf], { env, logName: `${this.instance}.log` }));
    // Ready when the helper has opened the FIFO for reading (ExaBGP started its API process).
    await waitFor(
      async () => {
        this.assertRunning();
        return this.fifoHasReader();
      },
      { timeoutMs: 15_000, what: `${this.instance} API process` },
    );
    for (const [p, a] of [...this.announced]) await this.announce(p, a);
  }

  private fifoHasReader(): boolean {
    try {
      // O_WRONLY|O_NONBLOCK fails with ENXIO while nobody reads the FIFO.
      closeSync(openSync(this.fifo, constants.O_WRONLY | constants.O_NONBLOCK));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Sends one API command line (e.g. "neighbor 10.0.0.1 announce route ..."). Right after an
   * ExaBGP restart its API reader may not hold the FIFO yet, or drop it mid-write (EPIPE, seen
   * once in CI): wait for a reader and retry, for up to 10 s.
   */
  async command(line: string): Promise<void> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        const fh = await open(this.fifo, "a");
        try {
          await fh.write(`${line}\n`);
        } finally {
          await fh.close();
        }
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EPIPE" || Date.now() > deadline) throw e;
        await waitFor(async () => this.fifoHasReader(), { timeoutMs: 10_000, what: "ExaBGP API reader" });
      }
    }
  }

  private messages(): ExaMessage[] {
    let text = "";
    try {
      text = readFileSync(this.receivedFile, "utf8");
    } catch {
      return [];
    }
    const out: ExaMessage[] = [];
    for (const line of text.split("\n")) {
      if (!line.startsWith("{")) continue;
      try {
        out.push(JSON.parse(line) as ExaMessage);
      } catch {
        // a partial last line
      }
    }
    return out;
  }

  async neighborState(peer: string): Promise<BgpState> {
    let state: BgpState = "Idle";
    for (const m of this.messages()) {
      if (m.type !== "state" || m.neighbor?.address?.peer !== peer) continue;
      const s = m.neighbor.state;
      state = s === "up" ? "Established" : s === "connected" ? "OpenSent" : "Active";
    }
    return state;
  }

  async routes(afi: 4 | 6): Promise<RibRoute[]> {
    // Replay updates into an Adj-RIB-In per peer; a session going down clears that peer.
    const rib = new Map<string, Map<string, RibRoute>>();
    for (const m of this.messages()) {
      const peer = m.neighbor?.address?.peer;
      if (!peer) continue;
      if (m.type === "state" && m.neighbor?.state !== "up") rib.delete(peer);
      if (m.type !== "update") continue;
      const u = m.neighbor?.message?.update;
      if (!u) continue;
      let table = rib.get(peer);
      if (!table) {
        table = new Map();
        rib.set(peer, table);
      }
      for (const entries of Object.values(u.withdraw ?? {})) {
        for (const e of entries) table.delete(nlriKey(e));
      }
      const a = u.attribute ?? {};
      // An IPv6 NEXT_HOP with global + link-local is reported as two next hops carrying the
      // same NLRI: keep the first (global) one.
      const seen = new Set<string>();
      for (const byNh of Object.values(u.announce ?? {})) {
        for (const [nh, entries] of Object.entries(byNh)) {
          for (const e of entries) {
            if (seen.has(nlriKey(e))) continue;
            seen.add(nlriKey(e));
            const prefix = typeof e === "string" ? e : e.nlri;
            const r: RibRoute = {
              prefix,
              nextHop: nh,
              asPath: (a["as-path"] ?? []).flat().map(Number),
              fromPeer: peer,
            };
            if (a.med !== undefined) r.med = a.med;
            if (a["local-preference"] !== undefined) r.localPref = a["local-preference"];
            if (a.community) r.communities = a.community.map((c) => c.join(":"));
            if (a["large-community"]) r.largeCommunities = a["large-community"].map((c) => c.join(":"));
            table.set(nlriKey(e), r);
          }
        }
      }
    }
    return [...rib.values()].flatMap((t) => [...t.values()]).filter((r) => prefixAfi(r.prefix) === afi);
  }

  private targets(prefix: string): NeighborSpec[] {
    const afi = prefixAfi(prefix);
    return this.opts.neighbors.filter((n) => neighborFamilies(n).includes(afi));
  }

  async announce(prefix: string, attrs: AnnounceAttrs = {}): Promise<void> {
    const parts = [`route ${prefix}`, `next-hop ${attrs.nextHop ?? "self"}`];
    if (attrs.med !== undefined) parts.push(`med ${attrs.med}`);
    if (attrs.localPref !== undefined) parts.push(`local-preference ${attrs.localPref}`);
    if (attrs.communities?.length) parts.push(`community [ ${attrs.communities.join(" ")} ]`);
    if (attrs.asPathPrepend?.length) parts.push(`as-path [ ${attrs.asPathPrepend.join(" ")} ]`);
    for (const n of this.targets(prefix))
      await this.command(`neighbor ${n.address} announce ${parts.join(" ")}`);
    this.announced.set(prefix, attrs);
  }

  async withdraw(prefix: string): Promise<void> {
    for (const n of this.targets(prefix))
      await this.command(`neighbor ${n.address} withdraw route ${prefix}`);
    this.announced.delete(prefix);
  }
}

type NlriEntry = string | { nlri: string; "path-information"?: string };

function nlriKey(e: NlriEntry): string {
  return typeof e === "string" ? e : `${e.nlri}#${e["path-information"] ?? ""}`;
}

interface ExaMessage {
  type?: string;
  neighbor?: {
    address?: { local?: string; peer?: string };
    state?: string;
    message?: {
      update?: {
        attribute?: {
          "as-path"?: Array<number | number[]>;
          med?: number;
          "local-preference"?: number;
          community?: number[][];
          "large-community"?: number[][];
        };
        announce?: Record<string, Record<string, NlriEntry[]>>;
        withdraw?: Record<string, NlriEntry[]>;
      };
    };
  };
}
