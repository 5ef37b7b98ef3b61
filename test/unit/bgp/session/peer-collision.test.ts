/**
 * Connection collision (RFC 4271 §6.8): the pure decision in collision.ts, and a PeerSession
 * holding two real connections to a raw peer that opens one of them itself.
 */
import { afterEach, describe, expect, it } from "vitest";
import { initialSnapshot } from "../../../../src/bgp/fsm/transition.ts";
import { bgpIdToUint32, resolveCollision, switchToCandidate } from "../../../../src/bgp/session/collision.ts";
import { BgpListener } from "../../../../src/bgp/session/listener.ts";
import { PeerSession } from "../../../../src/bgp/session/peer.ts";
import { CeaseSubcode, ErrorCode, MessageType } from "../../../../src/bgp/wire/index.ts";
import { openMessage, peerConfig, RawPeer, rawServer, waitFor } from "./peer-helpers.ts";

describe("resolveCollision", () => {
  const base = { localAs: 64512, remoteAs: 64512 };
  it("compares identifiers as unsigned 32-bit integers", () => {
    expect(bgpIdToUint32("255.0.0.1")).toBe(0xff000001);
    expect(bgpIdToUint32("10.0.0.1")).toBeLessThan(bgpIdToUint32("128.0.0.0"));
    expect(() => bgpIdToUint32("10.0.0")).toThrow();
    expect(() => bgpIdToUint32("10.0.0.256")).toThrow();
  });

  it.each([
    // local id, remote id, existing outgoing?, winner
    ["10.0.0.1", "10.0.0.2", true, "candidate"], // remote higher: keep the remote's (incoming) connection
    ["10.0.0.1", "10.0.0.2", false, "existing"],
    ["10.0.0.9", "10.0.0.2", true, "existing"], // local higher: keep ours (outgoing)
    ["10.0.0.9", "10.0.0.2", false, "candidate"],
    ["200.0.0.1", "9.0.0.1", true, "existing"], // unsigned, not string order
  ] as const)("local %s remote %s existing-outgoing %s → %s", (localId, remoteId, outgoing, winner) => {
    expect(
      resolveCollision({
        ...base,
        localId,
        remoteId,
        existing: { outgoing, state: "OpenConfirm" },
        candidate: { outgoing: !outgoing },
      }),
    ).toBe(winner);
  });

  it("an Established connection always wins", () => {
    expect(
      resolveCollision({
        ...base,
        localId: "10.0.0.1",
        remoteId: "10.0.0.2",
        existing: { outgoing: true, state: "Established" },
        candidate: { outgoing: false },
      }),
    ).toBe("existing");
  });

  it("equal identifiers (eBGP): the larger AS keeps its connection (RFC 6286 §2.3)", () => {
    const c = {
      localId: "10.0.0.1",
      remoteId: "10.0.0.1",
      existing: { outgoing: true, state: "OpenSent" as const },
      candidate: { outgoing: false },
    };
    expect(resolveCollision({ ...c, localAs: 65002, remoteAs: 65001 })).toBe("existing");
    expect(resolveCollision({ ...c, localAs: 65001, remoteAs: 65002 })).toBe("candidate");
  });

  it("switching to the candidate puts the FSM back in OpenSent with the 4-minute hold timer", () => {
    const s = { ...initialSnapshot(), state: "OpenConfirm" as const, holdTime: 90, keepaliveTime: 30 };
    const r = switchToCandidate(s);
    expect(r.next).toMatchObject({ state: "OpenSent", holdTime: 0, keepaliveTime: 0 });
    expect(r.actions).toEqual([
      { kind: "stop-timer", timer: "Keepalive" },
      { kind: "start-timer", timer: "Hold", seconds: 240 },
    ]);
  });
});

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/**
 * PeerSession on 127.0.0.1 (id 10.0.0.5) connects to a raw server on 127.0.0.6; the raw side
 * also connects to the session's listener. Both connections get OPENs with `rawId`.
 */
async function collide(rawId: string) {
  const raw = await rawServer("127.0.0.6");
  const listener = new BgpListener({ address: "127.0.0.1", port: 0 });
  await listener.start();
  cleanups.push(
    () => new Promise((r) => raw.server.close(r)),
    () => listener.close(),
  );
  const s = new PeerSession({
    config: peerConfig({ address: "127.0.0.6", asn: 64512, port: raw.port, localAddress: "127.0.0.1" }),
    local: { asn: 64512, routerId: "10.0.0.5" },
  });
  listener.register(s);
  cleanups.push(() => s.stop());
  s.start();
  const outgoing = await raw.next(); // the session's connection (it sent OPEN)
  cleanups.push(() => outgoing.destroy());
  await waitFor(() => outgoing.count(MessageType.OPEN) === 1 && s.state === "OpenSent");
  const incoming = await RawPeer.connect({
    host: "127.0.0.1",
    port: listener.port!,
    localAddress: "127.0.0.6",
  });
  cleanups.push(() => incoming.destroy());
  await waitFor(() => incoming.count(MessageType.OPEN) === 1, 3000, "OPEN on the second connection");
  return { s, outgoing, incoming, listener, open: openMessage({ bgpId: rawId }) };
}

const CEASE_COLLISION = {
  code: ErrorCode.CEASE,
  subcode: CeaseSubcode.CONNECTION_COLLISION_RESOLUTION,
  data: Buffer.alloc(0),
};

describe("PeerSession with two connections", () => {
  it("remote id higher: our outgoing connection gets Cease/7, the peer's survives", async () => {
    const { s, outgoing, incoming, open } = await collide("10.0.0.9");
    incoming.send(open);
    await waitFor(() => outgoing.closed, 3000, "outgoing closed");
    expect(outgoing.notifications()).toEqual([CEASE_COLLISION]);
    expect(s.state).toBe("OpenConfirm");
    incoming.send({ type: MessageType.KEEPALIVE });
    await waitFor(() => s.state === "Established");
    expect(s.info().session!.localPort).toBe(incoming.socket.remotePort);
    expect(incoming.notifications()).toEqual([]);
  });

  it("remote id lower: the peer's connection gets Cease/7, ours survives", async () => {
    const { s, outgoing, incoming, open } = await collide("10.0.0.2");
    outgoing.send(open); // the OPEN arrives on the main connection while the candidate waits
    await waitFor(() => incoming.closed, 3000, "incoming closed");
    expect(incoming.notifications()).toEqual([CEASE_COLLISION]);
    outgoing.send({ type: MessageType.KEEPALIVE });
    await waitFor(() => s.state === "Established");
    expect(s.info().session!.remotePort).toBe(outgoing.socket.localPort);
  });

  it("the peer resolved first (Cease/7 on our main connection): continue on the other one", async () => {
    const { s, outgoing, incoming, open } = await collide("10.0.0.9");
    outgoing.send({ type: MessageType.NOTIFICATION, ...CEASE_COLLISION });
    outgoing.destroy();
    await new Promise((r) => setTimeout(r, 50));
    expect(s.state).toBe("OpenSent");
    incoming.send(open);
    incoming.send({ type: MessageType.KEEPALIVE });
    await waitFor(() => s.state === "Established");
  });

  it("a new connection while Established is closed with Cease/7", async () => {
    const { s, outgoing, incoming, open, listener } = await collide("10.0.0.2");
    outgoing.send(open);
    outgoing.send({ type: MessageType.KEEPALIVE });
    await waitFor(() => s.state === "Established");
    await waitFor(() => incoming.closed);
    const late = await RawPeer.connect({
      host: "127.0.0.1",
      port: listener.port!,
      localAddress: "127.0.0.6",
    });
    cleanups.push(() => late.destroy());
    await waitFor(() => late.closed, 3000, "late connection closed");
    expect(late.notifications()).toEqual([CEASE_COLLISION]);
    expect(s.state).toBe("Established");
  });
});
