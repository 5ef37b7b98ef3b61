/**
 * Shared self-test body: peer one daemon under test with BIRD across a veth link in two
 * namespaces (eBGP, one IPv4 and one IPv6 session) and check sessions, route exchange with
 * next hop / AS path / MED / communities, and withdrawal in both directions.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { BirdDaemon } from "../lab/daemons/bird.ts";
import type { BgpDaemon, DaemonOptions, RibRoute } from "../lab/daemons/types.ts";
import { type Host, Lab, waitFor } from "../lab/netns.ts";

export const BIRD_AS = 65001;
export const PEER_AS = 65002;
export const A4 = "10.0.0.1";
export const B4 = "10.0.0.2";
export const A6 = "fd00::1";
export const B6 = "fd00::2";

export interface PairContext {
  lab: Lab;
  a: Host;
  b: Host;
  bird: BirdDaemon;
  peer: BgpDaemon;
}

export interface PairOptions {
  /** MD5 key on the IPv4 session (both sides). */
  password?: string;
}

/** Registers beforeAll/afterAll and the three standard tests; returns a getter for the context. */
export function birdPairSuite(
  labName: string,
  make: (o: DaemonOptions) => BgpDaemon,
  po: PairOptions = {},
): () => PairContext {
  let ctx: PairContext | undefined;
  const pw = po.password ? { password: po.password } : {};

  beforeAll(async () => {
    const lab = new Lab(labName);
    try {
      const a = await lab.addHost("bird");
      const b = await lab.addHost("peer");
      await lab.link(a, b, { aAddr: `${A4}/30`, bAddr: `${B4}/30`, a6: `${A6}/64`, b6: `${B6}/64` });
      const bird = new BirdDaemon({
        host: a,
        routerId: A4,
        asn: BIRD_AS,
        neighbors: [
          { address: B4, asn: PEER_AS, ...pw },
          { address: B6, asn: PEER_AS },
        ],
      });
      const peer = make({
        host: b,
        routerId: B4,
        asn: PEER_AS,
        neighbors: [
          { address: A4, asn: BIRD_AS, ...pw },
          { address: A6, asn: BIRD_AS },
        ],
      });
      ctx = { lab, a, b, bird, peer };
      await Promise.all([bird.start(), peer.start()]);
    } catch (e) {
      await lab.teardown();
      throw e;
    }
  });

  afterAll(async () => {
    await ctx?.lab.teardown();
  });

  const get = (): PairContext => {
    if (!ctx) throw new Error("lab not set up");
    return ctx;
  };

  it("establishes IPv4 and IPv6 sessions, seen from both sides", async () => {
    const { bird, peer } = get();
    const states = async () => ({
      birdV4: await bird.neighborState(B4),
      birdV6: await bird.neighborState(B6),
      peerV4: await peer.neighborState(A4),
      peerV6: await peer.neighborState(A6),
    });
    const s = await waitFor(
      async () => {
        const st = await states();
        if (Object.values(st).every((x) => x === "Established")) return st;
        throw new Error(JSON.stringify(st));
      },
      { timeoutMs: 20_000, what: "all sessions Established" },
    ).catch((e) => {
      throw new Error(
        `${(e as Error).message}\n--- bird ---\n${bird.logs().slice(-3000)}\n--- peer ---\n${peer.logs().slice(-3000)}`,
      );
    });
    expect(s).toEqual({
      birdV4: "Established",
      birdV6: "Established",
      peerV4: "Established",
      peerV6: "Established",
    });
  });

  it("exchanges routes both ways with next hop, AS path, MED and communities", async () => {
    const { bird, peer } = get();
    await bird.announce("10.1.0.0/24", { med: 5, communities: ["65000:1"], asPathPrepend: [65009] });
    await bird.announce("fd01::/48");
    await peer.announce("10.2.0.0/24", { med: 7, communities: ["65000:2"] });
    await peer.announce("fd02::/48");

    const find = async (d: BgpDaemon, afi: 4 | 6, prefix: string): Promise<RibRoute | undefined> =>
      (await d.routes(afi)).find((r) => r.prefix === prefix);

    const atPeer4 = await waitFor(() => find(peer, 4, "10.1.0.0/24"), {
      timeoutMs: 10_000,
      what: "10.1.0.0/24 at peer",
    });
    expect(atPeer4).toMatchObject({ nextHop: A4, asPath: [BIRD_AS, 65009], med: 5, fromPeer: A4 });
    expect(atPeer4.communities).toEqual(["65000:1"]);
    const atPeer6 = await waitFor(() => find(peer, 6, "fd01::/48"), {
      timeoutMs: 10_000,
      what: "fd01::/48 at peer",
    });
    expect(atPeer6).toMatchObject({ nextHop: A6, asPath: [BIRD_AS], fromPeer: A6 });

    const atBird4 = await waitFor(() => find(bird, 4, "10.2.0.0/24"), {
      timeoutMs: 10_000,
      what: "10.2.0.0/24 at bird",
    });
    expect(atBird4).toMatchObject({ nextHop: B4, asPath: [PEER_AS], med: 7, fromPeer: B4 });
    expect(atBird4.communities).toEqual(["65000:2"]);
    const atBird6 = await waitFor(() => find(bird, 6, "fd02::/48"), {
      timeoutMs: 10_000,
      what: "fd02::/48 at bird",
    });
    expect(atBird6).toMatchObject({ nextHop: B6, asPath: [PEER_AS], fromPeer: B6 });

    // Only what was announced: no stray routes (e.g. our own announcements echoed back).
    expect((await peer.routes(4)).map((r) => r.prefix)).toEqual(["10.1.0.0/24"]);
    expect((await bird.routes(6)).map((r) => r.prefix)).toEqual(["fd02::/48"]);
  });

  it("withdraws routes both ways", async () => {
    const { bird, peer } = get();
    await bird.withdraw("10.1.0.0/24");
    await bird.withdraw("fd01::/48");
    await peer.withdraw("10.2.0.0/24");
    await peer.withdraw("fd02::/48");
    for (const [d, afi] of [
      [peer, 4],
      [peer, 6],
      [bird, 4],
      [bird, 6],
    ] as const) {
      await waitFor(
        async () => {
          const rs = await d.routes(afi);
          if (rs.length === 0) return true;
          throw new Error(`still there: ${JSON.stringify(rs)}`);
        },
        { timeoutMs: 10_000, what: `${d.name} IPv${afi} RIB empty after withdraw` },
      );
    }
  });

  it("stop/start: the session drops, comes back, and announcements are re-sent", async () => {
    const { bird, peer } = get();
    await peer.announce("10.3.0.0/24");
    const has = async () => (await bird.routes(4)).some((r) => r.prefix === "10.3.0.0/24");
    await waitFor(has, { timeoutMs: 10_000, what: "10.3.0.0/24 at bird" });
    await peer.stop();
    await waitFor(async () => (await bird.neighborState(B4)) !== "Established", {
      timeoutMs: 10_000,
      what: "session down",
    });
    expect(await has()).toBe(false);
    await peer.start();
    await waitFor(async () => (await bird.neighborState(B4)) === "Established", {
      timeoutMs: 20_000,
      what: "session back",
    });
    await waitFor(has, { timeoutMs: 10_000, what: "10.3.0.0/24 re-announced after restart" });
  });

  return get;
}
