/**
 * Loading valid configs: the minimal file, every default, derived peer defaults, policy forms,
 * password files (relative path, warnings), redaction and the guarantee that secrets never
 * appear in error text.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import {
  ConfigError,
  loadConfig,
  loadConfigWithWarnings,
  parseConfig,
  parseConfigWithWarnings,
  redactConfig,
} from "../../../src/config/load.ts";

const MINIMAL = `routerId: 10.0.0.2
asn: 64512
peers:
  - address: 10.0.0.1
    asn: 64512
`;

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), `podgate-config-${process.pid}-`));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function errorText(text: string): string {
  try {
    parseConfig(text, "podgate.yaml", { baseDir: tempDir() });
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    const err = e as ConfigError;
    // Everything a log line or a debugger could show.
    return [err.message, JSON.stringify(err.issues), inspect(err, { depth: 10 }), String(err.stack)].join(
      "\n",
    );
  }
  throw new Error("config unexpectedly loaded");
}

describe("minimal config", () => {
  it("loads from a file as is, with every default filled in", async () => {
    const dir = tempDir();
    const file = join(dir, "podgate.yaml");
    writeFileSync(file, MINIMAL);
    const cfg = await loadConfig(file);
    expect(cfg).toEqual({
      routerId: "10.0.0.2",
      asn: 64512,
      listen: { enabled: true, address: "::", port: 179 },
      api: { socket: "/run/podgate/podgate.sock" },
      metrics: { enabled: false, address: "127.0.0.1:9179", allowNonLoopback: false },
      cluster: { podCIDRs: [], serviceCIDRs: [] },
      office: { prefixes: [], advertise: "aggregate" },
      returnPath: { mode: "advertise" },
      dataplane: {
        enabled: true,
        table: 254,
        protocol: 201,
        metric: 20,
        unreachableAggregates: true,
        mssClamp: "auto",
        sysctl: "set",
        onShutdown: "keep",
        convergeTimeout: 120,
      },
      kubernetes: { enabled: false, peers: true, staticRoutes: true },
      tunnels: { handshakeTimeout: 180, staleReset: true, wireguard: [] },
      log: { level: "info" },
      defaults: { holdTime: 90, connectRetryTime: 5 },
      peers: [
        {
          address: "10.0.0.1",
          asn: 64512,
          name: "10.0.0.1",
          role: "cluster",
          port: 179,
          passive: false,
          holdTime: 90,
          connectRetryTime: 5,
          ttlSecurity: false,
          families: ["ipv4", "ipv6"],
          addPath: "receive",
          nextHopSelf: true,
          gracefulRestart: true,
          enabled: true,
        },
      ],
      prefixLists: {},
      policies: {},
      originate: [],
    });
    // Optional keys without default stay absent rather than present-and-undefined.
    for (const key of [
      "keepaliveTime",
      "password",
      "multihop",
      "maxPrefix",
      "import",
      "export",
      "localAddress",
    ]) {
      expect(Object.hasOwn(cfg.peers[0]!, key), key).toBe(false);
    }
  });

  it("reports an unreadable file as a ConfigError", async () => {
    const file = join(tempDir(), "missing.yaml");
    await expect(loadConfig(file)).rejects.toThrowError(
      `${file}: cannot read the configuration file (ENOENT)`,
    );
  });

  it("returns a frozen config", () => {
    const cfg = parseConfig(MINIMAL, "m.yaml");
    expect(Object.isFrozen(cfg)).toBe(true);
    expect(Object.isFrozen(cfg.peers[0]!.families)).toBe(true);
  });

  it("loads a config without peers", () => {
    expect(parseConfig("routerId: 1.2.3.4\nasn: 65001\npeers:\n", "m.yaml").peers).toEqual([]);
  });
});

describe("derived defaults", () => {
  const cfg = parseConfig(
    `routerId: 10.0.0.2
asn: 64512
defaults: { holdTime: 30, connectRetryTime: 7 }
peers:
  - { address: 10.0.0.1, asn: 64512 }
  - { address: 192.168.40.1, asn: 65010, name: office }
  - { address: "2001:DB8:0:0::1", asn: 64513, role: gateway, holdTime: 0 }
  - { address: 10.0.0.9, asn: 64512, role: office, nextHopSelf: false, connectRetryTime: 60, keepaliveTime: 10 }
`,
    "d.yaml",
  );
  const [cluster, office, gateway, explicit] = cfg.peers;

  it("role is cluster for the local AS, office otherwise; explicit roles win", () => {
    expect([cluster!.role, office!.role, gateway!.role, explicit!.role]).toEqual([
      "cluster",
      "office",
      "gateway",
      "office",
    ]);
  });

  it("nextHopSelf is true for every role unless set", () => {
    expect([cluster!.nextHopSelf, office!.nextHopSelf, gateway!.nextHopSelf, explicit!.nextHopSelf]).toEqual([
      true,
      true,
      true,
      false,
    ]);
  });

  it("timers come from defaults unless set", () => {
    expect([cluster!.holdTime, gateway!.holdTime]).toEqual([30, 0]);
    expect([cluster!.connectRetryTime, explicit!.connectRetryTime]).toEqual([7, 60]);
    expect(explicit!.keepaliveTime).toBe(10);
  });

  it("name defaults to the address; addresses are canonical", () => {
    expect(cluster!.name).toBe("10.0.0.1");
    expect(office!.name).toBe("office");
    expect(gateway!.address).toBe("2001:db8::1");
    expect(gateway!.name).toBe("2001:db8::1");
  });
});

describe("policies, prefix lists, originate", () => {
  const cfg = parseConfig(
    `routerId: 10.0.0.2
asn: 64512
prefixLists:
  pods:
    - { prefix: 10.244.0.0/16, ge: 26 }
  exact:
    - prefix: 10.96.0.0/12
      action: deny
  upto:
    - { prefix: 2001:db8::/32, le: 48 }
policies:
  short:
    - { match: { prefixList: pods }, action: accept }
  long:
    terms:
      - name: t
        match: { community: ["65000:0100", NO_EXPORT], largeCommunity: ["64512:1:2"], family: ipv6 }
        set: { localPref: 200, asPathPrepend: [64512, 64512], nextHop: self, communitiesAdd: [NO_ADVERTISE] }
        action: next
    default: accept
  empty: []
peers:
  - { address: 10.0.0.1, asn: 64512, import: short, export: accept-all }
originate:
  - { prefix: 192.168.10.0/24, nextHop: 10.0.0.2, communities: ["64512:1"], med: 5, localPref: 100 }
`,
    "p.yaml",
  );

  it("fills ge/le so the policy engine never guesses", () => {
    expect(cfg.prefixLists["pods"]).toEqual([{ prefix: "10.244.0.0/16", ge: 26, le: 32, action: "permit" }]);
    expect(cfg.prefixLists["exact"]).toEqual([{ prefix: "10.96.0.0/12", ge: 12, le: 12, action: "deny" }]);
    expect(cfg.prefixLists["upto"]).toEqual([{ prefix: "2001:db8::/32", ge: 32, le: 48, action: "permit" }]);
  });

  it("accepts the short form of a policy (default reject)", () => {
    expect(cfg.policies["short"]).toEqual({
      terms: [{ match: { prefixList: "pods" }, action: "accept" }],
      default: "reject",
    });
    expect(cfg.policies["empty"]).toEqual({ terms: [], default: "reject" });
  });

  it("keeps the long form and normalises communities", () => {
    expect(cfg.policies["long"]).toEqual({
      terms: [
        {
          name: "t",
          match: { community: ["65000:100", "NO_EXPORT"], largeCommunity: ["64512:1:2"], family: "ipv6" },
          set: {
            localPref: 200,
            asPathPrepend: [64512, 64512],
            nextHop: "self",
            communitiesAdd: ["NO_ADVERTISE"],
          },
          action: "next",
        },
      ],
      default: "accept",
    });
  });

  it("loads originate entries and built-in policy references", () => {
    expect(cfg.originate).toEqual([
      { prefix: "192.168.10.0/24", nextHop: "10.0.0.2", communities: ["64512:1"], med: 5, localPref: 100 },
    ]);
    expect(cfg.peers[0]!.export).toBe("accept-all");
  });
});

describe("passwords", () => {
  const SECRET = "Tr0ub4dor&3-very-secret";

  it("reads passwordFile relative to the config file and strips one newline", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "office.key"), `${SECRET}\n`, { mode: 0o600 });
    writeFileSync(join(dir, "podgate.yaml"), `${MINIMAL}    passwordFile: office.key\n`);
    const { config, warnings } = await loadConfigWithWarnings(join(dir, "podgate.yaml"));
    expect(config.peers[0]!.password).toBe(SECRET);
    expect(Object.hasOwn(config.peers[0]!, "passwordFile")).toBe(false);
    expect(warnings).toEqual([]);
  });

  it("warns when the password file is readable by others", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "k"), SECRET);
    chmodSync(join(dir, "k"), 0o644);
    const { config, warnings } = parseConfigWithWarnings(`${MINIMAL}    passwordFile: k\n`, "w.yaml", {
      baseDir: dir,
    });
    expect(config.peers[0]!.password).toBe(SECRET);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ path: "peers[0].passwordFile", line: 6, column: 19 });
    expect(warnings[0]!.message).toMatch(/mode 0644/);
    expect(JSON.stringify(warnings)).not.toContain(SECRET);
  });

  it("reports a missing or empty password file at its line", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "empty"), "\n", { mode: 0o600 });
    const err = (() => {
      try {
        parseConfig(
          `${MINIMAL}    passwordFile: nope\n  - { address: 10.0.0.3, asn: 1, passwordFile: empty }\n`,
          "p.yaml",
          { baseDir: dir },
        );
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error("loaded");
    })();
    expect(err.issues).toEqual([
      {
        path: "peers[0].passwordFile",
        line: 6,
        column: 19,
        message: `cannot read password file ${join(dir, "nope")} (ENOENT)`,
      },
      {
        path: "peers[1].passwordFile",
        line: 7,
        column: 48,
        message: `password file ${join(dir, "empty")} is empty`,
      },
    ]);
  });

  it("never puts the password into error text", () => {
    const cases = [
      // wrong type (number, list, mapping)
      `${MINIMAL}    password: 98765432101\n`,
      `${MINIMAL}    password: [${SECRET}]\n`,
      `${MINIMAL}    password: { ${SECRET}: 1 }\n`,
      // both password and passwordFile
      `${MINIMAL}    password: ${SECRET}\n    passwordFile: x\n`,
      // too long for TCP-MD5
      `${MINIMAL}    password: ${SECRET.repeat(5)}\n`,
      // YAML syntax errors on the password line
      `${MINIMAL}    password: "${SECRET}\n`,
      `${MINIMAL}    password: ${SECRET}: x\n`,
      `${MINIMAL}    password: !${SECRET} x\n`,
      `${MINIMAL}    password: *${SECRET}\n`,
      // an error elsewhere in a file holding a valid password
      `${MINIMAL}    password: ${SECRET}\n    port: 0\n`,
    ];
    for (const text of cases) {
      const out = errorText(text);
      expect(out, text).not.toContain(SECRET);
      expect(out, text).not.toContain("98765432101");
    }
  });

  it("explains a numeric password without echoing it", () => {
    expect(errorText(`${MINIMAL}    password: 12345678\n`)).toContain(
      "podgate.yaml:6:15: peers[0].password: must be a string (put the value in quotes)",
    );
  });

  it("redactConfig hides passwords and leaves the config untouched", () => {
    const cfg = parseConfig(
      `${MINIMAL}    password: "${SECRET}"\n  - { address: 10.0.0.3, asn: 1 }\n`,
      "r.yaml",
    );
    const red = redactConfig(cfg) as { peers: Array<{ password?: string }> };
    expect(JSON.stringify(red)).not.toContain(SECRET);
    expect(red.peers[0]!.password).toBe("<redacted>");
    expect(Object.hasOwn(red.peers[1]!, "password")).toBe(false);
    expect(cfg.peers[0]!.password).toBe(SECRET);
  });
});

describe("warnings", () => {
  it("warns about a keepalive above a third of the hold time and passive peers that cannot connect", () => {
    const { warnings } = parseConfigWithWarnings(
      `${MINIMAL}    keepaliveTime: 60\n    passive: true\nlisten: { enabled: false }\n`,
      "w.yaml",
    );
    expect(warnings.map((w) => [w.path, w.line])).toEqual([
      ["peers[0].keepaliveTime", 6],
      ["peers[0].passive", 7],
    ]);
  });
});

describe("tunnels.wireguard", () => {
  // A fixed test key (base64 of 32 bytes); never a real one.
  const PRIV = "YC9yfvMLzqCIgqdhwz4WU/GltsbwsNtvTN0Pfa7yHFY=";
  const PEER = "kdugCwx0fEeUbAHNQvdcgnbxrjjIdcVCHgeRx3WEOnU=";
  function withKey(mode: number): { dir: string; text: (extra?: string) => string } {
    const dir = tempDir();
    writeFileSync(join(dir, "wg.key"), `${PRIV}\n`);
    chmodSync(join(dir, "wg.key"), mode);
    return {
      dir,
      text: (extra = "") => `${MINIMAL}tunnels:
  wireguard:
    - name: wg-office
      privateKeyFile: ${join(dir, "wg.key")}
      listenPort: 51820
      address: [10.200.0.1/30]
      peers:
        - publicKey: ${PEER}
          endpoint: "203.0.113.7:51820"
          allowedIPs: [10.200.0.2/32, 10.244.0.0/16]
          persistentKeepalive: 25
${extra}`,
    };
  }

  it("loads a tunnel with defaults (no mtu: derived at run time; timeout 180 s)", () => {
    const { dir, text } = withKey(0o600);
    const cfg = parseConfig(text(), "t.yaml", { baseDir: dir });
    expect(cfg.tunnels).toEqual({
      handshakeTimeout: 180,
      staleReset: true,
      wireguard: [
        {
          name: "wg-office",
          privateKeyFile: join(dir, "wg.key"),
          listenPort: 51820,
          address: ["10.200.0.1/30"],
          peers: [
            {
              publicKey: PEER,
              endpoint: "203.0.113.7:51820",
              allowedIPs: ["10.200.0.2/32", "10.244.0.0/16"],
              persistentKeepalive: 25,
            },
          ],
        },
      ],
    });
  });

  it("refuses a private key file readable by group or others, without echoing the key", () => {
    const { text } = withKey(0o640);
    const out = errorText(text());
    expect(out).toMatch(/tunnels\.wireguard\[0\]\.privateKeyFile/);
    expect(out).toMatch(/mode 0640.*chmod 600/);
    expect(out).not.toContain(PRIV);
  });

  it("refuses a name longer than 15 characters, a relative key path, a bad key and a bad endpoint", () => {
    const { text } = withKey(0o600);
    const long = errorText(text().replace("name: wg-office", "name: wg-office-too-long"));
    expect(long).toMatch(/tunnels\.wireguard\[0\]\.name.*at most 15 characters/);
    const dash = errorText(text().replace("name: wg-office", 'name: "--help"'));
    expect(dash).toMatch(/tunnels\.wireguard\[0\]\.name/);
    const rel = errorText(text().replace(/privateKeyFile: .*/, "privateKeyFile: wg.key"));
    expect(rel).toMatch(/privateKeyFile.*absolute path/);
    const badPeer = errorText(text().replace(PEER, "not-a-key"));
    expect(badPeer).toMatch(/peers\[0\]\.publicKey.*base64 WireGuard key/);
    const badEp = errorText(text().replace('"203.0.113.7:51820"', '"203.0.113.7"'));
    expect(badEp).toMatch(/peers\[0\]\.endpoint.*host:port/);
  });

  it("refuses a key file that does not hold a key, and duplicate names", () => {
    const { dir, text } = withKey(0o600);
    writeFileSync(join(dir, "wg.key"), "hello\n");
    expect(errorText(text())).toMatch(/does not hold a WireGuard key/);
    writeFileSync(join(dir, "wg.key"), `${PRIV}\n`);
    const dup = `${text()}    - name: wg-office
      privateKeyFile: ${join(dir, "wg.key")}
      listenPort: 51821
      address: [10.200.1.1/30]
      peers: [{ publicKey: ${PEER}, allowedIPs: [10.200.1.2/32] }]
`;
    expect(errorText(dup)).toMatch(/tunnels\.wireguard\[1\]\.name.*duplicate interface name/);
  });

  it("takes an explicit mtu within 1280..65535 and a handshakeTimeout", () => {
    const { dir, text } = withKey(0o600);
    const t = text().replace("listenPort: 51820", "listenPort: 51820\n      mtu: 1380");
    const cfg = parseConfig(t.replace("tunnels:\n", "tunnels:\n  handshakeTimeout: 60\n"), "t.yaml", {
      baseDir: dir,
    });
    expect(cfg.tunnels.handshakeTimeout).toBe(60);
    expect(cfg.tunnels.wireguard[0]!.mtu).toBe(1380);
    expect(errorText(text().replace("listenPort: 51820", "listenPort: 51820\n      mtu: 1000"))).toMatch(
      /mtu/,
    );
  });
});

describe("tunnels.ipip", () => {
  it("defaults: name pgipip0, mode CrossSubnet, MTU left to the runtime; local is required", () => {
    const cfg = parseConfig(`${MINIMAL}tunnels:\n  ipip:\n    local: 192.0.2.1\n`, "t.yaml");
    expect(cfg.tunnels.ipip).toEqual({ name: "pgipip0", local: "192.0.2.1", mode: "CrossSubnet" });
    expect(errorText(`${MINIMAL}tunnels:\n  ipip: {}\n`)).toMatch(/tunnels\.ipip\.local/);
    expect(parseConfig(MINIMAL, "t.yaml").tunnels.ipip).toBeUndefined();
  });

  it("takes local, mtu and mode Always", () => {
    const cfg = parseConfig(
      `${MINIMAL}tunnels:\n  ipip:\n    name: tun-nodes\n    local: 192.0.2.1\n    mtu: 1400\n    mode: Always\n`,
      "t.yaml",
    );
    expect(cfg.tunnels.ipip).toEqual({ name: "tun-nodes", local: "192.0.2.1", mtu: 1400, mode: "Always" });
  });

  it("refuses tunl0, an IPv6 local and a bad mode, with file:line:column", () => {
    expect(errorText(`${MINIMAL}tunnels:\n  ipip:\n    local: 192.0.2.1\n    name: tunl0\n`)).toMatch(
      /podgate\.yaml:9:11: tunnels\.ipip\.name: .*not tunl0/,
    );
    expect(errorText(`${MINIMAL}tunnels:\n  ipip:\n    local: fd00::1\n`)).toMatch(/tunnels\.ipip\.local/);
    expect(errorText(`${MINIMAL}tunnels:\n  ipip:\n    local: 192.0.2.1\n    mode: Sometimes\n`)).toMatch(
      /tunnels\.ipip\.mode[\s\S]*CrossSubnet/,
    );
  });
});

describe("tunnels.staleReset", () => {
  it("defaults to on and can be turned off", () => {
    expect(parseConfig(MINIMAL, "t.yaml").tunnels.staleReset).toBe(true);
    expect(parseConfig(`${MINIMAL}tunnels:\n  staleReset: false\n`, "t.yaml").tunnels.staleReset).toBe(false);
  });
});
