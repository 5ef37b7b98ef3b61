/**
 * IpipManager against an in-memory rtnetlink (the NetlinkRequest seam): it decodes the requests
 * podgate sends and answers as the kernel does (ENODEV, EEXIST, EOPNOTSUPP, RTM_NEWLINK). The
 * real-kernel half is test/dataplane/ipip.test.ts (skips where the kernel has no ipip module).
 */

import { describe, expect, it } from "vitest";
import { silentLogger } from "../../../src/core/log.ts";
import { IpipManager } from "../../../src/dataplane/linux/ipip-manager.ts";
import { FakeRtnl } from "./fake-rtnl.ts";

const make = (k: FakeRtnl) => new IpipManager({ log: silentLogger, request: k.request });

describe("IpipManager", () => {
  it("creates a missing device with local and MTU, brings it up, and reports it", async () => {
    const k = new FakeRtnl();
    const m = make(k);
    const ifindex = await m.ensure({ name: "pgipip0", local: "192.0.2.1", mtu: 1480 });
    expect(k.devs.get("pgipip0")).toEqual({ ifindex, kind: "ipip", local: "192.0.2.1", mtu: 1480, up: true });
    expect(k.log).toEqual(["get pgipip0", "create pgipip0", "get pgipip0", "set pgipip0 mtu 1480 up"]);
    expect(m.status()).toEqual({
      name: "pgipip0",
      ifindex,
      up: true,
      mtu: 1480,
      local: "192.0.2.1",
      created: true,
    });
  });

  it("adopts a device left by a previous run without recreating it (routes through it survive)", async () => {
    const k = new FakeRtnl();
    k.add("pgipip0", { kind: "ipip", local: "192.0.2.1", mtu: 1480, up: true });
    const before = k.devs.get("pgipip0")!.ifindex;
    const m = make(k);
    expect(await m.ensure({ name: "pgipip0", local: "192.0.2.1", mtu: 1480 })).toBe(before);
    expect(k.log).toEqual(["get pgipip0"]);
    expect(m.status()?.created).toBe(false);
    // an MTU change is made in place: same ifindex
    expect(await m.ensure({ name: "pgipip0", local: "192.0.2.1", mtu: 1400 })).toBe(before);
    expect(k.devs.get("pgipip0")?.mtu).toBe(1400);
  });

  it("recreates the device when the local address changes (the kernel cannot change a tunnel's key)", async () => {
    const k = new FakeRtnl();
    k.add("pgipip0", { kind: "ipip", local: "192.0.2.1", mtu: 1480, up: true });
    const before = k.devs.get("pgipip0")!.ifindex;
    const after = await make(k).ensure({ name: "pgipip0", local: "192.0.2.9", mtu: 1480 });
    expect(after).not.toBe(before);
    expect(k.devs.get("pgipip0")?.local).toBe("192.0.2.9");
    expect(k.log).toContain("del pgipip0");
  });

  it("never touches a device of another kind holding the name", async () => {
    const k = new FakeRtnl();
    k.add("v0", { kind: "veth", mtu: 1400, up: true });
    const m = make(k);
    await expect(m.ensure({ name: "v0", mtu: 1480 })).rejects.toThrow(
      /v0 exists and is a veth device, not ipip/,
    );
    expect(k.log).toEqual(["get v0"]);
    expect(m.status()?.lastError).toMatch(/veth/);
    await m.shutdown({ keepKernel: false });
    expect(k.devs.has("v0")).toBe(true);
  });

  it("says when the kernel has no ipip support", async () => {
    const k = new FakeRtnl();
    k.ipipSupported = false;
    await expect(make(k).ensure({ name: "pgipip0", mtu: 1480 })).rejects.toThrow(
      /no ipip support \(modprobe ipip\)/,
    );
  });

  it("shutdown removes the device unless keepKernel", async () => {
    const k = new FakeRtnl();
    const m = make(k);
    await m.ensure({ name: "pgipip0", mtu: 1480 });
    await m.shutdown({ keepKernel: true });
    expect(k.devs.has("pgipip0")).toBe(true);
    const m2 = make(k);
    await m2.ensure({ name: "pgipip0", mtu: 1480 });
    await m2.shutdown({ keepKernel: false });
    expect(k.devs.has("pgipip0")).toBe(false);
  });
});
