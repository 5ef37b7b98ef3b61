/**
 * IpipManager: owns podgate's one IPIP device (issue 5 §2) — creates it over rtnetlink when it is
 * missing, adopts it across restarts, keeps its MTU and up state, and removes it on request.
 * Messages come from ipip.ts (pure); this file only sends them and reads the answers.
 *
 * The device is NBMA (remote any, like Calico's tunl0): every route through it names the node
 * as an onlink gateway, so one device serves every node. A device of that name that is not
 * ipip is never touched (the start fails with the reason); an ipip device whose local address
 * differs from the config is recreated, because the kernel cannot change a tunnel's key
 * (local, remote) in place.
 */
import { constants as osConstants } from "node:os";
import { RawNetlinkSocket } from "netlink";
import type { Logger } from "../../core/log.ts";
import {
  decodeLink,
  encodeGetLinkRequest,
  encodeIpipLinkRequest,
  encodeLinkSetRequest,
  type LinkInfo,
  RTM_NEWLINK,
} from "./ipip.ts";
import { errnoName, NLMSG_ERROR, type NlMessage, parseErrno, parseNlMessages } from "./rtnl.ts";

const NETLINK_ROUTE = 0;
const ENODEV = osConstants.errno.ENODEV;
const EOPNOTSUPP = osConstants.errno.EOPNOTSUPP;

/** One request and its answer: the kernel's errno (0 = ACK) and the messages before the ACK. */
export type NetlinkRequest = (msg: Buffer, seq: number) => Promise<{ errno: number; replies: NlMessage[] }>;

/** A NetlinkRequest over a fresh RawNetlinkSocket (NETLINK_ROUTE); close() when done. */
export function rtnetlinkRequester(timeoutMs = 5000): { request: NetlinkRequest; close(): void } {
  const sock = new RawNetlinkSocket(NETLINK_ROUTE, {
    recvBufferSize: 256 * 1024,
    sendBufferSize: 64 * 1024,
  }) as unknown as {
    send(m: Uint8Array[], o: undefined, cb: (err?: { message: string }) => void): void;
    on(ev: "message", l: (buf: Buffer) => void): unknown;
    close(): void;
    ref(): void;
    unref(): void;
  };
  sock.unref();
  const waiting = new Map<number, (m: NlMessage) => void>();
  sock.on("message", (buf) => {
    for (const m of parseNlMessages(buf)) waiting.get(m.seq)?.(m);
  });
  const request: NetlinkRequest = (msg, seq) =>
    new Promise((resolve, reject) => {
      const replies: NlMessage[] = [];
      const timer = setTimeout(() => done(new Error("netlink request timed out")), timeoutMs);
      const done = (err?: Error, errno = 0) => {
        clearTimeout(timer);
        waiting.delete(seq);
        sock.unref();
        if (err) reject(err);
        else resolve({ errno, replies });
      };
      waiting.set(seq, (m) => {
        if (m.type === NLMSG_ERROR) done(undefined, parseErrno(m.payload));
        else replies.push(m);
      });
      sock.ref();
      sock.send([msg], undefined, (err) => {
        if (err) done(new Error(`netlink send failed: ${err.message}`));
      });
    });
  return { request, close: () => sock.close() };
}

export interface IpipDesired {
  readonly name: string;
  /** Outer source address; absent = the kernel picks one per packet (source of the route out). */
  readonly local?: string;
  readonly mtu: number;
}

export interface IpipStatus {
  readonly name: string;
  readonly ifindex?: number;
  readonly up: boolean;
  readonly mtu?: number;
  readonly local?: string;
  /** True when podgate created the device (false: adopted from a previous run). */
  readonly created: boolean;
  readonly lastError?: string;
}

export interface IpipManagerOptions {
  readonly log: Logger;
  /** The netlink seam (default: a RawNetlinkSocket in this process's namespace). */
  readonly request?: NetlinkRequest;
}

export class IpipManager {
  private readonly log: Logger;
  private readonly request: NetlinkRequest;
  private readonly closeSocket: (() => void) | undefined;
  private seq = Math.floor(Math.random() * 0x3fffffff) + 1;
  private current: LinkInfo | undefined;
  private desired: IpipDesired | undefined;
  private created = false;
  private lastError: string | undefined;

  constructor(opts: IpipManagerOptions) {
    this.log = opts.log;
    if (opts.request) {
      this.request = opts.request;
      this.closeSocket = undefined;
    } else {
      const r = rtnetlinkRequester();
      this.request = r.request;
      this.closeSocket = r.close;
    }
  }

  private async send(build: (seq: number) => Buffer): Promise<{ errno: number; replies: NlMessage[] }> {
    this.seq = this.seq >= 0x7fffffff ? 1 : this.seq + 1;
    return this.request(build(this.seq), this.seq);
  }

  /** The device as the kernel has it, or undefined when there is none of that name. */
  async get(name: string): Promise<LinkInfo | undefined> {
    const r = await this.send((seq) => encodeGetLinkRequest(name, seq));
    if (r.errno === ENODEV) return undefined;
    if (r.errno !== 0) throw new Error(`reading interface ${name}: ${errnoName(r.errno)}`);
    const m = r.replies.find((x) => x.type === RTM_NEWLINK);
    const link = m ? decodeLink(m.payload) : undefined;
    if (!link) throw new Error(`reading interface ${name}: no RTM_NEWLINK in the answer`);
    return link;
  }

  /**
   * Makes the device exist as desired and up; returns its ifindex. Throws (with the reason, and
   * nothing changed) when a non-ipip device holds the name or the kernel has no ipip support.
   */
  async ensure(d: IpipDesired): Promise<number> {
    this.desired = d;
    try {
      const ifindex = await this.ensureInner(d);
      this.lastError = undefined;
      return ifindex;
    } catch (e) {
      this.lastError = e instanceof Error ? e.message : String(e);
      throw e;
    }
  }

  private async ensureInner(d: IpipDesired): Promise<number> {
    let link = await this.get(d.name);
    if (link && link.kind !== "ipip") {
      throw new Error(
        `interface ${d.name} exists and is ${link.kind ? `a ${link.kind} device` : "not a tunnel"}, not ipip: podgate leaves it alone (choose another tunnels.ipip.name)`,
      );
    }
    if (link && link.remote !== undefined) {
      throw new Error(
        `ipip interface ${d.name} has a fixed remote ${link.remote}; podgate needs remote any (one device for every node): choose another tunnels.ipip.name`,
      );
    }
    if (link && (link.local ?? "") !== (d.local ?? "")) {
      // (local, remote) is the tunnel's key in the kernel: it cannot change in place.
      this.log.info(
        { tunnel: d.name, was: link.local ?? "any", now: d.local ?? "any" },
        "recreating ipip interface: local address changed",
      );
      await this.delete(d.name);
      link = undefined;
    }
    if (!link) {
      const r = await this.send((seq) =>
        encodeIpipLinkRequest("create", {
          name: d.name,
          mtu: d.mtu,
          seq,
          ...(d.local ? { local: d.local } : {}),
        }),
      );
      if (r.errno === EOPNOTSUPP) {
        throw new Error(
          `cannot create ipip interface ${d.name}: the kernel has no ipip support (modprobe ipip)`,
        );
      }
      if (r.errno !== 0) throw new Error(`cannot create ipip interface ${d.name}: ${errnoName(r.errno)}`);
      this.created = true;
      link = await this.get(d.name);
      if (!link) throw new Error(`ipip interface ${d.name} vanished right after its creation`);
      this.log.info(
        { tunnel: d.name, ifindex: link.ifindex, local: d.local ?? "any", mtu: d.mtu },
        "ipip interface created",
      );
    } else if (!this.current) {
      this.log.info({ tunnel: d.name, ifindex: link.ifindex }, "adopting existing ipip interface");
    }
    if (link.mtu !== d.mtu || !link.up) {
      const ifindex = link.ifindex;
      const r = await this.send((seq) => encodeLinkSetRequest(ifindex, { mtu: d.mtu, up: true, seq }));
      if (r.errno !== 0)
        throw new Error(`cannot set ipip interface ${d.name} up (MTU ${d.mtu}): ${errnoName(r.errno)}`);
      link = { ...link, mtu: d.mtu, up: true };
    }
    this.current = link;
    return link.ifindex;
  }

  private async delete(name: string): Promise<void> {
    const r = await this.send((seq) => encodeIpipLinkRequest("delete", { name, seq }));
    if (r.errno !== 0 && r.errno !== ENODEV)
      throw new Error(`cannot delete interface ${name}: ${errnoName(r.errno)}`);
  }

  /** Deletes the device (routes through it go with it) unless `keepKernel`; then closes the socket. */
  async shutdown(opts: { keepKernel: boolean }): Promise<void> {
    try {
      if (!opts.keepKernel && this.desired) {
        const link = await this.get(this.desired.name);
        // Only an ipip device of our name: never a device someone put there since.
        if (link?.kind === "ipip") {
          await this.delete(this.desired.name);
          this.log.info({ tunnel: this.desired.name }, "ipip interface removed");
        }
      }
    } finally {
      this.closeSocket?.();
    }
  }

  status(): IpipStatus | undefined {
    const d = this.desired;
    const c = this.current;
    if (!d && !this.lastError) return undefined;
    return {
      name: d?.name ?? "",
      ...(c ? { ifindex: c.ifindex, mtu: c.mtu } : {}),
      up: c?.up ?? false,
      ...(d?.local ? { local: d.local } : {}),
      created: this.created,
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }
}
