/**
 * serialize(): writes PHP's serialize() format into one growing Buffer.
 *
 * Iterative (explicit stack), so deep values cannot overflow the JS call stack.
 * Slot numbers mirror php-src's php_add_var_hash: every value counts one slot, except a
 * reference seen again (`R:`); objects (and `&` boxes) are remembered, so an object seen
 * again is written `r:n` and a reference seen again `R:n`. A box around an object is keyed
 * on the object itself, as PHP does.
 */
import { DecodeError, EncodeError } from '../errors.js';
import { isObjectLike, objectIdentity, RepeatedArrays, REPEAT_LIMIT } from './binary-common.js';
import { countPayloadSlots, isPropertyTableClass } from './decoder.js';
import { payloadSlotsOf } from './payload.js';
import { mappedInstanceProps, type ClassRegistry } from './classes.js';
import { formatPhpFloat, parsePhpFloatText } from './float.js';
import { spanIntact, spanOf, type SourceSpan } from './source-span.js';
import { keyStringToBytes } from './strings.js';
import { PhpArray, PhpEnum, PhpFloat, PhpObject, PhpReference, PhpSerializable, canonicalKey, type PhpKey } from './values.js';

export interface EncodeOptions {
  /** Class mappings: instances of registered JS classes are written as `O:` objects. */
  classes?: ClassRegistry;
  /**
   * As DecodeOptions.rawPayloadClasses: Serializable classes whose payload PHP numbers no
   * slots in. Used for a PhpSerializable made in JS or given new bytes (a decoded one carries
   * what the decoder found).
   */
  rawPayloadClasses?: Iterable<string>;
}

const INT64_MIN = -9223372036854775808n;
const INT64_MAX = 9223372036854775807n;
const TWO_63 = 9223372036854775808; // 2^63 as a double

/**
 * Beyond this many nested containers the recursive walker hands the subtree to the explicit-stack
 * walker: recursion is faster (no frame objects, Map iteration without copies), the explicit
 * stack keeps any depth safe from JS stack overflow.
 */
const RECURSION_LIMIT = 200;
/** Open arrays up to this depth are checked for self-containment by a scan, deeper ones by a Map. */
const OPEN_SCAN = 32;

/**
 * The names the decoder accepts in `E:` (see Parser.enumCase): a class name of PHP's class-name
 * bytes, a case that can be declared. Non-ASCII chars stand for the bytes ≥ 0x80 PHP allows
 * (U+DC80–U+DCFF: the codec's form of an invalid byte).
 */
const ENUM_CLASS = /^[0-9A-Za-z_\\\u0080-\uffff]+$/;
/** The class of an `O:` or `C:`: the same bytes, but PHP 8.2 refuses one that starts with a backslash. */
const OBJECT_CLASS = /^[0-9A-Za-z_\u0080-\uffff][0-9A-Za-z_\\\u0080-\uffff]*$/;
const ENUM_CASE = /^[A-Za-z_\u0080-\uffff][0-9A-Za-z_\u0080-\uffff]*$/;

/** What start() found: a value already written whole, or the kind of container it opened. */
const DONE = 0;
/** A PhpArray, a PhpObject's props, or a plain Map (`canonicalise` says which keys need PHP's rule). */
const KIND_MAP = 1;
/** A JS array (keys 0..n-1). */
const KIND_LIST = 2;
/** A plain object (keys from Object.keys, PHP's numeric-key rule applies). */
const KIND_PLAIN = 3;
/** A mapped instance's [key, value] pairs (also a property-table object's, see propertiesByName). */
const KIND_ENTRIES = 4;

/** One open container of the explicit-stack walker. */
class Frame {
  i = 0;
  constructor(
    readonly kind: number,
    readonly container: object,
    /** Keys from plain JS (Map/object) get PHP's canonical-numeric rule. */
    readonly canonicalise: boolean,
    /** Whether the container is on the open-arrays path (arrays are; objects are not). */
    readonly isArray: boolean,
    /** KIND_MAP: the entries as [k0, v0, k1, v1, …]; KIND_PLAIN: the keys; KIND_ENTRIES: the pairs. */
    readonly items: unknown[] | null,
  ) {}
}

function isPlainObject(v: object): v is Record<string, unknown> {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * The properties of a stdClass (or incomplete-class) object as PHP holds them: by name, so an
 * int key (`props.set('0', …)` stores the int 0, by PHP's array-key rule) is the property named
 * by its digits, written `s:1:"0";` as PHP writes it. Null when every key is a string already
 * (the usual case: nothing to convert).
 */
function propertiesByName(props: Map<unknown, unknown>, fail: (message: string) => never): [string, unknown][] | null {
  let hasInt = false;
  for (const k of props.keys()) if (typeof k !== 'string') hasInt = true;
  if (!hasInt) return null;
  const pairs: [string, unknown][] = [];
  const names = new Set<string>();
  for (const [k, x] of props) {
    if (typeof k !== 'string' && typeof k !== 'bigint' && !Number.isInteger(k)) fail(`property names are strings or integers, got ${String(k)}`);
    const name = String(k);
    if (names.has(name)) fail(`property "${name}" is given twice (as the int ${name} and the string "${name}")`);
    names.add(name);
    pairs.push([name, x]);
  }
  return pairs;
}

/** isObjectLike() without its type guard: a value that is not one may still be an object here. */
const isPhpObjectLike = (v: unknown, classes: ClassRegistry | undefined): boolean => isObjectLike(v, classes);

type Utf8Write = (this: Buffer, s: string, offset: number, length: number) => number;
// Buffer's undocumented utf8Write skips write()'s argument juggling; fall back to write().
const utf8Write: Utf8Write =
  (Buffer.prototype as unknown as { utf8Write?: Utf8Write }).utf8Write ??
  function (this: Buffer, s: string, offset: number, length: number) {
    return this.write(s, offset, length, 'utf8');
  };

type Latin1Write = (this: Buffer, s: string, offset: number, length: number) => number;
const latin1Write: Latin1Write =
  (Buffer.prototype as unknown as { latin1Write?: Latin1Write }).latin1Write ??
  function (this: Buffer, s: string, offset: number, length: number) {
    return this.write(s, offset, length, 'latin1');
  };

/**
 * Strings longer than this go through one native write (longString): its fixed cost beats
 * charCodeAt() (~2–3 ns a char on the sliced strings decoding makes) from about here on.
 */
const NATIVE_STRING_MIN = 32;

const mapKeys = Map.prototype.keys as (this: Map<unknown, unknown>) => IterableIterator<unknown>;
const mapValues = Map.prototype.values as (this: Map<unknown, unknown>) => IterableIterator<unknown>;

/** Class names repeat a lot; their bytes are cached (bounded). */
const nameCache = new Map<string, Buffer>();

let scratch: Buffer | null = Buffer.allocUnsafe(64 * 1024);

/** Exact powers of ten as doubles. */
const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

/** Writes the decimal digits of a non-negative safe integer at p; returns the position after them. */
function writeDigits(buf: Buffer, p: number, n: number): number {
  if (n < 10) {
    buf[p] = 0x30 + n;
    return p + 1;
  }
  if (n < 100) {
    const q = (n / 10) | 0;
    buf[p] = 0x30 + q;
    buf[p + 1] = 0x30 + (n - q * 10);
    return p + 2;
  }
  if (n > 0x7fffffff) return writeBigDigits(buf, p, n);
  // 32-bit: integer division by 10 compiles to a multiply
  const len = n < 1e3 ? 3 : n < 1e4 ? 4 : n < 1e5 ? 5 : n < 1e6 ? 6 : n < 1e7 ? 7 : n < 1e8 ? 8 : n < 1e9 ? 9 : 10;
  let q = p + len;
  let m = n | 0;
  while (m >= 10) {
    const d = (m / 10) | 0;
    buf[--q] = 0x30 + (m - d * 10);
    m = d;
  }
  buf[--q] = 0x30 + m;
  return p + len;
}

/** Writes `s:<n>:"` at p (room checked by the caller); returns where the string's bytes go. */
function stringHead(buf: Buffer, p: number, n: number): number {
  buf[p] = 0x73; // s
  buf[p + 1] = 0x3a; // :
  p = writeDigits(buf, p + 2, n);
  buf[p] = 0x3a;
  buf[p + 1] = 0x22; // "
  return p + 2;
}

/** Writes the `";` after a string's bytes, which end at p; returns the position after it. */
function stringTail(buf: Buffer, p: number): number {
  buf[p] = 0x22;
  buf[p + 1] = 0x3b;
  return p + 2;
}

/** writeDigits() beyond 32 bits. */
function writeBigDigits(buf: Buffer, p: number, n: number): number {
  let len = 1;
  for (let t = Math.floor(n / 10); t > 0; t = Math.floor(t / 10)) len++;
  let q = p + len;
  while (n >= 10) {
    const d = Math.floor(n / 10);
    buf[--q] = 0x30 + (n - d * 10);
    n = d;
  }
  buf[--q] = 0x30 + n;
  return p + len;
}

/** A run of the encoder: output buffer plus the var hash. Sessions in `php` format share one. */
export class Writer {
  buf: Buffer;
  pos = 0;
  /** Last slot number handed out. */
  private slot = 0;
  private readonly seen = new Map<object | string, number>();
  /**
   * The arrays being written, outermost first. An array met again on its own path without a
   * `&` box in between would recurse forever: refused. Met through a box it is fine (the box
   * is written `R:` the next time round, as PHP does).
   *
   * Checking every array against the path costs more than the rest of its bookkeeping, and a
   * cycle can only show as depth. So arrays are checked only from depth OPEN_SCAN on (where
   * `openDeep` counts the path's deeper entries); a cycle found there is reported where it
   * began, the first array on the path that repeats an earlier one (see failCycle), which is
   * exactly where a check on every array would have stopped.
   */
  private readonly openArrays: object[] = [];
  /** Per open array: whether it was reached through a `&` box, and how many keys lead to it. */
  private readonly openCounted: boolean[] = [];
  private readonly openDepth: number[] = [];
  private openCount = 0;
  private readonly openDeep = new Map<object, number>();
  private readonly repeats = new RepeatedArrays();
  private readonly classes: ClassRegistry | undefined;
  private readonly rawPayloadClasses: Iterable<string> | undefined;
  private readonly usesScratch: boolean;
  /** The keys leading to the value being written (for error messages), `depth` of them in use. */
  private readonly path: unknown[] = [];
  private depth = 0;
  private rootLabel = 'value';
  /** When writing a session key's value: that key (the label is made from it only on error). */
  private rootSessionKey: string | undefined = undefined;
  /** Set by start() for a container: what to walk (a Map, array, object or pairs) and its keys or pairs. */
  private pendingContainer: object | null = null;
  private pendingItems: unknown[] | null = null;
  private pendingCanonicalise = false;
  private pendingIsArray = false;

  constructor(options: EncodeOptions = {}) {
    this.classes = options.classes;
    this.rawPayloadClasses = options.rawPayloadClasses;
    // Reuse one scratch buffer; a nested run (a toPhp hook calling serialize) gets its own.
    if (scratch !== null) {
      this.buf = scratch;
      scratch = null;
      this.usesScratch = true;
    } else {
      this.buf = Buffer.allocUnsafe(4096);
      this.usesScratch = false;
    }
  }

  /** The bytes written so far, as a Buffer of their own; the writer is done after this. */
  finish(): Buffer {
    const out = Buffer.allocUnsafe(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    this.release();
    return out;
  }

  /** Gives the scratch buffer back (also on error). */
  release(): void {
    if (this.usesScratch && this.buf.length <= 4 * 1024 * 1024) scratch = this.buf;
    else if (this.usesScratch) scratch = Buffer.allocUnsafe(64 * 1024);
    this.buf = Buffer.alloc(0);
  }

  /** Makes room for `need` more bytes (geometric growth). */
  private grow(need: number): void {
    let size = this.buf.length * 2;
    while (size < this.pos + need) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** Writes ASCII text. */
  ascii(s: string): void {
    const n = s.length;
    if (this.pos + n > this.buf.length) this.grow(n);
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) buf[p++] = s.charCodeAt(i);
    this.pos = p;
  }

  byte(c: number): void {
    if (this.pos + 1 > this.buf.length) this.grow(1);
    this.buf[this.pos++] = c;
  }

  raw(bytes: Uint8Array): void {
    if (this.pos + bytes.length > this.buf.length) this.grow(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  fail(message: string): never {
    let path = this.rootSessionKey !== undefined ? sessionLabel(this.rootSessionKey) : this.rootLabel;
    for (let i = 0; i < this.depth; i++) {
      const k = this.path[i];
      path += `[${typeof k === 'string' ? JSON.stringify(k) : String(k)}]`;
    }
    throw new EncodeError(`${message} (at ${path})`);
  }

  /** Writes a safe non-negative integer's digits. */
  private digits(n: number): void {
    if (this.pos + 20 > this.buf.length) this.grow(20);
    this.pos = writeDigits(this.buf, this.pos, n);
  }

  /** `s:<bytes>:"<bytes>";` for a JS string (UTF-8, or surrogate-escaped bytes). */
  private string(s: string): void {
    const n = s.length;
    if (n > NATIVE_STRING_MIN) {
      this.longString(s);
      return;
    }
    // Short: copy the chars straight into the buffer, checking as we go; on the first char
    // above 0x7f nothing is committed and the general path starts over.
    if (this.pos + n + 24 > this.buf.length) this.grow(n + 24);
    const buf = this.buf;
    const p = stringHead(buf, this.pos, n);
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c > 0x7f) {
        this.stringSlow(s);
        return;
      }
      buf[p + i] = c;
    }
    this.pos = stringTail(buf, p + n);
  }

  /**
   * string() for longer strings, on the guess that they are ASCII: the header is written for
   * n bytes and the chars go in with one native UTF-8 write. Every char above 0x7f (and every
   * lone surrogate) takes 2+ bytes, so exactly n bytes written means the guess was right;
   * otherwise nothing is committed and the general path starts over.
   */
  private longString(s: string): void {
    const n = s.length;
    const room = 3 * n + 24;
    if (this.pos + room > this.buf.length) this.grow(room);
    const buf = this.buf;
    const p = stringHead(buf, this.pos, n);
    if (utf8Write.call(buf, s, p, 3 * n) !== n) {
      this.stringSlow(s);
      return;
    }
    this.pos = stringTail(buf, p + n);
  }

  /** string() for long or non-ASCII strings: one native UTF-8 write. */
  private stringSlow(s: string): void {
    const n = s.length;
    const len = Buffer.byteLength(s, 'utf8');
    if (len !== n) {
      const escaped = keyStringToBytes(s, (m) => this.fail(m));
      if (escaped !== null) {
        this.bytesString(escaped);
        return;
      }
    }
    if (this.pos + len + 32 > this.buf.length) this.grow(len + 32);
    const buf = this.buf;
    const p = stringHead(buf, this.pos, len);
    this.pos = stringTail(buf, p + utf8Write.call(buf, s, p, len));
  }

  private bytesString(b: Uint8Array): void {
    if (this.pos + b.length + 32 > this.buf.length) this.grow(b.length + 32);
    const buf = this.buf;
    const p = stringHead(buf, this.pos, b.length);
    buf.set(b, p);
    this.pos = stringTail(buf, p + b.length);
  }

  /** A class name / enum name as `<len>:"<name>"`. */
  private name(s: string): void {
    let bytes = nameCache.get(s);
    if (bytes === undefined) {
      bytes = keyStringToBytes(s, (m) => this.fail(m)) ?? Buffer.from(s, 'utf8');
      if (nameCache.size > 1000) nameCache.clear();
      nameCache.set(s, bytes);
    }
    this.digits(bytes.length);
    this.ascii(':"');
    this.raw(bytes);
    this.byte(0x22);
  }

  /** `i:<n>;` for a safe integer. */
  private safeInt(n: number): void {
    if (this.pos + 24 > this.buf.length) this.grow(24);
    const buf = this.buf;
    let p = this.pos;
    buf[p] = 0x69;
    buf[p + 1] = 0x3a;
    p += 2;
    if (n < 0) {
      buf[p++] = 0x2d;
      n = -n;
    }
    p = writeDigits(buf, p, n);
    buf[p] = 0x3b;
    this.pos = p + 1;
  }

  private int(n: number | bigint): void {
    if (typeof n === 'number' && Number.isSafeInteger(n)) {
      this.safeInt(n);
      return;
    }
    this.ascii(`i:${String(n)};`);
  }

  /**
   * `d:<text>;` for a double. Doubles that are some integer of at most 15 digits over a small
   * power of ten (prices, coordinates, ratios) are written from those digits; that decimal is
   * the only one of ≤ 15 digits naming the double, so it is exactly PHP's shortest text.
   * Everything else goes through formatPhpFloat.
   */
  private float(n: number): void {
    const abs = n < 0 ? -n : n;
    if (abs >= 1e-4 && abs < 1e15) {
      for (let f = 0; f <= 8; f++) {
        const scaled = abs * POW10[f]!;
        if (scaled >= 1e15) break;
        const q = Math.round(scaled);
        if (q / POW10[f]! === abs) {
          this.decimal(n < 0, q, f);
          return;
        }
      }
    }
    this.ascii(`d:${formatPhpFloat(n)};`);
  }

  /** `d:<q / 10^f>;` in plain decimal notation (q has no trailing zero when f > 0). */
  private decimal(negative: boolean, q: number, f: number): void {
    if (this.pos + 32 > this.buf.length) this.grow(32);
    const buf = this.buf;
    let p = this.pos;
    buf[p] = 0x64;
    buf[p + 1] = 0x3a;
    p += 2;
    if (negative) buf[p++] = 0x2d;
    if (f === 0) p = writeDigits(buf, p, q);
    else {
      const unit = POW10[f]!;
      const whole = Math.floor(q / unit);
      p = writeDigits(buf, p, whole);
      buf[p++] = 0x2e;
      // the fraction, zero-padded to f digits
      let frac = q - whole * unit;
      const end = p + f;
      for (let i = end - 1; i >= p; i--) {
        const d = Math.floor(frac / 10);
        buf[i] = 0x30 + (frac - d * 10);
        frac = d;
      }
      p = end;
    }
    buf[p] = 0x3b;
    this.pos = p + 1;
  }

  /** Writes an array key / property name; `canonicalise` applies PHP's numeric-key rule. */
  private key(k: unknown, canonicalise: boolean): void {
    if (typeof k === 'string') {
      if (canonicalise) {
        const c = canonicalKey(k);
        if (typeof c !== 'string') {
          this.int(c);
          return;
        }
      }
      this.string(k);
      return;
    }
    if (canonicalise && (typeof k === 'bigint' || (typeof k === 'number' && Number.isInteger(k)))) {
      try {
        k = canonicalKey(k as PhpKey);
      } catch (e) {
        this.fail(`invalid array key: ${(e as Error).message}`);
      }
    }
    if (typeof k === 'number' && Number.isInteger(k) && !Number.isSafeInteger(k)) k = BigInt(k); // exact; range-checked below
    if (typeof k === 'number') {
      if (!Number.isSafeInteger(k)) this.fail(`array key ${k} is not an integer PHP can hold`);
      this.safeInt(k);
    } else if (typeof k === 'bigint') {
      if (k < INT64_MIN || k > INT64_MAX) this.fail(`array key ${k} is outside PHP's 64-bit int range`);
      this.int(k);
    } else this.fail(`array keys must be strings or integers, got ${describe(k)}`);
  }

  /** Writes one complete value (the entry point); `label` names it in error messages. */
  value(root: unknown, label = 'value'): void {
    this.rootLabel = label;
    this.rootSessionKey = undefined;
    this.depth = 0;
    this.write(root, false);
  }

  /** Writes the value of a session key (errors name it `$_SESSION["key"]`). */
  sessionValue(root: unknown, key: string): void {
    this.rootSessionKey = key;
    this.depth = 0;
    this.write(root, false);
  }

  /**
   * Writes `s` as is when every char is ASCII and none is `stop`, preceded by the byte
   * `prefix` when that is given (≥ 0); otherwise writes nothing and returns false.
   */
  asciiName(s: string, stop: number, prefix = -1): boolean {
    const n = s.length;
    if (this.pos + n + 1 > this.buf.length) this.grow(n + 1);
    const buf = this.buf;
    let p = this.pos;
    if (prefix >= 0) buf[p++] = prefix;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c > 0x7f || c === stop) return false;
      buf[p + i] = c;
    }
    this.pos = p + n;
    return true;
  }

  /**
   * Writes v: scalars and PhpArrays straight away, anything else through start(); containers
   * are walked recursively up to RECURSION_LIMIT deep, then by walk().
   */
  private write(v: unknown, counted: boolean): void {
    let kind: number;
    if (typeof v === 'string') {
      if (!counted) this.slot++;
      this.string(v);
      return;
    }
    if (typeof v === 'number' && Number.isSafeInteger(v) && !(v === 0 && 1 / v < 0)) {
      if (!counted) this.slot++;
      this.safeInt(v);
      return;
    }
    if (typeof v === 'object' && v !== null && v.constructor === PhpArray) {
      this.phpArray(v as PhpArray, counted);
      return;
    }
    if (typeof v === 'object' && v !== null && v.constructor === PhpFloat) {
      if (!counted) this.slot++;
      const f = v as PhpFloat;
      if (f.text === undefined) this.float(Number(f.value));
      else this.ascii(`d:${floatText(f)};`);
      return;
    } else kind = this.start(v, counted);
    if (kind === DONE) return;
    const container = this.pendingContainer!;
    const items = this.pendingItems;
    const canonicalise = this.pendingCanonicalise;
    const isArray = this.pendingIsArray;
    this.pendingContainer = null;
    this.pendingItems = null;
    if (this.depth >= RECURSION_LIMIT) {
      this.walk(new Frame(kind, container, canonicalise, isArray, kind === KIND_MAP ? flatEntries(container as Map<unknown, unknown>) : items));
      return;
    }
    const d = this.depth++;
    const path = this.path;
    if (kind === KIND_MAP) {
      const keys = mapKeys.call(container as Map<unknown, unknown>);
      const values = mapValues.call(container as Map<unknown, unknown>);
      for (let r = keys.next(); r.done !== true; r = keys.next()) {
        const k = r.value;
        path[d] = k;
        this.key(k, canonicalise);
        this.write(values.next().value, false);
      }
    } else if (kind === KIND_LIST) {
      const list = container as unknown[];
      for (let i = 0; i < list.length; i++) {
        path[d] = i;
        this.safeInt(i);
        this.write(list[i], false);
      }
    } else if (kind === KIND_PLAIN) {
      const keys = items as string[];
      const obj = container as Record<string, unknown>;
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i]!;
        path[d] = k;
        this.key(k, true);
        this.write(obj[k], false);
      }
    } else {
      const pairs = items as [unknown, unknown][];
      for (let i = 0; i < pairs.length; i++) {
        const [k, x] = pairs[i]!;
        path[d] = k;
        this.key(k, false);
        this.write(x, false);
      }
    }
    this.depth = d;
    this.byte(0x7d);
    if (isArray) this.popOpen();
  }

  /** write() for the most common container: a PhpArray (keys already canonical). */
  private phpArray(v: PhpArray, counted: boolean): void {
    if (!counted) this.slot++;
    const span = spanOf(v);
    if (span !== null && spanIntact(span)) {
      this.copySpan(span);
      return;
    }
    this.arrayHeader(v.size);
    this.pushOpen(v, counted, v.size);
    if (this.depth >= RECURSION_LIMIT) {
      this.walk(new Frame(KIND_MAP, v, false, true, flatEntries(v)));
      return;
    }
    const d = this.depth++;
    const path = this.path;
    // Two iterators side by side: no [key, value] pair made per entry.
    const keys = mapKeys.call(v);
    const values = mapValues.call(v);
    for (let r = keys.next(); r.done !== true; r = keys.next()) {
      const k = r.value;
      path[d] = k;
      if (typeof k === 'string') this.string(k);
      else this.key(k, false);
      this.write(values.next().value, false);
    }
    this.depth = d;
    this.byte(0x7d);
    this.popOpen();
  }

  /** An unchanged decoded array: its source bytes, and the slots of the values inside. */
  private copySpan(span: SourceSpan): void {
    const n = span.end - span.start;
    if (this.pos + n > this.buf.length) this.grow(n);
    this.pos += latin1Write.call(this.buf, span.text.slice(span.start, span.end), this.pos, n);
    this.slot += span.slots;
  }

  /** The explicit-stack walker, for what lies deeper than RECURSION_LIMIT. */
  private walk(first: Frame): void {
    const stack: Frame[] = [first];
    this.depth++;
    while (stack.length > 0) {
      const frame = stack[stack.length - 1]!;
      const c = frame.container;
      const items = frame.items;
      let k: unknown;
      let x: unknown;
      let canonicalise = frame.canonicalise;
      const i = frame.i;
      let done = false;
      if (frame.kind === KIND_LIST) {
        const list = c as unknown[];
        if (i >= list.length) done = true;
        else {
          k = i;
          x = list[i];
          frame.i = i + 1;
        }
      } else if (frame.kind === KIND_PLAIN) {
        if (i >= items!.length) done = true;
        else {
          k = items![i];
          x = (c as Record<string, unknown>)[k as string];
          frame.i = i + 1;
        }
      } else if (frame.kind === KIND_MAP) {
        if (i >= items!.length) done = true;
        else {
          k = items![i];
          x = items![i + 1];
          frame.i = i + 2;
        }
      } else if (i >= items!.length) done = true;
      else {
        const pair = items![i] as [unknown, unknown];
        k = pair[0];
        x = pair[1];
        frame.i = i + 1;
        canonicalise = false;
      }
      if (done) {
        this.byte(0x7d);
        if (frame.isArray) this.popOpen();
        stack.pop();
        this.depth--;
        continue;
      }
      this.path[this.depth - 1] = k;
      this.key(k, canonicalise);
      const kind = this.start(x, false);
      if (kind === DONE) continue;
      const container = this.pendingContainer!;
      const childItems = this.pendingItems;
      this.pendingContainer = null;
      this.pendingItems = null;
      stack.push(new Frame(kind, container, this.pendingCanonicalise, this.pendingIsArray, kind === KIND_MAP ? flatEntries(container as Map<unknown, unknown>) : childItems));
      this.depth++;
    }
  }

  private isOpen(v: object): boolean {
    const n = this.openCount < OPEN_SCAN ? this.openCount : OPEN_SCAN;
    const open = this.openArrays;
    for (let i = 0; i < n; i++) if (open[i] === v) return true;
    return this.openCount > OPEN_SCAN && this.openDeep.has(v);
  }

  /**
   * Puts an array (its header written, `size` entries) on the open path; deep down, checks it
   * first. An array met again is written out in full again (see RepeatedArrays).
   */
  private pushOpen(v: object, counted: boolean, size: number): void {
    if (!this.repeats.withinLimit(v, size)) {
      this.fail(`arrays met more than once are written out in full each time (serialize() shares no array), and that passes ${REPEAT_LIMIT} entries`);
    }
    const i = this.openCount;
    if (i >= OPEN_SCAN) {
      if (!counted && this.isOpen(v)) this.failCycle();
      this.openDeep.set(v, (this.openDeep.get(v) ?? 0) + 1);
    }
    this.openArrays[i] = v;
    this.openCounted[i] = counted;
    this.openDepth[i] = this.depth;
    this.openCount = i + 1;
  }

  private popOpen(): void {
    const i = --this.openCount;
    if (i >= OPEN_SCAN) {
      const v = this.openArrays[i]!;
      const n = this.openDeep.get(v)!;
      if (n > 1) this.openDeep.set(v, n - 1);
      else this.openDeep.delete(v);
    }
  }

  /** Reports the first array on the open path met again without a box in between. */
  private failCycle(): never {
    const before = new Set<object>();
    for (let j = 0; j < this.openCount; j++) {
      const a = this.openArrays[j]!;
      if (!this.openCounted[j] && before.has(a)) {
        this.depth = this.openDepth[j]!;
        break;
      }
      before.add(a);
    }
    this.fail('an array contains itself (only a PhpReference or an object can make a cycle)');
  }

  /** `a:<n>:{` for a Map, which becomes the pending container (the slot is already counted). */
  private openMap(v: Map<unknown, unknown>, canonicalise: boolean, counted: boolean): number {
    if (canonicalise) checkDistinctKeys(v, (m) => this.fail(m));
    this.arrayHeader(v.size);
    this.pushOpen(v, counted, v.size);
    return this.pending(KIND_MAP, v, null, canonicalise, true);
  }

  private arrayHeader(size: number): void {
    if (this.pos + 24 > this.buf.length) this.grow(24);
    const buf = this.buf;
    buf[this.pos] = 0x61; // a
    buf[this.pos + 1] = 0x3a;
    const p = writeDigits(buf, this.pos + 2, size);
    buf[p] = 0x3a;
    buf[p + 1] = 0x7b; // {
    this.pos = p + 2;
  }

  private pending(kind: number, container: object, items: unknown[] | null, canonicalise: boolean, isArray: boolean): number {
    this.pendingContainer = container;
    this.pendingItems = items;
    this.pendingCanonicalise = canonicalise;
    this.pendingIsArray = isArray;
    return kind;
  }

  /** Writes a scalar completely (DONE), or the header of a container and makes it the pending one. */
  private start(v: unknown, counted: boolean): number {
    switch (typeof v) {
      case 'string':
        if (!counted) this.slot++;
        this.string(v);
        return DONE;
      case 'number':
        if (!counted) this.slot++;
        if (Number.isSafeInteger(v) && !Object.is(v, -0)) this.safeInt(v);
        else if (Number.isInteger(v) && v !== 0 && v < TWO_63 && v >= -TWO_63) this.int(BigInt(v));
        else this.ascii(`d:${formatPhpFloat(v)};`);
        return DONE;
      case 'boolean':
        if (!counted) this.slot++;
        this.ascii(v ? 'b:1;' : 'b:0;');
        return DONE;
      case 'undefined':
        if (!counted) this.slot++;
        this.ascii('N;');
        return DONE;
      case 'bigint':
        if (v < INT64_MIN || v > INT64_MAX) this.fail(`int ${v} is outside PHP's 64-bit range`);
        if (!counted) this.slot++;
        this.int(v);
        return DONE;
      case 'object':
        break;
      default:
        this.fail(`cannot serialize a ${typeof v}`);
    }
    if (v === null) {
      if (!counted) this.slot++;
      this.ascii('N;');
      return DONE;
    }
    if (v instanceof PhpFloat) {
      if (!counted) this.slot++;
      if (v.text === undefined) this.float(Number(v.value));
      else this.ascii(`d:${floatText(v)};`);
      return DONE;
    }
    if (v instanceof Uint8Array) {
      if (!counted) this.slot++;
      this.bytesString(v);
      return DONE;
    }
    if (v instanceof PhpReference) {
      const inner: unknown = v.value;
      if (inner instanceof PhpReference) this.fail('a PhpReference cannot hold another PhpReference');
      const hashKey = isPhpObjectLike(inner, this.classes) ? objectIdentity(inner as object) : v;
      const found = this.seen.get(hashKey);
      if (found !== undefined) {
        this.ascii('R:'); // a reference seen again takes no slot
        this.digits(found);
        this.byte(0x3b);
        return DONE;
      }
      this.seen.set(hashKey, ++this.slot);
      return this.start(inner, true);
    }
    if (isPhpObjectLike(v, this.classes)) {
      if (!counted) {
        this.slot++;
        // An enum case is one object in PHP however many PhpEnum instances name it.
        const identity = objectIdentity(v);
        const found = this.seen.get(identity);
        if (found !== undefined) {
          this.ascii('r:');
          this.digits(found);
          this.byte(0x3b);
          return DONE;
        }
        this.seen.set(identity, this.slot);
      }
      return this.object(v);
    }
    // Arrays: they take a slot but are never looked up (PHP copies them).
    if (!counted) this.slot++;
    if (v instanceof Map) {
      if (v instanceof PhpArray) return this.openMap(v, false, counted);
      checkNoHiddenData(v, 0, (m) => this.fail(m));
      return this.openMap(v, true, counted);
    }
    if (Array.isArray(v)) {
      // The plain-JS mapping never stores less than it was given (see "Plain JS" below).
      const keys = Object.keys(v);
      checkNoHiddenData(v, keys.length + 1 /* length */, (m) => this.fail(m));
      if (keys.length === 0 || isArrayIndex(keys[keys.length - 1]!)) {
        this.arrayHeader(v.length);
        this.pushOpen(v, counted, v.length);
        return this.pending(KIND_LIST, v, null, true, true);
      }
      // Own non-index keys (`cart[sku] = 1` on an array): the elements 0..length-1 (holes as
      // null), then those keys, as PHP would hold them after the same assignments.
      const all: string[] = new Array<string>(v.length);
      for (let i = 0; i < v.length; i++) all[i] = String(i);
      for (let i = firstNonIndex(keys); i < keys.length; i++) all.push(keys[i]!);
      this.arrayHeader(all.length);
      this.pushOpen(v, counted, all.length);
      return this.pending(KIND_PLAIN, v, all, true, true);
    }
    if (isPlainObject(v)) {
      const keys = Object.keys(v);
      checkNoHiddenData(v, keys.length, (m) => this.fail(m));
      this.arrayHeader(keys.length);
      this.pushOpen(v, counted, keys.length);
      return this.pending(KIND_PLAIN, v, keys, true, true);
    }
    if (v instanceof Date) this.fail('cannot serialize a Date (convert it first: date.toISOString() or a unix timestamp)');
    const ctor = (v as { constructor?: { name?: string } }).constructor?.name;
    this.fail(`cannot serialize an instance of ${ctor || 'an unknown class'} (register it in a ClassRegistry to write it as a PHP object)`);
  }

  /** PHP fails on a class name it could never resolve, and a session it fails to decode is destroyed. */
  private checkClassName(name: string): void {
    if (typeof name !== 'string' || !OBJECT_CLASS.test(name)) this.fail(`class name ${JSON.stringify(String(name))} is not one PHP can read`);
  }

  private object(v: object): number {
    if (v instanceof PhpObject) {
      if (!(v.props instanceof Map)) this.fail(`PhpObject ${v.className} has no props Map`);
      this.checkClassName(v.className);
      this.ascii('O:');
      this.name(v.className);
      this.byte(0x3a);
      this.digits(v.props.size);
      this.ascii(':{');
      const named = isPropertyTableClass(v.className) ? propertiesByName(v.props, (m) => this.fail(m)) : null;
      if (named !== null) return this.pending(KIND_ENTRIES, v.props, named, false, false);
      return this.pending(KIND_MAP, v.props, null, false, false);
    }
    if (v instanceof PhpEnum) {
      // PHP fails on a name it could never resolve, and a session it fails to decode is destroyed.
      if (!ENUM_CLASS.test(v.className) || !ENUM_CASE.test(v.caseName) || v.caseName.toLowerCase() === 'class') {
        this.fail(`enum ${JSON.stringify(`${v.className}:${v.caseName}`)} is not a Class:Case name PHP can read`);
      }
      this.ascii('E:');
      this.name(`${v.className}:${v.caseName}`);
      this.byte(0x3b);
      return DONE;
    }
    if (v instanceof PhpSerializable) {
      this.checkClassName(v.className);
      this.ascii('C:');
      this.name(v.className);
      this.ascii(`:${v.data.length}:{`);
      this.raw(v.data);
      this.byte(0x7d);
      this.payloadSlots(v);
      return DONE;
    }
    const mapping = this.classes!.forInstance(v)!;
    const { className, props, size } = mappedInstanceProps(mapping, v);
    const entries = [...props];
    if (entries.length !== size) this.fail(`toPhp() of ${mapping.phpClass} returned inconsistent properties`);
    this.ascii('O:');
    this.name(className);
    this.ascii(`:${entries.length}:{`);
    return this.pending(KIND_ENTRIES, v, entries, false, false);
  }

  /**
   * The slots PHP numbers inside a `C:` payload just written (see payload.ts): counted, so
   * that the slots after it are numbered as PHP numbers them, and — for a payload as it was
   * decoded — its objects and `&` boxes remembered under their slots, so that a later
   * occurrence is written `r:n` / `R:n` pointing into the payload, as PHP writes it.
   */
  private payloadSlots(v: PhpSerializable): void {
    const decoded = payloadSlotsOf(v);
    if (decoded === undefined) {
      let count: number;
      try {
        count = countPayloadSlots(v.className, v.data, this.rawPayloadClasses);
      } catch (e) {
        if (e instanceof DecodeError) this.fail(`the payload of ${v.className} is not one PHP can read (${e.message})`);
        throw e;
      }
      this.slot += count;
      return;
    }
    const base = this.slot;
    const values = decoded.values;
    if (values !== null) {
      for (let i = 0; i < values.length; i++) {
        const x = values[i];
        let key: object | string | undefined;
        if (x instanceof PhpReference) key = isPhpObjectLike(x.value, this.classes) ? objectIdentity(x.value as object) : x;
        else if (isPhpObjectLike(x, this.classes)) key = objectIdentity(x as object);
        if (key !== undefined && !this.seen.has(key)) this.seen.set(key, base + 1 + i);
      }
    }
    this.slot += decoded.count;
  }

  /** The session-format helpers write a key's name bytes themselves. */
  get lastSlot(): number {
    return this.slot;
  }
}

/** How errors name the value of a session key. */
export function sessionLabel(key: string): string {
  return `$_SESSION[${JSON.stringify(key)}]`;
}

/** A Map's entries as [k0, v0, k1, v1, …] (for the explicit-stack walker). */
function flatEntries(m: Map<unknown, unknown>): unknown[] {
  const flat: unknown[] = [];
  for (const [k, v] of m) flat.push(k, v);
  return flat;
}

/** `PhpFloat.text` is written back verbatim only when it really is that float's text. */
function floatText(f: PhpFloat): string {
  if (f.text !== undefined) {
    const parsed = parsePhpFloatText(f.text);
    if (parsed !== undefined && (Object.is(parsed, f.value) || (parsed !== parsed && f.value !== f.value))) return f.text;
  }
  return formatPhpFloat(Number(f.value));
}

/**
 * Plain JS: what serialize() / fromPlain() write of an array, object or Map is everything it
 * holds, never less — each case where JS can hold something PHP cannot is refused by name:
 * - an array's elements 0..length-1 (a hole, which holds nothing, is written as null so the
 *   positions stay), then its own enumerable non-index keys (`cart[sku] = 1` on `[]`) with
 *   PHP's key rule — what PHP holds after the same assignments to an array;
 * - an object's own enumerable string keys, with PHP's key rule (`"5"` → 5, `"05"` stays);
 * - a Map's entries; keys other than strings and integers (objects, NaN, 1.5, booleans) are
 *   refused where they are written, as are two keys that PHP's rule would merge (1 and "1");
 *   -0 is the key 0 (a Map cannot tell them apart either).
 * Refused (EncodeError, naming the path): an own enumerable symbol-keyed property (PHP keys are
 * strings or ints), an own non-enumerable property (it would be dropped; make it enumerable or
 * leave it out), own enumerable properties on a Map (only its entries would be written). A
 * PhpArray is the value model: only its entries are its data.
 * `expectedNames` is how many own string-keyed properties `v` has that are written (its
 * Object.keys, plus `length` for an array); 0 for a Map.
 */
export function checkNoHiddenData(v: object, expectedNames: number, fail: (msg: string) => never): void {
  const symbols = Object.getOwnPropertySymbols(v);
  for (const sym of symbols) {
    if (Object.prototype.propertyIsEnumerable.call(v, sym)) fail(`property ${String(sym)} has a symbol key: a PHP array key is a string or an int`);
  }
  const names = Object.getOwnPropertyNames(v);
  if (v instanceof Map) {
    if (names.length > 0) fail(`a Map with own properties (${JSON.stringify(names[0])}): only its entries would be written`);
    return;
  }
  if (names.length === expectedNames) return;
  for (const name of names) {
    if (!Object.prototype.propertyIsEnumerable.call(v, name) && !(name === 'length' && Array.isArray(v))) {
      fail(`property ${JSON.stringify(name)} is not enumerable: it would not be written (make it enumerable or leave it out)`);
    }
  }
}

/** Whether an own-property name is an array index (canonical, below 2^32 - 1). */
function isArrayIndex(k: string): boolean {
  const c = k.charCodeAt(0);
  if (c < 0x30 || c > 0x39 || k.length > 10 || (c === 0x30 && k.length > 1)) return false;
  for (let i = 1; i < k.length; i++) {
    const d = k.charCodeAt(i);
    if (d < 0x30 || d > 0x39) return false;
  }
  return Number(k) < 4294967295;
}

/** In an array's Object.keys (indices first, ascending), where the other keys start. */
function firstNonIndex(keys: string[]): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (isArrayIndex(keys[mid]!)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function checkDistinctKeys(m: Map<unknown, unknown>, fail: (msg: string) => never): void {
  // Only plain Maps can hold both 1 and "1", which PHP would merge into one key.
  let hasString = false;
  let hasNumber = false;
  for (const k of m.keys()) {
    if (typeof k === 'string') hasString = true;
    else hasNumber = true;
  }
  if (!(hasString && hasNumber)) return;
  const seen = new Set<unknown>();
  for (const k of m.keys()) {
    let c: unknown = k;
    try {
      c = canonicalKey(k as PhpKey);
    } catch {
      /* reported when the key is written */
    }
    if (typeof c === 'bigint') c = `big:${c}`;
    if (seen.has(c)) fail(`Map keys ${JSON.stringify(String(k))} collide after PHP's numeric-key rule`);
    seen.add(c);
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'object') return (v as { constructor?: { name?: string } }).constructor?.name ?? 'object';
  return typeof v === 'number' ? String(v) : typeof v;
}

/** serialize() of one value into a fresh Buffer. */
export function serializeValue(value: unknown, options?: EncodeOptions): Buffer {
  const w = new Writer(options);
  try {
    w.value(value);
    return w.finish();
  } catch (e) {
    w.release();
    throw EncodeError.from(e);
  }
}
