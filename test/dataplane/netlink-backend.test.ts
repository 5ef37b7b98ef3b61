/**
 * The rtnetlink backend against a real kernel, inside a network namespace of our own. Node
 * cannot setns(), so each step runs test/dataplane/runner.ts under `ip netns exec` (its
 * netlink socket then lives in the namespace) and prints JSON; `ip -j route` is the witness.
 */
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RouteOp, RouteOpResult } from "../../src/dataplane/backend.ts";
import type { KernelRoute } from "../../src/dataplane/types.ts";
import { type Host, Lab, labPrereqs } from "../lab/netns.ts";

const RUNNER = fileURLToPath(new URL("./runner.ts", import.meta.url));
const REPO = fileURLToPath(new URL("../../", import.meta.url));
const PROTO = 201;

const skip = labPrereqs(["node"]);

function r(prefix: string, gws: string[], extra: Partial<KernelRoute> = {}): KernelRoute {
  return {
    prefix,
    family: prefix.includes(":") ? 6 : 4,
    type: "unicast",
    nextHops: gws.map((gateway) => ({ gateway })),
    table: 254,
    protocol: PROTO,
    metric: 20,
    ...extra,
  };
}

interface IpRoute {
  dst: string;
  type?: string;
  gateway?: string;
  protocol?: string | number;
  metric?: number;
  nexthops?: Array<{ gateway: string; weight?: number }>;
}

describe.skipIf(!!skip)("netlink route backend (root, namespace)", () => {
  let lab: Lab;
  let gw: Host;

  async function steps<T = unknown[]>(list: unknown[]): Promise<T> {
    const res = await gw.exec(["node", "--import", "tsx", RUNNER], {
      input: JSON.stringify(list),
      cwd: REPO,
      timeoutMs: 120_000,
    });
    if (res.code !== 0) throw new Error(`runner exited ${res.code}: ${res.stderr}`);
    return JSON.parse(res.stdout.trim().split("\n").pop()!) as T;
  }
  const apply = async (ops: RouteOp[]): Promise<RouteOpResult[]> =>
    ((await steps([{ do: "apply", ops }])) as RouteOpResult[][])[0]!;

  /** `ip -j route show table T proto P`, one line per route: "dst type gw1,gw2 metric". */
  async function ipRoutes(table: number, family: 4 | 6, proto: number | string = PROTO): Promise<string[]> {
    const out = await gw.run([
      "ip",
      "-j",
      `-${family}`,
      "route",
      "show",
      "table",
      String(table),
      "proto",
      String(proto),
    ]);
    const list = JSON.parse(out || "[]") as IpRoute[];
    return list
      .map((x) => {
        const hops = x.nexthops
          ? x.nexthops.map((h) => `${h.gateway}${h.weight && h.weight !== 1 ? `*${h.weight}` : ""}`).sort()
          : x.gateway
            ? [x.gateway]
            : [];
        return `${x.dst} ${x.type ?? "unicast"} ${hops.join(",")} m${x.metric ?? 0}`;
      })
      .sort();
  }

  let peer: Host;
  let gwIf: string;

  beforeAll(async () => {
    lab = new Lab("dataplane");
    gw = await lab.addHost("gw");
    peer = await lab.addHost("peer");
    ({ aIf: gwIf } = await lab.link(gw, peer, {
      aAddr: "10.0.0.1/24",
      bAddr: "10.0.0.2/24",
      a6: "fd00::1/64",
      b6: "fd00::2/64",
    }));
  });
  afterAll(async () => {
    await lab?.teardown();
  });

  it("installs IPv4/IPv6 unicast, ECMP (2–3 hops, weights), unreachable, blackhole, table 1000; list reads them back", async () => {
    const routes = [
      r("10.244.1.0/26", ["10.0.0.2"]),
      r("10.244.2.0/26", [], { nextHops: [{ gateway: "10.0.0.2" }, { gateway: "10.0.0.3", weight: 3 }] }),
      r("10.244.3.0/26", ["10.0.0.2", "10.0.0.3", "10.0.0.4"], { table: 1000 }),
      r("10.250.0.0/16", [], { type: "unreachable" }),
      r("10.251.0.0/16", [], { type: "blackhole", table: 1000 }),
      r("fd10:1::/64", ["fd00::2"]),
      r("fd10:2::/64", ["fd00::2", "fd00::3", "fd00::4"]),
      r("fd10:3::/64", ["fd00::2", "fd00::3"], { table: 1000 }),
      r("fd20::/48", [], { type: "unreachable" }),
      r("fd21::/48", [], { type: "blackhole", table: 1000 }),
    ];
    const res = await apply(routes.map((route) => ({ op: "replace", route })));
    expect(res).toEqual(routes.map(() => ({ ok: true })));

    expect(await ipRoutes(254, 4)).toEqual([
      "10.244.1.0/26 unicast 10.0.0.2 m20",
      "10.244.2.0/26 unicast 10.0.0.2,10.0.0.3*3 m20",
      "10.250.0.0/16 unreachable  m20",
    ]);
    expect(await ipRoutes(1000, 4)).toEqual([
      "10.244.3.0/26 unicast 10.0.0.2,10.0.0.3,10.0.0.4 m20",
      "10.251.0.0/16 blackhole  m20",
    ]);
    expect(await ipRoutes(254, 6)).toEqual([
      "fd10:1::/64 unicast fd00::2 m20",
      "fd10:2::/64 unicast fd00::2,fd00::3,fd00::4 m20",
      "fd20::/48 unreachable  m20",
    ]);
    expect(await ipRoutes(1000, 6)).toEqual([
      "fd10:3::/64 unicast fd00::2,fd00::3 m20",
      "fd21::/48 blackhole  m20",
    ]);

    const [main, t1000] = await steps<KernelRoute[][]>([
      { do: "list", filter: { table: 254, protocol: PROTO } },
      { do: "list", filter: { table: 1000, protocol: PROTO } },
    ]);
    const norm = (l: KernelRoute[]) =>
      l
        .map(
          (x) =>
            `${x.prefix} ${x.type} ${x.nextHops
              .map((h) => `${h.gateway}*${h.weight ?? 1}`)
              .sort()
              .join(",")} t${x.table} p${x.protocol} m${x.metric}`,
        )
        .sort();
    expect(norm([...main!, ...t1000!])).toEqual(
      norm(
        routes.map((x) => ({
          ...x,
          nextHops: x.nextHops.map((h) => ({ gateway: h.gateway, weight: h.weight })),
        })),
      ),
    );
  });

  it("replace changes the next hop (IPv4 and IPv6 ECMP set); delete removes the whole route", async () => {
    const a = r("10.244.1.0/26", ["10.0.0.3"]);
    const b = r("fd10:2::/64", ["fd00::5", "fd00::2"]);
    expect(
      await apply([
        { op: "replace", route: a },
        { op: "replace", route: b },
      ]),
    ).toEqual([{ ok: true }, { ok: true }]);
    expect(await ipRoutes(254, 4)).toContain("10.244.1.0/26 unicast 10.0.0.3 m20");
    expect(await ipRoutes(254, 6)).toContain("fd10:2::/64 unicast fd00::2,fd00::5 m20");

    expect(
      await apply([
        { op: "delete", route: a },
        { op: "delete", route: b },
        { op: "delete", route: r("10.251.0.0/16", [], { type: "blackhole", table: 1000 }) },
      ]),
    ).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
    expect((await ipRoutes(254, 4)).join()).not.toContain("10.244.1.0/26");
    expect((await ipRoutes(254, 6)).join()).not.toContain("fd10:2::/64");
    expect(await ipRoutes(1000, 4)).toEqual(["10.244.3.0/26 unicast 10.0.0.2,10.0.0.3,10.0.0.4 m20"]);
  });

  it("one bad route in a batch fails alone with its errno", async () => {
    const res = await apply([
      { op: "replace", route: r("10.245.1.0/24", ["10.0.0.2"]) },
      { op: "replace", route: r("10.245.2.0/24", ["10.9.9.9"]) }, // gateway not on-link
      { op: "replace", route: r("10.245.3.0/24", ["fd00::2"]) }, // wrong family: refused before sending
      { op: "delete", route: r("10.245.4.0/24", ["10.0.0.2"]) }, // not there
      { op: "replace", route: r("10.245.5.0/24", ["10.0.0.2"]) },
    ]);
    expect(res.map((x) => (x.ok ? "ok" : x.code))).toEqual(["ok", "ENETUNREACH", "EINVAL", "ESRCH", "ok"]);
    const v4 = await ipRoutes(254, 4);
    expect(v4).toContain("10.245.1.0/24 unicast 10.0.0.2 m20");
    expect(v4).toContain("10.245.5.0/24 unicast 10.0.0.2 m20");
  });

  it("onlink next hops (the IPIP route shape): installed, read back, reconciled as equal, and they forward", async () => {
    const ifindex = Number(await gw.run(["cat", `/sys/class/net/${gwIf}/ifindex`]));
    const node = (gateway: string, onlink?: boolean) => ({ gateway, ifindex, ...(onlink ? { onlink } : {}) });
    const one = r("10.246.1.0/26", [], { nextHops: [node("192.0.2.11", true)] });
    const ecmp = r("10.246.2.0/26", [], { nextHops: [node("192.0.2.11", true), node("192.0.2.12", true)] });
    // Without the flag the kernel refuses a gateway no prefix of the device covers: the flag is what works.
    const res = await apply([
      { op: "replace", route: r("10.246.3.0/26", [], { nextHops: [node("192.0.2.11")] }) },
      { op: "replace", route: one },
      { op: "replace", route: ecmp },
    ]);
    expect(res.map((x) => (x.ok ? "ok" : x.code))).toEqual(["ENETUNREACH", "ok", "ok"]);
    const shown = JSON.parse(
      await gw.run(["ip", "-j", "-4", "route", "show", "proto", String(PROTO)]),
    ) as Array<{
      dst: string;
      flags?: string[];
      nexthops?: Array<{ flags?: string[] }>;
    }>;
    expect(shown.find((x) => x.dst === "10.246.1.0/26")?.flags).toEqual(["onlink"]);
    expect(shown.find((x) => x.dst === "10.246.2.0/26")?.nexthops?.map((h) => h.flags)).toEqual([
      ["onlink"],
      ["onlink"],
    ]);
    const listed = (
      (await steps([{ do: "list", filter: { table: 254, protocol: PROTO } }])) as KernelRoute[][]
    )[0]!;
    expect(listed.find((x) => x.prefix === "10.246.1.0/26")?.nextHops).toEqual([node("192.0.2.11", true)]);
    // Reconcile reads the kernel's form back as equal to ours: nothing to do for these two.
    const again = (
      (await steps([
        {
          do: "diffApply",
          table: 254,
          protocol: PROTO,
          desired: [...listed.filter((x) => !x.prefix.startsWith("10.246.")), one, ecmp],
        },
      ])) as Array<{
        ops: RouteOp[];
      }>
    )[0]!;
    expect(again.ops).toEqual([]);
    // And it forwards: the "node" answers ARP for 192.0.2.11 (an address on its loopback) and owns the pod address.
    await peer.run(["ip", "addr", "add", "192.0.2.11/32", "dev", "lo"]);
    await peer.run(["ip", "addr", "add", "10.246.1.5/32", "dev", "lo"]);
    expect(await gw.run(["ping", "-c", "1", "-W", "2", "10.246.1.5"])).toMatch(/1 received/);
    await apply([
      { op: "delete", route: one },
      { op: "delete", route: ecmp },
    ]);
  });

  it("reconcile never touches routes of another protocol (proto static), even on the same prefix", async () => {
    await gw.run(["ip", "route", "add", "10.99.0.0/24", "via", "10.0.0.2", "proto", "static"]);
    await gw.run([
      "ip",
      "route",
      "add",
      "10.98.0.0/24",
      "via",
      "10.0.0.2",
      "proto",
      "static",
      "metric",
      "20",
    ]);
    await gw.run([
      "ip",
      "-6",
      "route",
      "add",
      "fd99::/64",
      "via",
      "fd00::2",
      "proto",
      "static",
      "metric",
      "20",
    ]);
    // Desired: only 10.98.0.0/24 (held by the static on the same metric) and a new route; every
    // other route of ours in the table is stale.
    const [res] = await steps<Array<{ ops: RouteOp[]; results: RouteOpResult[] }>>([
      {
        do: "diffApply",
        table: 254,
        protocol: PROTO,
        desired: [r("10.98.0.0/24", ["10.0.0.3"]), r("10.246.0.0/24", ["10.0.0.2"])],
      },
    ]);
    expect(res!.results.every((x) => x.ok)).toBe(true);
    expect(res!.ops.every((o) => o.route.protocol === PROTO)).toBe(true);
    expect(res!.ops.filter((o) => o.op === "replace").map((o) => o.route.prefix)).toEqual(["10.246.0.0/24"]);
    expect(await ipRoutes(254, 4)).toEqual(["10.246.0.0/24 unicast 10.0.0.2 m20"]);
    expect(await ipRoutes(254, 6)).toEqual([]);
    expect(await ipRoutes(254, 4, "static")).toEqual([
      "10.98.0.0/24 unicast 10.0.0.2 m20",
      "10.99.0.0/24 unicast 10.0.0.2 m0",
    ]);
    expect(await ipRoutes(254, 6, "static")).toEqual(["fd99::/64 unicast fd00::2 m20"]);
    // The connected route and table 1000 are untouched too.
    expect(await gw.run(["ip", "-4", "route", "show", "proto", "kernel"])).toContain("10.0.0.0/24");
    expect(await ipRoutes(1000, 4)).toEqual(["10.244.3.0/26 unicast 10.0.0.2,10.0.0.3,10.0.0.4 m20"]);
  });

  it("10,000 routes in one batch, then removed; also under a tiny receive buffer", async () => {
    const bulk = (op: string, extra: object = {}) => ({
      do: "bulk",
      n: 10_000,
      base: "10.128.0.0",
      gateway: "10.0.0.2",
      table: 2000,
      protocol: PROTO,
      op,
      ...extra,
    });
    type Bulk = { n: number; ms: number; rate: number; failed: number };
    const [add, del] = await steps<Bulk[]>([bulk("replace"), bulk("delete")]);
    console.log(
      `netlink bulk: add ${add!.n} in ${add!.ms} ms (${add!.rate}/s), delete in ${del!.ms} ms (${del!.rate}/s)`,
    );
    expect(add!.failed).toBe(0);
    expect(del!.failed).toBe(0);
    expect(await gw.run(["ip", "route", "show", "table", "2000"])).toBe("");

    // Every reply of an all-failing batch must fit the receive buffer (netlink 0.3.0 aborts the
    // process on ENOBUFS): with an 8 KiB SO_RCVBUF the window shrinks and all 10k still report.
    const [bad] = await steps<Bulk[]>([bulk("replace", { gateway: "10.9.9.9", smallRcvbuf: true })]);
    expect(bad!.failed).toBe(10_000);
  });
});
