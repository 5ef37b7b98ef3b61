/**
 * Corpus of malformed messages, each with its EXACT expected outcome: a NOTIFICATION
 * (code/subcode/data hex) or an RFC 7606 downgrade (treat-as-withdraw / attribute-discard with
 * the exact notes). Hand-built from RFC 4271 §4/§6, RFC 7606, RFC 7313 and RFC 6793 rules.
 */
import type { OpenExpectations } from "../../../../src/bgp/wire/index.ts";
import {
  AS_PATH_65001,
  attr,
  BASE,
  capParam,
  h,
  msg,
  NEXT_HOP,
  NLRI_10_0_0,
  ORIGIN_IGP,
  open,
  update,
} from "./builder.ts";

export interface CorpusOpts {
  fourOctetAs?: boolean;
  addPathReceive?: string[];
  ebgp?: boolean;
}

export type Expect =
  | { notify: [code: number, subcode: number, dataHex: string] }
  | {
      outcome: "treat-as-withdraw" | "attribute-discard" | "ok";
      /** [subcode, handling, attrCode] of every note, in order. */
      notes: [number, string, number | undefined][];
      check?: (m: Record<string, unknown>) => void;
    };

export interface BadCase {
  name: string;
  bytes: Buffer;
  opts?: CorpusOpts;
  /** When set, the message decodes and validateOpen must throw the expected notification. */
  validate?: OpenExpectations;
  expect: Expect;
}

const hex = (b: Buffer): string => b.toString("hex");
const TAW = "treat-as-withdraw";
const DISCARD = "attribute-discard";
const mpReachV6 = (nh: string, nlri: string) => attr(0x80, 14, `0002 01 10 ${nh} 00 ${nlri}`);
const VALIDATE: OpenExpectations = { peerAs: 65001, localBgpId: "192.0.2.99" };

const badMarker = msg(4, "");
badMarker[3] = 0xfe;
const rr24 = msg(5, "0001 00 01 00");
const rr22 = msg(5, "0001 00");
const dupMpReach = mpReachV6("20010db8000000000000000000000001", "40 20010db800000000");
const mpBadNh = mpReachV6("20010db8000000000000000000000001".slice(0, 16), "");
const mpBadNh2 = attr(0x80, 14, "0002 01 08 20010db800000000 00");
const mpV4Nh16 = attr(0x80, 14, "0001 01 10 20010db8000000000000000000000001 00 18 0a0000");
const mpLen129 = attr(
  0x80,
  14,
  "0002 01 10 20010db8000000000000000000000001 00 81 20010db8000000000000000000000000",
);
const mpUnreachShort = attr(0x80, 15, "0002");
const mpAfi3 = attr(0x80, 15, "0003 01");
const unknownWk = attr(0x40, 99, "0102");
const mpOverrun = Buffer.concat([h("80 0e 20"), h("0002 01 10 20010db8000000000000000000000001 00")]);

export const BAD_CORPUS: BadCase[] = [
  // ---- RFC 4271 §6.1 header errors
  { name: "marker not all ones", bytes: badMarker, expect: { notify: [1, 1, ""] } },
  { name: "length 18 (< 19)", bytes: msg(4, "", 18).subarray(0, 19), expect: { notify: [1, 2, "0012"] } },
  { name: "length 4097 (> 4096)", bytes: msg(4, "", 4097), expect: { notify: [1, 2, "1001"] } },
  {
    name: "length field differs from message size",
    bytes: msg(4, "00", 19),
    expect: { notify: [1, 2, "0013"] },
  },
  { name: "unknown type 6", bytes: msg(6, ""), expect: { notify: [1, 3, "06"] } },
  { name: "type 0", bytes: msg(0, ""), expect: { notify: [1, 3, "00"] } },
  { name: "KEEPALIVE of 20 octets", bytes: msg(4, "00"), expect: { notify: [1, 2, "0014"] } },
  { name: "OPEN shorter than 29", bytes: msg(1, "04fde9005ac0000201"), expect: { notify: [1, 2, "001c"] } },
  { name: "UPDATE shorter than 23", bytes: msg(2, "000000"), expect: { notify: [1, 2, "0016"] } },
  { name: "NOTIFICATION shorter than 21", bytes: msg(3, "06"), expect: { notify: [1, 2, "0014"] } },
  // ---- RFC 7313 §5: ROUTE-REFRESH length errors carry the whole message
  { name: "ROUTE-REFRESH of 24 octets", bytes: rr24, expect: { notify: [7, 1, hex(rr24)] } },
  { name: "ROUTE-REFRESH of 22 octets", bytes: rr22, expect: { notify: [7, 1, hex(rr22)] } },
  // ---- OPEN structure (decode)
  {
    name: "OPEN optional parameters length past the end",
    bytes: open({ params: capParam("41 04 0000fde9"), optLen: 20 }),
    expect: { notify: [1, 2, "0025"] },
  },
  {
    name: "OPEN capability TLV overruns its parameter",
    bytes: open({ params: "02 03 41 04 00" }),
    expect: { notify: [2, 0, ""] },
  },
  {
    name: "OPEN MP capability of 3 octets",
    bytes: open({ params: capParam("01 03 000100") }),
    expect: { notify: [2, 0, ""] },
  },
  {
    name: "OPEN 4-octet AS capability of 2 octets",
    bytes: open({ params: capParam("41 02 fde9") }),
    expect: { notify: [2, 0, ""] },
  },
  {
    name: "OPEN graceful restart capability of 3 octets",
    bytes: open({ params: capParam("40 03 007800") }),
    expect: { notify: [2, 0, ""] },
  },
  {
    name: "OPEN ADD-PATH capability of 5 octets",
    bytes: open({ params: capParam("45 05 0001010300") }),
    expect: { notify: [2, 0, ""] },
  },
  { name: "OPEN parameter header truncated", bytes: open({ params: "02" }), expect: { notify: [2, 0, ""] } },
  {
    name: "OPEN RFC 9072 extended parameters truncated",
    bytes: open({ params: "ff 00", optLen: 255 }),
    expect: { notify: [2, 0, ""] },
  },
  // ---- OPEN semantics (validateOpen, RFC 4271 §6.2)
  {
    name: "OPEN version 3",
    bytes: open({ version: 3 }),
    validate: VALIDATE,
    expect: { notify: [2, 1, "0004"] },
  },
  {
    name: "OPEN wrong peer AS",
    bytes: open({ as: 65002 }),
    validate: VALIDATE,
    expect: { notify: [2, 2, ""] },
  },
  {
    name: "OPEN 4-octet AS capability disagrees with expected AS (RFC 6793)",
    bytes: open({ as: 23456, params: capParam("41 04 fa56ea00") }),
    validate: VALIDATE,
    expect: { notify: [2, 2, ""] },
  },
  {
    name: "OPEN AS 0 (RFC 7607)",
    bytes: open({ as: 0 }),
    validate: { localBgpId: "192.0.2.99" },
    expect: { notify: [2, 2, ""] },
  },
  {
    name: "OPEN BGP identifier 0.0.0.0",
    bytes: open({ id: "0.0.0.0" }),
    validate: VALIDATE,
    expect: { notify: [2, 3, ""] },
  },
  {
    name: "OPEN iBGP identifier equal to ours (RFC 6286)",
    bytes: open({ id: "192.0.2.99" }),
    validate: VALIDATE,
    expect: { notify: [2, 3, ""] },
  },
  { name: "OPEN hold time 1", bytes: open({ hold: 1 }), validate: VALIDATE, expect: { notify: [2, 6, ""] } },
  { name: "OPEN hold time 2", bytes: open({ hold: 2 }), validate: VALIDATE, expect: { notify: [2, 6, ""] } },
  {
    name: "OPEN unknown optional parameter type 1",
    bytes: open({ params: "01 02 abcd" }),
    validate: VALIDATE,
    expect: { notify: [2, 4, ""] },
  },
  // ---- UPDATE session resets
  {
    name: "withdrawn routes length overruns",
    bytes: update({ withdrawn: "18 0a0000", wlen: 10 }),
    expect: { notify: [3, 1, ""] },
  },
  {
    name: "total attribute length overruns",
    bytes: update({ attrs: BASE, alen: 100 }),
    expect: { notify: [3, 1, ""] },
  },
  {
    name: "NLRI prefix length 33",
    bytes: update({ attrs: BASE, nlri: "21 0a000000 00" }),
    expect: { notify: [3, 10, ""] },
  },
  {
    name: "NLRI prefix runs past the end",
    bytes: update({ attrs: BASE, nlri: "18 0a00" }),
    expect: { notify: [3, 10, ""] },
  },
  {
    name: "withdrawn prefix length 33",
    bytes: update({ withdrawn: "21 0a000000 00" }),
    expect: { notify: [3, 10, ""] },
  },
  {
    name: "ADD-PATH NLRI with a truncated path id",
    bytes: update({ attrs: BASE, nlri: "000000" }),
    opts: { addPathReceive: ["1/1"] },
    expect: { notify: [3, 10, ""] },
  },
  {
    name: "duplicate MP_REACH_NLRI",
    bytes: update({ attrs: [...BASE.slice(0, 2), dupMpReach, dupMpReach] }),
    expect: { notify: [3, 1, ""] },
  },
  {
    name: "duplicate MP_UNREACH_NLRI",
    bytes: update({ attrs: [attr(0x80, 15, "0002 01"), attr(0x80, 15, "0002 01")] }),
    expect: { notify: [3, 1, ""] },
  },
  {
    name: "MP_REACH IPv6 next hop of 8 octets",
    bytes: update({ attrs: [mpBadNh2] }),
    expect: { notify: [3, 9, hex(mpBadNh2)] },
  },
  {
    name: "MP_REACH next hop overruns the attribute",
    bytes: update({ attrs: [mpBadNh] }),
    expect: { notify: [3, 9, hex(mpBadNh)] },
  },
  {
    name: "MP_REACH IPv4 next hop of 16 octets",
    bytes: update({ attrs: [mpV4Nh16] }),
    expect: { notify: [3, 9, hex(mpV4Nh16)] },
  },
  {
    name: "MP_REACH IPv6 prefix length 129",
    bytes: update({ attrs: [mpLen129] }),
    expect: { notify: [3, 10, hex(mpLen129)] },
  },
  {
    name: "MP_UNREACH of 2 octets",
    bytes: update({ attrs: [mpUnreachShort] }),
    expect: { notify: [3, 9, hex(mpUnreachShort)] },
  },
  {
    name: "MP_UNREACH for unsupported AFI 3",
    bytes: update({ attrs: [mpAfi3] }),
    expect: { notify: [3, 9, hex(mpAfi3)] },
  },
  {
    name: "MP_REACH overruns the attribute list",
    bytes: update({ attrs: [ORIGIN_IGP, mpOverrun] }),
    expect: { notify: [3, 5, hex(mpOverrun)] },
  },
  {
    name: "unrecognized well-known attribute 99",
    bytes: update({ attrs: [...BASE, unknownWk], nlri: NLRI_10_0_0 }),
    expect: { notify: [3, 2, hex(unknownWk)] },
  },
  // ---- RFC 7606 treat-as-withdraw
  ...(
    [
      ["ORIGIN of 2 octets (§7.1)", attr(0x40, 1, "0000"), 5, 1],
      ["ORIGIN value 3 (§7.1)", attr(0x40, 1, "03"), 6, 1],
      ["AS_PATH segment overruns (§7.2)", attr(0x40, 2, "02 02 0000fde9"), 11, 2],
      ["AS_PATH segment type 5 (§7.2)", attr(0x40, 2, "05 01 0000fde9"), 11, 2],
      ["AS_PATH zero-length segment (§7.2)", attr(0x40, 2, "02 00"), 11, 2],
      ["NEXT_HOP of 5 octets (§7.3)", attr(0x40, 3, "c000020100"), 5, 3],
      ["MED of 3 octets (§7.4)", attr(0x80, 4, "000001"), 5, 4],
      ["LOCAL_PREF of 2 octets (§7.5)", attr(0x40, 5, "0064"), 5, 5],
      ["COMMUNITIES of 5 octets (§7.8)", attr(0xc0, 8, "fde9006400"), 5, 8],
      ["COMMUNITIES of 0 octets (§7.8)", attr(0xc0, 8, ""), 5, 8],
      ["ORIGINATOR_ID of 3 octets (§7.9)", attr(0x80, 9, "c00002"), 5, 9],
      ["CLUSTER_LIST of 6 octets (§7.10)", attr(0x80, 10, "c0000201c000"), 5, 10],
      ["EXTENDED_COMMUNITIES of 7 octets (§7.14)", attr(0xc0, 16, "00020000fde900"), 5, 16],
      ["LARGE_COMMUNITIES of 8 octets (RFC 8092 §5)", attr(0xc0, 32, "0000fde900000001"), 5, 32],
      ["ORIGIN with the Optional bit (§3 c)", attr(0xc0, 1, "00"), 4, 1],
      ["COMMUNITIES without the Optional bit (§3 c)", attr(0x40, 8, "fde90064"), 4, 8],
      ["MED flagged transitive (§3 c)", attr(0xc0, 4, "00000001"), 4, 4],
    ] as const
  ).map(([name, a, subcode, code]): BadCase => {
    // Replace the base attribute with the same code, or add the bad one.
    const base = BASE.filter((b) => b[1] !== code);
    return {
      name,
      bytes: update({ attrs: [...base, a], nlri: NLRI_10_0_0 }),
      expect: { outcome: TAW, notes: [[subcode, TAW, code]] },
    };
  }),
  {
    name: "missing ORIGIN with NLRI (§3 d)",
    bytes: update({ attrs: [AS_PATH_65001, NEXT_HOP], nlri: NLRI_10_0_0 }),
    expect: { outcome: TAW, notes: [[3, TAW, 1]] },
  },
  {
    name: "missing AS_PATH with NLRI (§3 d)",
    bytes: update({ attrs: [ORIGIN_IGP, NEXT_HOP], nlri: NLRI_10_0_0 }),
    expect: { outcome: TAW, notes: [[3, TAW, 2]] },
  },
  {
    name: "missing NEXT_HOP with classic NLRI (§3 d)",
    bytes: update({ attrs: [ORIGIN_IGP, AS_PATH_65001], nlri: NLRI_10_0_0 }),
    expect: { outcome: TAW, notes: [[3, TAW, 3]] },
  },
  {
    name: "MP_REACH without ORIGIN; NEXT_HOP not needed (RFC 4760 §3)",
    bytes: update({ attrs: [dupMpReach, AS_PATH_65001] }),
    expect: {
      outcome: TAW,
      notes: [[3, TAW, 1]],
      check: (m) => {
        const a = m["attributes"] as { mpReach?: { nlri: unknown[] } };
        if (a.mpReach?.nlri.length !== 1) throw new Error("mpReach prefixes must be kept for withdrawal");
      },
    },
  },
  {
    name: "last attribute overruns the total attribute length (§4)",
    bytes: update({ attrs: [...BASE, h("c0 08 08 fde90064")], nlri: NLRI_10_0_0 }),
    expect: {
      outcome: TAW,
      notes: [[5, TAW, 8]],
      check: (m) => {
        if ((m["nlri"] as unknown[]).length !== 1) throw new Error("NLRI must still be located");
      },
    },
  },
  {
    name: "2 stray octets after the attributes (§4)",
    bytes: update({ attrs: [...BASE, h("c0 08")], nlri: NLRI_10_0_0 }),
    expect: { outcome: TAW, notes: [[5, TAW, undefined]] },
  },
  {
    name: "MP_REACH with wrong flags still parsed for withdrawal (§3 c)",
    bytes: update({
      attrs: [
        attr(0x40, 14, "0002 01 10 20010db8000000000000000000000001 00 40 20010db800000000"),
        ...BASE.slice(0, 2),
      ],
    }),
    expect: {
      outcome: TAW,
      notes: [[4, TAW, 14]],
      check: (m) => {
        const a = m["attributes"] as { mpReach?: { nlri: unknown[] } };
        if (a.mpReach?.nlri.length !== 1) throw new Error("mpReach prefixes must be kept");
      },
    },
  },
  // ---- RFC 7606 attribute-discard
  {
    name: "ATOMIC_AGGREGATE of 1 octet (§7.6)",
    bytes: update({ attrs: [...BASE, attr(0x40, 6, "00")], nlri: NLRI_10_0_0 }),
    expect: { outcome: DISCARD, notes: [[5, DISCARD, 6]] },
  },
  {
    name: "AGGREGATOR of 7 octets on a 4-octet session (§7.7)",
    bytes: update({ attrs: [...BASE, attr(0xc0, 7, "0000fde9c00002")], nlri: NLRI_10_0_0 }),
    expect: { outcome: DISCARD, notes: [[5, DISCARD, 7]] },
  },
  {
    name: "AGGREGATOR of 8 octets on a 2-octet session (§7.7)",
    bytes: update({
      attrs: [ORIGIN_IGP, attr(0x40, 2, "02 01 fde9"), NEXT_HOP, attr(0xc0, 7, "0000fde9c0000201")],
      nlri: NLRI_10_0_0,
    }),
    opts: { fourOctetAs: false },
    expect: { outcome: DISCARD, notes: [[5, DISCARD, 7]] },
  },
  {
    name: "duplicate ORIGIN: first kept (§3 g)",
    bytes: update({ attrs: [...BASE, attr(0x40, 1, "02")], nlri: NLRI_10_0_0 }),
    expect: {
      outcome: DISCARD,
      notes: [[1, DISCARD, 1]],
      check: (m) => {
        if ((m["attributes"] as { origin?: number }).origin !== 0) throw new Error("first ORIGIN must win");
      },
    },
  },
  {
    name: "LOCAL_PREF from an eBGP peer (§7.5)",
    bytes: update({ attrs: [...BASE, attr(0x40, 5, "00000064")], nlri: NLRI_10_0_0 }),
    opts: { ebgp: true },
    expect: { outcome: DISCARD, notes: [[1, DISCARD, 5]] },
  },
  {
    name: "ORIGINATOR_ID from an eBGP peer (§7.9)",
    bytes: update({ attrs: [...BASE, attr(0x80, 9, "c0000201")], nlri: NLRI_10_0_0 }),
    opts: { ebgp: true },
    expect: { outcome: DISCARD, notes: [[1, DISCARD, 9]] },
  },
  {
    name: "AS4_PATH on a 4-octet session (RFC 6793 §4.1)",
    bytes: update({ attrs: [...BASE, attr(0xc0, 17, "02 01 fa56ea00")], nlri: NLRI_10_0_0 }),
    expect: { outcome: DISCARD, notes: [[9, DISCARD, 17]] },
  },
  {
    name: "AS4_AGGREGATOR of 6 octets on a 2-octet session (RFC 6793 §6)",
    bytes: update({
      attrs: [ORIGIN_IGP, attr(0x40, 2, "02 01 fde9"), NEXT_HOP, attr(0xc0, 18, "fde9c0000201")],
      nlri: NLRI_10_0_0,
    }),
    opts: { fourOctetAs: false },
    expect: { outcome: DISCARD, notes: [[5, DISCARD, 18]] },
  },
  {
    name: "AS4_PATH with a zero-length segment on a 2-octet session (RFC 6793 §6)",
    bytes: update({
      attrs: [ORIGIN_IGP, attr(0x40, 2, "02 01 5ba0"), NEXT_HOP, attr(0xc0, 17, "02 00")],
      nlri: NLRI_10_0_0,
    }),
    opts: { fourOctetAs: false },
    expect: { outcome: DISCARD, notes: [[11, DISCARD, 17]] },
  },
  // ---- not errors at all
  {
    name: "withdraw-only UPDATE needs no attributes",
    bytes: update({ withdrawn: NLRI_10_0_0 }),
    expect: { outcome: "ok", notes: [] },
  },
  {
    name: "unknown optional non-transitive attribute is dropped silently",
    bytes: update({ attrs: [...BASE, attr(0x80, 200, "ab")], nlri: NLRI_10_0_0 }),
    expect: {
      outcome: "ok",
      notes: [],
      check: (m) => {
        if ((m["attributes"] as { unknown?: unknown[] }).unknown) throw new Error("must not be kept");
      },
    },
  },
];
