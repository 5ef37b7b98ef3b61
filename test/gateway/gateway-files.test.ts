/**
 * Checks the files an operator installs on a gateway VM (gateway/): the systemd unit
 * (systemd-analyze verify + the hardening it must keep), the example config (accepted by
 * `podgate check-config`), the installer (bash -n, shellcheck; never run here) and the sysctl
 * drop-in (real /proc/sys keys, values the kernel accepts in a throw-away network namespace).
 * Each checker is also fed a broken copy, so a checker that silently passes everything fails.
 */
import { execFileSync, spawnSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { missingPrereqs } from "../helpers/prereq.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const GW = join(ROOT, "gateway");
const UNIT = readFileSync(join(GW, "podgate.service"), "utf8");
const INSTALL = readFileSync(join(GW, "install.sh"), "utf8");
const SYSCTL = readFileSync(join(GW, "99-podgate.conf"), "utf8");
const INSTALL_PREFIX = "/opt/podgate";

const tmp = mkdtempSync(join(tmpdir(), `podgate-gw-${process.pid}-`));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
process.on("exit", () => rmSync(tmp, { recursive: true, force: true }));

/** [Service] etc. as key -> values (a key may repeat). */
function unitSections(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let cur: Map<string, string[]> | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const sec = /^\[(.+)\]$/.exec(line);
    if (sec) {
      cur = new Map();
      sections.set(sec[1]!, cur);
      continue;
    }
    const eq = line.indexOf("=");
    if (!cur || eq < 0) throw new Error(`unit line outside a section or without '=': ${line}`);
    const key = line.slice(0, eq).trim();
    cur.set(key, [...(cur.get(key) ?? []), line.slice(eq + 1).trim()]);
  }
  return sections;
}

const service = unitSections(UNIT).get("Service") ?? new Map<string, string[]>();
const one = (key: string): string | undefined => {
  const v = service.get(key);
  if (v && v.length > 1) throw new Error(`${key} set ${v.length} times`);
  return v?.[0];
};

/**
 * systemd-analyze verify on a copy whose /opt/podgate paths point into this checkout (verify
 * refuses a missing ExecStart binary). It exits 0 on unknown keys and bad values, only
 * warning, so every line it prints about the unit counts as a failure.
 */
function verifyUnit(text: string): string[] {
  const dir = mkdtempSync(join(tmp, "unit-"));
  const file = join(dir, "podgate.service");
  writeFileSync(file, text.replaceAll(`${INSTALL_PREFIX}/`, `${ROOT}/`));
  const r = spawnSync("systemd-analyze", ["verify", "--man=no", file], { encoding: "utf8" });
  const problems = `${r.stdout}\n${r.stderr}`.split("\n").filter((l) => l.includes("podgate.service"));
  if (r.status !== 0) problems.push(`systemd-analyze exited ${r.status}: ${r.stderr}`);
  return problems;
}

const CAPS = ["CAP_NET_ADMIN", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW"];

describe("gateway/podgate.service", () => {
  const skip = missingPrereqs({ commands: ["systemd-analyze"] });
  describe.skipIf(!!skip)("systemd-analyze verify", () => {
    it("passes without a single warning", () => {
      expect(verifyUnit(UNIT)).toEqual([]);
    });
    it("would catch a misspelled key, a bad value or a missing binary", () => {
      expect(verifyUnit(UNIT.replace("ProtectSystem=", "ProtectSytem=")).join("\n")).toMatch(/Unknown key/);
      expect(verifyUnit(UNIT.replace("ProtectHome=yes", "ProtectHome=maybe")).length).toBeGreaterThan(0);
      expect(
        verifyUnit(UNIT.replace("bin/podgate.js run", "bin/podgate-typo.js run")).length,
      ).toBeGreaterThan(0);
      expect(verifyUnit(UNIT.replace(/^Type=notify$/m, "Type=notfy")).join("\n")).toMatch(/service type/);
      expect(verifyUnit(UNIT.replace("WatchdogSec=60s", "WatchdogSec=sixty")).length).toBeGreaterThan(0);
    });
  });

  it("keeps the hardening: only the three network capabilities, read-only system, own user", () => {
    for (const key of ["AmbientCapabilities", "CapabilityBoundingSet"]) {
      expect(one(key)?.split(/\s+/).sort(), key).toEqual(CAPS);
    }
    expect(one("ProtectSystem")).toBe("strict");
    expect(one("ProtectHome")).toMatch(/^(yes|true|read-only|tmpfs)$/);
    expect(one("PrivateTmp")).toMatch(/^(yes|true)$/);
    expect(one("NoNewPrivileges")).toMatch(/^(yes|true)$/);
    expect(one("User")).toBe("podgate");
    expect(one("Restart")).toBe("on-failure");
    expect(one("ReadWritePaths")?.split(/\s+/)).toEqual(
      expect.arrayContaining(["/run/podgate", "/var/lib/podgate"]),
    );
    // No broad escape hatches.
    expect(UNIT).not.toMatch(/CAP_SYS_ADMIN|CAP_DAC_OVERRIDE|^User=root|^PermissionsStartOnly/m);
    expect(one("RestrictAddressFamilies")?.split(/\s+/)).toEqual(
      expect.arrayContaining(["AF_INET", "AF_INET6", "AF_NETLINK", "AF_UNIX"]),
    );
  });

  it("is Type=notify, and the daemon is the one that notifies (READY=1, watchdog)", () => {
    expect(one("Type")).toBe("notify");
    // The daemon sends from its own PID (native addon), never through a helper process.
    expect(one("NotifyAccess")).toBe("main");
    // sd_notify is an AF_UNIX datagram: the address family must stay allowed.
    expect(one("RestrictAddressFamilies")?.split(/\s+/)).toContain("AF_UNIX");
    // Debian 12 has systemd 252: notify-reload (253) would be refused there; reload stays a SIGHUP.
    expect(UNIT).not.toMatch(/^Type=notify-reload/m);
    expect(one("ExecReload")).toMatch(/kill -HUP \$MAINPID/);
    // Watchdog: long enough that no legitimate event-loop block trips it (worst measured ~2.5 s),
    // short enough to restart a hung daemon well before BGP hold timers (90-240 s) expire.
    const watchdog = /^(\d+)s$/.exec(one("WatchdogSec") ?? "");
    expect(watchdog, "WatchdogSec in seconds").not.toBeNull();
    expect(Number(watchdog![1])).toBeGreaterThanOrEqual(30);
    expect(Number(watchdog![1])).toBeLessThanOrEqual(90);
    // What backs the unit's promise: the daemon creates the notifier (pings WATCHDOG_USEC/2) and
    // sends READY=1 (exercised for real in test/unit/core/sd-notify-daemon.test.ts).
    expect(readFileSync(join(ROOT, "src/main.ts"), "utf8")).toMatch(/new SystemdNotifier\(/);
    expect(readFileSync(join(ROOT, "src/core/sd-notify.ts"), "utf8")).toMatch(/READY=1/);
  });

  it("runs what install.sh installs, with commands the CLI knows", () => {
    expect(INSTALL).toMatch(new RegExp(`^prefix=${INSTALL_PREFIX}$`, "m"));
    expect(INSTALL).toContain("/etc/systemd/system/podgate.service");
    expect(INSTALL).toContain("/etc/sysctl.d/99-podgate.conf");
    expect(INSTALL).toContain("/etc/podgate/podgate.yaml");
    expect(one("ExecStartPre")).toBe(
      `${INSTALL_PREFIX}/bin/podgate.js check-config /etc/podgate/podgate.yaml`,
    );
    expect(one("ExecStart")).toBe(`${INSTALL_PREFIX}/bin/podgate.js run --config /etc/podgate/podgate.yaml`);
    // The daemon reloads on SIGHUP (src/main.ts); ExecReload relies on it.
    expect(one("ExecReload")).toMatch(/kill -HUP \$MAINPID/);
    expect(readFileSync(join(ROOT, "src/main.ts"), "utf8")).toMatch(/process\.on\("SIGHUP"/);
  });

  it("lets the daemon write its API socket (example api.socket is under a writable runtime dir)", () => {
    const cfg = parseYaml(readFileSync(join(GW, "podgate.example.yaml"), "utf8")) as {
      api?: { socket?: string };
    };
    const socketDir = dirname(cfg.api?.socket ?? "");
    expect(`/run/${one("RuntimeDirectory")}`).toBe(socketDir);
    expect(one("ReadWritePaths")?.split(/\s+/)).toContain(socketDir);
  });
});

describe("gateway/podgate.example.yaml", () => {
  function checkConfig(withKey: boolean): { status: number | null; out: string } {
    const dir = mkdtempSync(join(tmp, "cfg-"));
    copyFileSync(join(GW, "podgate.example.yaml"), join(dir, "podgate.yaml"));
    if (withKey) {
      writeFileSync(join(dir, "office-router.key"), "not-a-real-key\n");
      chmodSync(join(dir, "office-router.key"), 0o600);
    }
    const r = spawnSync(
      process.execPath,
      [join(ROOT, "bin/podgate.js"), "check-config", join(dir, "podgate.yaml")],
      {
        encoding: "utf8",
        timeout: 30_000,
      },
    );
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
  }

  it("is accepted by podgate check-config next to its 0600 key file", () => {
    const r = checkConfig(true);
    expect(r.out).toMatch(/OK \(4 peers\)/);
    expect(r.status).toBe(0);
    expect(r.out).not.toContain("not-a-real-key");
  });

  it("is rejected without the key file (passwordFile resolves next to the config)", () => {
    const r = checkConfig(false);
    expect(r.status).not.toBe(0);
    expect(r.out).toMatch(/passwordFile.*office-router\.key/);
  });

  // The unit runs as user podgate: a key made the way the example says must be readable by it.
  // Replayed in a temp dir with nobody:nogroup (65534) standing in for podgate:podgate.
  const skipUser = missingPrereqs({ root: true, commands: ["setpriv", "install"] });
  it.skipIf(!!skipUser)("key file made as the example says is readable by the service user", () => {
    const text = readFileSync(join(GW, "podgate.example.yaml"), "utf8");
    const cmd = /install\s+-[^\n]*?\/dev\/null\s+\/etc\/podgate\/office-router\.key/.exec(text)?.[0];
    expect(cmd, "key creation command in the example").toBeDefined();
    const base = mkdtempSync(join(tmpdir(), `podgate-gw-user-${process.pid}-`));
    try {
      chmodSync(base, 0o711);
      const etc = join(base, "etc-podgate");
      const sh = (c: string) => execFileSync("sh", ["-c", c], { stdio: "pipe" });
      // What install.sh does for /etc/podgate and podgate.yaml, then the example's key command.
      const group = (c: string) => c.replaceAll("-g podgate", "-g 65534");
      const installSh = INSTALL.split("\n");
      const mkdirLine = installSh.find((l) => l.includes("install -d") && l.includes("/etc/podgate"));
      const cfgLine = installSh.find(
        (l) => l.includes("podgate.example.yaml") && l.includes("/etc/podgate/"),
      );
      expect(mkdirLine && cfgLine, "install.sh lines for /etc/podgate").toBeTruthy();
      sh(group(mkdirLine!.trim()).replaceAll("/etc/podgate", etc));
      sh(group(cfgLine!.trim()).replaceAll("$src/gateway/", `${GW}/`).replaceAll("/etc/podgate", etc));
      sh(group(cmd!).replaceAll("/etc/podgate", etc));
      writeFileSync(join(etc, "office-router.key"), "not-a-real-key\n"); // keeps mode and owner
      const r = spawnSync(
        "setpriv",
        [
          "--reuid=65534",
          "--regid=65534",
          "--clear-groups",
          process.execPath,
          join(ROOT, "bin/podgate.js"),
          "check-config",
          join(etc, "podgate.yaml"),
        ],
        { encoding: "utf8", timeout: 30_000 },
      );
      expect(r.stdout + r.stderr).toMatch(/OK \(4 peers\)/);
      expect(r.status).toBe(0);
      // And the key is not world-readable.
      expect(
        execFileSync("stat", ["-c", "%a", join(etc, "office-router.key")], { encoding: "utf8" }).trim(),
      ).toMatch(/^[0-7][0-7]0$/);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
});

describe("gateway/install.sh", () => {
  it("parses (bash -n)", () => {
    execFileSync("bash", ["-n", join(GW, "install.sh")]);
    const broken = join(tmp, "broken.sh");
    writeFileSync(broken, `${INSTALL}\nif true; then\n`);
    expect(() => execFileSync("bash", ["-n", broken], { stdio: "pipe" })).toThrow();
  });

  const skip = missingPrereqs({ commands: ["shellcheck"] });
  it.skipIf(!!skip)("is clean under shellcheck", () => {
    const r = spawnSync("shellcheck", ["-x", join(GW, "install.sh")], { encoding: "utf8" });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
    const noisy = join(tmp, "noisy.sh");
    writeFileSync(noisy, `${INSTALL}\ncp $src/x /tmp\n`);
    expect(spawnSync("shellcheck", [noisy]).status).not.toBe(0);
  });

  it("builds the addon with the pinned node-gyp (latest needs Node 22) and falls back to Type=simple without it", () => {
    const pkg = JSON.parse(readFileSync(join(GW, "..", "package.json"), "utf8")) as {
      devDependencies: Record<string, string>;
    };
    expect(pkg.devDependencies["node-gyp"]).toMatch(/^\d+\.\d+\.\d+$/);
    expect(INSTALL).toContain("devDependencies['node-gyp']");
    expect(INSTALL).toContain('npx --yes "node-gyp@$gyp_version" rebuild -C native/tcpsock');
    // Without the addon READY=1 never comes: the drop-in must turn Type=notify and the watchdog off.
    expect(INSTALL).toContain("printf '[Service]\\nType=simple\\nWatchdogSec=0\\n'");
    expect(INSTALL).toMatch(/--uninstall[\s\S]*no-addon\.conf/);
  });

  it("is never run by the tests and refuses to run as non-root", () => {
    expect(INSTALL).toMatch(/id -u\)" -ne 0/);
    expect(INSTALL).toMatch(/^set -euo pipefail$/m);
  });
});

describe("gateway/99-podgate.conf", () => {
  const entries = SYSCTL.split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#") && !l.startsWith(";"))
    .map((l) => {
      const m = /^-?([a-z0-9_.]+)\s*=\s*(\S+)$/.exec(l);
      if (!m) throw new Error(`not a sysctl line: ${l}`);
      return { key: m[1]!, value: m[2]! };
    });

  it("sets forwarding and loose rp_filter", () => {
    const map = new Map(entries.map((e) => [e.key, e.value]));
    expect(map.get("net.ipv4.ip_forward")).toBe("1");
    expect(map.get("net.ipv6.conf.all.forwarding")).toBe("1");
    expect(map.get("net.ipv4.conf.all.rp_filter")).toBe("2");
  });

  it("names only keys that exist under /proc/sys", () => {
    expect(entries.length).toBeGreaterThan(0);
    for (const { key } of entries) {
      expect(existsSync(join("/proc/sys", key.replaceAll(".", "/"))), key).toBe(true);
    }
    expect(existsSync("/proc/sys/net/ipv4/ip_forwrd")).toBe(false);
  });

  // net.* sysctls are per network namespace: apply the file in a throw-away one.
  const skipNs = missingPrereqs({ root: true, commands: ["unshare", "sysctl"] });
  it.skipIf(!!skipNs)("is accepted by sysctl -p (in a throw-away network namespace)", () => {
    const r = spawnSync("unshare", ["-n", "sysctl", "-p", join(GW, "99-podgate.conf")], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const bad = join(tmp, "bad-sysctl.conf");
    writeFileSync(bad, "net.ipv4.ip_forwrd = 1\n");
    expect(spawnSync("unshare", ["-n", "sysctl", "-p", bad]).status).not.toBe(0);
  });
});
