/**
 * Two real Speakers over loopback TCP: routes originated by one are learned by the other with
 * the eBGP rewrites, withdrawn on reconfigure, and shown by the API views with prefix text.
 */
import { connect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { Speaker } from "../../../src/bgp/speaker.ts";
import { CeaseSubcode, ErrorCode, HEADER_LENGTH, MessageType } from "../../../src/bgp/wire/constants.ts";
import { parseConfig } from "../../../src/config/load.ts";
import { FakeClock } from "../../../src/core/clock.ts";
import { silentLogger } from "../../../src/core/log.ts";

const BASE = 20_000 + (process.pid % 20_000);
const speakers: Speaker[] = [];

afterEach(async () => {
  await Promise.all(speakers.splice(0).map((s) => s.stop("test over")));
});

function yamlFor(opts: {
  me: string;
  port: number;
  asn: number;
  peer: string;
  peerPort: number;
  peerAsn: number;
  originate?: string[];
  extra?: string[];
}): string {
  return [
    `routerId: ${opts.me}`,
    `asn: ${opts.asn}`,
    `listen: { address: ${opts.me}, port: ${opts.port} }`,
    "defaults: { connectRetryTime: 1 }",
    "peers:",
    `  - address: ${opts.peer}`,
    `    asn: ${opts.peerAsn}`,
    `    port: ${opts.peerPort}`,
    `    localAddress: ${opts.me}`,
    "    import: accept-all",
    "    export: accept-all",
    ...(opts.extra ?? []),
    "originate:",
    ...(opts.originate ?? []).map((p) => `  - prefix: ${p}\n    communities: ["65001:7"]`),
  ].join("\n");
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** maxPrefix hold-down used below (fake seconds: the test does not wait for it). */
const RESTART_AFTER_S = 60;

/**
 * Opens a raw TCP connection from `from` to a speaker and returns the code/subcode of the
 * NOTIFICATION it answers with before closing (undefined if it closes without one).
 */
function dialNotification(
  from: string,
  host: string,
  port: number,
): Promise<{ code: number; subcode: number } | undefined> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host, port, localAddress: from });
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no answer from ${host}:${port} within 5 s`));
    }, 5_000);
    sock.on("data", (d) => {
      buf = Buffer.concat([buf, d]);
    });
    sock.on("error", () => undefined);
    sock.on("close", () => {
      clearTimeout(timer);
      if (buf.length < HEADER_LENGTH + 2 || buf[HEADER_LENGTH - 1] !== MessageType.NOTIFICATION) {
        resolve(undefined);
        return;
      }
      resolve({ code: buf[HEADER_LENGTH]!, subcode: buf[HEADER_LENGTH + 1]! });
    });
  });
}

async function until<T>(fn: () => T | undefined, what: string, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe("Speaker", () => {
  it("exchanges, rewrites and withdraws routes between two speakers", async () => {
    const a = { me: "127.0.0.2", port: BASE, asn: 65001 };
    const b = { me: "127.0.0.3", port: BASE + 1, asn: 65002 };
    const cfgA = (originate: string[]) =>
      parseConfig(yamlFor({ ...a, peer: b.me, peerPort: b.port, peerAsn: b.asn, originate }), "a.yaml");
    const cfgB = parseConfig(yamlFor({ ...b, peer: a.me, peerPort: a.port, peerAsn: a.asn }), "b.yaml");
    const sa = new Speaker({ config: cfgA(["10.1.0.0/24", "10.2.0.0/26"]), log: silentLogger });
    const sb = new Speaker({ config: cfgB, log: silentLogger });
    speakers.push(sa, sb);
    // A restarting speaker (RFC 4724) defers its tables until every peer sent End-of-RIB: the
    // routes below arrive within seconds, not after the 60 s deferral timer.
    sa.setRestarting(60);
    const synced = new Promise<void>((r) => sa.once("initial-sync", () => r()));
    await sa.start();
    await sb.start();
    await synced;

    const learned = await until(() => {
      const r = sb.routes().routes;
      return r.length === 2 ? r : undefined;
    }, "B to learn both prefixes");
    expect(learned.map((r) => r.prefix)).toEqual(["10.1.0.0/24", "10.2.0.0/26"]);
    for (const r of learned) {
      expect(r).toMatchObject({
        nextHop: a.me,
        peer: a.me,
        best: true,
        asPath: "65001",
        communities: ["65001:7"],
      });
      expect(r.localPref).toBeUndefined();
    }
    const st = sb.status().peers[0]!;
    expect(st).toMatchObject({ state: "Established", prefixesReceived: 2, prefixesAccepted: 2 });
    expect(sa.status().peers[0]!.prefixesAdvertised).toBe(2);
    expect(sb.routes({ prefix: "10.2.0.0/26" }).routes).toHaveLength(1);

    sa.reconfigure(cfgA(["10.1.0.0/24"]));
    await until(() => (sb.routes().routes.length === 1 ? true : undefined), "the withdrawal to reach B");
    expect(sb.routes().routes[0]!.prefix).toBe("10.1.0.0/24");
    expect(sa.status().peers[0]!.state).toBe("Established");
  });

  it("closes a session that exceeds maxPrefix with Cease/Maximum Number of Prefixes Reached, holds it down for restartAfter, then brings it back", async () => {
    // Both speakers on one fake clock: the hold-down is stepped through without real waiting,
    // while sockets and messages stay real (loopback TCP).
    const clock = new FakeClock();
    const a = { me: "127.0.0.4", port: BASE + 2, asn: 65001 };
    const b = { me: "127.0.0.5", port: BASE + 3, asn: 65002 };
    // A is passive: it never dials, so nothing but B's own restart can bring the session back
    // (and B's restart is answered at once instead of racing A's IdleHold backoff).
    const cfgA = (originate: string[]) =>
      parseConfig(
        yamlFor({
          ...a,
          peer: b.me,
          peerPort: b.port,
          peerAsn: b.asn,
          originate,
          extra: ["    passive: true"],
        }),
        "a.yaml",
      );
    const sa = new Speaker({ config: cfgA(["10.1.0.0/24", "10.2.0.0/24"]), log: silentLogger, clock });
    const sb = new Speaker({
      config: parseConfig(
        yamlFor({
          ...b,
          peer: a.me,
          peerPort: a.port,
          peerAsn: a.asn,
          extra: [`    maxPrefix: { limit: 1, action: restart, restartAfter: ${RESTART_AFTER_S} }`],
        }),
        "b.yaml",
      ),
      log: silentLogger,
      clock,
    });
    speakers.push(sa, sb);
    await sa.start();
    await sb.start();
    const seen = await until(() => {
      const p = sa.status().peers[0]!;
      return p.lastError?.includes("Maximum Number of Prefixes Reached") ? p : undefined;
    }, "A to receive Cease/1");
    expect(seen.state).not.toBe("Established");
    const bPeer = () => sb.status().peers[0]!;
    expect(bPeer().info).toMatch(/Maximum prefixes exceeded/);
    expect(sb.routes().routes).toEqual([]);
    // The hold-down timer was armed at fake time 0 (nothing has advanced the clock yet).
    expect(clock.now()).toBe(0);

    // The peer is fixed meanwhile (one prefix, within the limit), so the session that comes
    // back stays up and shows that it did.
    sa.reconfigure(cfgA(["10.1.0.0/24"]));

    // Held down for the whole restartAfter: any start (the hold-down timer firing early, an
    // IdleHold restart) moves B's FSM out of Idle synchronously, inside advance().
    const holdMs = RESTART_AFTER_S * 1000;
    for (let t = 1000; t < holdMs; t += 1000) {
      clock.advance(1000);
      await sleep(5); // let socket I/O started by any timer run
      expect(bPeer().state, `B at ${t} ms of the ${holdMs} ms hold-down`).toBe("Idle");
    }
    clock.advance(999);
    expect(bPeer().state, `B at ${holdMs - 1} ms of the ${holdMs} ms hold-down`).toBe("Idle");
    expect(bPeer().info).toMatch(/Maximum prefixes exceeded/);
    expect(sb.routes().routes).toEqual([]);
    // A connection from the peer in the last millisecond is refused (RFC 4486 Connection Rejected).
    expect(await dialNotification(a.me, b.me, b.port)).toEqual({
      code: ErrorCode.CEASE,
      subcode: CeaseSubcode.CONNECTION_REJECTED,
    });
    expect(bPeer().state).toBe("Idle");

    // The restart is due now, and comes.
    clock.advance(1);
    expect(bPeer().state, `B at ${holdMs} ms`).not.toBe("Idle");
    await until(
      () => (bPeer().state === "Established" ? true : undefined),
      "B to re-establish after the hold-down",
    );
    const back = await until(() => {
      const r = sb.routes().routes;
      return r.length === 1 ? r : undefined;
    }, "B to learn the one prefix after the hold-down");
    expect(back[0]).toMatchObject({ prefix: "10.1.0.0/24", peer: a.me, best: true });
    expect(bPeer().info).not.toMatch(/Maximum prefixes exceeded/);
  });

  it("a restarting speaker does not wait for a peer that never comes up", async () => {
    const a = { me: "127.0.0.6", port: BASE + 4, asn: 65001 };
    const b = { me: "127.0.0.7", port: BASE + 5, asn: 65002 };
    const yamlA = yamlFor({
      ...a,
      peer: b.me,
      peerPort: b.port,
      peerAsn: b.asn,
      originate: ["10.9.0.0/24"],
    }).replace(
      "originate:",
      // A second peer that never answers (passive, nobody connects): it must not hold the table back.
      "  - { address: 127.0.0.8, asn: 65003, passive: true }\noriginate:",
    );
    const sa = new Speaker({ config: parseConfig(yamlA, "a.yaml"), log: silentLogger });
    const sb = new Speaker({
      config: parseConfig(yamlFor({ ...b, peer: a.me, peerPort: a.port, peerAsn: a.asn }), "b.yaml"),
      log: silentLogger,
    });
    speakers.push(sa, sb);
    sa.setRestarting(60);
    const t0 = Date.now();
    await sa.start();
    await sb.start();
    await until(() => sb.routes().routes.length === 1, "the deferred table", 15_000);
    // Released by the grace period (5 s), not by the 60 s deferral timer.
    expect(Date.now() - t0).toBeLessThan(15_000);
  }, 20_000);
});
