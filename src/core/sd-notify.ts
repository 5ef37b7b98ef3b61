/**
 * systemd's service notification protocol (sd_notify(3)) for the daemon: readiness for
 * `Type=notify` (gateway/podgate.service), reload and stop notices, status text and watchdog
 * pings.
 *
 * A message is newline-separated `VAR=value` lines in one AF_UNIX datagram to $NOTIFY_SOCKET
 * (a path, or "@name" for the abstract namespace). Node cannot send unix datagrams, and
 * `systemd-notify` cannot stand in: systemd attributes a message to the sender's PID, and with
 * NotifyAccess=main only the daemon's own PID counts. So the datagram is sent by the native
 * addon (native/tcpsock, `sendUnixDatagram`) from this process.
 *
 * Nothing here ever throws into the daemon: without $NOTIFY_SOCKET (not started by systemd, or a
 * Type=simple unit) every call is a no-op; without the addon the first call logs once and the
 * rest are no-ops; a failed send is logged (warn once, then debug until a send succeeds).
 */
import type { Logger } from "./log.ts";
import { loadNativeAddon } from "./native.ts";

interface NotifyAddon {
  sendUnixDatagram(path: string, data: Buffer): number;
}

let addon: NotifyAddon | null | undefined;
let logger: Logger | undefined;
let reportedUnusable = false;
let failing = false;

function loadAddon(): NotifyAddon | null {
  if (addon !== undefined) return addon;
  const a = loadNativeAddon();
  // An addon built before sendUnixDatagram existed loads but cannot notify.
  addon = typeof a?.["sendUnixDatagram"] === "function" ? (a as unknown as NotifyAddon) : null;
  return addon;
}

/** The logger notify() reports problems to (none: silent). */
export function setNotifyLogger(log: Logger | undefined): void {
  logger = log;
}

/**
 * Sends `state` (e.g. "READY=1\nSTATUS=...") to $NOTIFY_SOCKET. Returns true when the datagram
 * was sent; false when there is no socket, no addon, or the send failed. Never throws.
 */
export function notify(state: string): boolean {
  const socket = process.env["NOTIFY_SOCKET"];
  if (!socket || state === "") return false;
  try {
    // systemd ≥ 254 also knows "vsock:CID:PORT"; a gateway VM's own manager uses a path.
    if (!socket.startsWith("/") && !socket.startsWith("@")) {
      reportUnusable({ socket }, "NOTIFY_SOCKET is neither a path nor @abstract: not notifying systemd");
      return false;
    }
    const a = loadAddon();
    if (!a) {
      reportUnusable(
        { socket },
        "native addon (native/tcpsock, `npm run build:addon`) missing or too old: cannot send READY=1, a Type=notify start will time out",
      );
      return false;
    }
    a.sendUnixDatagram(socket, Buffer.from(state, "utf8"));
    failing = false;
    return true;
  } catch (e) {
    const err = e as { code?: string; message?: string };
    const fields = { socket, code: err.code, error: err.message ?? String(e) };
    if (failing) logger?.debug(fields, "sd_notify failed");
    else logger?.warn(fields, "sd_notify failed");
    failing = true;
    return false;
  }
}

/**
 * Logged once, at warn: $NOTIFY_SOCKET is only set when a manager waits for us (systemd for
 * Type=notify, podman --sdnotify), so it will time the start out — the operator needs the reason.
 */
function reportUnusable(fields: Record<string, unknown>, msg: string): void {
  if (reportedUnusable) return;
  reportedUnusable = true;
  logger?.warn(fields, msg);
}

/** CLOCK_MONOTONIC in microseconds, as MONOTONIC_USEC= wants it (libuv's hrtime is CLOCK_MONOTONIC). */
export function monotonicUsec(): bigint {
  return process.hrtime.bigint() / 1000n;
}

/** Seconds added to the converge timeout when extending systemd's start timeout. */
const START_MARGIN_S = 30;

/**
 * How often to send WATCHDOG=1: half of $WATCHDOG_USEC (sd_watchdog_enabled(3)), or undefined
 * when the unit has no watchdog or $WATCHDOG_PID names another process.
 */
export function watchdogIntervalMs(
  env: NodeJS.ProcessEnv = process.env,
  pid: number = process.pid,
): number | undefined {
  const usecText = env["WATCHDOG_USEC"];
  if (usecText === undefined || !/^[0-9]+$/.test(usecText)) return undefined;
  const usec = Number(usecText);
  if (!Number.isSafeInteger(usec) || usec <= 0) return undefined;
  const watchdogPid = env["WATCHDOG_PID"];
  if (watchdogPid !== undefined && watchdogPid !== "" && Number(watchdogPid) !== pid) return undefined;
  return Math.max(1, Math.floor(usec / 2000));
}

/**
 * The daemon's side of Type=notify. READY=1 goes out once both `started()` (API and speaker up)
 * and `synced()` (every peer sent End-of-RIB, or the converge timeout passed) were called, in
 * either order. Reloads are bracketed by RELOADING=1 … READY=1 only after that first READY=1:
 * systemd would take a READY=1 during start-up as the end of the start. The watchdog pinger
 * runs from construction (systemd arms the watchdog only once the start finished) until close().
 */
export class SystemdNotifier {
  private isStarted = false;
  private isSynced = false;
  private readySent = false;
  private watchdog: NodeJS.Timeout | undefined;

  /** `status` renders the STATUS= text, e.g. "2/3 peers established, 120 routes accepted". */
  constructor(
    private readonly status: () => string,
    log?: Logger,
  ) {
    if (log) setNotifyLogger(log);
    const every = watchdogIntervalMs();
    if (every !== undefined) {
      notify("WATCHDOG=1");
      this.watchdog = setInterval(() => notify("WATCHDOG=1"), every);
      this.watchdog.unref();
    }
  }

  /** True once READY=1 was due (and sent when there is a $NOTIFY_SOCKET). */
  get ready(): boolean {
    return this.readySent;
  }

  /**
   * The daemon is up (control API listening, sessions started). When the peers have not synced
   * yet, `waitSeconds` (the converge timeout) extends systemd's start timeout past that wait
   * (EXTEND_TIMEOUT_USEC, systemd ≥ 236), so a slow peer does not fail the unit at
   * TimeoutStartSec.
   */
  started(waitSeconds: number): void {
    this.isStarted = true;
    if (!this.isSynced && !this.readySent) {
      // Margin on top of the wait: the timeout fires at convergeTimeout, READY=1 right after.
      const usec = BigInt(Math.ceil(waitSeconds) + START_MARGIN_S) * 1_000_000n;
      notify(
        `EXTEND_TIMEOUT_USEC=${usec}\nSTATUS=waiting for End-of-RIB from the peers: ${this.safeStatus()}`,
      );
    }
    this.maybeReady();
  }

  /** Every peer delivered its table, or the converge timeout passed. Idempotent. */
  synced(): void {
    this.isSynced = true;
    this.maybeReady();
  }

  /** Runs `fn` between RELOADING=1 (with MONOTONIC_USEC=) and READY=1 once the daemon is ready. */
  wrapReload<A extends unknown[], T>(fn: (...args: A) => Promise<T>): (...args: A) => Promise<T> {
    return async (...args: A) => {
      const bracket = this.readySent;
      if (bracket)
        notify(`RELOADING=1\nMONOTONIC_USEC=${monotonicUsec()}\nSTATUS=reloading the configuration`);
      try {
        return await fn(...args);
      } finally {
        if (bracket) notify(`READY=1\nSTATUS=${this.safeStatus()}`);
      }
    };
  }

  /** Shutdown began. */
  stopping(): void {
    notify("STOPPING=1\nSTATUS=shutting down");
  }

  /** Stops the watchdog pinger. */
  close(): void {
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = undefined;
  }

  private maybeReady(): void {
    if (this.readySent || !this.isStarted || !this.isSynced) return;
    this.readySent = true;
    notify(`READY=1\nSTATUS=${this.safeStatus()}`);
  }

  private safeStatus(): string {
    try {
      // One line: STATUS= ends at the newline.
      return this.status().replaceAll("\n", " ");
    } catch {
      return "running";
    }
  }
}

/** STATUS= text from the peer table: "2/3 peers established, 120 routes accepted". */
export function peerStatusLine(
  peers: readonly { readonly state: string; readonly prefixesAccepted: number }[],
): string {
  let up = 0;
  let routes = 0;
  for (const p of peers) {
    if (p.state === "Established") up++;
    routes += p.prefixesAccepted;
  }
  return `${up}/${peers.length} peers established, ${routes} routes accepted`;
}
