/**
 * Stale WireGuard sessions (src/dataplane/tunnels.ts): which tunnel peer routes a BGP peer, when a
 * peer we keep sending to counts as stale, the backoff of unanswered resets, the reset argv.
 */
import { describe, expect, it } from "vitest";
import {
  bgpPeersDown,
  FAST_RESETS,
  MAX_RESET_INTERVAL_MS,
  peerResetArgv,
  prefixHasAddress,
  STALE_SILENCE_MS,
  StaleSessionDetector,
  wgPeerForAddress,
} from "../../../src/dataplane/tunnels.ts";

const KEY = "wg0/PEER";

describe("prefixHasAddress / wgPeerForAddress", () => {
  it("matches inside the prefix only, per family", () => {
    expect(prefixHasAddress("10.200.0.0/30", "10.200.0.2")).toBe(true);
    expect(prefixHasAddress("10.200.0.0/30", "10.200.0.4")).toBe(false);
    expect(prefixHasAddress("0.0.0.0/0", "192.0.2.1")).toBe(true);
    expect(prefixHasAddress("10.200.0.2/32", "10.200.0.2")).toBe(true);
    expect(prefixHasAddress("fd00::/64", "fd00::5")).toBe(true);
    expect(prefixHasAddress("fd00::/64", "10.0.0.1")).toBe(false);
    expect(prefixHasAddress("10.0.0.0/8", "fd00::1")).toBe(false);
  });

  it("picks the longest match, as WireGuard's cryptokey routing does", () => {
    const peers = [
      { publicKey: "A", allowedIPs: ["10.0.0.0/8"] },
      { publicKey: "B", allowedIPs: ["10.200.0.2/32", "10.244.0.0/16"] },
    ];
    expect(wgPeerForAddress(peers, "10.200.0.2")?.publicKey).toBe("B");
    expect(wgPeerForAddress(peers, "10.200.0.3")?.publicKey).toBe("A");
    expect(wgPeerForAddress(peers, "192.168.1.1")).toBeUndefined();
  });

  it("bgpPeersDown lists every peer that is not Established", () => {
    expect(
      bgpPeersDown({
        peers: [
          { address: "10.200.0.2", state: "Connect" },
          { address: "192.168.50.1", state: "Established" },
          { address: "10.0.0.9", state: "Idle" },
        ],
      }),
    ).toEqual(["10.200.0.2", "10.0.0.9"]);
  });
});

describe("StaleSessionDetector", () => {
  it("is stale after STALE_SILENCE_MS of sending without receiving, not before", () => {
    const d = new StaleSessionDetector();
    expect(d.observe(KEY, 1000, 5000, 0)).toBe(false); // baseline
    expect(d.observe(KEY, 1000, 5100, 1000)).toBe(false);
    expect(d.observe(KEY, 1000, 5200, STALE_SILENCE_MS - 1)).toBe(false);
    expect(d.observe(KEY, 1000, 5300, STALE_SILENCE_MS)).toBe(true);
  });

  it("is never stale while something is received (one-way traffic on a live tunnel)", () => {
    const d = new StaleSessionDetector();
    let rx = 0;
    let tx = 0;
    for (let t = 0; t <= 20_000; t += 1000) {
      tx += 1500;
      if (t % 1500 === 0) rx += 32; // a keepalive now and then
      const stale = d.observe(KEY, rx, tx, t);
      if (t % 3000 === 0) expect(stale).toBe(false);
    }
    expect(d.observe(KEY, rx + 32, tx + 1, 21_000)).toBe(false);
  });

  it("is not stale when nothing is sent either (an idle tunnel)", () => {
    const d = new StaleSessionDetector();
    d.observe(KEY, 1000, 5000, 0);
    expect(d.observe(KEY, 1000, 5000, 60_000)).toBe(false);
  });

  it("backs off unanswered resets: every silence FAST_RESETS times, then 2×, 4× … capped", () => {
    const d = new StaleSessionDetector();
    d.observe(KEY, 100, 100, 0);
    expect(d.observe(KEY, 100, 200, STALE_SILENCE_MS)).toBe(true);
    const resetsAt: number[] = [];
    let t = STALE_SILENCE_MS;
    d.reset(KEY, t);
    resetsAt.push(t);
    // The handshake initiation (148 bytes) goes out and is never answered.
    while (t < 200_000) {
      t += 500;
      if (d.observe(KEY, 0, 148, t)) {
        d.reset(KEY, t);
        resetsAt.push(t);
      }
    }
    const gaps = resetsAt.slice(1).map((x, i) => x - resetsAt[i]!);
    const S = STALE_SILENCE_MS;
    expect(FAST_RESETS).toBe(6);
    expect(gaps.slice(0, 9)).toEqual([S, S, S, S, S, S, 2 * S, 4 * S, 8 * S]);
    expect(Math.max(...gaps)).toBe(MAX_RESET_INTERVAL_MS);
  });

  it("stops resetting once a reset was answered (the tunnel works; BGP is down for another reason)", () => {
    const d = new StaleSessionDetector();
    d.observe(KEY, 100, 100, 0);
    expect(d.observe(KEY, 100, 300, STALE_SILENCE_MS)).toBe(true);
    d.reset(KEY, STALE_SILENCE_MS);
    expect(d.observe(KEY, 92, 148, 2100)).toBe(false); // handshake response
    for (let t = 3000; t < 60_000; t += 1000) expect(d.observe(KEY, 92, 148 + t, t)).toBe(false);
    // Watched afresh after the BGP session came up and went down again.
    d.retain(new Set());
    d.observe(KEY, 92, 100_000, 60_000);
    expect(d.observe(KEY, 92, 100_100, 60_000 + STALE_SILENCE_MS)).toBe(true);
  });

  it("starts over when the counters go down without a reset (peer re-added by a reload)", () => {
    const d = new StaleSessionDetector();
    d.observe(KEY, 5000, 5000, 0);
    expect(d.observe(KEY, 0, 10, 1400)).toBe(false);
    expect(d.observe(KEY, 0, 20, 1400 + STALE_SILENCE_MS - 1)).toBe(false);
    expect(d.observe(KEY, 0, 30, 1400 + STALE_SILENCE_MS)).toBe(true);
  });
});

describe("peerResetArgv", () => {
  it("removes and re-adds the peer with its whole configuration in one wg set", () => {
    expect(
      peerResetArgv("wg0", {
        publicKey: "K",
        endpoint: "198.51.100.2:51820",
        allowedIPs: ["10.200.0.2/32", "10.244.0.0/16"],
        persistentKeepalive: 25,
      }),
    ).toEqual([
      "wg",
      "set",
      "wg0",
      "peer",
      "K",
      "remove",
      "peer",
      "K",
      "allowed-ips",
      "10.200.0.2/32,10.244.0.0/16",
      "endpoint",
      "198.51.100.2:51820",
      "persistent-keepalive",
      "25",
    ]);
  });
});
