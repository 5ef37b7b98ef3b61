/**
 * diagnose(): one table per check, fed with status/routes JSON in the documented shapes
 * (docs/api.md, KernelSyncStatus, NftStatus), and the text form of the findings.
 */
import { describe, expect, it } from "vitest";
import type { PeerStatus, RouteJson, StatusJson } from "../../../src/api/types.ts";
import {
  type DoctorInput,
  diagnose,
  type Finding,
  formatFindings,
  probeTargets,
  within,
} from "../../../src/doctor/diagnose.ts";

function peer(p: Partial<PeerStatus> & { address: string }): PeerStatus {
  const up = (p.state ?? "Established") === "Established";
  return {
    asn: 64512,
    name: p.address,
    role: "cluster",
    state: "Established",
    since: "2026-11-22T21:00:02.000Z",
    info: up ? "Established" : "Connecting",
    prefixesReceived: 1,
    prefixesAccepted: 1,
    prefixesAdvertised: 1,
    updatesReceived: 2,
    updatesSent: 1,
    ...p,
  };
}

function route(r: Partial<RouteJson> & { prefix: string }): RouteJson {
  return {
    nextHop: "192.168.40.101",
    peer: "192.168.40.101",
    best: true,
    source: "bgp",
    family: r.prefix.includes(":") ? "ipv6" : "ipv4",
    asPath: "",
    origin: "igp",
    localPref: 100,
    age: 30,
    ...r,
  };
}

function status(peers: readonly PeerStatus[], extra: Partial<StatusJson> = {}): StatusJson {
  return {
    routerId: "192.168.40.10",
    asn: 64512,
    version: "0.1.0",
    startedAt: "2026-11-22T21:00:00.000Z",
    peers,
    ...extra,
  };
}

const GOOD_SYSCTLS = {
  "net.ipv4.ip_forward": "1",
  "net.ipv6.conf.all.forwarding": "1",
  "net.ipv4.conf.all.rp_filter": "2",
  "net.ipv4.conf.default.rp_filter": "2",
  "net.ipv4.conf.eth0.rp_filter": "1",
};

const NODE1 = peer({ address: "192.168.40.101", name: "node1" });
const NODE2 = peer({ address: "192.168.40.102", name: "node2" });
const OFFICE = peer({ address: "192.168.50.1", asn: 65010, role: "office", name: "office-router" });

/** A healthy gateway: everything Established, installed, office prefix advertised to the nodes. */
function healthy(over: Partial<DoctorInput> = {}): DoctorInput {
  return {
    status: status([NODE1, NODE2, OFFICE], {
      dataplane: {
        phase: "converged",
        installed: 2,
        desired: 2,
        failed: 0,
        adopted: 0,
        staleRemoved: 0,
        conflicts: 0,
        errors: 0,
      },
      nftables: {
        table: "inet podgate",
        state: "applied",
        snat: false,
        mss: "auto",
        rules: 1,
        applies: 1,
        errors: 0,
      },
    }),
    routes: {
      routes: [
        route({ prefix: "10.244.1.0/26", installed: true }),
        route({
          prefix: "10.244.2.0/26",
          nextHop: "192.168.40.102",
          peer: "192.168.40.102",
          installed: true,
        }),
        route({
          prefix: "10.10.0.0/24",
          nextHop: "192.168.50.1",
          peer: "192.168.50.1",
          asPath: "65010",
          advertisedTo: ["192.168.40.101", "192.168.40.102"],
          installed: true,
        }),
      ],
    },
    sysctls: GOOD_SYSCTLS,
    links: [
      { name: "lo", mtu: 65536 },
      { name: "eth0", mtu: 1500, toward: ["192.168.40.101", "192.168.40.102", "192.168.50.1"] },
    ],
    config: {
      returnPath: "advertise",
      officePrefixes: ["10.10.0.0/24"],
      mssClamp: "auto",
      dataplaneEnabled: true,
    },
    ...over,
  };
}

function byId(fs: Finding[], id: string): Finding | undefined {
  return fs.find((f) => f.id === id);
}

describe("diagnose: a healthy gateway", () => {
  it("has no error and no warning", () => {
    const fs = diagnose(healthy());
    expect(fs.filter((f) => f.severity === "error" || f.severity === "warning")).toEqual([]);
    expect(byId(fs, "peers")?.what).toBe("3 of 3 BGP sessions Established");
    expect(byId(fs, "return-path")?.severity).toBe("ok");
  });
});

describe("diagnose: forwarding", () => {
  it.each([
    ["v4 off", { "net.ipv4.ip_forward": "0" }, "ip-forward-v4", "error"],
    ["v4 on", {}, "ip-forward-v4", "ok"],
    ["v6 off, IPv6 unused", { "net.ipv6.conf.all.forwarding": "0" }, "ip-forward-v6", "info"],
  ] as const)("%s", (_n, over, id, severity) => {
    const fs = diagnose(healthy({ sysctls: { ...GOOD_SYSCTLS, ...over } }));
    expect(byId(fs, id)?.severity).toBe(severity);
  });

  it("v6 off while IPv6 routes exist is an error", () => {
    const base = healthy();
    const fs = diagnose({
      ...base,
      sysctls: { ...GOOD_SYSCTLS, "net.ipv6.conf.all.forwarding": "0" },
      routes: {
        routes: [...(base.routes?.routes ?? []), route({ prefix: "fd00:10:244::/122", installed: true })],
      },
    });
    expect(byId(fs, "ip-forward-v6")?.severity).toBe("error");
  });
});

describe("diagnose: rp_filter", () => {
  it.each([
    ["all=2 wins over eth0=1 (kernel uses the max)", { "net.ipv4.conf.all.rp_filter": "2" }, "ok"],
    ["all=0, eth0=1 toward the peers", { "net.ipv4.conf.all.rp_filter": "0" }, "warning"],
    [
      "all=1, eth0 unset",
      { "net.ipv4.conf.all.rp_filter": "1", "net.ipv4.conf.eth0.rp_filter": "0" },
      "warning",
    ],
    ["all=0, eth0=0", { "net.ipv4.conf.all.rp_filter": "0", "net.ipv4.conf.eth0.rp_filter": "0" }, "ok"],
  ] as const)("%s", (_n, over, severity) => {
    const f = byId(diagnose(healthy({ sysctls: { ...GOOD_SYSCTLS, ...over } })), "rp-filter");
    expect(f?.severity).toBe(severity);
    if (severity === "warning") {
      expect(f?.what).toContain("eth0 (toward 192.168.40.101");
      expect(f?.fix).toContain("rp_filter=2");
    }
  });

  it("only links toward a peer count when that is known", () => {
    const fs = diagnose(
      healthy({
        sysctls: {
          ...GOOD_SYSCTLS,
          "net.ipv4.conf.all.rp_filter": "0",
          "net.ipv4.conf.eth0.rp_filter": "0",
          "net.ipv4.conf.eth1.rp_filter": "1",
        },
        links: [
          { name: "eth0", mtu: 1500, toward: ["192.168.40.101"] },
          { name: "eth1", mtu: 1500 },
        ],
      }),
    );
    expect(byId(fs, "rp-filter")?.severity).toBe("ok");
  });
});

describe("diagnose: MTU and MSS clamping", () => {
  const wg = { name: "wg0", mtu: 1420 };
  it.each([
    ["tunnel, nftables mss off", "off", [wg], "warning"],
    ["tunnel, nftables mss auto", "auto", [wg], "ok"],
    ["tunnel, nftables mss 1360", 1360, [{ name: "tunl0", mtu: 1480 }], "ok"],
    ["no small link", "off", [{ name: "eth0", mtu: 1500 }], undefined],
  ] as const)("%s", (_n, mss, links, severity) => {
    const base = healthy();
    const fs = diagnose({
      ...base,
      status: status(base.status?.peers ?? [], { nftables: { state: "applied", snat: false, mss } }),
      links: [...links],
      config: { ...base.config, mssClamp: String(mss) },
    });
    expect(byId(fs, "mtu-mss")?.severity).toBe(severity);
    if (severity === "warning") expect(byId(fs, "mtu-mss")?.fix).toContain("dataplane.mssClamp: auto");
  });

  it("without nftables status the daemon clamps nothing", () => {
    const fs = diagnose({ ...healthy(), status: status([NODE1]), config: {}, links: [wg] });
    expect(byId(fs, "mtu-mss")).toMatchObject({
      severity: "warning",
      what: expect.stringContaining("wg0 (1420)"),
    });
  });
});

describe("diagnose: sessions that are not Established", () => {
  const down = (p: Partial<PeerStatus>) => peer({ address: "192.168.40.103", name: "node3", ...p });
  it.each([
    [
      "connection refused on a cluster peer",
      { state: "Active", info: "Connection refused", lastError: "Connection refused" },
      false,
      /connection refused/,
      /podgate render calico/,
    ],
    [
      "connect timeout with a password: MD5 mismatch",
      { state: "Connect", info: "Connection timed out", lastError: "Connection timed out" },
      true,
      /TCP-MD5 password is configured/,
      /nstat -az \| grep -i md5/,
    ],
    [
      "connect timeout without a password",
      { state: "Connect", info: "Connection timed out", lastError: "Connection timed out" },
      false,
      /connection timed out$/,
      /nc -vz/,
    ],
    [
      "Bad Peer AS sent by podgate, with numbers",
      {
        state: "Idle",
        lastError: "Sent NOTIFICATION OPEN Message Error/Bad Peer AS: 'bad peer AS 64513, expected 64512'",
      },
      false,
      /peer says AS 64513, podgate expects AS 64512/,
      /asn to 64513/,
    ],
    [
      "Bad Peer AS received from a Calico node",
      { state: "Active", lastError: "Received NOTIFICATION OPEN Message Error/Bad Peer AS" },
      false,
      /does not expect podgate's AS 64512/,
      /asNumber: 64512/,
    ],
    [
      "Bad Peer AS as the speaker reports it after the TCP close",
      {
        state: "Active",
        lastError: "Connection closed by peer (last NOTIFICATION received: OPEN Message Error/Bad Peer AS)",
      },
      false,
      /does not expect podgate's AS 64512/,
      /asNumber: 64512/,
    ],
    [
      "another NOTIFICATION wins over the TCP close that followed it",
      {
        state: "Active",
        lastError: "Connection closed by peer (last NOTIFICATION received: Cease/Administrative Reset)",
      },
      false,
      /Cease\/Administrative Reset/,
      /read the NOTIFICATION/,
    ],
    [
      "closed by peer without a NOTIFICATION",
      { state: "Active", lastError: "Connection closed by peer" },
      false,
      /the peer closes the connection/,
      /BGPPeer covers this node/,
    ],
    [
      "hold timer expired",
      { state: "Active", lastError: "Hold timer expired" },
      false,
      /hold timer expired/,
      /ping -M do/,
    ],
    [
      "stuck Active with no error",
      { state: "Active", info: "Connecting" },
      false,
      /no connection ever completes/,
      /BGPPeer/,
    ],
    [
      "passive with no error",
      { state: "Active", info: "Waiting for the peer to connect" },
      false,
      /waits for the peer to connect/,
      /make one side active/,
    ],
  ] as const)("%s", (_n, p, password, what, fix) => {
    const input = healthy({
      status: status([NODE1, down(p as Partial<PeerStatus>)]),
      config: { peers: [{ address: "192.168.40.103", password }] },
    });
    const f = byId(diagnose(input), "peer-down:192.168.40.103");
    expect(f?.what).toMatch(what);
    expect(f?.fix).toMatch(fix);
    // node1 is up: a second cluster peer down is a warning, not an outage.
    expect(f?.severity).toBe("warning");
  });

  it("the only office peer down is an error; no password is never named as MD5", () => {
    const office = peer({
      address: "192.168.50.1",
      asn: 65010,
      role: "office",
      state: "Connect",
      info: "Connection timed out",
      lastError: "connect ETIMEDOUT 192.168.50.1:179 after 5000 ms",
    });
    const f = byId(diagnose(healthy({ status: status([NODE1, office]) })), "peer-down:192.168.50.1");
    expect(f?.severity).toBe("error");
    expect(f?.why).not.toMatch(/mismatch is likely/);
  });

  it("no session Established: an error summary first", () => {
    const fs = diagnose(
      healthy({
        status: status([
          peer({ address: "192.168.40.101", state: "Active", lastError: "Connection refused" }),
          peer({ address: "192.168.50.1", role: "office", asn: 65010, state: "Connect" }),
        ]),
      }),
    );
    expect(fs[0]).toMatchObject({
      id: "no-established-peers",
      severity: "error",
      what: expect.stringContaining("0 of 2"),
    });
    expect(byId(fs, "peer-down:192.168.40.101")?.severity).toBe("error");
  });

  it("a disabled peer is only info", () => {
    const fs = diagnose(healthy({ status: status([NODE1, down({ state: "Idle", info: "Disabled" })]) }));
    expect(byId(fs, "peer-down:192.168.40.103")?.severity).toBe("info");
  });
});

describe("diagnose: kernel vs Loc-RIB", () => {
  it("best routes not installed are an error naming the kernel's last error", () => {
    const base = healthy();
    const fs = diagnose({
      ...base,
      status: status(base.status?.peers ?? [], {
        dataplane: {
          phase: "converged",
          installed: 1,
          desired: 2,
          failed: 1,
          conflicts: 0,
          errors: 3,
          lastError: { prefix: "10.244.2.0/26", code: "ENETUNREACH", at: 1 },
        },
      }),
      routes: {
        routes: [
          route({ prefix: "10.244.1.0/26", installed: true }),
          route({ prefix: "10.244.2.0/26", installed: false }),
          route({ prefix: "10.244.2.0/26", best: false, peer: "192.168.40.102" }),
          route({ prefix: "10.96.0.0/12", source: "local", peer: "local", installed: false }),
        ],
      },
    });
    const f = byId(fs, "kernel-not-installed");
    expect(f?.severity).toBe("error");
    expect(f?.what).toBe("1 best route(s) are in the Loc-RIB but not in the kernel: 10.244.2.0/26");
    expect(f?.why).toContain("ENETUNREACH on 10.244.2.0/26");
  });

  it("conflicts are a warning; dataplane off means no kernel check", () => {
    const base = healthy();
    const withConflicts = diagnose({
      ...base,
      status: status(base.status?.peers ?? [], { dataplane: { failed: 0, conflicts: 2 } }),
    });
    expect(byId(withConflicts, "kernel-conflicts")).toMatchObject({
      severity: "warning",
      what: expect.stringContaining("2 route(s)"),
    });
    const off = diagnose({
      ...base,
      status: status(base.status?.peers ?? []),
      config: { returnPath: "advertise", officePrefixes: ["10.10.0.0/24"] },
    });
    expect(byId(off, "kernel-not-installed")).toBeUndefined();
  });
});

describe("diagnose: tunnels", () => {
  const KEY = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";
  const wg = (peerState: "up" | "down", extra: Record<string, unknown> = {}) => ({
    name: "wg-cloud",
    implementation: "userspace",
    addresses: ["10.200.0.1/30"],
    peers: [
      {
        publicKey: KEY,
        endpoint: "198.51.100.7:51820",
        allowedIPs: [],
        rxBytes: 0,
        txBytes: 0,
        state: peerState,
        ...extra,
      },
    ],
  });
  const withStatus = (extra: Partial<StatusJson>): DoctorInput => {
    const h = healthy();
    return { ...h, status: { ...h.status!, ...extra } };
  };

  it("a WireGuard peer without a recent handshake is an error naming the tunnel, key prefix and endpoint", () => {
    const fs = diagnose(withStatus({ tunnels: [wg("down", { handshakeAgeSeconds: 400 })] }));
    const f = byId(fs, "tunnel-down:wg-cloud:xTIBA5rb…");
    expect(f?.severity).toBe("error");
    expect(f?.what).toBe(
      "WireGuard peer xTIBA5rb… on wg-cloud is down (last handshake: 400 s ago, endpoint 198.51.100.7:51820)",
    );
    expect(JSON.stringify(fs)).not.toContain(KEY);
  });

  it("every peer up is ok; a tunnel that failed to apply is an error", () => {
    expect(byId(diagnose(withStatus({ tunnels: [wg("up")] })), "tunnel:wg-cloud")?.severity).toBe("ok");
    const failed = diagnose(
      withStatus({ tunnels: [{ ...wg("up"), implementation: "absent", error: "wireguard-go exited" }] }),
    );
    expect(byId(failed, "tunnel-error:wg-cloud")?.what).toMatch(/missing: wireguard-go exited/);
  });

  it("the ipip device: an error when it could not be made, ok when up, nothing when not configured", () => {
    const bad = diagnose(
      withStatus({
        ipip: {
          name: "pgipip0",
          up: false,
          created: false,
          lastError: "the kernel has no ipip support (modprobe ipip)",
        },
      }),
    );
    expect(byId(bad, "ipip")).toMatchObject({
      severity: "error",
      what: expect.stringMatching(/not available: the kernel has no ipip support/),
    });
    expect(
      byId(diagnose(withStatus({ ipip: { name: "pgipip0", up: true, created: true } })), "ipip")?.severity,
    ).toBe("ok");
    expect(byId(diagnose(healthy()), "ipip")).toBeUndefined();
  });
});

describe("diagnose: return path", () => {
  it("advertise with no cluster peer having the office prefix is an error", () => {
    const base = healthy();
    const fs = diagnose({
      ...base,
      routes: {
        routes: (base.routes?.routes ?? []).map((r) =>
          r.prefix === "10.10.0.0/24" ? { ...r, advertisedTo: [] } : r,
        ),
      },
    });
    expect(byId(fs, "return-path")).toMatchObject({
      severity: "error",
      what: expect.stringContaining("10.10.0.0/24"),
    });
  });

  it("advertise to some but not all cluster peers is a warning naming them", () => {
    const base = healthy();
    const fs = diagnose({
      ...base,
      routes: {
        routes: (base.routes?.routes ?? []).map((r) =>
          r.prefix === "10.10.0.0/24" ? { ...r, advertisedTo: ["192.168.40.101"] } : r,
        ),
      },
    });
    expect(byId(fs, "return-path")).toMatchObject({
      severity: "warning",
      what: expect.stringContaining("node2"),
    });
  });

  it("without config the office role tells which routes are office routes", () => {
    const base = healthy();
    const ok = diagnose({ ...base, config: {} });
    expect(byId(ok, "return-path")?.severity).toBe("ok");
  });

  it.each([
    ["applied", { state: "applied", snat: true, mss: "off" }, "ok"],
    [
      "absent",
      { state: "absent", snat: true, mss: "off", lastError: { message: "nft: not found", at: 1 } },
      "error",
    ],
    ["no nftables status", undefined, "error"],
  ] as const)("snat mode, nftables %s", (_n, nft, severity) => {
    const base = healthy();
    const fs = diagnose({
      ...base,
      status: status(base.status?.peers ?? [], nft ? { nftables: nft } : {}),
      config: { returnPath: "snat" },
    });
    expect(byId(fs, "return-path")?.severity).toBe(severity);
    if (nft?.state === "absent") expect(byId(fs, "return-path")?.what).toContain("nft: not found");
  });
});

describe("diagnose: probes and the daemon", () => {
  it.each([
    [[{ prefix: "10.244.1.0/26", target: "10.244.1.1", ok: true, rttMs: 0.4 }], "ok"],
    [
      [
        { prefix: "10.244.1.0/26", target: "10.244.1.1", ok: true },
        { prefix: "10.244.2.0/26", target: "10.244.2.1", ok: false },
      ],
      "warning",
    ],
    [[{ prefix: "10.244.2.0/26", target: "10.244.2.1", ok: false }], "error"],
  ] as const)("probes %#", (probes, severity) => {
    const f = byId(diagnose(healthy({ probes: [...probes] })), "probes");
    expect(f?.severity).toBe(severity);
    if (severity !== "ok") expect(f?.what).toContain("10.244.2.1 (10.244.2.0/26)");
  });

  it("an unreachable daemon is an error and the local checks still run", () => {
    const fs = diagnose({ sysctls: { "net.ipv4.ip_forward": "0" }, links: [], apiError: "ENOENT" });
    expect(fs.map((f) => f.id)).toEqual(["daemon-unreachable", "ip-forward-v4", "rp-filter"]);
    expect(fs[0]?.what).toContain("ENOENT");
  });
});

describe("probeTargets and within", () => {
  it("takes the first address of each best block, skips services, local routes and aggregates", () => {
    const t = probeTargets(
      {
        routes: [
          route({ prefix: "10.244.1.0/26" }),
          route({ prefix: "10.244.1.0/26", best: false }),
          route({ prefix: "10.244.9.7/32" }),
          route({ prefix: "10.96.0.0/12" }),
          route({ prefix: "10.96.0.10/32" }),
          route({ prefix: "10.10.0.0/24", source: "local", peer: "local" }),
          route({ prefix: "fd00:10:244::40/122" }),
        ],
      },
      { serviceCIDRs: ["10.96.0.0/12"] },
    );
    expect(t).toEqual([
      { prefix: "10.244.1.0/26", target: "10.244.1.1" },
      { prefix: "10.244.9.7/32", target: "10.244.9.7" },
      { prefix: "fd00:10:244::40/122", target: "fd00:10:244::41" },
    ]);
  });

  it("is bounded", () => {
    const routes = Array.from({ length: 100 }, (_, i) => route({ prefix: `10.244.${i}.0/26` }));
    expect(probeTargets({ routes }, { max: 32 })).toHaveLength(32);
  });

  it.each([
    ["10.244.1.0/26", "10.244.0.0/16", true],
    ["10.245.1.0/26", "10.244.0.0/16", false],
    ["10.244.0.0/16", "10.244.1.0/26", false],
    ["fd00::1/128", "fd00::/64", true],
    ["10.0.0.1/32", "fd00::/64", false],
  ] as const)("within(%s, %s) = %s", (a, b, want) => {
    expect(within(a, b)).toBe(want);
  });
});

describe("formatFindings", () => {
  it("prints errors first with why and fix, then a summary", () => {
    const text = formatFindings([
      { id: "a", severity: "ok", what: "fine", why: "", fix: "" },
      { id: "b", severity: "error", what: "broken", why: "because", fix: "do this" },
      { id: "c", severity: "warning", what: "shaky", why: "w", fix: "f" },
    ]);
    expect(text).toBe(
      [
        "ERROR broken",
        "      why: because",
        "      fix: do this",
        "WARN  shaky",
        "      why: w",
        "      fix: f",
        "OK    fine",
        "",
        "1 error(s), 1 warning(s), 0 info, 1 ok",
        "",
      ].join("\n"),
    );
  });
});
