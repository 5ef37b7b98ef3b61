/**
 * Interop: a hostile raw TCP client against the real podgate process. podgate runs in a
 * namespace with a BIRD peer on a veth (eBGP, routes flowing) and a set of passive "hostile"
 * peers on 127.0.0.x; a scripted client (raw-client.ts, spawned in the namespace) connects as
 * one of them and sends garbage, bad markers, bad lengths, unknown types, bad OPENs, an UPDATE
 * before OPEN and a malformed UPDATE. Each case must get exactly the RFC 4271 §6 NOTIFICATION
 * (code/subcode/data) and a closed connection, while the BIRD session stays Established, never
 * flaps, and its route stays in podgate's Loc-RIB. Every case uses its own configured peer
 * address, so podgate's IdleHold back-off after one failure never delays the next case.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type BgpMessage,
  BgpNotificationError,
  DEFAULT_CODEC_OPTIONS,
  decodeMessage,
  ErrorCode,
  encodeMessage,
  FsmError,
  MessageFramer,
  MessageHeaderError,
  MessageType,
  type OpenMessage,
  OpenMessageError,
  UpdateMessageError,
  validateOpen,
} from "../../src/bgp/wire/index.ts";
import { BirdDaemon } from "../lab/daemons/bird.ts";
import { type Host, Lab, labPrereqs, waitFor } from "../lab/netns.ts";
import { LAB_TIMERS, type PeerYaml, PODGATE_AS, Podgate, REPO_ROOT } from "./podgate.ts";
import type { RawResult, RawStep } from "./raw-client.ts";

const skip = labPrereqs(["bird", "birdc", "node"]);

const PG = "10.0.0.1";
const BIRD = "10.0.0.2";
const BIRD_AS = 65001;
const HOSTILE_AS = 65010;
const BIRD_PREFIX = "10.5.0.0/24";
const RAW_CLIENT = join(REPO_ROOT, "test", "interop", "raw-client.ts");
/** One configured passive hostile peer per case: 127.0.0.10, .11, ... */
const HOSTILE_COUNT = 16;
const hostileAddr = (i: number) => `127.0.0.${10 + i}`;

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
const hex = (b: Buffer) => b.toString("hex");

function openMessage(o: Partial<OpenMessage> = {}): OpenMessage {
  return {
    type: MessageType.OPEN,
    version: 4,
    myAs: HOSTILE_AS,
    holdTime: 90,
    bgpId: "10.9.9.9",
    capabilities: {
      multiprotocol: [{ afi: 1, safi: 1 }],
      routeRefresh: true,
      enhancedRouteRefresh: false,
      fourOctetAs: o.myAs ?? HOSTILE_AS,
      addPath: [],
      others: [],
    },
    ...o,
  };
}
const openBytes = (o: Partial<OpenMessage> = {}) => encodeMessage(openMessage(o), DEFAULT_CODEC_OPTIONS);

describe.skipIf(!!skip)("interop: hostile raw client vs podgate, a BIRD peer unaffected", () => {
  let lab: Lab;
  let pgHost: Host;
  let pg: Podgate;
  let bird: BirdDaemon;
  let birdSince = "";
  let nextHostile = 0;

  beforeAll(async () => {
    lab = new Lab("i-hostile");
    pgHost = await lab.addHost("pg");
    const bHost = await lab.addHost("bird");
    await lab.link(pgHost, bHost, { aAddr: `${PG}/30`, bAddr: `${BIRD}/30` });
    bird = new BirdDaemon({
      host: bHost,
      routerId: BIRD,
      asn: BIRD_AS,
      neighbors: [{ address: PG, asn: PODGATE_AS }],
    });
    bird.preAnnounce(BIRD_PREFIX, { communities: ["65001:5"] });
    const hostilePeers: PeerYaml[] = Array.from({ length: HOSTILE_COUNT }, (_, i) => ({
      address: hostileAddr(i),
      asn: HOSTILE_AS,
      name: `hostile${i}`,
      passive: true,
      families: ["ipv4"],
      holdTime: 90,
    }));
    pg = new Podgate(pgHost, {
      routerId: PG,
      asn: PODGATE_AS,
      log: { level: "debug" },
      defaults: { holdTime: LAB_TIMERS.holdTime, connectRetryTime: LAB_TIMERS.connectRetryTime },
      peers: [
        {
          address: BIRD,
          asn: BIRD_AS,
          name: "bird",
          families: ["ipv4"],
          import: "accept-all",
          export: "accept-all",
          holdTime: LAB_TIMERS.holdTime,
          keepaliveTime: LAB_TIMERS.keepaliveTime,
          connectRetryTime: LAB_TIMERS.connectRetryTime,
        },
        ...hostilePeers,
      ],
      originate: [{ prefix: "10.9.0.0/24" }],
    });
    await bird.start();
    await pg.start();
    await pg.waitEstablished([BIRD], 25_000);
    await waitFor(async () => (await pg.routesFrom(BIRD, BIRD_PREFIX)).length === 1, {
      timeoutMs: 10_000,
      what: `${BIRD_PREFIX} from BIRD in podgate`,
    });
    birdSince = (await pg.peer(BIRD)).since;
  });

  afterAll(async () => {
    await lab?.teardown();
  });

  /** Runs the raw client as the next unused hostile peer; returns its result and decoded messages. */
  async function hostile(
    steps: RawStep[],
    opts: { from?: string; closeTimeoutMs?: number } = {},
  ): Promise<{ res: RawResult; msgs: BgpMessage[]; from: string }> {
    let from = opts.from;
    if (!from) {
      from = hostileAddr(nextHostile++);
      if (nextHostile > HOSTILE_COUNT) throw new Error("raise HOSTILE_COUNT");
      const addr = from;
      // Passive session waiting for the connection.
      await waitFor(async () => (await pg.peerState(addr)) === "Active", {
        timeoutMs: 5000,
        what: `podgate's passive session for ${addr} in Active`,
      });
    }
    const spec = {
      host: "127.0.0.1",
      port: 179,
      localAddress: from,
      steps,
      closeTimeoutMs: opts.closeTimeoutMs,
    };
    const out = await pgHost.run(["node", "--import", "tsx", RAW_CLIENT, JSON.stringify(spec)], {
      cwd: REPO_ROOT,
      timeoutMs: 30_000,
    });
    const res = JSON.parse(out.trim().split("\n").pop() ?? "{}") as RawResult;
    const framer = new MessageFramer();
    const msgs = framer
      .push(Buffer.from(res.received, "hex"))
      .map((m) => decodeMessage(m, DEFAULT_CODEC_OPTIONS));
    return { res, msgs, from };
  }

  const notifications = (msgs: BgpMessage[]) =>
    msgs.flatMap((m) =>
      m.type === MessageType.NOTIFICATION ? [{ code: m.code, subcode: m.subcode, data: m.data }] : [],
    );

  /** After podgate's OPEN arrives, sends `bytes`; expects exactly one NOTIFICATION and a close. */
  async function expectNotification(
    bytes: Buffer,
    expected: { code: number; subcode: number; data?: Buffer },
    before: RawStep[] = [{ waitType: MessageType.OPEN }],
  ): Promise<void> {
    const { res, msgs, from } = await hostile([...before, { send: hex(bytes) }]);
    const ctx = JSON.stringify({ from, events: res.events, error: res.error });
    expect(res.connected, ctx).toBe(true);
    expect(msgs[0]?.type, `podgate speaks first with its OPEN; ${ctx}`).toBe(MessageType.OPEN);
    const n = notifications(msgs);
    expect(
      n.map((x) => ({ code: x.code, subcode: x.subcode })),
      ctx,
    ).toEqual([{ code: expected.code, subcode: expected.subcode }]);
    if (expected.data) expect(n[0]?.data.toString("hex"), ctx).toBe(expected.data.toString("hex"));
    // The NOTIFICATION is the last thing podgate sends, then it closes (RFC 4271 §6).
    expect(msgs.at(-1)?.type, ctx).toBe(MessageType.NOTIFICATION);
    expect(res.closedByPeer, ctx).toBe(true);
    // podgate records the error for that peer and goes back to waiting (passive).
    await waitFor(
      async () => {
        const p = await pg.peer(from);
        return p.state !== "Established" && `${p.info} ${p.lastError ?? ""}`.trim().length > 0
          ? p
          : undefined;
      },
      { timeoutMs: 3000, what: `podgate status shows the error for ${from}` },
    );
  }

  it("a connection from an address that is not a configured peer is closed without a word", async () => {
    const { res, msgs } = await hostile([{ sleepMs: 100 }], { from: "127.0.0.99", closeTimeoutMs: 3000 });
    expect(res.closedByPeer || !res.connected).toBe(true);
    expect(msgs).toEqual([]);
  });

  it("garbage (no marker) → Message Header Error / Connection Not Synchronized", async () => {
    const junk = Buffer.from("GET / HTTP/1.1\r\nHost: podgate\r\n\r\n", "ascii");
    await expectNotification(junk, {
      code: ErrorCode.MESSAGE_HEADER,
      subcode: MessageHeaderError.CONNECTION_NOT_SYNCHRONIZED,
    });
  });

  it("a marker with one bit wrong → Connection Not Synchronized", async () => {
    const k = header(19, MessageType.KEEPALIVE);
    k[7] = 0xfe;
    await expectNotification(k, {
      code: ErrorCode.MESSAGE_HEADER,
      subcode: MessageHeaderError.CONNECTION_NOT_SYNCHRONIZED,
    });
  });

  it("a length field over 4096 → Bad Message Length, data = the length", async () => {
    await expectNotification(header(5000, MessageType.OPEN), {
      code: ErrorCode.MESSAGE_HEADER,
      subcode: MessageHeaderError.BAD_MESSAGE_LENGTH,
      data: u16(5000),
    });
  });

  it("a length field under 19 → Bad Message Length, data = the length", async () => {
    await expectNotification(header(10, MessageType.KEEPALIVE), {
      code: ErrorCode.MESSAGE_HEADER,
      subcode: MessageHeaderError.BAD_MESSAGE_LENGTH,
      data: u16(10),
    });
  });

  it("a 20-octet KEEPALIVE → Bad Message Length", async () => {
    await expectNotification(Buffer.concat([header(20, MessageType.KEEPALIVE), Buffer.of(0)]), {
      code: ErrorCode.MESSAGE_HEADER,
      subcode: MessageHeaderError.BAD_MESSAGE_LENGTH,
      data: u16(20),
    });
  });

  it("an unknown message type → Bad Message Type, data = the type", async () => {
    await expectNotification(header(19, 9), {
      code: ErrorCode.MESSAGE_HEADER,
      subcode: MessageHeaderError.BAD_MESSAGE_TYPE,
      data: Buffer.of(9),
    });
  });

  it("an OPEN shorter than 29 octets → Bad Message Length", async () => {
    const open = openBytes();
    const short = Buffer.concat([header(25, MessageType.OPEN), open.subarray(19, 25)]);
    await expectNotification(short, {
      code: ErrorCode.MESSAGE_HEADER,
      subcode: MessageHeaderError.BAD_MESSAGE_LENGTH,
      data: u16(25),
    });
  });

  it("OPEN version 3 → Unsupported Version Number, data = 4", async () => {
    await expectNotification(openBytes({ version: 3 }), {
      code: ErrorCode.OPEN_MESSAGE,
      subcode: OpenMessageError.UNSUPPORTED_VERSION_NUMBER,
      data: u16(4),
    });
  });

  it("OPEN from the wrong AS → Bad Peer AS", async () => {
    const open = openMessage({ myAs: 65099 });
    let thrown: BgpNotificationError | undefined;
    try {
      validateOpen(open, { peerAs: HOSTILE_AS, localBgpId: PG, ebgp: true });
    } catch (e) {
      if (e instanceof BgpNotificationError) thrown = e;
    }
    expect(thrown).toMatchObject({ code: ErrorCode.OPEN_MESSAGE, subcode: OpenMessageError.BAD_PEER_AS });
    await expectNotification(encodeMessage(open, DEFAULT_CODEC_OPTIONS), {
      code: ErrorCode.OPEN_MESSAGE,
      subcode: OpenMessageError.BAD_PEER_AS,
      data: thrown?.data ?? Buffer.alloc(0),
    });
  });

  it("OPEN with BGP Identifier 0.0.0.0 → Bad BGP Identifier", async () => {
    await expectNotification(openBytes({ bgpId: "0.0.0.0" }), {
      code: ErrorCode.OPEN_MESSAGE,
      subcode: OpenMessageError.BAD_BGP_IDENTIFIER,
    });
  });

  it("OPEN with hold time 2 → Unacceptable Hold Time", async () => {
    await expectNotification(openBytes({ holdTime: 2 }), {
      code: ErrorCode.OPEN_MESSAGE,
      subcode: OpenMessageError.UNACCEPTABLE_HOLD_TIME,
    });
  });

  it("OPEN whose optional parameters overrun the message → OPEN Message Error", async () => {
    const open = Buffer.from(openBytes());
    // Optional Parameters Length claims 40 more octets than the message holds; the header
    // length stays consistent with the bytes sent, so only the OPEN body is wrong.
    open[28] = (open[28] ?? 0) + 40;
    const { msgs } = await hostile([{ waitType: MessageType.OPEN }, { send: hex(open) }]);
    const n = notifications(msgs);
    expect(n).toHaveLength(1);
    // RFC 4271 leaves the subcode open here: Bad Message Length (1/2) or OPEN Unspecific (2/0).
    const allowed = [
      `${ErrorCode.MESSAGE_HEADER}/${MessageHeaderError.BAD_MESSAGE_LENGTH}`,
      `${ErrorCode.OPEN_MESSAGE}/${OpenMessageError.UNSPECIFIC}`,
    ];
    expect(allowed).toContain(`${n[0]?.code}/${n[0]?.subcode}`);
  });

  it("an UPDATE before the OPEN → FSM Error / unexpected message in OpenSent (RFC 6608)", async () => {
    const upd = Buffer.concat([header(23, MessageType.UPDATE), Buffer.alloc(4)]);
    await expectNotification(upd, { code: ErrorCode.FSM, subcode: FsmError.UNEXPECTED_MESSAGE_IN_OPENSENT });
  });

  it("Established, then an UPDATE whose attribute list overruns it → Malformed Attribute List", async () => {
    // Withdrawn length 0, Total Path Attribute Length 40, but only 3 octets of attributes follow.
    const body = Buffer.concat([u16(0), u16(40), Buffer.of(0x40, 1, 1)]);
    const upd = Buffer.concat([header(19 + body.length, MessageType.UPDATE), body]);
    await expectNotification(
      upd,
      { code: ErrorCode.UPDATE_MESSAGE, subcode: UpdateMessageError.MALFORMED_ATTRIBUTE_LIST },
      [
        { waitType: MessageType.OPEN },
        { send: hex(openBytes({ bgpId: "10.9.9.20" })) },
        { send: hex(encodeMessage({ type: MessageType.KEEPALIVE }, DEFAULT_CODEC_OPTIONS)) },
        { waitType: MessageType.KEEPALIVE },
        { sleepMs: 300 },
      ],
    );
  });

  it("a truncated OPEN, then close: no NOTIFICATION, the session returns to waiting", async () => {
    const { res, msgs, from } = await hostile([
      { waitType: MessageType.OPEN },
      { send: hex(openBytes().subarray(0, 25)) },
      { end: true },
    ]);
    expect(res.closedByPeer).toBe(true);
    expect(notifications(msgs)).toEqual([]);
    await waitFor(async () => (await pg.peerState(from)) === "Active", {
      timeoutMs: 8000,
      what: `${from} back in Active after the truncated OPEN`,
    });
  });

  it("throughout, BIRD stayed Established without a flap and its route stayed in podgate", async () => {
    const p = await pg.peer(BIRD);
    expect(p.state).toBe("Established");
    expect(p.since).toBe(birdSince);
    expect(await bird.neighborState(PG)).toBe("Established");
    const r = await pg.routesFrom(BIRD, BIRD_PREFIX);
    expect(r).toHaveLength(1);
    expect(r[0]).toMatchObject({ nextHop: BIRD, asPath: String(BIRD_AS), communities: ["65001:5"] });
    expect((await bird.routes(4)).map((x) => x.prefix)).toContain("10.9.0.0/24");
    expect(pg.running()).toBe(true);
    // BIRD logged no session reset during the run.
    expect(bird.logs()).not.toMatch(/peer0: (Received|Error):/);
  });
});
