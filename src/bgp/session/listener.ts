/**
 * BgpListener: the one listening TCP socket (port 179 by default) shared by all peers. It owns
 * the per-peer TCP MD5 keys on the listening socket and GTSM, and hands each accepted
 * connection to the PeerSession registered for the remote address. Connections from unknown
 * addresses are closed at once (no NOTIFICATION: we say nothing to strangers).
 *
 * GTSM (RFC 5082): when every peer registered at start() uses ttlSecurity, IP_MINTTL is set on
 * the listening socket (handshakes are checked too). Otherwise it is set per accepted
 * connection of a ttlSecurity peer (setSocketTtl), so non-GTSM peers can still connect.
 */
import type net from "node:net";
import { BGP_PORT } from "../wire/constants.ts";
import { normalizeAddress, type PeerSession, type SessionLogger } from "./peer.ts";
import { GTSM_TTL, listenTcp, type SecureServer, setSocketTtl } from "./tcpsock.ts";

export interface ListenerOptions {
  /** Address to bind, e.g. "0.0.0.0", "::" or a specific local address. */
  readonly address: string;
  /** Default 179; 0 picks a free port (tests), see `port` after start(). */
  readonly port?: number;
  readonly logger?: SessionLogger;
  /** Default listenTcp (tests may inject). */
  readonly listen?: typeof listenTcp;
}

const nullLogger: SessionLogger = { debug() {}, info() {}, warn() {}, error() {} };

export class BgpListener {
  private readonly sessions = new Map<string, PeerSession>();
  private readonly opts: ListenerOptions;
  private readonly log: SessionLogger;
  private server: SecureServer | undefined;
  private gtsm = false;

  constructor(opts: ListenerOptions) {
    this.opts = opts;
    this.log = opts.logger ?? nullLogger;
  }

  /** The bound port (useful with port 0), or undefined before start(). */
  get port(): number | undefined {
    const a = this.server?.server.address();
    return a && typeof a === "object" ? a.port : undefined;
  }

  /**
   * Registers a session: connections from its address go to it. Its MD5 key is installed on the
   * listening socket (now if listening, else at start).
   */
  register(session: PeerSession): void {
    const addr = normalizeAddress(session.address);
    this.sessions.set(addr, session);
    if (this.server && session.config.password !== undefined) {
      this.server.setPeerKey(addr, session.config.password);
    }
  }

  /** Forgets a session and removes its MD5 key. Its connections are the session's to close. */
  unregister(address: string): void {
    const addr = normalizeAddress(address);
    const s = this.sessions.get(addr);
    this.sessions.delete(addr);
    if (this.server && s?.config.password !== undefined) {
      try {
        this.server.setPeerKey(addr, undefined);
      } catch (err) {
        this.log.warn({ peer: addr, err: (err as Error).message }, "could not remove TCP MD5 key");
      }
    }
  }

  session(address: string): PeerSession | undefined {
    return this.sessions.get(normalizeAddress(address));
  }

  async start(): Promise<void> {
    if (this.server) return;
    const keys = new Map<string, string>();
    for (const [addr, s] of this.sessions) {
      if (s.config.password !== undefined) keys.set(addr, s.config.password);
    }
    const all = [...this.sessions.values()];
    this.gtsm = all.length > 0 && all.every((s) => s.config.ttlSecurity);
    const listen = this.opts.listen ?? listenTcp;
    this.server = await listen(
      {
        host: this.opts.address,
        port: this.opts.port ?? BGP_PORT,
        ...(keys.size > 0 ? { keys } : {}),
        ...(this.gtsm ? { ttl: GTSM_TTL, minTtl: GTSM_TTL } : {}),
      },
      (socket) => this.onConnection(socket),
    );
    this.log.info({ address: this.opts.address, port: this.port, gtsm: this.gtsm }, "BGP listener started");
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (s) await s.close();
  }

  private onConnection(socket: net.Socket): void {
    socket.on("error", () => {}); // until a session owns it; never crash on a reset
    const remote = normalizeAddress(socket.remoteAddress ?? "");
    const session = this.sessions.get(remote);
    if (!session) {
      this.log.info({ remote, port: socket.remotePort }, "connection from unknown address closed");
      socket.destroy();
      return;
    }
    this.log.debug({ peer: remote, port: socket.remotePort }, "incoming connection");
    if (session.config.ttlSecurity && !this.gtsm) {
      try {
        setSocketTtl(socket, { ttl: GTSM_TTL, minTtl: GTSM_TTL });
      } catch (err) {
        this.log.error(
          { peer: remote, err: (err as Error).message },
          "cannot apply GTSM to incoming connection",
        );
        socket.destroy();
        return;
      }
    }
    session.acceptConnection(socket);
  }
}
