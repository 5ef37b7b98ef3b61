/**
 * applyIpip(): `tunnels.ipip` into running state across start and reloads — the device through
 * IpipManager (against the in-memory rtnetlink), the next-hop rule KernelSync gets, the MTU
 * default, the warning for a `local` this host does not have, and removal when the section goes.
 */
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import type { IpipConfig } from "../../../src/config/types.ts";
import { createLogger } from "../../../src/core/log.ts";
import { applyIpip, hostHasAddress, ipipMtu } from "../../../src/dataplane/ipip-setup.ts";
import { path, peer } from "../bgp/rib/helpers.ts";
import { FakeRtnl } from "./fake-rtnl.ts";

function capture() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { log: createLogger("info", sink), lines };
}

// 127.0.0.1 is on every host's loopback: a `local` the host has.
const CFG: IpipConfig = { name: "pgipip0", local: "127.0.0.1", mode: "Always" };

describe("ipipMtu", () => {
  it("configured wins; else the underlay − 20; 1480 when the underlay is unknown", () => {
    expect(ipipMtu({ ...CFG, mtu: 1400 }, 9000)).toBe(1400);
    expect(ipipMtu(CFG, 9000)).toBe(8980);
    expect(ipipMtu({ ...CFG, local: "192.0.2.99" }, undefined)).toBe(1480);
  });
});

describe("applyIpip", () => {
  it("makes the device and a rule sending cluster routes through it; removing the section removes it", async () => {
    const k = new FakeRtnl();
    const { log, lines } = capture();
    const r = await applyIpip(CFG, undefined, { log, tunnelDevices: [], request: k.request });
    expect(r.manager).toBeDefined();
    expect(r.ifindexChanged).toBe(true);
    const dev = k.devs.get("pgipip0");
    expect(dev).toMatchObject({ kind: "ipip", local: "127.0.0.1", up: true });
    const p = path(peer(1), { nextHop: "198.51.100.7" }, "10.244.1.0/26");
    expect(r.resolver?.("198.51.100.7", p)).toEqual({
      gateway: "198.51.100.7",
      ifindex: dev?.ifindex,
      onlink: true,
    });
    expect(lines.join("")).not.toMatch(/not an address of this host/);

    // A reload with the same section: same device, no route churn signalled.
    const again = await applyIpip(CFG, r.manager, {
      log,
      tunnelDevices: [],
      request: k.request,
      lastIfindex: r.ifindex,
    });
    expect(again.ifindexChanged).toBe(false);

    const off = await applyIpip(undefined, again.manager, {
      log,
      tunnelDevices: [],
      lastIfindex: again.ifindex,
    });
    expect(off).toMatchObject({ manager: undefined, resolver: undefined, ifindexChanged: true });
    expect(k.devs.has("pgipip0")).toBe(false);
  });

  it("warns when local is not an address of this host, and falls back to plain next hops when the device cannot be made", async () => {
    const k = new FakeRtnl();
    k.ipipSupported = false;
    const { log, lines } = capture();
    const r = await applyIpip({ ...CFG, local: "192.0.2.99" }, undefined, {
      log,
      tunnelDevices: [],
      request: k.request,
    });
    expect(hostHasAddress("192.0.2.99")).toBe(false);
    expect(lines.join("")).toMatch(/tunnels.ipip.local is not an address of this host/);
    expect(lines.join("")).toMatch(/no ipip support/);
    expect(r.resolver).toBeUndefined();
    expect(r.manager?.status()?.lastError).toMatch(/modprobe ipip/);
  });
});
