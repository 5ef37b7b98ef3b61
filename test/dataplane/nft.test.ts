/**
 * nftables in a real kernel, in namespaces: laptop — gateway — pod, where the pod has NO route
 * back to the laptop's network (only its connected cluster-side subnet, like a cluster that was
 * told nothing about the office). Without podgate's table, ping and TCP from the laptop to the
 * pod fail (replies have no route); with returnPath snat they work and the pod sees the
 * gateway's cluster-side address as source. MSS: the pod link has MTU 1400; the SYN the pod
 * receives carries the clamped MSS (seen with tcpdump in the pod namespace). NftManager runs
 * nft through `ip netns exec GW nft`, so the whole manager is what is tested.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/core/log.ts";
import {
  type NftDesired,
  NftError,
  NftManager,
  renderRuleset,
  runNft,
} from "../../src/dataplane/linux/nft.ts";
import { type Host, Lab, labPrereqs, waitFor } from "../lab/netns.ts";

const skip = labPrereqs(["nft", "node", "ping", "tcpdump"]);

const LAPTOP4 = "10.10.0.2";
const LAPTOP6 = "fd00:10::2";
const GW_CLUSTER4 = "10.244.1.1";
const GW_CLUSTER6 = "fd00:244:0:1::1";
const POD4 = "10.244.1.5";
const POD6 = "fd00:244:0:1::5";
const PORT = 8080;
const POD_MTU = 1400;

const OFFICE = ["10.10.0.0/24", "fd00:10::/64"];
const CLUSTER = ["10.244.0.0/16", "10.96.0.0/12", "fd00:244::/56"];
const SNAT: NftDesired = { office: OFFICE, cluster: CLUSTER, snat: true, mss: "off" };

/** Pod's TCP server: answers every connection with the peer address it sees, then closes. */
const SERVER = `
const net = require("node:net");
const s = net.createServer((c) => { c.end(c.remoteAddress.replace(/^::ffff:/, "") + "\\n"); });
s.listen(${PORT}, "::", () => console.log("listening"));
`;

/** Laptop's client: prints what the server says; exit 1 on error or after 2 s. */
function client(addr: string): string {
  return `
const net = require("node:net");
const c = net.connect({ host: ${JSON.stringify(addr)}, port: ${PORT} });
let got = "";
c.setEncoding("utf8");
c.on("data", (d) => { got += d; });
c.on("end", () => { process.stdout.write(got); process.exit(0); });
c.on("error", (e) => { console.error(e.message); process.exit(1); });
setTimeout(() => { console.error("timeout"); process.exit(1); }, 2000);
`;
}

describe.skipIf(!!skip)("nftables gateway rules (root, namespaces)", () => {
  let lab: Lab;
  let laptop: Host;
  let gw: Host;
  let pod: Host;
  let nft: NftManager;
  let nftCmd: string[];

  beforeAll(async () => {
    lab = new Lab("nft");
    laptop = await lab.addHost("laptop");
    gw = await lab.addHost("gw");
    pod = await lab.addHost("pod");
    await lab.link(laptop, gw, {
      aAddr: `${LAPTOP4}/24`,
      bAddr: "10.10.0.1/24",
      a6: `${LAPTOP6}/64`,
      b6: "fd00:10::1/64",
    });
    await lab.link(gw, pod, {
      aAddr: `${GW_CLUSTER4}/24`,
      bAddr: `${POD4}/24`,
      a6: `${GW_CLUSTER6}/64`,
      b6: `${POD6}/64`,
      mtu: POD_MTU,
    });
    await laptop.run(["ip", "route", "add", "default", "via", "10.10.0.1"]);
    await laptop.run(["ip", "-6", "route", "add", "default", "via", "fd00:10::1"]);
    await gw.sysctl("net.ipv4.ip_forward", "1");
    await gw.sysctl("net.ipv6.conf.all.forwarding", "1");
    // The pod gets nothing else: no default route, so nothing leads back to 10.10.0.0/24.
    const srv = pod.spawn(["node", "-e", SERVER], { logName: "pod-server.log" });
    await waitFor(() => srv.log().includes("listening"), { what: "pod TCP server" });
    nftCmd = ["ip", "netns", "exec", gw.ns, "nft"];
    nft = new NftManager({ log: silentLogger, command: nftCmd });
  }, 60_000);

  afterAll(async () => {
    await lab?.teardown();
  });

  const ping = async (addr: string) => (await laptop.exec(["ping", "-c", "1", "-W", "1", addr])).code === 0;
  const tcp = async (addr: string) => {
    const r = await laptop.exec(["node", "-e", client(addr)], { timeoutMs: 10_000 });
    return r.code === 0 ? r.stdout.trim() : undefined;
  };
  const tables = async () => (await gw.run(["nft", "list", "tables"])).trim().split("\n").sort();

  /** MSS option of the first SYN the pod receives on PORT when the laptop connects to `addr`. */
  async function synMss(addr: string): Promise<number> {
    const dump = pod.spawn(["tcpdump", "-l", "-n", "-i", "eth0", "-c", "1", `tcp dst port ${PORT}`], {
      logName: `tcpdump-${Date.now()}.log`,
    });
    await waitFor(() => dump.log().includes("listening on"), { what: "tcpdump ready" });
    expect(await tcp(addr)).toBeDefined();
    await dump.exited;
    const m = /mss (\d+)/.exec(dump.log());
    if (!m) throw new Error(`no MSS in tcpdump output: ${dump.log()}`);
    return Number(m[1]);
  }

  it("without podgate's table the pod cannot answer the laptop (no route back)", async () => {
    expect(await ping(POD4)).toBe(false);
    expect(await ping(POD6)).toBe(false);
    expect(await tcp(POD4)).toBeUndefined();
    expect(await tcp(POD6)).toBeUndefined();
  });

  it("returnPath snat: ping and TCP work, the pod sees the gateway's cluster-side address", async () => {
    await gw.run(["nft", "add", "table", "ip", "foreign"]);
    await gw.run(["nft", "add", "chain", "ip", "foreign", "c", "{ type filter hook input priority 0; }"]);
    await nft.apply(SNAT);
    expect(nft.status()).toMatchObject({
      table: "inet podgate",
      state: "applied",
      snat: true,
      rules: 2,
      errors: 0,
    });
    expect(await ping(POD4)).toBe(true);
    expect(await ping(POD6)).toBe(true);
    expect(await tcp(POD4)).toBe(GW_CLUSTER4);
    expect(await tcp(POD6)).toBe(GW_CLUSTER6);
    const c = await nft.counters();
    expect(c["snat4"]?.packets).toBeGreaterThan(0);
    expect(c["snat6"]?.packets).toBeGreaterThan(0);
    // Re-applying is idempotent: still one podgate table, still working, the foreign one untouched.
    await nft.apply(SNAT);
    expect(await tables()).toEqual(["table inet podgate", "table ip foreign"].sort());
    expect(await tcp(POD4)).toBe(GW_CLUSTER4);
  });

  it("a reconfigure replaces the sets: the laptop's prefix gone from office → no masquerade", async () => {
    await nft.apply({ ...SNAT, office: ["10.20.0.0/24", "fd00:20::/64"] });
    expect(await tcp(POD4)).toBeUndefined();
    expect(await tcp(POD6)).toBeUndefined();
    const listed = await gw.run(["nft", "list", "set", "inet", "podgate", "office4"]);
    expect(listed).toContain("10.20.0.0/24");
    expect(listed).not.toContain("10.10.0.0/24");
    await nft.apply(SNAT);
    expect(await tcp(POD4)).toBe(GW_CLUSTER4);
  });

  it("a script the kernel refuses changes nothing: the previous table stays whole", async () => {
    // Same preamble (add + delete table) as a real apply, then a rule nft refuses: if the
    // transaction were not atomic, the delete would already have removed the working table.
    const bad = renderRuleset(SNAT).replace('comment "snat4"', 'comment "snat4"\n\t\tmeta nosuchthing 1');
    const e = await runNft(["-f", "-"], bad, { command: nftCmd }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NftError);
    expect((e as NftError).message).toMatch(/nosuchthing/);
    expect(await gw.run(["nft", "list", "chain", "inet", "podgate", "postrouting"])).toContain(
      'comment "snat4"',
    );
    expect(await tcp(POD4)).toBe(GW_CLUSTER4);
  });

  it("remove(): the table goes (other tables stay), replies fail again; a second remove is a no-op", async () => {
    await nft.remove();
    await nft.remove();
    expect(nft.status()).toMatchObject({ state: "absent", rules: 0 });
    expect(await tables()).toEqual(["table ip foreign"]);
    expect(await ping(POD4)).toBe(false);
    expect(await tcp(POD4)).toBeUndefined();
    expect(await nft.counters()).toEqual({});
  });

  it("shutdown('keep') leaves the table, shutdown('remove') deletes it", async () => {
    await nft.apply(SNAT);
    await nft.shutdown("keep");
    expect(await tables()).toContain("table inet podgate");
    await nft.shutdown("remove");
    expect(await tables()).not.toContain("table inet podgate");
  });

  describe("MSS clamping toward the MTU-1400 pod link (advertise mode: pod routes back itself)", () => {
    beforeAll(async () => {
      // Give the pod a route back, as with returnPath advertise, so TCP works without snat.
      await pod.run(["ip", "route", "add", "10.10.0.0/24", "via", GW_CLUSTER4]);
      await pod.run(["ip", "-6", "route", "add", "fd00:10::/64", "via", GW_CLUSTER6]);
    });

    it("without clamping the SYN keeps the laptop's MSS (1500-byte link)", async () => {
      await nft.remove();
      expect(await synMss(POD4)).toBe(1460);
      expect(await synMss(POD6)).toBe(1440);
    });

    it("auto: rt mtu of the route toward the pod (1400 − 40 / − 60)", async () => {
      await nft.apply({ office: OFFICE, cluster: CLUSTER, snat: false, mss: "auto" });
      expect(await synMss(POD4)).toBe(POD_MTU - 40);
      expect(await synMss(POD6)).toBe(POD_MTU - 60);
      // The laptop's own address is seen: no masquerade without snat.
      expect(await tcp(POD4)).toBe(LAPTOP4);
      const c = await nft.counters();
      expect(c["mss4-in"]?.packets).toBeGreaterThan(0);
      expect(c["mss4-out"]?.packets).toBeGreaterThan(0); // the SYN-ACK back to the laptop
    });

    it("fixed value: set exactly when lower; never raised above what the sender offered", async () => {
      await nft.apply({ office: OFFICE, cluster: CLUSTER, snat: false, mss: 1200 });
      expect(await synMss(POD4)).toBe(1200);
      expect(await synMss(POD6)).toBe(1200);
      await nft.apply({ office: OFFICE, cluster: CLUSTER, snat: false, mss: 1480 });
      expect(await synMss(POD4)).toBe(1460);
    });

    it("snat and MSS together", async () => {
      await pod.run(["ip", "route", "del", "10.10.0.0/24"]);
      await nft.apply({ office: OFFICE, cluster: CLUSTER, snat: true, mss: "auto" });
      expect(await synMss(POD4)).toBe(POD_MTU - 40);
      expect(await tcp(POD4)).toBe(GW_CLUSTER4);
      await nft.remove();
    });
  });
});
