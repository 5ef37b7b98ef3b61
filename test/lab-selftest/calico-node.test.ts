/**
 * Lab self-test: the calicoNode BIRD preset. A gateway (plain BIRD, iBGP AS 64512, as podgate
 * will be) learns the node's /26 block with the node as next hop, and a route the gateway
 * announces is programmed into the node namespace's kernel table.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BirdDaemon, calicoNode } from "../lab/daemons/bird.ts";
import { type Host, Lab, labPrereqs, waitFor } from "../lab/netns.ts";

const skip = labPrereqs(["bird", "birdc"]);

describe.skipIf(!!skip)("lab: calicoNode preset", () => {
  let lab: Lab;
  let node: BirdDaemon;
  let gw: BirdDaemon;
  let nodeHost: Host;

  beforeAll(async () => {
    lab = new Lab("calico");
    nodeHost = await lab.addHost("node1");
    const gwHost = await lab.addHost("gw");
    await lab.bridge([
      { host: nodeHost, addr: "192.168.40.101/24" },
      { host: gwHost, addr: "192.168.40.10/24" },
    ]);
    node = calicoNode({
      host: nodeHost,
      nodeIp: "192.168.40.101",
      peers: [{ address: "192.168.40.10" }],
      blocks: ["10.244.1.0/26"],
    });
    gw = new BirdDaemon({
      host: gwHost,
      routerId: "192.168.40.10",
      asn: 64512,
      neighbors: [{ address: "192.168.40.101", asn: 64512, addPath: true }],
    });
    await Promise.all([node.start(), gw.start()]);
  });

  afterAll(async () => {
    await lab?.teardown();
  });

  it("renders Calico's session settings", () => {
    const conf = node.renderConfig();
    for (const s of [
      "gateway recursive;",
      "add paths on;",
      "graceful restart;",
      "connect delay time 2;",
      "connect retry time 5;",
      "error wait time 5,30;",
      "hold time 240;",
      "multihop;",
    ]) {
      expect(conf).toContain(s);
    }
  });

  it("exports its block to an iBGP gateway with itself as next hop and installs learned routes", async () => {
    // Calico's connect delay is 2 s.
    await waitFor(async () => (await gw.neighborState("192.168.40.101")) === "Established", {
      timeoutMs: 20_000,
      what: "iBGP session",
    });
    const block = await waitFor(async () => (await gw.routes(4)).find((r) => r.prefix === "10.244.1.0/26"), {
      timeoutMs: 10_000,
      what: "block at gateway",
    });
    expect(block).toMatchObject({ nextHop: "192.168.40.101", asPath: [], localPref: 100 });

    await gw.announce("172.20.0.0/16");
    const kernel = await waitFor(
      async () => {
        const out = await nodeHost.run(["ip", "route", "show", "172.20.0.0/16"]);
        return out.includes("via 192.168.40.10") ? out : undefined;
      },
      { timeoutMs: 10_000, what: "gateway route in the node's kernel" },
    );
    expect(kernel).toContain("proto bird");
    // Its own block is a blackhole in its kernel, as on a real node.
    expect(await nodeHost.run(["ip", "route", "show", "10.244.1.0/26"])).toMatch(
      /^blackhole 10\.244\.1\.0\/26 proto bird/,
    );
  });
});
