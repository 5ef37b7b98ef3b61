/** rtnetlink codec: golden bytes for route requests and RTA_MULTIPATH, decode of kernel replies. */
import { endianness } from "node:os";
import { describe, expect, it } from "vitest";
import {
  decodeRoute,
  encodeDumpRequest,
  encodeMultipath,
  encodeRouteRequest,
  NLMSG_HDRLEN,
  parseErrno,
  parseNlMessages,
  setAck,
  setSeq,
} from "../../../src/dataplane/linux/rtnl.ts";
import type { KernelRoute } from "../../../src/dataplane/types.ts";

const hex = (s: string): string => s.replace(/\s+/g, "");

// Netlink is host byte order; the goldens are little-endian (x86-64, arm64).
describe.skipIf(endianness() !== "LE")("rtnl codec", () => {
  it("RTA_MULTIPATH, IPv4: struct rtnexthop {u16 len, u8 flags, u8 hops = weight-1, s32 ifindex} + RTA_GATEWAY", () => {
    const b = encodeMultipath(4, [{ gateway: "10.0.0.2" }, { gateway: "10.0.0.3", ifindex: 3, weight: 2 }]);
    expect(b.toString("hex")).toBe(
      hex(`
        1000 00 00 00000000   0800 0500 0a000002
        1000 00 01 03000000   0800 0500 0a000003`),
    );
  });

  it("RTA_MULTIPATH, IPv6: rtnh_len 28 (8 + RTA_GATEWAY 4+16)", () => {
    const b = encodeMultipath(6, [{ gateway: "fd00::2" }, { gateway: "fd00::3", weight: 256 }]);
    expect(b.toString("hex")).toBe(
      hex(`
        1c00 00 00 00000000   1400 0500 fd000000000000000000000000000002
        1c00 00 ff 00000000   1400 0500 fd000000000000000000000000000003`),
    );
    expect(() => encodeMultipath(6, [{ gateway: "fd00::2", weight: 257 }])).toThrow(/weight/);
  });

  it("RTM_NEWROUTE for table 1000: rtm_table 0 (RT_TABLE_UNSPEC), id in RTA_TABLE", () => {
    const route: KernelRoute = {
      prefix: "10.244.1.0/26",
      family: 4,
      type: "unicast",
      nextHops: [{ gateway: "10.0.0.2" }],
      table: 1000,
      protocol: 201,
      metric: 20,
    };
    const b = encodeRouteRequest("replace", route, { seq: 7 });
    expect(b.toString("hex")).toBe(
      hex(`
        3c000000 1800 0505 07000000 00000000
        02 1a 00 00 00 c9 00 01 00000000
        0800 0f00 e8030000
        0800 0100 0af40100
        0800 0600 14000000
        0800 0500 0a000002`),
    );
  });

  it("RTM_DELROUTE: no next hops, scope NOWHERE (any), protocol set so only ours match", () => {
    const route: KernelRoute = {
      prefix: "fd10::/64",
      family: 6,
      type: "unicast",
      nextHops: [{ gateway: "fd00::2" }, { gateway: "fd00::3" }],
      table: 254,
      protocol: 201,
      metric: 20,
    };
    const b = encodeRouteRequest("delete", route, { seq: 1 });
    expect(b.toString("hex")).toBe(
      hex(`
        40000000 1900 0500 01000000 00000000
        0a 40 00 00 fe c9 ff 01 00000000
        0800 0f00 fe000000
        1400 0100 fd100000000000000000000000000000
        0800 0600 14000000`),
    );
  });

  it("unreachable and blackhole carry no next hop; other types are refused", () => {
    const base = { prefix: "10.250.0.0/16", family: 4 as const, nextHops: [], table: 254, protocol: 201 };
    const u = encodeRouteRequest("replace", { ...base, type: "unreachable" }, { seq: 1 });
    expect(u[NLMSG_HDRLEN + 7]).toBe(7); // RTN_UNREACHABLE
    expect(u.length).toBe(16 + 12 + 8 + 8);
    expect(encodeRouteRequest("replace", { ...base, type: "blackhole" }, { seq: 1 })[NLMSG_HDRLEN + 7]).toBe(
      6,
    );
    expect(() => encodeRouteRequest("replace", { ...base, type: "other" }, { seq: 1 })).toThrow(TypeError);
    expect(() => encodeRouteRequest("replace", { ...base, type: "unicast" }, { seq: 1 })).toThrow(
      /without next hop/,
    );
    expect(() =>
      encodeRouteRequest(
        "replace",
        { ...base, type: "unicast", nextHops: [{ gateway: "fd00::1" }] },
        { seq: 1 },
      ),
    ).toThrow(/not an IPv4/);
  });

  it("setSeq/setAck rewrite the header in place", () => {
    const b = encodeDumpRequest(4, 1);
    expect(b.toString("hex")).toBe(
      hex("1c000000 1a00 0103 01000000 00000000 02 00 00 00 00 00 00 00 00000000"),
    );
    setSeq(b, 0x01020304);
    setAck(b, true);
    expect(b.subarray(6, 12).toString("hex")).toBe("050304030201");
    setAck(b, false);
    expect(b.readUInt16LE(6)).toBe(0x301);
  });

  it("decodes what it encodes (as the kernel echoes it), IPv4 ECMP with weights, table > 255", () => {
    const route: KernelRoute = {
      prefix: "10.244.2.0/26",
      family: 4,
      type: "unicast",
      nextHops: [
        { gateway: "10.0.0.2", ifindex: 3 },
        { gateway: "10.0.0.3", ifindex: 3, weight: 2 },
      ],
      table: 1000,
      protocol: 201,
      metric: 20,
    };
    const msg = encodeRouteRequest("replace", route, { seq: 9 });
    const [m] = parseNlMessages(Buffer.concat([msg, Buffer.alloc(3)]));
    expect(m?.seq).toBe(9);
    expect(decodeRoute(m!.payload)).toEqual(route);
  });

  it("decodes a default route and an NLMSG_ERROR errno", () => {
    const msg = encodeRouteRequest(
      "replace",
      { prefix: "::/0", family: 6, type: "blackhole", nextHops: [], table: 254, protocol: 3 },
      { seq: 2 },
    );
    const d = decodeRoute(msg.subarray(NLMSG_HDRLEN));
    expect(d).toMatchObject({
      prefix: "::/0",
      family: 6,
      type: "blackhole",
      nextHops: [],
      metric: 0,
      protocol: 3,
    });
    const err = Buffer.alloc(4);
    err.writeInt32LE(-101);
    expect(parseErrno(err)).toBe(101);
  });

  it("onlink: RTNH_F_ONLINK in rtm_flags for one hop (with RTA_OIF), in rtnh_flags inside RTA_MULTIPATH", () => {
    const route: KernelRoute = {
      prefix: "10.244.1.0/26",
      family: 4,
      type: "unicast",
      nextHops: [{ gateway: "192.0.2.11", ifindex: 3, onlink: true }],
      table: 254,
      protocol: 201,
      metric: 20,
    };
    expect(encodeRouteRequest("replace", route, { seq: 7 }).toString("hex")).toBe(
      hex(`
        44000000 1800 0505 07000000 00000000
        02 1a 00 00 fe c9 00 01 04000000
        0800 0f00 fe000000
        0800 0100 0af40100
        0800 0600 14000000
        0800 0500 c000020b
        0800 0400 03000000`),
    );
    const ecmp = encodeMultipath(4, [
      { gateway: "192.0.2.11", ifindex: 3, onlink: true },
      { gateway: "192.0.2.12", ifindex: 3 },
    ]);
    expect(ecmp.toString("hex")).toBe(
      hex(`
        1000 04 00 03000000   0800 0500 c000020b
        1000 00 00 03000000   0800 0500 c000020c`),
    );
    // onlink without a device is meaningless to the kernel: refused before sending
    expect(() =>
      encodeRouteRequest(
        "replace",
        { ...route, nextHops: [{ gateway: "192.0.2.11", onlink: true }] },
        { seq: 1 },
      ),
    ).toThrow(/ifindex/);
  });

  it("decodes onlink routes as the kernel dumps them (captured: `ip route add … onlink` in a namespace, kernel 6.18)", () => {
    // 10.244.1.0/26 via 192.0.2.11 dev v0 (ifindex 3) onlink proto 201 metric 20
    const one = Buffer.from(
      "021a0000fec900010400000008000f00fe000000080001000af40100080006001400000008000500c000020b0800040003000000",
      "hex",
    );
    // 10.244.2.0/26 nexthop via 192.0.2.11 dev v0 onlink nexthop via 192.0.2.12 dev v0 onlink
    const two = Buffer.from(
      "021a0000fec900010000000008000f00fe000000080001000af40200080006001400000024000900100004000300000008000500c000020b100004000300000008000500c000020c",
      "hex",
    );
    expect(decodeRoute(one)).toEqual({
      prefix: "10.244.1.0/26",
      family: 4,
      type: "unicast",
      nextHops: [{ gateway: "192.0.2.11", ifindex: 3, onlink: true }],
      table: 254,
      protocol: 201,
      metric: 20,
    });
    expect(decodeRoute(two)?.nextHops).toEqual([
      { gateway: "192.0.2.11", ifindex: 3, onlink: true },
      { gateway: "192.0.2.12", ifindex: 3, onlink: true },
    ]);
  });
});
