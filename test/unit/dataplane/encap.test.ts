/**
 * The IPIP next-hop rule: which routes go `via NODE dev ipip onlink`, Calico's ipipMode semantics
 * (Always / CrossSubnet), the connected-subnet test, and KernelSync re-deriving routes when the
 * rule changes at runtime.
 */
import { describe, expect, it } from "vitest";
import { createPath } from "../../../src/bgp/rib/path.ts";
import { silentLogger } from "../../../src/core/log.ts";
import type { RouteBackend, RouteFilter, RouteOp, RouteOpResult } from "../../../src/dataplane/backend.ts";
import { ipipResolver, subnetMatcher } from "../../../src/dataplane/encap.ts";
import { KernelSync, type RouteSnapshotEntry } from "../../../src/dataplane/sync.ts";
import { type KernelRoute, routeKey } from "../../../src/dataplane/types.ts";
import { path, peer, v4, v6 } from "../bgp/rib/helpers.ts";

const NODE_ON_SUBNET = "192.0.2.11";
const NODE_REMOTE = "198.51.100.21";
const onSubnet = subnetMatcher(["192.0.2.1/24", "10.200.0.1/30"]);
const CLUSTER = peer(1); // our AS: role cluster
const OFFICE = peer(2, { asn: 65001 }); // role office

describe("subnetMatcher", () => {
  it("matches addresses inside any listed interface subnet, IPv4 only", () => {
    expect(onSubnet("192.0.2.254")).toBe(true);
    expect(onSubnet("192.0.3.1")).toBe(false);
    expect(onSubnet("10.200.0.2")).toBe(true);
    expect(onSubnet("10.200.0.4")).toBe(false);
    expect(onSubnet("fd00::1")).toBe(false);
    expect(subnetMatcher(["10.0.0.1/32"])("10.0.0.1")).toBe(true);
    expect(subnetMatcher(["garbage", "10.0.0.1/33"])("10.0.0.1")).toBe(false);
  });
});

describe("ipipResolver", () => {
  const cross = ipipResolver({ ifindex: 9, mode: "CrossSubnet", onConnectedSubnet: onSubnet });
  const always = ipipResolver({ ifindex: 9, mode: "Always", onConnectedSubnet: onSubnet });
  const p = (pr: typeof CLUSTER, nh: string) => path(pr, { nextHop: nh }, "10.244.1.0/26");

  it("CrossSubnet: a node off our subnets goes through the device onlink, one on our L2 stays plain", () => {
    expect(cross(NODE_REMOTE, p(CLUSTER, NODE_REMOTE))).toEqual({
      gateway: NODE_REMOTE,
      ifindex: 9,
      onlink: true,
    });
    expect(cross(NODE_ON_SUBNET, p(CLUSTER, NODE_ON_SUBNET))).toEqual({ gateway: NODE_ON_SUBNET });
  });

  it("Always: every cluster next hop is encapsulated", () => {
    expect(always(NODE_ON_SUBNET, p(CLUSTER, NODE_ON_SUBNET))).toEqual({
      gateway: NODE_ON_SUBNET,
      ifindex: 9,
      onlink: true,
    });
  });

  it("office routes and IPv6 next hops are never encapsulated", () => {
    expect(always(NODE_REMOTE, p(OFFICE, NODE_REMOTE))).toEqual({ gateway: NODE_REMOTE });
    const v6path = createPath({ prefix: v6("fd10::/64"), peer: CLUSTER, attrs: { nextHop: "fd00::1" } });
    expect(always("fd00::1", v6path)).toEqual({ gateway: "fd00::1" });
  });
});

class MemoryKernel implements RouteBackend {
  readonly routes = new Map<string, KernelRoute>();
  readonly applies: RouteOp[][] = [];
  async list(f: RouteFilter): Promise<KernelRoute[]> {
    return [...this.routes.values()].filter((r) => r.table === f.table);
  }
  async apply(ops: readonly RouteOp[]): Promise<RouteOpResult[]> {
    this.applies.push([...ops]);
    for (const { op, route } of ops) {
      if (op === "delete") this.routes.delete(routeKey(route));
      else this.routes.set(routeKey(route), route);
    }
    return ops.map(() => ({ ok: true }));
  }
  close(): void {}
}

describe("KernelSync with the IPIP rule", () => {
  const snapshot = (): RouteSnapshotEntry[] => {
    const a = path(CLUSTER, { nextHop: NODE_REMOTE }, "10.244.1.0/26");
    const b = path(CLUSTER, { nextHop: NODE_ON_SUBNET }, "10.244.2.0/26");
    const o = path(OFFICE, { nextHop: "192.0.2.50" }, "172.20.0.0/16");
    return [
      { prefix: v4("10.244.1.0/26"), best: a, multipath: [a] },
      { prefix: v4("10.244.2.0/26"), best: b, multipath: [b] },
      { prefix: v4("172.20.0.0/16"), best: o, multipath: [o] },
    ];
  };
  const hops = (k: MemoryKernel) =>
    Object.fromEntries([...k.routes.values()].map((r) => [r.prefix, r.nextHops.map((h) => ({ ...h }))]));

  it("installs through the device, and switching the rule off (reload) replaces only the encapsulated routes", async () => {
    const k = new MemoryKernel();
    const s = new KernelSync({
      backend: k,
      log: silentLogger,
      isLocalAddress: () => false,
      nextHop: ipipResolver({ ifindex: 9, mode: "CrossSubnet", onConnectedSubnet: onSubnet }),
    });
    s.onChanges(snapshot());
    await s.idle();
    expect(hops(k)).toEqual({
      "10.244.1.0/26": [{ gateway: NODE_REMOTE, ifindex: 9, onlink: true }],
      "10.244.2.0/26": [{ gateway: NODE_ON_SUBNET }],
      "172.20.0.0/16": [{ gateway: "192.0.2.50" }],
    });
    const before = k.applies.length;
    s.setNextHopResolver(undefined, snapshot());
    await s.idle();
    expect(hops(k)["10.244.1.0/26"]).toEqual([{ gateway: NODE_REMOTE }]);
    // one apply, one replace: the unchanged routes cost nothing
    expect(
      k.applies
        .slice(before)
        .flat()
        .map((o) => `${o.op} ${o.route.prefix}`),
    ).toEqual(["replace 10.244.1.0/26"]);
  });
});
