/**
 * serialize(): writes PHP's serialize() format into one growing Buffer.
 *
 * Iterative (explicit stack), so deep values cannot overflow the JS call stack.
 * Slot numbers mirror php-src's php_add_var_hash: every value counts one slot, except a
 * reference seen again (`R:`); objects (and `&` boxes) are remembered, so an object seen
 * again is written `r:n` and a reference seen again `R:n`. A box around an object is keyed
 * on the object itself, as PHP does.
 */
import { EncodeError } from '../errors.js';
import { mappedInstanceProps, type ClassRegistry } from './classes.js';
import { formatPhpFloat, parsePhpFloatText } from './float.js';
import { keyStringToBytes } from './strings.js';
import { PhpArray, PhpEnum, PhpFloat, PhpObject, PhpReference, PhpSerializable, canonicalKey, type PhpKey } from './values.js';

export interface EncodeOptions {
  /** Class mappings: instances of registered JS classes are written as `O:` objects. */
  classes?: ClassRegistry;
}

const INT64_MIN = -9223372036854775808n;
const INT64_MAX = 9223372036854775807n;
const TWO_63 = 9223372036854775808; // 2^63 as a double

/** One open container being written: its entries as a flat [k0, v0, k1, v1, …] list, or a JS array. */
class Frame {
  i = 0;
  /** The key being written (for error paths). */
  key: unknown = undefined;
  constructor(
    readonly owner: object,
    /** Keys from plain JS (Map/object) get PHP's canonical-numeric rule. */
    public canonicalise: boolean,
    /** [k0, v0, k1, v1, …], or null for a JS array (`list`). */
    readonly flat: unknown[] | null,
    readonly list: unknown[] | null,
  ) {}
}

function mapFrame(owner: Map<unknown, unknown>, canonicalise: boolean): Frame {
  // forEach into one flat array is cheaper than an entries() iterator's [k, v] pair per step.
  const flat: unknown[] = [];
  owner.forEach((v, k) => {
    flat.push(k, v);
  });
  return new Frame(owner, canonicalise, flat, null);
}

function entriesFrame(owner: object, entries: [unknown, unknown][]): Frame {
  const flat: unknown[] = [];
  for (const [k, v] of entries) flat.push(k, v);
  return new Frame(owner, false, flat, null);
}

function objectFrame(owner: Record<string, unknown>, keys: string[]): Frame {
  const flat: unknown[] = [];
  for (const k of keys) flat.push(k, owner[k]);
  return new Frame(owner, true, flat, null);
}

function isPlainObject(v: object): v is Record<string, unknown> {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** An object PHP keeps in its var hash (identity matters): objects, enums, Serializable, mapped instances. */
function isPhpObjectLike(v: unknown, classes: ClassRegistry | undefined): boolean {
  if (typeof v !== 'object' || v === null) return false;
  if (v instanceof PhpObject || v instanceof PhpEnum || v instanceof PhpSerializable) return true;
  return classes !== undefined && classes.forInstance(v) !== undefined;
}

type Utf8Write = (this: Buffer, s: string, offset: number, length: number) => number;
// Buffer's undocumented utf8Write skips write()'s argument juggling; fall back to write().
const utf8Write: Utf8Write =
  (Buffer.prototype as unknown as { utf8Write?: Utf8Write }).utf8Write ??
  function (this: Buffer, s: string, offset: number, length: number) {
    return this.write(s, offset, length, 'utf8');
  };

/** Class names repeat a lot; their bytes are cached (bounded). */
const nameCache = new Map<string, Buffer>();

let scratch: Buffer | null = Buffer.allocUnsafe(64 * 1024);

/** A run of the encoder: output buffer plus the var hash. Sessions in `php` format share one. */
export class Writer {
  buf: Buffer;
  pos = 0;
  /** Last slot number handed out. */
  private slot = 0;
  private readonly seen = new Map<object, number>();
  /**
   * Arrays being written → how many times they are open on the current path. An array met
   * again on its own path without a `&` box in between would recurse forever: refused. Met
   * through a box it is fine (the box is written `R:` the next time round, as PHP does).
   */
  private readonly open = new Map<object, number>();
  private readonly classes: ClassRegistry | undefined;
  private readonly usesScratch: boolean;
  /** Describes where the value being written sits, for error messages. */
  private readonly stack: Frame[] = [];
  private rootLabel = 'value';

  constructor(options: EncodeOptions = {}) {
    this.classes = options.classes;
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

  private grow(need: number): void {
    let size = this.buf.length * 2;
    while (size < this.pos + need) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    if (this.usesScratch && this.buf.length > 0) {
      // the old scratch is dropped; the bigger one becomes the scratch on release
    }
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
    let path = this.rootLabel;
    for (const f of this.stack) path += `[${typeof f.key === 'string' ? JSON.stringify(f.key) : String(f.key)}]`;
    throw new EncodeError(`${message} (at ${path})`);
  }

  /** Writes a safe non-negative integer's digits. */
  private digits(n: number): void {
    if (this.pos + 20 > this.buf.length) this.grow(20);
    const buf = this.buf;
    if (n < 10) {
      buf[this.pos++] = 0x30 + n;
      return;
    }
    let len = 1;
    for (let t = n; t >= 10; t = Math.floor(t / 10)) len++;
    let p = this.pos + len;
    this.pos = p;
    while (n >= 10) {
      const q = Math.floor(n / 10);
      buf[--p] = 0x30 + (n - q * 10);
      n = q;
    }
    buf[--p] = 0x30 + n;
  }

  /** `s:<bytes>:"<bytes>";` for a JS string (UTF-8, or surrogate-escaped bytes). */
  private string(s: string): void {
    const n = s.length;
    if (n < 256) {
      // ASCII fast path: check, then copy the chars straight into the buffer.
      let ascii = true;
      for (let i = 0; i < n; i++) {
        if (s.charCodeAt(i) > 0x7f) {
          ascii = false;
          break;
        }
      }
      if (ascii) {
        if (this.pos + n + 32 > this.buf.length) this.grow(n + 32);
        const buf = this.buf;
        buf[this.pos++] = 0x73; // s
        buf[this.pos++] = 0x3a; // :
        this.digits(n);
        let p = this.pos;
        buf[p++] = 0x3a;
        buf[p++] = 0x22;
        for (let i = 0; i < n; i++) buf[p++] = s.charCodeAt(i);
        buf[p++] = 0x22;
        buf[p++] = 0x3b;
        this.pos = p;
        return;
      }
    }
    const len = Buffer.byteLength(s, 'utf8');
    if (len !== n) {
      const escaped = keyStringToBytes(s, (m) => this.fail(m));
      if (escaped !== null) {
        this.bytesString(escaped);
        return;
      }
    }
    if (this.pos + len + 32 > this.buf.length) this.grow(len + 32);
    this.buf[this.pos++] = 0x73;
    this.buf[this.pos++] = 0x3a;
    this.digits(len);
    this.buf[this.pos++] = 0x3a;
    this.buf[this.pos++] = 0x22;
    this.pos += utf8Write.call(this.buf, s, this.pos, len);
    this.buf[this.pos++] = 0x22;
    this.buf[this.pos++] = 0x3b;
  }

  private bytesString(b: Uint8Array): void {
    this.ascii('s:');
    this.digits(b.length);
    this.ascii(':"');
    this.raw(b);
    this.ascii('";');
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

  private int(n: number | bigint): void {
    if (this.pos + 24 > this.buf.length) this.grow(24);
    this.buf[this.pos++] = 0x69;
    this.buf[this.pos++] = 0x3a;
    if (typeof n === 'number' && Number.isSafeInteger(n)) {
      if (n < 0) {
        this.buf[this.pos++] = 0x2d;
        n = -n;
      }
      this.digits(n);
    } else this.ascii(String(n));
    this.buf[this.pos++] = 0x3b;
  }

  private key(k: unknown, frame: Frame): void {
    frame.key = k;
    if (frame.canonicalise) {
      if (typeof k === 'string' || typeof k === 'bigint' || (typeof k === 'number' && Number.isInteger(k))) {
        try {
          k = canonicalKey(k as PhpKey);
        } catch (e) {
          this.fail(`invalid array key: ${(e as Error).message}`);
        }
      }
    }
    if (typeof k === 'string') this.string(k);
    else if (typeof k === 'number') {
      if (!Number.isSafeInteger(k)) this.fail(`array key ${k} is not an integer PHP can hold`);
      this.int(k);
    } else if (typeof k === 'bigint') {
      if (k < INT64_MIN || k > INT64_MAX) this.fail(`array key ${k} is outside PHP's 64-bit int range`);
      this.int(k);
    } else this.fail(`array keys must be strings or integers, got ${describe(k)}`);
  }

  /** Writes one complete value (the entry point; also used per session key). */
  value(root: unknown, label = 'value'): void {
    this.rootLabel = label;
    const stack = this.stack;
    stack.length = 0;
    let frame = this.start(root);
    if (frame === undefined) return;
    stack.push(frame);
    while (stack.length > 0) {
      frame = stack[stack.length - 1]!;
      let k: unknown;
      let v: unknown;
      let done = true;
      const flat = frame.flat;
      if (flat !== null) {
        if (frame.i < flat.length) {
          done = false;
          k = flat[frame.i];
          v = flat[frame.i + 1];
          frame.i += 2;
        }
      } else {
        const list = frame.list!;
        if (frame.i < list.length) {
          done = false;
          k = frame.i;
          v = list[frame.i++];
        }
      }
      if (done) {
        this.byte(0x7d);
        const n = this.open.get(frame.owner)!;
        if (n > 1) this.open.set(frame.owner, n - 1);
        else this.open.delete(frame.owner);
        stack.pop();
        continue;
      }
      this.key(k, frame);
      const child = this.start(v);
      if (child !== undefined) stack.push(child);
    }
  }

  /** Writes a scalar completely, or the header of a container and returns its frame. */
  private start(v: unknown, counted = false): Frame | undefined {
    switch (typeof v) {
      case 'string':
        if (!counted) this.slot++;
        this.string(v);
        return undefined;
      case 'number':
        if (!counted) this.slot++;
        if (Number.isSafeInteger(v) && !Object.is(v, -0)) this.int(v);
        else if (Number.isInteger(v) && v !== 0 && v < TWO_63 && v >= -TWO_63) this.int(BigInt(v));
        else this.ascii(`d:${formatPhpFloat(v)};`);
        return undefined;
      case 'boolean':
        if (!counted) this.slot++;
        this.ascii(v ? 'b:1;' : 'b:0;');
        return undefined;
      case 'undefined':
        if (!counted) this.slot++;
        this.ascii('N;');
        return undefined;
      case 'bigint':
        if (v < INT64_MIN || v > INT64_MAX) this.fail(`int ${v} is outside PHP's 64-bit range`);
        if (!counted) this.slot++;
        this.int(v);
        return undefined;
      case 'object':
        break;
      default:
        this.fail(`cannot serialize a ${typeof v}`);
    }
    if (v === null) {
      if (!counted) this.slot++;
      this.ascii('N;');
      return undefined;
    }
    if (v instanceof PhpFloat) {
      if (!counted) this.slot++;
      this.ascii(`d:${floatText(v)};`);
      return undefined;
    }
    if (v instanceof Uint8Array) {
      if (!counted) this.slot++;
      this.bytesString(v);
      return undefined;
    }
    if (v instanceof PhpReference) {
      const inner: unknown = v.value;
      if (inner instanceof PhpReference) this.fail('a PhpReference cannot hold another PhpReference');
      const hashKey = isPhpObjectLike(inner, this.classes) ? (inner as object) : v;
      const found = this.seen.get(hashKey);
      if (found !== undefined) {
        this.ascii('R:'); // a reference seen again takes no slot
        this.digits(found);
        this.byte(0x3b);
        return undefined;
      }
      this.seen.set(hashKey, ++this.slot);
      return this.start(inner, true);
    }
    if (isPhpObjectLike(v, this.classes)) {
      if (!counted) {
        this.slot++;
        const found = this.seen.get(v);
        if (found !== undefined) {
          this.ascii('r:');
          this.digits(found);
          this.byte(0x3b);
          return undefined;
        }
        this.seen.set(v, this.slot);
      }
      return this.object(v);
    }
    // Arrays: they take a slot but are never looked up (PHP copies them).
    if (!counted) this.slot++;
    const openCount = this.open.get(v) ?? 0;
    if (openCount > 0 && !counted) this.fail('an array contains itself (only a PhpReference or an object can make a cycle)');
    if (v instanceof Map) {
      const canonicalise = !(v instanceof PhpArray);
      if (canonicalise) checkDistinctKeys(v, (m) => this.fail(m));
      this.ascii('a:');
      this.digits(v.size);
      this.ascii(':{');
      this.open.set(v, openCount + 1);
      return mapFrame(v, canonicalise);
    }
    if (Array.isArray(v)) {
      this.ascii('a:');
      this.digits(v.length);
      this.ascii(':{');
      this.open.set(v, openCount + 1);
      return new Frame(v, true, null, v);
    }
    if (isPlainObject(v)) {
      const keys = Object.keys(v);
      this.ascii('a:');
      this.digits(keys.length);
      this.ascii(':{');
      this.open.set(v, openCount + 1);
      return objectFrame(v, keys);
    }
    if (v instanceof Date) this.fail('cannot serialize a Date (convert it first: date.toISOString() or a unix timestamp)');
    const ctor = (v as { constructor?: { name?: string } }).constructor?.name;
    this.fail(`cannot serialize an instance of ${ctor || 'an unknown class'} (register it in a ClassRegistry to write it as a PHP object)`);
  }

  private object(v: object): Frame | undefined {
    if (v instanceof PhpObject) {
      if (!(v.props instanceof Map)) this.fail(`PhpObject ${v.className} has no props Map`);
      this.ascii('O:');
      this.name(v.className);
      this.byte(0x3a);
      this.digits(v.props.size);
      this.ascii(':{');
      return mapFrame(v.props, false);
    }
    if (v instanceof PhpEnum) {
      this.ascii('E:');
      this.name(`${v.className}:${v.caseName}`);
      this.byte(0x3b);
      return undefined;
    }
    if (v instanceof PhpSerializable) {
      this.ascii('C:');
      this.name(v.className);
      this.ascii(`:${v.data.length}:{`);
      this.raw(v.data);
      this.byte(0x7d);
      return undefined;
    }
    const mapping = this.classes!.forInstance(v)!;
    const { className, props, size } = mappedInstanceProps(mapping, v);
    const entries = [...props];
    if (entries.length !== size) this.fail(`toPhp() of ${mapping.phpClass} returned inconsistent properties`);
    this.ascii('O:');
    this.name(className);
    this.ascii(`:${entries.length}:{`);
    return entriesFrame(v, entries);
  }

  /** The session-format helpers write a key's name bytes themselves. */
  get lastSlot(): number {
    return this.slot;
  }
}

/** `PhpFloat.text` is written back verbatim only when it really is that float's text. */
function floatText(f: PhpFloat): string {
  if (f.text !== undefined) {
    const parsed = parsePhpFloatText(f.text);
    if (parsed !== undefined && (Object.is(parsed, f.value) || (parsed !== parsed && f.value !== f.value))) return f.text;
  }
  return formatPhpFloat(Number(f.value));
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
    throw e;
  }
}
