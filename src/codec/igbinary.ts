/**
 * igbinary (php-igbinary 3.2, format version 2): igbinary_serialize()/igbinary_unserialize()
 * and `session.serialize_handler = igbinary`, byte for byte.
 *
 * The format (igbinary src/php7/igbinary.c): a 4-byte header `00 00 00 02`, then one value as
 * typed items: a type byte, big-endian lengths/numbers of the width the type names, raw bytes.
 * Two tables run through one serialization:
 * - strings: every non-empty string (values and keys) and class name is numbered in order of
 *   first appearance; later appearances are written as that number (string_id / object_id).
 * - references: every array (the outermost one too), every object, and every `&` reference
 *   is numbered in order of first appearance; later appearances are written as that number
 *   (ref = the same array or reference, objref = the same object). `0x25` before a value marks
 *   a PHP reference.
 * A session is the whole $_SESSION array, written after the header (no trailing byte).
 *
 * Mapping onto the value model (values.ts): an array PHP wrote once and referred back to later
 * (PHP shares arrays copy-on-write, igbinary writes the shared one once) decodes to ONE
 * PhpArray instance held in both places, and the encoder writes a PhpArray met again as a
 * back-reference; a string repeated through the string table is one JS string (one Buffer
 * when it is not UTF-8). See docs/codec-binary-handlers.md.
 */
import { DecodeError, EncodeError } from '../errors.js';
import { createMappedInstance, fillMappedInstance, mappedInstanceProps, type ClassRegistry, type PhpClassMapping } from './classes.js';
import { DEFAULT_MAX_DEPTH, type DecodeOptions } from './decoder.js';
import type { EncodeOptions } from './encoder.js';
import {
  EntryWalker,
  KEYS,
  SESSION,
  StringTable,
  asciiKey,
  sampleHash,
  arrayEntries,
  asPhpInt,
  bytesKey,
  checkInt64,
  isArrayLike,
  isObjectLike,
  objectIdentity,
  recordGaps,
  recordNanBits,
  recordedGaps,
  recordedNanBits,
  stringBytes,
  unsupported,
} from './binary-common.js';
import { bytesToKeyString, isValidUtf8, latin1, utf8Slice } from './strings.js';
import { PhpArray, PhpEnum, PhpFloat, PhpObject, PhpReference, PhpSerializable, canonicalKey, type PhpKey, type PhpValue } from './values.js';
import { constants as bufferConstants, isAscii as nativeIsAscii } from 'node:buffer';

export interface IgbinaryEncodeOptions extends EncodeOptions {
  /**
   * PHP's `igbinary.compact_strings` (default true, as in PHP): repeated strings are written
   * as a back-reference to their first appearance. Class names always are.
   */
  compactStrings?: boolean;
}

/* Type bytes (igbinary.c enum igbinary_type). */
const T_NULL = 0x00, T_REF8 = 0x01, T_REF16 = 0x02, T_REF32 = 0x03, T_FALSE = 0x04, T_TRUE = 0x05;
const T_LONG8P = 0x06, T_LONG8N = 0x07, T_LONG16P = 0x08, T_LONG16N = 0x09, T_LONG32P = 0x0a, T_LONG32N = 0x0b;
const T_DOUBLE = 0x0c, T_STRING_EMPTY = 0x0d, T_STRING_ID8 = 0x0e, T_STRING_ID16 = 0x0f, T_STRING_ID32 = 0x10;
const T_STRING8 = 0x11, T_STRING16 = 0x12, T_STRING32 = 0x13, T_ARRAY8 = 0x14, T_ARRAY16 = 0x15, T_ARRAY32 = 0x16;
const T_OBJECT8 = 0x17, T_OBJECT16 = 0x18, T_OBJECT32 = 0x19, T_OBJECT_ID8 = 0x1a, T_OBJECT_ID16 = 0x1b, T_OBJECT_ID32 = 0x1c;
const T_OBJECT_SER8 = 0x1d, T_OBJECT_SER16 = 0x1e, T_OBJECT_SER32 = 0x1f, T_LONG64P = 0x20, T_LONG64N = 0x21;
const T_OBJREF8 = 0x22, T_OBJREF16 = 0x23, T_OBJREF32 = 0x24, T_REF = 0x25, T_STRING64 = 0x26, T_ENUM_CASE = 0x27;

const TWO_32 = 4294967296;
const mapSet = Map.prototype.set;

// =============================================================================================
// Decoding

interface Frame {
  /** Where entries go: the array itself, or an object's properties. */
  container: PhpArray;
  isObject: boolean;
  /** Entries still to read (counting entries without a value). */
  remaining: number;
  /** Entries read so far, counting those without a value. */
  seq: number;
  /** Positions of entries PHP wrote without a value (a null in place of the key). */
  gaps: number[] | null;
  key: PhpKey;
  /** A mapped instance to fill once its properties are read. */
  mapping: PhpClassMapping | undefined;
  own: object | null;
  className: string;
}

class IgParser {
  pos = 0;
  readonly end: number;
  /** The input as one latin1 string (ASCII strings are sliced from it), or null when too long. */
  private readonly text: string | null;
  private readonly allAscii: boolean;
  private readonly maxDepth: number;
  private readonly classes: ClassRegistry | undefined;
  private readonly source: string | undefined;

  /** The string table: byte ranges, and their values/keys once made. */
  private readonly strStart: number[] = [];
  private readonly strEnd: number[] = [];
  private readonly strValue: (string | Buffer | undefined)[] = [];
  private readonly strKey: (string | undefined)[] = [];
  /** The reference table: arrays, objects (or mapped instances) and PhpReference boxes, by number. */
  private readonly refs: unknown[] = [];
  /** Set by readValue: whether it opened a container (pushed a frame). */
  private pushed = false;

  constructor(
    readonly buf: Buffer,
    options: DecodeOptions = {},
  ) {
    this.end = buf.length;
    this.text = buf.length <= bufferConstants.MAX_STRING_LENGTH ? latin1(buf, 0, buf.length) : null;
    this.allAscii = nativeIsAscii(buf);
    const maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
    if (!(Number.isInteger(maxDepth) && maxDepth >= 0)) throw new TypeError(`maxDepth must be a non-negative integer, got ${maxDepth}`);
    this.maxDepth = maxDepth;
    this.classes = options.classes;
    this.source = options.source;
  }

  fail(message: string, offset = this.pos): never {
    throw new DecodeError(message, offset, this.source);
  }

  /** Needs `n` more bytes from pos. */
  private need(n: number, what: string): void {
    if (this.end - this.pos < n) this.fail(`unexpected end of data, expected ${what}`);
  }

  header(): void {
    if (this.end < 5) this.fail(`igbinary data is at least 5 bytes (a 4-byte header and a value), got ${this.end}`, 0);
    const b = this.buf;
    if (b[0] !== 0 || b[1] !== 0 || b[2] !== 0 || (b[3] !== 2 && b[3] !== 1)) {
      this.fail(`not igbinary data: the header is ${b.subarray(0, 4).toString('hex')}, expected 00000002 (or the old 00000001)`, 0);
    }
    this.pos = 4;
  }

  expectEnd(what: string): void {
    if (this.pos < this.end) this.fail(`unexpected trailing data ${what}`);
  }

  /** A big-endian unsigned length of 1, 2 or 4 bytes. */
  private length(width: 1 | 2 | 4, what: string): number {
    this.need(width, what);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + width;
    if (width === 1) return b[p]!;
    if (width === 2) return (b[p]! << 8) | b[p + 1]!;
    return b.readUInt32BE(p);
  }

  /** String bytes → JS string (valid UTF-8) or a Buffer copy (anything else). */
  private bytesValue(start: number, end: number): string | Buffer {
    if (this.allAscii) return this.ascii(start, end);
    const buf = this.buf;
    let i = start;
    while (i < end && buf[i]! < 0x80) i++;
    if (i === end) return this.ascii(start, end);
    const s = utf8Slice(buf, start, end);
    if (s.indexOf('\uFFFD') < 0 || isValidUtf8(buf, i, end)) return s;
    return Buffer.from(buf.subarray(start, end));
  }

  private ascii(start: number, end: number): string {
    return this.text !== null ? this.text.slice(start, end) : latin1(this.buf, start, end);
  }

  /** Reads a string of `len` bytes at pos into the string table; returns its number. */
  private newString(len: number, at: number): number {
    if (len > this.end - this.pos) this.fail(`string of ${len} bytes runs past the end of the data`, at);
    const id = this.strStart.length;
    this.strStart.push(this.pos);
    this.pos += len;
    this.strEnd.push(this.pos);
    return id;
  }

  private tableValue(id: number): string | Buffer {
    let v = this.strValue[id];
    if (v === undefined) {
      v = this.bytesValue(this.strStart[id]!, this.strEnd[id]!);
      this.strValue[id] = v;
    }
    return v;
  }

  private tableKey(id: number): string {
    let k = this.strKey[id];
    if (k === undefined) {
      const start = this.strStart[id]!;
      const end = this.strEnd[id]!;
      k = asciiKey(this.buf, start, end, this.text) ?? bytesToKeyString(this.buf, start, end);
      this.strKey[id] = k;
    }
    return k;
  }

  /** A string-table number of 1, 2 or 4 bytes, checked against the table. */
  private stringId(width: 1 | 2 | 4): number {
    const at = this.pos - 1;
    const id = this.length(width, 'a string number');
    if (id >= this.strStart.length) this.fail(`string back-reference ${id} but only ${this.strStart.length} strings so far`, at);
    return id;
  }

  /** A string (any string type byte `t` already read) as a table number, or -1 for the empty string. */
  private stringOf(t: number, what: string): number {
    const at = this.pos - 1;
    switch (t) {
      case T_STRING_EMPTY:
        return -1;
      case T_STRING8:
        return this.newString(this.length(1, what), at);
      case T_STRING16:
        return this.newString(this.length(2, what), at);
      case T_STRING32:
        return this.newString(this.length(4, what), at);
      case T_STRING64: {
        this.need(8, what);
        const hi = this.buf.readUInt32BE(this.pos);
        const lo = this.buf.readUInt32BE(this.pos + 4);
        this.pos += 8;
        const len = hi * TWO_32 + lo;
        if (len > this.end - this.pos) this.fail(`string of ${hi > 0x1fffff ? 'more than 2^53' : len} bytes runs past the end of the data`, at);
        return this.newString(len, at);
      }
      case T_STRING_ID8:
        return this.stringId(1);
      case T_STRING_ID16:
        return this.stringId(2);
      case T_STRING_ID32:
        return this.stringId(4);
      default:
        return -2;
    }
  }

  /** An int of type `t` (its bytes follow pos): number when safe, bigint beyond. */
  private long(t: number): number | bigint {
    const b = this.buf;
    const at = this.pos - 1;
    switch (t) {
      case T_LONG8P:
        this.need(1, 'an 8-bit int');
        return b[this.pos++]!;
      case T_LONG8N:
        this.need(1, 'an 8-bit int');
        return 0 - b[this.pos++]!;
      case T_LONG16P:
      case T_LONG16N: {
        this.need(2, 'a 16-bit int');
        const v = (b[this.pos]! << 8) | b[this.pos + 1]!;
        this.pos += 2;
        return t === T_LONG16P ? v : 0 - v;
      }
      case T_LONG32P:
      case T_LONG32N: {
        this.need(4, 'a 32-bit int');
        const v = b.readUInt32BE(this.pos);
        this.pos += 4;
        return t === T_LONG32P ? v : 0 - v;
      }
      default: {
        this.need(8, 'a 64-bit int');
        const hi = b.readUInt32BE(this.pos);
        const lo = b.readUInt32BE(this.pos + 4);
        this.pos += 8;
        if (hi < 0x200000) {
          const v = hi * TWO_32 + lo;
          return t === T_LONG64P ? v : 0 - v;
        }
        const big = (BigInt(hi) << 32n) | BigInt(lo);
        // PHP reads these as 0 with a warning; they are never written.
        if (t === T_LONG64P ? big > 0x7fffffffffffffffn : big > 0x8000000000000000n) this.fail('64-bit int out of range', at);
        return t === T_LONG64P ? big : -big;
      }
    }
  }

  /** An array key (or property name) of type byte `t`; undefined for an entry without a value (null). */
  private key(t: number, isObject: boolean): PhpKey | undefined {
    if (t === T_LONG8P) {
      if (this.pos >= this.end) this.fail('unexpected end of data, expected an 8-bit int key');
      return this.buf[this.pos++]!;
    }
    if (t >= T_LONG8N && t <= T_LONG32N) return this.long(t) as number;
    if (t === T_LONG64P || t === T_LONG64N) {
      const v = this.long(t);
      return typeof v === 'bigint' ? canonicalKey(v) : v;
    }
    if (t === T_NULL) return undefined;
    const id = this.stringOf(t, 'an array key');
    if (id === -2) this.fail(`invalid array key type 0x${t.toString(16).padStart(2, '0')}`, this.pos - 1);
    if (id === -1) return '';
    const k = this.tableKey(id);
    if (isObject) return k;
    // Numeric strings are int keys in a PHP array (igbinary keeps PHP's own spelling: never "5").
    const c = k.charCodeAt(0);
    return ((c >= 0x30 && c <= 0x39) || c === 0x2d) && k.length <= 20 ? canonicalKey(k) : k;
  }

  /** Resolves a back-reference (ref8/16/32, objref8/16/32) to entry `id`. */
  private backRef(id: number, wantRef: boolean, at: number): PhpValue {
    if (id >= this.refs.length) this.fail(`back-reference ${id} but only ${this.refs.length} arrays, objects and references so far`, at);
    const target = this.refs[id];
    if (target === undefined) this.fail(`back-reference ${id} to an object still being read`, at);
    if (wantRef) {
      if (target instanceof PhpReference) return target;
      // PHP makes the entry a reference from here on; the first holder keeps the plain value.
      const box = new PhpReference(target as PhpValue);
      this.refs[id] = box;
      return box;
    }
    // To an array still being read, too: PHP writes that for an array holding itself through a
    // `&` whose other holders are gone (refcount 1 is no reference to igbinary): a PhpArray holding itself.
    return target instanceof PhpReference ? target.value : (target as PhpValue);
  }

  /** Reads one value at pos; opens (pushes) a frame for a non-empty array or object. */
  readValue(stack: Frame[]): PhpValue {
    this.pushed = false;
    const b = this.buf;
    if (this.pos >= this.end) this.fail('unexpected end of data, expected a value');
    let at = this.pos;
    let t = b[this.pos++]!;
    let wantRef = false;
    while (t === T_REF) {
      wantRef = true;
      if (this.pos >= this.end) this.fail('unexpected end of data, expected the value of a reference');
      at = this.pos;
      t = b[this.pos++]!;
    }
    let v: PhpValue;
    switch (t) {
      case T_NULL:
        v = null;
        break;
      case T_FALSE:
        v = false;
        break;
      case T_TRUE:
        v = true;
        break;
      case T_LONG8P:
        if (this.pos >= this.end) this.fail('unexpected end of data, expected an 8-bit int');
        v = b[this.pos++]!;
        break;
      case T_LONG8N:
      case T_LONG16P:
      case T_LONG16N:
      case T_LONG32P:
      case T_LONG32N:
      case T_LONG64P:
      case T_LONG64N:
        v = this.long(t);
        break;
      case T_DOUBLE: {
        this.need(8, 'a double');
        const f = new PhpFloat(b.readDoubleBE(this.pos));
        if (f.value !== f.value) recordNanBits(f, b, this.pos);
        this.pos += 8;
        v = f;
        break;
      }
      case T_STRING_EMPTY:
        v = '';
        break;
      case T_STRING_ID8:
      case T_STRING_ID16:
      case T_STRING_ID32:
      case T_STRING8:
      case T_STRING16:
      case T_STRING32:
      case T_STRING64:
        v = this.tableValue(this.stringOf(t, 'a string length'));
        break;
      case T_ARRAY8:
      case T_ARRAY16:
      case T_ARRAY32: {
        const n = this.length(t === T_ARRAY8 ? 1 : t === T_ARRAY16 ? 2 : 4, 'an array count');
        if (n > this.end - this.pos) this.fail(`array count ${n} is larger than the remaining ${this.end - this.pos} bytes can hold`, at);
        if (stack.length >= this.maxDepth) this.fail(`nesting deeper than maxDepth (${this.maxDepth})`, at);
        const arr = new PhpArray();
        v = wantRef ? new PhpReference(arr) : arr;
        this.refs.push(v);
        if (n > 0) {
          stack.push({ container: arr, isObject: false, remaining: n, seq: 0, gaps: null, key: 0, mapping: undefined, own: null, className: '' });
          this.pushed = true;
        }
        return v;
      }
      case T_OBJECT8:
      case T_OBJECT16:
      case T_OBJECT32:
      case T_OBJECT_ID8:
      case T_OBJECT_ID16:
      case T_OBJECT_ID32:
        return this.object(t, at, wantRef, stack);
      case T_REF8:
      case T_REF16:
      case T_REF32:
      case T_OBJREF8:
      case T_OBJREF16:
      case T_OBJREF32: {
        const w = t === T_REF8 || t === T_OBJREF8 ? 1 : t === T_REF16 || t === T_OBJREF16 ? 2 : 4;
        return this.backRef(this.length(w, 'a back-reference number'), wantRef, at);
      }
      default:
        this.fail(`unknown type byte 0x${t.toString(16).padStart(2, '0')}`, at);
    }
    if (wantRef) {
      const box = new PhpReference(v);
      this.refs.push(box);
      return box;
    }
    return v;
  }

  private object(t: number, at: number, wantRef: boolean, stack: Frame[]): PhpValue {
    let className: string;
    if (t <= T_OBJECT32) {
      const len = this.length(t === T_OBJECT8 ? 1 : t === T_OBJECT16 ? 2 : 4, 'a class name length');
      className = this.tableKey(this.newString(len, at));
    } else className = this.tableKey(this.stringId(t === T_OBJECT_ID8 ? 1 : t === T_OBJECT_ID16 ? 2 : 4));
    if (this.pos >= this.end) this.fail(`unexpected end of data, expected the contents of a ${className} object`);
    const refIndex = this.refs.length;
    this.refs.push(undefined);
    const innerAt = this.pos;
    const inner = this.buf[this.pos++]!;
    let own: object;
    switch (inner) {
      case T_ARRAY8:
      case T_ARRAY16:
      case T_ARRAY32: {
        const n = this.length(inner === T_ARRAY8 ? 1 : inner === T_ARRAY16 ? 2 : 4, 'a property count');
        if (n > this.end - this.pos) this.fail(`property count ${n} is larger than the remaining ${this.end - this.pos} bytes can hold`, innerAt);
        if (stack.length >= this.maxDepth) this.fail(`nesting deeper than maxDepth (${this.maxDepth})`, at);
        const mapping = this.classes?.forPhpClass(className);
        const props = new PhpArray();
        own = mapping !== undefined ? createMappedInstance(mapping) : new PhpObject(className, props);
        if (n > 0) {
          stack.push({ container: props, isObject: true, remaining: n, seq: 0, gaps: null, key: 0, mapping, own, className });
          this.pushed = true;
        } else if (mapping !== undefined) fillMappedInstance(mapping, own, props, className);
        break;
      }
      case T_OBJECT_SER8:
      case T_OBJECT_SER16:
      case T_OBJECT_SER32: {
        const len = this.length(inner === T_OBJECT_SER8 ? 1 : inner === T_OBJECT_SER16 ? 2 : 4, 'a Serializable data length');
        if (len > this.end - this.pos) this.fail(`Serializable data of ${len} bytes runs past the end of the data`, innerAt);
        own = new PhpSerializable(className, Buffer.from(this.buf.subarray(this.pos, this.pos + len)));
        this.pos += len;
        break;
      }
      case T_ENUM_CASE: {
        if (this.pos >= this.end) this.fail('unexpected end of data, expected an enum case name');
        const nt = this.buf[this.pos++]!;
        const id = nt === T_OBJECT_ID8 ? this.stringId(1) : nt === T_OBJECT_ID16 ? this.stringId(2) : nt === T_OBJECT_ID32 ? this.stringId(4) : this.stringOf(nt, 'an enum case name');
        if (id < 0) this.fail('invalid enum case name', this.pos - 1);
        own = new PhpEnum(className, this.tableKey(id));
        break;
      }
      default:
        this.fail(`unknown object contents type 0x${inner.toString(16).padStart(2, '0')}`, innerAt);
    }
    const v = (wantRef ? new PhpReference(own as PhpValue) : own) as PhpValue;
    this.refs[refIndex] = v;
    return v;
  }

  /** Reads the one value of the input (after the header), iteratively. */
  parse(): PhpValue {
    const stack: Frame[] = [];
    const b = this.buf;
    let root: PhpValue = null;
    for (;;) {
      const frame = stack.length > 0 ? stack[stack.length - 1]! : undefined;
      if (frame !== undefined) {
        if (frame.remaining === 0) {
          this.close(frame);
          stack.pop();
          if (stack.length === 0) return root;
          continue;
        }
        if (this.pos >= this.end) this.fail(frame.isObject ? 'unexpected end of data, expected a property name' : 'unexpected end of data, expected an array key');
        const kt = b[this.pos++]!;
        frame.remaining--;
        let key: PhpKey | undefined;
        const p = this.pos;
        // Fast paths (the common forms, well inside the input); everything else through key().
        if (kt === T_STRING8 && p < this.end && p + 1 + b[p]! <= this.end) {
          const start = p + 1;
          const end = start + b[p]!;
          this.pos = end;
          this.strStart.push(start);
          this.strEnd.push(end);
          const k = asciiKey(b, start, end, this.text) ?? bytesToKeyString(b, start, end);
          this.strKey[this.strStart.length - 1] = k;
          const c = k.charCodeAt(0);
          key = frame.isObject || !((c >= 0x30 && c <= 0x39) || c === 0x2d) || k.length > 20 ? k : canonicalKey(k);
        } else if (kt === T_STRING_ID8 && p < this.end && b[p]! < this.strStart.length && !frame.isObject) {
          this.pos = p + 1;
          const k = this.tableKey(b[p]!);
          const c = k.charCodeAt(0);
          key = !((c >= 0x30 && c <= 0x39) || c === 0x2d) || k.length > 20 ? k : canonicalKey(k);
        } else if (kt === T_LONG8P && p < this.end) {
          this.pos = p + 1;
          key = b[p]!;
        } else key = this.key(kt, frame.isObject);
        if (key === undefined) {
          (frame.gaps ??= []).push(frame.seq++);
          continue;
        }
        frame.seq++;
        frame.key = key;
        // Values: the common scalar forms inline.
        const q = this.pos;
        if (q + 1 < this.end) {
          const t = b[q]!;
          if (t === T_STRING8) {
            const start = q + 2;
            const end = start + b[q + 1]!;
            if (end <= this.end) {
              this.pos = end;
              const id = this.strStart.length;
              this.strStart.push(start);
              this.strEnd.push(end);
              const v = this.bytesValue(start, end);
              this.strValue[id] = v;
              mapSet.call(frame.container, key, v);
              continue;
            }
          } else if (t === T_LONG8P) {
            this.pos = q + 2;
            mapSet.call(frame.container, key, b[q + 1]!);
            continue;
          } else if (t === T_STRING_ID8 && b[q + 1]! < this.strStart.length) {
            this.pos = q + 2;
            mapSet.call(frame.container, key, this.tableValue(b[q + 1]!));
            continue;
          }
        }
      }
      const v = this.readValue(stack);
      if (frame === undefined) {
        if (!this.pushed) return v;
        root = v;
        continue;
      }
      mapSet.call(frame.container, frame.key, v);
    }
  }

  private close(frame: Frame): void {
    if (frame.gaps !== null) recordGaps(frame.container, frame.gaps);
    if (frame.mapping !== undefined) fillMappedInstance(frame.mapping, frame.own!, frame.container, frame.className);
  }
}

/** igbinary_unserialize(): the whole input is one header and one value. */
export function igbinaryUnserializeBuffer(buf: Buffer, options?: DecodeOptions): PhpValue {
  const p = new IgParser(buf, options);
  p.header();
  const v = p.parse();
  p.expectEnd('after the value');
  return v;
}

/**
 * session_decode() with `session.serialize_handler = igbinary`: the header and one array.
 * Like PHP, int keys are dropped (PHP's handler reads string keys only). Stricter than PHP:
 * trailing bytes, and data that is not an array (PHP reads an object's properties), are refused.
 */
export function decodeIgbinarySession(buf: Buffer, options?: DecodeOptions): PhpArray {
  const p = new IgParser(buf, options);
  p.header();
  const v = p.parse();
  p.expectEnd('after the session array');
  if (!(v instanceof PhpArray)) throw new DecodeError('igbinary session data is not an array', 4, options?.source);
  return stringKeysOnly(v);
}

/** The array itself, or a copy without its int keys when it has any. */
export function stringKeysOnly(a: PhpArray): PhpArray {
  let ints = false;
  for (const k of a.keys()) {
    if (typeof k !== 'string') {
      ints = true;
      break;
    }
  }
  if (!ints) return a;
  const out = new PhpArray();
  for (const [k, v] of a) if (typeof k === 'string') mapSet.call(out, k, v);
  return out;
}

// =============================================================================================
// Encoding

/** The reference-table key of the outermost array: never met again (igbinary's INVALID_KEY). */
const ROOT_ARRAY = Symbol('igbinary root array');

type Latin1Write = (this: Buffer, s: string, offset: number, length: number) => number;
const latin1Write: Latin1Write =
  (Buffer.prototype as unknown as { latin1Write?: Latin1Write }).latin1Write ??
  function (this: Buffer, s: string, offset: number, length: number) {
    return this.write(s, offset, length, 'latin1');
  };
type Utf8Write = (this: Buffer, s: string, offset: number, length: number) => number;
const utf8Write: Utf8Write =
  (Buffer.prototype as unknown as { utf8Write?: Utf8Write }).utf8Write ??
  function (this: Buffer, s: string, offset: number, length: number) {
    return this.write(s, offset, length, 'utf8');
  };

/** Strings longer than this are checked for ASCII by one native UTF-8 write (see string()). */
const NATIVE_STRING_MIN = 24;

class IgEncoder extends EntryWalker {
  readonly strings = StringTable.take();
  private stringCount = 0;
  private readonly refs = new Map<unknown, number>();
  private refCount = 0;
  private readonly classes: ClassRegistry | undefined;
  private readonly compact: boolean;
  private readonly nameCache = new Map<string, Buffer | null>();

  constructor(options: IgbinaryEncodeOptions, root: string, scalar: boolean) {
    super(root);
    this.classes = options.classes;
    this.compact = !scalar && options.compactStrings !== false;
  }

  /** The format header, `00 00 00 02`. */
  header(): void {
    this.w.tagged(0, 0, 1);
    this.w.tagged(0, 2, 1);
  }

  /** The top level of a session: the outermost array, with string keys only. */
  session(session: Map<unknown, unknown> | Record<string, unknown>): void {
    this.refs.set(ROOT_ARRAY, this.refCount++);
    this.array(session, SESSION);
  }

  /** The outermost value of igbinary_serialize(): an array there is never referred back to. */
  root(v: unknown): void {
    if (isArrayLike(v)) {
      this.refs.set(ROOT_ARRAY, this.refCount++);
      this.array(v, KEYS);
    } else this.value(v);
  }

  private long(v: number | bigint): void {
    const w = this.w;
    if (typeof v === 'bigint') {
      const p = v >= 0n;
      const k = p ? v : -v;
      if (k > 0xffffffffn) {
        w.tagged64(p ? T_LONG64P : T_LONG64N, Number(k >> 32n), Number(k & 0xffffffffn));
        return;
      }
      v = Number(v);
    }
    const p = v >= 0;
    const k = p ? v : -v;
    if (k <= 0xff) w.tagged(p ? T_LONG8P : T_LONG8N, k, 1);
    else if (k <= 0xffff) w.tagged(p ? T_LONG16P : T_LONG16N, k, 2);
    else if (k <= 0xffffffff) w.tagged(p ? T_LONG32P : T_LONG32N, k, 4);
    else w.tagged64(p ? T_LONG64P : T_LONG64N, Math.floor(k / TWO_32), k % TWO_32);
  }

  private tableRef(tag8: number, id: number): void {
    if (id <= 0xff) this.w.tagged(tag8, id, 1);
    else if (id <= 0xffff) this.w.tagged(tag8 + 1, id, 2);
    else this.w.tagged(tag8 + 2, id, 4);
  }

  private lengthTag(tag8: number, len: number): void {
    if (len <= 0xff) this.w.tagged(tag8, len, 1);
    else if (len <= 0xffff) this.w.tagged(tag8 + 1, len, 2);
    else if (len <= 0xffffffff) this.w.tagged(tag8 + 2, len, 4);
    else this.fail(`a string of ${len} bytes is beyond what sessctl writes`);
  }

  /** A string value or key: the empty string, a string-table back-reference, or its bytes. */
  string(s: string): void {
    const n = s.length;
    if (n === 0) {
      this.w.u8(T_STRING_EMPTY);
      return;
    }
    if (n > NATIVE_STRING_MIN) {
      // Guess ASCII: one native UTF-8 write after the header for n bytes; any other char takes
      // 2+ bytes (a lone surrogate 3), so exactly n bytes written means the guess was right.
      const w = this.w;
      const head = n <= 0xff ? 2 : n <= 0xffff ? 3 : 5;
      w.ensure(head + 3 * n);
      if (utf8Write.call(w.buf, s, w.pos + head, 3 * n) === n) {
        if (this.compact) {
          const id = this.strings.getOrAdd(s, sampleHash(s), this.stringCount);
          if (id >= 0) {
            this.tableRef(T_STRING_ID8, id); // the bytes written past pos are simply overwritten
            return;
          }
        }
        this.stringCount++;
        this.lengthTag(T_STRING8, n);
        w.pos += n;
        return;
      }
    } else {
      // Short: the chars are copied after a string8 header as they are checked, in one pass;
      // nothing is committed until they all turn out ASCII and the string is not in the table.
      const w = this.w;
      w.ensure(n + 2);
      const buf = w.buf;
      const p = w.pos + 2;
      let i = 0;
      let h = n;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c > 0x7f) break;
        buf[p + i] = c;
        h = (Math.imul(h, 31) + c) | 0;
      }
      if (i === n) {
        if (this.compact) {
          const id = this.strings.getOrAdd(s, h ^ (h >>> 15), this.stringCount);
          if (id >= 0) {
            this.tableRef(T_STRING_ID8, id);
            return;
          }
        }
        this.stringCount++;
        buf[p - 2] = T_STRING8;
        buf[p - 1] = n;
        w.pos = p + n;
        return;
      }
    }
    this.bytesString(stringBytes(s, this.fail)!);
  }

  private bytesString(bytes: Uint8Array): void {
    if (bytes.length === 0) {
      this.w.u8(T_STRING_EMPTY);
      return;
    }
    if (this.compact) {
      const key = bytesKey(bytes);
      const id = this.strings.getOrAdd(key, sampleHash(key), this.stringCount);
      if (id >= 0) {
        this.tableRef(T_STRING_ID8, id);
        return;
      }
    }
    this.stringCount++;
    this.lengthTag(T_STRING8, bytes.length);
    this.w.raw(bytes);
  }

  /** A class name: always through the string table, whatever compactStrings says. */
  private className(name: string): void {
    let bytes = this.nameCache.get(name);
    if (bytes === undefined) {
      bytes = stringBytes(name, this.fail);
      this.nameCache.set(name, bytes);
    }
    const key = bytes === null ? name : bytesKey(bytes);
    const id = this.strings.getOrAdd(key, sampleHash(key), this.stringCount);
    if (id >= 0) {
      this.tableRef(T_OBJECT_ID8, id);
      return;
    }
    this.stringCount++;
    if (bytes === null) {
      this.lengthTag(T_OBJECT8, name.length);
      this.w.ensure(name.length);
      this.w.pos += latin1Write.call(this.w.buf, name, this.w.pos, name.length);
    } else {
      this.lengthTag(T_OBJECT8, bytes.length);
      this.w.raw(bytes);
    }
  }

  protected key(k: unknown, session: boolean): void {
    if (typeof k === 'string') {
      this.string(k);
      return;
    }
    if (session) throw new EncodeError(`session key ${String(k)} is an int: PHP's igbinary handler drops int keys when it reads the session (use string keys)`);
    if (typeof k === 'number' && Number.isInteger(k) && !Number.isSafeInteger(k)) k = BigInt(k); // exact; range-checked below
    if (typeof k === 'number') {
      if (!Number.isSafeInteger(k)) this.fail(`array key ${k} is not an integer PHP can hold`);
      this.long(k === 0 ? 0 : k);
    } else if (typeof k === 'bigint') {
      checkInt64(k, this.fail);
      this.long(k);
    } else this.fail(`array keys must be strings or integers, got ${typeof k}`);
  }

  protected override gap(): void {
    this.w.u8(T_NULL);
  }

  /** Writes a value: scalars whole, containers with their entries. */
  value(v: unknown): void {
    if (typeof v === 'string') {
      this.string(v);
      return;
    }
    if (typeof v === 'object' && v !== null) {
      const ctor = v.constructor;
      if (ctor === PhpArray) {
        const id = this.refs.get(v);
        if (id !== undefined) this.tableRef(T_REF8, id);
        else {
          this.refs.set(v, this.refCount++);
          const a = v as PhpArray;
          this.countTag(a.size);
          if (a.size > 0) this.walkMap(a, KEYS);
        }
        return;
      }
      if (ctor === PhpFloat) {
        this.w.double(T_DOUBLE, (v as PhpFloat).value, recordedNanBits(v as PhpFloat));
        return;
      }
    }
    if (typeof v === 'number' && Number.isSafeInteger(v) && !(v === 0 && 1 / v < 0)) {
      this.long(v);
      return;
    }
    this.other(v);
  }

  private other(v: unknown): void {
    switch (typeof v) {
      case 'number': {
        const i = asPhpInt(v);
        if (i !== undefined) this.long(i);
        else this.w.double(T_DOUBLE, v, undefined);
        return;
      }
      case 'boolean':
        this.w.u8(v ? T_TRUE : T_FALSE);
        return;
      case 'undefined':
        this.w.u8(T_NULL);
        return;
      case 'bigint':
        checkInt64(v, this.fail);
        this.long(v);
        return;
      case 'object':
        break;
      default:
        this.fail(unsupported(v));
    }
    if (v === null) this.w.u8(T_NULL);
    else if (v instanceof PhpFloat) this.w.double(T_DOUBLE, v.value, recordedNanBits(v));
    else if (v instanceof Uint8Array) this.bytesString(v);
    else if (v instanceof PhpReference) this.reference(v);
    else if (isObjectLike(v, this.classes)) this.object(v);
    else if (isArrayLike(v)) {
      // An array met again is a back-reference, even inside itself (as PHP writes an array that
      // holds itself): every array is numbered by identity, so each is written out at most twice.
      const id = this.refs.get(v);
      if (id !== undefined) {
        this.tableRef(T_REF8, id);
        return;
      }
      this.refs.set(v, this.refCount++);
      this.array(v, KEYS);
    } else this.fail(unsupported(v));
  }

  private reference(box: PhpReference): void {
    const inner: unknown = box.value;
    if (inner instanceof PhpReference) this.fail('a PhpReference cannot hold another PhpReference');
    this.w.u8(T_REF);
    if (isObjectLike(inner, this.classes)) {
      this.object(inner); // a reference to an object is keyed on the object, as PHP does
      return;
    }
    const id = this.refs.get(box);
    if (id !== undefined) {
      this.tableRef(T_REF8, id);
      return;
    }
    this.refs.set(box, this.refCount++);
    if (isArrayLike(inner)) this.array(inner, KEYS);
    else this.value(inner);
  }

  /** An array's header and entries (its number is taken by the caller). */
  private array(v: Map<unknown, unknown> | unknown[] | Record<string, unknown>, mode: number): void {
    if (v instanceof PhpArray) {
      this.countTag(v.size);
      if (v.size > 0) this.walkMap(v, mode);
      return;
    }
    const e = arrayEntries(v, this.fail);
    this.countTag(e.size);
    if (e.size > 0) this.walkLists(e.keys, e.values!, mode);
  }

  private countTag(n: number): void {
    if (n <= 0xff) this.w.tagged(T_ARRAY8, n, 1);
    else if (n <= 0xffff) this.w.tagged(T_ARRAY16, n, 2);
    else this.w.tagged(T_ARRAY32, n, 4);
  }

  private object(o: object): void {
    const identity = objectIdentity(o);
    const id = this.refs.get(identity);
    if (id !== undefined) {
      this.tableRef(T_OBJREF8, id);
      return;
    }
    this.refs.set(identity, this.refCount++);
    if (o instanceof PhpObject) {
      const props: unknown = o.props;
      if (!(props instanceof Map)) this.fail(`PhpObject ${o.className} has no props Map`);
      this.className(o.className);
      const gaps = recordedGaps(props);
      const n = props.size + (gaps?.length ?? 0);
      this.countTag(n);
      if (n > 0) this.walkMap(props, KEYS, gaps);
    } else if (o instanceof PhpSerializable) {
      this.className(o.className);
      const len = o.data.length;
      if (len <= 0xff) this.w.tagged(T_OBJECT_SER8, len, 1);
      else if (len <= 0xffff) this.w.tagged(T_OBJECT_SER16, len, 2);
      else this.w.tagged(T_OBJECT_SER32, len, 4);
      this.w.raw(o.data);
    } else if (o instanceof PhpEnum) {
      this.className(o.className);
      this.w.u8(T_ENUM_CASE);
      if (o.caseName === '') this.fail('an enum case has a name');
      this.string(o.caseName);
    } else {
      const mapping = this.classes!.forInstance(o)!;
      const { className, props, size } = mappedInstanceProps(mapping, o);
      const pairs = [...props];
      if (pairs.length !== size) this.fail(`toPhp() of ${mapping.phpClass} returned inconsistent properties`);
      this.className(className);
      this.countTag(pairs.length);
      if (pairs.length > 0) this.walkLists(pairs.map((p) => p[0]), pairs.map((p) => p[1]), KEYS);
    }
  }
}

/** igbinary_serialize() of a value (a PhpReference at the top is written as its value). */
export function igbinarySerializeValue(value: unknown, options: IgbinaryEncodeOptions = {}): Buffer {
  while (value instanceof PhpReference) value = value.value;
  const scalar = !(isArrayLike(value) || isObjectLike(value, options.classes));
  const e = new IgEncoder(options, 'value', scalar);
  try {
    e.header();
    e.root(value);
    return e.w.finish();
  } catch (err) {
    e.w.release();
    throw EncodeError.from(err);
  } finally {
    e.strings.release();
  }
}

/** session_encode() with `session.serialize_handler = igbinary`: the header and the session array. */
export function encodeIgbinarySession(session: unknown, options: IgbinaryEncodeOptions = {}): Buffer {
  if (!isArrayLike(session) || Array.isArray(session)) throw new EncodeError('a session is a PhpArray, a Map or a plain object');
  const e = new IgEncoder(options, '$_SESSION', false);
  try {
    e.header();
    e.session(session);
    return e.w.finish();
  } catch (err) {
    e.w.release();
    throw EncodeError.from(err);
  } finally {
    e.strings.release();
  }
}
