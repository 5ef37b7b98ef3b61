/**
 * runDoctor against a real control API server on a unix socket (src/api/server.ts with a
 * DaemonView returning documented JSON), a temporary /proc/sys tree, and a command runner that
 * answers `ip` and `ping` like iproute2/iputils do. Checks text and JSON output and exit codes.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiServer, startApiServer } from "../../../src/api/server.ts";
import type { DaemonView, RoutesJson, StatusJson } from "../../../src/api/types.ts";
import { silentLogger } from "../../../src/core/log.ts";
import { type DoctorDeps, MAX_PROBES, runDoctor } from "../../../src/doctor/cli.ts";

let dir: string;
let root: string;
let server: ApiServer | undefined;
let socket: string;
let view: { status: StatusJson; routes: RoutesJson };

async function sysctl(key: string[], value: string): Promise<void> {
  const path = join(root, "proc/sys", ...key);
  await mkdir(join(path, ".."), { recursive: true });
  await writeFile(path, `${value}\n`);
}

const HEALTHY_STATUS: StatusJson = {
  routerId: "192.168.40.10",
  asn: 64512,
  version: "0.1.0",
  startedAt: "2026-11-22T21:00:00.000Z",
  peers: [
    {
      address: "192.168.40.101",
      asn: 64512,
      name: "node1",
      role: "cluster",
      state: "Established",
      since: "2026-11-22T21:00:02.000Z",
      info: "Established",
      prefixesReceived: 1,
      prefixesAccepted: 1,
      prefixesAdvertised: 1,
      updatesReceived: 2,
      updatesSent: 1,
    },
  ],
};

const ROUTES: RoutesJson = {
  routes: Array.from({ length: 40 }, (_, i) => ({
    prefix: `10.244.${i}.0/26`,
    nextHop: "192.168.40.101",
    peer: "192.168.40.101",
    best: true,
    source: "bgp" as const,
    family: "ipv4" as const,
    asPath: "",
    origin: "igp" as const,
    age: 5,
  })),
};

interface Calls {
  ping: string[];
  maxInFlight: number;
}

function fakeExec(calls: Calls, opts: { failPing?: Set<string>; linkMtu?: number } = {}): DoctorDeps["exec"] {
  let inFlight = 0;
  return async (cmd, args) => {
    if (cmd === "ip" && args.join(" ") === "-j link show") {
      return {
        code: 0,
        stdout: JSON.stringify([
          { ifindex: 1, ifname: "lo", mtu: 65536, operstate: "UNKNOWN" },
          { ifindex: 2, ifname: "eth0", mtu: 1500, operstate: "UP" },
          { ifindex: 3, ifname: "tunl0", mtu: opts.linkMtu ?? 1480, operstate: "UNKNOWN" },
        ]),
      };
    }
    if (cmd === "ip" && args[1] === "route" && args[2] === "get") {
      return { code: 0, stdout: JSON.stringify([{ dst: args[3], dev: "eth0", prefsrc: "192.168.40.10" }]) };
    }
    if (cmd === "ping") {
      const target = args[args.length - 1] as string;
      calls.ping.push(target);
      inFlight++;
      calls.maxInFlight = Math.max(calls.maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, 2));
      inFlight--;
      if (opts.failPing?.has(target))
        return { code: 1, stdout: "1 packets transmitted, 0 received, 100% packet loss" };
      return { code: 0, stdout: `64 bytes from ${target}: icmp_seq=1 ttl=63 time=0.412 ms` };
    }
    return { code: 127, stdout: "" };
  };
}

function collect(): { out: string; err: string; io: { out(s: string): void; err(s: string): void } } {
  const r = {
    out: "",
    err: "",
    io: {
      out: (s: string) => {
        r.out += s;
      },
      err: (s: string) => {
        r.err += s;
      },
    },
  };
  return r;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), `podgate-doctor-${process.pid}-`));
  root = join(dir, "root");
  socket = join(dir, "api.sock");
  view = { status: HEALTHY_STATUS, routes: ROUTES };
  const daemon: DaemonView = { status: () => view.status, routes: () => view.routes, resetPeer: () => false };
  server = await startApiServer(socket, daemon, silentLogger);
  await sysctl(["net", "ipv4", "ip_forward"], "1");
  await sysctl(["net", "ipv6", "conf", "all", "forwarding"], "1");
  await sysctl(["net", "ipv4", "conf", "all", "rp_filter"], "0");
  await sysctl(["net", "ipv4", "conf", "default", "rp_filter"], "2");
  await sysctl(["net", "ipv4", "conf", "eth0", "rp_filter"], "2");
  await sysctl(["net", "ipv4", "conf", "tunl0", "rp_filter"], "1");
});

afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

function deps(calls: Calls, extra: Partial<DoctorDeps> = {}, execOpts = {}): DoctorDeps {
  return { root, exec: fakeExec(calls, execOpts), defaultConfig: join(dir, "missing.yaml"), ...extra };
}

describe("podgate doctor CLI", () => {
  it("healthy daemon: exit 0; tunnel MTU without clamping is a warning in the text", async () => {
    const c = collect();
    const calls = { ping: [], maxInFlight: 0 };
    const code = await runDoctor(["--socket", socket], c.io, deps(calls));
    expect(c.err).toBe("");
    expect(code).toBe(0);
    expect(c.out).toMatch(/^WARN {2}MTU below 1500 on tunl0 \(1480\) and TCP MSS clamping is off$/m);
    expect(c.out).toContain("fix: set dataplane.mssClamp: auto");
    // eth0 (toward the peer) is loose: tunl0's strict setting does not count.
    expect(c.out).toContain("OK    no strict rp_filter");
    expect(c.out).toMatch(/0 error\(s\), 1 warning\(s\)/);
    expect(calls.ping).toEqual([]);
  });

  it("a down peer and ip_forward off: exit 3, JSON findings with errors first", async () => {
    view.status = {
      ...HEALTHY_STATUS,
      peers: [
        {
          ...(HEALTHY_STATUS.peers[0] as StatusJson["peers"][number]),
          state: "Active",
          info: "Connection refused",
          lastError: "Connection refused",
        },
      ],
    };
    await sysctl(["net", "ipv4", "ip_forward"], "0");
    try {
      const c = collect();
      const code = await runDoctor(["--socket", socket, "--json"], c.io, deps({ ping: [], maxInFlight: 0 }));
      expect(code).toBe(3);
      const body = JSON.parse(c.out) as {
        daemon: string;
        summary: Record<string, number>;
        findings: { id: string; severity: string }[];
      };
      expect(body.daemon).toBe("reachable");
      expect(body.summary.error).toBe(3);
      expect(body.findings.slice(0, 3).map((f) => f.id)).toEqual([
        "no-established-peers",
        "peer-down:192.168.40.101",
        "ip-forward-v4",
      ]);
    } finally {
      view.status = HEALTHY_STATUS;
      await sysctl(["net", "ipv4", "ip_forward"], "1");
    }
  });

  it("--probe: at most 32 pings, at most 8 at once, failures listed", async () => {
    const calls = { ping: [] as string[], maxInFlight: 0 };
    const c = collect();
    const code = await runDoctor(
      ["--socket", socket, "--probe"],
      c.io,
      deps(calls, {}, { failPing: new Set(["10.244.3.1"]), linkMtu: 1500 }),
    );
    expect(calls.ping).toHaveLength(MAX_PROBES);
    expect(calls.ping[0]).toBe("10.244.0.1");
    expect(calls.maxInFlight).toBeLessThanOrEqual(8);
    expect(calls.maxInFlight).toBeGreaterThan(1);
    expect(c.out).toContain("1 of 32 probe(s) got no answer: 10.244.3.1 (10.244.3.0/26)");
    expect(code).toBe(0);
  });

  it("daemon unreachable: exit 1, local checks still printed", async () => {
    const c = collect();
    const code = await runDoctor(
      ["--socket", join(dir, "nobody.sock")],
      c.io,
      deps({ ping: [], maxInFlight: 0 }),
    );
    expect(code).toBe(1);
    expect(c.out).toMatch(/^ERROR the podgate daemon is not reachable: cannot reach podgate/m);
    expect(c.out).toContain("OK    IPv4 forwarding is on");
  });

  it("--config supplies the password facts (MD5) and return path mode", async () => {
    const cfg = join(dir, "podgate.yaml");
    await writeFile(
      cfg,
      [
        "routerId: 192.168.40.10",
        "asn: 64512",
        "cluster:",
        "  podCIDRs: [10.244.0.0/16]",
        "office:",
        "  prefixes: [10.10.0.0/24]",
        "returnPath:",
        "  mode: snat",
        "peers:",
        "  - address: 192.168.40.101",
        "    asn: 64512",
        "    password: s3cret-not-printed",
        "",
      ].join("\n"),
    );
    view.status = {
      ...HEALTHY_STATUS,
      peers: [
        {
          ...(HEALTHY_STATUS.peers[0] as StatusJson["peers"][number]),
          state: "Connect",
          info: "Connection timed out",
          lastError: "Connection timed out",
        },
      ],
    };
    try {
      const c = collect();
      const code = await runDoctor(
        ["--socket", socket, "--config", cfg],
        c.io,
        deps({ ping: [], maxInFlight: 0 }),
      );
      expect(c.err).toBe("");
      expect(code).toBe(3);
      expect(c.out).toContain("TCP-MD5 password is configured");
      expect(c.out).toContain("returnPath.mode is snat but the nftables table is not managed");
      expect(c.out).not.toContain("s3cret");
    } finally {
      view.status = HEALTHY_STATUS;
    }
  });

  it("bad arguments: exit 2 with usage", async () => {
    const c = collect();
    expect(await runDoctor(["--bogus"], c.io, deps({ ping: [], maxInFlight: 0 }))).toBe(2);
    expect(c.err).toContain("usage: podgate doctor");
  });
});
