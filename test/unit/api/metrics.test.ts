/**
 * Metrics server over real HTTP on 127.0.0.1: the scrape text is parsed and each podgate_*
 * sample checked against a fake daemon view (the seam the daemon fills from its status()).
 */
import { afterEach, describe, expect, it } from "vitest";
import {
  createMetrics,
  type MetricsView,
  parseListenAddress,
  startMetricsServer,
} from "../../../src/api/metrics.ts";
import type { PeerStatus, StatusJson } from "../../../src/api/types.ts";

function peer(p: Partial<PeerStatus> & Pick<PeerStatus, "address" | "state">): PeerStatus {
  return {
    asn: 64512,
    name: p.address,
    role: "cluster",
    since: "2026-01-01T00:00:00Z",
    info: "",
    prefixesReceived: 0,
    prefixesAccepted: 0,
    prefixesAdvertised: 0,
    updatesReceived: 0,
    updatesSent: 0,
    ...p,
  };
}

class FakeView implements MetricsView {
  isReady = false;
  statusCalls = 0;
  st: StatusJson = {
    routerId: "192.0.2.1",
    asn: 64512,
    version: "test",
    startedAt: "2026-01-01T00:00:00Z",
    peers: [
      peer({
        address: "192.0.2.11",
        name: "node1",
        state: "Established",
        prefixesReceived: 12,
        prefixesAccepted: 10,
        prefixesAdvertised: 3,
        updatesReceived: 40,
        updatesSent: 7,
      }),
      peer({ address: "192.0.2.12", name: "node2", state: "Active" }),
      peer({
        address: "198.51.100.1",
        name: "office",
        role: "office",
        state: "Established",
        prefixesAdvertised: 5,
      }),
    ],
    eventLoopLagP99Ms: 12.5,
    dataplane: {
      phase: "converged",
      installed: 42,
      desired: 44,
      failed: 2,
      adopted: 0,
      staleRemoved: 0,
      conflicts: 1,
      errors: 9,
      lastSync: { ops: 3, ms: 250, at: 1_700_000_000_000 },
    },
    kubernetes: { connected: true, synced: true, lastEventAt: 1, lastEventAgeMs: 1500, resources: [] },
  };
  status(): StatusJson {
    this.statusCalls++;
    return this.st;
  }
  ready(): boolean {
    return this.isReady;
  }
}

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text exposition format (enough for prom-client's output). */
function parse(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparsable metrics line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const hits = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  if (hits.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} matches ${hits.length} samples`);
  return hits[0]?.value;
}

const servers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(view: MetricsView) {
  const s = await startMetricsServer({ address: "127.0.0.1:0" }, view);
  servers.push(s);
  return s;
}

async function scrape(address: string): Promise<Sample[]> {
  const res = await fetch(`http://${address}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("text/plain");
  return parse(await res.text());
}

describe("metrics server", () => {
  it("exports podgate_* values read from status() at scrape time", async () => {
    const view = new FakeView();
    const s = await start(view);
    expect(s.address).toMatch(/^127\.0\.0\.1:\d+$/);
    const m = await scrape(s.address);

    expect(value(m, "podgate_bgp_peers", { state: "Established" })).toBe(2);
    expect(value(m, "podgate_bgp_peers", { state: "Active" })).toBe(1);
    expect(value(m, "podgate_bgp_peers", { state: "Idle" })).toBe(0);
    expect(m.filter((x) => x.name === "podgate_bgp_peers")).toHaveLength(6);

    expect(value(m, "podgate_bgp_peer_up", { peer: "192.0.2.11", role: "cluster", name: "node1" })).toBe(1);
    expect(value(m, "podgate_bgp_peer_up", { peer: "192.0.2.12" })).toBe(0);
    expect(value(m, "podgate_bgp_peer_up", { peer: "198.51.100.1", role: "office" })).toBe(1);

    expect(value(m, "podgate_bgp_prefixes", { peer: "192.0.2.11", kind: "received" })).toBe(12);
    expect(value(m, "podgate_bgp_prefixes", { peer: "192.0.2.11", kind: "accepted" })).toBe(10);
    expect(value(m, "podgate_bgp_prefixes", { peer: "192.0.2.11", kind: "advertised" })).toBe(3);
    expect(value(m, "podgate_bgp_prefixes", { peer: "198.51.100.1", kind: "advertised" })).toBe(5);

    expect(value(m, "podgate_bgp_updates_total", { peer: "192.0.2.11", direction: "received" })).toBe(40);
    expect(value(m, "podgate_bgp_updates_total", { peer: "192.0.2.11", direction: "sent" })).toBe(7);

    expect(value(m, "podgate_kernel_routes_installed")).toBe(42);
    expect(value(m, "podgate_kernel_routes_failed")).toBe(2);
    expect(value(m, "podgate_kernel_sync_errors_total")).toBe(9);
    expect(value(m, "podgate_kernel_last_sync_seconds")).toBe(0.25);
    expect(value(m, "podgate_kernel_last_sync_timestamp_seconds")).toBe(1_700_000_000);
    expect(value(m, "podgate_kubernetes_connected")).toBe(1);
    expect(value(m, "podgate_kubernetes_last_event_age_seconds")).toBe(1.5);
    expect(value(m, "podgate_event_loop_lag_p99_seconds")).toBe(0.0125);
    expect(value(m, "podgate_ready")).toBe(0);
    // Peers without transition counts in their status: no series rather than a made-up 0.
    expect(m.some((x) => x.name === "podgate_bgp_session_state_changes_total")).toBe(false);
    expect(m.some((x) => x.name === "podgate_bgp_session_established_transitions_total")).toBe(false);

    // prom-client's default process metrics are there too.
    expect(value(m, "process_resident_memory_bytes")).toBeGreaterThan(0);
    expect(m.some((x) => x.name.startsWith("nodejs_"))).toBe(true);
  });

  it("reads status once per scrape and follows changes between scrapes", async () => {
    const view = new FakeView();
    const s = await start(view);
    await scrape(s.address);
    expect(view.statusCalls).toBe(1);

    const [first, , third] = view.st.peers;
    view.st = {
      ...view.st,
      peers: [
        {
          ...first!,
          state: "Idle",
          updatesReceived: 41,
          stateTransitions: [{ from: "Established", to: "Idle", count: 3 }],
          establishedTransitions: 4,
        } as PeerStatus,
        { ...third!, state: "Established" },
      ],
      kubernetes: { connected: false, lastEventAgeMs: 90_000 },
    };
    const m = await scrape(s.address);
    expect(view.statusCalls).toBe(2);
    expect(value(m, "podgate_bgp_peer_up", { peer: "192.0.2.11" })).toBe(0);
    expect(value(m, "podgate_bgp_peers", { state: "Idle" })).toBe(1);
    expect(value(m, "podgate_bgp_updates_total", { peer: "192.0.2.11", direction: "received" })).toBe(41);
    expect(
      value(m, "podgate_bgp_session_state_changes_total", {
        peer: "192.0.2.11",
        role: "cluster",
        from: "Established",
        to: "Idle",
      }),
    ).toBe(3);
    expect(value(m, "podgate_bgp_session_established_transitions_total", { peer: "192.0.2.11" })).toBe(4);
    // A removed peer's series go away instead of freezing at their last value.
    expect(m.some((x) => x.labels.peer === "192.0.2.12")).toBe(false);
    expect(value(m, "podgate_kubernetes_connected")).toBe(0);
    expect(value(m, "podgate_kubernetes_last_event_age_seconds")).toBe(90);
  });

  it("leaves dataplane and kubernetes series out when those components are off", async () => {
    const view = new FakeView();
    const { dataplane: _d, kubernetes: _k, eventLoopLagP99Ms: _l, ...rest } = view.st;
    view.st = rest;
    const m = parse(await createMetrics(view, { defaultMetrics: false }).metrics());
    for (const name of [
      "podgate_kernel_routes_installed",
      "podgate_kernel_sync_errors_total",
      "podgate_kernel_last_sync_seconds",
      "podgate_kubernetes_connected",
      "podgate_kubernetes_last_event_age_seconds",
      "podgate_event_loop_lag_p99_seconds",
    ]) {
      expect(
        m.some((x) => x.name === name),
        name,
      ).toBe(false);
    }
    expect(value(m, "podgate_bgp_peers", { state: "Established" })).toBe(2);
  });

  it("exports WireGuard peers (up, handshake age, bytes) and the ipip device; absent when not configured", async () => {
    const view = new FakeView();
    const KEY = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";
    const none = parse(await createMetrics(view, { defaultMetrics: false }).metrics());
    expect(none.some((x) => x.name.startsWith("podgate_wireguard_") || x.name === "podgate_ipip_up")).toBe(
      false,
    );
    view.st = {
      ...view.st,
      tunnels: [
        {
          name: "wg-cloud",
          implementation: "userspace",
          addresses: ["10.200.0.1/30"],
          peers: [
            {
              publicKey: KEY,
              allowedIPs: [],
              handshakeAgeSeconds: 12,
              rxBytes: 1000,
              txBytes: 2000,
              state: "up",
            },
            { publicKey: "other", allowedIPs: [], rxBytes: 0, txBytes: 5, state: "down" },
          ],
        },
      ],
      ipip: { name: "pgipip0", up: true, created: true },
    } as StatusJson;
    const m = parse(await createMetrics(view, { defaultMetrics: false }).metrics());
    const l = { interface: "wg-cloud", peer: KEY };
    expect(value(m, "podgate_wireguard_peer_up", l)).toBe(1);
    expect(value(m, "podgate_wireguard_peer_up", { interface: "wg-cloud", peer: "other" })).toBe(0);
    expect(value(m, "podgate_wireguard_peer_last_handshake_seconds", l)).toBe(12);
    // never handshaken: no age series rather than a misleading 0
    expect(
      value(m, "podgate_wireguard_peer_last_handshake_seconds", { interface: "wg-cloud", peer: "other" }),
    ).toBeUndefined();
    expect(value(m, "podgate_wireguard_peer_bytes_total", { ...l, direction: "received" })).toBe(1000);
    expect(value(m, "podgate_wireguard_peer_bytes_total", { ...l, direction: "sent" })).toBe(2000);
    expect(value(m, "podgate_ipip_up", { interface: "pgipip0" })).toBe(1);
  });

  it("/healthz is 200 while running; /readyz follows ready()", async () => {
    const view = new FakeView();
    const s = await start(view);
    expect((await fetch(`http://${s.address}/healthz`)).status).toBe(200);
    expect((await fetch(`http://${s.address}/readyz`)).status).toBe(503);
    view.isReady = true;
    expect((await fetch(`http://${s.address}/readyz`)).status).toBe(200);
    const m = await scrape(s.address);
    expect(value(m, "podgate_ready")).toBe(1);
    expect((await fetch(`http://${s.address}/nope`)).status).toBe(404);
    expect((await fetch(`http://${s.address}/metrics`, { method: "POST" })).status).toBe(405);
  });

  it("answers 500 (and stays up) when status() throws", async () => {
    const view = new FakeView();
    view.status = () => {
      throw new Error("boom");
    };
    const s = await start(view);
    expect((await fetch(`http://${s.address}/metrics`)).status).toBe(500);
    expect((await fetch(`http://${s.address}/healthz`)).status).toBe(200);
  });

  it("listens on ::1 when asked", async () => {
    const s = await startMetricsServer({ address: "[::1]:0" }, new FakeView()).catch((e: unknown) => e);
    if (s instanceof Error && /EADDRNOTAVAIL|EAFNOSUPPORT/.test(String((s as NodeJS.ErrnoException).code)))
      return;
    if (s instanceof Error) throw s;
    const srv = s as Awaited<ReturnType<typeof startMetricsServer>>;
    servers.push(srv);
    expect(srv.address).toMatch(/^\[::1\]:\d+$/);
    expect((await fetch(`http://${srv.address}/healthz`)).status).toBe(200);
  });

  it("refuses non-loopback addresses unless allowed, and bad addresses", async () => {
    await expect(startMetricsServer({ address: "0.0.0.0:0" }, new FakeView())).rejects.toThrow(
      /not loopback/,
    );
    await expect(startMetricsServer({ address: "[::]:0" }, new FakeView())).rejects.toThrow(/not loopback/);
    await expect(startMetricsServer({ address: "192.0.2.1:9179" }, new FakeView())).rejects.toThrow(
      /not loopback/,
    );
    const s = await startMetricsServer({ address: "0.0.0.0:0", allowNonLoopback: true }, new FakeView());
    servers.push(s);
    const port = s.address.split(":")[1];
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);

    expect(() => parseListenAddress("9179")).toThrow(/host:port/);
    expect(() => parseListenAddress("example.com:9179")).toThrow(/IP address/);
    expect(() => parseListenAddress("127.0.0.1:70000")).toThrow(/host:port/);
    expect(parseListenAddress("localhost:9179")).toEqual({ host: "127.0.0.1", port: 9179 });
    expect(parseListenAddress("[::1]:9179")).toEqual({ host: "::1", port: 9179 });
  });

  it("fails to start when the port is taken", async () => {
    const a = await start(new FakeView());
    await expect(startMetricsServer({ address: a.address }, new FakeView())).rejects.toThrow(/EADDRINUSE/);
  });
});
