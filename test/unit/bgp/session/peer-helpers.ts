/** Shared helpers for PeerSession tests on loopback: configs, raw BGP peers, waiting. */
import net from "node:net";
import {
  type BgpMessage,
  DEFAULT_CODEC_OPTIONS,
  decodeMessage,
  encodeMessage,
  MessageFramer,
  type OpenMessage,
} from "../../../../src/bgp/wire/index.ts";
import type { PeerConfig } from "../../../../src/config/types.ts";

export function peerConfig(
  p: Partial<PeerConfig> & { address: string; asn: number; port: number },
): PeerConfig {
  return {
    name: `peer-${p.address}`,
    role: "cluster",
    passive: false,
    holdTime: 90,
    connectRetryTime: 1,
    ttlSecurity: false,
    families: ["ipv4"],
    addPath: "off",
    nextHopSelf: false,
    gracefulRestart: false,
    enabled: true,
    ...p,
  };
}

export async function waitFor(pred: () => boolean, timeoutMs = 5000, what = "condition"): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export function openMessage(o: Partial<OpenMessage> = {}): OpenMessage {
  return {
    type: 1,
    version: 4,
    myAs: 64512,
    holdTime: 90,
    bgpId: "10.9.9.9",
    capabilities: {
      multiprotocol: [{ afi: 1, safi: 1 }],
      routeRefresh: true,
      enhancedRouteRefresh: false,
      fourOctetAs: o.myAs ?? 64512,
      addPath: [],
      others: [],
    },
    ...o,
  };
}

/** A hand-driven BGP speaker on a raw socket: records every message it receives. */
export class RawPeer {
  readonly received: BgpMessage[] = [];
  closed = false;
  private readonly framer = new MessageFramer();
  constructor(readonly socket: net.Socket) {
    socket.on("data", (chunk: Buffer) => {
      for (const m of this.framer.push(chunk)) this.received.push(decodeMessage(m, DEFAULT_CODEC_OPTIONS));
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      this.closed = true;
    });
  }

  static connect(opts: { host: string; port: number; localAddress: string }): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const s = net.connect(opts, () => resolve(new RawPeer(s)));
      s.once("error", reject);
    });
  }

  send(msg: BgpMessage | Buffer): void {
    this.socket.write(Buffer.isBuffer(msg) ? msg : encodeMessage(msg, DEFAULT_CODEC_OPTIONS));
  }

  count(type: number): number {
    return this.received.filter((m) => m.type === type).length;
  }

  notifications(): { code: number; subcode: number; data: Buffer }[] {
    return this.received.flatMap((m) =>
      m.type === 3 ? [{ code: m.code, subcode: m.subcode, data: m.data }] : [],
    );
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** A raw TCP server on `host`; resolves each accepted connection as a RawPeer. */
export async function rawServer(
  host: string,
): Promise<{ server: net.Server; port: number; next: () => Promise<RawPeer> }> {
  const queue: RawPeer[] = [];
  const waiters: ((p: RawPeer) => void)[] = [];
  const server = net.createServer((s) => {
    const p = new RawPeer(s);
    const w = waiters.shift();
    if (w) w(p);
    else queue.push(p);
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    server,
    port,
    next: () => {
      const p = queue.shift();
      return p ? Promise.resolve(p) : new Promise((r) => waiters.push(r));
    },
  };
}
