/**
 * End-to-end convergence (issue 3 §8, item 2): a new /26 block with a pod on a Calico-like BIRD
 * node → first successful ping from the office laptop, through (a) podgate (dataplane on) and
 * (b) BIRD 2 as the gateway (kernel protocol + iBGP from the node + eBGP to the office router),
 * in the same lab, one after the other. Topology (addresses from demo/topology.ts):
 *
 *   laptop ── office (FRR, AS 65010, zebra installs routes) ── gw (podgate | BIRD, AS 64512)
 *                                                               │ cluster LAN
 *                                                             node1 (calicoNode BIRD) ── pods
 *
 * Each round: the pod namespace already exists (plumbed like Calico: /32, proxy ARP, proxy_delay
 * 0); the laptop pings it every 2 ms (`ping -D -i 0.002`); t0 is taken just before
 * `BirdDaemon.announce(block)` (a `birdc configure` on the node); the figure is the timestamp of
 * the first echo reply − t0. Then the block is withdrawn. The return path (office LAN) is static
 * on the node and the gateway: it is not what is measured.
 *
 *   sudo npx tsx bench/gateway-e2e.ts [--quick] [--n 20]
 */
import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  CLUSTER_AS,
  GW_CLUSTER_IP,
  GW_TRANSIT_IP,
  LAPTOP_IP,
  OFFICE_AS,
  OFFICE_LAN,
  OFFICE_LAN_IP,
  OFFICE_TRANSIT_IP,
} from "../demo/topology.ts";
import { calicoNode } from "../test/lab/daemons/bird.ts";
import { FrrDaemon } from "../test/lab/daemons/frr.ts";
import { type Host, Lab, type LabProcess } from "../test/lab/netns.ts";
import { nowMs } from "./gen.ts";
import { mdTable, REPO, sleep, waitUntil } from "./harness.ts";

const NODE_IP = "192.168.40.101";
const say = (s = "") => process.stdout.write(`${s}\n`);
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(" ");
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : "–");
function pct(xs: number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/**
 * Pings from the laptop every 2 ms (`ping -D`), restarting ping when it gives up early (it does
 * after ICMP errors such as "net unreachable" from the office router); resolves with the epoch
 * ms of the first echo reply, or NaN after `timeoutS`.
 */
function firstReply(laptop: Host, ip: string, timeoutS: number): { done: Promise<number>; stop: () => void } {
  let child: ChildProcess | undefined;
  let stopped = false;
  const end = Date.now() + timeoutS * 1000;
  const done = new Promise<number>((resolve) => {
    const once = () => {
      if (stopped || Date.now() > end) return resolve(Number.NaN);
      const c = spawn(
        "ip",
        ["netns", "exec", laptop.ns, "ping", "-D", "-n", "-i", "0.002", "-w", String(timeoutS), ip],
        {
          stdio: ["ignore", "pipe", "ignore"],
        },
      );
      child = c;
      let buf = "";
      let got = false;
      c.stdout!.setEncoding("utf8");
      c.stdout!.on("data", (d: string) => {
        buf += d;
        const m = /^\[(\d+\.\d+)\] \d+ bytes from/m.exec(buf);
        if (m && !got) {
          got = true;
          resolve(Number(m[1]) * 1000);
          c.kill("SIGTERM");
        }
        if (buf.length > 1 << 16) buf = buf.slice(-4096);
      });
      c.once("exit", () => {
        if (!got) once();
      });
    };
    once();
  });
  return {
    done,
    stop: () => {
      stopped = true;
      child?.kill("SIGTERM");
    },
  };
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error("needs root (network namespaces): run with sudo");
  const { values } = parseArgs({
    options: { quick: { type: "boolean", default: false }, n: { type: "string" } },
  });
  const n = Number(values.n ?? (values.quick ? 5 : 20));
  say(`# end-to-end: new block on a node → first ping reply from the laptop (N = ${n} per gateway)`);
  say(`load average at start: ${load()}`);
  const lab = new Lab("bench-e2e");
  const results: { gateway: string; ms: number[]; configure: number[]; lost: number; load: string }[] = [];
  try {
    const gw = await lab.addHost("gw");
    const node = await lab.addHost("node1");
    const office = await lab.addHost("office");
    const laptop = await lab.addHost("laptop");
    await lab.link(gw, node, { aAddr: `${GW_CLUSTER_IP}/24`, bAddr: `${NODE_IP}/24` });
    await lab.link(gw, office, { aAddr: `${GW_TRANSIT_IP}/30`, bAddr: `${OFFICE_TRANSIT_IP}/30` });
    await lab.link(office, laptop, { aAddr: `${OFFICE_LAN_IP}/24`, bAddr: `${LAPTOP_IP}/24` });
    await laptop.run(["ip", "route", "add", "default", "via", OFFICE_LAN_IP]);
    for (const h of [gw, office, node]) await h.sysctl("net.ipv4.ip_forward", "1");
    // Return path, static (not measured).
    await node.run(["ip", "route", "add", OFFICE_LAN, "via", GW_CLUSTER_IP]);
    // Like demo/lab.ts: proxy ARP answers the pods' 169.254.1.1 only if the node can route it elsewhere.
    await node.run(["ip", "route", "add", "default", "via", "192.168.40.1"]);
    await gw.run(["ip", "route", "add", OFFICE_LAN, "via", OFFICE_TRANSIT_IP]);

    // Pods, plumbed like Calico, one per round; their blocks are announced later.
    const pods: { block: string; ip: string }[] = [];
    for (let i = 0; i < n; i++) {
      const block = `10.244.${10 + i}.0/26`;
      const ip = `10.244.${10 + i}.2`;
      const pod = await lab.addHost(`p${i}`);
      const { aIf } = await lab.link(node, pod, { bAddr: `${ip}/32` });
      await pod.run(["ip", "route", "add", "169.254.1.1", "dev", "eth0", "scope", "link"]);
      await pod.run(["ip", "route", "add", "default", "via", "169.254.1.1", "dev", "eth0"]);
      await node.sysctl(`net.ipv4.conf.${aIf}.proxy_arp`, "1");
      await node.sysctl(`net.ipv4.neigh.${aIf}.proxy_delay`, "0");
      await node.run(["ip", "route", "add", `${ip}/32`, "dev", aIf]);
      pods.push({ block, ip });
    }

    const bird = calicoNode({ host: node, nodeIp: NODE_IP, peers: [{ address: GW_CLUSTER_IP }], blocks: [] });
    const frr = new FrrDaemon({
      host: office,
      routerId: OFFICE_TRANSIT_IP,
      asn: OFFICE_AS,
      instance: "frr-office",
      neighbors: [{ address: GW_TRANSIT_IP, asn: CLUSTER_AS }],
    });
    await Promise.all([bird.start(), frr.start()]);

    const gateways: { name: string; start: () => LabProcess }[] = [
      {
        name: "podgate",
        start: () => {
          const cfg = join(lab.dir, "podgate.yaml");
          writeFileSync(
            cfg,
            [
              `routerId: ${GW_CLUSTER_IP}`,
              `asn: ${CLUSTER_AS}`,
              `api: { socket: ${join(lab.dir, "podgate.sock")} }`,
              "dataplane: { enabled: true, onShutdown: remove }",
              "log: { level: warn }",
              "defaults: { connectRetryTime: 1 }",
              "peers:",
              `  - { name: node1, address: ${NODE_IP}, asn: ${CLUSTER_AS}, addPath: receive, import: accept-all, export: reject-all }`,
              `  - { name: office, address: ${OFFICE_TRANSIT_IP}, asn: ${OFFICE_AS}, holdTime: 9, import: reject-all, export: accept-all }`,
              "",
            ].join("\n"),
          );
          return gw.spawn([process.execPath, join(REPO, "bin/podgate.js"), "run", "--config", cfg], {
            logName: "podgate.log",
          });
        },
      },
      {
        name: "bird",
        start: () => {
          const conf = join(lab.dir, "bird-gw.conf");
          writeFileSync(
            conf,
            [
              `router id ${GW_CLUSTER_IP};`,
              "log stderr { warning, error, fatal };",
              "protocol device { scan time 10; }",
              "protocol kernel { ipv4 { import none; export all; }; merge paths on; }",
              "protocol bgp node1 {",
              `  local ${GW_CLUSTER_IP} as ${CLUSTER_AS}; neighbor ${NODE_IP} as ${CLUSTER_AS}; direct;`,
              "  connect retry time 1; error wait time 1,2;",
              "  ipv4 { import all; export none; gateway direct; add paths rx; };",
              "}",
              "protocol bgp office {",
              `  local ${GW_TRANSIT_IP} as ${CLUSTER_AS}; neighbor ${OFFICE_TRANSIT_IP} as ${OFFICE_AS};`,
              "  connect retry time 1; error wait time 1,2; hold time 9;",
              "  ipv4 { import none; export all; next hop self; };",
              "}",
              "",
            ].join("\n"),
          );
          return gw.spawn(
            [
              "bird",
              "-f",
              "-c",
              conf,
              "-s",
              join(lab.dir, "bird-gw.ctl"),
              "-P",
              join(lab.dir, "bird-gw.pid"),
            ],
            { logName: "bird-gw.log" },
          );
        },
      },
    ];

    for (const g of gateways) {
      const proc = g.start();
      // Both sessions up: the node's BIRD and FRR each report their session to the gateway.
      await waitUntil(
        async () => {
          if (!proc.running()) throw new Error(`${g.name} exited: ${proc.log()}`);
          const b = await bird.birdc(["show", "protocols", "peer0"], false);
          const f = await frr.vtysh(["show bgp summary json"], "bgpd", false);
          return /Established/.test(b) && /"state":"Established"/.test(f.stdout);
        },
        120_000,
        250,
      );
      await sleep(1000);
      const r = { gateway: g.name, ms: [] as number[], configure: [] as number[], lost: 0, load: "" };
      for (const p of pods) {
        const ping = firstReply(laptop, p.ip, 10);
        await sleep(100);
        const t0 = nowMs();
        await bird.announce(p.block);
        r.configure.push(nowMs() - t0);
        const t = await ping.done;
        if (Number.isFinite(t)) r.ms.push(t - t0);
        else r.lost++;
        if (process.env["GW_DEBUG"] && !Number.isFinite(t)) {
          for (const h of [gw, office, node, laptop])
            console.error(h.name, await h.run(["ip", "-N", "route"]));
          console.error((await frr.vtysh(["show bgp ipv4 unicast"], "bgpd", false)).stdout);
          console.error((await frr.vtysh(["show bgp summary"], "bgpd", false)).stdout);
          console.error(proc.log().slice(-2000));
        }
        ping.stop();
        await bird.withdraw(p.block);
        await sleep(500);
      }
      r.load = load();
      say(`  ${g.name}: ${r.ms.map((x) => x.toFixed(0)).join(" ")} ms; lost ${r.lost}; load ${r.load}`);
      results.push(r);
      await lab.stopProcess(proc, 15_000);
      await gw.run(["ip", "route", "flush", "proto", "201"]).catch(() => "");
      await gw.run(["ip", "route", "flush", "proto", "bird"]).catch(() => "");
    }
    await Promise.all([bird.stop(), frr.stop()]);
  } finally {
    await lab.teardown();
  }
  say(
    mdTable(
      [
        "gateway",
        "samples",
        "lost",
        "p50 (ms)",
        "p90 (ms)",
        "max (ms)",
        "node's birdc configure p50 (ms)",
        "load average",
      ],
      results.map((r) => [
        r.gateway,
        r.ms.length,
        r.lost,
        f2(pct(r.ms, 50)),
        f2(pct(r.ms, 90)),
        f2(Math.max(...r.ms)),
        f2(pct(r.configure, 50)),
        r.load,
      ]),
    ),
  );
}

await main();
