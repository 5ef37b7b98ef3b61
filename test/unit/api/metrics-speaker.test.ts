/**
 * Session state-change counters end to end: a real Speaker, a raw BGP peer on loopback that
 * comes up, drops and comes up again, and /metrics read over HTTP from the metrics server fed
 * by the speaker's status(), as the daemon wires it.
 */
import { afterEach, describe, expect, it } from "vitest";
import { startMetricsServer } from "../../../src/api/metrics.ts";
import { Speaker } from "../../../src/bgp/speaker.ts";
import { keepalive, MessageType } from "../../../src/bgp/wire/index.ts";
import { parseConfig } from "../../../src/config/load.ts";
import { silentLogger } from "../../../src/core/log.ts";
import { openMessage, RawPeer, waitFor } from "../bgp/session/peer-helpers.ts";

const PORT = 40_000 + ((process.pid + 7_919) % 20_000);
const ME = "127.0.0.70";
const PEER = "127.0.0.71";

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** `name{labels} value` of one sample in the text format, undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`)) continue;
    const inner = line.slice(name.length + 1, line.lastIndexOf("}"));
    const got = Object.fromEntries([...inner.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (
      Object.entries(labels).every(([k, v]) => got[k] === v) &&
      Object.keys(got).length === Object.keys(labels).length
    )
      return Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return undefined;
}

describe("session state-change metrics", () => {
  it("count a real session's transitions and Established entries, scraped over HTTP", async () => {
    const yaml = [
      `routerId: ${ME}`,
      "asn: 65000",
      `listen: { address: ${ME}, port: ${PORT} }`,
      "peers:",
      `  - { address: ${PEER}, asn: 65071, role: office, passive: true, import: accept-all }`,
    ].join("\n");
    const speaker = new Speaker({ config: parseConfig(yaml, "m.yaml"), log: silentLogger });
    cleanup.push(() => speaker.stop("test over"));
    await speaker.start();
    const metrics = await startMetricsServer(
      { address: "127.0.0.1:0" },
      {
        status: () => speaker.status(),
        ready: () => true,
      },
    );
    cleanup.push(() => metrics.close());
    const scrape = async () => {
      const res = await fetch(`http://${metrics.address}/metrics`);
      expect(res.status).toBe(200);
      return res.text();
    };
    const state = () => speaker.status().peers[0]!.state;

    let text = await scrape();
    expect(sample(text, "podgate_bgp_session_established_transitions_total", { peer: PEER })).toBe(0);

    const up = async () => {
      await waitFor(() => state() === "Active", 5000, "the passive session to wait for a connection");
      const p = await RawPeer.connect({ host: ME, port: PORT, localAddress: PEER });
      cleanup.push(() => p.destroy());
      p.send(openMessage({ myAs: 65071, bgpId: PEER }));
      await waitFor(() => p.count(MessageType.OPEN) > 0, 5000, "the speaker's OPEN");
      p.send(keepalive());
      await waitFor(() => state() === "Established", 5000, "Established");
      return p;
    };

    const first = await up();
    text = await scrape();
    expect(sample(text, "podgate_bgp_session_established_transitions_total", { peer: PEER })).toBe(1);
    const toEstablished = { peer: PEER, role: "office", from: "OpenConfirm", to: "Established" };
    expect(sample(text, "podgate_bgp_session_state_changes_total", toEstablished)).toBe(1);
    expect(
      sample(text, "podgate_bgp_session_state_changes_total", {
        ...toEstablished,
        from: "Established",
        to: "Idle",
      }),
    ).toBeUndefined();

    // The peer goes away (TCP closed) and comes back: one flap.
    first.destroy();
    await waitFor(() => state() !== "Established", 5000, "the session to drop");
    await up();
    text = await scrape();
    expect(sample(text, "podgate_bgp_session_established_transitions_total", { peer: PEER })).toBe(2);
    expect(sample(text, "podgate_bgp_session_state_changes_total", toEstablished)).toBe(2);
    expect(
      sample(text, "podgate_bgp_session_state_changes_total", {
        ...toEstablished,
        from: "Established",
        to: "Idle",
      }),
    ).toBe(1);
    // Every change is counted under some (from, to): the total matches the speaker's own list.
    const total = speaker.status().peers[0]! as unknown as { stateTransitions: { count: number }[] };
    const sum = total.stateTransitions.reduce((n, t) => n + t.count, 0);
    const scraped = text
      .split("\n")
      .filter((l) => l.startsWith("podgate_bgp_session_state_changes_total{"))
      .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(" ") + 1)), 0);
    expect(scraped).toBe(sum);
    expect(sum).toBeGreaterThanOrEqual(8); // 2 × (… → OpenSent → OpenConfirm → Established) + drop + restart
  });
});
