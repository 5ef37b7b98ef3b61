/**
 * Tiny byte builder for hand-made test vectors (pg-protocol's test BufferList idea): every
 * expected message in the tests is spelled out field by field from the RFC figures.
 */
export const h = (hex: string): Buffer => Buffer.from(hex.replace(/\s+/g, ""), "hex");

const u16 = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
};

/** RFC 4271 §4.1 header + body; `length` overrides the Length field. */
export function msg(type: number, body: Buffer | string, length?: number): Buffer {
  const b = typeof body === "string" ? h(body) : body;
  return Buffer.concat([Buffer.alloc(16, 0xff), u16(length ?? 19 + b.length), Buffer.of(type), b]);
}

/** One path attribute; extended length when `ext` or when the value exceeds 255 octets. */
export function attr(flags: number, code: number, value: Buffer | string, ext = false): Buffer {
  const v = typeof value === "string" ? h(value) : value;
  if (ext || v.length > 255) return Buffer.concat([Buffer.of(flags | 0x10, code), u16(v.length), v]);
  return Buffer.concat([Buffer.of(flags, code, v.length), v]);
}

/** RFC 4271 §4.3 UPDATE; `wlen`/`alen` override the two length fields. */
export function update(p: {
  withdrawn?: Buffer | string;
  attrs?: Buffer | Buffer[];
  nlri?: Buffer | string;
  wlen?: number;
  alen?: number;
}): Buffer {
  const w = typeof p.withdrawn === "string" ? h(p.withdrawn) : (p.withdrawn ?? Buffer.alloc(0));
  const a = Array.isArray(p.attrs) ? Buffer.concat(p.attrs) : (p.attrs ?? Buffer.alloc(0));
  const n = typeof p.nlri === "string" ? h(p.nlri) : (p.nlri ?? Buffer.alloc(0));
  return msg(2, Buffer.concat([u16(p.wlen ?? w.length), w, u16(p.alen ?? a.length), a, n]));
}

/** RFC 4271 §4.2 OPEN body; `params` is the raw optional parameters block. */
export function open(p: {
  version?: number;
  as?: number;
  hold?: number;
  id?: string;
  params?: Buffer | string;
  optLen?: number;
}): Buffer {
  const params = typeof p.params === "string" ? h(p.params) : (p.params ?? Buffer.alloc(0));
  const id = Buffer.from((p.id ?? "192.0.2.1").split(".").map(Number));
  return msg(
    1,
    Buffer.concat([
      Buffer.of(p.version ?? 4),
      u16(p.as ?? 65001),
      u16(p.hold ?? 90),
      id,
      Buffer.of(p.optLen ?? params.length),
      params,
    ]),
  );
}

/** A capabilities optional parameter (type 2) around capability TLVs. */
export function capParam(caps: string): string {
  const b = h(caps);
  return `02${b.length.toString(16).padStart(2, "0")}${b.toString("hex")}`;
}

// Well-formed attributes used as a base (4-octet AS session).
export const ORIGIN_IGP = attr(0x40, 1, "00");
export const AS_PATH_65001 = attr(0x40, 2, "02 01 0000fde9");
export const NEXT_HOP = attr(0x40, 3, "c0000201");
export const BASE = [ORIGIN_IGP, AS_PATH_65001, NEXT_HOP];
/** 10.0.0.0/24 as NLRI. */
export const NLRI_10_0_0 = "18 0a0000";
