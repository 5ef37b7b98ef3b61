/**
 * Network-namespace test lab: one `Lab` per test file owns a set of namespaces ("hosts"),
 * veth links and bridged LAN segments between them, the processes spawned inside them and a
 * temp directory for configs, sockets and logs. Teardown kills everything and deletes the
 * namespaces; a synchronous fallback runs on process exit, signals and uncaught exceptions so a
 * crashed test leaves nothing behind. All names carry a per-process prefix (`pg<pid>x<n>`) so
 * parallel runs do not clash.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { missingPrereqs } from "../helpers/prereq.ts";

export interface ExecResult {
  stdout: string;
  stderr: string;
  code: number;
}

export interface ExecOptions {
  /** Kill the command after this long (default 20 s). */
  timeoutMs?: number;
  /** Data written to stdin. */
  input?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface SpawnOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Log file name inside lab.dir (default `<host>-<argv0>-<n>.log`). */
  logName?: string;
  /** Pipe stdin instead of ignoring it (the caller writes to child.stdin). */
  stdinPipe?: boolean;
}

/** A process started by `host.spawn`, with its log file. */
export interface LabProcess {
  readonly child: ChildProcess;
  readonly logFile: string;
  readonly argv: readonly string[];
  /** Resolves with the exit code (or signal name) once the process has exited. */
  readonly exited: Promise<number | string>;
  /** True until the process has exited. */
  running(): boolean;
  /** Log contents so far. */
  log(): string;
}

export interface LinkOptions {
  /** IPv4 address with prefix length on a's end, e.g. "10.0.0.1/30". */
  aAddr?: string;
  bAddr?: string;
  /** IPv6 address with prefix length on a's end, e.g. "fd00::1/64" (added with nodad). */
  a6?: string;
  b6?: string;
  mtu?: number;
}

export interface BridgeMember {
  host: Host;
  addr?: string;
  addr6?: string;
}

let labCounter = 0;
const liveLabs = new Set<Lab>();
let hooksInstalled = false;

function execFileP(file: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve) => {
    const child = execFile(
      file,
      args,
      {
        timeout: opts.timeoutMs ?? 20_000,
        maxBuffer: 64 * 1024 * 1024,
        env: opts.env ?? process.env,
        cwd: opts.cwd,
        encoding: "utf8",
      },
      (err, stdout, stderr) => {
        let code = 0;
        if (err) {
          const e = err as NodeJS.ErrnoException & { code?: unknown; killed?: boolean };
          code = typeof e.code === "number" ? e.code : 127;
          if (e.killed) stderr += `\n[killed after ${opts.timeoutMs ?? 20_000} ms]`;
          if (typeof e.code === "string") stderr += `\n${e.message}`;
        }
        resolve({ stdout, stderr, code });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Runs a command in the root namespace; throws on non-zero exit. */
export async function run(cmd: readonly string[], opts?: ExecOptions): Promise<string> {
  const [file, ...args] = cmd;
  if (!file) throw new Error("empty command");
  const r = await execFileP(file, args, opts);
  if (r.code !== 0)
    throw new Error(`${cmd.join(" ")} exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout;
}

/** One network namespace. */
export class Host {
  /** Counter for interface names (eth0, eth1, ...) inside this namespace. */
  private ifCounter = 0;

  constructor(
    readonly lab: Lab,
    /** Short name given by the test ("bird", "node1"). */
    readonly name: string,
    /** The namespace name (`<lab prefix>-<name>`). */
    readonly ns: string,
  ) {}

  /** Next free interface name in this namespace. */
  nextIfName(): string {
    return `eth${this.ifCounter++}`;
  }

  /** Runs argv inside the namespace. Never throws for a non-zero exit: look at `code`. */
  exec(cmd: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    return execFileP("ip", ["netns", "exec", this.ns, ...cmd], opts);
  }

  /** Like exec, but throws (with stderr) on a non-zero exit and returns stdout. */
  async run(cmd: readonly string[], opts?: ExecOptions): Promise<string> {
    const r = await this.exec(cmd, opts);
    if (r.code !== 0) {
      throw new Error(
        `[${this.name}] ${cmd.join(" ")} exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`,
      );
    }
    return r.stdout;
  }

  /** Starts a long-running process inside the namespace; stdout+stderr go to a log file in lab.dir. */
  spawn(cmd: readonly string[], opts?: SpawnOptions): LabProcess {
    return this.lab.spawnIn(this, cmd, opts);
  }

  /** `sysctl -w key=value` inside the namespace. */
  async sysctl(key: string, value: string): Promise<void> {
    await this.run(["sysctl", "-q", "-w", `${key}=${value}`]);
  }

  /** `ip addr add` (v6 gets nodad so it is usable at once). */
  async addAddr(ifName: string, addr: string): Promise<void> {
    const extra = addr.includes(":") ? ["nodad"] : [];
    await this.run(["ip", "addr", "add", addr, "dev", ifName, ...extra]);
  }

  /** The addresses of the namespace (`ip -j addr`), for debugging and assertions. */
  async addrs(): Promise<string[]> {
    const out = await this.run(["ip", "-j", "addr", "show"]);
    const j = JSON.parse(out) as Array<{
      ifname: string;
      addr_info?: Array<{ local: string; prefixlen: number }>;
    }>;
    return j.flatMap((l) => (l.addr_info ?? []).map((a) => `${l.ifname} ${a.local}/${a.prefixlen}`));
  }
}

interface Tracked {
  proc: LabProcess;
  pid: number;
}

/** A set of namespaces + processes + a temp dir, torn down together. */
export class Lab {
  /** Unique name prefix for namespaces (`pg<pid%10000>x<n>`). */
  readonly prefix: string;
  /** Temp directory for configs, sockets and logs. */
  readonly dir: string;
  readonly hosts: Host[] = [];
  private readonly procs: Tracked[] = [];
  private bridgeCounter = 0;
  private logCounter = 0;
  private tornDown = false;

  constructor(readonly name: string) {
    labCounter += 1;
    this.prefix = `pg${process.pid % 10000}x${labCounter}`;
    this.dir = mkdtempSync(join(tmpdir(), `podgate-lab-${name}-${this.prefix}-`));
    liveLabs.add(this);
    installExitHooks();
  }

  /** Creates a namespace with lo up. Namespace name: `<prefix>-<name>`. */
  async addHost(name: string): Promise<Host> {
    if (this.tornDown) throw new Error("lab already torn down");
    const ns = `${this.prefix}-${name}`;
    const host = new Host(this, name, ns);
    await run(["ip", "netns", "add", ns]);
    this.hosts.push(host);
    await host.run(["ip", "link", "set", "lo", "up"]);
    // No DAD on links created later: link-local addresses are usable at once (FRR waits for one
    // before an IPv6 session can come up).
    await host.sysctl("net.ipv6.conf.default.accept_dad", "0");
    await host.sysctl("net.ipv6.conf.all.accept_dad", "0");
    return host;
  }

  /** A veth pair between two hosts, addressed and up. */
  async link(a: Host, b: Host, opts: LinkOptions = {}): Promise<{ aIf: string; bIf: string }> {
    const aIf = a.nextIfName();
    const bIf = b.nextIfName();
    // Create both ends directly in their namespaces: nothing ever appears in the root namespace.
    await run(["ip", "link", "add", aIf, "netns", a.ns, "type", "veth", "peer", "name", bIf, "netns", b.ns]);
    await this.upIf(a, aIf, opts.mtu, [opts.aAddr, opts.a6]);
    await this.upIf(b, bIf, opts.mtu, [opts.bAddr, opts.b6]);
    return { aIf, bIf };
  }

  /**
   * A LAN segment: a Linux bridge in its own namespace, one veth per member. Returns each
   * member's interface name (same order as `members`) and the bridge namespace.
   */
  async bridge(
    members: readonly BridgeMember[],
    opts: { mtu?: number } = {},
  ): Promise<{ ifs: string[]; bridgeHost: Host }> {
    const br = await this.addHost(`br${this.bridgeCounter++}`);
    await br.run(["ip", "link", "add", "br0", "type", "bridge"]);
    await br.run(["ip", "link", "set", "br0", "up"]);
    const ifs: string[] = [];
    for (const m of members) {
      const portIf = br.nextIfName();
      const hostIf = m.host.nextIfName();
      await run([
        "ip",
        "link",
        "add",
        portIf,
        "netns",
        br.ns,
        "type",
        "veth",
        "peer",
        "name",
        hostIf,
        "netns",
        m.host.ns,
      ]);
      await br.run(["ip", "link", "set", portIf, "master", "br0"]);
      await this.upIf(br, portIf, opts.mtu, []);
      await this.upIf(m.host, hostIf, opts.mtu, [m.addr, m.addr6]);
      ifs.push(hostIf);
    }
    return { ifs, bridgeHost: br };
  }

  private async upIf(
    h: Host,
    ifName: string,
    mtu: number | undefined,
    addrs: (string | undefined)[],
  ): Promise<void> {
    if (mtu !== undefined) await h.run(["ip", "link", "set", ifName, "mtu", String(mtu)]);
    for (const a of addrs) if (a) await h.addAddr(ifName, a);
    await h.run(["ip", "link", "set", ifName, "up"]);
  }

  /** @internal used by Host.spawn. */
  spawnIn(host: Host, cmd: readonly string[], opts: SpawnOptions = {}): LabProcess {
    if (this.tornDown) throw new Error("lab already torn down");
    const argv0 = (cmd[0] ?? "cmd").split("/").pop() ?? "cmd";
    const logFile = join(this.dir, opts.logName ?? `${host.name}-${argv0}-${this.logCounter++}.log`);
    const fd = openSync(logFile, "a");
    let child: ChildProcess;
    try {
      // `ip netns exec` execs the command after setns, so child.pid is the daemon itself.
      // detached: own process group, so teardown can signal helpers the daemon forked too.
      child = spawn("ip", ["netns", "exec", host.ns, ...cmd], {
        stdio: [opts.stdinPipe ? "pipe" : "ignore", fd, fd],
        detached: true,
        env: opts.env ?? process.env,
        cwd: opts.cwd,
      });
    } finally {
      closeSync(fd);
    }
    let done = false;
    const exited = new Promise<number | string>((resolve) => {
      child.once("exit", (code, signal) => {
        done = true;
        resolve(code ?? signal ?? -1);
      });
      child.once("error", () => {
        done = true;
        resolve(-1);
      });
    });
    const proc: LabProcess = {
      child,
      logFile,
      argv: cmd,
      exited,
      running: () => !done,
      log: () => {
        try {
          return readFileSync(logFile, "utf8");
        } catch {
          return "";
        }
      },
    };
    if (child.pid !== undefined) this.procs.push({ proc, pid: child.pid });
    return proc;
  }

  /**
   * Stops one process: SIGCONT (it may be SIGSTOPped), SIGTERM, SIGKILL after graceMs.
   * Signals the whole process group.
   */
  async stopProcess(proc: LabProcess, graceMs = 2000): Promise<void> {
    const pid = proc.child.pid;
    if (pid === undefined || !proc.running()) return;
    signalGroup(pid, "SIGCONT");
    signalGroup(pid, "SIGTERM");
    const timer = setTimeout(() => signalGroup(pid, "SIGKILL"), graceMs);
    await proc.exited;
    clearTimeout(timer);
    // Helpers the daemon forked (same group) must not outlive it.
    signalGroup(pid, "SIGKILL");
  }

  /** Kills every process, deletes the namespaces and the directory. Idempotent. */
  async teardown(): Promise<void> {
    if (this.tornDown) return;
    this.tornDown = true;
    await Promise.all(this.procs.map((t) => this.stopProcess(t.proc)));
    for (const h of [...this.hosts].reverse()) {
      await execFileP("ip", ["netns", "delete", h.ns]);
    }
    this.removeDir();
    liveLabs.delete(this);
  }

  /** Synchronous teardown for exit hooks (no awaiting possible there). */
  teardownSync(): void {
    if (this.tornDown) return;
    this.tornDown = true;
    for (const t of this.procs) {
      signalGroup(t.pid, "SIGCONT");
      signalGroup(t.pid, "SIGKILL");
    }
    for (const h of this.hosts) {
      try {
        execFileSync("ip", ["netns", "delete", h.ns], { stdio: "ignore" });
      } catch {
        // already gone
      }
    }
    this.removeDir();
    liveLabs.delete(this);
  }

  private removeDir(): void {
    if (process.env["PODGATE_KEEP_LAB"] === "1") {
      console.warn(`PODGATE_KEEP_LAB=1: keeping ${this.dir}`);
      return;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** A subdirectory of lab.dir (created). */
  subdir(name: string): string {
    const d = join(this.dir, name);
    mkdirSync(d, { recursive: true });
    return d;
  }
}

function signalGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      // gone
    }
  }
}

function teardownAllSync(): void {
  for (const lab of [...liveLabs]) {
    try {
      lab.teardownSync();
    } catch {
      // best effort: keep going with the other labs
    }
  }
}

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on("exit", teardownAllSync);
  // Monitor does not change Node's crash behaviour; the 'exit' hook would also run, this is earlier.
  process.on("uncaughtExceptionMonitor", teardownAllSync);
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(sig, () => {
      teardownAllSync();
      process.kill(process.pid, sig);
    });
  }
}

/** Skip reason (or undefined) for a lab suite: root plus `ip` plus the given commands. */
export function labPrereqs(commands: readonly string[] = []): string | undefined {
  return missingPrereqs({ root: true, commands: ["ip", ...commands] });
}

export interface WaitForOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** What we are waiting for, for the error message. */
  what?: string;
}

/**
 * Polls fn until it returns a truthy value (which is returned). A throw counts as "not yet".
 * On timeout throws with `what` and the last value or error seen.
 */
export async function waitFor<T>(
  fn: () => T | Promise<T>,
  opts: WaitForOptions = {},
): Promise<NonNullable<T>> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const intervalMs = opts.intervalMs ?? 200;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
      last = v;
    } catch (e) {
      last = e instanceof Error ? `error: ${e.message}` : e;
    }
    if (Date.now() >= deadline) {
      let shown: string;
      try {
        shown = typeof last === "string" ? last : JSON.stringify(last);
      } catch {
        shown = String(last);
      }
      if (shown && shown.length > 2000) shown = `${shown.slice(0, 2000)}...`;
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${opts.what ?? "condition"}; last value: ${shown}`,
      );
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Polls fn until it returns exactly `want`; error includes the last value. */
export async function waitForValue<T>(
  fn: () => T | Promise<T>,
  want: T,
  opts: WaitForOptions = {},
): Promise<void> {
  let last: T | undefined;
  await waitFor(async () => {
    last = await fn();
    if (last === want) return true;
    throw new Error(`got ${JSON.stringify(last)}, want ${JSON.stringify(want)}`);
  }, opts);
}
