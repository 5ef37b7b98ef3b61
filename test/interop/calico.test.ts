/**
 * Interop: podgate as the gateway of a small Calico cluster. Three BIRD instances configured
 * like calico-node (calicoNode preset: iBGP AS 64512 full mesh between nodes, ADD-PATH, graceful
 * restart, hold 240, /26 blackhole blocks) share a bridged LAN with podgate (iBGP AS 64512,
 * addPath receive, import accept-all). podgate must learn exactly every node's blocks with that
 * node as next hop; when a node's BIRD stops (it sends a Cease) its blocks must leave podgate's
 * Loc-RIB while the other nodes' stay; when it starts again they come back.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BirdDaemon, calicoNode } from "../lab/daemons/bird.ts";
import { type Host, Lab, labPrereqs, waitFor } from "../lab/netns.ts";
import { PODGATE_AS, Podgate } from "./podgate.ts";

const skip = labPrereqs(["bird", "birdc", "node"]);

const GW = "192.168.40.10";
const NODES = [
  { name: "node1", ip: "192.168.40.101", blocks: ["10.244.1.0/26", "10.244.1.64/26"] },
  { name: "node2", ip: "192.168.40.102", blocks: ["10.244.2.0/26"] },
  { name: "node3", ip: "192.168.40.103", blocks: ["10.244.3.0/26", "10.244.3.192/26"] },
] as const;

/** "prefix via nexthop from peer", sorted: the exact Loc-RIB podgate should hold. */
function expectedRib(nodes: readonly (typeof NODES)[number][]): string[] {
  return nodes.flatMap((n) => n.blocks.map((b) => `${b} via ${n.ip} from ${n.ip}`)).sort();
}

describe.skipIf(!!skip)("interop: podgate as the gateway of three calico-node BIRDs", () => {
  let lab: Lab;
  let pg: Podgate;
  const birds = new Map<string, BirdDaemon>();

  const learned = async (): Promise<string[]> =>
    (await pg.routes())
      .filter((r) => r.peer !== "local")
      .map((r) => `${r.prefix} via ${r.nextHop} from ${r.peer}`)
      .sort();

  beforeAll(async () => {
    lab = new Lab("i-calico");
    const gwHost = await lab.addHost("gw");
    const hosts: Host[] = [];
    for (const n of NODES) hosts.push(await lab.addHost(n.name));
    await lab.bridge([
      { host: gwHost, addr: `${GW}/24` },
      ...NODES.map((n, i) => ({ host: hosts[i]!, addr: `${n.ip}/24` })),
    ]);
    NODES.forEach((n, i) => {
      birds.set(
        n.name,
        calicoNode({
          host: hosts[i]!,
          nodeIp: n.ip,
          blocks: [...n.blocks],
          peers: [
            // calico-node's node-to-node mesh, plus the gateway as a global BGPPeer.
            ...NODES.filter((o) => o.ip !== n.ip).map((o) => ({ address: o.ip, meshNode: true })),
            { address: GW },
          ],
        }),
      );
    });
    pg = new Podgate(gwHost, {
      routerId: GW,
      asn: PODGATE_AS,
      log: { level: "debug" },
      defaults: { holdTime: 90, connectRetryTime: 1 },
      peers: NODES.map((n) => ({
        address: n.ip,
        asn: PODGATE_AS,
        name: n.name,
        families: ["ipv4"],
        addPath: "receive",
        import: "accept-all",
        connectRetryTime: 1,
      })),
    });
    await Promise.all([...birds.values()].map((b) => b.start()));
    await pg.start();
  });

  afterAll(async () => {
    await lab?.teardown();
  });

  const withLogs = async (fn: () => Promise<void>): Promise<void> => {
    try {
      await fn();
    } catch (e) {
      let status = "";
      try {
        status = JSON.stringify((await pg.status()).peers, null, 1);
      } catch (se) {
        status = String(se);
      }
      const err = new Error(
        `${(e as Error).message}\n--- podgate status ---\n${status}\n--- podgate log ---\n${pg
          .logs()
          .split("\n")
          .filter((l) => /"level":(40|50|60)|state change/.test(l))
          .join("\n")
          .slice(-4000)}`,
      );
      err.stack = err.message;
      throw err;
    }
  };

  it("learns every node's blocks with that node as next hop (exact set), iBGP attributes intact", async () => {
    await withLogs(async () => {
      // Calico's BIRD waits 2 s (connect delay) before its first attempt.
      await pg.waitEstablished(
        NODES.map((n) => n.ip),
        30_000,
      );
      const want = expectedRib(NODES);
      await waitFor(
        async () => {
          const got = await learned();
          if (JSON.stringify(got) === JSON.stringify(want)) return true;
          throw new Error(JSON.stringify(got));
        },
        { timeoutMs: 15_000, what: "podgate's Loc-RIB = every block via its node" },
      );
      for (const r of (await pg.routes()).filter((x) => x.peer !== "local")) {
        expect(r).toMatchObject({ family: "ipv4", asPath: "", origin: "igp", localPref: 100, best: true });
      }
      for (const n of NODES) {
        const st = await pg.peer(n.ip);
        expect(st.prefixesReceived, n.name).toBe(n.blocks.length);
        expect(st.prefixesAccepted, n.name).toBe(n.blocks.length);
        expect(await birds.get(n.name)!.neighborState(GW)).toBe("Established");
      }
    });
  }, 60_000);

  it("a node whose BIRD stops (Cease) has its blocks withdrawn; the others stay", async () => {
    await withLogs(async () => {
      const node2 = NODES[1];
      const others = [NODES[0], NODES[2]];
      const t0 = Date.now();
      await birds.get(node2.name)!.stop();
      await waitFor(
        async () => {
          const got = await learned();
          if (JSON.stringify(got) === JSON.stringify(expectedRib(others))) return true;
          throw new Error(JSON.stringify(got));
        },
        { timeoutMs: 10_000, what: `${node2.name}'s blocks withdrawn, the others kept` },
      );
      expect(Date.now() - t0).toBeLessThan(10_000);
      const st = await pg.peer(node2.ip);
      expect(st.state).not.toBe("Established");
      // BIRD says goodbye with a Cease (Administrative Shutdown) NOTIFICATION, not a bare close.
      expect(`${st.info} | ${st.lastError ?? ""}`).toMatch(/cease/i);
      for (const n of others) expect(await pg.peerState(n.ip)).toBe("Established");
    });
  }, 30_000);

  it("the node's BIRD starts again: its blocks come back", async () => {
    await withLogs(async () => {
      await birds.get(NODES[1].name)!.start();
      await pg.waitEstablished([NODES[1].ip], 30_000);
      const want = expectedRib(NODES);
      await waitFor(
        async () => {
          const got = await learned();
          if (JSON.stringify(got) === JSON.stringify(want)) return true;
          throw new Error(JSON.stringify(got));
        },
        { timeoutMs: 10_000, what: "every block back" },
      );
    });
  }, 45_000);
});
