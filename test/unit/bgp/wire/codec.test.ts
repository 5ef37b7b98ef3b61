/**
 * Round trips for every message and attribute kind, the framer under split and coalesced
 * input, the bulk UPDATE packer, RFC 6793 AS4 handling, prefix helpers and small helpers.
 */
import { describe, expect, it } from "vitest";
import {
  AS_TRANS,
  type BgpMessage,
  BgpNotificationError,
  BufferReader,
  BufferWriter,
  type CodecOptions,
  DEFAULT_CODEC_OPTIONS,
  decodeMessage,
  decodeShutdownCommunication,
  describeNotification,
  encodeMessage,
  encodeShutdownCommunication,
  encodeUpdates,
  endOfRib,
  formatPrefix,
  isEndOfRib,
  keepalive,
  MessageFramer,
  mergeAs4Path,
  type Nlri,
  negotiateSession,
  notification,
  type OpenMessage,
  type PathAttributes,
  parsePrefix,
  prefixContains,
  prefixKey,
  type UpdateMessage,
  validateOpen,
} from "../../../../src/bgp/wire/index.ts";
import { attr, h, msg, update } from "./builder.ts";

const O4 = DEFAULT_CODEC_OPTIONS;
const O2: CodecOptions = { fourOctetAs: false, addPathReceive: new Set(), addPathSend: new Set() };
const n = (p: string, pathId?: number): Nlri =>
  pathId === undefined ? { prefix: parsePrefix(p) } : { prefix: parsePrefix(p), pathId };

const FULL_ATTRS: PathAttributes = {
  origin: 2,
  asPath: [
    { type: 3, asns: [65010] },
    { type: 2, asns: [65001, 4200000000] },
    { type: 1, asns: [65005, 65006] },
    { type: 4, asns: [65011] },
  ],
  nextHop: "192.0.2.1",
  med: 7,
  localPref: 200,
  atomicAggregate: true,
  aggregator: { asn: 4200000001, address: "192.0.2.9" },
  communities: [0xffffff01, 65001 * 65536 + 1],
  originatorId: "192.0.2.5",
  clusterList: ["192.0.2.6", "192.0.2.7"],
  extendedCommunities: [h("0002fde900000064")],
  largeCommunities: [[4200000000, 1, 2]],
  unknown: [{ code: 99, flags: 0xe0, value: h("abcdef") }],
};

describe("message round trips", () => {
  const open: OpenMessage = {
    type: 1,
    version: 4,
    myAs: AS_TRANS,
    holdTime: 240,
    bgpId: "10.0.0.1",
    capabilities: {
      multiprotocol: [
        { afi: 1, safi: 1 },
        { afi: 2, safi: 1 },
      ],
      routeRefresh: true,
      enhancedRouteRefresh: true,
      fourOctetAs: 4200000000,
      gracefulRestart: {
        restartState: true,
        restartTime: 300,
        families: [{ afi: 2, safi: 1, forwardingState: true }],
      },
      addPath: [{ afi: 1, safi: 1, mode: 2 }],
      others: [{ code: 73, value: h("04686f7374 00".replace(" ", "")) }],
    },
  };
  const cases: [string, BgpMessage, CodecOptions][] = [
    ["OPEN with every capability", open, O4],
    [
      "OPEN without capabilities",
      {
        ...open,
        capabilities: {
          ...open.capabilities,
          multiprotocol: [],
          routeRefresh: false,
          enhancedRouteRefresh: false,
          fourOctetAs: undefined,
          gracefulRestart: undefined,
          addPath: [],
          others: [],
        },
      } as OpenMessage,
      O4,
    ],
    ["KEEPALIVE", { type: 4 }, O4],
    ["NOTIFICATION with data", notification(6, 2, encodeShutdownCommunication("maintenance")), O4],
    ["NOTIFICATION without data", notification(4, 0), O4],
    ["ROUTE-REFRESH EoRR", { type: 5, afi: 1, subtype: 2, safi: 1 }, O4],
    [
      "UPDATE with every attribute (4-octet)",
      {
        type: 2,
        withdrawn: [n("10.9.0.0/16")],
        attributes: FULL_ATTRS,
        nlri: [n("10.0.0.0/8"), n("0.0.0.0/0"), n("192.0.2.1/32")],
      },
      O4,
    ],
    [
      "UPDATE with path ids",
      {
        type: 2,
        withdrawn: [n("10.1.0.0/16", 9)],
        attributes: { origin: 0, asPath: [], nextHop: "192.0.2.1" },
        nlri: [n("10.0.0.0/24", 4294967295)],
      },
      { ...O4, addPathReceive: new Set(["1/1"]), addPathSend: new Set(["1/1"]) },
    ],
    [
      "UPDATE with MP_REACH and MP_UNREACH",
      {
        type: 2,
        withdrawn: [],
        attributes: {
          origin: 0,
          asPath: [{ type: 2, asns: [1] }],
          mpUnreach: { afi: 2, safi: 1, withdrawn: [n("2001:db8:5::/48")] },
          mpReach: { afi: 2, safi: 1, nextHop: "2001:db8::1", nlri: [n("::/0"), n("2001:db8::/127")] },
        },
        nlri: [],
      },
      O4,
    ],
    [
      "UPDATE with MP_REACH for IPv4",
      {
        type: 2,
        withdrawn: [],
        attributes: {
          origin: 0,
          asPath: [],
          mpReach: { afi: 1, safi: 1, nextHop: "192.0.2.1", nlri: [n("10.0.0.0/24")] },
        },
        nlri: [],
      },
      O4,
    ],
  ];
  for (const [name, m, opts] of cases) {
    it(name, () => {
      const buf = encodeMessage(m, opts);
      const back = decodeMessage(buf, opts);
      const want =
        m.type === 2
          ? {
              ...m,
              attributes: {
                ...m.attributes,
                unknown: m.attributes.unknown?.map((u) => ({ ...u, flags: u.flags })),
              },
            }
          : m;
      expect(back).toEqual(want);
      expect(encodeMessage(back, opts)).toEqual(buf);
    });
  }

  it("unknown optional transitive attribute is re-encoded with Partial", () => {
    const buf = update({ attrs: [attr(0xc0, 99, "01")] });
    const m = decodeMessage(buf, O4) as UpdateMessage;
    expect(m.attributes.unknown).toEqual([{ code: 99, flags: 0xc0, value: h("01") }]);
    const out = encodeMessage(m, O4);
    expect(out.subarray(23).toString("hex")).toBe("e0630101");
  });

  it("extended length flag: decoded when set on a short value, set on encode for > 255 octets", () => {
    const m = decodeMessage(update({ attrs: [attr(0x40, 1, "00", true)] }), O4) as UpdateMessage;
    expect(m.attributes.origin).toBe(0);
    expect(m.errors).toBeUndefined();
    const communities = Array.from({ length: 70 }, (_, i) => i);
    const buf = encodeMessage({ type: 2, withdrawn: [], nlri: [], attributes: { communities } }, O4);
    expect(buf.subarray(23, 27).toString("hex")).toBe("d0080118");
    expect((decodeMessage(buf, O4) as UpdateMessage).attributes.communities).toEqual(communities);
  });

  it("AS_PATH longer than 255 ASNs is split into segments", () => {
    const asns = Array.from({ length: 300 }, (_, i) => 64512 + i);
    const buf = encodeMessage(
      { type: 2, withdrawn: [], nlri: [], attributes: { asPath: [{ type: 2, asns }] } },
      O4,
    );
    const m = decodeMessage(buf, O4) as UpdateMessage;
    expect(m.attributes.asPath?.map((s) => s.asns.length)).toEqual([255, 45]);
  });

  it("LOCAL_PREF, ORIGINATOR_ID, CLUSTER_LIST are not sent to eBGP peers", () => {
    const buf = encodeMessage(
      {
        type: 2,
        withdrawn: [],
        nlri: [],
        attributes: { localPref: 1, originatorId: "1.1.1.1", clusterList: ["1.1.1.1"], med: 1 },
      },
      { ...O4, ebgp: true },
    );
    expect((decodeMessage(buf, O4) as UpdateMessage).attributes).toEqual({ med: 1 });
  });
});

describe("RFC 6793 on a 2-octet session", () => {
  it("encodes AS_TRANS + AS4_PATH/AS4_AGGREGATOR and decodes back to 4-octet values", () => {
    const attrs: PathAttributes = {
      origin: 0,
      asPath: [
        { type: 3, asns: [65010] },
        { type: 2, asns: [65001, 4200000000, 65002] },
      ],
      nextHop: "192.0.2.1",
      aggregator: { asn: 4200000001, address: "192.0.2.9" },
    };
    const buf = encodeMessage({ type: 2, withdrawn: [], attributes: attrs, nlri: [n("10.0.0.0/8")] }, O2);
    const hex = buf.toString("hex");
    expect(hex).toContain("40020c03 01 fdf2 02 03 fde9 5ba0 fdea".replace(/ /g, "")); // AS_PATH with AS_TRANS
    expect(hex).toContain("c0070 6 5ba0 c0000209".replace(/ /g, "")); // AGGREGATOR AS_TRANS
    expect(hex).toContain("c0110e 02 03 0000fde9 fa56ea00 0000fdea".replace(/ /g, "")); // AS4_PATH without confed
    expect(hex).toContain("c01208 fa56ea01 c0000209".replace(/ /g, "")); // AS4_AGGREGATOR
    const m = decodeMessage(buf, O2) as UpdateMessage;
    expect(m.attributes).toEqual(attrs);
    expect(m.errors).toBeUndefined();
  });

  it("no AS4_PATH when every ASN fits 2 octets", () => {
    const buf = encodeMessage(
      { type: 2, withdrawn: [], nlri: [], attributes: { asPath: [{ type: 2, asns: [1, 2] }] } },
      O2,
    );
    expect(buf.subarray(23).toString("hex")).toBe("400206020200010002");
  });

  it("AS4_AGGREGATOR and AS4_PATH ignored when AGGREGATOR is not AS_TRANS", () => {
    const buf = update({
      attrs: [
        attr(0x40, 2, "02 02 fde9 5ba0"),
        attr(0xc0, 7, "fdea c0000209"),
        attr(0xc0, 17, "02 01 fa56ea00"),
        attr(0xc0, 18, "fa56ea01 c0000209"),
      ],
    });
    const m = decodeMessage(buf, O2) as UpdateMessage;
    expect(m.attributes.asPath).toEqual([{ type: 2, asns: [65001, AS_TRANS] }]);
    expect(m.attributes.aggregator).toEqual({ asn: 65002, address: "192.0.2.9" });
    expect(m.errors?.map((e) => e.handling)).toEqual(["attribute-discard"]);
  });

  it("mergeAs4Path follows §4.2.3 (AS_SET counts 1, confed 0, longer AS4_PATH ignored)", () => {
    expect(
      mergeAs4Path(
        [
          { type: 3, asns: [1] },
          { type: 2, asns: [2, 23456, 23456] },
          { type: 1, asns: [3, 4] },
        ],
        [
          { type: 2, asns: [70000, 70001] },
          { type: 1, asns: [3, 4] },
        ],
      ),
    ).toEqual([
      { type: 3, asns: [1] },
      { type: 2, asns: [2, 70000, 70001] },
      { type: 1, asns: [3, 4] },
    ]);
    const short = [{ type: 2 as const, asns: [1] }];
    expect(mergeAs4Path(short, [{ type: 2, asns: [70000, 70001] }])).toEqual(short);
  });
});

describe("MessageFramer", () => {
  const stream = [
    keepalive(),
    encodeMessage(notification(6, 2, encodeShutdownCommunication("bye")), O4),
    encodeMessage({ type: 2, withdrawn: [], attributes: FULL_ATTRS, nlri: [n("10.0.0.0/8")] }, O4),
    encodeMessage({ type: 5, afi: 2, subtype: 0, safi: 1 }, O4),
  ];
  const all = Buffer.concat(stream);

  it("returns every message whatever single split point the stream has", () => {
    for (let cut = 0; cut <= all.length; cut++) {
      const f = new MessageFramer();
      const got = [...f.push(all.subarray(0, cut)), ...f.push(all.subarray(cut))];
      expect(got).toEqual(stream);
      expect(f.buffered).toBe(0);
    }
  });

  it("handles a stream fed one octet at a time", () => {
    const f = new MessageFramer();
    const got: Buffer[] = [];
    for (let i = 0; i < all.length; i++) got.push(...f.push(all.subarray(i, i + 1)));
    expect(got).toEqual(stream);
  });

  it("returns many coalesced messages from one chunk", () => {
    const many = Buffer.concat(Array.from({ length: 500 }, () => all));
    const got = new MessageFramer().push(many);
    expect(got.length).toBe(2000);
    expect(got[1999]).toEqual(stream[3]);
  });

  it("fails on a bad marker as soon as it is seen, and stays failed", () => {
    const f = new MessageFramer();
    f.push(keepalive().subarray(0, 5));
    const bad = Buffer.alloc(3, 0);
    expect(() => f.push(bad)).toThrow(BgpNotificationError);
    expect(() => f.push(keepalive())).toThrow(BgpNotificationError);
  });

  it("rejects a length over 4096 with the length as data", () => {
    const f = new MessageFramer();
    try {
      f.push(msg(2, "", 5000).subarray(0, 19));
      expect.unreachable();
    } catch (e) {
      expect((e as BgpNotificationError).subcode).toBe(2);
      expect((e as BgpNotificationError).data.toString("hex")).toBe("1388");
    }
  });
});

describe("encodeUpdates packer", () => {
  const attrs: PathAttributes = {
    origin: 0,
    asPath: [{ type: 2, asns: [65001] }],
    nextHop: "192.0.2.1",
    communities: [1],
  };
  const v4 = Array.from({ length: 5000 }, (_, i) => n(`10.${i >> 8}.${i & 255}.0/24`));

  it("packs IPv4 NLRI into full messages of at most 4096 octets and loses nothing", () => {
    const msgs = encodeUpdates({ attributes: attrs, nlri: v4 }, O4);
    // 4096 - 23 - attrs(27) = 4046 octets of room, 4 octets per /24: 1011 per message.
    expect(msgs.length).toBe(Math.ceil(5000 / 1011));
    const got: Nlri[] = [];
    for (const m of msgs) {
      expect(m.length).toBeLessThanOrEqual(4096);
      const u = decodeMessage(m, O4) as UpdateMessage;
      expect(u.attributes).toEqual(attrs);
      got.push(...u.nlri);
    }
    expect(got).toEqual(v4);
    expect(msgs[0]!.length).toBe(23 + 27 + 1011 * 4);
  });

  it("puts withdrawals first and fills the last withdrawal message with announcements", () => {
    const msgs = encodeUpdates(
      { withdrawn: v4.slice(0, 100), attributes: attrs, nlri: v4.slice(100, 300) },
      O4,
    );
    expect(msgs.length).toBe(1);
    const u = decodeMessage(msgs[0]!, O4) as UpdateMessage;
    expect(u.withdrawn).toEqual(v4.slice(0, 100));
    expect(u.nlri).toEqual(v4.slice(100, 300));
  });

  it("withdraw-only messages carry no attributes", () => {
    const msgs = encodeUpdates({ withdrawn: v4, attributes: attrs }, O4);
    for (const m of msgs) expect((decodeMessage(m, O4) as UpdateMessage).attributes).toEqual({});
    // 4096 - 23 = 4073 octets, 4 per /24: 1018 per message.
    expect(msgs.length).toBe(Math.ceil(5000 / 1018));
  });

  it("IPv6 goes into MP_UNREACH / MP_REACH messages with the shared attributes", () => {
    const v6 = Array.from({ length: 1000 }, (_, i) => n(`2001:db8:${i.toString(16)}::/48`));
    const msgs = encodeUpdates(
      {
        withdrawn: v6.slice(0, 500),
        attributes: {
          ...attrs,
          nextHop: "2001:db8::1",
          mpReach: { afi: 2, safi: 1, nextHop: "2001:db8::1", linkLocalNextHop: "fe80::1", nlri: [] },
        },
        nlri: v6.slice(500),
      },
      { ...O4, addPathSend: new Set(["2/1"]) },
    );
    const rx = { ...O4, addPathReceive: new Set(["2/1"]) };
    const withdrawn: Nlri[] = [];
    const announced: Nlri[] = [];
    for (const m of msgs) {
      expect(m.length).toBeLessThanOrEqual(4096);
      const u = decodeMessage(m, rx) as UpdateMessage;
      expect(u.errors).toBeUndefined();
      withdrawn.push(...(u.attributes.mpUnreach?.withdrawn ?? []));
      if (u.attributes.mpReach) {
        expect(u.attributes.mpReach.linkLocalNextHop).toBe("fe80::1");
        expect(u.attributes.nextHop).toBeUndefined();
        expect(u.attributes.communities).toEqual([1]);
        announced.push(...u.attributes.mpReach.nlri);
      }
    }
    expect(withdrawn).toEqual(v6.slice(0, 500).map((x) => ({ ...x, pathId: 0 })));
    expect(announced).toEqual(v6.slice(500).map((x) => ({ ...x, pathId: 0 })));
  });

  it("returns no message for nothing; endOfRib makes EoR markers", () => {
    expect(encodeUpdates({}, O4)).toEqual([]);
    expect(isEndOfRib(decodeMessage(endOfRib({ afi: 1, safi: 1 }, O4), O4) as UpdateMessage)).toEqual({
      afi: 1,
      safi: 1,
    });
    expect(isEndOfRib(decodeMessage(endOfRib({ afi: 2, safi: 1 }, O4), O4) as UpdateMessage)).toEqual({
      afi: 2,
      safi: 1,
    });
  });
});

describe("prefix helpers", () => {
  it("parses, canonicalises and formats", () => {
    expect(parsePrefix("10.1.2.0/24")).toEqual({ afi: 1, addr: "10.1.2.0", len: 24 });
    expect(parsePrefix("192.0.2.7")).toEqual({ afi: 1, addr: "192.0.2.7", len: 32 });
    expect(parsePrefix("2001:DB8:0:0::/64")).toEqual({ afi: 2, addr: "2001:db8::", len: 64 });
    expect(formatPrefix(parsePrefix("2001:db8:0:0:1:0:0:0/128"))).toBe("2001:db8:0:0:1::/128");
    expect(formatPrefix(parsePrefix("2001:0:0:1::/64"))).toBe("2001:0:0:1::/64");
    expect(formatPrefix(parsePrefix("::ffff:192.0.2.1/128"))).toBe("::ffff:192.0.2.1/128");
    expect(formatPrefix(parsePrefix("1:0:0:2:0:0:0:3/128"))).toBe("1:0:0:2::3/128");
    expect(formatPrefix(parsePrefix("1:0:2:3:4:5:6:7/128"))).toBe("1:0:2:3:4:5:6:7/128");
    expect(prefixKey(parsePrefix("10.0.0.0/8"))).toBe("10.0.0.0/8");
  });

  it("throws on bad input and on host bits", () => {
    for (const bad of [
      "10.0.0.1/24",
      "2001:db8::1/64",
      "10.0.0.0/33",
      "10.0.0/8",
      "010.0.0.0/8",
      "x/8",
      "10.0.0.0/",
      "::/129",
      "256.0.0.0/8",
    ]) {
      expect(() => parsePrefix(bad), bad).toThrow();
    }
  });

  it("prefixContains", () => {
    const p = parsePrefix;
    expect(prefixContains(p("10.0.0.0/8"), p("10.1.2.0/24"))).toBe(true);
    expect(prefixContains(p("10.0.0.0/8"), p("10.0.0.0/8"))).toBe(true);
    expect(prefixContains(p("10.0.0.0/8"), p("11.0.0.0/24"))).toBe(false);
    expect(prefixContains(p("10.1.0.0/16"), p("10.0.0.0/8"))).toBe(false);
    expect(prefixContains(p("0.0.0.0/0"), p("192.0.2.1/32"))).toBe(true);
    expect(prefixContains(p("2001:db8::/32"), p("2001:db8:ff::/48"))).toBe(true);
    expect(prefixContains(p("2001:db8::/32"), p("2001:db9::/48"))).toBe(false);
    expect(prefixContains(p("::/0"), p("10.0.0.0/8"))).toBe(false);
  });

  it("clears host bits received on the wire", () => {
    const m = decodeMessage(update({ attrs: [], withdrawn: "17 0a00ff" }), O4) as UpdateMessage;
    expect(m.withdrawn[0]!.prefix).toEqual({ afi: 1, addr: "10.0.254.0", len: 23 });
  });
});

describe("negotiateSession and validateOpen", () => {
  const base: OpenMessage = {
    type: 1,
    version: 4,
    myAs: 65001,
    holdTime: 90,
    bgpId: "192.0.2.1",
    capabilities: {
      multiprotocol: [],
      routeRefresh: false,
      enhancedRouteRefresh: false,
      addPath: [],
      others: [],
    },
  };
  const withCaps = (c: Partial<OpenMessage["capabilities"]>, o: Partial<OpenMessage> = {}): OpenMessage => ({
    ...base,
    ...o,
    capabilities: { ...base.capabilities, ...c },
  });

  it("no MP capability on one side means IPv4 unicast only (RFC 4760 §8)", () => {
    const s = negotiateSession(
      withCaps({
        multiprotocol: [
          { afi: 1, safi: 1 },
          { afi: 2, safi: 1 },
        ],
      }),
      base,
      true,
    );
    expect(s.families).toEqual([{ afi: 1, safi: 1 }]);
    expect(s.codec.fourOctetAs).toBe(false);
    expect(s.peerAs).toBe(65001);
    expect(s.codec.ebgp).toBe(true);
  });

  it("ADD-PATH directions (RFC 7911 §4) and min hold time", () => {
    const local = withCaps(
      { addPath: [{ afi: 1, safi: 1, mode: 3 }], fourOctetAs: 65001 },
      { holdTime: 240 },
    );
    const recvOnlyPeer = withCaps(
      { addPath: [{ afi: 1, safi: 1, mode: 1 }], fourOctetAs: 4200000000 },
      { myAs: AS_TRANS, holdTime: 3 },
    );
    const s = negotiateSession(local, recvOnlyPeer, false);
    expect([...s.codec.addPathSend]).toEqual(["1/1"]);
    expect([...s.codec.addPathReceive]).toEqual([]);
    expect(s.holdTime).toBe(3);
    expect(s.peerAs).toBe(4200000000);
    expect(s.codec.fourOctetAs).toBe(true);
    const sendPeer = withCaps({ addPath: [{ afi: 1, safi: 1, mode: 2 }] });
    expect([...negotiateSession(local, sendPeer, false).codec.addPathReceive]).toEqual(["1/1"]);
    // A family that is not negotiated gets no path ids.
    const v6Peer = withCaps({
      multiprotocol: [{ afi: 2, safi: 1 }],
      addPath: [{ afi: 1, safi: 1, mode: 3 }],
    });
    expect(negotiateSession(local, v6Peer, false).codec.addPathSend.size).toBe(0);
  });

  it("validateOpen accepts good OPENs", () => {
    expect(() => validateOpen(base, { peerAs: 65001, localBgpId: "192.0.2.2" })).not.toThrow();
    expect(() => validateOpen({ ...base, holdTime: 0 }, { localBgpId: "192.0.2.2" })).not.toThrow();
    // eBGP peers may share our identifier (RFC 6286 §2.1).
    expect(() => validateOpen(base, { localBgpId: "192.0.2.1", ebgp: true })).not.toThrow();
    const as4 = withCaps({ fourOctetAs: 4200000000 }, { myAs: AS_TRANS });
    expect(() => validateOpen(as4, { peerAs: 4200000000, localBgpId: "192.0.2.2" })).not.toThrow();
  });
});

describe("small helpers", () => {
  it("describeNotification", () => {
    expect(describeNotification(6, 2)).toBe("Cease/Administrative Shutdown");
    expect(describeNotification(4, 0)).toBe("Hold Timer Expired");
    expect(describeNotification(3, 11)).toBe("UPDATE Message Error/Malformed AS_PATH");
    expect(describeNotification(7, 1)).toBe("ROUTE-REFRESH Message Error/Invalid Message Length");
    expect(describeNotification(6, 42)).toBe("Cease/subcode 42");
    expect(describeNotification(99, 1)).toBe("error 99/subcode 1");
  });

  it("RFC 9003 shutdown communication: round trip, truncation on a UTF-8 boundary, malformed", () => {
    expect(decodeShutdownCommunication(encodeShutdownCommunication("upgrade to 2.1 ✓"))).toBe(
      "upgrade to 2.1 ✓",
    );
    const long = encodeShutdownCommunication("é".repeat(200)); // 400 octets
    expect(long[0]).toBe(254);
    expect(long.length).toBe(255);
    expect(decodeShutdownCommunication(long)).toBe("é".repeat(127));
    expect(encodeShutdownCommunication("a".repeat(300))[0]).toBe(255);
    expect(decodeShutdownCommunication(Buffer.alloc(0))).toBeUndefined();
    expect(decodeShutdownCommunication(h("05 6162"))).toBeUndefined();
    expect(decodeShutdownCommunication(h("02 c328"))).toBeUndefined();
  });

  it("BufferReader throws the error its caller chose; BufferWriter grows", () => {
    const err = () => new BgpNotificationError(3, 1);
    const r = new BufferReader(h("0102030405"), err, 1, 4);
    expect(r.u16()).toBe(0x0203);
    expect(r.remaining).toBe(1);
    expect(() => r.u16()).toThrow(BgpNotificationError);
    expect(r.u8()).toBe(4);
    expect(r.atEnd).toBe(true);
    const w = new BufferWriter(1);
    for (let i = 0; i < 100; i++) w.u32(i);
    expect(w.length).toBe(400);
    expect(w.toBuffer().readUInt32BE(396)).toBe(99);
  });

  it("keepalive is the 19-octet constant", () => {
    expect(keepalive().toString("hex")).toBe(`${"ff".repeat(16)}001304`);
  });
});
