/**
 * Two real Speakers over loopback TCP: routes originated by one are learned by the other with
 * the eBGP rewrites, withdrawn on reconfigure, and shown by the API views with prefix text.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Speaker } from "../../../src/bgp/speaker.ts";
import { parseConfig } from "../../../src/config/load.ts";
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

  it("closes a session that exceeds maxPrefix with Cease/Maximum Number of Prefixes Reached", async () => {
    const a = { me: "127.0.0.4", port: BASE + 2, asn: 65001 };
    const b = { me: "127.0.0.5", port: BASE + 3, asn: 65002 };
    const sa = new Speaker({
      config: parseConfig(
        yamlFor({
          ...a,
          peer: b.me,
          peerPort: b.port,
          peerAsn: b.asn,
          originate: ["10.1.0.0/24", "10.2.0.0/24"],
        }),
        "a.yaml",
      ),
      log: silentLogger,
    });
    const sb = new Speaker({
      config: parseConfig(
        yamlFor({
          ...b,
          peer: a.me,
          peerPort: a.port,
          peerAsn: a.asn,
          extra: ["    maxPrefix: { limit: 1, action: restart, restartAfter: 60 }"],
        }),
        "b.yaml",
      ),
      log: silentLogger,
    });
    speakers.push(sa, sb);
    await sa.start();
    await sb.start();
    const seen = await until(() => {
      const p = sa.status().peers[0]!;
      return p.lastError?.includes("Maximum Number of Prefixes Reached") ? p : undefined;
    }, "A to receive Cease/1");
    expect(seen.state).not.toBe("Established");
    const bp = sb.status().peers[0]!;
    expect(bp.info).toMatch(/Maximum prefixes exceeded/);
    expect(sb.routes().routes).toEqual([]);
    // Held down for restartAfter (60 s), not re-established by the idle-hold backoff.
    await new Promise((r) => setTimeout(r, 2500));
    expect(sb.status().peers[0]!.state).not.toBe("Established");
    expect(sb.routes().routes).toEqual([]);
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
