/**
 * The compact IPv4 NLRI fast path: decodeUpdate's lazy `nlri` equals what decodeNlri builds,
 * the RIB's numeric keys round-trip to the same Prefix, and routes ingested from the wire show
 * the same prefixes as routes ingested from Nlri objects.
 */
import { describe, expect, it } from "vitest";
import { compilePolicy } from "../../../../src/bgp/policy/compile.ts";
import { AdjRibIn } from "../../../../src/bgp/rib/adj-rib-in.ts";
import { LocRib } from "../../../../src/bgp/rib/loc-rib.ts";
import { makePeerInfo } from "../../../../src/bgp/rib/path.ts";
import { ipv4Key, ipv4PrefixOfKey, prefixKey } from "../../../../src/bgp/rib/prefix-util.ts";
import {
  DEFAULT_CODEC_OPTIONS,
  decodeMessage,
  encodeUpdate,
  type Nlri,
  parsePrefix,
  type UpdateMessage,
} from "../../../../src/bgp/wire/index.ts";
import { compactNlri } from "../../../../src/bgp/wire/update.ts";

const EDGES = [
  "0.0.0.0/0",
  "10.0.0.0/8",
  "10.1.2.64/26",
  "255.255.255.255/32",
  "128.0.0.0/1",
  "192.0.2.1/32",
];
// Enough prefixes for the compact form (NLRI fields of more than 64 octets).
const TEXTS = [...EDGES, ...Array.from({ length: 40 }, (_, i) => `172.16.${i}.192/26`)];

describe("compact IPv4 NLRI", () => {
  it("numeric keys round-trip to the canonical Prefix", () => {
    for (const t of EDGES) {
      const p = parsePrefix(t);
      const k = prefixKey(p) as number;
      expect(ipv4PrefixOfKey(k)).toEqual(p);
      const [addr, len] = t.split("/") as [string, string];
      const v = addr.split(".").reduce((a, o) => a * 256 + Number(o), 0);
      expect(ipv4Key(v, Number(len))).toBe(k);
    }
  });

  it("decodeUpdate's lazy nlri matches the encoded prefixes, with and without ADD-PATH", () => {
    const attributes = { origin: 0 as const, asPath: [], nextHop: "192.0.2.1" };
    for (const addPath of [false, true]) {
      const set = new Set(addPath ? ["1/1"] : []);
      const opts = { ...DEFAULT_CODEC_OPTIONS, addPathReceive: set, addPathSend: set };
      const nlri: Nlri[] = TEXTS.map((t, i) =>
        addPath ? { prefix: parsePrefix(t), pathId: i + 7 } : { prefix: parsePrefix(t) },
      );
      const u = decodeMessage(encodeUpdate({ attributes, nlri }, opts), opts) as UpdateMessage;
      expect(compactNlri(u)?.data.length).toBe(TEXTS.length * 3);
      expect(u.nlri).toEqual(nlri);
      expect(u.nlri).toBe(u.nlri); // built once
      expect(Object.keys(u)).toContain("nlri");
      // A short NLRI field is decoded eagerly, with the same result.
      const small = decodeMessage(
        encodeUpdate({ attributes, nlri: nlri.slice(0, 3) }, opts),
        opts,
      ) as UpdateMessage;
      expect(compactNlri(small)).toBeUndefined();
      expect(small.nlri).toEqual(nlri.slice(0, 3));
    }
  });

  it("routes ingested from the wire carry the same prefixes as from Nlri objects", () => {
    const peer = makePeerInfo({
      id: "n1",
      address: "192.0.2.1",
      asn: 64512,
      routerId: "192.0.2.1",
      ibgp: true,
      role: "cluster",
    });
    const policy = compilePolicy(
      { terms: [], default: "accept" },
      {},
      { direction: "import", localAsn: 64512 },
    );
    const attributes = { origin: 0 as const, asPath: [], nextHop: "192.0.2.1" };
    const nlri: Nlri[] = TEXTS.map((t) => ({ prefix: parsePrefix(t) }));
    const opts = DEFAULT_CODEC_OPTIONS;
    const loc = new LocRib();
    const adj = new AdjRibIn(peer, loc, { importPolicy: policy, localAsn: 64513 });
    adj.applyUpdate(decodeMessage(encodeUpdate({ attributes, nlri }, opts), opts) as UpdateMessage, 1);
    const changes = loc.flush();
    expect(changes.map((c) => c.prefix).sort((a, b) => a.addr.localeCompare(b.addr))).toEqual(
      nlri.map((n) => n.prefix).sort((a, b) => a.addr.localeCompare(b.addr)),
    );
    for (const n of nlri) expect(adj.get(n.prefix)?.prefix).toEqual(n.prefix);
    // Withdraw through the compact path too.
    adj.applyUpdate(
      decodeMessage(encodeUpdate({ withdrawn: nlri.slice(0, 2) }, opts), opts) as UpdateMessage,
      2,
    );
    expect(adj.prefixesAccepted).toBe(TEXTS.length - 2);
  });

  it("one-prefix UPDATEs (eager decode) keep no Prefix per IPv4 route; announce() keeps the one given", () => {
    const peer = makePeerInfo({
      id: "n1",
      address: "192.0.2.1",
      asn: 64512,
      routerId: "192.0.2.1",
      ibgp: true,
      role: "cluster",
    });
    const policy = compilePolicy(
      { terms: [], default: "accept" },
      {},
      { direction: "import", localAsn: 64512 },
    );
    const attributes = { origin: 0 as const, asPath: [], nextHop: "192.0.2.1" };
    const opts = DEFAULT_CODEC_OPTIONS;
    const loc = new LocRib();
    const adj = new AdjRibIn(peer, loc, { importPolicy: policy, localAsn: 64513 });
    for (const t of EDGES) {
      const u = decodeMessage(encodeUpdate({ attributes, nlri: [{ prefix: parsePrefix(t) }] }, opts), opts);
      expect(compactNlri(u as UpdateMessage)).toBeUndefined();
      adj.applyUpdate(u as UpdateMessage, 1);
      const p = adj.get(parsePrefix(t))!;
      expect(p.storedPrefix).toBeUndefined();
      expect(p.prefix).toEqual(parsePrefix(t));
    }
    expect(loc.flush().map((c) => c.prefix)).toEqual(EDGES.map(parsePrefix));
    // The API's announce() keeps its Prefix as given (display keeps the caller's form).
    const given = parsePrefix("198.51.100.0/24");
    adj.announce({ prefix: given }, Object.freeze({ ...attributes }), 2);
    expect(adj.get(given)?.storedPrefix).toBe(given);
  });
});
