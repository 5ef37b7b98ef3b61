/**
 * Golden vectors: messages captured from BIRD 2 (test/fixtures/bgp/README.md) and hand-built
 * from RFC figures, decoded to exact values and re-encoded to the exact same bytes.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  type CodecOptions,
  DEFAULT_CODEC_OPTIONS,
  decodeMessage,
  encodeMessage,
  encodeUpdates,
  isEndOfRib,
  negotiateSession,
  type OpenMessage,
  type UpdateMessage,
  validateOpen,
} from "../../../../src/bgp/wire/index.ts";
import { h, msg } from "./builder.ts";

const fixture = (name: string): Buffer =>
  h(readFileSync(new URL(`../../../fixtures/bgp/${name}`, import.meta.url), "utf8"));

const ADDPATH_V4: CodecOptions = {
  fourOctetAs: true,
  addPathReceive: new Set(["1/1"]),
  addPathSend: new Set(["1/1"]),
};

describe("BIRD 2.0.12 captures", () => {
  it("OPEN with ADD-PATH, graceful restart, LLGR", () => {
    const buf = fixture("bird-open-addpath-gr.hex");
    const m = decodeMessage(buf, DEFAULT_CODEC_OPTIONS) as OpenMessage;
    expect(m).toEqual({
      type: 1,
      version: 4,
      myAs: 64512,
      holdTime: 240,
      bgpId: "192.0.2.10",
      capabilities: {
        multiprotocol: [{ afi: 1, safi: 1 }],
        routeRefresh: true,
        enhancedRouteRefresh: true,
        fourOctetAs: 64512,
        gracefulRestart: {
          restartState: false,
          restartTime: 120,
          families: [{ afi: 1, safi: 1, forwardingState: false }],
        },
        addPath: [{ afi: 1, safi: 1, mode: 3 }],
        // LLGR (RFC 9494): IPv4 unicast, flags 0, stale time 3600 s.
        others: [{ code: 71, value: h("00010100000e10") }],
      },
    });
    expect(() => validateOpen(m, { peerAs: 64512, localBgpId: "192.0.2.20" })).not.toThrow();
    // Our encoder writes capabilities in its own order; decoding that gives the same value.
    expect(decodeMessage(encodeMessage(m, DEFAULT_CODEC_OPTIONS), DEFAULT_CODEC_OPTIONS)).toEqual(m);
  });

  it("negotiates with BIRD's OPEN like calico-node does", () => {
    const bird = decodeMessage(fixture("bird-open-addpath-gr.hex"), DEFAULT_CODEC_OPTIONS) as OpenMessage;
    const ours: OpenMessage = {
      type: 1,
      version: 4,
      myAs: 64512,
      holdTime: 90,
      bgpId: "192.0.2.20",
      capabilities: {
        multiprotocol: [
          { afi: 1, safi: 1 },
          { afi: 2, safi: 1 },
        ],
        routeRefresh: true,
        enhancedRouteRefresh: false,
        fourOctetAs: 64512,
        gracefulRestart: { restartState: false, restartTime: 120, families: [] },
        addPath: [{ afi: 1, safi: 1, mode: 1 }],
        others: [],
      },
    };
    const s = negotiateSession(ours, bird, false);
    expect(s.families).toEqual([{ afi: 1, safi: 1 }]);
    expect(s.holdTime).toBe(90);
    expect(s.peerAs).toBe(64512);
    expect(s.routeRefresh).toBe(true);
    expect(s.enhancedRouteRefresh).toBe(false);
    expect([...s.codec.addPathReceive]).toEqual(["1/1"]);
    expect([...s.codec.addPathSend]).toEqual([]);
    expect(s.codec.fourOctetAs).toBe(true);
    expect(s.gracefulRestart?.restartTime).toBe(120);
  });

  it("KEEPALIVE", () => {
    expect(decodeMessage(fixture("bird-keepalive.hex"), DEFAULT_CODEC_OPTIONS)).toEqual({ type: 4 });
    expect(encodeMessage({ type: 4 }, DEFAULT_CODEC_OPTIONS)).toEqual(fixture("bird-keepalive.hex"));
  });

  it("UPDATE with ADD-PATH path ids, re-encoded byte for byte", () => {
    const buf = fixture("bird-update-addpath-ibgp.hex");
    const m = decodeMessage(buf, ADDPATH_V4) as UpdateMessage;
    expect(m).toEqual({
      type: 2,
      withdrawn: [],
      attributes: { origin: 0, asPath: [], nextHop: "192.0.2.10", localPref: 100 },
      nlri: [
        { prefix: { afi: 1, addr: "10.244.1.0", len: 26 }, pathId: 2 },
        { prefix: { afi: 1, addr: "10.244.1.64", len: 26 }, pathId: 2 },
      ],
    });
    expect(encodeMessage(m, ADDPATH_V4)).toEqual(buf);
    expect(encodeUpdates(m, ADDPATH_V4)).toEqual([buf]);
  });

  it("UPDATE with MED, communities, large communities, re-encoded byte for byte", () => {
    const buf = fixture("bird-update-communities.hex");
    const m = decodeMessage(buf, ADDPATH_V4) as UpdateMessage;
    expect(m.attributes).toEqual({
      origin: 0,
      asPath: [],
      nextHop: "192.0.2.10",
      med: 50,
      localPref: 100,
      communities: [64512 * 65536 + 100],
      largeCommunities: [[64512, 1, 2]],
    });
    expect(m.nlri).toEqual([{ prefix: { afi: 1, addr: "172.16.0.0", len: 16 }, pathId: 2 }]);
    expect(encodeMessage(m, ADDPATH_V4)).toEqual(buf);
  });

  it("End-of-RIB", () => {
    const m = decodeMessage(fixture("bird-eor-ipv4.hex"), ADDPATH_V4) as UpdateMessage;
    expect(isEndOfRib(m)).toEqual({ afi: 1, safi: 1 });
    expect(m.errors).toBeUndefined();
  });
});

describe("hand-built vectors (RFC figures)", () => {
  it("RFC 4271 §4.2 OPEN with one capabilities parameter (RFC 5492 / RFC 6793 AS 4200000000)", () => {
    const buf = msg(
      1,
      `
      04 5ba0 00b4 c0000201 08
      02 06 41 04 fa56ea00`,
    );
    const m = decodeMessage(buf, DEFAULT_CODEC_OPTIONS) as OpenMessage;
    expect(m.myAs).toBe(23456);
    expect(m.holdTime).toBe(180);
    expect(m.capabilities.fourOctetAs).toBe(4200000000);
    expect(encodeMessage(m, DEFAULT_CODEC_OPTIONS)).toEqual(buf);
  });

  it("RFC 9072 extended optional parameters decode", () => {
    const buf = msg(
      1,
      `
      04 fde9 005a c0000201 ff
      ff 0009 02 0006 41 04 0000fde9`,
    );
    const m = decodeMessage(buf, DEFAULT_CODEC_OPTIONS) as OpenMessage;
    expect(m.capabilities.fourOctetAs).toBe(65001);
  });

  it("RFC 4724 graceful restart capability with restart state and two families", () => {
    const buf = msg(
      1,
      `
      04 fde9 005a c0000201 0e
      02 0c 40 0a 8078 0001 01 80 0002 01 00`,
    );
    const m = decodeMessage(buf, DEFAULT_CODEC_OPTIONS) as OpenMessage;
    expect(m.capabilities.gracefulRestart).toEqual({
      restartState: true,
      restartTime: 120,
      families: [
        { afi: 1, safi: 1, forwardingState: true },
        { afi: 2, safi: 1, forwardingState: false },
      ],
    });
    expect(encodeMessage(m, DEFAULT_CODEC_OPTIONS)).toEqual(buf);
  });

  it("old route refresh code 128 counts as route refresh", () => {
    const buf = h(`ffffffffffffffffffffffffffffffff 001f 01 04 fde9 005a c0000201 02 02 00`);
    const bad = Buffer.from(buf);
    bad.writeUInt16BE(33, 16);
    const m = decodeMessage(
      Buffer.concat([bad.subarray(0, 28), h("04 02 02 80 00")]).fill(0x04, 28, 29),
      DEFAULT_CODEC_OPTIONS,
    ) as OpenMessage;
    expect(m.capabilities.routeRefresh).toBe(true);
  });

  it("RFC 4271 §4.5 NOTIFICATION Cease/Administrative Shutdown with RFC 9003 text", () => {
    const buf = h("ffffffffffffffffffffffffffffffff 001a 03 06 02 04 6d61696e");
    expect(decodeMessage(buf, DEFAULT_CODEC_OPTIONS)).toEqual({
      type: 3,
      code: 6,
      subcode: 2,
      data: h("04 6d61696e"),
    });
  });

  it("RFC 7313 ROUTE-REFRESH BoRR for IPv6 unicast", () => {
    const buf = h("ffffffffffffffffffffffffffffffff 0017 05 0002 01 01");
    const m = decodeMessage(buf, DEFAULT_CODEC_OPTIONS);
    expect(m).toEqual({ type: 5, afi: 2, subtype: 1, safi: 1 });
    expect(encodeMessage(m, DEFAULT_CODEC_OPTIONS)).toEqual(buf);
  });

  it("RFC 4760 MP_REACH_NLRI with global + link-local next hop (RFC 2545)", () => {
    const buf = msg(
      2,
      `0000 0046
      90 0e 0035 0002 01 20 20010db8000000000000000000000001 fe800000000000000000000000000001 00
        40 20010db800000001 30 20010db80002
      40 01 01 00
      40 02 06 02 01 0000fde9`,
    );
    const m = decodeMessage(buf, DEFAULT_CODEC_OPTIONS) as UpdateMessage;
    expect(m.attributes.mpReach).toEqual({
      afi: 2,
      safi: 1,
      nextHop: "2001:db8::1",
      linkLocalNextHop: "fe80::1",
      nlri: [
        { prefix: { afi: 2, addr: "2001:db8:0:1::", len: 64 } },
        { prefix: { afi: 2, addr: "2001:db8:2::", len: 48 } },
      ],
    });
    expect(m.errors).toBeUndefined();
    // The packer produces the same message (MP_REACH first, extended length).
    expect(
      encodeUpdates({ nlri: m.attributes.mpReach!.nlri, attributes: m.attributes }, DEFAULT_CODEC_OPTIONS),
    ).toEqual([buf]);
  });
});
