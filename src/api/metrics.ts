/**
 * Opt-in Prometheus endpoint: GET /metrics, GET /healthz, GET /readyz on a small HTTP server,
 * loopback only unless the operator explicitly allows more (the metrics name every peer).
 *
 * Every podgate_* value is read from the daemon's status() at scrape time by collectors:
 * nothing is counted in the hot paths, so a daemon that is never scraped pays nothing, and
 * the numbers are exactly the ones `podgate status --json` shows.
 */
import http from "node:http";
import { isIP } from "node:net";
import { Counter, collectDefaultMetrics, Gauge, Registry } from "prom-client";
import type { Logger } from "../core/log.ts";
import type { FsmStateName } from "./state-names.ts";
import type { PeerStatus, StatusJson } from "./types.ts";

/** What the metrics server needs from the daemon. */
export interface MetricsView {
  status(): StatusJson;
  /** Readiness as the daemon defines it (API up and initial sync done or timed out). */
  ready(): boolean;
}

export interface MetricsServerOptions {
  /** host:port, e.g. "127.0.0.1:9179" (the default) or "[::1]:9179"; port 0 picks one. */
  readonly address?: string;
  /** Listen on a non-loopback address (the page names peers and prefixes counts). */
  readonly allowNonLoopback?: boolean;
  readonly log?: Logger;
}

export interface MetricsServer {
  /** The bound address as host:port (IPv6 in brackets). */
  readonly address: string;
  close(): Promise<void>;
}

export const DEFAULT_METRICS_ADDRESS = "127.0.0.1:9179";

/** status.tunnels (TunnelStatus in src/dataplane/tunnels.ts), read defensively. */
interface TunnelPeerView {
  readonly publicKey?: unknown;
  readonly state?: unknown;
  readonly handshakeAgeSeconds?: unknown;
  readonly rxBytes?: unknown;
  readonly txBytes?: unknown;
}
interface TunnelView {
  readonly name?: unknown;
  readonly peers?: readonly TunnelPeerView[];
}

/** RFC 4271 §8.2.2 states, all exported so a state's series exists even at 0. */
const FSM_STATES: readonly FsmStateName[] = [
  "Idle",
  "Connect",
  "Active",
  "OpenSent",
  "OpenConfirm",
  "Established",
];

/** The fields of KernelSyncStatus (src/dataplane/sync.ts) the metrics read; status has it as unknown. */
interface KernelView {
  readonly installed?: number;
  readonly desired?: number;
  readonly failed?: number;
  readonly conflicts?: number;
  readonly errors?: number;
  readonly lastSync?: { readonly ms?: number; readonly at?: number };
}

/** The fields of DiscoveryStatus (src/discovery/kube.ts) the metrics read. */
interface KubeView {
  readonly connected?: boolean;
  readonly synced?: boolean;
  readonly lastEventAgeMs?: number;
}

function asObject<T>(v: unknown): T | undefined {
  return typeof v === "object" && v !== null ? (v as T) : undefined;
}

function num(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

export interface PodgateMetrics {
  readonly registry: Registry;
  readonly contentType: string;
  /** One scrape in the Prometheus text format; status() is read once for all collectors. */
  metrics(): Promise<string>;
}

/**
 * A registry with podgate's collectors and prom-client's default process metrics.
 * Each call makes an independent registry (tests run several side by side).
 */
export function createMetrics(view: MetricsView, opts: { defaultMetrics?: boolean } = {}): PodgateMetrics {
  const registry = new Registry();
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry });

  // One status() snapshot per scrape shared by every collector (status() walks all peers);
  // a collector run outside metrics() (registry used directly) reads a fresh one.
  let snapshot: StatusJson | undefined;
  const status = (): StatusJson => snapshot ?? view.status();
  const peers = (): readonly PeerStatus[] => status().peers;
  const kernel = (): KernelView | undefined => asObject<KernelView>(status().dataplane);
  const kube = (): KubeView | undefined => asObject<KubeView>(status().kubernetes);

  new Gauge({
    name: "podgate_ready",
    help: "1 when the daemon is ready (same as /readyz answering 200).",
    registers: [registry],
    collect() {
      this.set(view.ready() ? 1 : 0);
    },
  });

  new Gauge({
    name: "podgate_bgp_peers",
    help: "Configured BGP peers by session state (RFC 4271 FSM).",
    labelNames: ["state"],
    registers: [registry],
    collect() {
      this.reset();
      const counts = new Map<string, number>(FSM_STATES.map((s) => [s, 0]));
      for (const p of peers()) counts.set(p.state, (counts.get(p.state) ?? 0) + 1);
      for (const [state, n] of counts) this.set({ state }, n);
    },
  });

  new Gauge({
    name: "podgate_bgp_peer_up",
    help: "1 when the BGP session with the peer is Established.",
    labelNames: ["peer", "name", "role"],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of peers()) {
        this.set({ peer: p.address, name: p.name, role: p.role }, p.state === "Established" ? 1 : 0);
      }
    },
  });

  new Gauge({
    name: "podgate_bgp_prefixes",
    help: "Prefixes per peer: received (Adj-RIB-In), accepted by import policy, advertised (Adj-RIB-Out).",
    labelNames: ["peer", "kind"],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of peers()) {
        this.set({ peer: p.address, kind: "received" }, p.prefixesReceived);
        this.set({ peer: p.address, kind: "accepted" }, p.prefixesAccepted);
        this.set({ peer: p.address, kind: "advertised" }, p.prefixesAdvertised);
      }
    },
  });

  // Counters mirrored from status: reset and re-filled each scrape, so a removed peer's
  // series disappears instead of freezing at its last value.
  new Counter({
    name: "podgate_bgp_updates_total",
    help: "BGP UPDATE messages per peer and direction since the daemon started.",
    labelNames: ["peer", "direction"],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of peers()) {
        this.inc({ peer: p.address, direction: "received" }, Math.max(0, p.updatesReceived));
        this.inc({ peer: p.address, direction: "sent" }, Math.max(0, p.updatesSent));
      }
    },
  });

  // Session flaps. Labels from/to: only pairs that occurred have a series, and the RFC 4271 FSM
  // allows few of them (about a dozen per peer in practice), so cardinality stays per peer.
  new Counter({
    name: "podgate_bgp_session_state_changes_total",
    help: "BGP session FSM state changes per peer, by old and new state, since the daemon started.",
    labelNames: ["peer", "role", "from", "to"],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of peers()) {
        for (const t of p.stateTransitions ?? []) {
          const n = num(t.count);
          if (n !== undefined)
            this.inc({ peer: p.address, role: p.role, from: t.from, to: t.to }, Math.max(0, n));
        }
      }
    },
  });

  new Counter({
    name: "podgate_bgp_session_established_transitions_total",
    help: "Times the BGP session with the peer reached Established (BGP4-MIB bgpPeerFsmEstablishedTransitions).",
    labelNames: ["peer"],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of peers()) {
        const n = num(p.establishedTransitions);
        if (n !== undefined) this.inc({ peer: p.address }, Math.max(0, n));
      }
    },
  });

  // Dataplane and Kubernetes: when the daemon runs without them their series are absent (not
  // a misleading 0), so alerts can tell "off" from "broken".
  const kernelGauge = (name: string, help: string, read: (k: KernelView) => number | undefined) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        const k = kernel();
        const v = k ? read(k) : undefined;
        if (v === undefined)
          this.remove({}); // reset() left a 0 for a label-less gauge
        else this.set(v);
      },
    });
  kernelGauge("podgate_kernel_routes_installed", "Routes podgate has in the kernel.", (k) =>
    num(k.installed),
  );
  kernelGauge("podgate_kernel_routes_desired", "Routes podgate wants in the kernel.", (k) => num(k.desired));
  kernelGauge("podgate_kernel_routes_failed", "Desired routes the kernel refused (retried).", (k) =>
    num(k.failed),
  );
  kernelGauge(
    "podgate_kernel_route_conflicts",
    "Desired routes held back by another protocol's route.",
    (k) => num(k.conflicts),
  );
  kernelGauge("podgate_kernel_last_sync_seconds", "Duration of the last kernel sync.", (k) => {
    const ms = num(k.lastSync?.ms);
    return ms === undefined ? undefined : ms / 1000;
  });
  kernelGauge("podgate_kernel_last_sync_timestamp_seconds", "Unix time of the last kernel sync.", (k) => {
    const at = num(k.lastSync?.at);
    return at === undefined ? undefined : at / 1000;
  });
  new Counter({
    name: "podgate_kernel_sync_errors_total",
    help: "Failed kernel route operations since the daemon started.",
    registers: [registry],
    collect() {
      this.reset();
      const n = num(kernel()?.errors);
      if (n === undefined) this.remove({});
      else this.inc(Math.max(0, n));
    },
  });

  new Gauge({
    name: "podgate_kubernetes_connected",
    help: "1 when every watched Kubernetes resource is listed/watched without error (absent when discovery is off).",
    registers: [registry],
    collect() {
      this.reset();
      const k = kube();
      if (k && typeof k.connected === "boolean") this.set(k.connected ? 1 : 0);
      else this.remove({});
    },
  });
  new Gauge({
    name: "podgate_kubernetes_last_event_age_seconds",
    help: "Seconds since the last sign of life from the Kubernetes API.",
    registers: [registry],
    collect() {
      this.reset();
      const ms = num(kube()?.lastEventAgeMs);
      if (ms === undefined) this.remove({});
      else this.set(ms / 1000);
    },
  });

  // WireGuard tunnels (issue 5): per interface and peer, named by the peer's public key (public
  // by nature; never the private key). Absent when no tunnel is configured.
  const tunnels = (): readonly TunnelView[] => {
    const t = status().tunnels;
    return Array.isArray(t) ? (t as TunnelView[]) : [];
  };
  const eachTunnelPeer = (fn: (labels: { interface: string; peer: string }, p: TunnelPeerView) => void) => {
    for (const t of tunnels()) {
      for (const p of t.peers ?? []) {
        if (typeof t.name === "string" && typeof p.publicKey === "string")
          fn({ interface: t.name, peer: p.publicKey }, p);
      }
    }
  };
  new Gauge({
    name: "podgate_wireguard_peer_up",
    help: "1 when the WireGuard peer was heard from within tunnels.handshakeTimeout (status state up).",
    labelNames: ["interface", "peer"],
    registers: [registry],
    collect() {
      this.reset();
      eachTunnelPeer((l, p) => this.set(l, p.state === "up" ? 1 : 0));
    },
  });
  new Gauge({
    name: "podgate_wireguard_peer_last_handshake_seconds",
    help: "Seconds since the WireGuard peer's latest handshake (absent until the first one).",
    labelNames: ["interface", "peer"],
    registers: [registry],
    collect() {
      this.reset();
      eachTunnelPeer((l, p) => {
        const age = num(p.handshakeAgeSeconds);
        if (age !== undefined) this.set(l, age);
      });
    },
  });
  new Counter({
    name: "podgate_wireguard_peer_bytes_total",
    help: "Bytes received from / sent to the WireGuard peer (wg show transfer).",
    labelNames: ["interface", "peer", "direction"],
    registers: [registry],
    collect() {
      this.reset();
      eachTunnelPeer((l, p) => {
        this.inc({ ...l, direction: "received" }, Math.max(0, num(p.rxBytes) ?? 0));
        this.inc({ ...l, direction: "sent" }, Math.max(0, num(p.txBytes) ?? 0));
      });
    },
  });
  new Gauge({
    name: "podgate_ipip_up",
    help: "1 when the tunnels.ipip device exists and is up (absent when IPIP is not configured).",
    labelNames: ["interface"],
    registers: [registry],
    collect() {
      this.reset();
      const i = asObject<{ name?: unknown; up?: unknown; lastError?: unknown }>(status().ipip);
      if (i && typeof i.name === "string")
        this.set({ interface: i.name }, i.up === true && !i.lastError ? 1 : 0);
    },
  });

  new Gauge({
    name: "podgate_event_loop_lag_p99_seconds",
    help: "99th percentile of the daemon's event-loop delay since start.",
    registers: [registry],
    collect() {
      this.reset();
      const ms = num(status().eventLoopLagP99Ms);
      if (ms === undefined) this.remove({});
      else this.set(ms / 1000);
    },
  });

  return {
    registry,
    contentType: registry.contentType,
    async metrics() {
      snapshot = view.status();
      try {
        return await registry.metrics();
      } finally {
        snapshot = undefined;
      }
    },
  };
}

/** Splits "host:port" / "[v6]:port"; throws on anything else. */
export function parseListenAddress(address: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(address);
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (!m || host === undefined || !Number.isInteger(port) || port > 65535) {
    throw new Error(`metrics address must be host:port or [ipv6]:port, got "${address}"`);
  }
  if (host !== "localhost" && isIP(host) === 0) {
    throw new Error(`metrics address host must be an IP address or localhost, got "${host}"`);
  }
  return { host: host === "localhost" ? "127.0.0.1" : host, port };
}

export function isLoopback(host: string): boolean {
  if (isIP(host) === 4) return host.startsWith("127.");
  if (isIP(host) === 6) return host === "::1" || /^::ffff:127\./i.test(host);
  return host === "localhost";
}

function text(res: http.ServerResponse, status: number, body: string, head = false): void {
  res.writeHead(status, {
    "content-type": "text/plain; charset=utf-8",
    "content-length": Buffer.byteLength(body),
  });
  res.end(head ? undefined : body);
}

export async function startMetricsServer(
  opts: MetricsServerOptions,
  view: MetricsView,
): Promise<MetricsServer> {
  const { host, port } = parseListenAddress(opts.address ?? DEFAULT_METRICS_ADDRESS);
  if (!isLoopback(host) && !opts.allowNonLoopback) {
    throw new Error(
      `metrics address ${host} is not loopback; set metrics.allowNonLoopback: true to expose peer names and counts`,
    );
  }
  const metrics = createMetrics(view);
  const log = opts.log;

  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://podgate").pathname;
    const head = req.method === "HEAD";
    if (req.method !== "GET" && !head) return text(res, 405, "method not allowed\n");
    if (path === "/healthz") return text(res, 200, "ok\n", head);
    if (path === "/readyz") {
      let ready = false;
      try {
        ready = view.ready();
      } catch (err) {
        log?.error({ err }, "readiness check failed");
      }
      return text(res, ready ? 200 : 503, ready ? "ready\n" : "not ready\n", head);
    }
    if (path === "/metrics") {
      metrics.metrics().then(
        (body) => {
          res.writeHead(200, {
            "content-type": metrics.contentType,
            "content-length": Buffer.byteLength(body),
          });
          res.end(head ? undefined : body);
        },
        (err: unknown) => {
          log?.error({ err }, "metrics collection failed");
          text(res, 500, "metrics collection failed\n", head);
        },
      );
      return;
    }
    text(res, 404, "not found: /metrics /healthz /readyz\n", head);
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = server.address();
  const boundPort = typeof bound === "object" && bound ? bound.port : port;
  const address = host.includes(":") ? `[${host}]:${boundPort}` : `${host}:${boundPort}`;
  log?.info({ address }, "metrics server listening");

  return {
    address,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
