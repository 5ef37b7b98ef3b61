/**
 * KernelSync against an in-memory kernel (a RouteBackend seam): RibChange translation,
 * coalescing of bursts, per-route errors and retry, adopt-then-converge, shutdown modes.
 */
import { describe, expect, it } from "vitest";
import { createPath } from "../../../src/bgp/rib/path.ts";
import { silentLogger } from "../../../src/core/log.ts";
import type { RouteBackend, RouteFilter, RouteOp, RouteOpResult } from "../../../src/dataplane/backend.ts";
import { KernelSync, type RouteSnapshotEntry } from "../../../src/dataplane/sync.ts";
import { type KernelRoute, routeKey } from "../../../src/dataplane/types.ts";
import { LOCAL, path, peer, v4, v6 } from "../bgp/rib/helpers.ts";

/** A kernel table in memory with the semantics the backend promises. */
class MemoryKernel implements RouteBackend {
  readonly routes = new Map<string, KernelRoute>();
  readonly applies: RouteOp[][] = [];
  /** Gateways the "kernel" cannot reach (replace fails with ENETUNREACH). */
  readonly unreachable = new Set<string>();
  closed = false;

  async list(f: RouteFilter): Promise<KernelRoute[]> {
    return [...this.routes.values()].filter(
      (r) => r.table === f.table && (f.protocol === undefined || r.protocol === f.protocol),
    );
  }

  async apply(ops: readonly RouteOp[]): Promise<RouteOpResult[]> {
    this.applies.push([...ops]);
    return ops.map(({ op, route }) => {
      const k = routeKey(route);
      if (op === "delete") {
        const have = this.routes.get(k);
        if (!have || have.protocol !== route.protocol) return { ok: false, code: "ESRCH", errno: 3 };
        this.routes.delete(k);
        return { ok: true };
      }
      if (route.nextHops.some((h) => this.unreachable.has(h.gateway))) {
        return { ok: false, code: "ENETUNREACH", errno: 101 };
      }
      this.routes.set(k, route);
      return { ok: true };
    });
  }

  close(): void {
    this.closed = true;
  }

  show(): string[] {
    return [...this.routes.values()]
      .map((r) => `${r.prefix} ${r.type} ${r.nextHops.map((h) => h.gateway).join(",")} p${r.protocol}`)
      .sort();
  }
}

const P1 = peer(1);
const P2 = peer(2);

function change(prefix: string, ...paths: ReturnType<typeof path>[]): RouteSnapshotEntry {
  return { prefix: v4(prefix), best: paths[0], multipath: paths };
}
function gone(prefix: string): RouteSnapshotEntry {
  return { prefix: v4(prefix), best: undefined, multipath: [] };
}

function make(kernel: MemoryKernel, extra: Partial<ConstructorParameters<typeof KernelSync>[0]> = {}) {
  return new KernelSync({
    backend: kernel,
    log: silentLogger,
    isLocalAddress: (a) => a === "192.0.2.100",
    retryMs: 20,
    ...extra,
  });
}

describe("KernelSync", () => {
  it("installs best + ECMP set, skips local-origin and self next hops, removes on withdraw", async () => {
    const k = new MemoryKernel();
    const s = make(k);
    const local = createPath({ prefix: v4("10.244.0.0/16"), peer: LOCAL, attrs: { nextHop: "0.0.0.0" } });
    s.onChanges([
      change(
        "10.1.0.0/26",
        path(P1, { nextHop: "192.0.2.1" }, "10.1.0.0/26"),
        path(P2, { nextHop: "192.0.2.2" }, "10.1.0.0/26"),
      ),
      { prefix: v4("10.244.0.0/16"), best: local, multipath: [local] },
      change("10.3.0.0/26", path(P1, { nextHop: "192.0.2.100" }, "10.3.0.0/26")),
      {
        prefix: v6("fd10::/64"),
        best: createPath({ prefix: v6("fd10::/64"), peer: P1, attrs: { nextHop: "fd00::1" } }),
        multipath: [],
      },
    ]);
    await s.idle();
    expect(k.show()).toEqual([
      "10.1.0.0/26 unicast 192.0.2.1,192.0.2.2 p201",
      "fd10::/64 unicast fd00::1 p201",
    ]);
    expect(s.isInstalled("10.1.0.0/26")).toBe(true);
    expect(s.isInstalled(v4("10.3.0.0/26"))).toBe(false);
    s.onChanges([gone("10.1.0.0/26")]);
    await s.idle();
    expect(k.show()).toEqual(["fd10::/64 unicast fd00::1 p201"]);
    expect(s.status()).toMatchObject({ installed: 1, desired: 1, errors: 0 });
  });

  it("installLocal: locally originated aggregates become unreachable routes", async () => {
    const k = new MemoryKernel();
    const s = make(k, { installLocal: "unreachable" });
    const local = createPath({ prefix: v4("10.244.0.0/16"), peer: LOCAL, attrs: { nextHop: "0.0.0.0" } });
    s.onChanges([{ prefix: v4("10.244.0.0/16"), best: local, multipath: [local] }]);
    await s.idle();
    expect(k.show()).toEqual(["10.244.0.0/16 unreachable  p201"]);
  });

  it("coalesces a burst into one apply, last state wins, identical re-announce costs nothing", async () => {
    const k = new MemoryKernel();
    const s = make(k);
    for (let i = 0; i < 50; i++)
      s.onChanges([change("10.1.0.0/26", path(P1, { nextHop: `192.0.2.${1 + (i % 3)}` }))]);
    for (let i = 0; i < 100; i++) s.onChanges([change(`10.2.${i}.0/24`, path(P1, {}, `10.2.${i}.0/24`))]);
    await s.idle();
    expect(k.applies.length).toBe(1);
    expect(k.applies[0]!.length).toBe(101);
    expect(k.routes.get("254|10.1.0.0/26|20")?.nextHops).toEqual([{ gateway: "192.0.2.2" }]); // i=49 → .2
    s.onChanges([change("10.1.0.0/26", path(P1, { nextHop: "192.0.2.2" }))]);
    await s.idle();
    expect(k.applies.length).toBe(1);
  });

  it("coalesceMs collects changes over time", async () => {
    const k = new MemoryKernel();
    const s = make(k, { coalesceMs: 30 });
    s.onChanges([change("10.1.0.0/26", path(P1))]);
    await new Promise((r) => setTimeout(r, 5));
    s.onChanges([change("10.2.0.0/26", path(P1, {}, "10.2.0.0/26"))]);
    await new Promise((r) => setTimeout(r, 60));
    await s.idle();
    expect(k.applies.map((a) => a.length)).toEqual([2]);
  });

  it("a refused route is reported, others still installed, and retried until it works", async () => {
    const k = new MemoryKernel();
    k.unreachable.add("192.0.2.9");
    const s = make(k);
    s.onChanges([
      change("10.1.0.0/26", path(P1, { nextHop: "192.0.2.9" })),
      change("10.2.0.0/26", path(P1, {}, "10.2.0.0/26")),
    ]);
    await s.idle();
    expect(k.show()).toEqual(["10.2.0.0/26 unicast 192.0.2.254 p201"]);
    expect(s.status()).toMatchObject({
      failed: 1,
      errors: 1,
      lastError: { prefix: "10.1.0.0/26", code: "ENETUNREACH" },
    });
    expect(s.isInstalled("10.1.0.0/26")).toBe(false);
    k.unreachable.clear();
    await new Promise((r) => setTimeout(r, 40));
    await s.idle();
    expect(s.isInstalled("10.1.0.0/26")).toBe(true);
    expect(s.status().failed).toBe(0);
  });

  it("adopts routes of a previous run, deletes the stale ones only at converged(), never foreign ones", async () => {
    const k = new MemoryKernel();
    const mk = (prefix: string, gw: string, protocol = 201): KernelRoute => ({
      prefix,
      family: 4,
      type: "unicast",
      nextHops: [{ gateway: gw }],
      table: 254,
      protocol,
      metric: 20,
    });
    for (const r of [
      mk("10.1.0.0/26", "192.0.2.254"),
      mk("10.2.0.0/26", "192.0.2.254"),
      mk("10.3.0.0/26", "192.0.2.254"),
      mk("10.9.0.0/26", "192.0.2.7", 4), // static, another protocol
      mk("10.5.0.0/26", "192.0.2.7", 4), // static on a key we will want
    ]) {
      k.routes.set(routeKey(r), r);
    }
    const s = make(k);
    await s.startupReconcile();
    expect(s.status()).toMatchObject({ phase: "adopting", adopted: 3, installed: 3 });
    // Re-learned: 10.1 identical (no op), 10.2 with a new next hop, 10.4 new, 10.5 blocked by the static.
    s.onChanges([
      change("10.1.0.0/26", path(P1)),
      change("10.2.0.0/26", path(P1, { nextHop: "192.0.2.1" }, "10.2.0.0/26")),
      change("10.4.0.0/26", path(P1, {}, "10.4.0.0/26")),
    ]);
    await s.idle();
    expect(k.applies.flat().map((o) => `${o.op} ${o.route.prefix}`)).toEqual([
      "replace 10.2.0.0/26",
      "replace 10.4.0.0/26",
    ]);
    expect(k.show()).toContain("10.3.0.0/26 unicast 192.0.2.254 p201"); // stale but kept until converged
    s.onChanges([change("10.5.0.0/26", path(P1, {}, "10.5.0.0/26"))]);
    await s.idle();
    expect(s.status().conflicts).toBe(1);
    await s.converged();
    expect(k.show()).toEqual([
      "10.1.0.0/26 unicast 192.0.2.254 p201",
      "10.2.0.0/26 unicast 192.0.2.1 p201",
      "10.4.0.0/26 unicast 192.0.2.254 p201",
      "10.5.0.0/26 unicast 192.0.2.7 p4", // the static was not overwritten
      "10.9.0.0/26 unicast 192.0.2.7 p4",
    ]);
    expect(s.status()).toMatchObject({ phase: "converged", staleRemoved: 1, conflicts: 1 });
    expect(s.isInstalled("10.5.0.0/26")).toBe(false);
  });

  it("converged() holds back a desired route that a foreign route occupies", async () => {
    const k = new MemoryKernel();
    const st: KernelRoute = {
      prefix: "10.5.0.0/26",
      family: 4,
      type: "unicast",
      nextHops: [{ gateway: "192.0.2.7" }],
      table: 254,
      protocol: 4,
      metric: 20,
    };
    k.routes.set(routeKey(st), st);
    const s = make(k);
    await s.startupReconcile([change("10.6.0.0/26", path(P1, {}, "10.6.0.0/26"))]);
    await s.idle();
    k.applies.length = 0;
    s.onChanges([change("10.5.0.0/26", path(P1, {}, "10.5.0.0/26"))]);
    await s.idle();
    await s.converged();
    const ops = k.applies.flat().map((o) => `${o.op} ${o.route.prefix} p${o.route.protocol}`);
    expect(ops).not.toContain("delete 10.5.0.0/26 p4");
    expect(s.status().conflicts).toBe(1);
  });

  it("shutdown keep leaves routes, remove deletes only ours; later changes are ignored", async () => {
    const k = new MemoryKernel();
    const s = make(k);
    s.onChanges([change("10.1.0.0/26", path(P1))]);
    await s.idle();
    await s.shutdown("keep");
    expect(k.show()).toEqual(["10.1.0.0/26 unicast 192.0.2.254 p201"]);
    expect(k.closed).toBe(true);

    const k2 = new MemoryKernel();
    const st: KernelRoute = { ...k.routes.values().next().value!, prefix: "10.9.0.0/26", protocol: 4 };
    k2.routes.set(routeKey(st), st);
    const s2 = make(k2);
    s2.onChanges([change("10.1.0.0/26", path(P1))]);
    await s2.idle();
    await s2.shutdown("remove");
    expect(k2.show()).toEqual(["10.9.0.0/26 unicast 192.0.2.254 p4"]);
    s2.onChanges([change("10.2.0.0/26", path(P1, {}, "10.2.0.0/26"))]);
    await new Promise((r) => setImmediate(r));
    expect(k2.show()).toEqual(["10.9.0.0/26 unicast 192.0.2.254 p4"]);
  });
});
