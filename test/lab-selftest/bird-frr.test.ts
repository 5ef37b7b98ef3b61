/**
 * Lab self-test: FRR peered with BIRD (eBGP over IPv4 and IPv6), with TCP MD5 (RFC 2385) on
 * the IPv4 session; plus a mismatched key that must keep the session down.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BirdDaemon } from "../lab/daemons/bird.ts";
import { FrrDaemon } from "../lab/daemons/frr.ts";
import { Lab, labPrereqs, waitFor } from "../lab/netns.ts";
import { A4, B4, BIRD_AS, birdPairSuite, PEER_AS } from "./pair.ts";

const skip = labPrereqs(["bird", "birdc", "vtysh", "/usr/lib/frr/zebra", "/usr/lib/frr/bgpd"]);

describe.skipIf(!!skip)("lab: FRR <-> BIRD with MD5 on IPv4", () => {
  birdPairSuite("frr", (o) => new FrrDaemon(o), { password: "lab-md5-key" });
});

describe.skipIf(!!skip)("lab: FRR <-> BIRD with mismatched MD5 keys", () => {
  let lab: Lab;
  let bird: BirdDaemon;
  let frr: FrrDaemon;

  beforeAll(async () => {
    lab = new Lab("frrmd5");
    const a = await lab.addHost("bird");
    const b = await lab.addHost("frr");
    await lab.link(a, b, { aAddr: `${A4}/30`, bAddr: `${B4}/30` });
    bird = new BirdDaemon({
      host: a,
      routerId: A4,
      asn: BIRD_AS,
      neighbors: [{ address: B4, asn: PEER_AS, password: "key-one" }],
    });
    frr = new FrrDaemon({
      host: b,
      routerId: B4,
      asn: PEER_AS,
      neighbors: [{ address: A4, asn: BIRD_AS, password: "key-two" }],
    });
    await Promise.all([bird.start(), frr.start()]);
  });

  afterAll(async () => {
    await lab?.teardown();
  });

  it("never reaches OpenSent (the kernel drops badly signed segments)", async () => {
    // Both sides retry every 1-2 s; give them several attempts.
    const seen = new Set<string>();
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      seen.add(await bird.neighborState(B4));
      seen.add(await frr.neighborState(A4));
      await new Promise((r) => setTimeout(r, 250));
    }
    expect([...seen].filter((s) => s === "Established" || s === "OpenConfirm" || s === "OpenSent")).toEqual(
      [],
    );
    // The daemons are alive and trying: this is the key mismatch, not a dead peer.
    await waitFor(async () => (await frr.vtysh(["show bgp neighbors json"], "bgpd")).code === 0, {
      what: "frr alive",
    });
  });
});
