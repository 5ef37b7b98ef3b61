/**
 * The real daemon (`node bin/podgate.js run`) under a stand-in for systemd's notification
 * socket (python3 AF_UNIX receiver, notify-receiver.ts): READY=1 from the daemon's own PID once
 * its peers synced (none; one real BGP peer on loopback that sends its table; one that never
 * answers, where the converge timeout decides), RELOADING=1 … READY=1 around SIGHUP, WATCHDOG=1
 * pings, STOPPING=1 on SIGTERM. No kernel state is touched (dataplane disabled); daemons,
 * receivers and sockets are removed in afterAll and on exit.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Speaker } from "../../../src/bgp/speaker.ts";
import { parseConfig } from "../../../src/config/load.ts";
import { silentLogger } from "../../../src/core/log.ts";
import { missingPrereqs } from "../../helpers/prereq.ts";
import { type Datagram, type Receiver, startReceiver } from "./notify-receiver.ts";

const BIN = new URL("../../../bin/podgate.js", import.meta.url).pathname;
const ADDON = new URL("../../../native/tcpsock/build/Release/tcpsock.node", import.meta.url).pathname;
const skip = missingPrereqs({
  commands: ["python3"],
  checks: [() => (existsSync(ADDON) ? undefined : "needs native/tcpsock built (npm run build:addon)")],
});

// Loopback addresses no other suite uses; the port differs per run so parallel runs don't clash.
const DAEMON_ADDR = "127.0.3.1";
const PEER_ADDR = "127.0.3.2";
const PEER_PORT = 20_000 + (process.pid % 20_000);

const tmp = mkdtempSync(join(tmpdir(), `podgate-sdnotify-daemon-${process.pid}-`));
const daemons: ChildProcess[] = [];
const receivers: Receiver[] = [];
const speakers: Speaker[] = [];
const cleanup = () => {
  for (const d of daemons.splice(0)) if (d.exitCode === null && d.signalCode === null) d.kill("SIGKILL");
  for (const r of receivers.splice(0)) r.close();
  rmSync(tmp, { recursive: true, force: true });
};
afterAll(async () => {
  await Promise.all(speakers.splice(0).map((s) => s.stop("test over")));
  cleanup();
});
process.on("exit", cleanup);

interface Daemon {
  proc: ChildProcess;
  apiSocket: string;
  exited: Promise<number | null>;
  output: () => string;
}

function startDaemon(name: string, env: Record<string, string>, yaml: string[]): Daemon {
  const apiSocket = join(tmp, `${name}-api.sock`);
  const cfg = join(tmp, `${name}.yaml`);
  writeFileSync(
    cfg,
    [
      `routerId: ${DAEMON_ADDR}`,
      "asn: 64512",
      "listen: { enabled: false }",
      `api: { socket: ${apiSocket} }`,
      "metrics: { enabled: false }",
      "log: { level: info }",
      ...yaml,
    ].join("\n"),
  );
  // The daemon must not inherit a real manager's socket or watchdog from whoever runs the tests.
  const base = { ...process.env };
  for (const k of ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "PODGATE_LOG_LEVEL"]) delete base[k];
  const proc = spawn(process.execPath, [BIN, "run", "--config", cfg], {
    env: { ...base, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  daemons.push(proc);
  let out = "";
  proc.stdout?.on("data", (b: Buffer) => {
    out += b.toString();
  });
  proc.stderr?.on("data", (b: Buffer) => {
    out += b.toString();
  });
  const exited = new Promise<number | null>((res) => proc.on("exit", (code) => res(code)));
  return { proc, apiSocket, exited, output: () => out };
}

async function receiver(address: string): Promise<Receiver> {
  const r = await startReceiver(address);
  receivers.push(r);
  return r;
}

/** GET /v1/status over the daemon's unix socket: the control API answers. */
function apiStatus(socketPath: string): Promise<{ peers: unknown[] }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ socketPath, path: "/v1/status" }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => {
        body += c.toString();
      });
      res.on("end", () => {
        try {
          resolve(JSON.parse(body) as { peers: unknown[] });
        } catch (e) {
          reject(e);
        }
      });
    });
    req.on("error", reject);
  });
}

/** Rethrows a wait's error with the daemon's exit state and output. */
const dump =
  (d: Daemon) =>
  (e: Error): never => {
    throw new Error(
      `${e.message}\ndaemon exit ${d.proc.exitCode} signal ${d.proc.signalCode}\ndaemon output:\n${d.output()}`,
    );
  };

const isReady = (d: Datagram) => d.vars.get("READY") === "1";
const firstLines = (r: Receiver) =>
  r.received.filter((d) => d.text !== "WATCHDOG=1").map((d) => d.text.split("\n")[0]);

describe.skipIf(!!skip)("podgate run under NOTIFY_SOCKET", () => {
  it("without peers: READY=1 from the daemon's PID, RELOADING/READY on SIGHUP, watchdog pings, STOPPING=1 on SIGTERM (abstract socket)", async () => {
    const r = await receiver(`@podgate-daemon-${process.pid}-${Date.now()}`);
    const d = startDaemon("nopeers", { NOTIFY_SOCKET: r.address, WATCHDOG_USEC: "400000" }, ["peers: []"]);
    const ready = await r.waitFor(isReady, "READY=1", 20_000).catch(dump(d));
    expect(ready.pid).toBe(d.proc.pid);
    expect(ready.vars.get("STATUS")).toBe("0/0 peers established, 0 routes accepted");
    // Ready means serving: the control API answers.
    expect((await apiStatus(d.apiSocket)).peers).toEqual([]);

    d.proc.kill("SIGHUP");
    const reloading = await r.waitFor((x) => x.vars.get("RELOADING") === "1", "RELOADING=1");
    expect(reloading.pid).toBe(d.proc.pid);
    expect(BigInt(reloading.vars.get("MONOTONIC_USEC") ?? "0") <= reloading.monoUsec).toBe(true);
    expect(BigInt(reloading.vars.get("MONOTONIC_USEC") ?? "0") > reloading.monoUsec - 5_000_000n).toBe(true);
    await r.waitFor((x) => isReady(x) && x !== ready, "the READY=1 after the reload");

    // WATCHDOG_USEC 0.4 s: a ping every 0.2 s, from the daemon.
    await r.waitFor(() => r.received.filter((y) => y.text === "WATCHDOG=1").length >= 3, "three pings");
    expect(new Set(r.received.map((x) => x.pid))).toEqual(new Set([d.proc.pid]));

    d.proc.kill("SIGTERM");
    const stopping = await r.waitFor((x) => x.vars.get("STOPPING") === "1", "STOPPING=1").catch(dump(d));
    expect(stopping.pid).toBe(d.proc.pid);
    expect(await d.exited).toBe(0);
    expect(firstLines(r)).toEqual(["READY=1", "RELOADING=1", "READY=1", "STOPPING=1"]);
  });

  it("with a BGP peer on loopback: READY=1 only after the peer's table arrived", async () => {
    // The peer: a speaker in this process, passive, originating one prefix.
    const peer = new Speaker({
      config: parseConfig(
        [
          `routerId: ${PEER_ADDR}`,
          "asn: 65010",
          `listen: { address: ${PEER_ADDR}, port: ${PEER_PORT} }`,
          "peers:",
          `  - { address: ${DAEMON_ADDR}, asn: 64512, passive: true, import: accept-all, export: accept-all }`,
          "originate:",
          "  - prefix: 10.244.7.0/24",
        ].join("\n"),
        "peer.yaml",
      ),
      log: silentLogger,
    });
    speakers.push(peer);
    await peer.start();
    const r = await receiver(join(tmp, "peer-notify.sock"));
    const d = startDaemon("onepeer", { NOTIFY_SOCKET: r.address }, [
      // A converge timeout far beyond the test's wait: only the End-of-RIB can make it ready.
      "dataplane: { enabled: false, convergeTimeout: 600 }",
      "defaults: { connectRetryTime: 1 }",
      "peers:",
      `  - { address: ${PEER_ADDR}, port: ${PEER_PORT}, localAddress: ${DAEMON_ADDR}, asn: 65010, import: accept-all }`,
    ]);
    const ready = await r.waitFor(isReady, "READY=1", 20_000).catch(dump(d));
    expect(ready.pid).toBe(d.proc.pid);
    expect(ready.vars.get("STATUS")).toBe("1/1 peers established, 1 routes accepted");
    const ext = r.received.find((x) => x.vars.has("EXTEND_TIMEOUT_USEC"));
    // Started before the peer synced (usual) or after it (then no extension is needed).
    if (ext) expect(ext.vars.get("EXTEND_TIMEOUT_USEC")).toBe(String(630 * 1_000_000));
    d.proc.kill("SIGTERM");
    await r.waitFor((x) => x.vars.get("STOPPING") === "1", "STOPPING=1").catch(dump(d));
    expect(await d.exited).toBe(0);
  });

  it("with a peer that never answers: EXTEND_TIMEOUT_USEC first, READY=1 after the converge timeout", async () => {
    const r = await receiver(join(tmp, "silent-notify.sock"));
    const d = startDaemon("silent", { NOTIFY_SOCKET: r.address }, [
      "dataplane: { enabled: false, convergeTimeout: 2 }",
      "peers:",
      // Passive toward a documentation address with listening disabled: no packet leaves.
      "  - { address: 192.0.2.1, asn: 65010, passive: true }",
    ]);
    const ext = await r
      .waitFor((x) => x.vars.has("EXTEND_TIMEOUT_USEC"), "EXTEND_TIMEOUT_USEC", 20_000)
      .catch(dump(d));
    expect(ext.vars.get("EXTEND_TIMEOUT_USEC")).toBe(String(32 * 1_000_000));
    expect(ext.vars.get("STATUS")).toMatch(/^waiting for End-of-RIB from the peers: 0\/1 peers established/);
    const ready = await r.waitFor(isReady, "READY=1", 10_000);
    // The converge timer starts before the API; READY=1 comes no earlier than ~2 s after start.
    expect(ready.monoUsec - ext.monoUsec).toBeGreaterThan(1_000_000n);
    expect(ready.vars.get("STATUS")).toBe("0/1 peers established, 0 routes accepted");
    d.proc.kill("SIGTERM");
    await r.waitFor((x) => x.vars.get("STOPPING") === "1", "STOPPING=1").catch(dump(d));
    expect(await d.exited).toBe(0);
    expect(firstLines(r)).toEqual(["EXTEND_TIMEOUT_USEC=32000000", "READY=1", "STOPPING=1"]);
  });

  it("without NOTIFY_SOCKET runs and stops as before (nothing is sent anywhere)", async () => {
    const d = startDaemon("plain", {}, ["peers: []"]);
    for (let i = 0; i < 200 && !existsSync(d.apiSocket); i++) await new Promise((res) => setTimeout(res, 50));
    expect((await apiStatus(d.apiSocket)).peers).toEqual([]);
    d.proc.kill("SIGTERM");
    expect(await d.exited).toBe(0);
    expect(d.output()).not.toMatch(/sd_notify failed/);
  });
});
