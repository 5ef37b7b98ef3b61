/**
 * Daemon entry (`podgate run`): load and validate the config before anything starts, then
 * start the speaker and the control API, and handle signals: SIGHUP reloads the config
 * (a config that fails validation is rejected and the running one kept), SIGTERM/SIGINT shut
 * down with Cease/Administrative Shutdown to every peer.
 */

import { monitorEventLoopDelay } from "node:perf_hooks";
import { startMetricsServer } from "./api/metrics.ts";
import { startApiServer } from "./api/server.ts";
import type { StatusJson } from "./api/types.ts";
import { Speaker } from "./bgp/speaker.ts";
import { ConfigError, loadConfigWithWarnings } from "./config/load.ts";
import type { PodgateConfig } from "./config/types.ts";
import { createLogger, type Logger } from "./core/log.ts";
import { peerStatusLine, SystemdNotifier } from "./core/sd-notify.ts";
import { applyIpip } from "./dataplane/ipip-setup.ts";
import type { IpipManager } from "./dataplane/linux/ipip-manager.ts";
import { NetlinkRouteBackend } from "./dataplane/linux/netlink-backend.ts";
import { type MssClamp, NftManager, nftDesiredFromConfig } from "./dataplane/linux/nft.ts";
import { WireGuardManager } from "./dataplane/linux/wireguard.ts";
import { KernelSync, type RouteSnapshotEntry } from "./dataplane/sync.ts";
import { ensureSysctls } from "./dataplane/sysctl.ts";
import { bgpPeersDown, wireGuardDesiredFromConfig } from "./dataplane/tunnels.ts";
import { audit, auditJson } from "./discovery/audit.ts";
import type { ClusterWatcher } from "./discovery/kube.ts";
import { clusterStaticRoutes, effectiveConfig, mergeWarnings, warnOnce } from "./discovery/merge.ts";
import type { ClusterState } from "./discovery/model.ts";

/**
 * Starts kernel sync (before the speaker, so no change is missed): adopts routes a previous
 * run left, and removes stale ones only once the speaker has its full table again.
 */
async function startDataplane(
  cfg: PodgateConfig,
  speaker: Speaker,
  log: Logger,
  ipip: IpipState,
): Promise<KernelSync | undefined> {
  const dp = cfg.dataplane;
  if (!dp.enabled) {
    if (cfg.tunnels.ipip) log.warn("tunnels.ipip needs dataplane.enabled: no ipip interface made");
    return undefined;
  }
  if (dp.sysctl !== "off") await ensureSysctls({ mode: dp.sysctl, log });
  const kernel = new KernelSync({
    backend: new NetlinkRouteBackend(),
    log: log.child({ component: "dataplane" }),
    table: dp.table,
    protocol: dp.protocol,
    metric: dp.metric,
    installLocal: dp.unreachableAggregates ? "unreachable" : false,
  });
  // The ipip device before adoption: routes a previous run left through it are then kept as is.
  await ipip.apply(cfg, kernel, []);
  await kernel.startupReconcile();
  speaker.on("changes", (changes) => {
    const aggregates = new Set(speaker.activeAggregates());
    kernel.onChanges(changes.map((c) => kernelView(c, aggregates)));
  });
  let done = false;
  const converge = () => {
    if (done) return;
    done = true;
    void kernel.converged();
  };
  speaker.once("initial-sync", converge);
  setTimeout(converge, dp.convergeTimeout * 1000).unref();
  return kernel;
}

/** Follows the cluster through the Kubernetes API when `kubernetes.enabled`; never fails the start. */
async function startDiscovery(
  cfg: PodgateConfig,
  log: Logger,
  onState: (state: ClusterState) => void,
): Promise<ClusterWatcher | undefined> {
  if (!cfg.kubernetes.enabled) return undefined;
  // Loaded only when used: the Kubernetes client is large.
  const { ClusterWatcher } = await import("./discovery/kube.ts");
  const watcher = new ClusterWatcher({
    ...(cfg.kubernetes.kubeconfig ? { kubeconfigPath: cfg.kubernetes.kubeconfig } : {}),
    log: log.child({ component: "discovery" }),
  });
  watcher.subscribe((state) => onState(state));
  await watcher.start();
  void watcher.waitForSync(30_000).catch((e: unknown) => {
    log.warn(
      { error: e instanceof Error ? e.message : String(e) },
      "Kubernetes API not synced yet; still trying",
    );
  });
  return watcher;
}

/** RFC 4724 selection deferral cap for a restarting podgate (seconds). */
const MAX_SELECTION_DEFERRAL_S = 15;

function mssOf(c: PodgateConfig): MssClamp {
  const m = c.dataplane.mssClamp;
  return m === "off" || m === "auto" ? m : Number(m);
}

const nftDesired = (c: PodgateConfig) => nftDesiredFromConfig({ ...c, mssClamp: mssOf(c) });

/**
 * IPIP runtime across start and reloads: the device manager, its ifindex, and the step that
 * re-derives the kernel routes when the next-hop rule changes.
 */
class IpipState {
  manager: IpipManager | undefined;
  ifindex: number | undefined;
  constructor(private readonly log: Logger) {}

  async apply(cfg: PodgateConfig, kernel: KernelSync, snapshot: Iterable<RouteSnapshotEntry>): Promise<void> {
    if (!cfg.tunnels.ipip && !this.manager) return;
    const r = await applyIpip(cfg.tunnels.ipip, this.manager, {
      log: this.log,
      tunnelDevices: cfg.tunnels.wireguard.map((w) => w.name),
      ...(this.ifindex !== undefined ? { lastIfindex: this.ifindex } : {}),
    });
    this.manager = r.manager;
    this.ifindex = r.ifindex;
    kernel.setNextHopResolver(r.resolver, snapshot);
    // A recreated (or removed) device took its routes with it: reread the kernel.
    if (r.ifindexChanged && kernel.status().phase !== "new") await kernel.resync();
  }
}

/** The Loc-RIB as KernelSync should see it: every selected entry through kernelView(). */
function kernelSnapshot(speaker: Speaker): RouteSnapshotEntry[] {
  const aggregates = new Set(speaker.activeAggregates());
  return [...speaker.locRib.selected()].map((e) => kernelView(e, aggregates));
}

/**
 * Only aggregates of the local routes are forwarding state (installed as unreachable); a local
 * route podgate originates for announcement only (`originate`) reaches KernelSync as withdrawn.
 */
function kernelView(e: RouteSnapshotEntry, aggregates: ReadonlySet<string>): RouteSnapshotEntry {
  if (!e.best?.peer.local || aggregates.has(`${e.prefix.addr}/${e.prefix.len}`)) return e;
  return { prefix: e.prefix, best: undefined, multipath: [] };
}

export async function runDaemon(configPath: string): Promise<number> {
  let loaded: Awaited<ReturnType<typeof loadConfigWithWarnings>>;
  try {
    loaded = await loadConfigWithWarnings(configPath);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      return 1;
    }
    throw e;
  }
  const cfg = loaded.config;
  const log = createLogger(process.env["PODGATE_LOG_LEVEL"] ?? cfg.log.level);
  for (const w of loaded.warnings) log.warn({ path: w.path, line: w.line }, w.message);

  const speaker = new Speaker({ config: cfg, log });
  // tunnels.staleReset: when a BGP session over a tunnel peer is down and that peer only sends,
  // reset the WireGuard session and retry BGP at once (docs/wireguard.md, fast recovery).
  const newWireGuardManager = (c: PodgateConfig) =>
    new WireGuardManager({
      log: log.child({ component: "wireguard" }),
      ...(c.tunnels.staleReset
        ? {
            bgpDown: () => bgpPeersDown(speaker.status()),
            onPeerReset: (addresses: readonly string[]) => speaker.retryConnect(addresses),
          }
        : {}),
    });
  // Type=notify (gateway/podgate.service): READY=1 once started and synced, watchdog pings.
  const sd = new SystemdNotifier(() => peerStatusLine(speaker.status().peers), log);
  // The file's config and the cluster as last read from the API; the speaker runs their merge.
  let base = cfg;
  let cluster: ClusterState | undefined;
  let reloading: Promise<{ ok: boolean; message: string }> | undefined;
  const warnMerge = warnOnce((w) =>
    log.warn({ component: "discovery", warning: w }, "config and cluster disagree"),
  );
  /** What the file leaves out of the discovered cluster is named once; static routes follow the merge. */
  const applyCluster = (state: ClusterState) => {
    warnMerge(mergeWarnings(base, state));
    if (base.kubernetes.staticRoutes) speaker.setStaticRoutes(clusterStaticRoutes(base, state));
  };
  /** nftables from the merged config (discovered CIDRs included); `force` re-applies an unchanged set. */
  let nftApplied = "";
  const applyNft = async (force: boolean) => {
    if (!nft) return;
    const desired = nftDesired(effectiveConfig(base, cluster));
    const key = JSON.stringify(desired);
    if (!force && key === nftApplied) return;
    await nft.apply(desired);
    nftApplied = key;
  };

  const reload = sd.wrapReload(async (): Promise<{ ok: boolean; message: string }> => {
    try {
      const next = await loadConfigWithWarnings(configPath);
      for (const w of next.warnings) log.warn({ path: w.path, line: w.line }, w.message);
      base = next.config;
      speaker.reconfigure(effectiveConfig(base, cluster));
      if (cluster) applyCluster(cluster);
      if (kernel) await ipip.apply(base, kernel, kernelSnapshot(speaker));
      if (base.tunnels.wireguard.length > 0 || wg) {
        wg ??= newWireGuardManager(base);
        try {
          await wg.apply(wireGuardDesiredFromConfig(base.tunnels));
        } catch (e) {
          const msg = e instanceof Error ? e.message : String(e);
          return { ok: false, message: `BGP configuration reloaded; WireGuard: ${msg}` };
        }
      }
      if (nft) {
        try {
          await applyNft(true);
        } catch (e) {
          const msg = e instanceof Error ? e.message : String(e);
          return {
            ok: false,
            message: `BGP configuration reloaded; nftables kept the previous ruleset: ${msg}`,
          };
        }
      }
      log.info({ config: configPath }, "configuration reloaded");
      return { ok: true, message: "configuration reloaded" };
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      log.error({ config: configPath, error: message }, "reload rejected; keeping the running configuration");
      return { ok: false, message };
    }
  });
  const serialReload = () => {
    const p = (reloading ?? Promise.resolve()).then(reload, reload);
    reloading = p;
    return p;
  };

  // Event-loop lag is the first thing to degrade under load (hold timers ride on it).
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  // Ready (for /readyz) once every peer delivered its table, or the converge timeout passed.
  let initialSynced = false;
  speaker.once("initial-sync", () => {
    initialSynced = true;
    sd.synced();
  });
  setTimeout(() => {
    initialSynced = true;
    sd.synced();
  }, cfg.dataplane.convergeTimeout * 1000).unref();
  const ipip = new IpipState(log.child({ component: "ipip" }));
  const kernel = await startDataplane(cfg, speaker, log, ipip);
  // WireGuard tunnels before the speaker: BGP to the other gateway runs over them.
  let wg: WireGuardManager | undefined;
  if (cfg.tunnels.wireguard.length > 0) {
    wg = newWireGuardManager(cfg);
    try {
      await wg.apply(wireGuardDesiredFromConfig(cfg.tunnels));
    } catch (e) {
      // Not fatal: the sessions over it stay down and the next reload applies it again.
      log.error({ error: e instanceof Error ? e.message : String(e) }, "WireGuard tunnels not all up");
    }
  }
  // Our routes survived in the kernel: restart as an RFC 4724 restarting speaker.
  if (kernel && kernel.status().adopted > 0) {
    log.info({ adopted: kernel.status().adopted }, "forwarding state preserved; graceful restart");
    // Peers in helper mode keep our routes until our End-of-RIB, so a short deferral costs them
    // nothing; peers that flushed us wait at most this long for our table.
    speaker.setRestarting(Math.min(cfg.dataplane.convergeTimeout, MAX_SELECTION_DEFERRAL_S));
  }
  // nftables (SNAT return path, MSS clamping) before the speaker: the return path exists before
  // the office learns the pod routes. Applied at every start so a stale table is replaced.
  let nft: NftManager | undefined;
  if (cfg.dataplane.enabled) {
    nft = new NftManager({ log: log.child({ component: "nftables" }) });
    try {
      await applyNft(true);
    } catch (e) {
      log.error({ error: e instanceof Error ? e.message : String(e) }, "nftables ruleset rejected");
      if (cfg.returnPath.mode === "snat") {
        process.stderr.write("podgate: returnPath.mode snat needs nftables, which failed (see the log)\n");
        return 1;
      }
    }
  } else if (cfg.returnPath.mode === "snat") {
    log.warn("returnPath.mode snat needs dataplane.enabled: no SNAT installed");
  }
  await speaker.start();
  const watcher = await startDiscovery(cfg, log, (state) => {
    cluster = state;
    try {
      speaker.reconfigure(effectiveConfig(base, state));
      applyCluster(state);
    } catch (e) {
      log.error({ error: e instanceof Error ? e.message : String(e) }, "cannot apply the discovered cluster");
    }
    // Cluster ranges learned from the API belong in the SNAT/MSS sets too (config may leave them out).
    void applyNft(false).catch((e: unknown) => {
      log.error({ error: e instanceof Error ? e.message : String(e) }, "nftables ruleset rejected");
    });
  });
  const statusJson = (): StatusJson => ({
    ...speaker.status(),
    eventLoopLagP99Ms: Math.round((lag.percentile(99) / 1e6) * 100) / 100,
    eventLoopLagMaxMs: Math.round((lag.max / 1e6) * 100) / 100,
    ...(kernel ? { dataplane: kernel.status() } : {}),
    ...(watcher ? { kubernetes: watcher.status() } : {}),
    ...(nft ? { nftables: nft.status() } : {}),
    ...(wg ? { tunnels: wg.status() } : {}),
    ...(ipip.manager?.status() ? { ipip: ipip.manager.status() } : {}),
  });
  const api = await startApiServer(
    cfg.api.socket,
    {
      status: statusJson,
      routes: (f) => {
        const r = speaker.routes(f);
        if (!kernel) return r;
        return {
          routes: r.routes.map((x) => (x.best ? { ...x, installed: kernel.isInstalled(x.prefix) } : x)),
        };
      },
      resetPeer: (a, m) => speaker.resetPeer(a, m),
      audit: () =>
        cluster ? auditJson(audit(cluster, speaker.routes().routes, speaker.status().peers)) : undefined,
      reload: serialReload,
    },
    log,
  );
  const metrics = cfg.metrics.enabled
    ? await startMetricsServer(
        {
          address: cfg.metrics.address,
          allowNonLoopback: cfg.metrics.allowNonLoopback,
          log: log.child({ component: "metrics" }),
        },
        { status: statusJson, ready: () => initialSynced },
      )
    : undefined;
  log.info({ routerId: cfg.routerId, asn: cfg.asn, peers: cfg.peers.length }, "podgate started");

  return await new Promise<number>((resolve) => {
    let stopping = false;
    const shutdown = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, "shutting down");
      sd.stopping();
      const graceful = cfg.dataplane.onShutdown === "graceful-restart";
      const keep = cfg.dataplane.onShutdown === "remove" ? "remove" : "keep";
      await speaker.stop("podgate shutting down", { graceful });
      if (kernel) await kernel.shutdown(keep);
      await ipip.manager?.shutdown({ keepKernel: keep === "keep" }).catch((e: unknown) => {
        log.warn({ error: e instanceof Error ? e.message : String(e) }, "ipip cleanup failed");
      });
      await nft?.shutdown(keep).catch((e: unknown) => {
        log.warn({ error: e instanceof Error ? e.message : String(e) }, "nftables cleanup failed");
      });
      await watcher?.stop();
      // Give the NOTIFICATIONs a moment to leave before the sockets close with the process.
      await new Promise((r) => setTimeout(r, 200));
      // After the speaker: its Cease still crosses the tunnel.
      await wg?.shutdown({ keepKernel: cfg.dataplane.onShutdown !== "remove" }).catch((e: unknown) => {
        log.warn({ error: e instanceof Error ? e.message : String(e) }, "WireGuard cleanup failed");
      });
      await api.close();
      await metrics?.close();
      sd.close();
      resolve(0);
    };
    process.on("SIGTERM", () => void shutdown("SIGTERM"));
    process.on("SIGINT", () => void shutdown("SIGINT"));
    process.on("SIGHUP", () => void serialReload());
    // Only now: systemd may send SIGTERM/SIGHUP as soon as it sees READY=1.
    sd.started(cfg.dataplane.convergeTimeout);
  });
}
