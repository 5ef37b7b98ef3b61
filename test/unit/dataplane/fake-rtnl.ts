/**
 * An in-memory rtnetlink for link messages (the NetlinkRequest seam of IpipManager): decodes
 * the requests podgate sends and answers as the kernel does (ENODEV, EEXIST, EOPNOTSUPP,
 * RTM_NEWLINK built from podgate's own create layout, or the captured veth dump).
 */
import { readFileSync } from "node:fs";
import { constants as osConstants } from "node:os";
import {
  encodeIpipLinkRequest,
  IFF_UP,
  RTM_DELLINK,
  RTM_GETLINK,
  RTM_NEWLINK,
} from "../../../src/dataplane/linux/ipip.ts";
import type { NetlinkRequest } from "../../../src/dataplane/linux/ipip-manager.ts";
import { NLM_F_CREATE } from "../../../src/dataplane/linux/rtnl.ts";

const { ENODEV, EEXIST, EOPNOTSUPP } = osConstants.errno;

export interface Dev {
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

export class FakeRtnl {
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
