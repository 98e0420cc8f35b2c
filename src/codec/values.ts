/**
 * The lossless value model: every PHP value that serialize() can write has
 * exactly one representation here, so decode → encode gives back the same bytes.
 *
 * | PHP                        | JS                                             |
 * |----------------------------|------------------------------------------------|
 * | null                       | `null`                                         |
 * | bool                       | `boolean`                                      |
 * | int                        | `number` (safe integer) or `bigint` (beyond ±2^53) |
 * | float                      | {@link PhpFloat} (keeps `d:1;` a float, `-0`, INF, NAN) |
 * | string (valid UTF-8)       | `string`                                       |
 * | string (any other bytes)   | `Uint8Array` (a Buffer when decoded)           |
 * | array                      | {@link PhpArray} (an ordered Map, int and string keys) |
 * | object                     | {@link PhpObject}                              |
 * | Serializable (`C:`)        | {@link PhpSerializable} (payload kept raw)     |
 * | enum case (`E:`)           | {@link PhpEnum}                                |
 * | `&` reference (`R:`)       | {@link PhpReference}, one box shared by every place that holds it |
 *
 * Object identity (`r:`) is JS identity: the same PhpObject instance reached twice.
 */

import { registerSpanAccess, type SourceSpan } from './source-span.js';

/** A PHP array key: ints are numbers (or bigint beyond the safe range), the rest strings. */
export type PhpKey = number | bigint | string;

export type PhpValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PhpFloat
  | PhpArray
  | PhpObject
  | PhpSerializable
  | PhpEnum
  | PhpReference;

/**
 * A PHP float. Kept apart from ints because PHP keeps them apart (`d:1;` is not `i:1;`).
 * `text` holds the exact source text when it is not what PHP 8 would print today
 * (for example `d:0.10000000000000001;` written by PHP 5 with precision 17), so that
 * even old sessions round-trip byte for byte.
 */
export class PhpFloat {
  constructor(
    readonly value: number,
    readonly text?: string,
  ) {}
  valueOf(): number {
    return this.value;
  }
  toString(): string {
    return String(this.value);
  }
  toJSON(): number | string {
    return Number.isFinite(this.value) ? this.value : String(this.value);
  }
}

const CANONICAL_INT = /^(?:0|-?[1-9][0-9]*)$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * PHP's array-key rule: a string in canonical decimal form that fits a 64-bit int
 * ("5", "-1", not "05", "-0", "+1", " 1") is the int key. Returns the key PHP would store.
 */
export function canonicalKey(key: PhpKey): PhpKey {
  if (typeof key === 'number') {
    if (!Number.isInteger(key)) throw new TypeError(`PHP array keys are ints or strings, got ${key}`);
    // An integer beyond 2^53 is still exact in a double, and PHP holds it up to 2^63: the
    // bigint form, as decoders give it.
    return Number.isSafeInteger(key) ? key : canonicalKey(BigInt(key));
  }
  if (typeof key === 'bigint') {
    if (key < INT64_MIN || key > INT64_MAX) throw new RangeError(`int key ${key} is outside PHP's 64-bit range`);
    return Number.isSafeInteger(Number(key)) && BigInt(Number(key)) === key ? Number(key) : key;
  }
  if (key.length > 20 || !CANONICAL_INT.test(key)) return key;
  const n = BigInt(key);
  if (n < INT64_MIN || n > INT64_MAX) return key;
  return Number.isSafeInteger(Number(n)) ? Number(n) : n;
}

/**
 * A PHP array: an ordered map whose keys are ints or strings. `set`, `get`, `has` and
 * `delete` apply PHP's canonical-key rule, so `arr.get('5')` finds the int key 5.
 *
 * A decoded array remembers its source bytes until it (or an array inside it) is changed
 * through these methods, so re-encoding it unchanged is a copy (see source-span.ts). Change
 * arrays through them, not through `Map.prototype.set.call(…)`.
 */
export class PhpArray extends Map<PhpKey, PhpValue> {
  #span: SourceSpan | null = null;
  /** The array this one was decoded inside (spans of both describe these bytes). */
  #parent: PhpArray | null = null;

  static {
    registerSpanAccess({
      get: (a) => a.#span,
      set: (a, span) => {
        a.#span = span;
      },
      setParent: (a, parent) => {
        a.#parent = parent;
      },
    });
  }

  /** Builds an array from entries (or a list of values, keyed 0..n-1). */
  static of(...values: PhpValue[]): PhpArray {
    const a = new PhpArray();
    values.forEach((v, i) => Map.prototype.set.call(a, i, v));
    return a;
  }
  /** Forgets the source bytes of `array` and of every array it was decoded inside. */
  static #changed(array: PhpArray): void {
    // `new PhpArray(entries)` calls set() before the fields exist: nothing to forget then.
    if (!(#span in array)) return;
    for (let a: PhpArray | null = array; a !== null; a = a.#parent) a.#span = null;
  }
  override set(key: PhpKey, value: PhpValue): this {
    PhpArray.#changed(this);
    return super.set(canonicalKey(key), value);
  }
  /**
   * The value under `key` (canonical-numeric strings find int keys). Session data is written
   * by PHP, so its shape is not known to the compiler: like `JSON.parse`, this returns `any`
   * unless you name what you expect (`get<number>('visits')`, or `get<PhpValue>(k)` to narrow
   * the lossless union yourself). Nothing is converted or checked at run time.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override get<T = any>(key: PhpKey): T | undefined {
    return super.get(canonicalKey(key)) as T | undefined;
  }
  override has(key: PhpKey): boolean {
    return super.has(canonicalKey(key));
  }
  override delete(key: PhpKey): boolean {
    PhpArray.#changed(this);
    return super.delete(canonicalKey(key));
  }
  override clear(): void {
    PhpArray.#changed(this);
    super.clear();
  }
  /** PHP's `$a[] = v`: appends at max(int key) + 1 (0 when there is none). */
  push(value: PhpValue): this {
    let next = 0n;
    for (const k of this.keys()) {
      if (typeof k !== 'string' && BigInt(k) >= next) next = BigInt(k) + 1n;
    }
    PhpArray.#changed(this);
    return super.set(Number.isSafeInteger(Number(next)) ? Number(next) : next, value);
  }
  /** True when the keys are exactly 0, 1, 2, … in order (PHP's array_is_list). */
  isList(): boolean {
    let i = 0;
    for (const k of this.keys()) if (k !== i++) return false;
    return true;
  }
}

/** Property visibility, as encoded in the mangled property name. */
export type Visibility = 'public' | 'protected' | 'private';

/** Splits a serialized property name: `\0Class\0p` is private, `\0*\0p` protected. */
export function parsePropertyName(name: PhpKey): { name: string; visibility: Visibility; declaringClass?: string } {
  const s = String(name);
  if (s.charCodeAt(0) !== 0) return { name: s, visibility: 'public' };
  const end = s.indexOf('\0', 1);
  if (end < 0) return { name: s, visibility: 'public' };
  const cls = s.slice(1, end);
  const prop = s.slice(end + 1);
  return cls === '*' ? { name: prop, visibility: 'protected' } : { name: prop, visibility: 'private', declaringClass: cls };
}

/** Builds the serialized property name for a visibility (the inverse of {@link parsePropertyName}). */
export function mangledPropertyName(name: string, visibility: Visibility = 'public', declaringClass?: string): string {
  if (visibility === 'public') return name;
  if (visibility === 'protected') return `\0*\0${name}`;
  if (!declaringClass) throw new TypeError('a private property needs its declaring class');
  return `\0${declaringClass}\0${name}`;
}

/**
 * A PHP object (`O:`), never instantiated as a user class unless a class mapping asks for it.
 * `props` keeps serialized property names as they are (mangled for private/protected).
 */
export class PhpObject {
  constructor(
    public className: string,
    public props: PhpArray = new PhpArray(),
  ) {}
  /** A property by its plain name, whatever its visibility (public first); `any` unless typed, as {@link PhpArray.get}. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  get<T = any>(name: string): T | undefined {
    return this.#find(name) as T | undefined;
  }

  #find(name: string): PhpValue | undefined {
    // Property names are kept as read: "0" is a string name here, not the int key 0.
    if (Map.prototype.has.call(this.props, name)) return Map.prototype.get.call(this.props, name) as PhpValue;
    if (this.props.has(name)) return this.props.get(name);
    const prot = this.props.get(`\0*\0${name}`);
    if (prot !== undefined) return prot;
    for (const [k, v] of this.props) {
      if (typeof k === 'string' && k.charCodeAt(0) === 0 && parsePropertyName(k).name === name) return v;
    }
    return undefined;
  }
}

/** An object of a class implementing `Serializable` (`C:`): its payload is opaque and kept raw. */
export class PhpSerializable {
  constructor(
    public className: string,
    public data: Uint8Array,
  ) {}
}

/** An enum case (`E:`), PHP 8.1+. */
export class PhpEnum {
  constructor(
    public className: string,
    public caseName: string,
  ) {}
}

/**
 * A PHP reference (`&`). Every place that holds the same PhpReference instance is
 * bound to the same variable: serialize writes the first as the value and the others as `R:`.
 */
export class PhpReference {
  constructor(public value: PhpValue) {}
}
