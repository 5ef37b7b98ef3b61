/**
 * PeerSession over real TCP on loopback: two podgate sessions reaching Established (active /
 * passive, and both active with a collision), hold timer expiry against a silent raw peer,
 * RFC 9003 shutdown communication, and a 200k-UPDATE dump under a 3 s hold time.
 */
import { afterEach, describe, expect, it } from "vitest";
import { BgpListener } from "../../../../src/bgp/session/listener.ts";
import { type DownReason, PeerSession, type SessionFacts } from "../../../../src/bgp/session/peer.ts";
import {
  CeaseSubcode,
  DEFAULT_CODEC_OPTIONS,
  ErrorCode,
  encodeMessage,
  MessageType,
} from "../../../../src/bgp/wire/index.ts";
import type { PeerConfig } from "../../../../src/config/types.ts";
import { type Clock, FakeClock, systemClock } from "../../../../src/core/clock.ts";
import { openMessage, peerConfig, rawServer, waitFor } from "./peer-helpers.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Side {
  session: PeerSession;
  listener: BgpListener;
  downs: DownReason[];
  established: SessionFacts[];
}

/** Two podgate speakers on 127.0.0.1 (AS 64512, id A) and 127.0.0.2 (AS 64512, id B). */
async function pair(opts: {
  aPassive?: boolean;
  bPassive?: boolean;
  aId?: string;
  bId?: string;
  holdTime?: number;
  clock?: Clock;
  extra?: Partial<PeerConfig>;
}): Promise<[Side, Side]> {
  const la = new BgpListener({ address: "127.0.0.1", port: 0 });
  const lb = new BgpListener({ address: "127.0.0.2", port: 0 });
  await la.start();
  await lb.start();
  cleanups.push(
    () => la.close(),
    () => lb.close(),
  );
  const mk = (
    me: string,
    other: string,
    id: string,
    port: number,
    passive: boolean,
    listener: BgpListener,
  ): Side => {
    const session = new PeerSession({
      config: peerConfig({
        address: other,
        asn: 64512,
        port,
        localAddress: me,
        passive,
        holdTime: opts.holdTime ?? 90,
        ...opts.extra,
      }),
      local: { asn: 64512, routerId: id },
      clock: opts.clock ?? systemClock,
    });
    listener.register(session);
    const side: Side = { session, listener, downs: [], established: [] };
    session.on("down", (r) => side.downs.push(r));
    session.on("established", (f) => side.established.push(f));
    cleanups.push(() => session.stop());
    return side;
  };
  const a = mk("127.0.0.1", "127.0.0.2", opts.aId ?? "10.0.0.1", lb.port!, opts.aPassive ?? false, la);
  const b = mk("127.0.0.2", "127.0.0.1", opts.bId ?? "10.0.0.2", la.port!, opts.bPassive ?? false, lb);
  return [a, b];
}

const bothEstablished = (a: Side, b: Side) => () =>
  a.session.state === "Established" && b.session.state === "Established";

describe("PeerSession ↔ PeerSession on loopback", () => {
  it("active and passive sides reach Established with the negotiated facts", async () => {
    const [a, b] = await pair({ bPassive: true, holdTime: 30 });
    const states: string[] = [];
    a.session.on("state", (c) => states.push(`${c.from}>${c.to}`));
    b.session.start();
    expect(b.session.state).toBe("Active");
    a.session.start();
    await waitFor(bothEstablished(a, b), 5000, "Established");
    expect(states).toEqual([
      "Idle>Connect",
      "Connect>OpenSent",
      "OpenSent>OpenConfirm",
      "OpenConfirm>Established",
    ]);
    const fa = a.established[0]!;
    expect(fa).toMatchObject({
      peerAs: 64512,
      peerBgpId: "10.0.0.2",
      holdTime: 30,
      keepaliveTime: 10,
      localAddress: "127.0.0.1",
      remoteAddress: "127.0.0.2",
      ebgp: false,
    });
    expect(fa.families).toEqual([{ afi: 1, safi: 1 }]);
    expect(fa.codec.fourOctetAs).toBe(true);
    expect(b.established[0]!.localAddress).toBe("127.0.0.2");
    const info = a.session.info();
    expect(info.messagesOut.open).toBe(1);
    expect(info.messagesIn.keepalive).toBeGreaterThanOrEqual(1);
    expect(info.lastError).toBeUndefined();
  });

  it("both active: the collision leaves exactly one connection, the one the higher id opened", async () => {
    // B has the higher identifier: the connection B initiated must survive (RFC 4271 §6.8).
    const [a, b] = await pair({ aId: "10.0.0.1", bId: "10.0.0.2" });
    a.session.start();
    b.session.start();
    await waitFor(bothEstablished(a, b), 5000, "Established");
    const fa = a.session.info().session!;
    const fb = b.session.info().session!;
    // Same TCP connection seen from both ends.
    expect(fa.localPort).toBe(fb.remotePort);
    expect(fb.localPort).toBe(fa.remotePort);
    // B initiated it: B's remote port is A's listening port.
    expect(fb.remotePort).toBe(a.listener.port);
    // The losing connection got Cease/Connection Collision Resolution (from one side or both).
    const sent = a.session.info().messagesOut.notification + b.session.info().messagesOut.notification;
    expect(sent).toBeGreaterThanOrEqual(1);
    expect(a.downs.filter((d) => d.wasEstablished)).toEqual([]);
    expect(b.downs.filter((d) => d.wasEstablished)).toEqual([]);
    // Still up a moment later (no delayed teardown of the winner).
    await new Promise((r) => setTimeout(r, 300));
    expect(bothEstablished(a, b)()).toBe(true);
    expect(a.session.info().session!.localPort).toBe(fa.localPort);
  });

  it("both active with the ids the other way round keeps A's connection", async () => {
    const [a, b] = await pair({ aId: "10.0.0.200", bId: "10.0.0.2" });
    b.session.start();
    a.session.start();
    await waitFor(bothEstablished(a, b), 5000, "Established");
    await new Promise((r) => setTimeout(r, 200));
    expect(bothEstablished(a, b)()).toBe(true);
    expect(a.session.info().session!.remotePort).toBe(b.listener.port);
  });

  it("stop({message}) delivers the RFC 9003 shutdown communication to the other side", async () => {
    const [a, b] = await pair({ bPassive: true });
    b.session.start();
    a.session.start();
    await waitFor(bothEstablished(a, b));
    a.session.stop({ message: "maintenance" });
    await waitFor(() => b.downs.length > 0, 3000, "down on B");
    expect(b.downs[0]).toEqual({
      kind: "notification-received",
      code: ErrorCode.CEASE,
      subcode: CeaseSubcode.ADMINISTRATIVE_SHUTDOWN,
      message: "maintenance",
      wasEstablished: true,
    });
    expect(b.session.info().lastError).toBe(
      "Received NOTIFICATION Cease/Administrative Shutdown: 'maintenance'",
    );
    expect(a.downs[0]).toMatchObject({
      kind: "notification-sent",
      code: 6,
      subcode: 2,
      message: "maintenance",
    });
    expect(a.session.state).toBe("Idle");
    // A stays down (ManualStop): nothing restarts it.
    await new Promise((r) => setTimeout(r, 1500));
    expect(a.session.state).toBe("Idle");
  });

  it("reset() sends Administrative Reset and the session comes back", async () => {
    const [a, b] = await pair({ bPassive: true }); // B passive, so its restart only waits
    b.session.start();
    a.session.start();
    await waitFor(bothEstablished(a, b));
    a.session.reset("config change");
    await waitFor(() => b.downs.length > 0);
    expect(b.downs[0]).toMatchObject({
      code: 6,
      subcode: CeaseSubcode.ADMINISTRATIVE_RESET,
      message: "config change",
    });
    await waitFor(bothEstablished(a, b), 5000, "re-established");
    expect(a.established.length).toBe(2);
  });

  it("200k UPDATEs with hold time 3 s: keepalives are not starved, the session stays up", async () => {
    const [a, b] = await pair({ bPassive: true, holdTime: 3 });
    b.session.start();
    a.session.start();
    await waitFor(bothEstablished(a, b));
    let received = 0;
    b.session.on("update", () => {
      received++;
      // A slow consumer (~10 µs per UPDATE, like a RIB under load) stretches the dump well past
      // the hold time, so a starved keepalive would show.
      const t = performance.now();
      while (performance.now() - t < 0.01) {}
    });
    const update = encodeMessage(
      {
        type: MessageType.UPDATE,
        withdrawn: [],
        attributes: { origin: 0, asPath: [], nextHop: "127.0.0.1", localPref: 100 },
        nlri: [{ prefix: { afi: 1, addr: "10.1.2.0", len: 24 } }],
      },
      a.session.info().session!.codec,
    );
    const N = 200_000;
    const started = Date.now();
    const batch = new Array<Buffer>(N).fill(update);
    const kaBefore = a.session.info().messagesIn.keepalive;
    expect(a.session.send(batch)).toBe(true);
    expect(a.session.info().queuedBytes).toBeGreaterThan(0);
    await waitFor(() => received === N, 60_000, "all updates");
    const took = Date.now() - started;
    expect(a.session.info().updatesOut).toBe(N);
    expect(b.session.info().updatesIn).toBe(N);
    expect(a.downs).toEqual([]);
    expect(b.downs).toEqual([]);
    expect(bothEstablished(a, b)()).toBe(true);
    // The dump outlasted the hold time, and the busy receiver still sent its keepalives.
    expect(took).toBeGreaterThan(3000);
    expect(a.session.info().messagesIn.keepalive).toBeGreaterThan(kaBefore + 1);
    // And it stays up for more than a hold time after the dump.
    await new Promise((r) => setTimeout(r, 3500));
    expect(bothEstablished(a, b)()).toBe(true);
  }, 90_000);
});

describe("PeerSession against a raw peer", () => {
  it("hold timer expiry: NOTIFICATION Hold Timer Expired is sent and 'down' emitted", async () => {
    const clock = new FakeClock();
    const raw = await rawServer("127.0.0.3");
    cleanups.push(() => new Promise((r) => raw.server.close(r)));
    const s = new PeerSession({
      config: peerConfig({
        address: "127.0.0.3",
        asn: 64512,
        port: raw.port,
        localAddress: "127.0.0.1",
        holdTime: 9,
      }),
      local: { asn: 64512, routerId: "10.0.0.1" },
      clock,
    });
    const downs: DownReason[] = [];
    s.on("down", (d) => downs.push(d));
    cleanups.push(() => s.stop());
    s.start();
    const peer = await raw.next();
    cleanups.push(() => peer.destroy());
    await waitFor(() => peer.count(MessageType.OPEN) === 1, 3000, "OPEN");
    peer.send(openMessage({ holdTime: 9 }));
    peer.send({ type: MessageType.KEEPALIVE });
    await waitFor(() => s.state === "Established", 3000, "Established");
    expect(s.info().session!.holdTime).toBe(9);
    // The raw peer goes silent. Keepalives still go out every 3 s; the hold timer expires at 9 s.
    clock.advance(8_000);
    expect(s.state).toBe("Established");
    clock.advance(1_000);
    expect(s.state).toBe("Idle");
    await waitFor(() => peer.notifications().length > 0, 3000, "NOTIFICATION");
    expect(peer.notifications()).toEqual([
      { code: ErrorCode.HOLD_TIMER_EXPIRED, subcode: 0, data: Buffer.alloc(0) },
    ]);
    expect(peer.count(MessageType.KEEPALIVE)).toBeGreaterThanOrEqual(3); // 1 in OpenSent + 2 on the timer
    expect(downs).toEqual([{ kind: "hold-timer", code: 4, subcode: 0, wasEstablished: true }]);
    expect(s.info().lastError).toBe("Hold timer expired");
    await waitFor(() => peer.closed, 3000, "close");
    // Damping: restart after the first IdleHold (1 s), as a new connection.
    clock.advance(1_000);
    expect(s.state).toBe("Connect");
    const again = await raw.next();
    cleanups.push(() => again.destroy());
    await waitFor(() => again.count(MessageType.OPEN) === 1, 3000, "second OPEN");
  });

  it("hold time 0 on both sides: no keepalives, no hold timer", async () => {
    const clock = new FakeClock();
    const raw = await rawServer("127.0.0.3");
    cleanups.push(() => new Promise((r) => raw.server.close(r)));
    const s = new PeerSession({
      config: peerConfig({
        address: "127.0.0.3",
        asn: 64512,
        port: raw.port,
        localAddress: "127.0.0.1",
        holdTime: 0,
      }),
      local: { asn: 64512, routerId: "10.0.0.1" },
      clock,
    });
    cleanups.push(() => s.stop());
    s.start();
    const peer = await raw.next();
    cleanups.push(() => peer.destroy());
    await waitFor(() => peer.count(MessageType.OPEN) === 1);
    peer.send(openMessage({ holdTime: 240 }));
    peer.send({ type: MessageType.KEEPALIVE });
    await waitFor(() => s.state === "Established");
    const kas = peer.count(MessageType.KEEPALIVE);
    clock.advance(3_600_000);
    await new Promise((r) => setTimeout(r, 50));
    expect(s.state).toBe("Established");
    expect(peer.count(MessageType.KEEPALIVE)).toBe(kas);
  });

  it("an exception in an 'update' listener resets the session instead of crashing", async () => {
    const raw = await rawServer("127.0.0.3");
    cleanups.push(() => new Promise((r) => raw.server.close(r)));
    const s = new PeerSession({
      config: peerConfig({ address: "127.0.0.3", asn: 64512, port: raw.port, localAddress: "127.0.0.1" }),
      local: { asn: 64512, routerId: "10.0.0.1" },
    });
    const downs: DownReason[] = [];
    s.on("down", (d) => downs.push(d));
    s.on("update", () => {
      throw new Error("boom");
    });
    cleanups.push(() => s.stop());
    s.start();
    const peer = await raw.next();
    cleanups.push(() => peer.destroy());
    await waitFor(() => peer.count(MessageType.OPEN) === 1);
    peer.send(openMessage());
    peer.send({ type: MessageType.KEEPALIVE });
    await waitFor(() => s.state === "Established");
    peer.send(
      encodeMessage(
        {
          type: MessageType.UPDATE,
          withdrawn: [],
          attributes: { origin: 0, asPath: [], nextHop: "127.0.0.3", localPref: 100 },
          nlri: [{ prefix: { afi: 1, addr: "10.1.0.0", len: 16 } }],
        },
        DEFAULT_CODEC_OPTIONS,
      ),
    );
    await waitFor(() => peer.notifications().length > 0, 3000, "NOTIFICATION");
    expect(peer.notifications()[0]).toMatchObject({
      code: ErrorCode.CEASE,
      subcode: CeaseSubcode.ADMINISTRATIVE_RESET,
    });
    expect(downs[0]).toMatchObject({ kind: "error", message: "boom", wasEstablished: true });
    expect(s.info().lastError).toContain("boom");
  });

  it("connection refused is reported and retried", async () => {
    const clock = new FakeClock();
    const raw = await rawServer("127.0.0.3");
    const port = raw.port;
    await new Promise((r) => raw.server.close(r)); // nothing listens there now
    const s = new PeerSession({
      config: peerConfig({
        address: "127.0.0.3",
        asn: 64512,
        port,
        localAddress: "127.0.0.1",
        connectRetryTime: 5,
      }),
      local: { asn: 64512, routerId: "10.0.0.1" },
      clock,
    });
    cleanups.push(() => s.stop());
    s.start();
    await waitFor(() => s.state === "Active", 3000, "Active");
    expect(s.info().lastError).toBe("Connection refused");
    clock.advance(5_000);
    expect(s.state).toBe("Connect");
  });
});
