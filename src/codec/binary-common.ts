/**
 * What the igbinary and msgpack codecs share: a growable byte writer, the conversion of JS
 * values to the bytes PHP would hold, and the private records that keep a decoded value
 * re-encodable byte for byte where the value model alone cannot say how PHP wrote it.
 */
import { EncodeError } from '../errors.js';
import type { ClassRegistry } from './classes.js';
import { keyStringToBytes, latin1 } from './strings.js';
import { PhpArray, PhpEnum, PhpFloat, PhpObject, PhpSerializable, canonicalKey, type PhpKey } from './values.js';

type Utf8Write = (this: Buffer, s: string, offset: number, length: number) => number;
const utf8Write: Utf8Write =
  (Buffer.prototype as unknown as { utf8Write?: Utf8Write }).utf8Write ??
  function (this: Buffer, s: string, offset: number, length: number) {
    return this.write(s, offset, length, 'utf8');
  };

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

  /** Writes `n` chars of an ASCII string (known ASCII). */
  ascii(s: string): void {
    const n = s.length;
    if (this.pos + n > this.buf.length) this.grow(n);
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) buf[p++] = s.charCodeAt(i);
    this.pos = p;
  }

  /** Writes a well-formed JS string of `byteLength` UTF-8 bytes. */
  utf8(s: string, byteLength: number): void {
    if (this.pos + byteLength > this.buf.length) this.grow(byteLength);
    this.pos += utf8Write.call(this.buf, s, this.pos, byteLength);
  }
}

/** True when every char is below 0x80 (the string is its own bytes). */
export function isAsciiString(s: string): boolean {
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

/** Error-message path of the value being written: `$_SESSION["k"][0]…` or `value[…]`. */
export class EncodePath {
  private readonly keys: unknown[] = [];
  constructor(private readonly root: string) {}
  push(key: unknown): void {
    this.keys.push(key);
  }
  set(key: unknown): void {
    this.keys[this.keys.length - 1] = key;
  }
  pop(): void {
    this.keys.pop();
  }
  fail(message: string): never {
    let path = this.root;
    for (const k of this.keys) path += `[${typeof k === 'string' ? JSON.stringify(k) : String(k)}]`;
    throw new EncodeError(`${message} (at ${path})`);
  }
}
