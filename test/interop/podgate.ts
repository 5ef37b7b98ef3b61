/**
 * Runs the real podgate daemon (`node bin/podgate.js run --config FILE`) inside a lab namespace
 * for the interop suites: writes its YAML config into lab.dir, starts and stops the process
 * (SIGTERM = Cease to every peer), reloads it, and reads status/routes over the control API's
 * unix socket (a file, so the test process in the root namespace can reach it).
 */
import { writeFileSync } from "node:fs";
import http from "node:http";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import type { PeerStatus, RouteJson, RoutesJson, StatusJson } from "../../src/api/types.ts";
import type { BgpState } from "../lab/daemons/types.ts";
import { type Host, type LabProcess, waitFor } from "../lab/netns.ts";

/** The repository root (test/interop/../../). */
export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const PODGATE_BIN = join(REPO_ROOT, "bin", "podgate.js");
/** podgate's AS in every interop suite. */
export const PODGATE_AS = 64512;

/** Lab timers (seconds): sessions come up and fail fast. */
export const LAB_TIMERS = { holdTime: 9, keepaliveTime: 3, connectRetryTime: 1 } as const;

/** A peer entry of the YAML config (the subset the suites use). */
export interface PeerYaml {
  address: string;
  asn: number;
  name?: string;
  role?: "cluster" | "office" | "gateway";
  passive?: boolean;
  holdTime?: number;
  keepaliveTime?: number;
  connectRetryTime?: number;
  password?: string;
  localAddress?: string;
  families?: Array<"ipv4" | "ipv6">;
  addPath?: "off" | "receive" | "send" | "both";
  import?: string;
  export?: string;
  nextHopSelf?: boolean;
}

export interface OriginateYaml {
  prefix: string;
  nextHop?: string;
  communities?: string[];
  med?: number;
  localPref?: number;
}

export interface PodgateYaml {
  routerId: string;
  asn: number;
  listen?: { address?: string; port?: number; enabled?: boolean };
  api: { socket: string };
  log?: { level: "trace" | "debug" | "info" | "warn" | "error" };
  defaults?: { holdTime?: number; connectRetryTime?: number };
  peers: PeerYaml[];
  originate?: OriginateYaml[];
  prefixLists?: Record<string, unknown>;
  policies?: Record<string, unknown>;
}

/** One podgate instance in a namespace. */
export class Podgate {
  readonly configFile: string;
  readonly socket: string;
  private proc: LabProcess | undefined;
  /** Every run of this instance (restarts included), for logs(). */
  private readonly runs: LabProcess[] = [];
  private starts = 0;
  private config: PodgateYaml;

  constructor(
    readonly host: Host,
    config: Omit<PodgateYaml, "api">,
    readonly instance = "podgate",
  ) {
    this.configFile = join(host.lab.dir, `${instance}.yaml`);
    this.socket = join(host.lab.dir, `${instance}.sock`);
    this.config = { ...config, api: { socket: this.socket } };
  }

  get cfg(): PodgateYaml {
    return this.config;
  }

  writeConfig(config: PodgateYaml = this.config): void {
    this.config = { ...config, api: { socket: this.socket } };
    writeFileSync(this.configFile, stringify(this.config), { mode: 0o600 });
  }

  /** Starts the daemon and waits until its control API answers. */
  async start(): Promise<void> {
    this.writeConfig();
    this.proc = this.host.spawn(["node", PODGATE_BIN, "run", "--config", this.configFile], {
      logName: `${this.instance}-${this.starts++}.log`,
      cwd: REPO_ROOT,
    });
    const proc = this.proc;
    this.runs.push(proc);
    await waitFor(
      async () => {
        if (!proc.running()) throw new Error(`podgate exited (${await proc.exited}); log:\n${proc.log()}`);
        return await this.status();
      },
      { timeoutMs: 20_000, intervalMs: 200, what: "podgate control API" },
    ).catch((e) => {
      throw new Error(`${(e as Error).message}\n--- podgate log ---\n${this.logs().slice(-4000)}`);
    });
  }

  /** SIGTERM and wait; returns the exit code (or signal name). */
  async stop(timeoutMs = 10_000): Promise<number | string> {
    const proc = this.proc;
    if (!proc) return -1;
    if (!proc.running()) return proc.exited;
    proc.child.kill("SIGTERM");
    const timer = setTimeout(() => proc.child.kill("SIGKILL"), timeoutMs);
    const code = await proc.exited;
    clearTimeout(timer);
    return code;
  }

  running(): boolean {
    return this.proc?.running() ?? false;
  }

  get pid(): number | undefined {
    return this.proc?.child.pid;
  }

  /** SIGHUP: re-read the config file. */
  sighup(): void {
    this.proc?.child.kill("SIGHUP");
  }

  /** All log output of every run of this instance so far (pino JSON lines). */
  logs(): string {
    return this.runs.map((p) => p.log()).join("");
  }

  /** Parsed pino log lines of every run. */
  logLines(): Array<Record<string, unknown>> {
    const out: Array<Record<string, unknown>> = [];
    for (const line of this.logs().split("\n")) {
      if (!line.startsWith("{")) continue;
      try {
        out.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // partial line
      }
    }
    return out;
  }

  request<T>(method: "GET" | "POST", path: string): Promise<T> {
    return unixRequest<T>(this.socket, method, path);
  }

  status(): Promise<StatusJson> {
    return this.request<StatusJson>("GET", "/v1/status");
  }

  async peer(address: string): Promise<PeerStatus> {
    const s = await this.status();
    const p = s.peers.find((x) => x.address === address);
    if (!p) throw new Error(`podgate status has no peer ${address}: ${JSON.stringify(s.peers)}`);
    return p;
  }

  async peerState(address: string): Promise<BgpState> {
    return (await this.peer(address)).state;
  }

  async routes(): Promise<readonly RouteJson[]> {
    return (await this.request<RoutesJson>("GET", "/v1/routes")).routes;
  }

  /** Routes learned from `peer` (address) for one prefix or all. */
  async routesFrom(peer: string, prefix?: string): Promise<RouteJson[]> {
    return (await this.routes()).filter(
      (r) => r.peer === peer && (prefix === undefined || r.prefix === prefix),
    );
  }

  /** Rewrites the config and POSTs /v1/reload. */
  async reload(config: PodgateYaml): Promise<unknown> {
    this.writeConfig(config);
    return this.request("POST", "/v1/reload");
  }

  /** Runs the CLI (`podgate <args> --socket S`) in the root namespace; returns stdout. */
  async cli(host: Host, args: string[]): Promise<string> {
    return host.run(["node", PODGATE_BIN, ...args, "--socket", this.socket], { cwd: REPO_ROOT });
  }

  /** Waits until every listed peer is Established (error shows the status of each). */
  async waitEstablished(addresses: string[], timeoutMs = 20_000): Promise<void> {
    await waitFor(
      async () => {
        const s = await this.status();
        const states = addresses.map((a) => {
          const p = s.peers.find((x) => x.address === a);
          return { address: a, state: p?.state, info: p?.info, lastError: p?.lastError };
        });
        if (states.every((x) => x.state === "Established")) return true;
        throw new Error(JSON.stringify(states));
      },
      { timeoutMs, what: `podgate sessions Established (${addresses.join(", ")})` },
    );
  }
}

/** A tiny HTTP client over a unix socket (the CLI's client does the same). */
export function unixRequest<T>(socketPath: string, method: "GET" | "POST", path: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, method, path, timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        if ((res.statusCode ?? 500) >= 400) {
          reject(new Error(`${method} ${path}: HTTP ${res.statusCode} ${text.slice(0, 500)}`));
          return;
        }
        try {
          resolve((text ? JSON.parse(text) : {}) as T);
        } catch {
          reject(new Error(`${method} ${path}: bad JSON ${text.slice(0, 200)}`));
        }
      });
    });
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", reject);
    req.end();
  });
}

/**
 * Records every state a podgate peer goes through (polling /v1/status) so a test can assert a
 * session NEVER reached Established during a window, not just that it is down at the end.
 */
export class StateSampler {
  readonly seen = new Map<string, Set<string>>();
  /** Every distinct info / lastError text seen per peer. */
  readonly texts = new Map<string, Set<string>>();
  readonly last = new Map<string, PeerStatus>();
  private timer: NodeJS.Timeout | undefined;
  private busy = false;

  constructor(
    private readonly pg: Podgate,
    private readonly addresses: string[],
    private readonly intervalMs = 200,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.sample(), this.intervalMs);
  }

  async sample(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const s = await this.pg.status();
      for (const a of this.addresses) {
        const p = s.peers.find((x) => x.address === a);
        if (!p) continue;
        let set = this.seen.get(a);
        if (!set) {
          set = new Set();
          this.seen.set(a, set);
        }
        set.add(p.state);
        let texts = this.texts.get(a);
        if (!texts) {
          texts = new Set();
          this.texts.set(a, texts);
        }
        texts.add(p.info);
        if (p.lastError !== undefined) texts.add(p.lastError);
        this.last.set(a, p);
      }
    } catch {
      // podgate restarting: nothing to record
    } finally {
      this.busy = false;
    }
  }

  infoTexts(address: string): string[] {
    return [...(this.texts.get(address) ?? [])];
  }

  states(address: string): string[] {
    return [...(this.seen.get(address) ?? [])];
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
