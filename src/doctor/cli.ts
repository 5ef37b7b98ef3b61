/**
 * `podgate doctor`: gathers what diagnose() needs — status and routes from the control API,
 * sysctls from /proc/sys, links from `ip -j link`, the interface toward each peer from
 * `ip -j route get`, optional ping probes, optional config facts — and prints the findings.
 * Exit codes: 0 no errors, 3 errors found (like `podgate audit`), 1 daemon unreachable (the
 * local checks still run and print), 2 bad arguments. Commands run with an argv array, no shell.
 */
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { apiRequest } from "../api/client.ts";
import type { RoutesJson, StatusJson } from "../api/types.ts";
import {
  type DoctorConfig,
  type DoctorInput,
  type DoctorLink,
  diagnose,
  formatFindings,
  type ProbeResult,
  probeTargets,
} from "./diagnose.ts";

export const DOCTOR_EXIT_ERRORS = 3;
export const DOCTOR_EXIT_UNREACHABLE = 1;
/** Probes are bounded: a gateway with 500 blocks must not send 500 pings. */
export const MAX_PROBES = 32;
const PROBE_PARALLEL = 8;
const ROUTE_GET_MAX = 32;

export const DOCTOR_USAGE = `usage: podgate doctor [--socket PATH] [--config FILE] [--probe] [--probe-target ADDR]... [--json]

Checks the gateway and explains what is wrong: forwarding and rp_filter sysctls, MTU and MSS
clamping, every BGP session that is not Established (likely cause from its last error), Loc-RIB
routes missing from the kernel, the return path (advertise or SNAT), and with --probe pings one
address per cluster block (at most ${MAX_PROBES}). Exit 0: no errors; 3: errors; 1: daemon unreachable.

options:
  --socket PATH        control API socket (default /run/podgate/podgate.sock, or $PODGATE_SOCKET)
  --config FILE        read returnPath, office prefixes, mssClamp, passwords (only whether set)
                       from the config (default /etc/podgate/podgate.yaml when readable)
  --probe              ping the first address of each block from the gateway
  --probe-target ADDR  ping this address instead (repeatable)
  --json               findings as JSON
`;

export interface DoctorIo {
  out(s: string): void;
  err(s: string): void;
}

export interface ExecResult {
  readonly code: number;
  readonly stdout: string;
}

export interface DoctorDeps {
  readonly defaultSocket?: string;
  /** File system root holding /proc/sys (default "/"), for tests. */
  readonly root?: string;
  /** Runs a command (argv, no shell); default child_process.execFile. */
  readonly exec?: (cmd: string, args: readonly string[]) => Promise<ExecResult>;
  /** Config file read when --config is absent (default /etc/podgate/podgate.yaml). */
  readonly defaultConfig?: string;
}

function defaultExec(cmd: string, args: readonly string[]): Promise<ExecResult> {
  return new Promise((resolve) => {
    execFile(cmd, [...args], { timeout: 5_000 }, (err, stdout) => {
      const code = err
        ? typeof (err as { code?: unknown }).code === "number"
          ? (err as { code: number }).code
          : 127
        : 0;
      resolve({ code, stdout: String(stdout) });
    });
  });
}

async function readSysctl(root: string, parts: readonly string[]): Promise<string | undefined> {
  try {
    return (await readFile(join(root, "proc/sys", ...parts), "utf8")).trim();
  } catch {
    return undefined;
  }
}

/** The sysctls diagnose() reads; interface names are kept verbatim (vxlan.calico has a dot). */
export async function readSysctls(root: string, links: readonly string[]): Promise<Record<string, string>> {
  const wanted: [string, string[]][] = [
    ["net.ipv4.ip_forward", ["net", "ipv4", "ip_forward"]],
    ["net.ipv6.conf.all.forwarding", ["net", "ipv6", "conf", "all", "forwarding"]],
    ["net.ipv4.conf.all.rp_filter", ["net", "ipv4", "conf", "all", "rp_filter"]],
    ["net.ipv4.conf.default.rp_filter", ["net", "ipv4", "conf", "default", "rp_filter"]],
    ...links.map((l): [string, string[]] => [
      `net.ipv4.conf.${l}.rp_filter`,
      ["net", "ipv4", "conf", l, "rp_filter"],
    ]),
  ];
  const out: Record<string, string> = {};
  for (const [key, parts] of wanted) {
    const v = await readSysctl(root, parts);
    if (v !== undefined) out[key] = v;
  }
  return out;
}

async function readLinks(exec: NonNullable<DoctorDeps["exec"]>): Promise<DoctorLink[]> {
  const r = await exec("ip", ["-j", "link", "show"]);
  if (r.code !== 0) return [];
  try {
    const arr = JSON.parse(r.stdout) as { ifname?: string; mtu?: number }[];
    return arr.flatMap((l) =>
      l.ifname && typeof l.mtu === "number" ? [{ name: l.ifname, mtu: l.mtu }] : [],
    );
  } catch {
    return [];
  }
}

/** Which link each peer's route leaves by (`ip -j route get ADDR`), added as link.toward. */
async function linksToward(
  exec: NonNullable<DoctorDeps["exec"]>,
  links: DoctorLink[],
  peers: readonly string[],
): Promise<DoctorLink[]> {
  const toward = new Map<string, string[]>();
  await Promise.all(
    peers.slice(0, ROUTE_GET_MAX).map(async (addr) => {
      const r = await exec("ip", ["-j", "route", "get", addr]);
      if (r.code !== 0) return;
      try {
        const dev = (JSON.parse(r.stdout) as { dev?: string }[])[0]?.dev;
        if (dev && dev !== "lo") toward.set(dev, [...(toward.get(dev) ?? []), addr]);
      } catch {
        // Unparsable output: the link is simply not marked.
      }
    }),
  );
  return links.map((l) => (toward.has(l.name) ? { ...l, toward: toward.get(l.name) ?? [] } : l));
}

/** Runs fn over items with at most `limit` in flight, keeping order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

async function ping(
  exec: NonNullable<DoctorDeps["exec"]>,
  prefix: string,
  target: string,
): Promise<ProbeResult> {
  const r = await exec("ping", ["-c1", "-W1", target]);
  const rtt = /time[=<]([\d.]+) ?ms/.exec(r.stdout);
  return { prefix, target, ok: r.code === 0, ...(rtt?.[1] ? { rttMs: Number(rtt[1]) } : {}) };
}

/** Config facts doctor needs; passwords only as "configured or not". */
async function readConfig(path: string): Promise<DoctorConfig> {
  const { loadConfig } = await import("../config/load.ts");
  const c = await loadConfig(path);
  return {
    returnPath: c.returnPath.mode,
    officePrefixes: c.office.prefixes,
    serviceCIDRs: c.cluster.serviceCIDRs,
    mssClamp: c.dataplane.mssClamp,
    dataplaneEnabled: c.dataplane.enabled,
    peers: c.peers.map((p) => ({
      address: p.address,
      password: p.password !== undefined,
      passive: p.passive,
    })),
  };
}

export async function runDoctor(
  argv: readonly string[],
  io: DoctorIo,
  deps: DoctorDeps = {},
): Promise<number> {
  let values: {
    socket?: string | undefined;
    config?: string | undefined;
    probe?: boolean | undefined;
    "probe-target"?: string[] | undefined;
    json?: boolean | undefined;
    help?: boolean | undefined;
  };
  try {
    values = parseArgs({
      args: [...argv],
      options: {
        socket: { type: "string" },
        config: { type: "string" },
        probe: { type: "boolean" },
        "probe-target": { type: "string", multiple: true },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (e) {
    io.err(`podgate doctor: ${(e as Error).message}\n\n${DOCTOR_USAGE}`);
    return 2;
  }
  if (values.help) {
    io.out(DOCTOR_USAGE);
    return 0;
  }
  const exec = deps.exec ?? defaultExec;
  const socket =
    values.socket ?? process.env["PODGATE_SOCKET"] ?? deps.defaultSocket ?? "/run/podgate/podgate.sock";

  let status: StatusJson | undefined;
  let routes: RoutesJson | undefined;
  let apiError: string | undefined;
  try {
    [status, routes] = await Promise.all([
      apiRequest<StatusJson>(socket, "GET", "/v1/status"),
      apiRequest<RoutesJson>(socket, "GET", "/v1/routes"),
    ]);
  } catch (e) {
    status = undefined;
    routes = undefined;
    apiError = (e as Error).message;
  }

  let config: DoctorConfig | undefined;
  const configPath = values.config ?? deps.defaultConfig ?? "/etc/podgate/podgate.yaml";
  try {
    config = await readConfig(configPath);
  } catch (e) {
    // An explicit --config that cannot be read is worth saying; the default path is optional.
    if (values.config) io.err(`podgate doctor: config not used: ${(e as Error).message}\n`);
  }

  let links = await readLinks(exec);
  if (status)
    links = await linksToward(
      exec,
      links,
      status.peers.map((p) => p.address),
    );
  const sysctls = await readSysctls(
    deps.root ?? "/",
    links.map((l) => l.name).filter((n) => n !== "lo"),
  );

  let probes: ProbeResult[] | undefined;
  const explicit = values["probe-target"] ?? [];
  if (values.probe || explicit.length > 0) {
    const targets =
      explicit.length > 0
        ? explicit.slice(0, MAX_PROBES).map((t) => ({ prefix: t, target: t }))
        : routes
          ? probeTargets(routes, { max: MAX_PROBES, serviceCIDRs: config?.serviceCIDRs ?? [] })
          : [];
    probes = await mapLimit(targets, PROBE_PARALLEL, (t) => ping(exec, t.prefix, t.target));
  }

  const input: DoctorInput = {
    ...(status ? { status } : {}),
    ...(routes ? { routes } : {}),
    ...(apiError ? { apiError } : {}),
    sysctls,
    links,
    ...(probes ? { probes } : {}),
    ...(config ? { config } : {}),
  };
  const findings = diagnose(input);
  if (values.json) {
    const count = (s: string) => findings.filter((f) => f.severity === s).length;
    io.out(
      `${JSON.stringify(
        {
          daemon: status ? "reachable" : "unreachable",
          summary: { error: count("error"), warning: count("warning"), info: count("info"), ok: count("ok") },
          findings,
        },
        null,
        2,
      )}\n`,
    );
  } else {
    io.out(formatFindings(findings));
  }
  if (!status) return DOCTOR_EXIT_UNREACHABLE;
  return findings.some((f) => f.severity === "error") ? DOCTOR_EXIT_ERRORS : 0;
}
