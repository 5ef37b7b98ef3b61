/**
 * The pure half of the WireGuard tunnels (src/dataplane/tunnels.ts): `wg show dump` parsing
 * (the private key is dropped), the liveness rule, the desired → steps planner (a peer-only
 * change never creates or deletes the interface) and the argv it yields, MTU default, secret
 * scrubbing; and `podgate wg genkey|pubkey` against the real `wg`.
 */
import { describe, expect, it } from "vitest";
import {
  defaultTunnelMtu,
  parseEndpoint,
  parseWgDump,
  peerState,
  planInterface,
  scrubSecrets,
  stepArgv,
  type WgInterfaceDesired,
  type WgObserved,
} from "../../../src/dataplane/tunnels.ts";
import { runWg } from "../../../src/dataplane/wg-cli.ts";
import { missingPrereqs } from "../../helpers/prereq.ts";

// Made-up keys (base64 of 32 bytes), not used anywhere real.
const PRIV = "YC9yfvMLzqCIgqdhwz4WU/GltsbwsNtvTN0Pfa7yHFY=";
const PUB = "EHp9i6YzGqVZIDEsW37o6QVz2R64HATlLWI9anHzQ00=";
const PEER_A = "kdugCwx0fEeUbAHNQvdcgnbxrjjIdcVCHgeRx3WEOnU=";
const PEER_B = "OqJtM6IFlL1KJ57CObrGOwRvs1qAb+x2aAxQ5FW1+BQ=";
const PSK = "mNzMNaErNHAWdD2gn1g0kAyxbo/A35oMZdknrN6xR0g=";

// Real `wg show IF dump` shape (tab separated), as printed by wireguard-tools 1.0.20210914.
const DUMP = [
  [PRIV, PUB, "51820", "off"],
  [PEER_A, "(none)", "198.51.100.2:51820", "10.200.0.2/32,10.244.0.0/16", "1700000000", "1234", "5678", "25"],
  [PEER_B, PSK, "(none)", "(none)", "0", "0", "0", "off"],
]
  .map((f) => f.join("\t"))
  .join("\n");

describe("parseWgDump", () => {
  it("reads interface and peers and drops private and preshared keys", () => {
    const d = parseWgDump(`${DUMP}\n`);
    expect(d).toEqual({
      publicKey: PUB,
      listenPort: 51820,
      peers: [
        {
          publicKey: PEER_A,
          endpoint: "198.51.100.2:51820",
          allowedIPs: ["10.200.0.2/32", "10.244.0.0/16"],
          latestHandshake: 1700000000,
          rxBytes: 1234,
          txBytes: 5678,
          persistentKeepalive: 25,
        },
        { publicKey: PEER_B, allowedIPs: [], latestHandshake: 0, rxBytes: 0, txBytes: 0 },
      ],
    });
    expect(JSON.stringify(d)).not.toContain(PRIV);
    expect(JSON.stringify(d)).not.toContain(PSK);
  });

  it("rejects garbage", () => {
    expect(() => parseWgDump("")).toThrow(/interface line/);
    expect(() => parseWgDump(`${PRIV}\t${PUB}\t1\toff\nshort\tline`)).toThrow(/peer line 1/);
  });
});

describe("peerState", () => {
  it("is down without any handshake, up within the timeout, down after it", () => {
    expect(peerState(0, undefined, 1000, 180)).toBe("down");
    expect(peerState(900, undefined, 1000, 180)).toBe("up");
    expect(peerState(800, undefined, 1000, 180)).toBe("down");
  });
  it("counts received bytes (keepalives) seen since the handshake", () => {
    expect(peerState(800, 990, 1000, 180)).toBe("up");
    expect(peerState(800, 810, 1000, 180)).toBe("down");
  });
});

describe("planInterface", () => {
  const desired: WgInterfaceDesired = {
    name: "wg-office",
    privateKeyFile: "/etc/podgate/wg.key",
    listenPort: 51820,
    address: ["10.200.0.1/30"],
    peers: [
      {
        publicKey: PEER_A,
        endpoint: "198.51.100.2:51820",
        allowedIPs: ["10.200.0.2/32", "10.244.0.0/16"],
        persistentKeepalive: 25,
      },
    ],
  };
  const observed: WgObserved = {
    mtu: 1420,
    up: true,
    addresses: ["10.200.0.1/30"],
    dump: parseWgDump(DUMP.split("\n").slice(0, 2).join("\n")),
  };
  const base = { desired, observed, desiredPublicKey: PUB, mtu: 1420, lastApplied: desired };

  it("creates and configures a missing interface in order", () => {
    const steps = planInterface({ ...base, observed: undefined, lastApplied: undefined });
    expect(steps.map((s) => s.op)).toEqual([
      "create",
      "private-key",
      "listen-port",
      "addr-add",
      "mtu-up",
      "peer-set",
    ]);
    expect(steps.map((s) => stepArgv("wg-office", s, "/tmp/x/key"))).toEqual([
      ["ip", "link", "add", "wg-office", "type", "wireguard"],
      ["wg", "set", "wg-office", "private-key", "/tmp/x/key"],
      ["wg", "set", "wg-office", "listen-port", "51820"],
      ["ip", "address", "add", "10.200.0.1/30", "dev", "wg-office"],
      ["ip", "link", "set", "wg-office", "mtu", "1420", "up"],
      [
        "wg",
        "set",
        "wg-office",
        "peer",
        PEER_A,
        "allowed-ips",
        "10.200.0.2/32,10.244.0.0/16",
        "endpoint",
        "198.51.100.2:51820",
        "persistent-keepalive",
        "25",
      ],
    ]);
  });

  it("does nothing when the machine matches (a roamed endpoint is not a change)", () => {
    const roamed: WgObserved = {
      ...observed,
      dump: { ...observed.dump, peers: [{ ...observed.dump.peers[0]!, endpoint: "203.0.113.9:40000" }] },
    };
    expect(planInterface({ ...base, observed: roamed })).toEqual([]);
  });

  it("a peer-only change touches only peers: no create, no delete, no key, no link change", () => {
    const next: WgInterfaceDesired = {
      ...desired,
      peers: [
        { ...desired.peers[0]!, allowedIPs: ["10.200.0.2/32", "10.244.0.0/16", "10.96.0.0/12"] },
        { publicKey: PEER_B, allowedIPs: ["10.201.0.0/24"] },
      ],
    };
    const steps = planInterface({ ...base, desired: next });
    expect(steps.map((s) => s.op)).toEqual(["peer-set", "peer-set"]);
    const argv = steps.map((s) => stepArgv("wg-office", s));
    expect(argv.every((a) => a[0] === "wg" && a[1] === "set")).toBe(true);
    expect(argv[1]).toEqual([
      "wg",
      "set",
      "wg-office",
      "peer",
      PEER_B,
      "allowed-ips",
      "10.201.0.0/24",
      "persistent-keepalive",
      "off",
    ]);
  });

  it("removes a peer that is no longer desired with `peer X remove`", () => {
    const steps = planInterface({ ...base, desired: { ...desired, peers: [] } });
    expect(steps).toEqual([{ op: "peer-remove", publicKey: PEER_A }]);
    expect(stepArgv("wg-office", steps[0]!)).toEqual(["wg", "set", "wg-office", "peer", PEER_A, "remove"]);
  });

  it("changes key, port, addresses and MTU in place", () => {
    const steps = planInterface({
      ...base,
      desired: { ...desired, listenPort: 51821, address: ["10.200.9.1/30"] },
      desiredPublicKey: PEER_B,
      mtu: 1380,
    });
    expect(steps.map((s) => s.op)).toEqual(["private-key", "listen-port", "addr-del", "addr-add", "mtu-up"]);
    expect(steps.some((s) => s.op === "create" || s.op === "delete")).toBe(false);
  });

  it("sets a peer again when its configured endpoint changes", () => {
    const moved = { ...desired, peers: [{ ...desired.peers[0]!, endpoint: "198.51.100.3:51820" }] };
    expect(planInterface({ ...base, desired: moved }).map((s) => s.op)).toEqual(["peer-set"]);
  });

  it("refuses a private-key step without a key file", () => {
    expect(() => stepArgv("wg0", { op: "private-key" })).toThrow(/key file/);
  });
});

describe("helpers", () => {
  it("default MTU is underlay − 80, never below 1280", () => {
    expect(defaultTunnelMtu(1500)).toBe(1420);
    expect(defaultTunnelMtu(undefined)).toBe(1420);
    expect(defaultTunnelMtu(9000)).toBe(8920);
    expect(defaultTunnelMtu(1300)).toBe(1280);
  });
  it("parses endpoints", () => {
    expect(parseEndpoint("vpn.example.com:51820")).toEqual({ host: "vpn.example.com", port: 51820 });
    expect(parseEndpoint("[2001:db8::1]:51820")).toEqual({ host: "2001:db8::1", port: 51820 });
    expect(parseEndpoint("2001:db8::1:51820")).toBeUndefined();
    expect(parseEndpoint("host:0")).toBeUndefined();
    expect(parseEndpoint("host")).toBeUndefined();
  });
  it("scrubs known keys and private-key values", () => {
    expect(scrubSecrets(`failed near ${PRIV} x`, [PRIV])).toBe("failed near <redacted> x");
    expect(scrubSecrets(`private-key ${PSK}`, [])).toBe("private-key <redacted>");
  });
});

const noWg = missingPrereqs({ commands: ["wg"] });
describe.skipIf(!!noWg)("podgate wg genkey|pubkey", () => {
  it("genkey prints a key whose pubkey matches wg's, and pubkey refuses junk", async () => {
    let out = "";
    let err = "";
    const io = {
      out: (t: string) => {
        out += t;
      },
      err: (t: string) => {
        err += t;
      },
    };
    expect(await runWg(["genkey"], io)).toBe(0);
    const key = out.trim();
    expect(key).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    out = "";
    expect(await runWg(["pubkey"], { ...io, stdin: async () => `${PRIV}\n` })).toBe(0);
    // Known answer: `wg pubkey` of PRIV (Curve25519 base point multiplication).
    expect(out.trim()).toBe("v6KIrS9Bpnt77W/uXe9/KOJpnMhDBu9Ebnc65QLuywc=");
    expect(await runWg(["pubkey"], { ...io, stdin: async () => "nope" })).toBe(1);
    expect(err).toMatch(/not a WireGuard private key/);
    expect(err).not.toContain(PRIV);
    expect(await runWg(["bogus"], io)).toBe(2);
  });
});
