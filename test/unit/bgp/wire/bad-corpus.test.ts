/** Runs every case of the malformed-message corpus and asserts its exact outcome. */
import { describe, expect, it } from "vitest";
import {
  BgpNotificationError,
  type CodecOptions,
  decodeMessage,
  type OpenMessage,
  type UpdateMessage,
  validateOpen,
} from "../../../../src/bgp/wire/index.ts";
import { BAD_CORPUS, type CorpusOpts } from "./bad-corpus.ts";

function codec(o: CorpusOpts = {}): CodecOptions {
  return {
    fourOctetAs: o.fourOctetAs ?? true,
    addPathReceive: new Set(o.addPathReceive ?? []),
    addPathSend: new Set(),
    ebgp: o.ebgp ?? false,
  };
}

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe("bad message corpus", () => {
  it("has at least 40 cases with unique names", () => {
    expect(BAD_CORPUS.length).toBeGreaterThanOrEqual(40);
    expect(new Set(BAD_CORPUS.map((c) => c.name)).size).toBe(BAD_CORPUS.length);
  });

  for (const c of BAD_CORPUS) {
    it(c.name, () => {
      const opts = codec(c.opts);
      const e = c.expect;
      if ("notify" in e) {
        const err = caught(() => {
          const m = decodeMessage(c.bytes, opts);
          if (c.validate) validateOpen(m as OpenMessage, c.validate);
        });
        expect(err).toBeInstanceOf(BgpNotificationError);
        const n = err as BgpNotificationError;
        expect([n.code, n.subcode, n.data.toString("hex")]).toEqual(e.notify);
        return;
      }
      const m = decodeMessage(c.bytes, opts) as UpdateMessage;
      expect(m.type).toBe(2);
      expect(m.treatAsWithdraw === true).toBe(e.outcome === "treat-as-withdraw");
      expect((m.errors ?? []).map((n) => [n.subcode, n.handling, n.attrCode])).toEqual(e.notes);
      for (const n of m.errors ?? []) expect(n.code).toBe(3);
      e.check?.(m as unknown as Record<string, unknown>);
    });
  }
});
