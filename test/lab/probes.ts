/**
 * Probes for namespace lab suites: what a host's kernel routes are (read as JSON from
 * `ip -j route`), podgate's own routes in a gateway (protocol 201), ping and HTTP from a host to
 * a pod (the `{pod, from}` servers that sites.ts starts), the routes a BGP daemon learned from
 * one peer, and waits built on them that report the last value seen when they time out.
 */
import { RTPROT_PODGATE } from "../../src/dataplane/types.ts";
import type { BgpDaemon, RibRoute } from "./daemons/types.ts";
import { type ExecResult, type Host, waitFor } from "./netns.ts";

/** One route as `ip -j route show` prints it (the fields the lab reads). */
export interface KernelRouteJson {
  dst: string;
  type?: string;
  gateway?: string;
  dev?: string;
  protocol?: string | number;
  nexthops?: Array<{ gateway?: string; dev?: string }>;
}

/** `ip -j route show <selector...>` in the host, parsed. */
export async function kernelRoutes(host: Host, selector: readonly string[] = []): Promise<KernelRouteJson[]> {
  return JSON.parse(await host.run(["ip", "-j", "route", "show", ...selector])) as KernelRouteJson[];
}

/** Prefix → sorted next hops of one route ("unreachable" for that type, "?" for a hop without gateway). */
export type RouteMap = Map<string, string[]>;

/** podgate's routes (protocol 201) in a host's kernel: prefix → sorted next hops. */
export async function podgateRoutes(host: Host): Promise<RouteMap> {
  const m: RouteMap = new Map();
  for (const r of await kernelRoutes(host, ["proto", String(RTPROT_PODGATE)])) {
    const hops =
      r.type === "unreachable"
        ? ["unreachable"]
        : r.nexthops
          ? r.nexthops.map((h) => h.gateway ?? "?")
          : [r.gateway ?? "?"];
    m.set(r.dst, hops.sort());
  }
  return m;
}

export interface WaitOptions {
  /** What is awaited, for the timeout message. */
  what: string;
  timeoutMs?: number;
  intervalMs?: number;
}

/**
 * Waits until `check` accepts podgate's routes in the host's kernel and returns them. `check`
 * may throw to say why not; otherwise the timeout message shows the last routes seen.
 * Defaults: 20 s, polled every 250 ms.
 */
export async function waitPodgateRoutes(
  host: Host,
  check: (m: RouteMap) => boolean,
  o: WaitOptions,
): Promise<RouteMap> {
  return waitFor(
    async () => {
      const m = await podgateRoutes(host);
      if (check(m)) return m;
      throw new Error(JSON.stringify([...m]));
    },
    { timeoutMs: o.timeoutMs ?? 20_000, intervalMs: o.intervalMs ?? 250, what: o.what },
  );
}

/** `ping -n -c count -W waitS ip` from a host (never throws: look at `code` and `stdout`). */
export async function ping(from: Host, ip: string, count = 1, waitS = 2): Promise<ExecResult> {
  return from.exec(["ping", "-n", "-c", String(count), "-W", String(waitS), ip], {
    timeoutMs: (count + waitS + 2) * 1000,
  });
}

/** A pod's answer (`{pod, from}`: its name and the client address it saw), or why there was none. */
export type PodReply = { ok: true; pod: string; from: string } | { ok: false; error: string };

/** HTTP GET `http://ip:port/` from a host with curl; parses a pod server's reply. */
export async function httpGet(from: Host, ip: string, port: number, timeoutS = 3): Promise<PodReply> {
  const r = await from.exec(["curl", "-sS", "--max-time", String(timeoutS), `http://${ip}:${port}/`], {
    timeoutMs: (timeoutS + 2) * 1000,
  });
  if (r.code !== 0) return { ok: false, error: `curl exit ${r.code}: ${r.stderr.trim()}` };
  try {
    const j = JSON.parse(r.stdout) as { pod: string; from: string };
    return { ok: true, pod: j.pod, from: j.from };
  } catch {
    return { ok: false, error: `not JSON: ${r.stdout.slice(0, 200)}` };
  }
}

/**
 * Waits until `ip:port` answers from pod `pod` (each try: a 2 s curl; polled every 300 ms) and
 * returns the reply. Default timeout 20 s.
 */
export async function waitHttp(
  from: Host,
  ip: string,
  port: number,
  pod: string,
  timeoutMs = 20_000,
): Promise<{ ok: true; pod: string; from: string }> {
  return waitFor(
    async () => {
      const r = await httpGet(from, ip, port, 2);
      if (r.ok && r.pod === pod) return r;
      throw new Error(JSON.stringify(r));
    },
    { timeoutMs, intervalMs: 300, what: `HTTP ${ip}:${port} answered by ${pod}` },
  );
}

/** The IPv4 routes a daemon learned from `peer` (e.g. what the office router has from a gateway). */
export async function routesFrom(daemon: BgpDaemon, peer: string): Promise<RibRoute[]> {
  return (await daemon.routes(4)).filter((r) => r.fromPeer === peer);
}

/** Waits until `check` accepts the routes the daemon has from `peer`; returns them. Default 20 s, every 300 ms. */
export async function waitRoutesFrom(
  daemon: BgpDaemon,
  peer: string,
  check: (routes: RibRoute[]) => boolean,
  o: WaitOptions,
): Promise<RibRoute[]> {
  return waitFor(
    async () => {
      const rs = await routesFrom(daemon, peer);
      if (check(rs)) return rs;
      throw new Error(JSON.stringify(rs));
    },
    { timeoutMs: o.timeoutMs ?? 20_000, intervalMs: o.intervalMs ?? 300, what: o.what },
  );
}

/** Sorted prefixes of a route list. */
export function prefixesOf(routes: readonly { prefix: string }[]): string[] {
  return routes.map((r) => r.prefix).sort();
}
