/**
 * Gateway benchmarks (issue 3 §8): podgate with its dataplane ENABLED (routes with protocol 201
 * in its namespace), measured next to BIRD 2 with a kernel protocol, on this machine, in one run.
 *
 *   converge  one /26 announced then withdrawn N times by a BGP probe (bench/gw-peer.ts) on a
 *             "cluster" session: time from the UPDATE write to (a) the kernel route appearing in
 *             the gateway's namespace (`ip monitor route`, lines timestamped on arrival) and (b)
 *             the UPDATE arriving on the probe's "office" session (export accept-all).
 *   install   100k /26 from the generator (bench/gen.ts): time from its first write until 100k
 *             routes with proto 201 (podgate) / proto bird (BIRD kernel protocol) are in the kernel.
 *   forward   iperf3 laptop → pod through the gateway, once over podgate's route, once over a
 *             static route with podgate stopped; Gbit/s and the ratio.
 *
 *   sudo npx tsx bench/gateway.ts [--quick] [--only converge,install,forward] [--n 200]
 *
 * Every namespace and process lives in test/lab's Lab (torn down on exit and on crash).
 * Figures are printed as Markdown tables with the load average next to them; nothing is asserted.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { Host, LabProcess } from "../test/lab/netns.ts";
import { nowMs } from "./gen.ts";
import {
  type BenchLab,
  GEN_ASN,
  GEN_BASE,
  GenProcess,
  ipv4Add,
  makeLab,
  mdTable,
  REPO,
  sleep,
  TARGET_ADDR,
  TARGET_ASN,
  waitUntil,
} from "./harness.ts";

const PROTO = 201;
const CLUSTER_LOCAL = GEN_BASE; // 10.99.1.1: probe's cluster session, also the generator's address
const OFFICE_LOCAL = ipv4Add(GEN_BASE, 1); // 10.99.1.2
const OFFICE_ASN = 65002;
const say = (s = "") => process.stdout.write(`${s}\n`);
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(" ");

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : "–");

/** podgate in the target namespace, dataplane on, passive toward the given peers. */
function startPodgate(
  b: BenchLab,
  peers: { address: string; asn: number; exp: "accept-all" | "reject-all" }[],
  tag: string,
): { proc: LabProcess; socket: string } {
  const socket = join(b.lab.dir, `podgate-${tag}.sock`);
  const cfg = join(b.lab.dir, `podgate-${tag}.yaml`);
  const lines = [
    `routerId: ${TARGET_ADDR}`,
    `asn: ${TARGET_ASN}`,
    `listen: { address: ${TARGET_ADDR}, port: 179 }`,
    `api: { socket: ${socket} }`,
    `dataplane: { enabled: true, protocol: ${PROTO}, unreachableAggregates: false, mssClamp: "off", onShutdown: remove }`,
    "log: { level: warn }",
    "peers:",
    ...peers.map(
      (p) =>
        `  - { address: ${p.address}, asn: ${p.asn}, passive: true, families: [ipv4], import: accept-all, export: ${p.exp} }`,
    ),
  ];
  writeFileSync(cfg, `${lines.join("\n")}\n`);
  const proc = b.tgt.spawn([process.execPath, join(REPO, "bin/podgate.js"), "run", "--config", cfg], {
    env: { ...process.env, PODGATE_LOG_LEVEL: "warn" },
    logName: `podgate-${tag}.log`,
  });
  return { proc, socket };
}

/** Lines of a long-running command in a namespace, each timestamped on arrival. */
class LineTap {
  readonly child: ChildProcess;
  private listeners: ((line: string, t: number) => void)[] = [];
  constructor(ns: string, cmd: string[]) {
    this.child = spawn("ip", ["netns", "exec", ns, ...cmd], { stdio: ["pipe", "pipe", "inherit"] });
    let buf = "";
    this.child.stdout!.setEncoding("utf8");
    this.child.stdout!.on("data", (d: string) => {
      const t = nowMs();
      buf += d;
      let i = buf.indexOf("\n");
      while (i >= 0) {
        const l = buf.slice(0, i);
        buf = buf.slice(i + 1);
        i = buf.indexOf("\n");
        for (const f of this.listeners) f(l, t);
      }
    });
  }
  on(f: (line: string, t: number) => void): void {
    this.listeners.push(f);
  }
  close(): void {
    this.child.stdin?.end();
    this.child.kill("SIGTERM");
  }
}

function sh(ns: string, script: string): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile("ip", ["netns", "exec", ns, "sh", "-c", script], { maxBuffer: 64 << 20 }, (e, out) =>
      e ? reject(e) : resolve(out),
    ),
  );
}

// ---------------------------------------------------------------------------------------------
// 1. Convergence of one block

interface ConvergeRow {
  op: string;
  kernel: number[];
  office: number[];
  lost: number;
}

async function converge(n: number): Promise<ConvergeRow[]> {
  const b = await makeLab("bench-gw-conv", 2);
  const taps: LineTap[] = [];
  try {
    const pg = startPodgate(
      b,
      [
        { address: CLUSTER_LOCAL, asn: GEN_ASN, exp: "reject-all" },
        { address: OFFICE_LOCAL, asn: OFFICE_ASN, exp: "accept-all" },
      ],
      "conv",
    );
    const mon = new LineTap(b.tgt.ns, ["ip", "-N", "monitor", "route"]);
    const probe = new LineTap(b.gen.ns, [
      process.execPath,
      "--import",
      "tsx",
      join(REPO, "bench/gw-peer.ts"),
      "--target",
      TARGET_ADDR,
      "--cluster-local",
      CLUSTER_LOCAL,
      "--cluster-asn",
      String(GEN_ASN),
      "--office-local",
      OFFICE_LOCAL,
      "--office-asn",
      String(OFFICE_ASN),
    ]);
    taps.push(mon, probe);
    const events: { src: string; op: string; prefix: string; t: number }[] = [];
    let up = 0;
    probe.on((l) => {
      try {
        const e = JSON.parse(l) as { ev: string; op?: string; prefix?: string; t: number };
        if (e.ev === "established") up++;
        if (e.ev === "sent" || e.ev === "rx")
          events.push({ src: e.ev, op: e.op!, prefix: e.prefix!, t: e.t });
      } catch {
        // not JSON
      }
    });
    mon.on((l, t) => {
      if (process.env["GW_DEBUG"]) console.error(`mon: ${l}`);
      if (!l.includes(`proto ${PROTO}`)) return;
      const del = l.startsWith("Deleted ");
      const prefix = (del ? l.slice(8) : l).split(" ")[0]!;
      events.push({ src: "kernel", op: del ? "w" : "a", prefix, t });
    });
    await waitUntil(async () => {
      if (!pg.proc.running()) throw new Error(`podgate exited: ${pg.proc.log()}`);
      return up === 2;
    }, 30_000);
    await sleep(1000);
    const rows: ConvergeRow[] = [
      { op: "announce", kernel: [], office: [], lost: 0 },
      { op: "withdraw", kernel: [], office: [], lost: 0 },
    ];
    const find = (src: string, op: string, prefix: string, after: number) =>
      events.find((e) => e.src === src && e.op === op && e.prefix === prefix && e.t >= after - 1);
    for (let i = 0; i < n; i++) {
      // A different block each round, so a late event from the previous round cannot match.
      const prefix = `10.${200 + Math.floor(i / 1024)}.${Math.floor((i % 1024) / 4)}.${(i % 4) * 64}/26`;
      for (const [k, op] of (["a", "w"] as const).entries()) {
        const row = rows[k]!;
        const mark = events.length;
        probe.child.stdin!.write(`${op} ${prefix}\n`);
        let sent: (typeof events)[number] | undefined;
        let kern: (typeof events)[number] | undefined;
        let off: (typeof events)[number] | undefined;
        const deadline = Date.now() + 3000;
        while (Date.now() < deadline) {
          sent ??= events.slice(mark).find((e) => e.src === "sent" && e.prefix === prefix && e.op === op);
          if (sent) {
            kern ??= find("kernel", op, prefix, sent.t);
            off ??= find("rx", op, prefix, sent.t);
          }
          if (sent && kern && off) break;
          await sleep(1);
        }
        if (!sent || !kern || !off) {
          if (process.env["GW_DEBUG"])
            console.error(JSON.stringify({ prefix, op, sent, kern, off, events: events.slice(-6) }));
          row.lost++;
          continue;
        }
        row.kernel.push(kern.t - sent.t);
        row.office.push(off.t - sent.t);
        events.length = 0;
        await sleep(5);
      }
    }
    await b.lab.stopProcess(pg.proc, 10_000);
    return rows;
  } finally {
    for (const t of taps) t.close();
    await b.lab.teardown();
  }
}

// ---------------------------------------------------------------------------------------------
// 3. Learning and installing 100k routes: podgate vs BIRD's kernel protocol

interface InstallRow {
  target: string;
  seconds: number;
  routes: number;
  error?: string;
}

async function countProto(host: Host, proto: string): Promise<number> {
  const out = await sh(host.ns, `ip -4 -o route show proto ${proto} | wc -l`);
  return Number(out.trim());
}

async function install(prefixes: number): Promise<InstallRow[]> {
  const b = await makeLab("bench-gw-inst", 1);
  const rows: InstallRow[] = [];
  try {
    for (const target of ["podgate", "bird"] as const) {
      const gen = new GenProcess(b, { sessions: 1, prefixes, workload: "calico", hold: 90 });
      let proc: LabProcess | undefined;
      const row: InstallRow = { target, seconds: Number.NaN, routes: 0 };
      const proto = target === "podgate" ? String(PROTO) : "bird";
      try {
        await gen.wait("encoded", 120_000);
        if (target === "podgate") {
          proc = startPodgate(b, [{ address: GEN_BASE, asn: GEN_ASN, exp: "reject-all" }], "inst").proc;
        } else {
          const conf = join(b.lab.dir, "bird-kernel.conf");
          writeFileSync(
            conf,
            [
              `router id ${TARGET_ADDR};`,
              "log stderr { warning, error, fatal };",
              "protocol device { scan time 60; }",
              "protocol kernel { ipv4 { import none; export all; }; }",
              "protocol bgp g0 {",
              `  local ${TARGET_ADDR} as ${TARGET_ASN}; neighbor ${GEN_BASE} as ${GEN_ASN}; passive on;`,
              "  ipv4 { import all; export none; };",
              "}",
              "",
            ].join("\n"),
          );
          proc = b.tgt.spawn(
            [
              "bird",
              "-f",
              "-c",
              conf,
              "-s",
              join(b.lab.dir, "bird-k.ctl"),
              "-P",
              join(b.lab.dir, "bird-k.pid"),
            ],
            { logName: "bird-kernel.log" },
          );
        }
        gen.connect();
        await gen.wait("established", 30_000);
        await sleep(1500);
        gen.go();
        const first = await gen.wait("firstWrite", 10_000);
        const end = Date.now() + 300_000;
        for (;;) {
          row.routes = await countProto(b.tgt, proto);
          if (row.routes >= prefixes) {
            row.seconds = (nowMs() - first.t) / 1000;
            break;
          }
          if (Date.now() > end) throw new Error(`${row.routes}/${prefixes} routes after 300 s`);
          await sleep(100);
        }
      } catch (e) {
        row.error = (e as Error).message;
      } finally {
        await gen.close();
        if (proc) await b.lab.stopProcess(proc, 30_000);
        // BIRD removes its routes on exit, podgate (onShutdown: remove) too; flush leftovers.
        await sh(b.tgt.ns, `ip route flush proto ${proto} || true`);
      }
      say(
        `  install: ${target} ${f2(row.seconds)} s (${row.routes} routes) load ${load()}${row.error ? ` ERROR ${row.error}` : ""}`,
      );
      rows.push(row);
      await sleep(1000);
    }
  } finally {
    await b.lab.teardown();
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// 4. Forwarding: laptop → gateway → node → pod, over podgate's route vs a static route

interface ForwardRow {
  path: string;
  gbps: number;
  load: string;
  error?: string;
}

async function forward(seconds: number): Promise<ForwardRow[]> {
  const b = await makeLab("bench-gw-fwd", 2);
  const rows: ForwardRow[] = [];
  const taps: LineTap[] = [];
  try {
    // gen plays the node: the pod hangs off it; the laptop hangs off the gateway (tgt).
    const laptop = await b.lab.addHost("laptop");
    const pod = await b.lab.addHost("pod");
    await b.lab.link(laptop, b.tgt, { aAddr: "10.98.0.2/24", bAddr: "10.98.0.1/24" });
    await b.lab.link(b.gen, pod, { aAddr: "10.244.1.1/26", bAddr: "10.244.1.2/26" });
    await laptop.run(["ip", "route", "add", "default", "via", "10.98.0.1"]);
    await pod.run(["ip", "route", "add", "default", "via", "10.244.1.1"]);
    await b.gen.run(["ip", "route", "add", "10.98.0.0/24", "via", TARGET_ADDR]);
    for (const h of [b.gen, b.tgt]) await h.sysctl("net.ipv4.ip_forward", "1");
    const server = pod.spawn(["iperf3", "-s", "-B", "10.244.1.2"], { logName: "iperf3-s.log" });
    await sleep(500);
    const iperf = async (path: string) => {
      const r: ForwardRow = { path, gbps: Number.NaN, load: "" };
      try {
        const out = await laptop.run(["iperf3", "-c", "10.244.1.2", "-t", String(seconds), "-J"], {
          timeoutMs: (seconds + 30) * 1000,
        });
        const j = JSON.parse(out) as { end: { sum_received: { bits_per_second: number } } };
        r.gbps = j.end.sum_received.bits_per_second / 1e9;
      } catch (e) {
        r.error = (e as Error).message.slice(0, 300);
      }
      r.load = load();
      say(`  forward: ${path} ${f2(r.gbps)} Gbit/s load ${r.load}${r.error ? ` ERROR ${r.error}` : ""}`);
      rows.push(r);
    };

    // (a) podgate installs 10.244.1.0/26 via the node, learned from the probe's cluster session.
    const pg = startPodgate(
      b,
      [
        { address: CLUSTER_LOCAL, asn: GEN_ASN, exp: "reject-all" },
        { address: OFFICE_LOCAL, asn: OFFICE_ASN, exp: "accept-all" },
      ],
      "fwd",
    );
    const probe = new LineTap(b.gen.ns, [
      process.execPath,
      "--import",
      "tsx",
      join(REPO, "bench/gw-peer.ts"),
      "--target",
      TARGET_ADDR,
      "--cluster-local",
      CLUSTER_LOCAL,
      "--office-local",
      OFFICE_LOCAL,
    ]);
    taps.push(probe);
    let up = 0;
    probe.on((l) => {
      if (l.includes('"established"')) up++;
    });
    await waitUntil(async () => up === 2, 30_000);
    probe.child.stdin!.write("a 10.244.1.0/26\n");
    await waitUntil(async () => (await countProto(b.tgt, String(PROTO))) === 1, 10_000, 20);
    const route = (await sh(b.tgt.ns, "ip route get 10.244.1.2")).trim();
    say(`  forward: gateway route with podgate: ${route}`);
    await iperf("podgate route (proto 201)");
    probe.close();
    await b.lab.stopProcess(pg.proc, 10_000);
    await sh(b.tgt.ns, `ip route flush proto ${PROTO} || true`);

    // (b) same path, static route, podgate not running.
    await b.tgt.run(["ip", "route", "add", "10.244.1.0/26", "via", CLUSTER_LOCAL]);
    say(`  forward: gateway route static: ${(await sh(b.tgt.ns, "ip route get 10.244.1.2")).trim()}`);
    await iperf("static route, no podgate");
    await b.lab.stopProcess(server, 5000);
  } finally {
    for (const t of taps) t.close();
    await b.lab.teardown();
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      only: { type: "string", default: "converge,install,forward" },
      n: { type: "string" },
      prefixes: { type: "string" },
      seconds: { type: "string" },
    },
  });
  const quick = values.quick ?? false;
  const only = new Set((values.only ?? "").split(","));
  const n = Number(values.n ?? (quick ? 20 : 200));
  const prefixes = Number(values.prefixes ?? (quick ? 10_000 : 100_000));
  const seconds = Number(values.seconds ?? (quick ? 3 : 10));
  say(`# gateway benchmarks  ${new Date().toISOString()}  load average at start: ${load()}`);

  if (only.has("converge")) {
    say(`\n## Convergence of one /26 (N = ${n})`);
    const rows = await converge(n);
    say(
      mdTable(
        [
          "change",
          "samples",
          "lost",
          "kernel p50 (ms)",
          "kernel p99 (ms)",
          "kernel max (ms)",
          "office p50 (ms)",
          "office p99 (ms)",
          "office max (ms)",
        ],
        rows.map((r) => [
          r.op,
          r.kernel.length,
          r.lost,
          f2(pct(r.kernel, 50)),
          f2(pct(r.kernel, 99)),
          f2(Math.max(...r.kernel)),
          f2(pct(r.office, 50)),
          f2(pct(r.office, 99)),
          f2(Math.max(...r.office)),
        ]),
      ),
    );
    say(`load average after: ${load()}`);
  }
  if (only.has("install")) {
    say(`\n## Learning and installing ${prefixes} /26 routes`);
    const rows = await install(prefixes);
    const bird = rows.find((r) => r.target === "bird")?.seconds ?? Number.NaN;
    say(
      mdTable(
        ["target", "routes in kernel", "time (s)", "routes/s", "time / BIRD"],
        rows.map((r) => [
          r.target,
          r.routes,
          f2(r.seconds),
          Math.round(r.routes / r.seconds),
          `${f2(r.seconds / bird)}×`,
        ]),
      ),
    );
    say(`load average after: ${load()}`);
  }
  if (only.has("forward")) {
    say(`\n## Forwarding laptop → pod, iperf3 ${seconds} s`);
    const rows = await forward(seconds);
    const ratio = (rows[0]?.gbps ?? Number.NaN) / (rows[1]?.gbps ?? Number.NaN);
    say(
      mdTable(
        ["path", "Gbit/s", "load average"],
        rows.map((r) => [r.path, f2(r.gbps), r.load]),
      ),
    );
    say(`ratio podgate / static: ${f2(ratio)}`);
  }
}

await main();
