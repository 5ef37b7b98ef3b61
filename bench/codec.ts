/**
 * Codec throughput: 1M IPv4 /26 prefixes (Calico block size) packed into UPDATEs with
 * encodeUpdates, then decoded with decodeMessage. Prints prefixes/s for each direction.
 *   npx tsx bench/codec.ts [count]
 */
import {
  DEFAULT_CODEC_OPTIONS,
  decodeMessage,
  encodeUpdates,
  type Nlri,
  type UpdateMessage,
} from "../src/bgp/wire/index.ts";

const COUNT = Number(process.argv[2] ?? 1_000_000);
const opts = DEFAULT_CODEC_OPTIONS;
const attributes = {
  origin: 0 as const,
  asPath: [{ type: 2 as const, asns: [64512] }],
  nextHop: "192.168.40.101",
  communities: [64512 * 65536 + 100],
};

// 1M distinct /26 blocks starting at 10.0.0.0: 4 per /24.
const nlri: Nlri[] = new Array(COUNT);
for (let i = 0; i < COUNT; i++) {
  const v = (0x0a000000 + i * 64) >>> 0;
  nlri[i] = {
    prefix: { afi: 1, addr: `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`, len: 26 },
  };
}

function time<T>(fn: () => T): [T, number] {
  const t0 = process.hrtime.bigint();
  const r = fn();
  return [r, Number(process.hrtime.bigint() - t0) / 1e9];
}

// Warm up the JIT on a slice first.
for (const m of encodeUpdates({ attributes, nlri: nlri.slice(0, 50_000) }, opts)) decodeMessage(m, opts);

const [msgs, encSec] = time(() => encodeUpdates({ attributes, nlri }, opts));
const bytes = msgs.reduce((n, m) => n + m.length, 0);
const [decoded, decSec] = time(() => {
  let n = 0;
  for (const m of msgs) n += (decodeMessage(m, opts) as UpdateMessage).nlri.length;
  return n;
});
if (decoded !== COUNT) throw new Error(`decoded ${decoded} prefixes, expected ${COUNT}`);

const fmt = (x: number): string => Math.round(x).toLocaleString("en-US");
console.log(`prefixes: ${fmt(COUNT)} IPv4 /26 in ${fmt(msgs.length)} UPDATEs (${fmt(bytes)} octets)`);
console.log(`encode: ${fmt(COUNT / encSec)} prefixes/s (${(encSec * 1000).toFixed(0)} ms)`);
console.log(`decode: ${fmt(COUNT / decSec)} prefixes/s (${(decSec * 1000).toFixed(0)} ms)`);
