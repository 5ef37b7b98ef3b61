/**
 * Roles end to end with three real Speakers on loopback: a "node" (iBGP, like calico-node),
 * the gateway (cluster/office address space declared) and an "office router" (eBGP).
 * The office gets the pod CIDR aggregate only while a cluster route inside it exists; the node
 * gets the office prefix with the gateway as next hop; out-of-scope routes are filtered.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Speaker } from "../../../src/bgp/speaker.ts";
import { parseConfig } from "../../../src/config/load.ts";
import { silentLogger } from "../../../src/core/log.ts";

const BASE = 30_000 + (process.pid % 20_000);
const speakers: Speaker[] = [];
afterEach(async () => {
  await Promise.all(speakers.splice(0).map((s) => s.stop("test over")));
});

async function until<T>(fn: () => T | undefined | false, what: string, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const NODE = "127.0.1.1";
const GW = "127.0.1.2";
const OFFICE = "127.0.1.3";

function listen(me: string, port: number): string[] {
  return [`listen: { address: ${me}, port: ${port} }`, "defaults: { connectRetryTime: 1 }"];
}

function node(originate: string[]): string {
  return [
    `routerId: ${NODE}`,
    "asn: 64512",
    ...listen(NODE, BASE),
    "peers:",
    `  - { address: ${GW}, asn: 64512, port: ${BASE + 1}, localAddress: ${NODE}, import: accept-all, export: accept-all }`,
    "originate:",
    ...originate.map((p) => `  - prefix: ${p}`),
  ].join("\n");
}

const gateway = [
  `routerId: ${GW}`,
  "asn: 64512",
  ...listen(GW, BASE + 1),
  "cluster: { podCIDRs: [10.244.0.0/16], serviceCIDRs: [10.96.0.0/12] }",
  "office: { prefixes: [10.10.0.0/24] }",
  "peers:",
  `  - { address: ${NODE}, asn: 64512, port: ${BASE}, localAddress: ${GW} }`,
  `  - { address: ${OFFICE}, asn: 65010, port: ${BASE + 2}, localAddress: ${GW} }`,
].join("\n");

const office = [
  `routerId: ${OFFICE}`,
  "asn: 65010",
  ...listen(OFFICE, BASE + 2),
  "peers:",
  `  - { address: ${GW}, asn: 64512, port: ${BASE + 1}, localAddress: ${OFFICE}, import: accept-all, export: accept-all }`,
  "originate:",
  "  - prefix: 10.10.0.0/24",
  "  - prefix: 172.31.0.0/16",
].join("\n");

describe("roles: cluster and office peers with declared address space", () => {
  it("advertises aggregates to the office only while the cluster has routes inside them", async () => {
    const sNode = new Speaker({
      config: parseConfig(
        node(["10.244.1.0/26", "10.244.2.0/26", "0.0.0.0/0", "192.168.99.0/24"]),
        "node.yaml",
      ),
      log: silentLogger,
    });
    const sGw = new Speaker({ config: parseConfig(gateway, "gw.yaml"), log: silentLogger });
    const sOffice = new Speaker({ config: parseConfig(office, "office.yaml"), log: silentLogger });
    speakers.push(sNode, sGw, sOffice);
    await sGw.start();
    await sNode.start();
    await sOffice.start();

    // The gateway accepts only the blocks (not the default route, not the foreign /24).
    const gwRoutes = await until(() => {
      const r = sGw.routes({ peer: NODE }).routes.filter((x) => x.source === "bgp");
      return r.length >= 2 && r;
    }, "gateway to learn the blocks");
    expect(gwRoutes.map((r) => r.prefix).sort()).toEqual(["10.244.1.0/26", "10.244.2.0/26"]);
    expect(sGw.status().peers.find((p) => p.address === NODE)).toMatchObject({
      prefixesReceived: 4,
      prefixesAccepted: 2,
    });

    // The office learns the pod CIDR aggregate and the service CIDR (routed by ECMP to the
    // Established cluster peers: the service fallback), with the gateway as next hop, and none
    // of the /26 specifics.
    const officeRoutes = await until(() => {
      const r = sOffice.routes({ peer: GW }).routes;
      return r.length > 1 && r;
    }, "office to learn the aggregate and the service CIDR");
    expect(officeRoutes).toEqual([
      expect.objectContaining({ prefix: "10.96.0.0/12", nextHop: GW, asPath: "64512" }),
      expect.objectContaining({ prefix: "10.244.0.0/16", nextHop: GW, asPath: "64512" }),
    ]);
    expect(sGw.routes({ prefix: "10.96.0.0/12" }).routes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ nextHop: NODE, source: "service-fallback", best: true }),
      ]),
    );

    // Return path: the node learns the office prefix (only that one) with the gateway as next hop.
    const nodeRoutes = await until(() => {
      const r = sNode.routes({ peer: GW }).routes;
      return r.length > 0 && r;
    }, "node to learn the office prefix");
    expect(nodeRoutes).toEqual([expect.objectContaining({ prefix: "10.10.0.0/24", nextHop: GW })]);
    expect(sGw.activeAggregates()).toEqual(["10.244.0.0/16", "10.96.0.0/12"]);

    // The cluster loses its blocks: the pod aggregate is withdrawn from the office (the service
    // CIDR stays: the node is still up and can DNAT a ClusterIP).
    const officePrefixes = () => sOffice.routes({ peer: GW }).routes.map((r) => r.prefix);
    sNode.reconfigure(parseConfig(node(["0.0.0.0/0"]), "node.yaml"));
    await until(() => officePrefixes().join() === "10.96.0.0/12", "pod aggregate withdrawal at the office");
    expect(sGw.activeAggregates()).toEqual(["10.96.0.0/12"]);

    // And comes back with the first block.
    sNode.reconfigure(parseConfig(node(["10.244.7.0/26"]), "node.yaml"));
    await until(() => officePrefixes().length === 2, "pod aggregate to return");

    // Return path switched to snat by a reload: the office prefix is withdrawn from the node
    // although the Loc-RIB itself does not change (an export-only change).
    sGw.reconfigure(parseConfig(gateway.replace("peers:", "returnPath: { mode: snat }\npeers:"), "gw.yaml"));
    await until(
      () => sNode.routes({ peer: GW }).routes.length === 0,
      "office prefix withdrawn from the node",
    );
  });
});
