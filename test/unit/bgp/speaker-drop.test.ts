/**
 * A real Speaker on loopback loses a session carrying 20,000 routes: the withdrawals reach the
 * `changes` consumers over several macrotasks (the event loop turns in between), each prefix is
 * reported exactly once, and the other peer's paths take over where it has them.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { RibChange } from "../../../src/bgp/rib/loc-rib.ts";
import { Speaker } from "../../../src/bgp/speaker.ts";
import {
  AsPathSegmentType,
  DEFAULT_CODEC_OPTIONS,
  encodeUpdates,
  formatPrefix,
  keepalive,
  MessageType,
  type Nlri,
  Origin,
} from "../../../src/bgp/wire/index.ts";
import { parseConfig } from "../../../src/config/load.ts";
import { silentLogger } from "../../../src/core/log.ts";
import { openMessage, RawPeer, waitFor } from "./session/peer-helpers.ts";

const PORT = 40_000 + (process.pid % 20_000);
const ME = "127.0.0.60";
const BIG = "127.0.0.61";
const OTHER = "127.0.0.62";
const N = 20_000;
const OVERLAP = 100;

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0)) await f();
});

function block(i: number): Nlri {
  const v = 0x0a000000 + i * 64;
  return {
    prefix: { afi: 1, addr: `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`, len: 26 },
  };
}

/** Opens a session from `from` (AS `asn`) and announces `nlri`; resolves once Established. */
async function peerWith(speaker: Speaker, from: string, asn: number, nlri: Nlri[], asPath: number[]) {
  const p = await RawPeer.connect({ host: ME, port: PORT, localAddress: from });
  cleanup.push(() => p.destroy());
  p.send(openMessage({ myAs: asn, bgpId: from }));
  await waitFor(() => p.count(MessageType.OPEN) > 0, 5000, "the speaker's OPEN");
  p.send(keepalive());
  await waitFor(
    () => speaker.status().peers.find((x) => x.address === from)?.state === "Established",
    5000,
    `${from} Established`,
  );
  const attributes = {
    origin: Origin.IGP,
    asPath: [{ type: AsPathSegmentType.AS_SEQUENCE, asns: asPath }],
    nextHop: from,
  };
  for (const b of encodeUpdates({ attributes, nlri }, DEFAULT_CODEC_OPTIONS)) p.send(b);
  return p;
}

describe("Speaker peer drop", () => {
  it("withdraws a dropped peer's 20,000 routes over several macrotasks, each once, other paths taking over", async () => {
    const yaml = [
      `routerId: ${ME}`,
      "asn: 65000",
      `listen: { address: ${ME}, port: ${PORT} }`,
      "peers:",
      `  - { address: ${BIG}, asn: 65061, passive: true, import: accept-all }`,
      `  - { address: ${OTHER}, asn: 65062, passive: true, import: accept-all }`,
    ].join("\n");
    const speaker = new Speaker({ config: parseConfig(yaml, "drop.yaml"), log: silentLogger });
    cleanup.push(() => speaker.stop("test over"));
    await speaker.start();

    const all: Nlri[] = [];
    for (let i = 0; i < N; i++) all.push(block(i));
    const big = await peerWith(speaker, BIG, 65061, all, [65061]);
    // The other peer has the first OVERLAP prefixes too, with a longer AS_PATH (not best yet).
    await peerWith(speaker, OTHER, 65062, all.slice(0, OVERLAP), [65062, 1, 2]);
    await waitFor(
      () =>
        speaker.locRib.size === N &&
        !speaker.locRib.pending &&
        speaker.status().peers[1]!.prefixesAccepted === OVERLAP,
      10_000,
      "all routes learned",
    );
    await new Promise((r) => setTimeout(r, 50)); // let the last flush go out

    // Macrotasks that ran since the drop, sampled at every `changes` event.
    let turns = 0;
    let spinning = true;
    const spin = () => {
      turns++;
      if (spinning) setImmediate(spin);
    };
    const events: { turns: number; changes: readonly RibChange[] }[] = [];
    speaker.on("changes", (changes) => events.push({ turns, changes }));
    setImmediate(spin);
    big.destroy(); // TCP close without graceful restart: the peer's routes go
    await waitFor(
      () => speaker.locRib.size === OVERLAP && !speaker.locRib.pending,
      20_000,
      "the dropped peer's routes to be withdrawn",
    );
    await new Promise((r) => setTimeout(r, 20));
    spinning = false;

    // More than one macrotask, and other work (our spinner) ran between the first and last slice.
    expect(events.length).toBeGreaterThan(1);
    expect(events.at(-1)!.turns).toBeGreaterThan(events[0]!.turns);
    // Every prefix reported exactly once; the overlap moved to the other peer, the rest is gone.
    const byPrefix = new Map<string, RibChange[]>();
    for (const e of events) {
      for (const c of e.changes) {
        const k = formatPrefix(c.prefix);
        byPrefix.set(k, [...(byPrefix.get(k) ?? []), c]);
      }
    }
    expect(byPrefix.size).toBe(N);
    expect([...byPrefix.values()].every((l) => l.length === 1)).toBe(true);
    for (let i = 0; i < N; i++) {
      const c = byPrefix.get(formatPrefix(block(i).prefix))![0]!;
      if (i < OVERLAP) expect(c.best?.peer.address).toBe(OTHER);
      else expect(c.best).toBeUndefined();
    }
    const routes = speaker.routes().routes;
    expect(routes).toHaveLength(OVERLAP);
    expect(routes.every((r) => r.peer === OTHER && r.best)).toBe(true);
    expect(speaker.status().peers[0]).toMatchObject({
      state: expect.not.stringMatching("Established"),
      prefixesAccepted: 0,
    });
  });
});
