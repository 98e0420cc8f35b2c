/**
 * unserialize(): reads PHP's serialize() format straight from the bytes with a cursor.
 *
 * The parser is iterative (an explicit stack of open arrays/objects), so nesting depth is
 * bounded by `maxDepth` and by memory, never by the JS call stack.
 *
 * Slots mirror php-src's var_unserializer (var_push): every value gets the next slot number,
 * 1-based, in order of appearance (scalars too, array keys not); `R:` takes no slot, `r:` does.
 */
import { DecodeError } from '../errors.js';
import { createMappedInstance, fillMappedInstance, type ClassRegistry, type PhpClassMapping } from './classes.js';
import { parsePhpFloatText, formatPhpFloat } from './float.js';
import { constants as bufferConstants, isAscii as nativeIsAscii, isUtf8 as nativeIsUtf8 } from 'node:buffer';
import { bytesToKeyString, isValidUtf8, latin1, utf8Slice } from './strings.js';
import { setDecodeParent, setSpan, type FloatLog } from './source-span.js';
import { PhpArray, PhpEnum, PhpFloat, PhpObject, PhpReference, PhpSerializable, type PhpKey, type PhpValue } from './values.js';
import { SPL_ARRAY_IS_SELF, SPL_PAYLOAD_KINDS, setPayloadSlots, type SplPayloadKind } from './payload.js';

export interface DecodeOptions {
  /**
   * Whether decoded arrays remember their source bytes, so that encoding them again unchanged
   * copies those bytes (default true). It keeps the input's text alive as long as such an
   * array is; false when that memory matters more than re-encoding speed.
   */
  keepSource?: boolean;
  /** Deepest nesting of arrays/objects accepted (PHP's unserialize_max_depth). Default 4096. */
  maxDepth?: number;
  /** Class mappings; without one no JS class is ever instantiated. */
  classes?: ClassRegistry;
  /** A label for error messages: a file path, a Redis key. */
  source?: string;
  /**
   * Classes (names, any case) implementing Serializable whose unserialize() keeps its payload
   * as it is rather than unserialize() it. PHP numbers no slots inside their payloads; without
   * this, a payload that holds one serialize() output is read for its slots, as PHP does for
   * the usual `unserialize($data)` in unserialize() (see payload.ts).
   */
  rawPayloadClasses?: Iterable<string>;
}

export const DEFAULT_MAX_DEPTH = 4096;

/** The key cache (see Parser.keyString): ASCII keys of up to KEY_CACHE_WIDTH bytes, by hash. */
const KEY_CACHE_BITS = 10;
const KEY_CACHE_MASK = (1 << KEY_CACHE_BITS) - 1;
const KEY_CACHE_WIDTH = 16;
const keyCacheString: string[] = new Array<string>(1 << KEY_CACHE_BITS).fill('');
const keyCacheLength = new Uint8Array(1 << KEY_CACHE_BITS);
const keyCacheBytes = new Uint8Array((1 << KEY_CACHE_BITS) * KEY_CACHE_WIDTH);

/** The float log of an input without floats. */
const NO_FLOATS: FloatLog = Object.freeze({ objects: [], values: [] });

/** A slot table (see Parser.slots). */
type Slots = (PhpValue | Map<PhpKey, PhpValue> | PhpKey | null)[];

const REF_UPPER = Buffer.from('R:');
const REF_LOWER = Buffer.from('r:');

/**
 * Thrown (and caught by {@link parseWithSlots}) when an untracked run meets `r:`/`R:`: the
 * input needs the slot table after all, so it is parsed again with one.
 */
const SLOTS_NEEDED: unique symbol = Symbol('sessctl: slots needed');

const mapSet = Map.prototype.set;
const mapGet = Map.prototype.get;

const C_SEMI = 0x3b, C_COLON = 0x3a, C_QUOTE = 0x22, C_OPEN = 0x7b, C_CLOSE = 0x7d;
const C_MINUS = 0x2d, C_PLUS = 0x2b, C_0 = 0x30, C_9 = 0x39, C_DOT = 0x2e;

/** Exact powers of ten as doubles (10^22 is the last exact one). */
const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

/** Where decoding puts a value: a container (array, object props, session) and key. */
type Holder = Map<PhpKey, PhpValue> | null;

interface Frame {
  /** Children go here (array entries, or object properties as read). */
  container: PhpArray;
  /** The value being built: the array, a PhpObject or a mapped instance. */
  own: PhpValue;
  remaining: number;
  /** Object properties keep their names exactly as read; array string keys get canonicalised. */
  isObject: boolean;
  /**
   * An object whose serialized properties PHP stores as its property table (stdClass, an
   * incomplete class): an int key is the property named by its digits, as PHP's
   * process_nested_object_data() converts it (`i:0;` and `s:1:"0";` are one property).
   */
  intKeysAsNames: boolean;
  slot: number;
  /** The key of the child being read. */
  key: PhpKey;
  mapping: PhpClassMapping | undefined;
  className: string;
  /** Whether the encoder would write exactly the bytes read so far (see source-span.ts). */
  pure: boolean;
  /** Where the `a:` was, the count it gave, and the float log's length then. */
  start: number;
  count: number;
  floatStart: number;
}

/** Arrays nested at most this deep in a top-level value get a span (deeper ones only a parent). */
const SPAN_DEPTH = 3;

/** Any JS input accepted by the decode functions, as a Buffer (no copy for Uint8Array). */
export function toInputBuffer(bytes: Uint8Array | string, source?: string): Buffer {
  if (typeof bytes === 'string') {
    // A string is read as latin1 (one char = one byte), as when data was read as a binary string.
    for (let i = 0; i < bytes.length; i++) {
      if (bytes.charCodeAt(i) > 0xff) {
        throw new DecodeError(
          `string input is read as latin1 (one char per byte) but has U+${bytes.charCodeAt(i).toString(16).toUpperCase().padStart(4, '0')}; pass the raw bytes as a Buffer`,
          i,
          source,
        );
      }
    }
    return Buffer.from(bytes, 'latin1');
  }
  if (Buffer.isBuffer(bytes)) return bytes;
  if (bytes instanceof Uint8Array) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  throw new TypeError('expected a Uint8Array, Buffer or (latin1) string');
}

function isObjectValue(v: unknown): boolean {
  return (
    typeof v === 'object' &&
    v !== null &&
    !(v instanceof PhpArray) &&
    !(v instanceof PhpFloat) &&
    !(v instanceof PhpReference) &&
    !(v instanceof Uint8Array)
  );
}

function isClassNameByte(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= C_0 && c <= C_9) || c === 0x5f || c === 0x5c || c >= 0x80;
}

/**
 * One decoding run: the input, the cursor and the slot table. A session in the `php` format
 * reads every top-level value with the same Parser, so r:/R: numbers run across keys.
 */
export class Parser {
  pos = 0;
  /** Where the input ends; narrowed to a `C:` payload while that is read (see readPayload). */
  end: number;
  /**
   * The slot table, flat (one array is cheaper to grow than three): slot n's value at 3n, the
   * container holding it at 3n+1 and its key there at 3n+2 (to box it retroactively on `R:`).
   * Slot 0 is unused.
   */
  private readonly slots: Slots;
  /** Slots in use, counting the unused slot 0. */
  private slotCount = 1;
  /** Whether the slot table is kept (see the constructor). */
  private readonly tracked: boolean;
  private readonly maxDepth: number;
  /** Whether arrays get source spans: asked for, no slot table, text available. */
  private keepSource: boolean;
  /** The floats read so far, made on the first one (see source-span.ts). */
  private floatLog: FloatLog | null = null;
  private readonly classes: ClassRegistry | undefined;
  private readonly source: string | undefined;
  /** Containers open around the `C:` payload being read (PHP's depth counts through payloads). */
  private depthBase = 0;
  /** `C:` payloads being read inside one another. */
  private payloadDepth = 0;
  /** While a payload is tried (see tryPayload): the `&` boxes made, to undo them if it is not one. */
  private undo: unknown[] | null = null;
  /** Payloads read: the PhpSerializable, its first slot and its slot count, for finishPayloads(). */
  private readonly payloads: (PhpSerializable | number)[] = [];
  /** Counting slots only (countPayloadSlots): `r:`/`R:` are read without looking them up. */
  refsUnchecked = false;
  /**
   * User-class payloads that start before this offset are read as opaque (see parseWithSlots:
   * the second reading, when a reference after such a payload fails with its slots counted).
   */
  opaqueBefore = 0;
  /** Where the first user-class payload read for its slots starts (-1: none). */
  firstCountedPayload = -1;
  /** DecodeOptions.rawPayloadClasses, lower-cased (null: none). */
  private readonly rawPayloadClasses: ReadonlySet<string> | null;
  /** The top-level value's slot (unserialize(), php_serialize), and the `R:` to it (see rootValue()). */
  private rootSlot = 0;
  private rootRefs = 0;
  private rootRefHolder: Holder = null;
  private rootRefKey: PhpKey = 0;
  /** The containers from the top-level value down to the one holding that `R:`, and the key followed in each. */
  private rootRefPath: [PhpValue, PhpKey][] = [];

  /**
   * The whole input as one latin1 string (one char per byte), made once: ASCII strings and
   * keys are then cut from it with slice(), far cheaper than one native latin1 conversion
   * each. Null when the input is beyond V8's string length limit.
   */
  private readonly text: string | null;
  /** Whether every input byte is ASCII (one native check): then no string needs scanning. */
  private readonly allAscii: boolean;

  /**
   * `tracked` says whether to keep the slot table. Without it the run is cheaper, and meeting
   * `r:`/`R:` throws SLOTS_NEEDED: use {@link parseWithSlots}, which parses again with one.
   */
  constructor(
    readonly buf: Buffer,
    options: DecodeOptions = {},
    tracked = true,
  ) {
    this.end = buf.length;
    this.text = buf.length <= bufferConstants.MAX_STRING_LENGTH ? latin1(buf, 0, buf.length) : null;
    this.allAscii = nativeIsAscii(buf);
    this.tracked = tracked;
    this.keepSource = options.keepSource !== false && !tracked && this.text !== null;
    // Sized once from the input (a value takes ~8 bytes or more; capped): growing it step by step costs more.
    this.slots = this.tracked ? new Array(3 * Math.min(1 + (buf.length >> 3), 16384)) : [];
    this.slots[0] = null;
    this.slots[1] = null;
    this.slots[2] = 0;
    const maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
    if (!(Number.isInteger(maxDepth) && maxDepth >= 0)) throw new TypeError(`maxDepth must be a non-negative integer, got ${maxDepth}`);
    this.maxDepth = maxDepth;
    this.classes = options.classes;
    this.source = options.source;
    this.rawPayloadClasses = rawClassSet(options.rawPayloadClasses);
  }

  fail(message: string, offset = this.pos): never {
    throw new DecodeError(message, offset, this.source);
  }

  /** Consumes `byte` or fails with "expected 'byte' <what><what2>" (parts joined only on failure). */
  private expect(byte: number, what: string, what2 = ''): void {
    if (this.pos < this.end && this.buf[this.pos] === byte) {
      this.pos++;
      return;
    }
    const end = this.pos >= this.end ? 'unexpected end of data, ' : '';
    this.fail(`${end}expected '${String.fromCharCode(byte)}' ${what}${what2}`);
  }

  /*
   * Fast paths. Each handles the common, well-formed shape only and touches nothing (not even
   * `pos`) when the input is anything else, so the careful readers after them produce exactly
   * the same values and errors as before.
   */

  /**
   * A float at p (the bytes after `d:`) written exactly as PHP 8 writes it, with at most 15
   * significant digits: `-?(0|[1-9][0-9]*)(.[0-9]*[1-9])?;` between 1e-4 and 1e17 (or 0, -0).
   * Such text is the only ≤15-digit decimal naming its double, so it is PHP's shortest form,
   * and digits / 10^k (both exact) is the correctly rounded value Number(text) gives.
   * Undefined for anything else (the caller then compares texts the slow way).
   */
  private tryFloat(p: number): number | undefined {
    const buf = this.buf;
    const end = this.end;
    let negative = false;
    if (p < end && buf[p] === C_MINUS) {
      negative = true;
      p++;
    }
    if (p >= end) return undefined;
    let m = 0;
    let digits = 0; // significant digits so far
    let c = buf[p]!;
    if (c === C_0) {
      p++;
    } else {
      while (c >= C_0 && c <= C_9) {
        m = m * 10 + (c - C_0);
        digits++;
        if (++p >= end) return undefined;
        c = buf[p]!;
      }
      if (digits === 0 || digits > 15) return undefined;
    }
    let fraction = 0;
    if (p < end && buf[p] === C_DOT) {
      p++;
      let last = -1;
      while (p < end) {
        c = buf[p]!;
        if (c < C_0 || c > C_9) break;
        m = m * 10 + (c - C_0);
        fraction++;
        if (m !== 0) digits++;
        else if (fraction > 3) return undefined; // below 1e-4: PHP writes an exponent
        last = c;
        p++;
      }
      if (fraction === 0 || last === C_0 || digits > 15) return undefined;
    }
    if (p >= end || buf[p] !== C_SEMI) return undefined;
    this.pos = p + 1;
    const abs = fraction === 0 ? m : m / POW10[fraction]!;
    return negative ? -abs : abs;
  }

  /** The ASCII bytes [start, end) as a string. */
  private asciiString(start: number, end: number): string {
    return this.text !== null ? this.text.slice(start, end) : latin1(this.buf, start, end);
  }

  /** String value bytes → JS string (valid UTF-8) or a Buffer copy (anything else). */
  private stringValue(start: number, end: number): string | Buffer {
    if (this.allAscii) return this.asciiString(start, end);
    const buf = this.buf;
    let i = start;
    while (i < end && buf[i]! < 0x80) i++;
    if (i === end) return this.asciiString(start, end);
    // Decode first: V8 turns every invalid sequence into U+FFFD, so a result without one came
    // from valid UTF-8 and needs no check of its own. Only one with U+FFFD (which valid input
    // can hold too) is checked byte by byte.
    const s = utf8Slice(buf, start, end);
    if (s.indexOf('\uFFFD') < 0 || isValidUtf8(buf, i, end)) return s;
    return Buffer.from(buf.subarray(start, end));
  }

  /** Where the next `byte` (ASCII) is at or after `from`, or -1. */
  indexOfAscii(byte: number, from: number): number {
    // String.prototype.indexOf is a V8 builtin; Buffer.indexOf goes through a C++ binding.
    return this.text !== null ? this.text.indexOf(String.fromCharCode(byte), from) : this.buf.indexOf(byte, from);
  }

  /** Key / name bytes → JS string (see bytesToKeyString for bytes that are not UTF-8). */
  keyString(start: number, end: number): string {
    const buf = this.buf;
    const len = end - start;
    if (len > KEY_CACHE_WIDTH || len === 0) {
      if (this.allAscii) return this.asciiString(start, end);
      let i = start;
      while (i < end && buf[i]! < 0x80) i++;
      return i === end ? this.asciiString(start, end) : bytesToKeyString(buf, start, end);
    }
    // Short keys repeat in every array of the same shape: one string per distinct key means
    // its hash (which every Map.set needs) is computed once, not once per array.
    let h = len;
    for (let i = start; i < end; i++) {
      const c = buf[i]!;
      if (c >= 0x80) return bytesToKeyString(buf, start, end);
      h = (Math.imul(h, 31) + c) | 0;
    }
    const slot = (h ^ (h >>> KEY_CACHE_BITS)) & KEY_CACHE_MASK;
    const base = slot * KEY_CACHE_WIDTH;
    if (keyCacheLength[slot] === len) {
      let j = 0;
      while (j < len && keyCacheBytes[base + j] === buf[start + j]) j++;
      if (j === len) return keyCacheString[slot]!;
    }
    // A slice() of 13+ chars would pin the whole input in the cache: copy those.
    const key = len < 13 ? this.asciiString(start, end) : latin1(buf, start, end);
    keyCacheString[slot] = key;
    keyCacheLength[slot] = len;
    for (let j = 0; j < len; j++) keyCacheBytes[base + j] = buf[start + j]!;
    return key;
  }

  /** A key the fast path in readValue() did not take: readKey(), and `frame` is impure. */
  private slowKey(frame: Frame): PhpKey {
    frame.pure = false;
    const k = this.readKey(frame.isObject);
    return frame.isObject && (typeof k !== 'string' || isDigitLed(k)) ? this.propertyName(frame, k) : k;
  }

  /**
   * An object's property key that is an int, or a string in canonical int form. PHP stores
   * the properties of a property-table class (stdClass, an incomplete class) under string
   * names: an int key is the name of its digits, and `i:0;` then `s:1:"0";` are one property
   * (the later value, in the first one's place), written back as `s:1:"0";`. A class with
   * __unserialize() gets them as array keys, where `0` and `"0"` are one key too. So for other
   * classes a key is kept as read (its __serialize() writes ints back), but one that would be
   * the same property or key as one already read is that one.
   */
  private propertyName(frame: Frame, k: PhpKey): PhpKey {
    if (frame.intKeysAsNames) return typeof k === 'string' ? k : String(k);
    const props = frame.container;
    if (props.size === 0) return k;
    if (typeof k !== 'string') {
      const name = String(k);
      return Map.prototype.has.call(props, name) ? name : k;
    }
    const b = Buffer.from(k, 'latin1');
    const n = k.length <= 20 && b.toString('latin1') === k ? canonicalIntKey(b, 0, b.length) : undefined;
    return n !== undefined && Map.prototype.has.call(props, n) ? n : k;
  }

  /**
   * An unsigned decimal (lengths, counts, slot numbers), followed by `terminator`. Leading
   * zeros are read, as PHP reads them (`s:003:"abc";`); the run is scanned once, so even a
   * run of millions of digits costs linear time before it is refused.
   */
  private readUnsigned(terminator: number, what: string, what2 = ''): number {
    const buf = this.buf;
    const start = this.pos;
    let p = start;
    while (p < this.end && buf[p] === C_0) p++;
    const significant = p;
    let n = 0;
    while (p < this.end) {
      const c = buf[p]!;
      if (c < C_0 || c > C_9) break;
      n = n * 10 + (c - C_0);
      p++;
    }
    if (p === start) this.fail(`expected digits for ${what}${what2}`);
    // No length or count can exceed the input size; anything beyond is garbage or hostile.
    if (p - significant > 15 || n > 0x7fffffff) this.fail(`${what}${what2} ${digitsExcerpt(buf, start, p)} is too large`, start);
    this.pos = p;
    if (p < this.end && buf[p] === terminator) this.pos++;
    else this.expect(terminator, 'after ', what + what2);
    return n;
  }

  /**
   * PHP's parse_iv2(), which reads an object's property count and a Serializable's data
   * length: an optional sign, then digits, none at all being 0 (`O:8:"stdClass"::{}`, `-0:`,
   * `+:` are all 0 properties); a negative count fails.
   */
  private readCount(terminator: number, what: string): number {
    const buf = this.buf;
    const start = this.pos;
    const sign = start < this.end ? buf[start] : undefined;
    if (sign === C_PLUS || sign === C_MINUS) this.pos++;
    if (this.pos < this.end && buf[this.pos] === terminator) {
      this.pos++;
      return 0;
    }
    const n = this.readUnsigned(terminator, what);
    if (sign === C_MINUS && n > 0) this.fail(`negative ${what}`, start);
    return n;
  }

  /**
   * PHP's `iv`: `[+-]?[0-9]+`, 64-bit; number when safe, bigint beyond. Leading zeros are
   * read as PHP reads them (`i:0001;` is 1). A run with more significant digits than any
   * 64-bit int has (19) is refused before anything is converted: BigInt() of a million
   * digits costs hundreds of milliseconds, and the run is attacker-sized.
   */
  private readSigned(terminator: number, what: string): number | bigint {
    const buf = this.buf;
    const end = this.end;
    const start = this.pos;
    let p = start;
    let negative = false;
    if (p < end && (buf[p] === C_MINUS || buf[p] === C_PLUS)) {
      negative = buf[p] === C_MINUS;
      p++;
    }
    const digitsStart = p;
    while (p < end && buf[p] === C_0) p++;
    const significant = p;
    let n = 0;
    while (p < end) {
      const c = buf[p]!;
      if (c < C_0 || c > C_9) break;
      n = n * 10 + (c - C_0);
      p++;
    }
    if (p === digitsStart) this.fail(`expected digits for ${what}`, p);
    const digits = p - significant;
    if (digits > 19) this.fail(`${what} ${digitsExcerpt(buf, start, p)} overflows a 64-bit int`, start);
    this.pos = p;
    let value: number | bigint;
    if (digits <= 15) {
      value = negative ? -n : n;
      if (value === 0) value = 0; // -0 is the int 0
    } else {
      let big = BigInt(latin1(buf, significant, p));
      if (negative) big = -big;
      if (big > 9223372036854775807n || big < -9223372036854775808n) this.fail(`${what} ${digitsExcerpt(buf, start, p)} overflows a 64-bit int`, start);
      value = Number.isSafeInteger(Number(big)) ? Number(big) : big;
    }
    if (p < end && buf[p] === terminator) this.pos++;
    else this.expect(terminator, 'after ', what);
    return value;
  }

  /** `<len>:"<bytes>"` — returns where the bytes start; they end at `this.pos - 1` (the closing quote). */
  private readLengthPrefixed(what: string): number {
    const len = this.readUnsigned(C_COLON, what, ' length');
    this.expect(C_QUOTE, 'before ', what);
    const start = this.pos;
    if (len > this.end - start) this.fail(`${what} length ${len} runs past the end of the data (${this.end - start} bytes left)`, start);
    this.pos = start + len;
    if (this.pos < this.end && this.buf[this.pos] === C_QUOTE) this.pos++;
    else this.expect(C_QUOTE, 'after ', `${what} (length ${len})`);
    return start;
  }

  /**
   * `S:` strings: `\xx` hex escapes (either case), the length counts decoded bytes.
   * Read-only legacy format. One pass, a table lookup per hex digit: linear in the input.
   */
  private readEscapedBytes(): Buffer | string {
    const len = this.readUnsigned(C_COLON, 'escaped string length');
    this.expect(C_QUOTE, 'before escaped string');
    const start = this.pos;
    const end = this.end;
    if (len > end - start) this.fail(`escaped string length ${len} runs past the end of the data`, start);
    const out = Buffer.allocUnsafe(len);
    const buf = this.buf;
    let p = start;
    let i = 0;
    let run = 0; // bytes since the last escape
    let high = 0; // every byte ORed: below 0x80 means ASCII
    while (i < len) {
      if (p >= end) this.fail('unexpected end of data in escaped string', p);
      const c = buf[p]!;
      if (c !== 0x5c) {
        out[i++] = c;
        high |= c;
        p++;
        if (++run === ESCAPE_SCAN) {
          // A long run without escapes: one native search for the next `\`, bounded by what
          // the string can still hold (never past it: many S: strings must not each search
          // the rest of the input), and one copy.
          const limit = Math.min(end, p + (len - i));
          const found = buf.subarray(p, limit).indexOf(0x5c);
          const q = found < 0 ? limit : p + found;
          if (q > p) {
            buf.copy(out, i, p, q);
            high |= nativeIsAscii(out.subarray(i, i + (q - p))) ? 0 : 0x80;
            i += q - p;
            p = q;
          }
          run = 0;
        }
        continue;
      }
      const hi = p + 2 < end ? HEX_VALUE[buf[p + 1]!]! : -1;
      const lo = hi >= 0 ? HEX_VALUE[buf[p + 2]!]! : -1;
      if (lo < 0) this.fail('expected two hex digits after \\ in escaped string', p);
      const byte = (hi << 4) | lo;
      out[i++] = byte;
      high |= byte;
      p += 3;
      run = 0;
    }
    this.pos = p;
    this.expect(C_QUOTE, 'after escaped string');
    // An ASCII result is its own string; anything else is checked natively (it can be megabytes).
    if (high < 0x80) return latin1(out, 0, len);
    return nativeIsUtf8(out) ? utf8Slice(out, 0, len) : out;
  }

  private readClassName(what: string): string {
    const start = this.readLengthPrefixed(what);
    const end = this.pos - 1;
    if (start === end) this.fail(`empty ${what}`, start);
    // PHP 8.2 refuses `O:`/`C:` names that start with a backslash, loaded class or not (E: takes them).
    if (this.buf[start] === 0x5c) this.fail(`${what} starts with a backslash`, start);
    for (let i = start; i < end; i++) if (!isClassNameByte(this.buf[i]!)) this.fail(`invalid character in ${what}`, i);
    return bytesToKeyString(this.buf, start, end);
  }

  /**
   * The `Class:Case` bytes [start, end) of an `E:` as a PhpEnum, refused (at the offending
   * byte) where PHP 8.2 refuses them whatever classes it has loaded: the class part must be a
   * name zend_is_valid_class_name() accepts (bytes [0-9A-Za-z_\\\x80-\xff], not empty; PHP
   * resolves it like any class name, so `\Suit` and `suit` name Suit), and the case part must
   * be a case that could have been declared: an identifier `[A-Za-z_\x80-\xff][0-9A-Za-z_\x80-\xff]*`
   * other than `class` (any case: PHP reserves it). PHP splits at the first colon, so a case
   * name never holds one. Whether the enum and the case exist is PHP's side to check.
   */
  private enumCase(start: number, end: number): PhpEnum {
    const buf = this.buf;
    let colon = start;
    while (colon < end && buf[colon] !== C_COLON) colon++;
    if (colon === end) this.fail("expected 'Class:Case' in enum", start);
    if (colon === start) this.fail('empty enum class name', start);
    for (let i = start; i < colon; i++) if (!isClassNameByte(buf[i]!)) this.fail('invalid character in enum class name', i);
    const caseStart = colon + 1;
    if (caseStart === end) this.fail('empty enum case name', caseStart);
    for (let i = caseStart; i < end; i++) {
      const c = buf[i]!;
      if (!isClassNameByte(c) || c === 0x5c || (i === caseStart && c >= C_0 && c <= C_9)) this.fail('invalid character in enum case name', i);
    }
    const caseName = bytesToKeyString(buf, caseStart, end);
    if (caseName.toLowerCase() === 'class') this.fail("'class' cannot be an enum case name", caseStart);
    return new PhpEnum(bytesToKeyString(buf, start, colon), caseName);
  }

  /**
   * The top-level value of unserialize() (or of php_serialize data) when `R:` pointed at it.
   * PHP unwraps the reference around its return value (php_unserialize_with_options), so the
   * value is the array or object itself, and the `&` box inside keeps pointing at it. With two
   * or more such `R:`, the box is a real reference and stays. With exactly one, PHP's reference
   * has a refcount of 1, which PHP treats as no reference at all: for an object, the object
   * itself is there (written `r:`); for an array, what PHP holds there and writes back
   * (php_var_serialize_nested_data) is null when the `R:` sits in the array itself, else the
   * array once more, walked down the same path: an array on that path is null (PHP's recursion
   * guard), an object held nowhere else is copied (PHP does not track a refcount-1 object), one
   * held elsewhere is itself (`r:`), and the place of the `R:` is null.
   * `a:1:{i:0;R:1;}` is `[null]`; `a:1:{i:0;a:1:{i:0;R:1;}}` is `[[[null]]]`.
   */
  private rootValue(boxed: PhpValue): PhpValue {
    const box = boxed as PhpReference;
    const root = box.value;
    if (this.rootRefs > 1) return root;
    const path = this.rootRefPath;
    let replacement: PhpValue = root;
    if (root instanceof PhpArray) {
      if (path.length <= 1) replacement = null;
      else {
        const held = holdCounts(root, path);
        // From the place of the R: up: each level is a copy of its node with the next one inside.
        let inner: PhpValue = null;
        for (let level = path.length - 1; level >= 0; level--) {
          const [node, key] = path[level]!;
          if (level > 0 && (node instanceof PhpArray || !(node instanceof PhpObject) || (held.get(node) ?? 0) > 1)) {
            inner = node instanceof PhpObject || (node !== null && typeof node === 'object' && !(node instanceof PhpArray)) ? node : null;
            continue;
          }
          const props = node instanceof PhpObject ? node.props : (node as PhpArray);
          const copy = new PhpArray();
          for (const [k, v] of props) mapSet.call(copy, k, k === key ? inner : v);
          inner = node instanceof PhpObject ? new PhpObject(node.className, copy) : copy;
        }
        replacement = inner;
      }
    }
    const h = this.rootRefHolder;
    if (h !== null && mapGet.call(h, this.rootRefKey) === box) mapSet.call(h, this.rootRefKey, replacement);
    return root;
  }

  /**
   * Reads the payload [start, end) of `sv` as PHP 8.2 would (see payload.ts): its values take
   * the slots after `sv`'s. `depth`: the containers open around it.
   */
  private readPayload(sv: PhpSerializable, start: number, end: number, depth: number): void {
    const first = this.slotCount;
    if (end > start) {
      if (this.payloadDepth >= MAX_PAYLOAD_NESTING) {
        // Refused outright: read as opaque bytes instead, the levels below would go uncounted and
        // every r:/R: after them would point at the wrong value.
        throw new PayloadNestingError(`Serializable payloads nested more than ${MAX_PAYLOAD_NESTING} deep`, start, this.source);
      }
      const saved = { end: this.end, keepSource: this.keepSource, depthBase: this.depthBase };
      this.end = end;
      this.keepSource = false; // payload values are not part of the value tree
      this.depthBase += depth;
      this.payloadDepth++;
      try {
        const kind = SPL_PAYLOAD_KINDS.get(sv.className.toLowerCase());
        if (kind !== undefined) {
          this.pos = start;
          this.splPayload(kind, sv.className);
        } else if (start >= this.opaqueBefore && !(this.rawPayloadClasses?.has(sv.className.toLowerCase()) ?? false)) {
          // User code: one serialize() output, else an SPL subclass's format, else opaque.
          const before = this.slotCount;
          void (
            this.tryPayload(start, () => {
              this.readValue();
              if (this.pos !== end) throw NOT_THIS_FORMAT;
            }) ||
            this.tryPayload(start, () => this.splPayload('array', sv.className)) ||
            this.tryPayload(start, () => this.splPayload('storage', sv.className)) ||
            this.tryPayload(start, () => this.splPayload('list', sv.className))
          );
          if (this.slotCount > before && this.firstCountedPayload < 0) this.firstCountedPayload = start;
        }
      } catch (e) {
        // A stack smaller than Node's default (a worker's, a deep caller): refused all the same.
        if (e instanceof RangeError) throw new PayloadNestingError('Serializable payloads nested too deep for the stack', start, this.source);
        throw e;
      } finally {
        this.end = saved.end;
        this.keepSource = saved.keepSource;
        this.depthBase = saved.depthBase;
        this.payloadDepth--;
      }
    }
    this.payloads.push(sv, first, this.slotCount - first);
  }

  /**
   * Runs `read` from `start`; true when it reads the payload. When it fails (a DecodeError, or
   * NOT_THIS_FORMAT) everything it did is undone — slots, and `&` boxes it put around earlier
   * values — and the result is false.
   */
  private tryPayload(start: number, read: () => void): boolean {
    const slotCount = this.slotCount;
    const outer = this.undo;
    const undo: unknown[] = [];
    this.undo = undo;
    this.pos = start;
    try {
      read();
      if (outer !== null) for (const u of undo) outer.push(u);
      return true;
    } catch (e) {
      if ((!(e instanceof DecodeError) && e !== NOT_THIS_FORMAT) || e instanceof PayloadNestingError) throw e;
      for (let i = undo.length - 3; i >= 0; i -= 3) {
        const n = undo[i] as number;
        const target = undo[i + 1] as PhpValue;
        const box = undo[i + 2] as PhpReference;
        this.slots[3 * n] = target;
        const h = this.slots[3 * n + 1] as Holder;
        const hKey = this.slots[3 * n + 2] as PhpKey;
        if (h != null && mapGet.call(h, hKey) === box) mapSet.call(h, hKey, target);
      }
      this.slotCount = slotCount;
      this.pos = start;
      return false;
    } finally {
      this.undo = outer;
    }
  }

  /** One of PHP's own payload formats (payload.ts), from `pos` to `end`; refused (DecodeError) where PHP's class refuses it. */
  private splPayload(kind: SplPayloadKind, className: string): void {
    const buf = this.buf;
    const what = `${className} payload`;
    const int = (v: PhpValue, at: number): number => {
      if (typeof v === 'number') return v;
      if (typeof v === 'bigint') return Number(BigInt.asIntN(32, v));
      this.fail(`${what}: expected an int`, at);
    };
    const isObjectLike = (v: PhpValue): boolean => isObjectValue(v) && !(v instanceof PhpEnum);
    if (kind === 'list') {
      const at = this.pos;
      int(this.readValue(), at);
      while (this.pos < this.end && buf[this.pos] === C_COLON) {
        this.pos++;
        this.readValue();
      }
      // PHP reads to the string's terminating NUL: the end, or an embedded NUL byte.
      if (this.pos < this.end && buf[this.pos] !== 0) this.fail(`${what}: expected ':' or the end`);
      return;
    }
    if (buf[this.pos] !== 0x78 /* x */ || buf[this.pos + 1] !== C_COLON || this.pos + 1 >= this.end) this.fail(`${what}: expected 'x:'`);
    this.pos += 2;
    let at = this.pos;
    const n = int(this.readValue(), at);
    if (buf[this.pos - 1] !== C_SEMI) this.fail(`${what}: expected ';'`, this.pos - 1);
    if (kind === 'array') {
      if (!(n & SPL_ARRAY_IS_SELF)) {
        const c = buf[this.pos];
        if (this.pos >= this.end || (c !== 0x61 && c !== 0x4f && c !== 0x43 && c !== 0x72)) this.fail(`${what}: expected the storage array or object`);
        at = this.pos;
        const storageSlot = this.slotCount;
        const storage = this.readValue();
        if (!(storage instanceof PhpArray) && !isObjectLike(storage)) this.fail(`${what}: the storage is not an array or object`, at);
        // PHP moves a storage array out of its slot (ZVAL_NULL after the copy): an R: to it reads null.
        if (storage instanceof PhpArray && this.tracked) this.slots[3 * storageSlot] = null;
        this.expectIn(C_SEMI, what);
      }
    } else {
      if (n < 0) this.fail(`${what}: negative count`, at);
      this.pos--; // PHP steps back onto the ';' that ended the count
      for (let i = n; i > 0; i--) {
        this.expectIn(C_SEMI, what);
        const c = buf[this.pos];
        if (this.pos >= this.end || (c !== 0x4f && c !== 0x43 && c !== 0x72)) this.fail(`${what}: expected an object`);
        at = this.pos;
        const obj = this.readValue();
        if (this.pos < this.end && buf[this.pos] === 0x2c /* , */) {
          this.pos++;
          this.readValue();
        }
        if (!isObjectLike(obj)) this.fail(`${what}: an element is not an object`, at);
      }
      this.expectIn(C_SEMI, what);
    }
    if (buf[this.pos] !== 0x6d /* m */ || buf[this.pos + 1] !== C_COLON || this.pos + 1 >= this.end) this.fail(`${what}: expected 'm:'`);
    this.pos += 2;
    at = this.pos;
    if (!(this.readValue() instanceof PhpArray)) this.fail(`${what}: the members are not an array`, at);
    // PHP ignores whatever follows.
  }

  private expectIn(byte: number, what: string): void {
    if (this.pos < this.end && this.buf[this.pos] === byte) this.pos++;
    else this.fail(`${what}: expected '${String.fromCharCode(byte)}'`);
  }

  /** countPayloadSlots(): the whole input is one payload of `className`. */
  payloadSlotCount(className: string): number {
    const before = this.slotCount;
    this.readPayload(new PhpSerializable(className, this.buf), 0, this.end, 0);
    return this.slotCount - before;
  }

  /** After the whole input: what each payload's slots hold (the `&` boxes made since included). */
  finishPayloads(): void {
    const p = this.payloads;
    for (let i = 0; i < p.length; i += 3) {
      const sv = p[i] as PhpSerializable;
      const first = p[i + 1] as number;
      const count = p[i + 2] as number;
      let values: PhpValue[] | null = null;
      if (this.tracked) {
        values = new Array<PhpValue>(count);
        for (let j = 0; j < count; j++) values[j] = this.slots[3 * (first + j)] as PhpValue;
      }
      setPayloadSlots(sv, { data: sv.data, count, values });
    }
  }

  /** A key inside a:{…} or O:{…}: `i:` or `s:` (or legacy `S:`). */
  private readKey(isObject: boolean): PhpKey {
    const buf = this.buf;
    const at = this.pos;
    if (at + 1 >= this.end) this.fail(`unexpected end of data, expected an ${isObject ? 'property name' : 'array key'}`);
    const tag = buf[at]!;
    if (buf[at + 1] !== C_COLON) this.fail(`expected 'i:' or 's:' ${isObject ? 'property name' : 'array key'}`);
    this.pos = at + 2;
    if (tag === 0x69 /* i */) return this.readSigned(C_SEMI, 'int key');
    if (tag === 0x73 /* s */) {
      const start = this.readLengthPrefixed('string key');
      const end = this.pos - 1;
      this.expect(C_SEMI, 'after string key');
      if (!isObject && end > start && end - start <= 20) {
        const c = buf[start]!;
        if ((c >= C_0 && c <= C_9) || c === C_MINUS) {
          const k = canonicalIntKey(buf, start, end);
          if (k !== undefined) return k;
        }
      }
      return bytesToKeyString(buf, start, end);
    }
    if (tag === 0x53 /* S */) {
      const v = this.readEscapedBytes();
      this.expect(C_SEMI, 'after escaped string key');
      const s = typeof v === 'string' ? v : bytesToKeyString(v, 0, v.length);
      return isObject ? s : canonicalKeyOfString(s);
    }
    this.pos = at;
    this.fail(`expected 'i:' or 's:' ${isObject ? 'property name' : 'array key'}, got '${printable(tag)}'`);
  }

  /** Slot n holds `value`, which sits in `holder` under `key` (to box it there on `R:`). */
  private recordSlot(n: number, value: PhpValue, holder: Holder, key: PhpKey): void {
    const slots = this.slots;
    const i = 3 * n;
    if (i < slots.length) {
      slots[i] = value;
      slots[i + 1] = holder;
      slots[i + 2] = key;
    } else slots.push(value, holder, key);
  }

  private slotRef(what: string, at: number): number {
    const n = this.readUnsigned(C_SEMI, what, ' number');
    const count = this.slotCount;
    if (n < 1 || n >= count) this.fail(`${what}:${n} refers to no earlier value (${count - 1} so far)`, at);
    return n;
  }

  /**
   * Reads one complete value at the cursor. `holder`/`holderKey` say where the caller will
   * store it (the session array for top-level session values), so `R:` can box it later.
   */
  readValue(holder: Holder = null, holderKey: PhpKey = 0): PhpValue {
    // The common shapes (`s:`/`i:` keys and values, array headers, slots) are written out
    // here rather than called: V8 inlines only ~920 bytes of bytecode into one function, and
    // the helpers past that budget were calls costing more than the parsing in them. Each
    // fast path touches nothing unless the input has exactly its shape; anything else goes
    // to the careful readers, which give the same values and every error.
    const buf = this.buf;
    const end = this.end;
    const tracked = this.tracked;
    const stack: Frame[] = [];
    let frame: Frame | undefined;
    let key: PhpKey = holderKey;
    let into: Holder = holder;
    let value: PhpValue;
    let slot: number; // slot of `value`, 0 when it takes none (R:)

    for (;;) {
      if (frame !== undefined) {
        if (frame.remaining === 0) {
          if (this.pos < end && buf[this.pos] === C_CLOSE) this.pos++;
          else this.expect(C_CLOSE, frame.isObject ? 'to close the object' : 'to close the array');
          if (frame.mapping !== undefined) {
            const own = this.tracked ? this.slots[3 * frame.slot] : frame.own;
            const instance = own instanceof PhpReference ? own.value : own;
            fillMappedInstance(frame.mapping, instance as object, frame.container, frame.className);
          }
          value = this.tracked ? (this.slots[3 * frame.slot] as PhpValue) : frame.own; // the box, if an R: boxed it meanwhile
          slot = frame.slot;
          const closed = frame;
          stack.pop();
          frame = stack.length > 0 ? stack[stack.length - 1] : undefined;
          if (frame !== undefined) {
            into = frame.container;
            key = frame.key;
          } else {
            into = holder;
            key = holderKey;
          }
          if (into !== null) {
            mapSet.call(into, key, value);
            if (this.tracked) {
              this.slots[3 * slot + 1] = into;
              this.slots[3 * slot + 2] = key;
            }
          }
          if (this.keepSource) this.closeSource(closed, frame, into, stack.length);
          if (frame === undefined) return slot === this.rootSlot && this.rootRefs > 0 ? this.rootValue(value) : value;
          continue;
        }
        // The key: `s:<len>:"<bytes>";` or `i:<int>;`, else readKey().
        const k0 = this.pos;
        let p = k0 + 2;
        let n = 0;
        const digits = p;
        if (buf[k0 + 1] === C_COLON && p < end) {
          const ktag = buf[k0];
          if (ktag === 0x73 /* s */) {
            while (p < end) {
              const c = buf[p]!;
              if (c < C_0 || c > C_9) break;
              n = n * 10 + (c - C_0);
              p++;
            }
            const start = p + 2;
            const stop = start + n;
            if (
              p > digits && p - digits <= 10 && !(buf[digits] === C_0 && p > digits + 1) &&
              stop + 1 < end && buf[p] === C_COLON && buf[p + 1] === C_QUOTE && buf[stop] === C_QUOTE && buf[stop + 1] === C_SEMI
            ) {
              this.pos = stop + 2;
              const c = buf[start]!;
              const intKey = c <= C_9 && (c >= C_0 || c === C_MINUS) && !frame.isObject && n <= 20 ? canonicalIntKey(buf, start, stop) : undefined;
              if (intKey === undefined) {
                key = this.keyString(start, stop);
                if (frame.isObject && c <= C_9 && (c >= C_0 || c === C_MINUS)) key = this.propertyName(frame, key);
              }
              else {
                key = intKey; // `s:1:"5"` is the int key 5, written `i:5;` again
                frame.pure = false;
              }
            } else key = this.slowKey(frame);
          } else if (ktag === 0x69 /* i */) {
            const negative = buf[p] === C_MINUS;
            if (negative) p++;
            const d = p;
            while (p < end) {
              const c = buf[p]!;
              if (c < C_0 || c > C_9) break;
              n = n * 10 + (c - C_0);
              p++;
            }
            if (p > d && p - d <= 15 && p < end && buf[p] === C_SEMI && !(buf[d] === C_0 && (negative || p > d + 1))) {
              this.pos = p + 1;
              key = negative ? -n : n;
              if (frame.isObject) key = this.propertyName(frame, key);
            } else key = this.slowKey(frame);
          } else key = this.slowKey(frame);
        } else key = this.slowKey(frame);
        frame.key = key;
        frame.remaining--;
        into = frame.container;
      }

      const at = this.pos;
      if (at + 1 >= this.end) this.fail('unexpected end of data, expected a value');
      const tag = buf[at]!;
      if (tag === 0x4e /* N */) {
        if (buf[at + 1] !== C_SEMI) this.fail("expected ';' after 'N'", at + 1);
        this.pos = at + 2;
        value = null;
      } else {
        if (buf[at + 1] !== C_COLON) this.fail(tag === 0x7d ? 'unexpected }' : `expected ':' after type tag '${printable(tag)}'`, tag === 0x7d ? at : at + 1);
        this.pos = at + 2;
        switch (tag) {
          case 0x69 /* i */: {
            // `-?<1..15 digits>;`, canonical (no `-0`, no leading zero)
            let p = at + 2;
            const negative = buf[p] === C_MINUS;
            if (negative) p++;
            const d = p;
            let n = 0;
            while (p < end) {
              const c = buf[p]!;
              if (c < C_0 || c > C_9) break;
              n = n * 10 + (c - C_0);
              p++;
            }
            if (p > d && p - d <= 15 && p < end && buf[p] === C_SEMI && !(buf[d] === C_0 && (negative || p > d + 1))) {
              this.pos = p + 1;
              value = negative ? -n : n;
            } else {
              value = this.readSigned(C_SEMI, 'int');
              if (frame !== undefined) frame.pure = false;
            }
            break;
          }
          case 0x73 /* s */: {
            // `<len>:"<bytes>";`, canonical length
            let p = at + 2;
            let n = 0;
            while (p < end) {
              const c = buf[p]!;
              if (c < C_0 || c > C_9) break;
              n = n * 10 + (c - C_0);
              p++;
            }
            const start = p + 2;
            const stop = start + n;
            if (
              p > at + 2 && p - at <= 12 && !(buf[at + 2] === C_0 && p > at + 3) &&
              stop + 1 < end && buf[p] === C_COLON && buf[p + 1] === C_QUOTE && buf[stop] === C_QUOTE && buf[stop + 1] === C_SEMI
            ) {
              this.pos = stop + 2;
              if (this.allAscii) {
                value = this.text !== null ? this.text.slice(start, stop) : latin1(buf, start, stop);
                break;
              }
              value = this.stringValue(start, stop);
            } else {
              const from = this.readLengthPrefixed('string');
              const to = this.pos - 1;
              this.expect(C_SEMI, 'after string');
              if (frame !== undefined) frame.pure = false;
              value = this.stringValue(from, to);
            }
            if (typeof value !== 'string' && frame !== undefined) frame.pure = false; // bytes can change in place
            break;
          }
          case 0x62 /* b */: {
            const c = buf[this.pos];
            if (c !== C_0 && c !== C_0 + 1) this.fail("expected 0 or 1 after 'b:'");
            this.pos++;
            this.expect(C_SEMI, 'after bool');
            value = c === C_0 + 1;
            break;
          }
          case 0x64 /* d */: {
            const fast = this.tryFloat(at + 2);
            if (fast !== undefined) {
              const f = new PhpFloat(fast);
              if (this.keepSource) this.logFloat(f);
              value = f;
              break;
            }
            const start = this.pos;
            let p = start;
            while (p < this.end && buf[p] !== C_SEMI && p - start < 1100) p++;
            if (p >= this.end || buf[p] !== C_SEMI) this.fail("expected ';' after float", p);
            const text = latin1(buf, start, p);
            const n = parsePhpFloatText(text);
            if (n === undefined) this.fail(`invalid float ${JSON.stringify(text.slice(0, 40))}`, start);
            this.pos = p + 1;
            const f = formatPhpFloat(n) === text ? new PhpFloat(n) : new PhpFloat(n, text);
            if (this.keepSource) this.logFloat(f);
            if (f.text !== undefined && frame !== undefined) frame.pure = false;
            value = f;
            break;
          }
          case 0x61 /* a */:
          case 0x4f /* O */: {
            let className = '';
            let mapping: PhpClassMapping | undefined;
            if (tag === 0x4f) {
              className = this.readClassName('class name');
              this.expect(C_COLON, 'after class name');
              mapping = this.classes?.forPhpClass(className);
            }
            const countAt = this.pos;
            // `<count>:{`
            let p = countAt;
            let count = 0;
            while (p < end) {
              const c = buf[p]!;
              if (c < C_0 || c > C_9) break;
              count = count * 10 + (c - C_0);
              p++;
            }
            if (p > countAt && p - countAt <= 9 && p + 1 < end && buf[p] === C_COLON && buf[p + 1] === C_OPEN) this.pos = p + 2;
            else {
              // An array's count is digits (re2c's uiv); an object's is parse_iv2()'s (see readCount).
              count = tag === 0x61 ? this.readUnsigned(C_COLON, 'array count') : this.readCount(C_COLON, 'property count');
              this.expect(C_OPEN, tag === 0x61 ? 'to open the array' : 'to open the object');
            }
            // Each element needs at least 4 bytes: never trust the count for allocation.
            if (count > (this.end - this.pos) / 4) this.fail(`count ${count} is larger than the remaining ${this.end - this.pos} bytes can hold`, countAt);
            if (this.depthBase + stack.length >= this.maxDepth) this.fail(`nesting deeper than maxDepth (${this.maxDepth})`, at);
            const container = new PhpArray();
            let own: PhpValue;
            if (tag === 0x61) own = container;
            else if (mapping !== undefined) own = createMappedInstance(mapping) as PhpValue;
            else own = new PhpObject(className, container);
            const ownSlot = this.slotCount++;
            if (tracked) this.recordSlot(ownSlot, own, null, 0);
            // `a:05:{` is read, but not what serialize() writes
            const pure = tag === 0x61 && !(buf[countAt] === C_0 && this.pos - countAt > 3);
            const floatStart = this.floatLog === null ? 0 : this.floatLog.objects.length;
            const intKeysAsNames = tag === 0x4f && isPropertyTableClass(className);
            if (stack.length === 0 && holder === null && this.payloadDepth === 0) this.rootSlot = ownSlot;
            frame = { container, own, remaining: count, isObject: tag === 0x4f, intKeysAsNames, slot: ownSlot, key: 0, mapping, className, pure, start: at, count, floatStart };
            stack.push(frame);
            continue;
          }
          case 0x43 /* C */: {
            const className = this.readClassName('class name');
            this.expect(C_COLON, 'after class name');
            const len = this.readCount(C_COLON, 'Serializable data length');
            this.expect(C_OPEN, 'to open the Serializable data');
            const dataStart = this.pos;
            if (len > this.end - dataStart) this.fail(`Serializable data length ${len} runs past the end of the data`);
            // PHP checks the closing brace before it hands the payload to the class.
            this.pos = dataStart + len;
            this.expect(C_CLOSE, 'after the Serializable data');
            const sv = new PhpSerializable(className, Buffer.from(buf.subarray(dataStart, dataStart + len)));
            if (frame !== undefined) frame.pure = false; // identity, and bytes that can change in place
            // Its slot comes before the slots of the values PHP reads from its payload.
            const svSlot = this.slotCount++;
            if (tracked) this.recordSlot(svSlot, sv, into, key);
            this.readPayload(sv, dataStart, dataStart + len, stack.length);
            this.pos = dataStart + len + 1;
            value = tracked ? (this.slots[3 * svSlot] as PhpValue) : sv; // the box, if an R: in the payload made one
            if (into !== null) mapSet.call(into, key, value);
            if (frame === undefined) return value;
            continue;
          }
          case 0x45 /* E */: {
            const start = this.readLengthPrefixed('enum name');
            const end = this.pos - 1;
            this.expect(C_SEMI, 'after enum');
            value = this.enumCase(start, end);
            if (frame !== undefined) frame.pure = false; // identity (r: to it later)
            break;
          }
          case 0x72 /* r */: {
            if (this.refsUnchecked) {
              this.slotRef('r', at);
              value = null;
              break;
            }
            if (!this.tracked) throw SLOTS_NEEDED;
            const n = this.slotRef('r', at);
            let target: PhpValue = this.slots[3 * n] as PhpValue;
            if (target instanceof PhpReference) target = target.value;
            if (!isObjectValue(target)) this.fail(`r:${n} refers to a value that is not an object`, at);
            value = target;
            break;
          }
          case 0x52 /* R */: {
            if (this.refsUnchecked) {
              this.slotRef('R', at);
              if (into !== null) mapSet.call(into, key, null);
              if (frame === undefined) return null;
              continue;
            }
            if (!this.tracked) throw SLOTS_NEEDED;
            const n = this.slotRef('R', at);
            const target = this.slots[3 * n] as PhpValue;
            let box: PhpReference;
            if (target instanceof PhpReference) box = target;
            else {
              box = new PhpReference(target);
              this.slots[3 * n] = box;
              const h = this.slots[3 * n + 1] as Holder;
              const hKey = this.slots[3 * n + 2] as PhpKey;
              // Box it where it sits; a container still open gets the box when it closes.
              if (h != null && mapGet.call(h, hKey) === target) mapSet.call(h, hKey, box);
              if (this.undo !== null) this.undo.push(n, target, box);
            }
            if (n === this.rootSlot && this.payloadDepth === 0) {
              this.rootRefs++;
              this.rootRefHolder = into;
              this.rootRefKey = key;
              this.rootRefPath = stack.map((f) => [f.own, f.key] as [PhpValue, PhpKey]);
            }
            if (into !== null) mapSet.call(into, key, box);
            if (frame === undefined) return box;
            continue; // R: takes no slot
          }
          case 0x53 /* S */: {
            value = this.readEscapedBytes(); // valid UTF-8 → string, else the bytes
            this.expect(C_SEMI, 'after escaped string');
            if (frame !== undefined) frame.pure = false; // written back as s:
            break;
          }
          default:
            this.fail(`unknown type tag '${printable(tag)}'`, at);
        }
      }
      // A complete scalar (or r:/C:/E:) value: it takes a slot.
      slot = this.slotCount++;
      if (tracked) this.recordSlot(slot, value, into, key);
      if (into !== null) mapSet.call(into, key, value);
      if (frame === undefined) return value;
    }
  }

  /**
   * A container just closed: an array the encoder would write byte for byte gets its parent
   * (always) and its span (when at most SPAN_DEPTH deep); anything else makes its parent impure.
   */
  private closeSource(closed: Frame, parent: Frame | undefined, into: Holder, depth: number): void {
    const array = closed.container;
    if (closed.isObject || !closed.pure || array.size !== closed.count /* duplicate keys */) {
      if (parent !== undefined) parent.pure = false;
      return;
    }
    if (into instanceof PhpArray) setDecodeParent(array, into);
    if (depth >= SPAN_DEPTH) return;
    const floats = this.floatLog ?? NO_FLOATS;
    setSpan(array, {
      text: this.text!,
      start: closed.start,
      end: this.pos,
      slots: this.slotCount - 1 - closed.slot,
      floats,
      floatStart: closed.floatStart,
      floatEnd: floats.objects.length,
    });
  }

  private logFloat(f: PhpFloat): void {
    const log = (this.floatLog ??= { objects: [], values: [] });
    log.objects.push(f);
    log.values.push(f.value);
  }

  /** Throws unless the whole input was consumed. */
  expectEnd(what = 'after the value'): void {
    if (this.pos < this.end) this.fail(`unexpected trailing data ${what}`);
  }
}

/** A set of lower-cased class names, or null for none. */
export function rawClassSet(names: Iterable<string> | undefined): ReadonlySet<string> | null {
  if (names === undefined) return null;
  const set = new Set<string>();
  for (const n of names) set.add(String(n).toLowerCase());
  return set.size > 0 ? set : null;
}

/**
 * How many places in the value `root` hold each object of `path` (an `&` box holding one counts
 * once): PHP's refcount, which decides whether it writes the object again or as `r:`.
 */
function holdCounts(root: PhpValue, path: [PhpValue, PhpKey][]): Map<PhpValue, number> {
  const counts = new Map<PhpValue, number>();
  for (const [node] of path) if (node instanceof PhpObject) counts.set(node, 0);
  const seen = new Set<object>();
  const todo: PhpValue[] = [root];
  while (todo.length > 0) {
    const v = todo.pop()!;
    if (v === null || typeof v !== 'object' || seen.has(v)) continue;
    seen.add(v);
    const children = v instanceof PhpArray ? v.values() : v instanceof PhpObject ? v.props.values() : v instanceof PhpReference ? [v.value].values() : null;
    if (children === null) continue;
    for (const c of children) {
      const n = counts.get(c);
      if (n !== undefined) counts.set(c, n + 1);
      todo.push(c);
    }
  }
  return counts;
}

/** Whether a key starts like a canonical int (a digit or '-'). */
function isDigitLed(k: string): boolean {
  const c = k.charCodeAt(0);
  return (c >= C_0 && c <= C_9) || c === C_MINUS;
}

/**
 * `C:` payloads inside payloads beyond this are refused: each level is a few JS calls, and
 * Node's default stack held ~760 levels (~370 with half of it), so this leaves room for the
 * caller's frames. PHP reads a payload by calling the class's unserialize(), which calls
 * unserialize() again: it took 1,000 levels and crashed (its C stack) at 4,000.
 */
const MAX_PAYLOAD_NESTING = 256;

/** The refusal of a payload nest too deep: fatal, never taken for "not this payload format". */
class PayloadNestingError extends DecodeError {
  override name = 'DecodeError';
}

/** Thrown inside tryPayload when a payload is not of the format tried. */
const NOT_THIS_FORMAT: unique symbol = Symbol('sessctl: not this payload format');

/**
 * Classes whose serialized properties PHP stores as a property table, so that an int key
 * becomes a property name (process_nested_object_data: "object properties should include no
 * integers"). For other classes the decoder keeps int keys as read: a loaded class with
 * __unserialize() gets them as array keys, and its __serialize() writes ints back.
 */
export function isPropertyTableClass(className: string): boolean {
  return className.length === 8 ? className.toLowerCase() === 'stdclass' : className.length === 22 && className.toLowerCase() === '__php_incomplete_class';
}

/** Bytes of an `S:` string looked at one by one before a native search for the next `\`. */
const ESCAPE_SCAN = 64;

/** Hex digit value by byte, -1 for anything else (the `S:` escape reader). */
const HEX_VALUE = new Int8Array(256).fill(-1);
for (let c = 0; c < 10; c++) HEX_VALUE[C_0 + c] = c;
for (let c = 0; c < 6; c++) HEX_VALUE[0x61 + c] = HEX_VALUE[0x41 + c] = 10 + c;

/** The bytes [start, end) of a digit run for an error message, shortened beyond 40 bytes. */
function digitsExcerpt(buf: Buffer, start: number, end: number): string {
  return end - start <= 40 ? latin1(buf, start, end) : `${latin1(buf, start, start + 20)}…(${end - start} bytes)`;
}

function printable(c: number): string {
  return c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`;
}

/** PHP's canonical numeric string rule on raw bytes; undefined when the key stays a string. */
function canonicalIntKey(buf: Buffer, start: number, end: number): number | bigint | undefined {
  let p = start;
  const negative = buf[p] === C_MINUS;
  if (negative) p++;
  if (p === end) return undefined;
  if (buf[p] === C_0) {
    // "0" is canonical; "-0", "01" are not
    return end - p === 1 && !negative ? 0 : undefined;
  }
  let n = 0;
  for (let i = p; i < end; i++) {
    const c = buf[i]!;
    if (c < C_0 || c > C_9) return undefined;
    n = n * 10 + (c - C_0);
  }
  if (end - p <= 15) return negative ? -n : n;
  let big = BigInt(latin1(buf, p, end));
  if (negative) big = -big;
  if (big > 9223372036854775807n || big < -9223372036854775808n) return undefined;
  return Number.isSafeInteger(Number(big)) ? Number(big) : big;
}

function canonicalKeyOfString(s: string): PhpKey {
  const b = Buffer.from(s, 'latin1');
  if (s.length === 0 || s.length > 20 || b.toString('latin1') !== s) return s;
  return canonicalIntKey(b, 0, b.length) ?? s;
}

/**
 * Runs `parse` on a Parser for `buf`. Most inputs hold no `r:`/`R:`, and a run without the
 * slot table is cheaper than looking for one first: so the first run goes without, and one
 * that meets a reference is thrown away and done again with the table. With class mappings
 * the input is searched first instead, so that no mapped instance is ever made twice.
 */
export function parseWithSlots<T>(buf: Buffer, options: DecodeOptions | undefined, parse: (parser: Parser) => T): T {
  const run = (parser: Parser): T => {
    const result = parse(parser);
    parser.finishPayloads();
    return result;
  };
  /**
   * With the slot table. A user class's payload that holds one serialize() output is read for
   * its slots (PHP numbers them when the class's unserialize() calls unserialize(), the usual
   * way to write one: see payload.ts), but a class may just keep such bytes as they are. When a
   * reference after such a payload then fails, the data is read once more with the payloads
   * before it opaque, and that reading is kept if it succeeds (the first error is reported if not).
   */
  const tracked = (): T => {
    const parser = new Parser(buf, options, true);
    try {
      return run(parser);
    } catch (e) {
      if (!(e instanceof DecodeError) || parser.firstCountedPayload < 0 || e.offset <= parser.firstCountedPayload) throw e;
      const again = new Parser(buf, options, true);
      again.opaqueBefore = e.offset;
      try {
        return run(again);
      } catch {
        throw e;
      }
    }
  };
  if (options?.classes !== undefined) {
    return buf.indexOf(REF_UPPER) >= 0 || buf.indexOf(REF_LOWER) >= 0 ? tracked() : run(new Parser(buf, options, false));
  }
  try {
    return run(new Parser(buf, options, false));
  } catch (e) {
    if (e !== SLOTS_NEEDED) throw e;
  }
  return tracked();
}

/** Reads one complete serialize() value; the whole input must be that value. */
export function unserializeBuffer(buf: Buffer, options?: DecodeOptions): PhpValue {
  return parseWithSlots(buf, options, (p) => {
    const v = p.readValue();
    p.expectEnd();
    return v;
  });
}

/**
 * How many slots PHP numbers inside the payload `data` of a `C:` object of `className` (see
 * payload.ts): for the encoder, when a PhpSerializable's bytes are not the ones it was decoded
 * from. `r:`/`R:` in it are counted, not looked up. DecodeError when the class is one of PHP's
 * own and the payload does not parse (PHP would refuse to read it).
 */
export function countPayloadSlots(className: string, data: Uint8Array, rawPayloadClasses?: Iterable<string>): number {
  const parser = new Parser(toInputBuffer(data), { keepSource: false, maxDepth: Number.MAX_SAFE_INTEGER, rawPayloadClasses }, false);
  parser.refsUnchecked = true;
  return parser.payloadSlotCount(className);
}
