/**
 * A hostile peer on the shared listener: garbage, truncation, bad lengths, bad OPENs, a
 * malformed UPDATE. Each time the raw socket must receive the exact NOTIFICATION (RFC 4271 §6)
 * and the hostile peer's session goes down, while a third, well-behaved session on the same
 * listener stays Established and keeps exchanging keepalives.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BgpListener } from "../../../../src/bgp/session/listener.ts";
import { type DownReason, PeerSession } from "../../../../src/bgp/session/peer.ts";
import {
  type BgpNotificationError,
  DEFAULT_CODEC_OPTIONS,
  ErrorCode,
  encodeMessage,
  MessageType,
  validateOpen,
} from "../../../../src/bgp/wire/index.ts";
import { openMessage, peerConfig, RawPeer, waitFor } from "./peer-helpers.ts";

const HUB = "127.0.0.1";
const HOSTILE = "127.0.0.4";
const FRIEND = "127.0.0.5";

let hub: BgpListener;
let friendListener: BgpListener;
let hostile: PeerSession;
let third: PeerSession;
let friend: PeerSession;
const hostileDowns: DownReason[] = [];
const thirdDowns: DownReason[] = [];
let thirdKeepalivesAtStart = 0;

beforeAll(async () => {
  hub = new BgpListener({ address: HUB, port: 0 });
  friendListener = new BgpListener({ address: FRIEND, port: 0 });
  await hub.start();
  await friendListener.start();
  // The hostile peer's session: passive, restarts quickly after each failure.
  hostile = new PeerSession({
    config: peerConfig({ address: HOSTILE, asn: 65001, port: 1, passive: true }),
    local: { asn: 64512, routerId: "10.0.0.1" },
    fsm: { idleHoldInitial: 0.05, idleHoldMax: 0.05 },
  });
  hostile.on("down", (d) => hostileDowns.push(d));
  hub.register(hostile);
  // The third session (hold 3 s, keepalive 1 s) between the hub and a well-behaved podgate.
  third = new PeerSession({
    config: peerConfig({
      address: FRIEND,
      asn: 64512,
      port: friendListener.port!,
      localAddress: HUB,
      holdTime: 3,
    }),
    local: { asn: 64512, routerId: "10.0.0.1" },
  });
  third.on("down", (d) => thirdDowns.push(d));
  hub.register(third);
  friend = new PeerSession({
    config: peerConfig({ address: HUB, asn: 64512, port: hub.port!, passive: true, holdTime: 3 }),
    local: { asn: 64512, routerId: "10.0.0.5" },
  });
  friendListener.register(friend);
  hostile.start();
  friend.start();
  third.start();
  await waitFor(() => third.state === "Established" && friend.state === "Established", 5000, "third session");
  thirdKeepalivesAtStart = third.info().messagesIn.keepalive;
});

afterAll(async () => {
  hostile?.stop();
  third?.stop();
  friend?.stop();
  await hub?.close();
  await friendListener?.close();
});

/** Connects as the hostile peer once its session waits in Active; returns after our OPEN arrived. */
async function connectHostile(): Promise<RawPeer> {
  await waitFor(() => hostile.state === "Active", 3000, "hostile session back in Active");
  const raw = await RawPeer.connect({ host: HUB, port: hub.port!, localAddress: HOSTILE });
  await waitFor(() => raw.count(MessageType.OPEN) === 1, 3000, "OPEN from podgate");
  return raw;
}

/** Sends `bytes`, expects exactly `expected` back, the connection closed, and a 'down'. */
async function expectNotification(
  raw: RawPeer,
  bytes: Buffer,
  expected: { code: number; subcode: number; data: Buffer },
): Promise<void> {
  const downsBefore = hostileDowns.length;
  raw.send(bytes);
  await waitFor(() => raw.closed, 3000, "connection closed by podgate");
  expect(raw.notifications()).toEqual([expected]);
  expect(hostileDowns.length).toBe(downsBefore + 1);
  expect(hostileDowns.at(-1)).toMatchObject({
    kind: "notification-sent",
    code: expected.code,
    subcode: expected.subcode,
  });
}

const header = (length: number, type: number): Buffer => {
  const b = Buffer.alloc(19, 0xff);
  b.writeUInt16BE(length, 16);
  b[18] = type;
  return b;
};
const u16 = (v: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return b;
};

describe("hostile peer on the shared listener", () => {
  it("a connection from an unknown address is closed without a word", async () => {
    const raw = await RawPeer.connect({ host: HUB, port: hub.port!, localAddress: "127.0.0.66" });
    await waitFor(() => raw.closed, 3000, "closed");
    expect(raw.received).toEqual([]);
  });

  it("garbage (bad marker) → Message Header Error / Connection Not Synchronized", async () => {
    const raw = await connectHostile();
    await expectNotification(raw, Buffer.alloc(19, 0x42), { code: 1, subcode: 1, data: Buffer.alloc(0) });
  });

  it("a truncated message, then close → session down (tcp-closed), nothing sent", async () => {
    const raw = await connectHostile();
    const before = hostileDowns.length;
    const open = encodeMessage(openMessage({ myAs: 65001 }), DEFAULT_CODEC_OPTIONS);
    raw.socket.end(open.subarray(0, 25));
    await waitFor(() => hostileDowns.length === before + 1, 3000, "down");
    expect(hostileDowns.at(-1)).toMatchObject({ kind: "tcp-closed", wasEstablished: false });
    expect(raw.notifications()).toEqual([]);
  });

  it("a length field over 4096 → Bad Message Length with the length as data", async () => {
    const raw = await connectHostile();
    await expectNotification(raw, header(5000, MessageType.OPEN), { code: 1, subcode: 2, data: u16(5000) });
  });

  it("a KEEPALIVE of 20 octets → Bad Message Length", async () => {
    const raw = await connectHostile();
    await expectNotification(raw, Buffer.concat([header(20, MessageType.KEEPALIVE), Buffer.of(0)]), {
      code: 1,
      subcode: 2,
      data: u16(20),
    });
  });

  it("an unknown message type → Bad Message Type with the type as data", async () => {
    const raw = await connectHostile();
    await expectNotification(raw, header(19, 9), { code: 1, subcode: 3, data: Buffer.of(9) });
  });

  it("OPEN version 3 → Unsupported Version Number, data = 4", async () => {
    const raw = await connectHostile();
    const bytes = encodeMessage(openMessage({ myAs: 65001, version: 3 }), DEFAULT_CODEC_OPTIONS);
    await expectNotification(raw, bytes, { code: 2, subcode: 1, data: u16(4) });
  });

  it("OPEN from the wrong AS → Bad Peer AS, exactly as the codec's validateOpen says", async () => {
    const raw = await connectHostile();
    const open = openMessage({ myAs: 65099 });
    // The data octets are the codec's decision (RFC 4271 §6.2 specifies none); the session must
    // send exactly the BgpNotificationError's code, subcode and data.
    let thrown: BgpNotificationError | undefined;
    try {
      validateOpen(open, { peerAs: 65001, localBgpId: "10.0.0.1", ebgp: true });
    } catch (e) {
      thrown = e as BgpNotificationError;
    }
    expect(thrown).toMatchObject({ code: 2, subcode: 2 });
    await expectNotification(raw, encodeMessage(open, DEFAULT_CODEC_OPTIONS), {
      code: 2,
      subcode: 2,
      data: thrown!.data,
    });
  });

  it("OPEN with hold time 2 → Unacceptable Hold Time", async () => {
    const raw = await connectHostile();
    const bytes = encodeMessage(openMessage({ myAs: 65001, holdTime: 2 }), DEFAULT_CODEC_OPTIONS);
    await expectNotification(raw, bytes, { code: 2, subcode: 6, data: Buffer.alloc(0) });
  });

  it("an UPDATE before the OPEN → FSM Error / unexpected message in OpenSent (RFC 6608)", async () => {
    const raw = await connectHostile();
    const upd = Buffer.concat([header(23, MessageType.UPDATE), Buffer.alloc(4)]);
    await expectNotification(raw, upd, { code: ErrorCode.FSM, subcode: 1, data: Buffer.alloc(0) });
  });

  it("Established, then an UPDATE whose attribute list overruns the message → Malformed Attribute List", async () => {
    const raw = await connectHostile();
    raw.send(openMessage({ myAs: 65001, bgpId: "10.0.0.4" }));
    raw.send({ type: MessageType.KEEPALIVE });
    await waitFor(() => hostile.state === "Established", 3000, "hostile Established");
    // Withdrawn length 0, Total Path Attribute Length 40, but only 3 octets of attributes follow.
    const body = Buffer.concat([u16(0), u16(40), Buffer.of(0x40, 1, 1)]);
    const upd = Buffer.concat([header(19 + body.length, MessageType.UPDATE), body]);
    await expectNotification(raw, upd, { code: 3, subcode: 1, data: Buffer.alloc(0) });
    expect(hostileDowns.at(-1)!.wasEstablished).toBe(true);
  });

  it("an OPEN while Established → FSM Error / unexpected message in Established", async () => {
    const raw = await connectHostile();
    raw.send(openMessage({ myAs: 65001, bgpId: "10.0.0.4" }));
    raw.send({ type: MessageType.KEEPALIVE });
    await waitFor(() => hostile.state === "Established", 3000, "hostile Established");
    const bytes = encodeMessage(openMessage({ myAs: 65001, bgpId: "10.0.0.4" }), DEFAULT_CODEC_OPTIONS);
    await expectNotification(raw, bytes, { code: ErrorCode.FSM, subcode: 3, data: Buffer.alloc(0) });
  });

  it("throughout, the third session stayed Established and kept exchanging keepalives", async () => {
    // Make sure the run lasted more than one hold time of the third session.
    await new Promise((r) => setTimeout(r, 1500));
    expect(third.state).toBe("Established");
    expect(friend.state).toBe("Established");
    expect(thirdDowns).toEqual([]);
    expect(third.info().messagesIn.keepalive).toBeGreaterThan(thirdKeepalivesAtStart + 1);
    expect(third.info().messagesOut.keepalive).toBeGreaterThan(1);
  });
});
