/**
 * ClusterWatcher through the real @kubernetes/client-node 1.4.0 against the fake API server over
 * HTTP on 127.0.0.1: initial list, watch events (node joins/leaves, a block moves), ignored
 * affinity states, the API server going away and coming back, 410 relist, injected 500s,
 * BOOKMARKs, CRDs that are not served, ServiceCIDR served only as v1beta1 (or as both versions),
 * Calico service external/LoadBalancer ranges, cluster warnings logged once.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger, type Logger } from "../../../src/core/log.ts";
import { ClusterWatcher, listClusterObjects, loadKubeConfig } from "../../../src/discovery/kube.ts";
import type { ClusterState } from "../../../src/discovery/model.ts";
import { deriveClusterState, desiredPeers, staticRoutes } from "../../../src/discovery/model.ts";
import {
  blockAffinity,
  blockAffinityName,
  calicoNode,
  flannelNode,
  seedCalico,
  seedCilium,
  seedFlannel,
  seedServiceCIDRV1beta1Only,
  serviceCIDR,
} from "../../fakes/k8s-api/seed.ts";
import { FakeKubeApi, kubeconfigYaml } from "../../fakes/k8s-api/server.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function waitFor<T>(what: string, fn: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function setup(
  seed: (api: FakeKubeApi) => void = seedCalico,
  extra: { watchInactivityMs?: number; log?: Logger } = {},
) {
  const api = new FakeKubeApi();
  seed(api);
  await api.start();
  const dir = mkdtempSync(join(tmpdir(), `podgate-kube-${process.pid}-`));
  const path = join(dir, "kubeconfig");
  writeFileSync(path, kubeconfigYaml(api.url), { mode: 0o600 });
  const states: ClusterState[] = [];
  const watcher = new ClusterWatcher({
    kubeconfigPath: path,
    initialBackoffMs: 50,
    maxBackoffMs: 200,
    notServedRetryMs: 300,
    debounceMs: 20,
    ...extra,
  });
  watcher.subscribe((s) => states.push(s));
  cleanups.push(async () => {
    await watcher.stop();
    await api.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  await watcher.start();
  await watcher.waitForSync(10_000);
  await waitFor("first state", () => states.length > 0);
  const latest = () => states[states.length - 1]!;
  return { api, watcher, states, latest, kubeconfigPath: path };
}

const blocksOf = (s: ClusterState, node: string) =>
  s.nodes.find((n) => n.name === node)?.blocks.map((b) => b.cidr);

describe("ClusterWatcher against the fake API", () => {
  it("lists everything initially and derives the Calico state", async () => {
    const { latest, watcher } = await setup();
    const s = latest();
    expect(s.cni).toBe("calico");
    expect(s.asn).toBe(64512);
    expect(s.nodes.map((n) => n.name)).toEqual(["master1", "node1", "node2", "node3"]);
    expect(blocksOf(s, "node1")).toEqual(["172.16.32.128/26"]);
    expect(s.serviceCIDRs).toEqual(["10.96.0.0/12"]);
    expect(s.bgpPeers.map((p) => p.name)).toEqual(["office-router"]);
    expect(desiredPeers(s).map((p) => [p.address, p.asn])).toEqual([
      ["192.168.40.100", 64512],
      ["192.168.40.101", 64512],
      ["192.168.40.102", 64600],
      ["192.168.40.103", 64512],
    ]);
    const st = watcher.status();
    expect(st.connected).toBe(true);
    expect(st.synced).toBe(true);
    // servicecidrs is served but empty in this seed
    expect(st.resources.every((r) => r.phase === "synced")).toBe(true);
    expect(st.lastEventAgeMs).toBeGreaterThanOrEqual(0);
  });

  it("a node joins (ADDED) and leaves (DELETED)", async () => {
    const { api, latest } = await setup();
    api.apply("nodes", calicoNode("node4", "192.168.40.104"));
    api.apply("blockaffinities", blockAffinity("node4", "172.16.200.0/26"));
    await waitFor(
      "node4",
      () => latest().nodes.some((n) => n.name === "node4") && blocksOf(latest(), "node4")?.length,
    );
    expect(staticRoutes(latest()).find((r) => r.prefix === "172.16.200.0/26")?.nextHops).toEqual([
      "192.168.40.104",
    ]);
    api.delete("blockaffinities", blockAffinityName("node4", "172.16.200.0/26"));
    api.delete("nodes", "node4");
    await waitFor("node4 gone", () => !latest().nodes.some((n) => n.name === "node4"));
    expect(staticRoutes(latest()).some((r) => r.prefix === "172.16.200.0/26")).toBe(false);
  });

  it("a block moves between nodes (affinity DELETED + ADDED)", async () => {
    const { api, latest } = await setup();
    api.delete("blockaffinities", blockAffinityName("node1", "172.16.32.128/26"));
    api.apply("blockaffinities", blockAffinity("node2", "172.16.32.128/26"));
    await waitFor("block on node2", () => blocksOf(latest(), "node2")?.includes("172.16.32.128/26"));
    expect(blocksOf(latest(), "node1")).toEqual([]);
    expect(staticRoutes(latest()).find((r) => r.prefix === "172.16.32.128/26")?.nextHops).toEqual([
      "192.168.40.102",
    ]);
  });

  it("pending and pendingDeletion affinities do not make routes; deleted='true' is dropped", async () => {
    const { api, latest } = await setup();
    api.apply("blockaffinities", blockAffinity("node1", "172.16.40.0/26", "pending"));
    api.update("blockaffinities", blockAffinityName("node2", "172.16.58.192/26"), (o) => {
      o["spec"].state = "pendingDeletion";
    });
    api.apply("blockaffinities", blockAffinity("node1", "172.16.41.0/26", "confirmed", "true"));
    await waitFor("pending seen", () => latest().nodes.find((n) => n.name === "node1")?.blocks.length === 2);
    const routes = staticRoutes(latest()).map((r) => r.prefix);
    expect(routes).not.toContain("172.16.40.0/26");
    expect(routes).not.toContain("172.16.58.192/26");
    expect(routes).not.toContain("172.16.41.0/26");
    expect(routes).toContain("172.16.32.128/26");
  });

  it("keeps the last state while the API server is gone, then recovers and catches up", async () => {
    const { api, watcher, latest, states } = await setup();
    const before = latest();
    await api.goAway();
    await waitFor(
      "errors seen",
      () => !watcher.status().connected && watcher.status().resources.some((r) => r.errors > 0),
    );
    // Nothing withdrawn while the API is unreachable.
    expect(watcher.state()).toEqual(before);
    expect(watcher.status().resources.find((r) => r.resource === "nodes")?.objects).toBe(4);
    await new Promise((r) => setTimeout(r, 400));
    expect(watcher.state()).toEqual(before);
    const emitted = states.length;
    // The cluster changes while we are away: a node leaves.
    api.delete("nodes", "node3");
    await api.comeBack();
    await waitFor("reconnected", () => watcher.status().connected, 10_000);
    await waitFor("node3 gone after recovery", () => !latest().nodes.some((n) => n.name === "node3"));
    expect(states.length).toBeGreaterThan(emitted);
    expect(watcher.status().resources.find((r) => r.resource === "nodes")!.restarts).toBeGreaterThan(0);
  });

  it("relists after 410 Gone (compacted resourceVersion)", async () => {
    const { api, latest } = await setup();
    const listsBefore = api.listCount("nodes");
    // While the watcher cannot reach the API, a node joins and the history is compacted: the
    // re-watch from the old resourceVersion gets an ERROR event with code 410.
    await api.goAway();
    api.apply("nodes", calicoNode("node5", "192.168.40.105"));
    api.compact();
    await api.comeBack();
    await waitFor("relist", () => api.listCount("nodes") > listsBefore);
    expect(api.expiredWatches).toBeGreaterThan(0);
    await waitFor("node5 present", () => latest().nodes.some((n) => n.name === "node5"));
    // After the relist, watching resumes: new events flow again.
    api.delete("nodes", "node5");
    await waitFor("node5 gone", () => !latest().nodes.some((n) => n.name === "node5"));
  });

  it("recovers from injected 500 errors with backoff", async () => {
    const { api, watcher, latest } = await setup();
    api.failNext("nodes", 500, 3);
    api.closeWatches("nodes");
    await waitFor(
      "error phase",
      () => watcher.status().resources.find((r) => r.resource === "nodes")!.errors > 0,
    );
    expect(watcher.status().resources.find((r) => r.resource === "nodes")!.lastError).toContain("500");
    api.apply("nodes", calicoNode("node6", "192.168.40.106"));
    await waitFor("node6 after recovery", () => latest().nodes.some((n) => n.name === "node6"), 10_000);
    await waitFor("connected", () => watcher.status().connected);
    expect(watcher.status().resources.find((r) => r.resource === "nodes")!.errors).toBe(3);
  });

  it("handles BOOKMARK events (resourceVersion advances, no relist after a quiet watch ends)", async () => {
    const { api, watcher } = await setup();
    // Other resources move the global resourceVersion; compact away all of that history.
    api.apply("bgppeers", { metadata: { name: "x" }, spec: { peerIP: "10.9.9.9", asNumber: 65009 } });
    await waitFor("watching nodes", () => api.openWatches("nodes") > 0);
    const seenBefore = watcher.status().lastEventAt!;
    await new Promise((r) => setTimeout(r, 10));
    api.sendBookmarks("nodes");
    await waitFor("bookmark counted", () => watcher.status().lastEventAt! > seenBefore);
    api.compact("nodes");
    const listsBefore = api.listCount("nodes");
    api.closeWatches("nodes");
    await waitFor("re-watch", () => api.openWatches("nodes") > 0);
    await new Promise((r) => setTimeout(r, 200));
    // The bookmark carried the newest resourceVersion, so re-watching did not hit 410.
    expect(api.listCount("nodes")).toBe(listsBefore);
    const url = api.requests.filter((r) => r.resource === "nodes" && r.watch).at(-1)!.url;
    expect(url).toContain("allowWatchBookmarks=true");
    expect(url).toContain(`resourceVersion=${api.resourceVersion}`);
  });

  it("treats Calico CRDs that are not served as 'not Calico' and notices them when installed", async () => {
    const { api, watcher, latest } = await setup(seedFlannel);
    expect(latest().cni).toBe("flannel");
    const st = watcher.status();
    expect(st.connected).toBe(true);
    expect(st.resources.find((r) => r.resource === "ipPools")!.phase).toBe("not-served");
    expect(st.resources.find((r) => r.resource === "ipPools")!.errors).toBe(0);
    expect(staticRoutes(latest()).map((r) => [r.prefix, r.nextHops.join(",")])).toEqual([
      ["10.96.0.0/12", "10.0.0.11,10.0.0.12"],
      ["10.244.0.0/24", "10.0.0.11"],
      ["10.244.1.0/24", "10.0.0.12"],
    ]);
    api.setServed("ippools", true);
    await waitFor(
      "ippools served",
      () => watcher.status().resources.find((r) => r.resource === "ipPools")!.phase === "synced",
      5000,
    );
  });

  it("re-watches a watch that went silent (half-open connection) and catches up", async () => {
    const { api, watcher, latest } = await setup(seedCalico, { watchInactivityMs: 400 });
    await waitFor("watching nodes", () => api.openWatches("nodes") > 0);
    api.freezeWatches("nodes");
    api.apply("nodes", calicoNode("quiet", "192.168.40.130"));
    // The frozen stream never delivers it; the watchdog restarts the watch from the last resourceVersion.
    await waitFor("quiet node", () => latest().nodes.some((n) => n.name === "quiet"), 5000);
    const nodes = watcher.status().resources.find((r) => r.resource === "nodes")!;
    expect(nodes.restarts).toBeGreaterThan(0);
    expect(nodes.errors).toBe(0);
    expect(watcher.status().connected).toBe(true);
  });

  it("survives a slow API server", async () => {
    const { api, latest } = await setup();
    api.delayMs = 300;
    api.closeWatches();
    api.apply("nodes", calicoNode("slow", "192.168.40.120"));
    await waitFor("slow node", () => latest().nodes.some((n) => n.name === "slow"), 10_000);
  });
});

describe("one-shot list", () => {
  it("lists through the typed API and reports CRDs that are not served", async () => {
    const api = new FakeKubeApi();
    seedFlannel(api);
    await api.start();
    const dir = mkdtempSync(join(tmpdir(), `podgate-kube-${process.pid}-`));
    cleanups.push(async () => {
      await api.stop();
      rmSync(dir, { recursive: true, force: true });
    });
    const path = join(dir, "kubeconfig");
    writeFileSync(path, kubeconfigYaml(api.url));
    const { objects, notServed } = await listClusterObjects(loadKubeConfig(path));
    expect(objects.nodes.map((n) => n.metadata?.name).sort()).toEqual(["f1", "f2"]);
    expect(notServed).toEqual([
      "bgpConfigurations",
      "bgpPeers",
      "blockAffinities",
      "ipPools",
      "serviceCIDRs",
      "serviceCIDRsV1beta1",
    ]);
  });

  it("fails clearly when the API server answers 500", async () => {
    const api = new FakeKubeApi();
    seedCalico(api);
    await api.start();
    const dir = mkdtempSync(join(tmpdir(), `podgate-kube-${process.pid}-`));
    cleanups.push(async () => {
      await api.stop();
      rmSync(dir, { recursive: true, force: true });
    });
    const path = join(dir, "kubeconfig");
    writeFileSync(path, kubeconfigYaml(api.url));
    api.failNext("nodes", 500, 1);
    await expect(listClusterObjects(loadKubeConfig(path))).rejects.toThrow(/nodes: HTTP 500/);
  });
});

async function kubeconfigFor(api: FakeKubeApi): Promise<string> {
  await api.start();
  const dir = mkdtempSync(join(tmpdir(), `podgate-kube-${process.pid}-`));
  cleanups.push(async () => {
    await api.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const path = join(dir, "kubeconfig");
  writeFileSync(path, kubeconfigYaml(api.url));
  return path;
}

const phaseOf = (w: ClusterWatcher, key: string) =>
  w.status().resources.find((r) => r.resource === key)?.phase;

describe("ServiceCIDR: networking.k8s.io/v1 with a v1beta1 fallback", () => {
  it("a cluster serving ServiceCIDR only as v1beta1 yields its service CIDRs (source servicecidr), watched", async () => {
    const { api, watcher, latest } = await setup(seedServiceCIDRV1beta1Only);
    expect(latest().serviceCIDRs).toEqual(["10.43.0.0/16"]);
    expect(latest().serviceCIDRsSource).toBe("servicecidr");
    expect(latest().warnings.join("\n")).not.toMatch(/GUESS/);
    expect(phaseOf(watcher, "serviceCIDRs")).toBe("not-served");
    expect(phaseOf(watcher, "serviceCIDRsV1beta1")).toBe("synced");
    expect(watcher.status().connected).toBe(true);
    // The v1beta1 collection is watched like any other: a second range added later arrives.
    api.apply("servicecidrsV1beta1", serviceCIDR("extra", ["10.44.0.0/16"]));
    await waitFor("second ServiceCIDR", () => latest().serviceCIDRs.includes("10.44.0.0/16"));
    expect(latest().serviceCIDRs).toEqual(["10.43.0.0/16", "10.44.0.0/16"]);
    expect(
      api.requests.some(
        (r) => r.resource === "servicecidrsV1beta1" && r.watch && r.url.includes("/v1beta1/servicecidrs"),
      ),
    ).toBe(true);
    expect(staticRoutes(latest()).find((r) => r.prefix === "10.44.0.0/16")?.kind).toBe("service-cidr");
  });

  it("a cluster serving both versions: v1 is used while it has objects, v1beta1 only when it has none", async () => {
    const { api, latest } = await setup((a) => {
      seedCilium(a);
      // A real apiserver shows the same object under both versions.
      a.apply("servicecidrsV1beta1", serviceCIDR("kubernetes", ["10.43.0.0/16"]));
      // Only in the v1beta1 store, to prove it is not read while v1 has objects.
      a.apply("servicecidrsV1beta1", serviceCIDR("only-beta", ["10.99.0.0/16"]));
    });
    expect(latest().serviceCIDRs).toEqual(["10.43.0.0/16"]);
    api.delete("servicecidrs", "kubernetes");
    await waitFor("fallback to v1beta1", () => latest().serviceCIDRs.includes("10.99.0.0/16"));
    expect(latest().serviceCIDRs).toEqual(["10.43.0.0/16", "10.99.0.0/16"]);
    expect(latest().serviceCIDRsSource).toBe("servicecidr");
  });

  it("one-shot list: v1 not served, v1beta1 read", async () => {
    const api = new FakeKubeApi();
    seedServiceCIDRV1beta1Only(api);
    const path = await kubeconfigFor(api);
    const { objects, notServed } = await listClusterObjects(loadKubeConfig(path));
    expect(notServed).toContain("serviceCIDRs");
    expect(notServed).not.toContain("serviceCIDRsV1beta1");
    expect(objects.serviceCIDRs).toEqual([]);
    expect(objects.serviceCIDRsV1beta1.map((o) => o.metadata?.name)).toEqual(["kubernetes"]);
    const s = deriveClusterState(objects);
    expect([s.serviceCIDRs, s.serviceCIDRsSource]).toEqual([["10.43.0.0/16"], "servicecidr"]);
  });
});

describe("Calico service external / LoadBalancer ranges through the watcher", () => {
  it("BGPConfiguration serviceLoadBalancerIPs / serviceExternalIPs reach the state and the static routes", async () => {
    const { api, latest } = await setup();
    expect(latest().serviceExternalCIDRs).toEqual([]);
    api.update("bgpconfigurations", "default", (o) => {
      o["spec"].serviceLoadBalancerIPs = [{ cidr: "192.168.50.0/24" }];
      o["spec"].serviceExternalIPs = [{ cidr: "203.0.113.0/24" }];
    });
    await waitFor("external ranges", () => latest().serviceExternalCIDRs.length === 2);
    expect(latest().serviceExternalCIDRs).toEqual([
      { cidr: "192.168.50.0/24", sources: ["serviceLoadBalancerIPs"] },
      { cidr: "203.0.113.0/24", sources: ["serviceExternalIPs"] },
    ]);
    // ECMP over the Ready nodes (node3 is NotReady), like the ClusterIP range.
    expect(staticRoutes(latest()).find((r) => r.prefix === "192.168.50.0/24")).toEqual({
      prefix: "192.168.50.0/24",
      nextHops: ["192.168.40.100", "192.168.40.101", "192.168.40.102"],
      kind: "service-external",
      node: undefined,
    });
  });
});

describe("cluster warnings in the log", () => {
  it("each warning is logged once while it lasts, not on every change", async () => {
    const lines: string[] = [];
    const log = createLogger("info", { write: (m: string) => void lines.push(m) });
    const { api, latest } = await setup(seedFlannel, { log });
    const warned = () =>
      lines.map((l) => JSON.parse(l)).filter((l) => l.msg === "discovery: cluster warning");
    await waitFor("warning logged", () => warned().length > 0);
    expect(warned().map((l) => l.warning)).toEqual([expect.stringMatching(/GUESS.*10\.96\.0\.1/)]);
    api.apply("nodes", flannelNode("f3", "10.0.0.13", "10.244.2.0/24"));
    await waitFor("f3", () => latest().nodes.some((n) => n.name === "f3"));
    await new Promise((r) => setTimeout(r, 100));
    expect(warned()).toHaveLength(1);
  });
});
