/**
 * WireGuard tunnels on Linux: `WireGuardManager` owns the interfaces named in the config.
 *
 *  - create: `ip link add IF type wireguard` (kernel module); when the kernel has no wireguard
 *    support it falls back to `wireguard-go -f IF` (userspace, WG_PROCESS_FOREGROUND=1), kept
 *    as a child process and waited for until its control socket /var/run/wireguard/IF.sock
 *    exists. The socket directory is machine-wide, so names must be unique on the machine.
 *  - configure: `wg set` (private key through a 0600 temp file that is deleted right after,
 *    listen port, peers), `ip address add/del`, `ip link set IF mtu M up`. Every change is made
 *    in place from the plan in ../tunnels.ts: a peer-only change never recreates the interface.
 *  - status: `wg show IF dump` → per peer handshake age, endpoint, rx/tx, up/down.
 *  - stale sessions: given `bgpDown` (BGP peers not Established), every 500 ms it reads the
 *    counters of each tunnel peer (with a configured endpoint) that routes one of those peers;
 *    one we keep sending to that stays silent for STALE_SILENCE_MS is reset (`wg set ... remove`
 *    and added back), the BGP sessions are told to connect again (`onPeerReset`) and one packet
 *    is sent to the BGP peer, so a fresh handshake starts now instead of after WireGuard's own
 *    15 s (a far end that restarted has dropped our keys).
 *  - shutdown: `ip link del IF` (wireguard-go exits when its device goes away; it is killed if not).
 *
 * Every command is an argv array through execa (never a shell); `netns` prefixes them with
 * `ip netns exec NS` (tests). Private keys are never logged and are scrubbed from every error:
 * `wg show dump` prints the private key, so its output never reaches a message.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa, type ResultPromise } from "execa";
import type { Logger } from "../../core/log.ts";
import {
  canonicalIfAddress,
  DEFAULT_HANDSHAKE_TIMEOUT,
  defaultTunnelMtu,
  isWgKey,
  parseEndpoint,
  parseWgDump,
  peerResetArgv,
  peerState,
  planInterface,
  StaleSessionDetector,
  scrubSecrets,
  stepArgv,
  type TunnelPeerStatus,
  type TunnelStatus,
  type WgInterfaceDesired,
  type WgObserved,
  type WireGuardDesired,
  wgPeerForAddress,
} from "../tunnels.ts";

export type { TunnelStatus } from "../tunnels.ts";

export interface WireGuardManagerOptions {
  readonly log: Logger;
  /** Run every command inside this network namespace (`ip netns exec NS ...`). */
  readonly netns?: string;
  /** auto: kernel module, else wireguard-go. */
  readonly implementation?: "auto" | "kernel" | "userspace";
  /** Overrides the desired state's handshakeTimeout (seconds). */
  readonly handshakeTimeout?: number;
  /** Status refresh period; 0 = only on refresh()/apply(). Default 10 s. */
  readonly pollIntervalMs?: number;
  /** wireguard-go binary (default from PATH). */
  readonly wireguardGo?: string;
  /** wireguard-go control socket directory (default /var/run/wireguard). */
  readonly socketDir?: string;
  /** How long to wait for wireguard-go's socket (default 5 s). */
  readonly startTimeoutMs?: number;
  /**
   * Addresses of the BGP peers that are not Established. When given, tunnel peers routing one of
   * them are checked every `staleCheckMs` and reset when their session is stale.
   */
  readonly bgpDown?: () => readonly string[];
  /**
   * Called with the BGP peers routed over a tunnel peer right after its session was reset, so
   * they connect again at once: their SYN waits in WireGuard's queue during the handshake and
   * goes out the moment it completes, instead of at the next retry.
   */
  readonly onPeerReset?: (bgpPeers: readonly string[]) => void;
  /** Stale-session check period while a BGP peer is down (default 500 ms). */
  readonly staleCheckMs?: number;
  /** Receive silence before a reset (default STALE_SILENCE_MS). */
  readonly staleSilenceMs?: number;
}

interface Managed {
  implementation: "kernel" | "userspace";
  lastApplied?: WgInterfaceDesired;
  child?: ResultPromise;
  childExited?: boolean;
  error?: string;
}

/** Set to "off" to disable the stale-session reset. */
export const STALE_RESET_ENV = "PODGATE_WG_STALE_RESET";

export class WireGuardError extends Error {
  override readonly name = "WireGuardError";
}

export class WireGuardManager {
  private readonly log: Logger;
  private readonly managed = new Map<string, Managed>();
  private readonly secrets = new Set<string>();
  /** Time (unix s) rx bytes were last seen growing, per "if/publicKey". */
  private readonly lastRx = new Map<string, { rx: number; at: number }>();
  private statuses: TunnelStatus[] = [];
  private queue: Promise<unknown> = Promise.resolve();
  private kernelMissing = false;
  private timeout: number;
  private timer: NodeJS.Timeout | undefined;
  private staleTimer: NodeJS.Timeout | undefined;
  private readonly stale: StaleSessionDetector;
  private desired: WireGuardDesired | undefined;
  private stopped = false;

  constructor(private readonly opts: WireGuardManagerOptions) {
    this.log = opts.log;
    this.timeout = opts.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
    this.stale = new StaleSessionDetector(opts.staleSilenceMs);
  }

  /** Brings the machine to `desired`; tunnels not in it that this manager made are removed. */
  apply(desired: WireGuardDesired): Promise<void> {
    return this.serial(async () => {
      this.stopped = false;
      this.desired = desired;
      this.timeout = this.opts.handshakeTimeout ?? desired.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
      const names = new Set(desired.interfaces.map((i) => i.name));
      const failures: string[] = [];
      for (const [name, m] of [...this.managed]) {
        if (names.has(name)) continue;
        try {
          await this.remove(name, m);
        } catch (e) {
          failures.push(`${name}: ${this.msg(e)}`);
        }
      }
      for (const d of desired.interfaces) {
        try {
          await this.applyOne(d);
        } catch (e) {
          const message = this.msg(e);
          const m = this.managed.get(d.name);
          if (m) m.error = message;
          failures.push(`${d.name}: ${message}`);
          this.log.error({ tunnel: d.name, error: message }, "WireGuard tunnel not applied");
        }
      }
      await this.refreshNow();
      this.startPolling();
      this.startStaleWatch();
      if (failures.length > 0) throw new WireGuardError(failures.join("; "));
    });
  }

  /** Last observed status (refreshed every pollIntervalMs, after apply() and by refresh()). */
  status(): TunnelStatus[] {
    return this.statuses;
  }

  /** Reads `wg show dump` for every tunnel now and returns the new status. */
  refresh(): Promise<TunnelStatus[]> {
    return this.serial(() => this.refreshNow());
  }

  /**
   * Removes every tunnel this manager made and stops wireguard-go. `keepKernel`: leave kernel
   * module interfaces up (forwarding continues across a restart; the next start adopts them).
   * wireguard-go tunnels are always removed: the process lives on pipes to this one.
   */
  shutdown(opts: { keepKernel?: boolean } = {}): Promise<void> {
    return this.serial(async () => {
      this.stopped = true;
      if (this.timer) clearInterval(this.timer);
      this.timer = undefined;
      if (this.staleTimer) clearInterval(this.staleTimer);
      this.staleTimer = undefined;
      const failures: string[] = [];
      for (const [name, m] of [...this.managed]) {
        if (opts.keepKernel && m.implementation === "kernel") {
          this.managed.delete(name);
          this.log.info({ tunnel: name }, "WireGuard tunnel kept (kernel)");
          continue;
        }
        try {
          await this.remove(name, m);
        } catch (e) {
          failures.push(`${name}: ${this.msg(e)}`);
        }
      }
      this.statuses = [];
      if (failures.length > 0) throw new WireGuardError(failures.join("; "));
    });
  }

  /**
   * One stale-session check (what the `bgpDown` timer runs): reads the counters of every tunnel
   * peer with a configured endpoint that routes one of `down`, resets the stale ones. Returns
   * "if/publicKey" of each peer reset.
   */
  checkStale(down: readonly string[]): Promise<string[]> {
    return this.serial(() => this.checkStaleNow(down));
  }

  // ---- internals --------------------------------------------------------------------------------

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.queue.then(fn, fn);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private msg(e: unknown): string {
    return scrubSecrets(e instanceof Error ? e.message : String(e), this.secrets);
  }

  private argv(cmd: readonly string[]): string[] {
    return this.opts.netns ? ["ip", "netns", "exec", this.opts.netns, ...cmd] : [...cmd];
  }

  /** Runs argv; never throws for a non-zero exit. Output stays here: callers build messages. */
  private async exec(
    cmd: readonly string[],
    opts: { input?: string; root?: boolean } = {},
  ): Promise<{ code: number; stdout: string; stderr: string }> {
    const [file, ...args] = opts.root ? [...cmd] : this.argv(cmd);
    const r = await execa(file!, args, {
      reject: false,
      timeout: 20_000,
      ...(opts.input === undefined ? { stdin: "ignore" as const } : { input: opts.input }),
    });
    return { code: r.exitCode ?? 1, stdout: String(r.stdout), stderr: String(r.stderr) };
  }

  /** Like exec, throwing a scrubbed error with stderr (never stdout: it may hold a key). */
  private async run(cmd: readonly string[]): Promise<string> {
    const r = await this.exec(cmd);
    if (r.code !== 0) {
      throw new WireGuardError(
        scrubSecrets(`${cmd.slice(0, 3).join(" ")} failed (${r.code}): ${r.stderr.trim()}`, this.secrets),
      );
    }
    return r.stdout;
  }

  private readKey(file: string): string {
    let mode: number;
    try {
      mode = statSync(file).mode & 0o777;
    } catch (e) {
      throw new WireGuardError(
        `cannot read private key file ${file} (${(e as NodeJS.ErrnoException).code ?? "error"})`,
      );
    }
    if ((mode & 0o077) !== 0) {
      throw new WireGuardError(
        `private key file ${file} is accessible by group or others (mode ${mode.toString(8).padStart(4, "0")}); chmod 600 it`,
      );
    }
    const key = readFileSync(file, "utf8").trim();
    if (!isWgKey(key)) throw new WireGuardError(`private key file ${file} does not hold a WireGuard key`);
    this.secrets.add(key);
    return key;
  }

  private async publicKeyOf(privateKey: string): Promise<string> {
    const r = await this.exec(["wg", "pubkey"], { input: `${privateKey}\n`, root: true });
    const pub = r.stdout.trim();
    if (r.code !== 0 || !isWgKey(pub)) throw new WireGuardError("wg pubkey failed");
    return pub;
  }

  private async observe(name: string): Promise<WgObserved | undefined> {
    const link = await this.exec(["ip", "-j", "link", "show", "dev", name]);
    if (link.code !== 0) return undefined;
    const info = (JSON.parse(link.stdout) as { mtu: number; flags: string[] }[])[0];
    if (!info) return undefined;
    const dump = await this.exec(["wg", "show", name, "dump"]);
    if (dump.code !== 0) {
      throw new WireGuardError(`interface ${name} exists but is not a WireGuard interface`);
    }
    const addr = await this.run(["ip", "-j", "address", "show", "dev", name]);
    const addrs = (
      JSON.parse(addr) as { addr_info?: { local: string; prefixlen: number; scope: string }[] }[]
    )
      .flatMap((x) => x.addr_info ?? [])
      .filter((a) => a.scope !== "link")
      .map((a) => `${a.local}/${a.prefixlen}`);
    return {
      mtu: info.mtu,
      up: info.flags.includes("UP"),
      addresses: addrs,
      dump: parseWgDump(dump.stdout),
    };
  }

  /** Smallest MTU of the links toward the peers' endpoints (default route when none is an IP). */
  private async underlayMtu(d: WgInterfaceDesired): Promise<number | undefined> {
    const targets = d.peers
      .map((p) => (p.endpoint ? parseEndpoint(p.endpoint)?.host : undefined))
      .filter((h): h is string => h !== undefined && /^[0-9a-fA-F.:]+$/.test(h));
    const devs = new Set<string>();
    for (const t of targets) {
      const r = await this.exec(["ip", "-j", "route", "get", t]);
      const dev = r.code === 0 ? (JSON.parse(r.stdout) as { dev?: string }[])[0]?.dev : undefined;
      if (dev) devs.add(dev);
    }
    if (devs.size === 0) {
      for (const fam of ["-4", "-6"]) {
        const r = await this.exec(["ip", "-j", fam, "route", "show", "default"]);
        const dev = r.code === 0 ? (JSON.parse(r.stdout) as { dev?: string }[])[0]?.dev : undefined;
        if (dev) devs.add(dev);
      }
    }
    let min: number | undefined;
    for (const dev of devs) {
      if (dev === d.name) continue;
      const r = await this.exec(["ip", "-j", "link", "show", "dev", dev]);
      const mtu = r.code === 0 ? (JSON.parse(r.stdout) as { mtu?: number }[])[0]?.mtu : undefined;
      if (mtu !== undefined) min = min === undefined ? mtu : Math.min(min, mtu);
    }
    return min;
  }

  private async applyOne(d: WgInterfaceDesired): Promise<void> {
    const key = this.readKey(d.privateKeyFile);
    const pub = await this.publicKeyOf(key);
    const observed = await this.observe(d.name);
    let m = this.managed.get(d.name);
    if (observed && !m) {
      // Left by a previous run (or made by hand): adopt it and reconfigure in place.
      const sock = join(this.opts.socketDir ?? "/var/run/wireguard", `${d.name}.sock`);
      m = { implementation: existsSync(sock) ? "userspace" : "kernel" };
      this.managed.set(d.name, m);
      this.log.info({ tunnel: d.name }, "adopting existing WireGuard interface");
    }
    const mtu = d.mtu ?? defaultTunnelMtu(await this.underlayMtu(d));
    const steps = planInterface({
      desired: d,
      observed,
      desiredPublicKey: pub,
      mtu,
      ...(m?.lastApplied ? { lastApplied: m.lastApplied } : {}),
    });
    for (const step of steps) {
      if (step.op === "create") {
        // Counters of a new device start at 0 again.
        for (const k of [...this.lastRx.keys()]) if (k.startsWith(`${d.name}/`)) this.lastRx.delete(k);
        m = await this.create(d.name);
        continue;
      }
      if (step.op === "private-key") {
        await this.withKeyFile(key, (file) => this.run(stepArgv(d.name, step, file)));
        continue;
      }
      await this.run(stepArgv(d.name, step));
    }
    if (steps.length > 0) {
      this.log.info(
        { tunnel: d.name, steps: steps.map((s) => s.op), mtu, publicKey: pub },
        "WireGuard tunnel configured",
      );
    }
    if (m) {
      m.lastApplied = d;
      delete m.error;
    }
  }

  /** Writes the key to a fresh 0600 file in a 0700 directory for `fn`, then deletes both. */
  private async withKeyFile<T>(key: string, fn: (file: string) => Promise<T>): Promise<T> {
    const dir = mkdtempSync(join(tmpdir(), "podgate-wg-"));
    const file = join(dir, "key");
    try {
      writeFileSync(file, `${key}\n`, { mode: 0o600, flag: "wx" });
      return await fn(file);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  private async create(name: string): Promise<Managed> {
    const impl = this.opts.implementation ?? "auto";
    if (impl !== "userspace" && !this.kernelMissing) {
      const r = await this.exec(["ip", "link", "add", name, "type", "wireguard"]);
      if (r.code === 0) {
        const m: Managed = { implementation: "kernel" };
        this.managed.set(name, m);
        return m;
      }
      const missing = /unknown device type|not supported|no such device|not found/i.test(r.stderr);
      if (!missing || impl === "kernel") {
        throw new WireGuardError(`ip link add ${name} type wireguard failed: ${r.stderr.trim()}`);
      }
      this.kernelMissing = true;
      this.log.info("no WireGuard kernel module; using wireguard-go");
    }
    return await this.startUserspace(name);
  }

  private async startUserspace(name: string): Promise<Managed> {
    const sock = join(this.opts.socketDir ?? "/var/run/wireguard", `${name}.sock`);
    const [file, ...args] = this.argv([this.opts.wireguardGo ?? "wireguard-go", "-f", name]);
    const child = execa(file!, args, {
      env: { WG_PROCESS_FOREGROUND: "1" },
      reject: false,
      stdin: "ignore",
      all: true,
      buffer: false,
    });
    const m: Managed = { implementation: "userspace", child };
    this.managed.set(name, m);
    let output = "";
    child.all?.setEncoding("utf8");
    child.all?.on("data", (chunk: string) => {
      output = (output + chunk).slice(-4000);
      for (const line of chunk.split("\n")) {
        if (line.trim() !== "") this.log.debug({ tunnel: name }, `wireguard-go: ${line.trim()}`);
      }
    });
    void child.then((r) => {
      m.childExited = true;
      if (this.managed.get(name) !== m || this.stopped) return;
      this.log.error({ tunnel: name, exitCode: r.exitCode, signal: r.signal }, "wireguard-go exited");
      // Kept (status shows the tunnel absent with this error) until the re-apply recreates it.
      m.error = `wireguard-go exited (${r.signal ?? `code ${r.exitCode}`}); restarting`;
      // Bring the tunnel back with the last desired state.
      const desired = this.desired;
      if (desired) {
        setTimeout(() => {
          if (!this.stopped && this.desired === desired) void this.apply(desired).catch(() => undefined);
        }, 1000).unref();
      }
    });
    const deadline = Date.now() + (this.opts.startTimeoutMs ?? 5000);
    for (;;) {
      if (m.childExited) {
        this.managed.delete(name);
        throw new WireGuardError(`wireguard-go ${name} exited at start: ${output.trim().slice(-500)}`);
      }
      if (existsSync(sock) && (await this.exec(["ip", "link", "show", "dev", name])).code === 0) break;
      if (Date.now() > deadline) {
        child.kill("SIGTERM");
        this.managed.delete(name);
        throw new WireGuardError(`wireguard-go ${name}: no control socket ${sock} after start`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    this.log.info({ tunnel: name, pid: child.pid }, "wireguard-go started");
    return m;
  }

  private async remove(name: string, m: Managed): Promise<void> {
    this.managed.delete(name);
    const r = await this.exec(["ip", "link", "del", "dev", name]);
    const gone = r.code === 0 || /cannot find device|does not exist/i.test(r.stderr);
    if (m.child && !m.childExited) {
      // wireguard-go exits once its tun device is deleted; make sure it does.
      const exited = await Promise.race([
        m.child.then(() => true),
        new Promise<boolean>((res) => setTimeout(() => res(false), 2000)),
      ]);
      if (!exited) {
        m.child.kill("SIGTERM");
        await m.child;
      }
    }
    for (const k of [...this.lastRx.keys()]) if (k.startsWith(`${name}/`)) this.lastRx.delete(k);
    if (!gone) throw new WireGuardError(`ip link del ${name} failed: ${r.stderr.trim()}`);
    this.log.info({ tunnel: name }, "WireGuard tunnel removed");
  }

  private async refreshNow(): Promise<TunnelStatus[]> {
    const now = Math.floor(Date.now() / 1000);
    const out: TunnelStatus[] = [];
    for (const [name, m] of this.managed) {
      let o: WgObserved | undefined;
      let error = m.error;
      try {
        o = await this.observe(name);
      } catch (e) {
        error = this.msg(e);
      }
      if (!o) {
        out.push({ name, implementation: "absent", addresses: [], peers: [], ...(error ? { error } : {}) });
        continue;
      }
      const peers = o.dump.peers.map((p): TunnelPeerStatus => {
        const k = `${name}/${p.publicKey}`;
        const prev = this.lastRx.get(k);
        const at = prev && p.rxBytes > prev.rx ? now : prev?.at;
        this.lastRx.set(k, { rx: p.rxBytes, ...(at === undefined ? {} : { at }) } as {
          rx: number;
          at: number;
        });
        return {
          publicKey: p.publicKey,
          ...(p.endpoint ? { endpoint: p.endpoint } : {}),
          allowedIPs: p.allowedIPs,
          ...(p.latestHandshake > 0
            ? {
                latestHandshake: new Date(p.latestHandshake * 1000).toISOString(),
                handshakeAgeSeconds: Math.max(0, now - p.latestHandshake),
              }
            : {}),
          rxBytes: p.rxBytes,
          txBytes: p.txBytes,
          state: peerState(p.latestHandshake, at, now, this.timeout),
        };
      });
      out.push({
        name,
        implementation: m.implementation,
        ...(o.dump.publicKey ? { publicKey: o.dump.publicKey } : {}),
        listenPort: o.dump.listenPort,
        mtu: o.mtu,
        addresses: o.addresses.map(canonicalIfAddress),
        peers,
        ...(error ? { error } : {}),
      });
    }
    this.statuses = out;
    return out;
  }

  private async checkStaleNow(down: readonly string[]): Promise<string[]> {
    const watched = new Set<string>();
    const reset: string[] = [];
    if (this.stopped) return reset;
    for (const [name, m] of this.managed) {
      const d = m.lastApplied;
      if (!d) continue;
      // Peer → the down BGP addresses it routes (only peers we can initiate to).
      const routed = new Map<string, string[]>();
      for (const a of down) {
        const p = wgPeerForAddress(d.peers, a);
        if (p?.endpoint) routed.set(p.publicKey, [...(routed.get(p.publicKey) ?? []), a]);
      }
      if (routed.size === 0) continue;
      const dump = await this.exec(["wg", "show", name, "dump"]);
      if (dump.code !== 0) continue;
      const now = Date.now();
      for (const p of parseWgDump(dump.stdout).peers) {
        const addrs = routed.get(p.publicKey);
        const want = d.peers.find((x) => x.publicKey === p.publicKey);
        if (!addrs || !want) continue;
        const key = `${name}/${p.publicKey}`;
        watched.add(key);
        if (!this.stale.observe(key, p.rxBytes, p.txBytes, now)) continue;
        const r = await this.exec(peerResetArgv(name, want));
        if (r.code !== 0) {
          this.log.warn(
            { tunnel: name, peer: p.publicKey, error: r.stderr.trim() },
            "WireGuard peer reset failed",
          );
          continue;
        }
        this.stale.reset(key, Date.now());
        reset.push(key);
        this.log.info(
          { tunnel: name, peer: p.publicKey, bgpPeers: addrs, rxBytes: p.rxBytes, txBytes: p.txBytes },
          "WireGuard peer session reset",
        );
        try {
          this.opts.onPeerReset?.(addrs);
        } catch (e) {
          this.log.warn({ error: this.msg(e) }, "BGP connect retry after a WireGuard reset failed");
        }
        // One packet through the tunnel starts the handshake now (without persistent keepalive
        // the next one would wait for the BGP connect retry). Not awaited: nothing depends on it.
        void this.exec(["ping", "-n", "-c", "1", "-W", "1", addrs[0]!]).catch(() => undefined);
      }
    }
    this.stale.retain(watched);
    return reset;
  }

  private startStaleWatch(): void {
    const bgpDown = this.opts.bgpDown;
    if (!bgpDown || this.staleTimer || this.stopped) return;
    // Off switch for before/after measurements (bench/wireguard.ts) and for operators who see
    // a reason to leave the session to WireGuard's own 15 s timer.
    if (process.env[STALE_RESET_ENV] === "off") return;
    let busy = false;
    this.staleTimer = setInterval(() => {
      if (busy) return;
      let down: readonly string[];
      try {
        down = bgpDown();
      } catch {
        return;
      }
      if (down.length === 0) {
        this.stale.retain(new Set());
        return;
      }
      busy = true;
      void this.checkStale(down)
        .catch((e: unknown) => this.log.warn({ error: this.msg(e) }, "WireGuard stale-session check failed"))
        .finally(() => {
          busy = false;
        });
    }, this.opts.staleCheckMs ?? 500);
    this.staleTimer.unref();
  }

  private startPolling(): void {
    const every = this.opts.pollIntervalMs ?? 10_000;
    if (this.timer || every <= 0 || this.stopped) return;
    this.timer = setInterval(() => {
      void this.refresh().catch((e: unknown) => {
        this.log.warn({ error: this.msg(e) }, "WireGuard status refresh failed");
      });
    }, every);
    this.timer.unref();
  }
}
