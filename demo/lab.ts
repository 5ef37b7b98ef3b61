/**
 * `npm run demo`: builds the demo lab (see docs/demo.md) out of network namespaces, starts three
 * Calico-like BIRD nodes, podgate on the gateway and an FRR office router, waits for every BGP
 * session and route, prints what podgate and the office router learned, and stays up until
 * Ctrl-C. `--check` verifies the same things, prints PASS/FAIL, tears down and exits 0/1;
 * `down` removes what a demo left behind (also one running in another shell).
 *
 * Reuses the test lab (test/lab): `Lab` with fixed names (`pgdemo-*`, /run/podgate-demo), the
 * BIRD `calicoNode` preset and the FRR launcher. podgate itself runs as the real CLI
 * (`node bin/podgate.js run`), and is queried with the real `status`/`routes` commands.
 */
import { execFile, execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { constants as osConstants } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { apiRequest } from "../src/api/client.ts";
import type { RoutesJson, StatusJson } from "../src/api/types.ts";
import { type BirdDaemon, calicoNode } from "../test/lab/daemons/bird.ts";
import { FrrDaemon } from "../test/lab/daemons/frr.ts";
import type { RibRoute } from "../test/lab/daemons/types.ts";
import { type Host, Lab, type LabProcess, waitFor } from "../test/lab/netns.ts";
import {
  CLUSTER_AS,
  CLUSTER_IP,
  CLUSTER_IP_PORT,
  CLUSTER_LAN_ROUTER,
  DEMO_DIR,
  DEMO_PID_FILE,
  DEMO_PREFIX,
  expectedClusterRoutes,
  GW_CLUSTER_IP,
  GW_TRANSIT_IP,
  LAPTOP_IP,
  NODES,
  OFFICE_AS,
  OFFICE_LAN,
  OFFICE_LAN_IP,
  OFFICE_TRANSIT_IP,
  POD_CIDR,
  POD_HTTP_PORT,
  PODGATE_CONFIG,
  PODGATE_LOG,
  PODGATE_SOCKET,
  podgateConfig,
  SERVICE_BACKEND,
  SERVICE_CIDR,
} from "./topology.ts";

const REPO_ROOT = fileURLToPath(new URL("../", import.meta.url));
const PODGATE_BIN = join(REPO_ROOT, "bin", "podgate.js");
/** Calico's BIRD waits 2 s before connecting; podgate retries every 2 s. 60 s is generous. */
const SESSION_TIMEOUT_MS = 60_000;
const ROUTE_TIMEOUT_MS = 30_000;

const started = Date.now();
const say = (s = "") => process.stdout.write(`${s}\n`);
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;
const step = (s: string) => say(`\n== ${s}  [${elapsed()}]`);
const indent = (s: string, by = "   ") =>
  s
    .trimEnd()
    .split("\n")
    .map((l) => `${by}${l}`)
    .join("\n");

/** The test lab with the demo's fixed names instead of per-process ones. */
class DemoLab extends Lab {
  constructor() {
    super("demo");
    // Lab made a per-process temp dir and prefix; the demo wants names `down` can find.
    rmSync(this.dir, { recursive: true, force: true });
    mkdirSync(DEMO_DIR, { recursive: true, mode: 0o755 });
    const self = this as unknown as { prefix: string; dir: string };
    self.prefix = DEMO_PREFIX;
    self.dir = DEMO_DIR;
  }
}

interface Demo {
  lab: DemoLab;
  gw: Host;
  office: Host;
  laptop: Host;
  nodeHosts: Host[];
  podHosts: Host[];
  birds: BirdDaemon[];
  frr: FrrDaemon;
  podgate?: LabProcess;
}

/** An error whose message is already a full explanation (printed as is). */
class DemoError extends Error {}

// ---------------------------------------------------------------------------------------------
// Leftovers and `down`

function demoNamespaces(): string[] {
  let out = "";
  try {
    out = execFileSync("ip", ["netns", "list"], { encoding: "utf8" });
  } catch {
    return [];
  }
  return out
    .split("\n")
    .map((l) => l.split(" ")[0] ?? "")
    .filter((n) => n.startsWith(`${DEMO_PREFIX}-`));
}

/** The pid of a demo process that is still running, if any. */
function runningDemoPid(): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(DEMO_PID_FILE, "utf8").trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return undefined;
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    return cmd.includes("demo/lab.ts") ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Removes every namespace, process and file a demo made. Returns what it removed. */
async function removeEverything(): Promise<string[]> {
  const removed: string[] = [];
  const pid = runningDemoPid();
  if (pid !== undefined) {
    // The running demo tears its own lab down on SIGTERM; give it a moment, then sweep.
    process.kill(pid, "SIGTERM");
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && existsSync(`/proc/${pid}`)) await sleep(100);
    removed.push(
      existsSync(`/proc/${pid}`)
        ? `the running demo (pid ${pid}) did not exit after SIGTERM; sweeping its namespaces anyway`
        : `stopped the running demo (pid ${pid}); it removed its own namespaces and files`,
    );
  }
  for (const ns of demoNamespaces()) {
    let pids: number[] = [];
    try {
      pids = execFileSync("ip", ["netns", "pids", ns], { encoding: "utf8" })
        .split("\n")
        .filter(Boolean)
        .map(Number);
    } catch {
      // namespace just went away
    }
    for (const p of pids) {
      try {
        process.kill(p, "SIGKILL");
      } catch {
        // already gone
      }
    }
    try {
      execFileSync("ip", ["netns", "delete", ns], { stdio: "ignore" });
      removed.push(
        `removed namespace ${ns}${pids.length ? ` (killed ${pids.length} process(es) in it)` : ""}`,
      );
    } catch {
      // deleted meanwhile
    }
  }
  if (existsSync(DEMO_DIR)) {
    rmSync(DEMO_DIR, { recursive: true, force: true });
    removed.push(`removed ${DEMO_DIR}`);
  }
  return removed;
}

async function down(): Promise<number> {
  const removed = await removeEverything();
  if (removed.length === 0)
    say("demo down: nothing to remove (no pgdemo-* namespaces, no /run/podgate-demo)");
  for (const r of removed) say(`demo down: ${r}`);
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Building the lab

/**
 * A pod's workload: a one-line HTTP server that answers with the pod's name and the client's
 * address (so the laptop sees whether its own address arrived). Spawned through the lab, so
 * teardown (and `down`, which kills every process in pgdemo-* namespaces) stops it.
 */
function startPodHttp(pod: Host, name: string): void {
  const script = `require("node:http").createServer((q,s)=>{s.setHeader("connection","close");s.end("hello from ${name}, you are "+q.socket.remoteAddress+"\\n")}).listen(${POD_HTTP_PORT},"0.0.0.0")`;
  pod.spawn(["node", "-e", script], { logName: `${name}-http.log` });
}

/**
 * kube-proxy's part of a Service, on one node: DNAT the ClusterIP to the backend pod, and
 * masquerade connections from outside the pod network so the reply comes back through this
 * node (which undoes the DNAT) even when the backend lives on another node.
 */
async function installService(node: Host): Promise<void> {
  const rules = `table ip pgdemo-svc {
  chain pre {
    type nat hook prerouting priority dstnat; policy accept;
    ip daddr ${CLUSTER_IP} tcp dport ${CLUSTER_IP_PORT} counter dnat to ${SERVICE_BACKEND.pod.ip}:${POD_HTTP_PORT}
  }
  chain post {
    type nat hook postrouting priority srcnat; policy accept;
    ct status dnat ip saddr != ${POD_CIDR} masquerade
  }
}
`;
  const r = await node.exec(["nft", "-f", "-"], { input: rules });
  if (r.code !== 0)
    throw new DemoError(`nft on ${node.name} (the ClusterIP's DNAT) failed: ${r.stderr.trim()}`);
}

async function build(lab: DemoLab): Promise<Demo> {
  step("1. Namespaces and links");
  const gw = await lab.addHost("gw");
  const nodeHosts: Host[] = [];
  for (const n of NODES) nodeHosts.push(await lab.addHost(n.name));
  const office = await lab.addHost("office");
  const laptop = await lab.addHost("laptop");

  // Cluster LAN: the gateway and the three nodes on one bridge (namespace pgdemo-br0).
  await lab.bridge([
    { host: gw, addr: `${GW_CLUSTER_IP}/24` },
    ...NODES.map((n, i) => ({ host: nodeHosts[i]!, addr: `${n.ip}/24` })),
  ]);
  // Office LAN: office router and laptop (pgdemo-br1); gateway ↔ office router link.
  await lab.bridge([
    { host: office, addr: `${OFFICE_LAN_IP}/24` },
    { host: laptop, addr: `${LAPTOP_IP}/24` },
  ]);
  await lab.link(gw, office, { aAddr: `${GW_TRANSIT_IP}/30`, bAddr: `${OFFICE_TRANSIT_IP}/30` });
  await laptop.run(["ip", "route", "add", "default", "via", OFFICE_LAN_IP]);
  for (const h of [gw, office, ...nodeHosts]) await h.sysctl("net.ipv4.ip_forward", "1");
  // Nodes have a default route like real ones (the LAN router itself is not modelled): proxy ARP
  // for the pods' 169.254.1.1 answers only for addresses the node can route elsewhere.
  for (const h of nodeHosts) await h.run(["ip", "route", "add", "default", "via", CLUSTER_LAN_ROUTER]);

  // Pods the way Calico plumbs them: /32 on eth0, default via 169.254.1.1 answered by proxy ARP
  // on the node's end of the veth, a /32 route to the pod on the node.
  const podHosts: Host[] = [];
  for (const [i, n] of NODES.entries()) {
    const node = nodeHosts[i]!;
    const pod = await lab.addHost(n.pod.name);
    podHosts.push(pod);
    const { aIf } = await lab.link(node, pod, { bAddr: `${n.pod.ip}/32` });
    await pod.run(["ip", "route", "add", "169.254.1.1", "dev", "eth0", "scope", "link"]);
    await pod.run(["ip", "route", "add", "default", "via", "169.254.1.1", "dev", "eth0"]);
    await node.sysctl(`net.ipv4.conf.${aIf}.proxy_arp`, "1");
    await node.sysctl(`net.ipv4.neigh.${aIf}.proxy_delay`, "0");
    await node.run(["ip", "route", "add", `${n.pod.ip}/32`, "dev", aIf]);
    startPodHttp(pod, n.pod.name);
  }
  for (const h of nodeHosts) await installService(h);
  say(`   ${lab.hosts.length} namespaces: ${lab.hosts.map((h) => h.ns).join(" ")}`);
  say(
    `   each pod serves HTTP on :${POD_HTTP_PORT}; ClusterIP ${CLUSTER_IP}:${CLUSTER_IP_PORT} → ${SERVICE_BACKEND.pod.name} (${SERVICE_BACKEND.pod.ip}:${POD_HTTP_PORT}) by nft DNAT on every node`,
  );

  step("2. Daemons: BIRD on each node (like calico-node), FRR on the office router, podgate");
  const birds = NODES.map((n, i) =>
    calicoNode({
      host: nodeHosts[i]!,
      nodeIp: n.ip,
      // The gateway first: it is protocol `peer0` in every node's BIRD.
      peers: [
        { address: GW_CLUSTER_IP },
        ...NODES.filter((o) => o !== n).map((o) => ({ address: o.ip, meshNode: true })),
      ],
      blocks: [...n.blocks, SERVICE_CIDR],
    }),
  );
  const frr = new FrrDaemon({
    host: office,
    routerId: OFFICE_TRANSIT_IP,
    asn: OFFICE_AS,
    instance: "frr-office",
    neighbors: [{ address: GW_TRANSIT_IP, asn: CLUSTER_AS }],
  });
  const demo: Demo = { lab, gw, office, laptop, nodeHosts, podHosts, birds, frr };

  writeFileSync(PODGATE_CONFIG, podgateConfig(), { mode: 0o600 });
  const check = await podgateCli(["check-config", PODGATE_CONFIG]);
  if (check.code !== 0) throw new DemoError(`podgate check-config failed:\n${check.stderr || check.stdout}`);
  say(`   ${check.stdout.trim()}`);

  await Promise.all([...birds.map((b) => b.start()), frr.start()]);
  await frr.announce(OFFICE_LAN);
  demo.podgate = gw.spawn(["node", PODGATE_BIN, "run", "--config", PODGATE_CONFIG], {
    logName: "podgate.log",
    cwd: REPO_ROOT,
  });
  const pg = demo.podgate;
  await waitFor(
    async () => {
      if (!pg.running()) throw new DemoError(`podgate exited (${await pg.exited}); log:\n${tail(pg.log())}`);
      return await apiRequest<StatusJson>(PODGATE_SOCKET, "GET", "/v1/status");
    },
    { timeoutMs: 20_000, what: "podgate's control API" },
  ).catch((e: Error) => {
    throw new DemoError(`${e.message}\n--- podgate log ---\n${tail(pg.log())}`);
  });
  say(
    `   BIRD x${birds.length} (AS ${CLUSTER_AS}), FRR (AS ${OFFICE_AS}), podgate (AS ${CLUSTER_AS}, pid ${pg.child.pid}) running`,
  );
  return demo;
}

// ---------------------------------------------------------------------------------------------
// Waiting, with the daemons' own view when something does not come up

async function waitSessions(d: Demo): Promise<StatusJson> {
  try {
    return await waitFor(
      async () => {
        if (d.podgate && !d.podgate.running()) throw new DemoError("podgate exited");
        const s = await apiRequest<StatusJson>(PODGATE_SOCKET, "GET", "/v1/status");
        const notUp = s.peers.filter((p) => p.state !== "Established");
        if (notUp.length > 0) {
          throw new Error(notUp.map((p) => `${p.name} (${p.address}) ${p.state}: ${p.info}`).join("; "));
        }
        return s;
      },
      { timeoutMs: SESSION_TIMEOUT_MS, intervalMs: 500, what: "every podgate BGP session to be Established" },
    );
  } catch (e) {
    throw new DemoError(`${(e as Error).message}\n\n${await sessionDiagnostics(d)}`);
  }
}

/** For every session podgate does not have up: podgate's status and the peer daemon's own. */
async function sessionDiagnostics(d: Demo): Promise<string> {
  const parts: string[] = [];
  let status: StatusJson | undefined;
  try {
    status = await apiRequest<StatusJson>(PODGATE_SOCKET, "GET", "/v1/status");
  } catch (e) {
    parts.push(`podgate's API does not answer: ${(e as Error).message}`);
  }
  const st = await podgateCli(["status", "--socket", PODGATE_SOCKET]);
  parts.push(`--- podgate status ---\n${st.stdout || st.stderr}`);
  for (const p of status?.peers ?? []) {
    if (p.state === "Established") continue;
    const i = NODES.findIndex((n) => n.ip === p.address);
    if (i >= 0) {
      const out = await d.birds[i]!.birdc(["show", "protocols", "all", "peer0"], false).catch(String);
      parts.push(`--- ${NODES[i]!.name}: session ${p.name} did not come up; BIRD says ---\n${out}`);
    } else if (p.address === OFFICE_TRANSIT_IP) {
      const out = await d.frr
        .vtysh([`show bgp neighbors ${GW_TRANSIT_IP}`], "bgpd", false)
        .then((r) => r.stdout, String);
      parts.push(`--- office router: session ${p.name} did not come up; FRR says ---\n${out}`);
    }
  }
  if (d.podgate) parts.push(`--- podgate log (${PODGATE_LOG}, last lines) ---\n${tail(d.podgate.log(), 10)}`);
  return parts.join("\n");
}

/** When routes are missing: what podgate has, what the office router has, podgate's log. */
async function routeDiagnostics(d: Demo): Promise<string> {
  const st = await podgateCli(["status", "--socket", PODGATE_SOCKET]);
  const rt = await podgateCli(["routes", "--socket", PODGATE_SOCKET]);
  const frr = await d.frr.vtysh(["show bgp ipv4 unicast"], "bgpd", false).then((r) => r.stdout, String);
  return [
    `--- podgate status ---\n${st.stdout || st.stderr}`,
    `--- podgate routes ---\n${rt.stdout || rt.stderr}`,
    `--- office router: show bgp ipv4 unicast ---\n${frr}`,
    `--- podgate log (${PODGATE_LOG}, last lines) ---\n${tail(d.podgate?.log() ?? "", 10)}`,
  ].join("\n");
}

interface CheckResult {
  ok: boolean;
  line: string;
}

/** podgate learned every block (and the service range) from the right node(s). */
function checkPodgateRoutes(r: RoutesJson): CheckResult[] {
  const out: CheckResult[] = [];
  for (const [prefix, nextHops] of expectedClusterRoutes()) {
    for (const nh of nextHops) {
      const found = r.routes.find((x) => x.prefix === prefix && x.peer === nh);
      const ok = found?.nextHop === nh;
      out.push({
        ok,
        line: `podgate learned ${prefix} from ${nh} with next hop ${nh}${ok ? "" : ` (got ${found ? found.nextHop : "nothing"})`}`,
      });
    }
  }
  return out;
}

/** The office router learned every cluster route from podgate, next hop = the gateway. */
function checkOfficeRoutes(routes: RibRoute[]): CheckResult[] {
  return [...expectedClusterRoutes().keys()].map((prefix) => {
    const found = routes.find((x) => x.prefix === prefix && x.fromPeer === GW_TRANSIT_IP);
    const ok = found?.nextHop === GW_TRANSIT_IP && found.asPath.join(" ") === String(CLUSTER_AS);
    const got = found
      ? `next hop ${found.nextHop}, AS path ${found.asPath.join(" ") || "(empty)"}`
      : "nothing";
    return {
      ok,
      line: `office router learned ${prefix} from podgate with next hop ${GW_TRANSIT_IP}, AS path ${CLUSTER_AS}${ok ? "" : ` (got ${got})`}`,
    };
  });
}

/** Every node learned the office LAN from podgate with the gateway as next hop (the return path). */
async function checkReturnPath(d: Demo): Promise<CheckResult[]> {
  return Promise.all(
    d.birds.map(async (b, i) => {
      const routes = await b.routes(4);
      const found = routes.find((x) => x.prefix === OFFICE_LAN && x.fromPeer === GW_CLUSTER_IP);
      const ok = found?.nextHop === GW_CLUSTER_IP;
      return {
        ok,
        line: `${NODES[i]!.name} learned ${OFFICE_LAN} from podgate with next hop ${GW_CLUSTER_IP}${ok ? "" : ` (got ${found ? found.nextHop : "nothing"})`}`,
      };
    }),
  );
}

/** Polls until all checks pass or the timeout ends; returns the last results either way. */
async function settle(
  fn: () => Promise<CheckResult[]>,
  timeoutMs = ROUTE_TIMEOUT_MS,
): Promise<CheckResult[]> {
  let last: CheckResult[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      last = await fn();
    } catch (e) {
      last = [{ ok: false, line: `error: ${(e as Error).message}` }];
    }
    if (last.every((c) => c.ok) || Date.now() >= deadline) return last;
    await sleep(500);
  }
}

const mark = (c: CheckResult) => `${c.ok ? "ok  " : "FAIL"} ${c.line}`;

// ---------------------------------------------------------------------------------------------
// Commands run for the user to see

async function podgateCli(args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [PODGATE_BIN, ...args],
      { cwd: REPO_ROOT, encoding: "utf8", timeout: 20_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
        resolve({ stdout, stderr, code });
      },
    );
  });
}

async function show(title: string, cmd: string, run: () => Promise<string>): Promise<void> {
  say(`\n$ ${cmd}    # ${title}`);
  try {
    say(indent(await run(), "  "));
  } catch (e) {
    say(`  (failed: ${(e as Error).message})`);
  }
}

function tail(s: string, lines = 25): string {
  return s.trimEnd().split("\n").slice(-lines).join("\n");
}

/** Set once a signal arrived: processes exiting after that are expected. */
let stopping = false;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------

async function verify(d: Demo): Promise<CheckResult[]> {
  step("3. BGP sessions (podgate ↔ 3 nodes iBGP, podgate ↔ office router eBGP)");
  const s = await waitSessions(d);
  const results: CheckResult[] = s.peers.map((p) => ({
    ok: true,
    line: `session ${p.name} (${p.address}, AS ${p.asn}) Established`,
  }));
  for (const c of results) say(`   ${mark(c)}`);

  step("4. Routes: podgate learns every block from its node; the office router learns them from podgate");
  const pgChecks = await settle(async () =>
    checkPodgateRoutes(await apiRequest<RoutesJson>(PODGATE_SOCKET, "GET", "/v1/routes")),
  );
  const officeChecks = await settle(async () => checkOfficeRoutes(await d.frr.routes(4)));
  const returnChecks = await settle(() => checkReturnPath(d));
  for (const c of [...pgChecks, ...officeChecks, ...returnChecks]) say(`   ${mark(c)}`);

  step(
    "5. Forwarding: the laptop reaches every pod (ping, HTTP) and the Service ClusterIP (HTTP) through the office router and podgate's kernel routes",
  );
  const laptopChecks = await settle(() => checkLaptop(d));
  for (const c of laptopChecks) say(`   ${mark(c)}`);
  return [...results, ...pgChecks, ...officeChecks, ...returnChecks, ...laptopChecks];
}

/** `curl` from the laptop: the reply's first line, or why there is none. */
async function laptopHttp(d: Demo, url: string): Promise<{ ok: boolean; body: string }> {
  const r = await d.laptop.exec(["curl", "-sS", "-m", "3", url], { timeoutMs: 5_000 });
  if (r.code !== 0) return { ok: false, body: `curl exit ${r.code}: ${r.stderr.trim()}` };
  return { ok: true, body: r.stdout.trim() };
}

async function checkLaptop(d: Demo): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  for (const n of NODES) {
    const r = await d.laptop.exec(["ping", "-c1", "-W2", n.pod.ip]);
    out.push({
      ok: r.code === 0,
      line: `laptop (${LAPTOP_IP}) → ${n.pod.name} (${n.pod.ip}) on ${n.name}: ping`,
    });
  }
  for (const n of NODES) {
    const url = `http://${n.pod.ip}:${POD_HTTP_PORT}/`;
    const h = await laptopHttp(d, url);
    // The advertise return path keeps the laptop's own address end to end.
    const want = `hello from ${n.pod.name}, you are ${LAPTOP_IP}`;
    const ok = h.ok && h.body === want;
    out.push({
      ok,
      line: `laptop → ${n.pod.name}: HTTP ${url} answers "${ok ? want : `${want}" (got "${h.body}`}"`,
    });
  }
  // Any node may get the connection (the gateway routes the service CIDR by ECMP); each DNATs it
  // to pod2 and masquerades it, so pod2 sees that node's address.
  const url = `http://${CLUSTER_IP}/`;
  const h = await laptopHttp(d, url);
  const prefix = `hello from ${SERVICE_BACKEND.pod.name}, you are `;
  const via = h.body.startsWith(prefix) ? h.body.slice(prefix.length) : "";
  const node = NODES.find((n) => n.ip === via);
  const ok = h.ok && node !== undefined;
  out.push({
    ok,
    line: `laptop → Service ClusterIP ${CLUSTER_IP}:${CLUSTER_IP_PORT}: HTTP ${url} answers "${h.body}"${ok ? ` (DNAT on ${node!.name} → ${SERVICE_BACKEND.pod.name}:${POD_HTTP_PORT})` : ` (want "${prefix}<a node's address>")`}`,
  });
  return out;
}

async function showEverything(d: Demo): Promise<void> {
  step("6. What each side sees");
  await show("podgate's peers", `node bin/podgate.js status --socket ${PODGATE_SOCKET}`, async () => {
    const r = await podgateCli(["status", "--socket", PODGATE_SOCKET]);
    return r.stdout || r.stderr;
  });
  await show("podgate's Loc-RIB", `node bin/podgate.js routes --socket ${PODGATE_SOCKET}`, async () => {
    const r = await podgateCli(["routes", "--socket", PODGATE_SOCKET]);
    return r.stdout || r.stderr;
  });
  await show(
    "the office router's BGP table",
    `ip netns exec ${d.office.ns} vtysh --vty_socket ${d.frr.dir} -c 'show bgp ipv4 unicast'`,
    async () => (await d.frr.vtysh(["show bgp ipv4 unicast"], "bgpd")).stdout,
  );
  await show(
    "the office router's kernel: cluster routes point at the gateway",
    `ip netns exec ${d.office.ns} ip route show proto bgp`,
    () => d.office.run(["ip", "route", "show", "proto", "bgp"]),
  );
  await show(
    "node1's kernel: its own block as a blackhole, other nodes' blocks, the office via podgate",
    `ip netns exec ${d.nodeHosts[0]!.ns} ip route`,
    () => d.nodeHosts[0]!.run(["ip", "route"]),
  );
  const [p1, p2] = [NODES[0]!, NODES[1]!];
  await show(
    `pod-to-pod across nodes (${p1.pod.name} on ${p1.name} → ${p2.pod.name} on ${p2.name}), over the routes BIRD learned`,
    `ip netns exec ${d.podHosts[0]!.ns} ping -c1 -W2 ${p2.pod.ip}`,
    async () => {
      const r = await d.podHosts[0]!.exec(["ping", "-c1", "-W2", p2.pod.ip]);
      return `${r.stdout.split("\n").find((l) => l.includes("packets transmitted")) ?? r.stdout}${r.code ? " (failed)" : ""}`;
    },
  );
  await show(
    "the gateway's kernel: podgate's routes (protocol 201), the service CIDR by ECMP over every node",
    `ip netns exec ${d.gw.ns} ip route show proto 201`,
    () => d.gw.run(["ip", "route", "show", "proto", "201"]),
  );
  await show(
    `laptop → pod (${LAPTOP_IP} → ${p1.pod.ip}): office router → gateway (${GW_TRANSIT_IP}) → ${p1.name}`,
    `ip netns exec ${d.laptop.ns} ping -c1 -W2 ${p1.pod.ip}`,
    async () => {
      const r = await d.laptop.exec(["ping", "-c1", "-W2", p1.pod.ip]);
      return `${r.stdout.split("\n").find((l) => l.includes("packets transmitted")) ?? r.stdout}${r.code ? " (failed)" : ""}`;
    },
  );
  const p3 = NODES[2]!;
  await show(
    `laptop → pod by HTTP (${p3.pod.name}'s server on :${POD_HTTP_PORT}; it sees the laptop's own address)`,
    `ip netns exec ${d.laptop.ns} curl -s -m 3 http://${p3.pod.ip}:${POD_HTTP_PORT}/`,
    async () => (await laptopHttp(d, `http://${p3.pod.ip}:${POD_HTTP_PORT}/`)).body,
  );
  await show(
    `laptop → Service ClusterIP by HTTP: a node DNATs ${CLUSTER_IP}:${CLUSTER_IP_PORT} to ${SERVICE_BACKEND.pod.name} and masquerades (like kube-proxy)`,
    `ip netns exec ${d.laptop.ns} curl -s -m 3 http://${CLUSTER_IP}/`,
    async () => (await laptopHttp(d, `http://${CLUSTER_IP}/`)).body,
  );
}

function tryThese(d: Demo): void {
  const curl = `ip netns exec ${d.laptop.ns} curl -s`;
  const n2 = 1;
  step("Try these (in another shell, as root)");
  say(`   node bin/podgate.js status --socket ${PODGATE_SOCKET}
   node bin/podgate.js routes --socket ${PODGATE_SOCKET} --prefix ${NODES[n2]!.blocks[1]}
   node bin/podgate.js routes --socket ${PODGATE_SOCKET} --json
   node bin/podgate.js reset ${OFFICE_TRANSIT_IP} --socket ${PODGATE_SOCKET} --message "demo reset"
   ip netns exec ${d.office.ns} vtysh --vty_socket ${d.frr.dir} -c 'show bgp summary'
   ip netns exec ${d.office.ns} vtysh --vty_socket ${d.frr.dir} -c 'show bgp ipv4 unicast ${NODES[n2]!.blocks[0]}'
   ip netns exec ${d.nodeHosts[n2]!.ns} birdc -s ${d.birds[n2]!.socket} show protocols
   ip netns exec ${d.nodeHosts[n2]!.ns} birdc -s ${d.birds[n2]!.socket} show route
   ip netns exec ${d.podHosts[0]!.ns} ping -c3 ${NODES[2]!.pod.ip}
   ${curl} http://${NODES[0]!.pod.ip}:${POD_HTTP_PORT}/   # a pod, by HTTP
   ${curl} http://${CLUSTER_IP}/        # the Service ClusterIP (DNAT on a node → ${SERVICE_BACKEND.pod.name})
   ip netns exec ${d.nodeHosts[n2]!.ns} nft list table ip pgdemo-svc   # the ClusterIP's DNAT, with counters
   ip netns exec ${d.gw.ns} tcpdump -ni eth0 tcp port 179
   tail -f ${PODGATE_LOG}        # podgate's JSON log; config in ${PODGATE_CONFIG}

   Stop: Ctrl-C here, or \`npm run demo -- down\` from any shell.`);
}

// ---------------------------------------------------------------------------------------------

const USAGE = `usage: npm run demo [-- --check | -- down]
  (none)    build the lab, show podgate between the cluster and the office router, stay up until Ctrl-C
  --check   build, verify, print PASS or FAIL, tear down; exit 0 on PASS, 1 on FAIL
  down      remove every namespace, process and file a demo left (also a demo running elsewhere)`;

async function main(argv: string[]): Promise<number> {
  const arg = argv[0];
  if (arg === "down") return down();
  if (arg === "-h" || arg === "--help") {
    say(USAGE);
    return 0;
  }
  if (arg !== undefined && arg !== "--check") {
    process.stderr.write(`demo: unknown argument '${arg}'\n${USAGE}\n`);
    return 2;
  }
  const checkOnly = arg === "--check";
  if (process.getuid?.() !== 0) {
    process.stderr.write("demo: needs root (it creates network namespaces)\n");
    return 1;
  }
  const other = runningDemoPid();
  if (other !== undefined) {
    process.stderr.write(
      `demo: a demo is already running (pid ${other}); stop it first: npm run demo -- down\n`,
    );
    return 1;
  }
  const leftovers = await removeEverything();
  if (leftovers.length) {
    const ns = leftovers.filter((l) => l.startsWith("removed namespace")).length;
    say(`demo: cleaned up after an earlier demo (${ns} namespaces); \`npm run demo -- down\` does only that`);
  }

  say(
    `podgate demo: 3 Calico-like nodes (BIRD, AS ${CLUSTER_AS}) ── podgate gateway ── office router (FRR, AS ${OFFICE_AS}) ── laptop`,
  );
  say("Everything lives in network namespaces pgdemo-*; files in /run/podgate-demo. See docs/demo.md.");

  // Signals: ours (registered first) announce the cleanup; the lab's own hooks then kill every
  // process and delete the namespaces synchronously; the last one confirms, then the signal ends us.
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(sig, () => {
      stopping = true;
      say(`\ndemo: ${sig}: removing namespaces, processes and ${DEMO_DIR} ...`);
    });
  }
  const lab = new DemoLab();
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(sig, () => {
      const left = demoNamespaces();
      say(
        left.length
          ? `demo: still present: ${left.join(" ")} (run: npm run demo -- down)`
          : "demo: removed everything.",
      );
      // Exit ourselves: while this listener was registered the lab's re-raised signal was caught.
      process.exit(128 + (osConstants.signals[sig] ?? 1));
    });
  }
  writeFileSync(DEMO_PID_FILE, `${process.pid}\n`);

  let demo: Demo | undefined;
  try {
    demo = await build(lab);
    const results = await verify(demo);
    const failed = results.filter((c) => !c.ok);
    if (checkOnly) {
      if (failed.length > 0) say(`\n${await routeDiagnostics(demo)}`);
      say(
        `\n${failed.length === 0 ? "PASS" : "FAIL"}: ${results.length - failed.length}/${results.length} checks passed  [${elapsed()}]`,
      );
      await lab.teardown();
      say("demo: torn down.");
      return failed.length === 0 ? 0 : 1;
    }
    await showEverything(demo);
    if (failed.length > 0) {
      say(`\nWARNING: ${failed.length} check(s) failed (marked FAIL above). Diagnostics:`);
      say(await routeDiagnostics(demo));
    }
    tryThese(demo);
    say(`\nDemo is up  [${elapsed()}]. Ctrl-C to stop and remove everything.`);
    const pg = demo.podgate;
    void pg?.exited.then((code) => {
      if (stopping) return;
      say(`\ndemo: podgate exited (${code}) while the demo was up; last log lines:\n${tail(pg.log())}`);
    });
    // Stay up until a signal arrives (the hooks above clean up and end the process).
    await new Promise<never>(() => setInterval(() => {}, 1 << 30));
    return 0;
  } catch (e) {
    const msg = e instanceof DemoError ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e);
    say(`\n${checkOnly ? "FAIL" : "demo failed"}: ${msg}`);
    await lab.teardown();
    say("demo: torn down.");
    return 1;
  }
}

// Exit explicitly: a finished check must not wait for stray handles.
process.exit(await main(process.argv.slice(2)));
