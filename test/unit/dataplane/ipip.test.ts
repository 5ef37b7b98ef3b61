/** IPIP link messages: golden bytes for RTM_NEWLINK/RTM_DELLINK, defaults, validation, route shape. */

import { readFileSync } from "node:fs";
import { endianness } from "node:os";
import { describe, expect, it } from "vitest";
import {
  decodeLink,
  encodeGetLinkRequest,
  encodeIpipLinkRequest,
  encodeLinkSetRequest,
  ipipRoute,
} from "../../../src/dataplane/linux/ipip.ts";
import { RTPROT_PODGATE } from "../../../src/dataplane/types.ts";

const hex = (s: string): string => s.replace(/\s+/g, "");

// Netlink is host byte order; the goldens are little-endian (x86-64, arm64).
describe.skipIf(endianness() !== "LE")("ipip link codec", () => {
  it("RTM_NEWLINK create: ifname, mtu, linkinfo{kind ipip, data{local, ttl, pmtudisc}}", () => {
    const b = encodeIpipLinkRequest("create", {
      name: "tunl7",
      local: "192.0.2.1",
      ttl: 64,
      mtu: 1400,
      seq: 1,
    });
    expect(b.toString("hex")).toBe(
      hex(
        `
        5c000000 1000 0506 01000000 00000000      // nlmsghdr: len 92, RTM_NEWLINK 16, REQUEST|ACK|EXCL|CREATE 0x605, seq 1
        00 00 0000 00000000 00000000 00000000     // ifinfomsg: AF_UNSPEC, all zero
        0a00 0300 74756e6c3700 0000               // IFLA_IFNAME 3 "tunl7\\0" (+2 pad)
        0800 0400 78050000                        // IFLA_MTU 4 = 1400
        2800 1200                                 // IFLA_LINKINFO 18, len 40
          0800 0100 69706970                      // IFLA_INFO_KIND 1 "ipip"
          1c00 0200                               // IFLA_INFO_DATA 2, len 28
            0800 0200 c0000201                    // IFLA_IPTUN_LOCAL 2 = 192.0.2.1 (network order)
            0500 0400 40 000000                   // IFLA_IPTUN_TTL 4 = 64 (+3 pad)
            0500 0a00 01 000000                   // IFLA_IPTUN_PMTUDISC 10 = 1 (+3 pad)
      `.replace(/\/\/.*$/gm, ""),
      ),
    );
  });

  it("defaults: MTU 1480 (1500 − 20), TTL 0 (inherit), no IFLA_IPTUN_LOCAL without local", () => {
    const b = encodeIpipLinkRequest("create", { name: "tunl7", seq: 2 });
    expect(b.length).toBe(84); // 92 − the 8-byte LOCAL attribute
    expect(b.readUInt32LE(0)).toBe(84);
    expect(b.readUInt32LE(8)).toBe(2);
    // IFLA_MTU right after IFLA_IFNAME (16 + 16 + 12)
    expect(b.subarray(44, 52).toString("hex")).toBe("08000400c8050000");
    // INFO_DATA holds TTL 0 and PMTUDISC 1 only
    expect(b.subarray(64).toString("hex")).toBe(hex("1400 0200 0500 0400 00000000 0500 0a00 01000000"));
  });

  it("RTM_DELLINK by name: REQUEST|ACK, ifinfomsg zero, IFLA_IFNAME only", () => {
    const b = encodeIpipLinkRequest("delete", { name: "tunl7", seq: 3 });
    expect(b.toString("hex")).toBe(
      hex(`2c000000 1100 0500 03000000 00000000
           00000000 00000000 00000000 00000000
           0a00 0300 74756e6c3700 0000`),
    );
  });

  it("refuses names longer than 15 bytes (IFNAMSIZ 16 with the NUL), empty names and bad values", () => {
    expect(() => encodeIpipLinkRequest("create", { name: "a".repeat(16), seq: 1 })).toThrow(/1\.\.15 bytes/);
    expect(() => encodeIpipLinkRequest("delete", { name: "a".repeat(16), seq: 1 })).toThrow(/1\.\.15 bytes/);
    expect(encodeIpipLinkRequest("create", { name: "a".repeat(15), seq: 1 }).length).toBe(92);
    expect(() => encodeIpipLinkRequest("create", { name: "", seq: 1 })).toThrow(/1\.\.15/);
    expect(() => encodeIpipLinkRequest("create", { name: "a/b", seq: 1 })).toThrow(/refuses/);
    expect(() => encodeIpipLinkRequest("create", { name: "t", ttl: 256, seq: 1 })).toThrow(/TTL/);
    expect(() => encodeIpipLinkRequest("create", { name: "t", mtu: 20, seq: 1 })).toThrow(/MTU/);
    expect(() => encodeIpipLinkRequest("create", { name: "t", local: "fd00::1", seq: 1 })).toThrow(/IPv4/);
  });

  it("ipipRoute: block via node on the ipip device, podgate's protocol", () => {
    expect(ipipRoute("10.244.1.0/26", "192.0.2.11", 7)).toEqual({
      prefix: "10.244.1.0/26",
      family: 4,
      type: "unicast",
      nextHops: [{ gateway: "192.0.2.11", ifindex: 7, onlink: true }],
      table: 254,
      protocol: RTPROT_PODGATE,
      metric: 20,
    });
    expect(() => ipipRoute("10.244.1.0/26", "fd00::1", 7)).toThrow(/IPv4/);
    expect(() => ipipRoute("10.244.1.0/26", "192.0.2.11", 0)).toThrow(/ifindex/);
  });

  it("RTM_GETLINK by name: REQUEST|ACK, ifinfomsg zero, IFLA_IFNAME", () => {
    expect(encodeGetLinkRequest("pgipip0", 9).toString("hex")).toBe(
      hex(`2c000000 1200 0500 09000000 00000000
           00000000 00000000 00000000 00000000
           0c00 0300 7067697069703000`),
    );
  });

  it("RTM_NEWLINK set: ifi_index, IFF_UP in flags and change (no other flag touched), IFLA_MTU", () => {
    expect(encodeLinkSetRequest(7, { mtu: 1480, up: true, seq: 4 }).toString("hex")).toBe(
      hex(`28000000 1000 0500 04000000 00000000
           00 00 0000 07000000 01000000 01000000
           0800 0400 c8050000`),
    );
    // down: IFF_UP in change, not in flags
    expect(encodeLinkSetRequest(7, { up: false, seq: 4 }).subarray(24, 32).toString("hex")).toBe(
      "0000000001000000",
    );
    expect(() => encodeLinkSetRequest(0, { up: true, seq: 1 })).toThrow(/ifindex/);
  });

  it("decodes the kernel's RTM_NEWLINK for a veth (captured: `ip -d link show v0`, kernel 6.18, strace -e read=3)", () => {
    const payload = Buffer.from(
      readFileSync(new URL("./fixtures/rtm-newlink-veth.hex", import.meta.url), "utf8").trim(),
      "hex",
    );
    expect(decodeLink(payload)).toEqual({ ifindex: 3, name: "v0", up: true, mtu: 1400, kind: "veth" });
    expect(decodeLink(payload.subarray(0, 8))).toBeUndefined();
  });

  it("decodes an ipip device's local and remote (IFLA_INFO_DATA), remote 0 = any", () => {
    // Our own create request has the layout the kernel uses in its answer (ifinfomsg + the same attributes).
    const req = encodeIpipLinkRequest("create", { name: "pgipip0", local: "192.0.2.1", mtu: 1480, seq: 1 });
    const payload = Buffer.from(req.subarray(16));
    payload.writeInt32LE(12, 4); // ifi_index
    expect(decodeLink(payload)).toEqual({
      ifindex: 12,
      name: "pgipip0",
      up: false,
      mtu: 1480,
      kind: "ipip",
      local: "192.0.2.1",
    });
  });
});
