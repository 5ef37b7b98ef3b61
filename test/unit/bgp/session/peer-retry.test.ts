/**
 * PeerSession.retryConnect (an early ConnectRetryTimer_Expires) and Speaker.retryConnect, on a
 * fake clock with a fake connect function: a new attempt starts at once in Connect and Active,
 * nothing happens in Idle, Established or for a passive peer, and the ConnectRetry timer starts
 * over from the retry (with its jitter) instead of firing at the old time.
 */
import type net from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { PeerSession } from "../../../../src/bgp/session/peer.ts";
import { Speaker } from "../../../../src/bgp/speaker.ts";
import { parseConfig } from "../../../../src/config/load.ts";
import { FakeClock } from "../../../../src/core/clock.ts";
import { silentLogger } from "../../../../src/core/log.ts";
import { peerConfig } from "./peer-helpers.ts";

afterEach(() => {
  vi.restoreAllMocks();
});

/** A session whose connect attempts never complete (or fail at once when `fail`). */
function session(opts: { passive?: boolean; fail?: boolean } = {}) {
  const clock = new FakeClock();
  const attempts: number[] = [];
  const s = new PeerSession({
    config: peerConfig({ address: "10.200.0.2", asn: 64512, port: 179, passive: opts.passive ?? false }),
    local: { asn: 64513, routerId: "10.0.0.1" },
    clock,
    connect: () => {
      attempts.push(clock.now());
      return opts.fail
        ? Promise.reject(new Error("connect ETIMEDOUT"))
        : new Promise<net.Socket>(() => {
            // never settles: a SYN lost in a dead tunnel
          });
    },
  });
  return { s, clock, attempts };
}

describe("PeerSession.retryConnect", () => {
  it("in Connect: a new attempt now, and the ConnectRetry timer restarts from the retry", () => {
    // Jitter factor 0.75 + 0.25 × 0 = 0.75: ConnectRetry (1 s) fires 750 ms after it is armed.
    vi.spyOn(Math, "random").mockReturnValue(0);
    const { s, clock, attempts } = session();
    s.start();
    expect(s.state).toBe("Connect");
    expect(attempts).toEqual([0]);
    clock.advance(500);
    expect(attempts).toEqual([0]); // waiting out ConnectRetry
    expect(s.retryConnect()).toBe(true);
    expect(s.state).toBe("Connect");
    expect(attempts).toEqual([0, 500]);
    // The old expiry (750) is gone: the next one is 750 ms after the retry.
    clock.advance(500);
    expect(attempts).toEqual([0, 500]);
    clock.advance(250);
    expect(attempts).toEqual([0, 500, 1250]);
    s.stop();
  });

  it("in Active (a connect failed): back to Connect with a new attempt now", async () => {
    vi.spyOn(Math, "random").mockReturnValue(0);
    const { s, clock, attempts } = session({ fail: true });
    s.start();
    await new Promise((r) => setImmediate(r)); // the rejection lands
    expect(s.state).toBe("Active");
    clock.advance(100);
    expect(s.retryConnect()).toBe(true);
    expect(s.state).toBe("Connect");
    expect(attempts).toEqual([0, 100]);
    s.stop();
  });

  it("does nothing in Idle or for a passive peer", () => {
    const idle = session();
    expect(idle.s.retryConnect()).toBe(false);
    expect(idle.s.state).toBe("Idle");
    expect(idle.attempts).toEqual([]);

    const passive = session({ passive: true });
    passive.s.start();
    expect(passive.s.state).toBe("Active");
    expect(passive.s.retryConnect()).toBe(false);
    expect(passive.s.state).toBe("Active");
    expect(passive.attempts).toEqual([]);
    passive.s.stop();
  });
});

describe("Speaker.retryConnect", () => {
  it("retries the named peers that are connecting, and only those", async () => {
    const clock = new FakeClock();
    // Nothing listens on 127.0.0.9:1 and .10:1: connects are refused (Active); .11 is passive.
    const yaml = [
      "routerId: 127.0.0.1",
      "asn: 64513",
      "listen: { enabled: false }",
      "defaults: { connectRetryTime: 60 }",
      "peers:",
      "  - { address: 127.0.0.9, asn: 64512, port: 1, localAddress: 127.0.0.1 }",
      "  - { address: 127.0.0.10, asn: 64512, port: 1, localAddress: 127.0.0.1 }",
      "  - { address: 127.0.0.11, asn: 64512, port: 1, passive: true }",
    ].join("\n");
    const sp = new Speaker({ config: parseConfig(yaml, "retry.yaml"), log: silentLogger, clock });
    await sp.start();
    try {
      const state = (a: string) => sp.status().peers.find((p) => p.address === a)?.state;
      const deadline = Date.now() + 5000;
      while ((state("127.0.0.9") !== "Active" || state("127.0.0.10") !== "Active") && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 10));
      expect(state("127.0.0.9")).toBe("Active");
      // ConnectRetry is 60 fake seconds away: only retryConnect moves them now.
      expect(sp.retryConnect(["127.0.0.9", "127.0.0.11", "192.0.2.1"])).toEqual(["127.0.0.9"]);
      expect(state("127.0.0.9")).toBe("Connect");
      expect(state("127.0.0.10")).toBe("Active");
      expect(state("127.0.0.11")).toBe("Active");
    } finally {
      await sp.stop();
    }
  });
});
