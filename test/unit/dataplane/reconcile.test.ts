/** The pure reconcile diff: fewest operations, never touching routes of another protocol. */
import { describe, expect, it } from "vitest";
import { conflicts, diff, satisfies } from "../../../src/dataplane/reconcile.ts";
import type { KernelRoute } from "../../../src/dataplane/types.ts";

const OURS = 201;

function r(prefix: string, gws: string[], extra: Partial<KernelRoute> = {}): KernelRoute {
  return {
    prefix,
    family: prefix.includes(":") ? 6 : 4,
    type: "unicast",
    nextHops: gws.map((gateway) => ({ gateway })),
    table: 254,
    protocol: OURS,
    metric: 20,
    ...extra,
  };
}

describe("diff", () => {
  const cases: Array<{
    name: string;
    current: KernelRoute[];
    desired: KernelRoute[];
    want: Array<[string, string]>;
  }> = [
    { name: "nothing to do", current: [], desired: [], want: [] },
    {
      name: "missing route is added",
      current: [],
      desired: [r("10.1.0.0/24", ["10.0.0.2"])],
      want: [["replace", "10.1.0.0/24"]],
    },
    {
      name: "unchanged route is untouched",
      current: [r("10.1.0.0/24", ["10.0.0.2"], { nextHops: [{ gateway: "10.0.0.2", ifindex: 3 }] })],
      desired: [r("10.1.0.0/24", ["10.0.0.2"])],
      want: [],
    },
    {
      name: "changed next hop is replaced",
      current: [r("10.1.0.0/24", ["10.0.0.2"])],
      desired: [r("10.1.0.0/24", ["10.0.0.3"])],
      want: [["replace", "10.1.0.0/24"]],
    },
    {
      name: "ECMP set in another order is the same route",
      current: [r("10.1.0.0/24", ["10.0.0.3", "10.0.0.2", "10.0.0.4"])],
      desired: [r("10.1.0.0/24", ["10.0.0.2", "10.0.0.4", "10.0.0.3"])],
      want: [],
    },
    {
      name: "IPv6 ECMP order-insensitive too",
      current: [r("fd10::/64", ["fd00::3", "fd00::2"])],
      desired: [r("fd10::/64", ["fd00::2", "fd00::3"])],
      want: [],
    },
    {
      name: "ECMP member added is a replace",
      current: [r("10.1.0.0/24", ["10.0.0.2"])],
      desired: [r("10.1.0.0/24", ["10.0.0.2", "10.0.0.3"])],
      want: [["replace", "10.1.0.0/24"]],
    },
    {
      name: "weight change is a replace",
      current: [r("10.1.0.0/24", [], { nextHops: [{ gateway: "10.0.0.2" }, { gateway: "10.0.0.3" }] })],
      desired: [
        r("10.1.0.0/24", [], { nextHops: [{ gateway: "10.0.0.2" }, { gateway: "10.0.0.3", weight: 2 }] }),
      ],
      want: [["replace", "10.1.0.0/24"]],
    },
    {
      name: "type change unicast → unreachable is a replace",
      current: [r("10.1.0.0/24", ["10.0.0.2"])],
      desired: [r("10.1.0.0/24", [], { type: "unreachable" })],
      want: [["replace", "10.1.0.0/24"]],
    },
    {
      name: "stale route of ours is deleted",
      current: [r("10.1.0.0/24", ["10.0.0.2"]), r("10.2.0.0/24", ["10.0.0.2"])],
      desired: [r("10.1.0.0/24", ["10.0.0.2"])],
      want: [["delete", "10.2.0.0/24"]],
    },
    {
      name: "never delete a route of another protocol",
      current: [
        r("10.9.0.0/24", ["10.0.0.2"], { protocol: 4 }),
        r("0.0.0.0/0", ["10.0.0.1"], { protocol: 3, metric: 0 }),
      ],
      desired: [],
      want: [],
    },
    {
      name: "never replace a foreign route on the same key",
      current: [r("10.1.0.0/24", ["10.0.0.9"], { protocol: 4 })],
      desired: [r("10.1.0.0/24", ["10.0.0.2"])],
      want: [],
    },
    {
      name: "foreign route with another metric does not block ours",
      current: [r("10.1.0.0/24", ["10.0.0.9"], { protocol: 4, metric: 0 })],
      desired: [r("10.1.0.0/24", ["10.0.0.2"])],
      want: [["replace", "10.1.0.0/24"]],
    },
    {
      name: "metric change: new one added before old deleted",
      current: [r("10.1.0.0/24", ["10.0.0.2"], { metric: 0 })],
      desired: [r("10.1.0.0/24", ["10.0.0.2"])],
      want: [
        ["replace", "10.1.0.0/24"],
        ["delete", "10.1.0.0/24"],
      ],
    },
    {
      name: "same prefix in another table is another route",
      current: [r("10.1.0.0/24", ["10.0.0.2"], { table: 1000 })],
      desired: [r("10.1.0.0/24", ["10.0.0.2"])],
      want: [
        ["replace", "10.1.0.0/24"],
        ["delete", "10.1.0.0/24"],
      ],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const ops = diff(c.current, c.desired, OURS);
      expect(ops.map((o) => [o.op, o.route.prefix])).toEqual(c.want);
    });
  }

  it("without an explicit protocol, deletes only routes with the desired routes' protocol", () => {
    const ops = diff(
      [r("10.2.0.0/24", ["10.0.0.2"]), r("10.3.0.0/24", ["10.0.0.2"], { protocol: 12 })],
      [r("10.1.0.0/24", ["10.0.0.2"])],
    );
    expect(ops.map((o) => [o.op, o.route.prefix])).toEqual([
      ["replace", "10.1.0.0/24"],
      ["delete", "10.2.0.0/24"],
    ]);
    expect(diff([r("10.2.0.0/24", ["10.0.0.2"])], [])).toEqual([]);
  });

  it("adopt-then-converge: adopted routes that are re-learned cost nothing, the rest go", () => {
    // What a restart finds in the kernel (our protocol) and what the speaker re-learned by End-of-RIB.
    const adopted = [
      r("10.1.0.0/24", ["10.0.0.2"]),
      r("10.2.0.0/24", ["10.0.0.3", "10.0.0.2"]),
      r("10.3.0.0/24", ["10.0.0.2"]),
    ];
    const relearned = [
      r("10.1.0.0/24", ["10.0.0.2"]),
      r("10.2.0.0/24", ["10.0.0.2", "10.0.0.3"]),
      r("10.4.0.0/24", ["10.0.0.4"]),
    ];
    const ops = diff([...adopted, r("192.168.0.0/16", ["10.0.0.1"], { protocol: 4 })], relearned, OURS);
    expect(ops.map((o) => [o.op, o.route.prefix])).toEqual([
      ["replace", "10.4.0.0/24"],
      ["delete", "10.3.0.0/24"],
    ]);
  });
});

describe("satisfies / conflicts", () => {
  it("a desired ifindex must match the kernel's", () => {
    const want = r("10.1.0.0/24", [], { nextHops: [{ gateway: "10.0.0.2", ifindex: 3 }] });
    expect(satisfies(r("10.1.0.0/24", [], { nextHops: [{ gateway: "10.0.0.2", ifindex: 3 }] }), want)).toBe(
      true,
    );
    expect(satisfies(r("10.1.0.0/24", [], { nextHops: [{ gateway: "10.0.0.2", ifindex: 4 }] }), want)).toBe(
      false,
    );
  });
  it("reports desired routes held back by a foreign route", () => {
    const foreign = r("10.1.0.0/24", ["10.0.0.9"], { protocol: 4 });
    const c = conflicts([foreign], [r("10.1.0.0/24", ["10.0.0.2"]), r("10.2.0.0/24", ["10.0.0.2"])], OURS);
    expect(c.map((x) => [x.desired.prefix, x.foreign.protocol])).toEqual([["10.1.0.0/24", 4]]);
  });
});
