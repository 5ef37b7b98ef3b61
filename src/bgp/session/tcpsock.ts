/**
 * TCP transport for BGP sessions with the kernel's transport security: TCP MD5 signatures
 * (RFC 2385, Linux TCP_MD5SIG) and the Generalized TTL Security Mechanism (RFC 5082, outgoing
 * TTL + IP_MINTTL / IPV6_MINHOPCOUNT).
 *
 * Owns the binding to the small N-API addon in native/tcpsock (built by `npm run build:addon`),
 * which creates the socket, sets the options and binds/listens; the fd is then handed to
 * net.Socket / net.Server, which own it. Without security options everything works on plain
 * `net`, so the addon is only needed when MD5 or GTSM is configured.
 *
 * Errors carry Node's usual `code` (ECONNREFUSED, ETIMEDOUT, EADDRINUSE, ...). Passwords never
 * appear in errors or logs. A peer with the wrong password is indistinguishable from a dead
 * one: the kernel drops its segments, so connects time out (see docs/tcp-md5.md).
 */
import { lookup } from "node:dns/promises";
import net from "node:net";
import { loadNativeAddon } from "../../core/native.ts";

/** Transport security for one session. GTSM (RFC 5082 §3): set ttl and minTtl both to 255. */
export interface TcpSecurity {
  /** RFC 2385 shared key, at most 80 bytes (TCP_MD5SIG_MAXKEYLEN) in UTF-8. */
  md5Password?: string;
  /** Outgoing IP TTL / IPv6 hop limit, 1..255. */
  ttl?: number;
  /** Drop received segments whose TTL / hop limit is below this (IP_MINTTL), 1..255. */
  minTtl?: number;
}

export interface SecureServer {
  server: net.Server;
  /**
   * Adds, replaces (password defined) or removes (undefined) the MD5 key for connections from
   * `peer`, an IP address or "address/prefixlen". Applies to connections accepted afterwards;
   * already accepted sockets keep the key they were accepted with.
   */
  setPeerKey(peer: string, password: string | undefined): void;
  /** Stops accepting and frees the port. Accepted sockets stay open: their owners close them. */
  close(): Promise<void>;
}

/** RFC 2385 keys are limited by Linux's struct tcp_md5sig. */
export const TCP_MD5SIG_MAXKEYLEN = 80;
/** RFC 5082 §3: GTSM peers send with, and require, the maximum TTL. */
export const GTSM_TTL = 255;

const ADDON_MISSING = "ERR_TCPSOCK_ADDON_MISSING";
const DEFAULT_BACKLOG = 511;

interface Addon {
  open(ipVersion: 4 | 6): number;
  setOption(fd: number, name: "ttl" | "minttl" | "reuseaddr", value: number): void;
  setMd5(fd: number, peer: string, prefixLen: number, key: Buffer | null): void;
  bind(fd: number, address: string, port: number): void;
  listen(fd: number, backlog: number): void;
  close(fd: number): void;
}

let addon: Addon | null | undefined;

function loadAddon(): Addon | null {
  if (addon !== undefined) return addon;
  // Lets an operator (and the fallback test) run without the addon even when it is built.
  if (process.env["PODGATE_NO_TCPSOCK_ADDON"] === "1") {
    addon = null;
    return addon;
  }
  addon = loadNativeAddon() as Addon | null;
  return addon;
}

/** False when native/tcpsock is not built; MD5/GTSM then fail, plain TCP still works. */
export function addonAvailable(): boolean {
  return loadAddon() !== null;
}

function requireAddon(): Addon {
  const a = loadAddon();
  if (a) return a;
  throw codeError(
    ADDON_MISSING,
    "TCP MD5/GTSM need the native addon: run `npm run build:addon` (native/tcpsock)",
  );
}

function codeError(code: string, message: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), { code, ...extra });
}

function wantsSecurity(s: TcpSecurity): boolean {
  return s.md5Password !== undefined || s.ttl !== undefined || s.minTtl !== undefined;
}

function checkTtl(name: string, v: number | undefined): void {
  if (v !== undefined && (!Number.isInteger(v) || v < 1 || v > 255)) {
    throw codeError("ERR_INVALID_ARG_VALUE", `${name} must be an integer 1..255, got ${v}`);
  }
}

/** The key bytes; the error message names the problem, never the password. */
function md5Key(password: string): Buffer {
  const key = Buffer.from(password, "utf8");
  if (key.length === 0 || key.length > TCP_MD5SIG_MAXKEYLEN) {
    throw codeError(
      "ERR_INVALID_ARG_VALUE",
      `MD5 password must be 1..${TCP_MD5SIG_MAXKEYLEN} bytes, got ${key.length}`,
    );
  }
  return key;
}

/** "10.0.0.1" or "10.0.0.0/24" → address and prefix length (-1: single address). */
function parsePeer(peer: string): { address: string; prefixLen: number } {
  const slash = peer.indexOf("/");
  const address = slash < 0 ? peer : peer.slice(0, slash);
  const family = net.isIP(address);
  const max = family === 6 ? 128 : 32;
  const prefixLen = slash < 0 ? -1 : Number(peer.slice(slash + 1));
  if (family === 0 || (slash >= 0 && !(Number.isInteger(prefixLen) && prefixLen >= 0 && prefixLen <= max))) {
    throw codeError("ERR_INVALID_ARG_VALUE", `MD5 peer must be an IP address or address/prefix, got ${peer}`);
  }
  return { address, prefixLen };
}

async function resolve(host: string): Promise<{ address: string; family: 4 | 6 }> {
  const f = net.isIP(host);
  if (f === 4 || f === 6) return { address: host, family: f };
  const r = await lookup(host);
  return { address: r.address, family: r.family === 6 ? 6 : 4 };
}

/** Sets TTL/GTSM options on a fresh fd (the fd is still ours: caller closes it on throw). */
function applyTtl(a: Addon, fd: number, s: { ttl?: number; minTtl?: number }): void {
  if (s.ttl !== undefined) a.setOption(fd, "ttl", s.ttl);
  if (s.minTtl !== undefined) a.setOption(fd, "minttl", s.minTtl);
}

function closeQuietly(a: Addon, fd: number): void {
  try {
    a.close(fd);
  } catch {
    // The fd was ours and valid; nothing useful to do if close fails.
  }
}

/**
 * Opens a TCP connection. With md5Password/ttl/minTtl the socket is prepared by the addon before
 * connect(); otherwise plain net.connect is used. Rejects with an Error carrying `code`.
 */
export async function connectTcp(
  opts: { host: string; port: number; localAddress?: string; timeoutMs?: number } & TcpSecurity,
): Promise<net.Socket> {
  checkTtl("ttl", opts.ttl);
  checkTtl("minTtl", opts.minTtl);
  const key = opts.md5Password === undefined ? null : md5Key(opts.md5Password);
  const { address, family } = await resolve(opts.host);

  const plain = !wantsSecurity(opts);
  let sock: net.Socket;
  if (plain) {
    sock = new net.Socket();
  } else {
    const a = requireAddon();
    const local = opts.localAddress === undefined ? family : net.isIP(opts.localAddress);
    if (local !== family) {
      throw codeError(
        "EAFNOSUPPORT",
        `localAddress ${opts.localAddress} is not an IPv${family} address like ${address}`,
      );
    }
    const fd = a.open(family);
    try {
      applyTtl(a, fd, opts);
      if (key) a.setMd5(fd, address, -1, key);
      if (opts.localAddress !== undefined) a.bind(fd, opts.localAddress, 0);
      // manualStart: don't read before connect() (an unconnected socket polls as hung up).
      // Node reuses the existing handle in connect(), so libuv connects our fd.
      sock = new net.Socket({ fd, manualStart: true } as net.SocketConstructorOpts);
    } catch (err) {
      closeQuietly(a, fd);
      throw err;
    } finally {
      key?.fill(0);
    }
  }
  try {
    sock.connect({
      host: address,
      port: opts.port,
      // The addon already bound the fd to localAddress.
      ...(plain && opts.localAddress !== undefined ? { localAddress: opts.localAddress } : {}),
    });
  } catch (err) {
    sock.destroy(); // e.g. ERR_SOCKET_BAD_PORT: don't leak the fd
    throw err;
  }
  return await awaitConnect(sock, address, opts.port, opts.timeoutMs);
}

function awaitConnect(
  sock: net.Socket,
  address: string,
  port: number,
  timeoutMs?: number,
): Promise<net.Socket> {
  return new Promise((resolveConnect, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const done = (err?: Error) => {
      if (timer) clearTimeout(timer);
      sock.off("connect", onConnect);
      sock.off("error", onError);
      if (err) {
        sock.destroy();
        reject(err);
      } else {
        resolveConnect(sock);
      }
    };
    const onConnect = () => done();
    const onError = (err: Error) => done(err);
    sock.once("connect", onConnect);
    sock.once("error", onError);
    if (timeoutMs !== undefined) {
      timer = setTimeout(
        () =>
          done(
            codeError("ETIMEDOUT", `connect ETIMEDOUT ${address}:${port} after ${timeoutMs} ms`, {
              syscall: "connect",
              address,
              port,
            }),
          ),
        timeoutMs,
      );
    }
  });
}

/**
 * Listens for connections. When the addon is built the listening socket is created by it, so
 * MD5 keys (per peer, also later via setPeerKey) and GTSM options apply to every accepted
 * connection; without the addon only plain listening is possible.
 */
export async function listenTcp(
  opts: {
    host: string;
    port: number;
    backlog?: number;
    minTtl?: number;
    ttl?: number;
    keys?: ReadonlyMap<string, string>;
  },
  onConnection: (s: net.Socket) => void,
): Promise<SecureServer> {
  checkTtl("ttl", opts.ttl);
  checkTtl("minTtl", opts.minTtl);
  const keys = [...(opts.keys ?? new Map<string, string>())].map(
    ([peer, pw]) => [parsePeer(peer), pw] as const,
  );
  const secure = keys.length > 0 || opts.ttl !== undefined || opts.minTtl !== undefined;
  const a = secure ? requireAddon() : loadAddon();
  const backlog = opts.backlog ?? DEFAULT_BACKLOG;
  const server = net.createServer(onConnection);

  if (!a) {
    await listenOn(server, { host: opts.host, port: opts.port }, backlog);
    return {
      server,
      setPeerKey(_peer, password) {
        if (password !== undefined) requireAddon();
      },
      close: () => closeServer(server),
    };
  }

  const { address, family } = await resolve(opts.host);
  const fd = a.open(family);
  try {
    a.setOption(fd, "reuseaddr", 1);
    applyTtl(a, fd, opts);
    for (const [peer, pw] of keys) setKey(a, fd, peer, pw);
    a.bind(fd, address, opts.port);
    a.listen(fd, backlog);
  } catch (err) {
    closeQuietly(a, fd);
    throw err;
  }
  // From here net.Server owns the fd (it closes it on server.close()).
  await listenOn(server, { fd }, backlog);
  return {
    server,
    setPeerKey(peer, password) {
      const p = parsePeer(peer);
      // After close the fd number may belong to something else: never touch it.
      if (!server.listening) throw codeError("ERR_SERVER_NOT_RUNNING", "listener is closed");
      setKey(a, fd, p, password);
    },
    close: () => closeServer(server),
  };
}

/**
 * Sets TTL / GTSM minimum TTL on an already connected socket (e.g. one accepted by a listener
 * shared by GTSM and non-GTSM peers: IP_MINTTL on the listener would apply to all of them).
 * Segments below minTtl are dropped from then on; the handshake itself was not checked.
 */
export function setSocketTtl(socket: net.Socket, opts: { ttl?: number; minTtl?: number }): void {
  checkTtl("ttl", opts.ttl);
  checkTtl("minTtl", opts.minTtl);
  if (opts.ttl === undefined && opts.minTtl === undefined) return;
  const a = requireAddon();
  // TCPWrap exposes its fd on Unix; -1 or undefined once closed.
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (fd === undefined || fd < 0) throw codeError("ERR_SOCKET_CLOSED", "socket is closed");
  applyTtl(a, fd, opts);
}

function setKey(
  a: Addon,
  fd: number,
  p: { address: string; prefixLen: number },
  pw: string | undefined,
): void {
  if (pw === undefined) {
    try {
      a.setMd5(fd, p.address, p.prefixLen, null);
    } catch (err) {
      // Removing a key that isn't there is not an error for the caller.
      if ((err as { code?: string }).code !== "ENOENT") throw err;
    }
    return;
  }
  const key = md5Key(pw);
  try {
    a.setMd5(fd, p.address, p.prefixLen, key);
  } finally {
    key.fill(0);
  }
}

function listenOn(
  server: net.Server,
  target: net.ListenOptions | { fd: number },
  backlog: number,
): Promise<void> {
  return new Promise((res, rej) => {
    const onError = (err: Error) => rej(err);
    server.once("error", onError);
    // listen(handle, backlog, cb) is Node's documented form for an fd.
    server.listen(target, backlog, () => {
      server.off("error", onError);
      res();
    });
  });
}

function closeServer(server: net.Server): Promise<void> {
  // net.Server.close() closes the listening fd synchronously; its callback would wait for
  // every accepted socket, which the session layer owns.
  if (server.listening) server.close();
  return Promise.resolve();
}
