/** IPIP link messages: golden bytes for RTM_NEWLINK/RTM_DELLINK, defaults, validation, route shape. */
import { endianness } from "node:os";
import { describe, expect, it } from "vitest";
import { encodeIpipLinkRequest, ipipRoute } from "../../../src/dataplane/linux/ipip.ts";
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
      nextHops: [{ gateway: "192.0.2.11", ifindex: 7 }],
      table: 254,
      protocol: RTPROT_PODGATE,
      metric: 20,
    });
    expect(() => ipipRoute("10.244.1.0/26", "fd00::1", 7)).toThrow(/IPv4/);
    expect(() => ipipRoute("10.244.1.0/26", "192.0.2.11", 0)).toThrow(/ifindex/);
  });
});
