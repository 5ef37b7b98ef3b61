/**
 * WireGuard benchmark (issue 5 §5): the two-site lab of test/e2e/remote-cluster.test.ts (laptop —
 * FRR office router — office podgate — internet — cluster podgate — calico-node BIRD — pod), with
 * each podgate running its `tunnels.wireguard` interface (wireguard-go here).
 *
 *   forward  iperf3 laptop → pod through the tunnel vs the same gateway namespaces joined by a
 *            plain routed veth (more specific /32 routes, no tunnel), same run; Gbit/s, the ratio
 *            and the CPU seconds (utime + stime from /proc/<pid>/stat) of the wireguard-go
 *            processes during each run.
 *   setup    time from spawning the cluster podgate (office podgate already up) to the laptop's
 *            first ping reply from the pod (ping every 50 ms, reply timestamps from `ping -D`).
 *
 *   sudo npx tsx bench/wireguard.ts [--quick] [--seconds 5] [--n 3] [--only forward|setup]
 *
 * Every namespace and process lives in test/lab's Lab (torn down on exit and on crash); the
 * WireGuard interfaces are deleted on exit too (wireguard-go ends with them). Nothing is asserted.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { STALE_RESET_ENV } from "../src/dataplane/linux/wireguard.ts";
import { Podgate } from "../test/interop/podgate.ts";
import { type Host, Lab, waitFor } from "../test/lab/netns.ts";
import { addCalicoPod, addClusterSite, addOfficeSite, calicoMesh, officeFrr } from "../test/lab/sites.ts";
import {
  addInternet,
  clusterGatewayConfig,
  deleteWgInterfacesSync,
  makeWgKeys,
  officeGatewayConfig,
  WG_SITES,
  wireguardGoPids,
} from "../test/lab/wireguard-sites.ts";
import { mdTable, sleep } from "./harness.ts";

const {
  OFFICE_AS,
  OFFICE_GW_AS,
  OFFICE_LAN,
  OFFICE_LAN_IP,
  LAPTOP_IP,
  OFFICE_TRANSIT_IP,
  OGW_TRANSIT_IP,
  OGW_PUB,
  CGW_PUB,
  WG_PORT,
  OGW_TUN,
  CGW_TUN,
  CGW_LAN_IP,
  CLUSTER_LAN_ROUTER,
} = WG_SITES;
const NODES = [
  { name: "node1", ip: "192.168.40.101", block: "10.244.1.0/26", pod: { name: "pod1", ip: "10.244.1.2" } },
] as const;
const NODE_IP = NODES[0].ip;
const POD_IP = NODES[0].pod.ip;
/** The plain routed path between the two gateways (no tunnel). */
const DIRECT_OGW = "172.31.0.1";
const DIRECT_CGW = "172.31.0.2";

// Machine-wide unique (wireguard-go's control sockets are not per namespace), ≤ 15 characters.
const IF_OFFICE = `wgbo${process.pid}`.slice(0, 15);
const IF_CLUSTER = `wgbc${process.pid}`.slice(0, 15);

const say = (s = "") => process.stdout.write(`${s}\n`);
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(" ");
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : "–");

const WG_IFS = [IF_OFFICE, IF_CLUSTER];

const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());

/** utime + stime of the given processes, in seconds. */
function cpuSeconds(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      // Fields after the command (which may contain spaces) start at field 3 (state).
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(f[11]) + Number(f[12]); // fields 14 (utime) and 15 (stime)
    } catch {
      // gone
    }
  }
  return ticks / CLK_TCK;
}

interface Site {
  lab: Lab;
  laptop: Host;
  inet: Host;
  ogw: Host;
  cgw: Host;
  pgOffice: Podgate;
  pgCluster: Podgate;
  /** The office podgate's current stale-session reset setting. */
  officeReset: "on" | "off";
}

async function buildLab(): Promise<Site> {
  const lab = new Lab("wgb");
  const { ogw, inet, cgw } = await addInternet(lab);
  process.once("exit", () => deleteWgInterfacesSync([ogw, cgw], WG_IFS));
  const { office, laptop } = await addOfficeSite(lab, {
    gateway: ogw,
    gatewayTransitIp: OGW_TRANSIT_IP,
    officeTransitIp: OFFICE_TRANSIT_IP,
    lanIp: OFFICE_LAN_IP,
    laptopIp: LAPTOP_IP,
  });
  // The plain path: a veth straight between the gateways, used only by /32 routes (below).
  await lab.link(ogw, cgw, { aAddr: `${DIRECT_OGW}/30`, bAddr: `${DIRECT_CGW}/30` });
  const site = await addClusterSite(lab, {
    gateway: cgw,
    gatewayIp: CGW_LAN_IP,
    nodes: NODES,
    defaultVia: CLUSTER_LAN_ROUTER,
  });
  const pod = await addCalicoPod(lab, site.nodes[0]!, NODES[0].pod);
  pod.host.spawn(["iperf3", "-s", "-B", POD_IP], { logName: "iperf3-s.log" });

  const keys = makeWgKeys(lab);
  const [bird] = calicoMesh(site.nodes, NODES, { gatewayIps: [CGW_LAN_IP] });
  const frr = officeFrr({
    host: office,
    routerId: OFFICE_TRANSIT_IP,
    asn: OFFICE_AS,
    gatewayIp: OGW_TRANSIT_IP,
    gatewayAsn: OFFICE_GW_AS,
    instance: "frr-wgb-office",
  });
  await Promise.all([bird!.start(), frr.start()]);
  await frr.announce(OFFICE_LAN);

  const pgOffice = new Podgate(ogw, officeGatewayConfig({ ifName: IF_OFFICE, keys }), "podgate-office");
  // The office dials in (as in the e2e suite; see the livelock note in clusterGatewayConfig).
  const pgCluster = new Podgate(
    cgw,
    clusterGatewayConfig({ ifName: IF_CLUSTER, keys, nodes: NODES }),
    "podgate-cluster",
  );
  await pgCluster.start();
  await pgOffice.start();
  await pgCluster.waitEstablished([NODE_IP, OGW_TUN], 60_000);
  await pgOffice.waitEstablished([OFFICE_TRANSIT_IP, CGW_TUN], 60_000);
  await waitFor(async () => (await ping(laptop)).code === 0, {
    timeoutMs: 30_000,
    what: "laptop → pod ping",
  });
  return { lab, laptop, inet, ogw, cgw, pgOffice, pgCluster, officeReset: "on" };
}

function ping(from: Host) {
  return from.exec(["ping", "-n", "-c", "1", "-W", "1", POD_IP], { timeoutMs: 4000 });
}

interface ForwardRow {
  path: string;
  /** Extra iperf3 arguments ("-P 4", "-u -b 100M"). */
  args: string;
  gbps: number;
  wgCpu: number;
  /** Packets per second and bytes per packet into the office tunnel (or the plain veth). */
  pps: number;
  bytesPerPacket: number;
  /** wireguard-go CPU (both processes) per tunnel packet, µs. */
  usPerPacket: number;
  /** Laptop TCP: retransmitted / sent segments. */
  retrans: number;
  segs: number;
  /** UDP datagrams dropped for a full socket receive buffer (cluster, office gateway). */
  rcvbufCluster: number;
  rcvbufOffice: number;
  /** Fragments created on the office gateway (outer UDP or inner packets). */
  fragsOffice: number;
  /** Packets dropped entering the office egress device (tun queue full: wireguard-go behind). */
  txDropped: number;
  /** iperf3 -u: datagrams lost, %. */
  udpLost?: number;
  load: string;
  error?: string;
}

/** Absolute SNMP/netstat counters of a namespace (`nstat -asz`: no history file involved). */
async function counters(h: Host): Promise<Map<string, number>> {
  const out = await h.run(["nstat", "-asz"]);
  const m = new Map<string, number>();
  for (const line of out.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 2 && /^\d+$/.test(f[1]!)) m.set(f[0]!, Number(f[1]));
  }
  return m;
}

async function linkTx(h: Host, dev: string): Promise<{ packets: number; bytes: number; dropped: number }> {
  const j = JSON.parse(await h.run(["ip", "-j", "-s", "link", "show", "dev", dev])) as {
    stats64: { tx: { packets: number; bytes: number; dropped: number } };
  }[];
  return j[0]?.stats64.tx ?? { packets: 0, bytes: 0, dropped: 0 };
}

async function iperf(
  s: Site,
  path: string,
  seconds: number,
  args: readonly string[] = [],
): Promise<ForwardRow> {
  const r: ForwardRow = {
    path,
    args: args.join(" "),
    gbps: Number.NaN,
    wgCpu: Number.NaN,
    pps: Number.NaN,
    bytesPerPacket: Number.NaN,
    usPerPacket: Number.NaN,
    retrans: 0,
    segs: 0,
    rcvbufCluster: 0,
    rcvbufOffice: 0,
    fragsOffice: 0,
    txDropped: 0,
    load: "",
  };
  const tunnel = path.startsWith("WireGuard");
  // The office gateway's egress toward the pod: the tunnel, or the plain veth.
  const dev = tunnel
    ? IF_OFFICE
    : ((JSON.parse(await s.ogw.run(["ip", "-j", "route", "get", POD_IP])) as { dev: string }[])[0]?.dev ??
      "");
  const pids = wireguardGoPids(WG_IFS);
  const [l0, o0, c0, tx0] = await Promise.all([
    counters(s.laptop),
    counters(s.ogw),
    counters(s.cgw),
    linkTx(s.ogw, dev),
  ]);
  const cpu0 = cpuSeconds(pids);
  try {
    const out = await s.laptop.run(["iperf3", "-c", POD_IP, "-t", String(seconds), "-J", ...args], {
      timeoutMs: (seconds + 30) * 1000,
    });
    const j = JSON.parse(out) as {
      end: {
        sum_received?: { bits_per_second: number };
        sum?: { bits_per_second: number; lost_percent?: number };
      };
    };
    const udp = j.end.sum?.lost_percent !== undefined;
    r.gbps = ((udp ? j.end.sum?.bits_per_second : j.end.sum_received?.bits_per_second) ?? Number.NaN) / 1e9;
    if (udp) r.udpLost = j.end.sum?.lost_percent;
  } catch (e) {
    r.error = (e as Error).message.slice(0, 300);
  }
  r.wgCpu = cpuSeconds(pids) - cpu0;
  const [l1, o1, c1, tx1] = await Promise.all([
    counters(s.laptop),
    counters(s.ogw),
    counters(s.cgw),
    linkTx(s.ogw, dev),
  ]);
  const d = (a: Map<string, number>, b: Map<string, number>, k: string) => (b.get(k) ?? 0) - (a.get(k) ?? 0);
  const packets = tx1.packets - tx0.packets;
  r.pps = packets / seconds;
  r.bytesPerPacket = packets > 0 ? (tx1.bytes - tx0.bytes) / packets : Number.NaN;
  r.usPerPacket = tunnel && packets > 0 ? (r.wgCpu * 1e6) / packets : Number.NaN;
  r.retrans = d(l0, l1, "TcpRetransSegs");
  r.segs = d(l0, l1, "TcpOutSegs");
  r.rcvbufCluster = d(c0, c1, "UdpRcvbufErrors");
  r.rcvbufOffice = d(o0, o1, "UdpRcvbufErrors");
  r.fragsOffice = d(o0, o1, "IpFragCreates");
  r.txDropped = tx1.dropped - tx0.dropped;
  r.load = load();
  say(
    `  forward: ${path} ${r.args} ${f2(r.gbps)} Gbit/s, ${r.pps.toFixed(0)} pps × ${r.bytesPerPacket.toFixed(0)} B, wireguard-go CPU ${f2(r.wgCpu)} s (${pids.length} processes, ${r.usPerPacket.toFixed(1)} µs/packet), TCP retrans ${r.retrans}/${r.segs}, UdpRcvbufErrors cluster ${r.rcvbufCluster} office ${r.rcvbufOffice}, frags ${r.fragsOffice}, office egress drops ${r.txDropped}${r.udpLost !== undefined ? `, UDP lost ${r.udpLost.toFixed(1)} %` : ""}, load ${r.load}${r.error ? ` ERROR ${r.error}` : ""}`,
  );
  return r;
}

const DIRECT_ROUTES = [
  (s: Site) => [s.ogw, `${POD_IP}/32`, DIRECT_CGW] as const,
  (s: Site) => [s.cgw, `${LAPTOP_IP}/32`, DIRECT_OGW] as const,
];

const TUNNEL = "WireGuard tunnel (wireguard-go)";
const PLAIN = "plain routed veth (no tunnel)";

async function plainRoutes(s: Site, op: "add" | "del"): Promise<void> {
  for (const d of DIRECT_ROUTES) {
    const [h, dst, via] = d(s);
    await h.run(["ip", "route", op, dst, "via", via]);
  }
}

async function forward(s: Site, seconds: number, rounds: number): Promise<ForwardRow[]> {
  const rows: ForwardRow[] = [];
  for (let i = 0; i < rounds; i++) {
    rows.push(await iperf(s, TUNNEL, seconds));
    await plainRoutes(s, "add");
    say(`  forward: ogw route now: ${(await s.ogw.run(["ip", "route", "get", POD_IP])).trim()}`);
    rows.push(await iperf(s, PLAIN, seconds));
    await plainRoutes(s, "del");
  }
  return rows;
}

/** Why the tunnel is slow: several streams, and UDP at fixed rates (where loss starts). */
async function diagnose(s: Site, seconds: number): Promise<ForwardRow[]> {
  const rows: ForwardRow[] = [];
  rows.push(await iperf(s, TUNNEL, seconds, ["-P", "4"]));
  for (const rate of ["50M", "100M", "200M", "300M", "500M"]) {
    rows.push(await iperf(s, TUNNEL, seconds, ["-u", "-b", rate, "-l", "1372"]));
  }
  await plainRoutes(s, "add");
  rows.push(await iperf(s, PLAIN, seconds, ["-u", "-b", "500M", "-l", "1372"]));
  await plainRoutes(s, "del");
  return rows;
}

function forwardTable(rows: readonly ForwardRow[]): string {
  return mdTable(
    [
      "path",
      "iperf3",
      "Gbit/s",
      "pps",
      "B/packet",
      "wireguard-go CPU (s)",
      "µs CPU/packet",
      "TCP retrans/sent",
      "UdpRcvbufErrors (cluster gw)",
      "office tun drops",
      "UDP lost %",
      "load average",
    ],
    rows.map((r) => [
      r.path,
      r.args || "TCP, 1 stream",
      f2(r.gbps),
      r.pps.toFixed(0),
      r.bytesPerPacket.toFixed(0),
      f2(r.wgCpu),
      Number.isFinite(r.usPerPacket) ? r.usPerPacket.toFixed(1) : "–",
      r.args.includes("-u") ? "–" : `${r.retrans}/${r.segs}`,
      r.rcvbufCluster,
      r.txDropped,
      r.udpLost === undefined ? "–" : r.udpLost.toFixed(1),
      r.load,
    ]),
  );
}

interface SetupRow {
  /** The office podgate's stale-session reset: "on" (default) or "off" (PODGATE_WG_STALE_RESET). */
  reset: "on" | "off";
  ms: number;
  load: string;
  /** Phase name → ms after the spawn (absent: not seen). */
  phases: Record<string, number>;
  /** The office's failed TCP connects to the cluster gateway during the run. */
  connectFails: number;
  /** ms after the spawn of every stale-session reset by the office podgate. */
  resets: number[];
}

/** Pino lines of a podgate with their epoch-ms time, from `since` on. */
function logSince(pg: Podgate, since: number): { t: number; l: Record<string, unknown> }[] {
  return pg
    .logLines()
    .map((l) => ({ t: Date.parse(String(l["time"])), l }))
    .filter((x) => x.t >= since);
}

/** ms after t0 of the first line matching `pred` (undefined: none). */
function firstAt(
  lines: readonly { t: number; l: Record<string, unknown> }[],
  t0: number,
  pred: (l: Record<string, unknown>) => boolean,
): number | undefined {
  const hit = lines.find((x) => pred(x.l));
  return hit ? hit.t - t0 : undefined;
}

/**
 * Stop the cluster podgate; spawn it again and time the laptop's first ping reply, broken down by
 * phase: podgate log lines (pino times) of both gateways, and the WireGuard handshake messages
 * seen on the internet namespace (tcpdump; message type = first payload byte: 1 initiation,
 * 2 response).
 */
async function setupTime(s: Site, reset: "on" | "off"): Promise<SetupRow> {
  // The office podgate runs with the reset on or off (its environment is read at start).
  if (reset === "off") process.env[STALE_RESET_ENV] = "off";
  else delete process.env[STALE_RESET_ENV];
  if (s.officeReset !== reset) {
    await s.pgOffice.stop();
    await s.pgOffice.start();
    s.officeReset = reset;
  }
  delete process.env[STALE_RESET_ENV];
  await s.pgOffice.waitEstablished([OFFICE_TRANSIT_IP, CGW_TUN], 60_000);
  await waitFor(async () => (await ping(s.laptop)).code === 0, {
    timeoutMs: 30_000,
    what: "laptop → pod ping",
  });
  const stoppedAt = Date.now();
  await s.pgCluster.stop();
  await waitFor(async () => (await ping(s.laptop)).code !== 0, {
    timeoutMs: 20_000,
    what: "pod unreachable",
  });
  const dump = s.inet.spawn(
    ["tcpdump", "-i", "any", "-n", "-tt", "-l", "-Q", "in", `udp port ${WG_PORT} and udp[8] < 3`],
    { logName: `tcpdump-setup-${Date.now()}.log` },
  );
  const pinger = s.laptop.spawn(["ping", "-n", "-D", "-i", "0.05", "-W", "1", POD_IP], {
    logName: `ping-setup-${Date.now()}.log`,
  });
  await sleep(500);
  const t0 = Date.now();
  try {
    await s.pgCluster.start();
    const replyAt = await waitFor(
      async () => {
        const m = /^\[(\d+\.\d+)\] \d+ bytes from/m.exec(pinger.log());
        if (m) return Number(m[1]) * 1000;
        throw new Error("no reply yet");
      },
      { timeoutMs: 60_000, intervalMs: 50, what: "first ping reply after the cluster podgate starts" },
    );
    await sleep(300);
    const c = logSince(s.pgCluster, t0);
    const o = logSince(s.pgOffice, t0);
    const state = (peer: string, to: string) => (l: Record<string, unknown>) =>
      l["msg"] === "BGP state change" && l["peer"] === peer && l["to"] === to;
    const phases: Record<string, number> = {};
    const put = (k: string, v: number | undefined) => {
      if (v !== undefined) phases[k] = v;
    };
    put(
      "wireguard-go started",
      firstAt(c, t0, (l) => l["msg"] === "wireguard-go started"),
    );
    put(
      "tunnel configured",
      firstAt(c, t0, (l) => l["msg"] === "WireGuard tunnel configured"),
    );
    put(
      "WG peer reset (office)",
      firstAt(o, t0, (l) => l["msg"] === "WireGuard peer session reset"),
    );
    // tcpdump -tt: "1700000000.123456 IP 192.0.2.2.51820 > 198.51.100.2.51820: UDP, length 148"
    const hs = dump
      .log()
      .split("\n")
      .map((line) => /^(\d+\.\d+) .* IP (\S+) > (\S+): UDP, length (\d+)/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ t: Number(m[1]) * 1000 - t0, src: m[2]!, len: Number(m[4]) }))
      .filter((x) => x.t >= 0);
    // Initiation 148 bytes, response 92.
    put(
      "handshake initiation (office → cluster)",
      hs.find((x) => x.src.startsWith(OGW_PUB) && x.len === 148)?.t,
    );
    put(
      "handshake response (cluster → office)",
      hs.find((x) => x.src.startsWith(CGW_PUB) && x.len === 92)?.t,
    );
    put("cluster: node1 Established", firstAt(c, t0, state(NODE_IP, "Established")));
    put("office: cluster gateway OpenSent", firstAt(o, t0, state(CGW_TUN, "OpenSent")));
    put("office: cluster gateway Established", firstAt(o, t0, state(CGW_TUN, "Established")));
    put("first ping reply", replyAt - t0);
    if (process.env["WGB_DEBUG"]) {
      for (const x of o) say(`    office +${x.t - t0} ${JSON.stringify(x.l)}`);
      for (const x of c) say(`    cluster +${x.t - t0} ${JSON.stringify(x.l)}`);
    }
    const connectFails = o.filter((x) => x.l["msg"] === "connect failed" && x.l["peer"] === CGW_TUN).length;
    // From the stop on: the office starts resetting while the cluster gateway is still down.
    const resets = logSince(s.pgOffice, stoppedAt)
      .filter((x) => x.l["msg"] === "WireGuard peer session reset")
      .map((x) => x.t - t0);
    return { reset, ms: replyAt - t0, load: load(), phases, connectFails, resets };
  } finally {
    await s.lab.stopProcess(pinger, 2000);
    await s.lab.stopProcess(dump, 2000);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      seconds: { type: "string" },
      n: { type: "string" },
      only: { type: "string" },
    },
  });
  const quick = values.quick ?? false;
  const seconds = Number(values.seconds ?? (quick ? 2 : 5));
  const n = Number(values.n ?? (quick ? 1 : 3));
  const rounds = quick ? 1 : 2;
  const only = values.only;
  say(`# WireGuard benchmark  ${new Date().toISOString()}  load average at start: ${load()}`);
  const t0 = Date.now();
  const s = await buildLab();
  say(`lab up in ${((Date.now() - t0) / 1000).toFixed(1)} s, load ${load()}`);
  try {
    if (only === undefined || only === "forward") {
      say(`\n## iperf3 -t ${seconds} laptop → pod, tunnel vs plain routed path (${rounds} rounds)`);
      // What the userspace tunnel can offload: `vnet_hdr off` = no GSO/GRO between kernel and wireguard-go.
      const tun = /tun type \S+.*?vnet_hdr \S+/.exec(
        await s.ogw.run(["ip", "-d", "link", "show", "dev", IF_OFFICE]),
      );
      const version = execFileSync("wireguard-go", ["--version"], { encoding: "utf8" }).split("\n")[0];
      say(`  ${version}; office tunnel device: ${tun?.[0] ?? "(not a tun device)"}`);
      const rows = await forward(s, seconds, rounds);
      say(forwardTable(rows));
      for (let i = 0; i + 1 < rows.length; i += 2)
        say(`round ${i / 2 + 1}: ratio tunnel / plain ${f2(rows[i]!.gbps / rows[i + 1]!.gbps)}`);
      if (!quick) {
        say(`\n## Diagnosis: iperf3 -P 4, UDP at fixed rates (-t ${seconds})`);
        say(forwardTable(await diagnose(s, seconds)));
      }
    }
    if (only === undefined || only === "setup") {
      say(
        `\n## Tunnel setup: cluster podgate spawn → first laptop ping reply (N = ${n} per setting, office stale-session reset off/on alternating)`,
      );
      const setups: SetupRow[] = [];
      for (let i = 0; i < 2 * n; i++) {
        const r = await setupTime(s, i % 2 === 0 ? "off" : "on");
        say(
          `  setup ${i + 1} (reset ${r.reset}): ${r.ms.toFixed(0)} ms, load ${r.load}, office resets at ${r.resets.join(", ") || "–"} ms`,
        );
        say(`    ${JSON.stringify(r.phases)}`);
        setups.push(r);
      }
      say(
        mdTable(
          ["run", "office stale-session reset", "ms", "load average"],
          setups.map((r, i) => [i + 1, r.reset, r.ms.toFixed(0), r.load]),
        ),
      );
      const names = [...new Set(setups.flatMap((r) => Object.keys(r.phases)))].sort(
        (x, y) => (setups[0]?.phases[x] ?? 1e9) - (setups[0]?.phases[y] ?? 1e9),
      );
      say("\nPhases, ms after the spawn:\n");
      say(
        mdTable(
          ["phase", ...setups.map((r, i) => `run ${i + 1} (${r.reset})`)],
          names.map((k) => [
            k,
            ...setups.map((r) => (r.phases[k] === undefined ? "–" : r.phases[k]!.toFixed(0))),
          ]),
        ),
      );
    }
  } finally {
    await s.pgOffice.stop().catch(() => undefined);
    await s.pgCluster.stop().catch(() => undefined);
    deleteWgInterfacesSync([s.ogw, s.cgw], WG_IFS);
    await s.lab.teardown();
  }
  say(`total ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

await main();
