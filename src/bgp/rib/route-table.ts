/**
 * RouteTable: the RIBs' map from RouteKey to a value, cheaper than a JS Map for the keys a large
 * IPv4 table is made of. Integer keys 1..2^31-1 (every IPv4 prefix up to /30, see prefixKey) live
 * in an open-addressing table: keys in an Int32Array, values in a plain array, Fibonacci hashing,
 * linear probing, deletions leave tombstones (nothing moves, so a cursor survives them). Other
 * keys (IPv6 and ADD-PATH strings, /31 and /32 keys) go to an ordinary Map beside it.
 *
 * Why: in a 1M-route ingest the Adj-RIB-In and Loc-RIB Map operations were most of the CPU
 * (V8's Map.set of 1M small-integer keys ~450 ms, this table ~150 ms), and a peer drop is
 * Map.delete + Map.get per route. Memory is about the same (12 B per slot at load ≤ 0.75).
 *
 * Iteration order is NOT insertion order (slot order, then the Map's order). A Cursor visits
 * every entry present when it started and not deleted before it got there; an entry added
 * meanwhile may or may not be visited; if an insertion made the table grow, the cursor starts the
 * integer part over (entries may then be visited twice, none is missed). The RIBs' sliced walks
 * (drain, stale marking, sweep) are fine with that: see adj-rib-in.ts.
 */
import type { RouteKey } from "./prefix-util.ts";

const EMPTY = 0;
const TOMBSTONE = -1;
const MIN_BITS = 4;
/** Fibonacci hashing multiplier (2^32 / golden ratio): spreads consecutive keys (/26 blocks). */
const GOLDEN = 0x9e3779b1;

export class RouteTable<V> {
  private keys: Int32Array;
  private vals: (V | undefined)[];
  private bits: number;
  /** Live integer entries. */
  private count = 0;
  /** Live + tombstones: what the probe chains see. */
  private used = 0;
  /** Bumped on every rehash (cursors start their integer part over). */
  private epoch = 0;
  /** Keys that are not integers in 1..2^31-1. */
  private other: Map<RouteKey, V> | undefined;

  constructor() {
    this.bits = MIN_BITS;
    this.keys = new Int32Array(1 << MIN_BITS);
    this.vals = new Array(1 << MIN_BITS);
  }

  get size(): number {
    return this.count + (this.other === undefined ? 0 : this.other.size);
  }

  /** Slot of `k`, or -1. */
  private find(k: number): number {
    const keys = this.keys;
    const mask = keys.length - 1;
    let i = Math.imul(k, GOLDEN) >>> (32 - this.bits);
    for (;;) {
      const x = keys[i]!;
      if (x === k) return i;
      if (x === EMPTY) return -1;
      i = (i + 1) & mask;
    }
  }

  get(k: RouteKey): V | undefined {
    if (typeof k === "number" && (k | 0) === k && k > 0) {
      const i = this.find(k);
      return i < 0 ? undefined : this.vals[i];
    }
    return this.other?.get(k);
  }

  has(k: RouteKey): boolean {
    if (typeof k === "number" && (k | 0) === k && k > 0) return this.find(k) >= 0;
    return this.other?.has(k) === true;
  }

  set(k: RouteKey, v: V): this {
    if (!(typeof k === "number" && (k | 0) === k && k > 0)) {
      if (this.other === undefined) this.other = new Map();
      this.other.set(k, v);
      return this;
    }
    let keys = this.keys;
    let mask = keys.length - 1;
    let i = Math.imul(k, GOLDEN) >>> (32 - this.bits);
    let tomb = -1;
    for (;;) {
      const x = keys[i]!;
      if (x === k) {
        this.vals[i] = v;
        return this;
      }
      if (x === EMPTY) break;
      if (x === TOMBSTONE && tomb < 0) tomb = i;
      i = (i + 1) & mask;
    }
    if (tomb >= 0) {
      // Reuse the first tombstone of the chain: `used` does not change.
      keys[tomb] = k;
      this.vals[tomb] = v;
      this.count++;
      return this;
    }
    if ((this.used + 1) * 4 > keys.length * 3) {
      this.rehash(this.count + 1);
      keys = this.keys;
      mask = keys.length - 1;
      i = Math.imul(k, GOLDEN) >>> (32 - this.bits);
      while (keys[i] !== EMPTY) i = (i + 1) & mask;
    }
    keys[i] = k;
    this.vals[i] = v;
    this.count++;
    this.used++;
    return this;
  }

  delete(k: RouteKey): boolean {
    if (!(typeof k === "number" && (k | 0) === k && k > 0)) {
      return this.other?.delete(k) === true;
    }
    const i = this.find(k);
    if (i < 0) return false;
    const keys = this.keys;
    // End of a chain: the slot can become empty (no probe passes through it to a later key).
    if (keys[(i + 1) & (keys.length - 1)] === EMPTY) {
      keys[i] = EMPTY;
      this.used--;
    } else {
      keys[i] = TOMBSTONE;
    }
    this.vals[i] = undefined;
    this.count--;
    return true;
  }

  clear(): void {
    this.bits = MIN_BITS;
    this.keys = new Int32Array(1 << MIN_BITS);
    this.vals = new Array(1 << MIN_BITS);
    this.count = 0;
    this.used = 0;
    this.epoch++;
    // Map.clear() also ends the walk of any cursor that is in the Map's part.
    this.other?.clear();
    this.other = undefined;
  }

  /** New arrays sized for `need` live entries at load ≤ 1/2 (drops tombstones; may shrink). */
  private rehash(need: number): void {
    let bits = MIN_BITS;
    while (need * 2 > 1 << bits) bits++;
    const oldKeys = this.keys;
    const oldVals = this.vals;
    const keys = new Int32Array(1 << bits);
    const vals: (V | undefined)[] = new Array(1 << bits);
    const mask = keys.length - 1;
    const shift = 32 - bits;
    for (let j = 0; j < oldKeys.length; j++) {
      const k = oldKeys[j]!;
      if (k <= 0) continue;
      let i = Math.imul(k, GOLDEN) >>> shift;
      while (keys[i] !== EMPTY) i = (i + 1) & mask;
      keys[i] = k;
      vals[i] = oldVals[j];
    }
    this.keys = keys;
    this.vals = vals;
    this.bits = bits;
    this.used = this.count;
    this.epoch++;
  }

  /** A cursor over the entries (see the module comment for what it guarantees). */
  cursor(): Cursor<V> {
    return new Cursor(this);
  }

  /** Internal to Cursor. */
  _slots(): { keys: Int32Array; vals: (V | undefined)[]; epoch: number } {
    return { keys: this.keys, vals: this.vals, epoch: this.epoch };
  }

  /** Internal to Cursor. */
  _epoch(): number {
    return this.epoch;
  }

  /** Internal to Cursor. */
  _other(): Map<RouteKey, V> | undefined {
    return this.other;
  }

  *entries(): IterableIterator<[RouteKey, V]> {
    const c = this.cursor();
    while (c.next()) yield [c.key, c.value];
  }

  *values(): IterableIterator<V> {
    const c = this.cursor();
    while (c.next()) yield c.value;
  }

  [Symbol.iterator](): IterableIterator<[RouteKey, V]> {
    return this.entries();
  }
}

/**
 * Allocation-free walk: `while (c.next()) use(c.key, c.value)`. Holds its position across
 * calls, so a sliced walk over several macrotasks goes on where it stopped. Once the integer
 * part is done, a rehash no longer restarts it (the cursor has moved on to the Map).
 */
export class Cursor<V> {
  key: RouteKey = 0;
  value!: V;
  private slot = 0;
  private keys: Int32Array;
  private vals: (V | undefined)[];
  private epoch: number;
  private otherIt: Iterator<[RouteKey, V]> | undefined;
  /** Once false was returned, always false (a finished walk never starts over). */
  private done = false;

  constructor(private readonly table: RouteTable<V>) {
    const s = table._slots();
    this.keys = s.keys;
    this.vals = s.vals;
    this.epoch = s.epoch;
  }

  /** Moves to the next entry; false when there is none. */
  next(): boolean {
    if (this.done) return false;
    if (this.otherIt === undefined) {
      if (this.table._epoch() !== this.epoch) {
        // Rehashed (or cleared) since: start the integer part over.
        const s = this.table._slots();
        this.keys = s.keys;
        this.vals = s.vals;
        this.epoch = s.epoch;
        this.slot = 0;
      }
      const keys = this.keys;
      const n = keys.length;
      for (let i = this.slot; i < n; i++) {
        const k = keys[i]!;
        if (k > 0) {
          this.slot = i + 1;
          this.key = k;
          this.value = this.vals[i] as V;
          return true;
        }
      }
      this.slot = n;
      const other = this.table._other();
      if (other === undefined) {
        this.done = true;
        return false;
      }
      this.otherIt = other.entries();
    }
    const r = this.otherIt.next();
    if (r.done) {
      this.done = true;
      return false;
    }
    this.key = r.value[0];
    this.value = r.value[1];
    return true;
  }
}
