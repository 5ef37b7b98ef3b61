/**
 * WireGuardManager in a real kernel, in namespaces: office — internet — cloud. The internet
 * namespace routes between the two sites' public addresses; each site runs its own manager
 * (every command through `ip netns exec SITE`). On this machine there is no WireGuard kernel
 * module, so the managers fall back to wireguard-go; with the module the same test runs on it.
 * Checked: tunnel up and ping across it, handshake in status, default MTU 1420 on a 1500
 * underlay, a peer-only change keeps the ifindex (and the wireguard-go process) and the tunnel,
 * removing the peer on one side makes the other report it down after the (tiny) threshold,
 * a stale session (the responder restarted) is reset by checkStale() and carries traffic again
 * long before WireGuard's own 15 s, a healthy one is never reset, shutdown deletes the interface
 * and ends wireguard-go.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/core/log.ts";
import { WireGuardManager } from "../../src/dataplane/linux/wireguard.ts";
import type { WgInterfaceDesired, WireGuardDesired } from "../../src/dataplane/tunnels.ts";
import { type Host, Lab, labPrereqs, waitFor } from "../lab/netns.ts";

const skip = labPrereqs(["wg", "wireguard-go", "ping"]);

const OFFICE_PUB = "192.0.2.2";
const CLOUD_PUB = "198.51.100.2";
const PORT = 51820;
/** Threshold for "down": short, keepalive 1 s keeps a healthy tunnel well inside it. */
const TIMEOUT = 4;

describe.skipIf(!!skip)("WireGuard site-to-site tunnel (root, namespaces, wireguard-go)", () => {
  let lab: Lab;
  let office: Host;
  let cloud: Host;
  let dir: string;
  let officeMgr: WireGuardManager;
  let cloudMgr: WireGuardManager;
  let adopter: WireGuardManager;
  const keys = { office: "", officePub: "", cloud: "", cloudPub: "" };
  /** BGP peers the office manager asked to connect again after a reset. */
  const bgpRetried: string[][] = [];
  // Machine-wide unique (wireguard-go's socket directory is shared by all namespaces).
  const ifOffice = `wgo${process.pid}`.slice(0, 15);
  const ifCloud = `wgc${process.pid}`.slice(0, 15);
  let officeDesired: WgInterfaceDesired;
  let cloudDesired: WgInterfaceDesired;

  const cleanupSync = () => {
    for (const n of [ifOffice, ifCloud]) {
      for (const h of [office, cloud]) {
        try {
          if (h) execFileSync("ip", ["netns", "exec", h.ns, "ip", "link", "del", n], { stdio: "ignore" });
        } catch {}
      }
    }
  };

  beforeAll(async () => {
    process.once("exit", cleanupSync);
    dir = mkdtempSync(join(tmpdir(), `podgate-wg-test-${process.pid}-`));
    const gen = () => execFileSync("wg", ["genkey"], { encoding: "utf8" }).trim();
    const pub = (k: string) => execFileSync("wg", ["pubkey"], { input: k, encoding: "utf8" }).trim();
    keys.office = gen();
    keys.cloud = gen();
    keys.officePub = pub(keys.office);
    keys.cloudPub = pub(keys.cloud);
    writeFileSync(join(dir, "office.key"), `${keys.office}\n`, { mode: 0o600 });
    writeFileSync(join(dir, "cloud.key"), `${keys.cloud}\n`, { mode: 0o600 });

    lab = new Lab("wg");
    office = await lab.addHost("office");
    const inet = await lab.addHost("inet");
    cloud = await lab.addHost("cloud");
    await lab.link(office, inet, { aAddr: `${OFFICE_PUB}/24`, bAddr: "192.0.2.1/24" });
    await lab.link(cloud, inet, { aAddr: `${CLOUD_PUB}/24`, bAddr: "198.51.100.1/24" });
    await inet.sysctl("net.ipv4.ip_forward", "1");
    await office.run(["ip", "route", "add", "default", "via", "192.0.2.1"]);
    await cloud.run(["ip", "route", "add", "default", "via", "198.51.100.1"]);

    officeMgr = new WireGuardManager({
      log: silentLogger,
      netns: office.ns,
      pollIntervalMs: 0,
      onPeerReset: (a) => bgpRetried.push([...a]),
    });
    cloudMgr = new WireGuardManager({ log: silentLogger, netns: cloud.ns, pollIntervalMs: 0 });
    cloudDesired = {
      name: ifCloud,
      privateKeyFile: join(dir, "cloud.key"),
      listenPort: PORT,
      address: ["10.200.0.2/30"],
      peers: [
        { publicKey: keys.officePub, allowedIPs: ["10.200.0.1/32", "10.10.0.0/24"], persistentKeepalive: 1 },
      ],
    };
    officeDesired = {
      name: ifOffice,
      privateKeyFile: join(dir, "office.key"),
      listenPort: PORT,
      address: ["10.200.0.1/30"],
      peers: [
        {
          publicKey: keys.cloudPub,
          endpoint: `${CLOUD_PUB}:${PORT}`,
          allowedIPs: ["10.200.0.2/32", "10.244.0.0/16"],
          persistentKeepalive: 1,
        },
      ],
    };
  }, 60_000);

  afterAll(async () => {
    await officeMgr?.shutdown().catch(() => undefined);
    await cloudMgr?.shutdown().catch(() => undefined);
    await adopter?.shutdown().catch(() => undefined);
    cleanupSync();
    await lab?.teardown();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const want = (i: WgInterfaceDesired): WireGuardDesired => ({ interfaces: [i], handshakeTimeout: TIMEOUT });
  const ping = async (from: Host, addr: string) =>
    (await from.exec(["ping", "-c", "1", "-W", "1", addr])).code === 0;
  const ifindex = async (h: Host, name: string) =>
    (JSON.parse(await h.run(["ip", "-j", "link", "show", "dev", name])) as { ifindex: number }[])[0]!.ifindex;
  const wgGoPids = (name: string) => {
    try {
      return execFileSync("pgrep", ["-f", `wireguard-go -f ${name}$`], { encoding: "utf8" }).trim();
    } catch {
      return "";
    }
  };

  it("brings the tunnel up (responder first), ping crosses it, handshake in status", async () => {
    await cloudMgr.apply(want(cloudDesired));
    await officeMgr.apply(want(officeDesired));
    expect(await waitFor(() => ping(office, "10.200.0.2"), { what: "ping across the tunnel" })).toBe(true);
    expect(await ping(cloud, "10.200.0.1")).toBe(true);
    const [s] = await officeMgr.refresh();
    expect(s).toMatchObject({
      name: ifOffice,
      publicKey: keys.officePub,
      listenPort: PORT,
      addresses: ["10.200.0.1/30"],
    });
    expect(["kernel", "userspace"]).toContain(s!.implementation);
    // Underlay veth MTU 1500 − 80.
    expect(s!.mtu).toBe(1420);
    const peer = s!.peers[0]!;
    expect(peer).toMatchObject({ publicKey: keys.cloudPub, endpoint: `${CLOUD_PUB}:${PORT}`, state: "up" });
    expect(peer.handshakeAgeSeconds).toBeLessThan(30);
    expect(peer.rxBytes).toBeGreaterThan(0);
    const [c] = await cloudMgr.refresh();
    // The responder learned the office's endpoint from the handshake.
    expect(c!.peers[0]).toMatchObject({
      publicKey: keys.officePub,
      endpoint: `${OFFICE_PUB}:${PORT}`,
      state: "up",
    });
    // Nothing private in the status.
    expect(JSON.stringify([s, c])).not.toContain(keys.office);
    expect(JSON.stringify([s, c])).not.toContain(keys.cloud);
  });

  it("a peer-only change keeps the interface (same ifindex, same wireguard-go) and the tunnel", async () => {
    const before = await ifindex(office, ifOffice);
    const pidBefore = wgGoPids(ifOffice);
    const extraPub = execFileSync("wg", ["pubkey"], {
      input: execFileSync("wg", ["genkey"], { encoding: "utf8" }),
      encoding: "utf8",
    }).trim();
    officeDesired = {
      ...officeDesired,
      peers: [
        { ...officeDesired.peers[0]!, allowedIPs: ["10.200.0.2/32", "10.244.0.0/16", "10.96.0.0/12"] },
        { publicKey: extraPub, allowedIPs: ["10.201.0.0/24"] },
      ],
    };
    await officeMgr.apply(want(officeDesired));
    expect(await ifindex(office, ifOffice)).toBe(before);
    expect(wgGoPids(ifOffice)).toBe(pidBefore);
    const dump = await office.run(["wg", "show", ifOffice, "allowed-ips"]);
    expect(dump).toContain("10.96.0.0/12");
    expect(dump).toContain(extraPub);
    expect(await ping(office, "10.200.0.2")).toBe(true);
    // Remove the extra peer again: still the same interface.
    officeDesired = { ...officeDesired, peers: [officeDesired.peers[0]!] };
    await officeMgr.apply(want(officeDesired));
    expect(await ifindex(office, ifOffice)).toBe(before);
    expect(await office.run(["wg", "show", ifOffice, "peers"])).not.toContain(extraPub);
    expect(await ping(office, "10.200.0.2")).toBe(true);
  });

  it("a healthy tunnel stays up past the threshold; after the far side drops the peer it goes down", async () => {
    // Keepalives every second count as "heard from": still up after TIMEOUT + 2 s.
    await officeMgr.refresh();
    await new Promise((r) => setTimeout(r, (TIMEOUT + 2) * 1000));
    expect((await officeMgr.refresh())[0]!.peers[0]!.state).toBe("up");
    await cloudMgr.apply(want({ ...cloudDesired, peers: [] }));
    expect(await ping(office, "10.200.0.2")).toBe(false);
    const down = await waitFor(
      async () => ((await officeMgr.refresh())[0]!.peers[0]!.state === "down" ? true : undefined),
      { timeoutMs: (TIMEOUT + 6) * 1000, intervalMs: 500, what: "peer reported down" },
    );
    expect(down).toBe(true);
    // And back.
    await cloudMgr.apply(want(cloudDesired));
    expect(await waitFor(() => ping(office, "10.200.0.2"), { timeoutMs: 15_000, what: "tunnel back" })).toBe(
      true,
    );
    await waitFor(async () => ((await officeMgr.refresh())[0]!.peers[0]!.state === "up" ? true : undefined), {
      what: "peer up again",
    });
  }, 40_000);

  it("refuses a key file readable by others, without touching the running tunnel", async () => {
    const loose = join(dir, "loose.key");
    writeFileSync(loose, `${keys.office}\n`);
    chmodSync(loose, 0o644);
    const err = await officeMgr.apply(want({ ...officeDesired, privateKeyFile: loose })).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(/chmod 600/);
    expect(err?.message).not.toContain(keys.office);
    expect(await ping(office, "10.200.0.2")).toBe(true);
  });

  it("a new manager (daemon restart) adopts the running interface without recreating it", async () => {
    const before = await ifindex(office, ifOffice);
    const pid = wgGoPids(ifOffice);
    adopter = new WireGuardManager({ log: silentLogger, netns: office.ns, pollIntervalMs: 0 });
    await adopter.apply(want(officeDesired));
    expect(await ifindex(office, ifOffice)).toBe(before);
    expect(wgGoPids(ifOffice)).toBe(pid);
    const [s] = adopter.status();
    expect(s).toMatchObject({ name: ifOffice, implementation: "userspace", mtu: 1420 });
    expect(s!.peers.map((p) => p.publicKey)).toEqual([keys.cloudPub]);
    expect(await ping(office, "10.200.0.2")).toBe(true);
  });

  it("recreates the tunnel when wireguard-go dies", async () => {
    const pid = Number(wgGoPids(ifCloud));
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, "SIGKILL");
    await waitFor(
      async () => ((await cloudMgr.refresh())[0]!.implementation === "absent" ? true : undefined),
      {
        what: "cloud tunnel reported absent",
      },
    );
    await waitFor(() => wgGoPids(ifCloud) !== "" && Number(wgGoPids(ifCloud)) !== pid, {
      what: "wireguard-go restarted",
    });
    expect(await waitFor(() => ping(office, "10.200.0.2"), { timeoutMs: 20_000, what: "tunnel back" })).toBe(
      true,
    );
    const [c] = await cloudMgr.refresh();
    expect(c).toMatchObject({ implementation: "userspace", addresses: ["10.200.0.2/30"] });
    expect(c!.error).toBeUndefined();
  }, 40_000);

  it("stale session after the responder restarts: checkStale resets it, a healthy one is left alone", async () => {
    expect(await waitFor(() => ping(office, "10.200.0.2"), { timeoutMs: 20_000, what: "tunnel up" })).toBe(
      true,
    );
    // Healthy: what we send is answered (as a live far end answers a BGP SYN), so no reset over
    // 3 s of checks.
    const pinging = office.exec(["ping", "-n", "-i", "0.2", "-c", "16", "10.200.0.2"], { timeoutMs: 10_000 });
    for (let i = 0; i < 6; i++) {
      expect(await officeMgr.checkStale(["10.200.0.2"])).toEqual([]);
      await new Promise((r) => setTimeout(r, 500));
    }
    expect((await pinging).code).toBe(0);
    // The far end restarts with fresh state: the office keeps encrypting with keys it dropped.
    await cloudMgr.shutdown();
    await cloudMgr.apply(want(cloudDesired));
    const restarted = Date.now();
    expect(await ping(office, "10.200.0.2")).toBe(false);
    expect(await ping(office, "10.200.0.2")).toBe(false);
    // BGP to 10.200.0.2 down (as the daemon would report): checks every 500 ms until a reset.
    let reset: string[] = [];
    while (reset.length === 0 && Date.now() - restarted < 8000) {
      reset = await officeMgr.checkStale(["10.200.0.2"]);
      if (reset.length === 0) await new Promise((r) => setTimeout(r, 500));
    }
    expect(reset).toEqual([`${ifOffice}/${keys.cloudPub}`]);
    expect(bgpRetried).toEqual([["10.200.0.2"]]);
    expect(await waitFor(() => ping(office, "10.200.0.2"), { timeoutMs: 3000, what: "tunnel back" })).toBe(
      true,
    );
    // Well before WireGuard's own KEEPALIVE_TIMEOUT + REKEY_TIMEOUT (15 s).
    expect(Date.now() - restarted).toBeLessThan(10_000);
    // The reset kept the peer's configuration.
    expect(await office.run(["wg", "show", ifOffice, "allowed-ips"])).toContain("10.244.0.0/16");
    expect(await office.run(["wg", "show", ifOffice, "endpoints"])).toContain(`${CLOUD_PUB}:${PORT}`);
  }, 40_000);

  it("shutdown deletes the interfaces and ends wireguard-go", async () => {
    await officeMgr.shutdown();
    await adopter.shutdown();
    await cloudMgr.shutdown();
    expect((await office.exec(["ip", "link", "show", "dev", ifOffice])).code).not.toBe(0);
    expect((await cloud.exec(["ip", "link", "show", "dev", ifCloud])).code).not.toBe(0);
    await waitFor(() => wgGoPids(ifOffice) === "" && wgGoPids(ifCloud) === "", { what: "wireguard-go gone" });
    expect(existsSync(`/var/run/wireguard/${ifOffice}.sock`)).toBe(false);
    expect(officeMgr.status()).toEqual([]);
  });
});
