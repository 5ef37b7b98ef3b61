/**
 * IpipManager against an in-memory rtnetlink (the NetlinkRequest seam): it decodes the requests
 * podgate sends and answers as the kernel does (ENODEV, EEXIST, EOPNOTSUPP, RTM_NEWLINK). The
 * real-kernel half is test/dataplane/ipip.test.ts (skips where the kernel has no ipip module).
 */

import { readFileSync } from "node:fs";
import { constants as osConstants } from "node:os";
import { describe, expect, it } from "vitest";
import { silentLogger } from "../../../src/core/log.ts";
import {
  encodeIpipLinkRequest,
  IFF_UP,
  RTM_DELLINK,
  RTM_GETLINK,
  RTM_NEWLINK,
} from "../../../src/dataplane/linux/ipip.ts";
import { IpipManager, type NetlinkRequest } from "../../../src/dataplane/linux/ipip-manager.ts";
import { NLM_F_CREATE } from "../../../src/dataplane/linux/rtnl.ts";

const { ENODEV, EEXIST, EOPNOTSUPP } = osConstants.errno;

interface Dev {
  ifindex: number;
  kind: string;
  local?: string;
  mtu: number;
  up: boolean;
}

/** Attributes of a request, top level and inside IFLA_LINKINFO/IFLA_INFO_DATA. */
function attrs(
  b: Buffer,
  start: number,
  end: number,
  out: Map<number, Buffer> = new Map(),
): Map<number, Buffer> {
  let o = start;
  while (o + 4 <= end) {
    const len = b.readUInt16LE(o);
    if (len < 4) break;
    out.set(b.readUInt16LE(o + 2), b.subarray(o + 4, o + len));
    o += (len + 3) & ~3;
  }
  return out;
}

class FakeRtnl {
  readonly devs = new Map<string, Dev>();
  readonly log: string[] = [];
  ipipSupported = true;
  private next = 10;

  add(name: string, d: Omit<Dev, "ifindex">): void {
    this.devs.set(name, { ifindex: this.next++, ...d });
  }

  /** An RTM_NEWLINK payload for a device (built from podgate's own create layout). */
  private newlink(name: string, d: Dev): Buffer {
    if (d.kind === "veth") {
      const p = Buffer.from(
        readFileSync(new URL("./fixtures/rtm-newlink-veth.hex", import.meta.url), "utf8").trim(),
        "hex",
      );
      if (name !== "v0") throw new Error("the veth fixture is named v0");
      p.writeInt32LE(d.ifindex, 4);
      return p;
    }
    const req = encodeIpipLinkRequest("create", {
      name,
      mtu: d.mtu,
      seq: 0,
      ...(d.local ? { local: d.local } : {}),
    });
    const p = Buffer.from(req.subarray(16));
    p.writeInt32LE(d.ifindex, 4);
    p.writeUInt32LE(d.up ? IFF_UP : 0, 8);
    return p;
  }

  readonly request: NetlinkRequest = async (msg, seq) => {
    const type = msg.readUInt16LE(4);
    const flags = msg.readUInt16LE(6);
    const ifindex = msg.readInt32LE(20);
    const a = attrs(msg, 32, msg.length);
    const nameAttr = a.get(3);
    const name = nameAttr ? nameAttr.subarray(0, nameAttr.indexOf(0)).toString() : undefined;
    const byIndex = [...this.devs.entries()].find(([, d]) => d.ifindex === ifindex);
    const ok = (replies: Buffer[] = []) => ({
      errno: 0,
      replies: replies.map((payload) => ({ type: RTM_NEWLINK, flags: 0, seq, pid: 0, payload })),
    });
    if (type === RTM_GETLINK) {
      this.log.push(`get ${name}`);
      const d = name ? this.devs.get(name) : undefined;
      return d && name ? ok([this.newlink(name, d)]) : { errno: ENODEV, replies: [] };
    }
    if (type === RTM_DELLINK) {
      this.log.push(`del ${name}`);
      return name && this.devs.delete(name) ? ok() : { errno: ENODEV, replies: [] };
    }
    if (type === RTM_NEWLINK && flags & NLM_F_CREATE) {
      this.log.push(`create ${name}`);
      if (!this.ipipSupported) return { errno: EOPNOTSUPP, replies: [] };
      if (!name || this.devs.has(name)) return { errno: EEXIST, replies: [] };
      const linkinfo = attrs(a.get(18)!, 0, a.get(18)!.length);
      const data = attrs(linkinfo.get(2)!, 0, linkinfo.get(2)!.length);
      const local = data.get(2);
      this.add(name, {
        kind: linkinfo.get(1)!.toString(),
        mtu: a.get(4)!.readUInt32LE(0),
        up: false,
        ...(local ? { local: [...local].join(".") } : {}),
      });
      return ok();
    }
    if (type === RTM_NEWLINK && byIndex) {
      const [n, d] = byIndex;
      const mtu = a.get(4);
      if (mtu) d.mtu = mtu.readUInt32LE(0);
      const change = msg.readUInt32LE(28);
      if (change & IFF_UP) d.up = (msg.readUInt32LE(24) & IFF_UP) !== 0;
      this.log.push(`set ${n} mtu ${d.mtu} ${d.up ? "up" : "down"}`);
      return ok();
    }
    return { errno: ENODEV, replies: [] };
  };
}

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
