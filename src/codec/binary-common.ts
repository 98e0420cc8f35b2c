/**
 * What the igbinary and msgpack codecs share: a growable byte writer, the conversion of JS
 * values to the bytes PHP would hold, and the private records that keep a decoded value
 * re-encodable byte for byte where the value model alone cannot say how PHP wrote it.
 */
import { EncodeError } from '../errors.js';
import type { ClassRegistry } from './classes.js';
import { keyStringToBytes, latin1 } from './strings.js';
import { PhpArray, PhpEnum, PhpFloat, PhpObject, PhpSerializable, canonicalKey, type PhpKey } from './values.js';

let scratch: Buffer | null = Buffer.allocUnsafe(64 * 1024);

/** A growing output buffer (one shared scratch buffer, handed back by finish()/release()). */
export class ByteWriter {
  buf: Buffer;
  pos = 0;
  private readonly usesScratch: boolean;

  constructor() {
    if (scratch !== null) {
      this.buf = scratch;
      scratch = null;
      this.usesScratch = true;
    } else {
      this.buf = Buffer.allocUnsafe(4096);
      this.usesScratch = false;
    }
  }

  /** The bytes written, as a Buffer of their own; the writer is done after this. */
  finish(): Buffer {
    const out = Buffer.allocUnsafe(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    this.release();
    return out;
  }

  release(): void {
    if (this.usesScratch) scratch = this.buf.length <= 4 * 1024 * 1024 ? this.buf : Buffer.allocUnsafe(64 * 1024);
    this.buf = Buffer.alloc(0);
  }

  ensure(n: number): void {
    if (this.pos + n > this.buf.length) this.grow(n);
  }

  private grow(n: number): void {
    let size = Math.max(this.buf.length * 2, 256);
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(b: number): void {
    if (this.pos + 1 > this.buf.length) this.grow(1);
    this.buf[this.pos++] = b;
  }

  /** A type byte followed by a big-endian unsigned value of 1, 2 or 4 bytes. */
  tagged(tag: number, value: number, width: 1 | 2 | 4): void {
    if (this.pos + 5 > this.buf.length) this.grow(5);
    const buf = this.buf;
    let p = this.pos;
    buf[p++] = tag;
    if (width === 4) {
      buf[p++] = value >>> 24;
      buf[p++] = (value >>> 16) & 0xff;
    }
    if (width >= 2) buf[p++] = (value >>> 8) & 0xff;
    buf[p++] = value & 0xff;
    this.pos = p;
  }

  /** A type byte followed by a big-endian unsigned 64-bit value (hi and lo 32-bit halves). */
  tagged64(tag: number, hi: number, lo: number): void {
    if (this.pos + 9 > this.buf.length) this.grow(9);
    const buf = this.buf;
    buf[this.pos] = tag;
    buf.writeUInt32BE(hi >>> 0, this.pos + 1);
    buf.writeUInt32BE(lo >>> 0, this.pos + 5);
    this.pos += 9;
  }

  /** A type byte followed by the 8 bytes of a double (big-endian), or of recorded NaN bits. */
  double(tag: number, f: number, bits: Uint8Array | undefined): void {
    if (this.pos + 9 > this.buf.length) this.grow(9);
    this.buf[this.pos] = tag;
    if (bits !== undefined) this.buf.set(bits, this.pos + 1);
    else this.buf.writeDoubleBE(f, this.pos + 1);
    this.pos += 9;
  }

  raw(bytes: Uint8Array): void {
    if (this.pos + bytes.length > this.buf.length) this.grow(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

}

/** True when every char is below 0x80 (the string is its own bytes). */
function isAsciiString(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/**
 * The bytes PHP holds for a JS string: UTF-8, except that the lone surrogates U+DC80..U+DCFF
 * the decoder uses for bytes that are not UTF-8 become those bytes again. Null for ASCII
 * (the string is its own bytes). `fail` reports a lone surrogate that has no byte form.
 */
export function stringBytes(s: string, fail: (message: string) => never): Buffer | null {
  if (isAsciiString(s)) return null;
  return keyStringToBytes(s, fail) ?? Buffer.from(s, 'utf8');
}

/** The bytes as a latin1 string: one char per byte, a Map key for "the same bytes". */
export function bytesKey(bytes: Uint8Array): string {
  const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return latin1(b, 0, b.length);
}

// ---------------------------------------------------------------------------------------------
// Private records: what PHP's bytes said that the value model cannot (see docs/codec-binary-handlers.md).

/** NaN payloads: the 8 bytes of a NaN PHP wrote that is not the canonical 0x7ff8000000000000. */
const nanBits = new WeakMap<PhpFloat, Uint8Array>();

/** Remembers the bytes of a decoded NaN (big-endian), when they are not the canonical NaN. */
export function recordNanBits(f: PhpFloat, buf: Uint8Array, at: number): void {
  if (buf[at] === 0x7f && buf[at + 1] === 0xf8 && buf[at + 2] === 0 && buf[at + 3] === 0 && buf[at + 4] === 0 && buf[at + 5] === 0 && buf[at + 6] === 0 && buf[at + 7] === 0) return;
  nanBits.set(f, Uint8Array.prototype.slice.call(buf, at, at + 8));
}

/** The recorded bytes of a PhpFloat that is still NaN, else undefined. */
export function recordedNanBits(f: PhpFloat): Uint8Array | undefined {
  const v = f.value;
  return v !== v ? nanBits.get(f) : undefined;
}

/**
 * Entries PHP wrote without a value (igbinary: a null in place of a key, for an uninitialised
 * typed property): their positions in the entry sequence, by the decoded container.
 */
const gapRecords = new WeakMap<Map<PhpKey, unknown>, readonly number[]>();

export function recordGaps(container: Map<PhpKey, unknown>, positions: number[]): void {
  gapRecords.set(container, Object.freeze(positions));
}

export function recordedGaps(container: unknown): readonly number[] | undefined {
  return container instanceof Map ? gapRecords.get(container) : undefined;
}

/** How many entries may be written again for arrays met more than once (see RepeatedArrays). */
export const REPEAT_LIMIT = 1 << 24;

/**
 * Neither serialize() nor msgpack can share an array: one met again (the same instance in two
 * places — igbinary shares arrays) is written out in full each time, as PHP writes it, and a few
 * hundred bytes of igbinary can nest 2^40 copies. An encoder tells this each non-empty array it
 * writes; past REPEAT_LIMIT entries written again it fails instead of running for hours.
 */
export class RepeatedArrays {
  readonly #written = new Set<object>();
  #repeated = 0;

  /**
   * Whether writing `v` (`size` entries; -1 when not counted yet, e.g. a plain object's keys:
   * counted only if it is met again) keeps the entries written again within REPEAT_LIMIT.
   */
  withinLimit(v: object, size: number): boolean {
    if (size === 0) return true;
    if (!this.#written.has(v)) {
      this.#written.add(v);
      return true;
    }
    return (this.#repeated += size < 0 ? Object.keys(v).length : size) <= REPEAT_LIMIT;
  }
}

// ---------------------------------------------------------------------------------------------
// What a JS value is to PHP.

/** An object PHP keeps identity for: PhpObject, PhpSerializable, PhpEnum, or a registered class instance. */
export function isObjectLike(v: unknown, classes: ClassRegistry | undefined): v is object {
  if (typeof v !== 'object' || v === null) return false;
  if (v instanceof PhpObject || v instanceof PhpSerializable || v instanceof PhpEnum) return true;
  return classes !== undefined && classes.forInstance(v) !== undefined;
}

/** What the encoders treat as a PHP array: a Map (PhpArray or plain), a JS array or a plain object. */
export function isArrayLike(v: unknown): v is Map<unknown, unknown> | unknown[] | Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  if (v instanceof Map || Array.isArray(v)) return true;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** The identity key of an object-like for back-references: enum cases are singletons in PHP. */
export function objectIdentity(v: object): object | string {
  return v instanceof PhpEnum ? `enum\0${v.className}\0${v.caseName}` : v;
}

/**
 * A PHP array's entries as [key, value] pairs in order, keys as PHP stores them (PhpArray keys
 * as they are; other Maps, JS arrays and plain objects through PHP's numeric-key rule).
 * Throws (through `fail`) on keys PHP cannot hold or that collide after that rule.
 */
export function arrayEntries(v: Map<unknown, unknown> | unknown[] | Record<string, unknown>, fail: (message: string) => never): { size: number; keys: PhpKey[] | null; values: unknown[] | null; map: Map<unknown, unknown> | null } {
  if (v instanceof PhpArray) return { size: v.size, keys: null, values: null, map: v };
  if (v instanceof Map) {
    const keys: PhpKey[] = [];
    const values: unknown[] = [];
    const seen = new Set<unknown>();
    for (const [k, x] of v) {
      let key: PhpKey;
      if (typeof k === 'string' || typeof k === 'bigint' || (typeof k === 'number' && Number.isInteger(k))) {
        try {
          key = canonicalKey(k);
        } catch (e) {
          fail(`invalid array key: ${(e as Error).message}`);
        }
      } else fail(`array keys must be strings or integers, got ${describeJs(k)}`);
      if (typeof key === 'number' && !Number.isSafeInteger(key)) fail(`array key ${key} is not an integer PHP can hold`);
      const id = typeof key === 'bigint' ? `big:${key}` : key;
      if (seen.has(id)) fail(`Map keys ${JSON.stringify(String(k))} collide after PHP's numeric-key rule`);
      seen.add(id);
      keys.push(key);
      values.push(x);
    }
    return { size: keys.length, keys, values, map: null };
  }
  if (Array.isArray(v)) return { size: v.length, keys: v.map((_, i) => i), values: v, map: null };
  const names = Object.keys(v);
  return { size: names.length, keys: names.map((k) => canonicalKey(k)), values: names.map((k) => v[k]), map: null };
}

export function describeJs(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'object') return (v as { constructor?: { name?: string } }).constructor?.name ?? 'object';
  return typeof v === 'number' ? String(v) : typeof v;
}

/** Why a JS value cannot be encoded (the common messages of both encoders). */
export function unsupported(v: unknown): string {
  if (typeof v === 'function' || typeof v === 'symbol') return `cannot encode a ${typeof v}`;
  if (v instanceof Date) return 'cannot encode a Date (convert it first: date.toISOString() or a unix timestamp)';
  const ctor = (v as { constructor?: { name?: string } } | null)?.constructor?.name;
  return `cannot encode an instance of ${ctor || 'an unknown class'} (register it in a ClassRegistry to write it as a PHP object)`;
}

export const INT64_MIN = -(2n ** 63n);
export const INT64_MAX = 2n ** 63n - 1n;
export const TWO_63 = 9223372036854775808;

/** A JS value that PHP holds as an int: the number, or the bigint beyond the safe range; else undefined. */
export function asPhpInt(v: unknown): number | bigint | undefined {
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v) && !Object.is(v, -0)) return v;
    if (Number.isInteger(v) && v !== 0 && v < TWO_63 && v >= -TWO_63) return BigInt(v);
    return undefined;
  }
  if (typeof v === 'bigint') return v;
  return undefined;
}

/** Throws EncodeError when a bigint is outside PHP's 64-bit range. */
export function checkInt64(v: bigint, fail: (message: string) => never): void {
  if (v < INT64_MIN || v > INT64_MAX) fail(`int ${v} is outside PHP's 64-bit range`);
}

/** How a container's keys are written. */
export const KEYS = 0;
/** A msgpack array: values only. */
export const LIST = 1;
/** The top level of a session: string keys only. */
export const SESSION = 2;

/**
 * Beyond this many nested containers the walker stops recursing and continues with an explicit
 * stack: recursion is faster (no frame objects, Map iteration in a local loop), the explicit
 * stack keeps any depth safe from a JS stack overflow.
 */
const RECURSION_LIMIT = 200;

const mapKeys = Map.prototype.keys as (this: Map<unknown, unknown>) => IterableIterator<unknown>;
const mapValues = Map.prototype.values as (this: Map<unknown, unknown>) => IterableIterator<unknown>;

/** A container being written by the explicit-stack part of the walk. */
class WalkFrame {
  i = 0;
  seq = 0;
  gapIndex = 0;
  constructor(
    readonly n: number,
    readonly keysIt: Iterator<unknown> | null,
    readonly valuesIt: Iterator<unknown> | null,
    readonly keys: unknown[] | null,
    readonly values: unknown[] | null,
    readonly gaps: readonly number[] | undefined,
    readonly mode: number,
    readonly depth: number,
  ) {}
}

/**
 * Walks containers for an encoder: writes each entry's key (unless LIST) and value, depth first.
 * The format-specific parts are key(), value() and gap().
 */
export abstract class EntryWalker {
  readonly w = new ByteWriter();
  /** Containers open above the entry being written. */
  protected depth = 0;
  /** The keys leading to the value being written, `depth` of them in use (for error messages). */
  private readonly keyPath: unknown[] = [];
  private readonly frames: WalkFrame[] = [];
  private looping = false;
  readonly fail: (message: string) => never = (message) => {
    let path = this.rootLabel;
    for (let i = 0; i < this.depth; i++) {
      const k = this.keyPath[i];
      path += `[${typeof k === 'string' ? JSON.stringify(k) : String(k)}]`;
    }
    throw new EncodeError(`${message} (at ${path})`);
  };

  constructor(private readonly rootLabel: string) {}

  /** Writes an entry's key (KEYS, SESSION). */
  protected abstract key(k: unknown, session: boolean): void;
  /** Writes one value, walking it if it is a container. */
  abstract value(v: unknown): void;
  /** Writes an entry without a value (igbinary's null in place of a key). */
  protected gap(): void {
    this.fail('an entry without a value');
  }

  /** Writes the entries of a Map, keys as stored (the header is written). */
  protected walkMap(map: Map<unknown, unknown>, mode: number, gaps?: readonly number[]): void {
    if (this.depth >= RECURSION_LIMIT || gaps !== undefined) {
      this.push(new WalkFrame(map.size, mapKeys.call(map), mapValues.call(map), null, null, gaps, mode, this.depth));
      return;
    }
    const d = this.depth++;
    const path = this.keyPath;
    const keys = mapKeys.call(map);
    const values = mapValues.call(map);
    if (mode === LIST) {
      let i = 0;
      for (let r = values.next(); r.done !== true; r = values.next()) {
        path[d] = i++;
        this.value(r.value);
      }
    } else {
      const session = mode === SESSION;
      for (let r = keys.next(); r.done !== true; r = keys.next()) {
        const k = r.value;
        path[d] = k;
        this.key(k, session);
        this.value(values.next().value);
      }
    }
    this.depth = d;
  }

  /** Writes entries given as arrays (keys null: the indices). */
  protected walkLists(keys: unknown[] | null, values: unknown[], mode: number): void {
    if (this.depth >= RECURSION_LIMIT) {
      this.push(new WalkFrame(values.length, null, null, keys, values, undefined, mode, this.depth));
      return;
    }
    const d = this.depth++;
    const path = this.keyPath;
    const session = mode === SESSION;
    for (let i = 0; i < values.length; i++) {
      const k = keys === null ? i : keys[i];
      path[d] = k;
      if (mode !== LIST) this.key(k, session);
      this.value(values[i]);
    }
    this.depth = d;
  }

  private push(frame: WalkFrame): void {
    this.frames.push(frame);
    if (this.looping) return;
    this.looping = true;
    const saved = this.depth;
    try {
      this.loop();
    } finally {
      this.looping = false;
    }
    this.depth = saved;
  }

  /** The explicit-stack walk: entries of the innermost frame first. */
  private loop(): void {
    const frames = this.frames;
    const path = this.keyPath;
    while (frames.length > 0) {
      const f = frames[frames.length - 1]!;
      this.depth = f.depth + 1;
      const gaps = f.gaps;
      if (gaps !== undefined && f.gapIndex < gaps.length && (gaps[f.gapIndex]! <= f.seq || f.i >= f.n)) {
        this.gap();
        f.gapIndex++;
        f.seq++;
        continue;
      }
      if (f.i >= f.n) {
        frames.pop();
        continue;
      }
      let k: unknown;
      let v: unknown;
      if (f.keysIt !== null) {
        const r = f.keysIt.next();
        if (r.done === true) this.fail('an array changed while it was being encoded');
        k = r.value;
        v = f.valuesIt!.next().value;
      } else {
        k = f.keys === null ? f.i : f.keys[f.i];
        v = f.values![f.i];
      }
      f.i++;
      f.seq++;
      path[f.depth] = k;
      if (f.mode !== LIST) this.key(k, f.mode === SESSION);
      this.value(v);
    }
  }
}

/**
 * igbinary's string table on the encoder side: string (its bytes, one char per byte) → number.
 * An open-addressing table whose hash the caller computes while it reads the chars anyway;
 * entries are compared with ===, so any hash is correct and a cheap one is enough. Reused from
 * call to call (a generation number marks the live entries), one at a time.
 */
export class StringTable {
  private keys: string[];
  private ids: Int32Array;
  private hashes: Int32Array;
  private gens: Uint32Array;
  private gen = 1;
  private mask: number;
  private size = 0;

  constructor(capacity = 1024) {
    this.keys = new Array<string>(capacity).fill('');
    this.ids = new Int32Array(capacity);
    this.hashes = new Int32Array(capacity);
    this.gens = new Uint32Array(capacity);
    this.mask = capacity - 1;
  }

  private static free: StringTable | null = null;

  /** An empty table (the shared one when it is not in use). */
  static take(): StringTable {
    const t = StringTable.free ?? new StringTable();
    StringTable.free = null;
    return t;
  }

  /** Hands the table back (after a run, also a failed one). */
  release(): void {
    if (this.gen >= 0xfffffff0 || this.keys.length > 1 << 16) return; // let the GC have big ones
    this.gen++;
    this.size = 0;
    StringTable.free = this;
  }

  /** The number of `s` when it is in the table; otherwise adds it as `id` and returns -1. */
  getOrAdd(s: string, hash: number, id: number): number {
    const keys = this.keys;
    const gens = this.gens;
    const gen = this.gen;
    let i = hash & this.mask;
    while (gens[i] === gen) {
      if (this.hashes[i] === hash && keys[i] === s) return this.ids[i]!;
      i = (i + 1) & this.mask;
    }
    keys[i] = s;
    this.ids[i] = id;
    this.hashes[i] = hash;
    gens[i] = gen;
    if (++this.size * 2 > this.mask) this.grow();
    return -1;
  }

  private grow(): void {
    const { keys, ids, hashes, gens, gen } = this;
    const capacity = keys.length * 2;
    this.keys = new Array<string>(capacity).fill('');
    this.ids = new Int32Array(capacity);
    this.hashes = new Int32Array(capacity);
    this.gens = new Uint32Array(capacity);
    this.mask = capacity - 1;
    for (let j = 0; j < keys.length; j++) {
      if (gens[j] !== gen) continue;
      let i = hashes[j]! & this.mask;
      while (this.gens[i] === gen) i = (i + 1) & this.mask;
      this.keys[i] = keys[j]!;
      this.ids[i] = ids[j]!;
      this.hashes[i] = hashes[j]!;
      this.gens[i] = gen;
    }
  }
}

/** A cheap hash of a string from its length and up to 16 of its chars (for StringTable). */
export function sampleHash(s: string): number {
  const n = s.length;
  let h = n;
  const step = n > 16 ? (n >> 4) : 1;
  for (let i = 0; i < n; i += step) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h ^ (h >>> 15);
}

/** The key cache (see asciiKey): ASCII keys of up to KEY_CACHE_WIDTH bytes, by hash. */
const KEY_CACHE_BITS = 10;
const KEY_CACHE_MASK = (1 << KEY_CACHE_BITS) - 1;
const KEY_CACHE_WIDTH = 16;
const keyCacheString: string[] = new Array<string>(1 << KEY_CACHE_BITS).fill('');
const keyCacheLength = new Uint8Array(1 << KEY_CACHE_BITS);
const keyCacheBytes = new Uint8Array((1 << KEY_CACHE_BITS) * KEY_CACHE_WIDTH);

/**
 * The bytes [start, end) as a key string when they are ASCII, else undefined. Short keys repeat
 * in every array of the same shape and in every session of an application: one string per
 * distinct key (kept across calls) means V8 hashes it once, not in every Map.set.
 */
export function asciiKey(buf: Uint8Array, start: number, end: number, text: string | null): string | undefined {
  const len = end - start;
  if (len > KEY_CACHE_WIDTH || len === 0) {
    for (let i = start; i < end; i++) if (buf[i]! > 0x7f) return undefined;
    return text !== null ? text.slice(start, end) : latin1(buf as Buffer, start, end);
  }
  let h = len;
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    if (c > 0x7f) return undefined;
    h = (Math.imul(h, 31) + c) | 0;
  }
  const slot = (h ^ (h >>> KEY_CACHE_BITS)) & KEY_CACHE_MASK;
  const base = slot * KEY_CACHE_WIDTH;
  if (keyCacheLength[slot] === len) {
    let j = 0;
    while (j < len && keyCacheBytes[base + j] === buf[start + j]) j++;
    if (j === len) return keyCacheString[slot]!;
  }
  // A copy, not a slice: a slice would keep the whole input alive in the cache.
  const key = latin1(buf as Buffer, start, end);
  keyCacheString[slot] = key;
  keyCacheLength[slot] = len;
  for (let j = 0; j < len; j++) keyCacheBytes[base + j] = buf[start + j]!;
  return key;
}
