/**
 * msgpack (php-msgpack 2.x with its defaults msgpack.php_only=1, use_str8_serialization=1):
 * msgpack_pack()/msgpack_unpack() and `session.serialize_handler = msgpack`, byte for byte.
 *
 * The format is MessagePack (ints in the smallest form, doubles as float64, PHP strings as
 * str whatever their bytes). PHP arrays that are lists (keys 0..n-1 in order) are msgpack
 * arrays, other arrays maps. What MessagePack has no type for is a map whose first keys are
 * nil (msgpack_pack.c):
 *   {nil: "Class", prop: value, …}         an object (property names mangled as in serialize())
 *   {nil: 1, nil: "Class", …}              the same, first seen through a PHP reference
 *   {nil: 1, key: value, …}                an array first seen through a PHP reference
 *   {nil: "Class", nil: [ … ]}             an object whose class has __serialize()
 *   {nil: 3, "Class": "data"}              a Serializable object
 *   {nil: 2, 0: n} / {nil: 5, 0: n}        the reference / the object-through-a-reference numbered n again
 *   {nil: 4, 0: n}                         the object numbered n again
 * Numbers count what the writer met, in order: every array and object (the outermost one is
 * 1), and each {nil: 4} again; {nil: 2}/{nil: 5} and scalars take none. A referenced empty array
 * is written `[]` (no marker); references to scalars are written as the scalar (msgpack-php
 * keeps no reference to them).
 *
 * A session is the whole $_SESSION array, which PHP holds through a reference: `{nil: 1, …}`,
 * or `[]` (0x90) when it is empty.
 *
 * The decoder reads the numbering as the writer meant it; PHP's own reader (msgpack_unpack.c)
 * numbers the {nil: 2}/{nil: 5} maps as well and so binds some repeated references to the
 * wrong value — see docs/codec-binary-handlers.md.
 */
import { DecodeError, EncodeError } from '../errors.js';
import { createMappedInstance, fillMappedInstance, mappedInstanceProps, type ClassRegistry, type PhpClassMapping } from './classes.js';
import { DEFAULT_MAX_DEPTH, type DecodeOptions } from './decoder.js';
import type { EncodeOptions } from './encoder.js';
import {
  EntryWalker,
  KEYS,
  LIST,
  SESSION,
  asciiKey,
  arrayEntries,
  asPhpInt,
  checkInt64,
  isArrayLike,
  isObjectLike,
  objectIdentity,
  recordNanBits,
  RepeatedArrays,
  REPEAT_LIMIT,
  recordedNanBits,
  stringBytes,
  unsupported,
} from './binary-common.js';
import { stringKeysOnly } from './igbinary.js';
import { bytesToKeyString, isValidUtf8, latin1, utf8Slice } from './strings.js';
import { PhpArray, PhpEnum, PhpFloat, PhpObject, PhpReference, PhpSerializable, canonicalKey, type PhpKey, type PhpValue } from './values.js';
import { constants as bufferConstants, isAscii as nativeIsAscii } from 'node:buffer';

export interface MsgpackEncodeOptions extends EncodeOptions {
  /**
   * PHP's `msgpack.use_str8_serialization` (default true, as in PHP): strings of 32..255 bytes
   * are written as str8; false writes them as str16, as msgpack-php does with the setting off.
   */
  useStr8?: boolean;
}

/* The nil-keyed markers of msgpack_pack.h (enum msgpack_serialize_type). */
const MARK_REFERENCE = 1, MARK_RECURSIVE = 2, MARK_CUSTOM_OBJECT = 3, MARK_OBJECT = 4, MARK_OBJECT_REFERENCE = 5;

const NIL = 0xc0;
const TWO_32 = 4294967296;
const mapSet = Map.prototype.set;
const mapGet = Map.prototype.get;

/** Objects decoded from the __serialize() form ({nil: "Class", nil: [ … ]}): written in that form again. */
const serializeForm = new WeakSet<object>();

// =============================================================================================
// Decoding

/** Where a map is in its nil-keyed markers. */
const enum Mode {
  /** No entry read yet. */
  Unknown,
  /** A plain array (a map without markers). */
  Array,
  /** {nil: 1} read: a reference; an array unless a class name follows. */
  Reference,
  /** A class name read: an object. */
  Object,
  /** {nil: 2|4|5} read: the number follows. */
  Marker,
  /** {nil: 3} read: class name and data follow. */
  Custom,
  /** A marker or Serializable resolved. */
  Done,
}

/** The key under which an object's __serialize() array arrives (never a PHP key). */
const SERIALIZE_DATA = Symbol('__serialize data');
type EntryKey = PhpKey | typeof SERIALIZE_DATA;

interface Frame {
  list: boolean;
  count: number;
  remaining: number;
  /** Lists: the next index. */
  index: number;
  mode: Mode;
  marker: number;
  /** Where entries go: the array, or the object's properties. */
  container: PhpArray | null;
  box: PhpReference | null;
  own: object | null;
  mapping: PhpClassMapping | undefined;
  className: string;
  /** Whether a plain (non-nil) key was read. */
  regular: boolean;
  /** Whether the __serialize() data was read. */
  serializeData: boolean;
  /** Where this container's value goes. */
  parent: Frame | null;
  parentKey: EntryKey;
  /** The key of the entry being read. */
  key: EntryKey;
  at: number;
}

class MpParser {
  pos = 0;
  readonly end: number;
  private readonly text: string | null;
  private readonly allAscii: boolean;
  private readonly maxDepth: number;
  private readonly classes: ClassRegistry | undefined;
  private readonly source: string | undefined;
  /** The writer's numbering: slot n holds what was numbered n, and where it sits (to box it later). */
  private count = 0;
  private readonly slots: unknown[] = [undefined];
  private readonly holders: (Map<PhpKey, PhpValue> | null)[] = [null];
  private readonly holderKeys: EntryKey[] = [0];
  private root: PhpValue = null;
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

  expectEnd(what: string): void {
    if (this.pos < this.end) this.fail(`unexpected trailing data ${what}`);
  }

  private need(n: number, what: string): void {
    if (this.end - this.pos < n) this.fail(`unexpected end of data, expected ${what}`);
  }

  private ascii(start: number, end: number): string {
    return this.text !== null ? this.text.slice(start, end) : latin1(this.buf, start, end);
  }

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

  /** The length of a str/bin whose type byte `t` was read; -1 when `t` is neither. */
  private strLength(t: number): number {
    if (t >= 0xa0 && t <= 0xbf) return t & 0x1f;
    const b = this.buf;
    switch (t) {
      case 0xd9:
      case 0xc4:
        this.need(1, 'a string length');
        return b[this.pos++]!;
      case 0xda:
      case 0xc5: {
        this.need(2, 'a string length');
        const n = (b[this.pos]! << 8) | b[this.pos + 1]!;
        this.pos += 2;
        return n;
      }
      case 0xdb:
      case 0xc6: {
        this.need(4, 'a string length');
        const n = b.readUInt32BE(this.pos);
        this.pos += 4;
        return n;
      }
      default:
        return -1;
    }
  }

  /** The bytes [pos, pos+len) of a string, checked; returns their start. */
  private strBody(len: number, at: number): number {
    if (len > this.end - this.pos) this.fail(`string of ${len} bytes runs past the end of the data`, at);
    const start = this.pos;
    this.pos += len;
    return start;
  }

  /** An int whose type byte `t` was read; undefined when `t` is not an int type. */
  private int(t: number): number | bigint | string | undefined {
    if (t <= 0x7f) return t;
    if (t >= 0xe0) return t - 256;
    const b = this.buf;
    switch (t) {
      case 0xcc:
        this.need(1, 'an 8-bit int');
        return b[this.pos++]!;
      case 0xcd:
        this.need(2, 'a 16-bit int');
        this.pos += 2;
        return b.readUInt16BE(this.pos - 2);
      case 0xce:
        this.need(4, 'a 32-bit int');
        this.pos += 4;
        return b.readUInt32BE(this.pos - 4);
      case 0xcf: {
        this.need(8, 'a 64-bit int');
        const hi = b.readUInt32BE(this.pos);
        const lo = b.readUInt32BE(this.pos + 4);
        this.pos += 8;
        if (hi < 0x200000) return hi * TWO_32 + lo;
        const big = (BigInt(hi) << 32n) | BigInt(lo);
        // Beyond PHP's int: msgpack-php reads the decimal digits as a string.
        return big > 0x7fffffffffffffffn ? big.toString() : big;
      }
      case 0xd0:
        this.need(1, 'an 8-bit int');
        return b.readInt8(this.pos++);
      case 0xd1:
        this.need(2, 'a 16-bit int');
        this.pos += 2;
        return b.readInt16BE(this.pos - 2);
      case 0xd2:
        this.need(4, 'a 32-bit int');
        this.pos += 4;
        return b.readInt32BE(this.pos - 4);
      case 0xd3: {
        this.need(8, 'a 64-bit int');
        const hi = b.readInt32BE(this.pos);
        const lo = b.readUInt32BE(this.pos + 4);
        this.pos += 8;
        const v = hi * TWO_32 + lo; // rounded only beyond 2^53, where it is not a safe integer either
        if (Number.isSafeInteger(v)) return v === 0 ? 0 : v;
        return (BigInt(hi) << 32n) | BigInt(lo);
      }
      default:
        return undefined;
    }
  }

  /** Gives the next number to `value`, sitting in `parent` under `key`. */
  private assign(value: unknown, parent: Frame | null, key: EntryKey): void {
    const n = ++this.count;
    this.slots[n] = value;
    this.holders[n] = parent !== null && key !== SERIALIZE_DATA ? parent.container : null;
    this.holderKeys[n] = key;
  }

  /** Puts a complete or newly opened value where it belongs. */
  private place(parent: Frame | null, key: EntryKey, v: PhpValue, at: number): void {
    if (parent === null) {
      this.root = v;
      return;
    }
    if (key === SERIALIZE_DATA) {
      if (!(v instanceof PhpArray)) this.fail('the __serialize() data of an object is not a plain array', at);
      parent.container = v;
      if (parent.own instanceof PhpObject) parent.own.props = v;
      return;
    }
    mapSet.call(parent.container!, key, v);
  }

  /** Reads one value at pos for entry `key` of `parent`; opens (pushes) a frame for a non-empty container. */
  private readValue(stack: Frame[], parent: Frame | null, key: EntryKey): PhpValue {
    this.pushed = false;
    const b = this.buf;
    if (this.pos >= this.end) this.fail('unexpected end of data, expected a value');
    const at = this.pos;
    const t = b[this.pos++]!;
    if (t <= 0x7f) return t;
    if (t >= 0xe0) return t - 256;
    if (t >= 0x80 && t <= 0x9f) return this.open(stack, parent, key, t & 0x0f, t >= 0x90, at);
    switch (t) {
      case NIL:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xca: {
        this.need(4, 'a float');
        this.pos += 4;
        return new PhpFloat(b.readFloatBE(this.pos - 4));
      }
      case 0xcb: {
        this.need(8, 'a double');
        const f = new PhpFloat(b.readDoubleBE(this.pos));
        if (f.value !== f.value) recordNanBits(f, b, this.pos);
        this.pos += 8;
        return f;
      }
      case 0xdc:
      case 0xde: {
        this.need(2, 'a count');
        this.pos += 2;
        return this.open(stack, parent, key, b.readUInt16BE(this.pos - 2), t === 0xdc, at);
      }
      case 0xdd:
      case 0xdf: {
        this.need(4, 'a count');
        this.pos += 4;
        return this.open(stack, parent, key, b.readUInt32BE(this.pos - 4), t === 0xdd, at);
      }
      case 0xc7:
      case 0xc8:
      case 0xc9:
      case 0xd4:
      case 0xd5:
      case 0xd6:
      case 0xd7:
      case 0xd8: {
        // An extension type: msgpack-php reads it as null (and never writes one).
        let len: number;
        if (t >= 0xd4) len = 1 << (t - 0xd4);
        else {
          const w = t === 0xc7 ? 1 : t === 0xc8 ? 2 : 4;
          this.need(w, 'an extension length');
          len = w === 1 ? b[this.pos]! : w === 2 ? b.readUInt16BE(this.pos) : b.readUInt32BE(this.pos);
          this.pos += w;
        }
        if (len + 1 > this.end - this.pos) this.fail(`extension of ${len} bytes runs past the end of the data`, at);
        this.pos += len + 1;
        return null;
      }
      default: {
        const i = this.int(t);
        if (i !== undefined) return i;
        const len = this.strLength(t);
        if (len < 0) this.fail(`invalid type byte 0x${t.toString(16)}`, at);
        const start = this.strBody(len, at);
        return this.bytesValue(start, this.pos);
      }
    }
  }

  /** A list or map of `n` entries starts. */
  private open(stack: Frame[], parent: Frame | null, key: EntryKey, n: number, list: boolean, at: number): PhpValue {
    if (n > (this.end - this.pos) / (list ? 1 : 2)) this.fail(`${list ? 'array' : 'map'} count ${n} is larger than the remaining ${this.end - this.pos} bytes can hold`, at);
    if (stack.length >= this.maxDepth) this.fail(`nesting deeper than maxDepth (${this.maxDepth})`, at);
    if (list) {
      const arr = new PhpArray();
      this.assign(arr, parent, key);
      if (n > 0) {
        this.place(parent, key, arr, at);
        stack.push(this.frame(true, n, parent, key, at, arr));
        this.pushed = true;
      }
      return arr;
    }
    if (n === 0) {
      // An empty map: msgpack-php (php_only) makes it an empty stdClass; it never writes one.
      const mapping = this.classes?.forPhpClass('stdClass');
      const props = new PhpArray();
      const own = (mapping !== undefined ? createMappedInstance(mapping) : new PhpObject('stdClass', props)) as PhpValue;
      if (mapping !== undefined) fillMappedInstance(mapping, own as object, props, 'stdClass');
      this.assign(own, parent, key);
      return own;
    }
    stack.push(this.frame(false, n, parent, key, at, null));
    this.pushed = true;
    return null;
  }

  private frame(list: boolean, n: number, parent: Frame | null, parentKey: EntryKey, at: number, container: PhpArray | null): Frame {
    return {
      list, count: n, remaining: n, index: 0, mode: list ? Mode.Array : Mode.Unknown, marker: 0, container, box: null, own: null,
      mapping: undefined, className: '', regular: false, serializeData: false, parent, parentKey, key: 0, at,
    };
  }

  /** A plain key of a map entry (int or string); objects keep names as written, arrays apply PHP's rule. */
  private mapKey(isObject: boolean): PhpKey {
    const at = this.pos;
    const t = this.buf[this.pos++]!;
    const i = this.int(t);
    if (i !== undefined) {
      if (typeof i === 'string') this.fail('map key beyond the 64-bit int range', at);
      return typeof i === 'bigint' ? canonicalKey(i) : i;
    }
    const len = this.strLength(t);
    if (len < 0) this.fail(`map key of type 0x${t.toString(16)}: PHP array keys are ints or strings`, at);
    const start = this.strBody(len, at);
    const k = asciiKey(this.buf, start, this.pos, this.text) ?? bytesToKeyString(this.buf, start, this.pos);
    if (isObject) return k;
    const c = k.charCodeAt(0);
    return ((c >= 0x30 && c <= 0x39) || c === 0x2d) && k.length <= 20 ? canonicalKey(k) : k;
  }

  /** The entries of a map start (a plain key was met): what they go into. */
  private beginEntries(f: Frame, at: number): void {
    switch (f.mode) {
      case Mode.Unknown: {
        const arr = new PhpArray();
        f.container = arr;
        f.mode = Mode.Array;
        this.assign(arr, f.parent, f.parentKey);
        this.place(f.parent, f.parentKey, arr, f.at);
        break;
      }
      case Mode.Object:
        if (f.serializeData) this.fail('object properties after its __serialize() data', at);
        break;
      case Mode.Array:
      case Mode.Reference:
        break;
      default:
        this.fail('unexpected map entry after a marker', at);
    }
    f.regular = true;
  }

  /** A nil key was read: the marker or class name after it. Returns true when a value (the __serialize() data) follows. */
  private directive(f: Frame, at: number): boolean {
    if (f.regular) this.fail('nil map key after array entries (PHP never writes one)', at);
    if (this.pos >= this.end) this.fail('unexpected end of data, expected the value of a nil map key');
    const vAt = this.pos;
    const t = this.buf[this.pos];
    if (t !== undefined && ((t >= 0x80 && t <= 0x9f) || (t >= 0xdc && t <= 0xdf))) {
      if (f.mode !== Mode.Object || f.serializeData || f.remaining !== 0) this.fail("an array after a nil key is an object's __serialize() data, the last entry after its class name", vAt);
      f.serializeData = true;
      if (f.own !== null) serializeForm.add(f.own);
      f.key = SERIALIZE_DATA;
      return true;
    }
    this.pos++;
    const i = this.int(t!);
    if (i !== undefined) {
      if (f.mode !== Mode.Unknown) this.fail(`marker ${String(i)} after other markers`, vAt);
      switch (i) {
        case MARK_REFERENCE: {
          const arr = new PhpArray();
          const box = new PhpReference(arr);
          f.box = box;
          f.container = arr;
          f.mode = Mode.Reference;
          this.assign(box, f.parent, f.parentKey);
          this.place(f.parent, f.parentKey, box, f.at);
          return false;
        }
        case MARK_RECURSIVE:
        case MARK_OBJECT:
        case MARK_OBJECT_REFERENCE:
        case MARK_CUSTOM_OBJECT:
          if (f.count !== 2) this.fail(`a marker ${i} map has 2 entries, this one ${f.count}`, f.at);
          f.mode = i === MARK_CUSTOM_OBJECT ? Mode.Custom : Mode.Marker;
          f.marker = i;
          return false;
        default:
          this.fail(`unknown marker ${String(i)} after a nil map key`, vAt);
      }
    }
    const len = this.strLength(t!);
    if (len < 0) this.fail(`invalid value 0x${t!.toString(16)} after a nil map key`, vAt);
    if (f.mode !== Mode.Unknown && f.mode !== Mode.Reference) this.fail('a second class name in one object', vAt);
    const start = this.strBody(len, vAt);
    const className = bytesToKeyString(this.buf, start, this.pos);
    const mapping = this.classes?.forPhpClass(className);
    const props = new PhpArray();
    const own = mapping !== undefined ? createMappedInstance(mapping) : new PhpObject(className, props);
    f.own = own;
    f.mapping = mapping;
    f.className = className;
    f.container = props;
    if (f.mode === Mode.Reference) f.box!.value = own as PhpValue;
    else {
      this.assign(own, f.parent, f.parentKey);
      this.place(f.parent, f.parentKey, own as PhpValue, f.at);
    }
    f.mode = Mode.Object;
    return false;
  }

  /** The entry after {nil: 2|3|4|5}: the number, or the Serializable's class and data. */
  private payload(f: Frame): void {
    const at = this.pos;
    const b = this.buf;
    if (f.mode === Mode.Custom) {
      const klen = this.strLength(b[this.pos++]!);
      if (klen < 0) this.fail('expected the class name of a Serializable object', at);
      const kStart = this.strBody(klen, at);
      const className = bytesToKeyString(b, kStart, this.pos);
      if (this.pos >= this.end) this.fail('unexpected end of data, expected the data of a Serializable object');
      const dAt = this.pos;
      const dlen = this.strLength(b[this.pos++]!);
      if (dlen < 0) this.fail('expected the data of a Serializable object (a string)', dAt);
      const dStart = this.strBody(dlen, dAt);
      const own = new PhpSerializable(className, Buffer.from(b.subarray(dStart, this.pos)));
      this.assign(own, f.parent, f.parentKey);
      this.place(f.parent, f.parentKey, own, f.at);
      f.mode = Mode.Done;
      return;
    }
    if (this.int(b[this.pos++]!) === undefined) this.fail(`expected an int key after marker ${f.marker}`, at);
    if (this.pos >= this.end) this.fail(`unexpected end of data, expected the number after marker ${f.marker}`);
    const nAt = this.pos;
    const n = this.int(b[this.pos++]!);
    if (typeof n !== 'number' || n < 1 || n > this.count || this.slots[n] === null) this.fail(`marker ${f.marker} refers to ${String(n)}, which is no array or object numbered so far`, nAt);
    const target = this.slots[n];
    let v: PhpValue;
    if (f.marker === MARK_RECURSIVE) {
      if (target instanceof PhpReference) v = target;
      else if (target instanceof PhpArray) {
        // A referenced empty array is written [] without its marker: it was a reference all along.
        const box = new PhpReference(target);
        const holder = this.holders[n];
        const hk = this.holderKeys[n] as PhpKey;
        if (holder !== null && holder !== undefined && mapGet.call(holder, hk) === target) mapSet.call(holder, hk, box);
        else if (this.root === target) this.root = box;
        this.slots[n] = box;
        v = box;
      } else this.fail(`marker 2 refers to ${n}, which is not an array`, nAt);
    } else {
      const obj = target instanceof PhpReference ? target.value : target;
      if (!isObjectLike(obj, this.classes)) this.fail(`marker ${f.marker} refers to ${n}, which is not an object`, nAt);
      if (f.marker === MARK_OBJECT) {
        v = obj as PhpValue;
        this.assign(null, null, 0);
      } else if (target instanceof PhpReference) v = target;
      else {
        const box = new PhpReference(target as PhpValue);
        this.slots[n] = box;
        v = box;
      }
    }
    this.place(f.parent, f.parentKey, v, f.at);
    f.mode = Mode.Done;
  }

  private close(f: Frame): void {
    if (f.list) return;
    if (f.mode === Mode.Reference && !f.regular) this.fail('a reference marker without contents (PHP writes an empty referenced array as [])', f.at);
    if (f.mode === Mode.Object && f.mapping !== undefined) fillMappedInstance(f.mapping, f.own!, f.container!, f.className);
  }

  parse(): PhpValue {
    const stack: Frame[] = [];
    const b = this.buf;
    for (;;) {
      const frame = stack.length > 0 ? stack[stack.length - 1]! : undefined;
      let key: EntryKey = 0;
      if (frame !== undefined) {
        if (frame.remaining === 0) {
          this.close(frame);
          stack.pop();
          if (stack.length === 0) return this.root;
          continue;
        }
        frame.remaining--;
        if (frame.list) key = frame.index++;
        else {
          if (frame.mode === Mode.Marker || frame.mode === Mode.Custom) {
            if (this.pos >= this.end) this.fail('unexpected end of data, expected the entry after a marker');
            this.payload(frame);
            continue;
          }
          if (this.pos >= this.end) this.fail('unexpected end of data, expected a map key');
          const at = this.pos;
          if (b[this.pos] === NIL) {
            this.pos++;
            if (!this.directive(frame, at)) continue;
            key = SERIALIZE_DATA;
          } else {
            this.beginEntries(frame, at);
            key = this.mapKey(frame.mode === Mode.Object);
          }
        }
        frame.key = key;
        // The common scalar values inline: a positive fixint, a short string.
        if (key !== SERIALIZE_DATA && this.pos < this.end) {
          const t = b[this.pos]!;
          if (t <= 0x7f) {
            this.pos++;
            mapSet.call(frame.container!, key, t);
            continue;
          }
          if (t >= 0xa0 && t <= 0xbf) {
            const start = this.pos + 1;
            const end = start + (t & 0x1f);
            if (end <= this.end) {
              this.pos = end;
              mapSet.call(frame.container!, key, this.bytesValue(start, end));
              continue;
            }
          }
        }
      }
      const at = this.pos;
      const v = this.readValue(stack, frame ?? null, key);
      if (this.pushed) continue; // a list placed itself, a map places itself once it knows what it is
      if (frame === undefined) return v;
      this.place(frame, key, v, at);
    }
  }
}

/** msgpack_unpack(): the whole input is one value (stricter than PHP: trailing bytes are refused). */
export function msgpackUnpackBuffer(buf: Buffer, options?: DecodeOptions): PhpValue {
  const p = new MpParser(buf, options);
  let v = p.parse();
  p.expectEnd('after the value');
  if (v instanceof PhpReference) v = v.value; // msgpack_unpack() never returns a reference
  return v;
}

/**
 * session_decode() with `session.serialize_handler = msgpack`. Like PHP, int keys are dropped.
 * Stricter than PHP, which reads anything it cannot decode as an empty session: malformed or
 * trailing bytes, and data that is not an array, are a DecodeError.
 */
export function decodeMsgpackSession(buf: Buffer, options?: DecodeOptions): PhpArray {
  const p = new MpParser(buf, options);
  let v = p.parse();
  p.expectEnd('after the session array');
  if (v instanceof PhpReference) v = v.value;
  if (!(v instanceof PhpArray)) throw new DecodeError('msgpack session data is not an array', 0, options?.source);
  return stringKeysOnly(v);
}

/** Whether bytes can be a msgpack session as PHP writes one: a map, or the empty session `[]`. */
export function looksLikeMsgpackSession(buf: Uint8Array): boolean {
  const t = buf[0];
  if (t === undefined) return false;
  return (t >= 0x80 && t <= 0x8f) || t === 0xde || t === 0xdf || (t === 0x90 && buf.length === 1);
}

// =============================================================================================
// Encoding

type Utf8Write = (this: Buffer, s: string, offset: number, length: number) => number;
const utf8Write: Utf8Write =
  (Buffer.prototype as unknown as { utf8Write?: Utf8Write }).utf8Write ??
  function (this: Buffer, s: string, offset: number, length: number) {
    return this.write(s, offset, length, 'utf8');
  };

/** Strings longer than this are checked for ASCII by one native UTF-8 write (see string()). */
const NATIVE_STRING_MIN = 24;
/** From this depth on, a plain array is checked against the open path (a cycle shows as depth). */
const OPEN_SCAN = 32;

class MpEncoder extends EntryWalker {
  private count = 0;
  private readonly seen = new Map<unknown, number>();
  private readonly repeats = new RepeatedArrays();
  /** The containers on the path, by depth (see OPEN_SCAN). */
  private readonly opened: unknown[] = [];
  private readonly classes: ClassRegistry | undefined;
  private readonly str8: boolean;

  constructor(options: MsgpackEncodeOptions, root: string) {
    super(root);
    this.classes = options.classes;
    this.str8 = options.useStr8 !== false;
  }

  private int(v: number | bigint): void {
    const w = this.w;
    if (typeof v === 'bigint') {
      if (v >= -0x80000000n && v <= 0xffffffffn) v = Number(v);
      else {
        const neg = v < 0n;
        const u = neg ? v + (1n << 64n) : v;
        w.tagged64(neg ? 0xd3 : 0xcf, Number(u >> 32n), Number(u & 0xffffffffn));
        return;
      }
    }
    if (v >= 0) {
      if (v < 0x80) w.u8(v);
      else if (v < 0x100) w.tagged(0xcc, v, 1);
      else if (v < 0x10000) w.tagged(0xcd, v, 2);
      else if (v < TWO_32) w.tagged(0xce, v, 4);
      else w.tagged64(0xcf, Math.floor(v / TWO_32), v % TWO_32);
    } else if (v >= -32) w.u8(v & 0xff);
    else if (v >= -128) w.tagged(0xd0, v & 0xff, 1);
    else if (v >= -32768) w.tagged(0xd1, v & 0xffff, 2);
    else if (v >= -2147483648) w.tagged(0xd2, v >>> 0, 4);
    else {
      // two's complement: the (negative) high half, and the low 32 bits
      const hi = Math.floor(v / TWO_32);
      w.tagged64(0xd3, hi >>> 0, v - hi * TWO_32);
    }
  }

  private strHeader(len: number, alwaysStr8 = false): void {
    const w = this.w;
    if (len < 32) w.u8(0xa0 | len);
    else if (len < 0x100 && (this.str8 || alwaysStr8)) w.tagged(0xd9, len, 1);
    else if (len < 0x10000) w.tagged(0xda, len, 2);
    else if (len <= 0xffffffff) w.tagged(0xdb, len, 4);
    else this.fail(`a string of ${len} bytes is beyond what msgpack can hold`);
  }

  string(s: string): void {
    const n = s.length;
    const w = this.w;
    if (n > NATIVE_STRING_MIN) {
      // Guess ASCII: one native UTF-8 write after the header for n bytes (see igbinary.ts)
      const head = n < 32 ? 1 : n < 0x100 && this.str8 ? 2 : n < 0x10000 ? 3 : 5;
      w.ensure(head + 3 * n);
      if (utf8Write.call(w.buf, s, w.pos + head, 3 * n) === n) {
        this.strHeader(n);
        w.pos += n;
        return;
      }
    } else {
      w.ensure(n + 1);
      const buf = w.buf;
      const p = w.pos + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c > 0x7f) break;
        buf[p + i] = c;
      }
      if (i === n) {
        buf[w.pos] = 0xa0 | n;
        w.pos = p + n;
        return;
      }
    }
    const bytes = stringBytes(s, this.fail)!;
    this.strHeader(bytes.length);
    w.raw(bytes);
  }

  private bytes(b: Uint8Array, alwaysStr8 = false): void {
    this.strHeader(b.length, alwaysStr8);
    this.w.raw(b);
  }

  private mapHeader(n: number): void {
    if (n < 16) this.w.u8(0x80 | n);
    else if (n < 0x10000) this.w.tagged(0xde, n, 2);
    else this.w.tagged(0xdf, n, 4);
  }

  private listHeader(n: number): void {
    if (n < 16) this.w.u8(0x90 | n);
    else if (n < 0x10000) this.w.tagged(0xdc, n, 2);
    else this.w.tagged(0xdd, n, 4);
  }

  /** {nil: marker, 0: n} */
  private marker(marker: number, n: number): void {
    this.w.u8(0x82);
    this.w.u8(NIL);
    this.w.u8(marker);
    this.w.u8(0);
    this.int(n);
  }

  protected key(k: unknown, session: boolean): void {
    if (typeof k === 'string') {
      this.string(k);
      return;
    }
    if (session) throw new EncodeError(`session key ${String(k)} is an int: PHP's msgpack handler drops int keys when it reads the session (use string keys)`);
    if (typeof k === 'number' && Number.isInteger(k) && !Number.isSafeInteger(k)) k = BigInt(k); // exact; range-checked below
    if (typeof k === 'number') {
      if (!Number.isSafeInteger(k)) this.fail(`array key ${k} is not an integer PHP can hold`);
      this.int(k === 0 ? 0 : k);
    } else if (typeof k === 'bigint') {
      checkInt64(k, this.fail);
      this.int(k);
    } else this.fail(`array keys must be strings or integers, got ${typeof k}`);
  }

  value(v: unknown): void {
    if (typeof v === 'string') {
      this.string(v);
      return;
    }
    if (typeof v === 'object' && v !== null) {
      const ctor = v.constructor;
      if (ctor === PhpArray) {
        this.plainArray(v as PhpArray);
        return;
      }
      if (ctor === PhpFloat) {
        this.w.double(0xcb, (v as PhpFloat).value, recordedNanBits(v as PhpFloat));
        return;
      }
    }
    if (typeof v === 'number' && Number.isSafeInteger(v) && !(v === 0 && 1 / v < 0)) {
      this.int(v);
      return;
    }
    this.other(v);
  }

  private other(v: unknown): void {
    switch (typeof v) {
      case 'number': {
        const i = asPhpInt(v);
        if (i !== undefined) this.int(i);
        else this.w.double(0xcb, v, undefined);
        return;
      }
      case 'boolean':
        this.w.u8(v ? 0xc3 : 0xc2);
        return;
      case 'undefined':
        this.w.u8(NIL);
        return;
      case 'bigint':
        checkInt64(v, this.fail);
        this.int(v);
        return;
      case 'object':
        break;
      default:
        this.fail(unsupported(v));
    }
    if (v === null) this.w.u8(NIL);
    else if (v instanceof PhpFloat) this.w.double(0xcb, v.value, recordedNanBits(v));
    else if (v instanceof Uint8Array) this.bytes(v);
    else if (v instanceof PhpReference) this.reference(v);
    else if (isObjectLike(v, this.classes)) this.object(v, false);
    else if (isArrayLike(v)) this.plainArray(v);
    else this.fail(unsupported(v));
  }

  /** An array met without a reference: numbered, never referred back to (PHP copies arrays). */
  private plainArray(v: Map<unknown, unknown> | unknown[] | Record<string, unknown>): void {
    const d = this.depth;
    if (d >= OPEN_SCAN) {
      // msgpack_pack() crashes PHP on an array that holds itself: refuse one (any depth shows it)
      for (let i = 0; i < d; i++) if (this.opened[i] === v) this.fail('an array contains itself (only a PhpReference or an object can make a cycle)');
    }
    if (!this.repeats.withinLimit(v, v instanceof Map ? v.size : Array.isArray(v) ? v.length : -1)) {
      this.fail(`shared arrays written out again in full pass ${REPEAT_LIMIT} entries (msgpack cannot share an array: each place holds a copy)`);
    }
    this.count++;
    this.array(v, false, KEYS);
  }

  private reference(box: PhpReference): void {
    const inner: unknown = box.value;
    if (inner instanceof PhpReference) this.fail('a PhpReference cannot hold another PhpReference');
    if (isObjectLike(inner, this.classes)) {
      const n = this.seen.get(objectIdentity(inner));
      if (n !== undefined) this.marker(MARK_OBJECT_REFERENCE, n);
      else this.object(inner, true);
      return;
    }
    if (isArrayLike(inner)) {
      const n = this.seen.get(box);
      if (n !== undefined) {
        this.marker(MARK_RECURSIVE, n);
        return;
      }
      this.seen.set(box, ++this.count);
      this.array(inner, true, KEYS);
      return;
    }
    this.value(inner); // msgpack-php keeps no reference to a scalar
  }

  /** An array's header (list or map; with the reference marker when `ref`) and entries. */
  array(v: Map<unknown, unknown> | unknown[] | Record<string, unknown>, ref: boolean, mode: number): void {
    this.opened[this.depth] = v;
    if (v instanceof PhpArray) {
      const n = v.size;
      if (n === 0) this.listHeader(0);
      else if (!ref && v.isList()) {
        this.listHeader(n);
        this.walkMap(v, LIST);
      } else {
        this.mapHeaderRef(n, ref);
        this.walkMap(v, mode);
      }
      return;
    }
    const e = arrayEntries(v, this.fail);
    const n = e.size;
    if (n === 0) {
      this.listHeader(0);
      return;
    }
    let list = !ref;
    for (let i = 0; i < n && list; i++) list = e.keys![i] === i;
    if (list) {
      this.listHeader(n);
      this.walkLists(null, e.values!, LIST);
    } else {
      this.mapHeaderRef(n, ref);
      this.walkLists(e.keys, e.values!, mode);
    }
  }

  private mapHeaderRef(n: number, ref: boolean): void {
    if (ref) {
      this.mapHeader(n + 1);
      this.w.u8(NIL);
      this.w.u8(MARK_REFERENCE);
    } else this.mapHeader(n);
  }

  private object(o: object, ref: boolean): void {
    const identity = objectIdentity(o);
    const n = this.seen.get(identity);
    if (n !== undefined) {
      this.count++; // PHP numbers a plain object met again too
      this.marker(MARK_OBJECT, n);
      return;
    }
    this.seen.set(identity, ++this.count);
    this.opened[this.depth] = o;
    if (o instanceof PhpObject) {
      const props: unknown = o.props;
      if (!(props instanceof Map)) this.fail(`PhpObject ${o.className} has no props Map`);
      if (serializeForm.has(o)) {
        // __serialize(): {nil: class, nil: the array} (msgpack-php writes no reference marker here)
        this.w.u8(0x82);
        this.w.u8(NIL);
        this.string(o.className);
        this.w.u8(NIL);
        this.count++;
        this.array(props, false, KEYS);
        return;
      }
      this.objectHeader(o.className, props.size, ref);
      if (props.size > 0) this.walkMap(props, KEYS);
    } else if (o instanceof PhpSerializable) {
      this.w.u8(0x82);
      this.w.u8(NIL);
      this.w.u8(MARK_CUSTOM_OBJECT);
      this.string(o.className);
      this.bytes(o.data, true);
    } else if (o instanceof PhpEnum) {
      this.fail(`msgpack-php writes enum cases (${o.className}::${o.caseName}) as plain objects that msgpack_unpack() cannot read back ("Cannot instantiate enum"): store the case name or value instead`);
    } else {
      const mapping = this.classes!.forInstance(o)!;
      const { className, props, size } = mappedInstanceProps(mapping, o);
      const pairs = [...props];
      if (pairs.length !== size) this.fail(`toPhp() of ${mapping.phpClass} returned inconsistent properties`);
      this.objectHeader(className, pairs.length, ref);
      if (pairs.length > 0) this.walkLists(pairs.map((p) => p[0]), pairs.map((p) => p[1]), KEYS);
    }
  }

  private objectHeader(className: string, n: number, ref: boolean): void {
    this.mapHeader(n + (ref ? 2 : 1));
    if (ref) {
      this.w.u8(NIL);
      this.w.u8(MARK_REFERENCE);
    }
    this.w.u8(NIL);
    this.string(className);
  }

  /** The top level of a session: the $_SESSION array, held by PHP through a reference. */
  session(session: Map<unknown, unknown> | Record<string, unknown>): void {
    this.count++;
    this.array(session, true, SESSION);
  }
}

/** msgpack_pack() of a value (a PhpReference at the top is written as its value). */
export function msgpackPackValue(value: unknown, options: MsgpackEncodeOptions = {}): Buffer {
  while (value instanceof PhpReference) value = value.value;
  const e = new MpEncoder(options, 'value');
  try {
    e.value(value);
    return e.w.finish();
  } catch (err) {
    e.w.release();
    throw EncodeError.from(err);
  }
}

/** session_encode() with `session.serialize_handler = msgpack`. */
export function encodeMsgpackSession(session: unknown, options: MsgpackEncodeOptions = {}): Buffer {
  if (!isArrayLike(session) || Array.isArray(session)) throw new EncodeError('a session is a PhpArray, a Map or a plain object');
  const e = new MpEncoder(options, '$_SESSION');
  try {
    e.session(session);
    return e.w.finish();
  } catch (err) {
    e.w.release();
    throw EncodeError.from(err);
  }
}
