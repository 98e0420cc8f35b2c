/**
 * toPlain / fromPlain: between the lossless value model and everyday JS values.
 * toPlain is one-way (it loses the float/int distinction, visibility, references);
 * fromPlain is what serialize() does with plain JS.
 */
import { EncodeError } from '../errors.js';
import { unserializeBuffer } from './decoder.js';
import { serializeValue } from './encoder.js';
import type { ClassRegistry } from './classes.js';
import { decodeUtf8 } from './strings.js';
import { PhpArray, PhpEnum, PhpFloat, PhpObject, PhpReference, PhpSerializable, parsePropertyName, type PhpValue } from './values.js';

export interface PlainOptions {
  /** How ints beyond ±2^53 come out: 'bigint' (default), 'string' or 'number' (may round). JSON mode: 'string'. */
  bigint?: 'bigint' | 'string' | 'number';
  /**
   * How non-UTF-8 strings come out: 'buffer' (default), 'base64', 'latin1' (one char per byte),
   * or 'escaped' (valid UTF-8 kept, other bytes as `\xNN`, backslash as `\\`). JSON mode: 'escaped'.
   */
  binary?: 'buffer' | 'base64' | 'latin1' | 'escaped';
  /**
   * The key that carries an object's class name. Default `__class`. `null`: objects come out
   * as their properties only (enums as `{ __case }` unless `phpInstances: 'keep'`).
   */
  classKey?: string | null;
  /**
   * Prototype of the objects made: 'null' (default: nothing inherited) or 'object' (ordinary
   * `{}`, what JSON.parse makes). Either way keys such as `__proto__` are own data properties.
   */
  prototype?: 'null' | 'object';
  /**
   * PhpEnum / PhpSerializable values: 'describe' (default: `{ __class, __case }` /
   * `{ __class, __serialized }`) or 'keep' (the value-model instance itself, which
   * fromPlain / serialize write back unchanged).
   */
  phpInstances?: 'describe' | 'keep';
  /**
   * A value that contains itself (PHP references can make one): 'keep' (default: a cyclic JS
   * structure, `{ __ref }` in JSON mode) or 'throw' (EncodeError: for callers that hand the
   * result to code that cannot take a cycle, such as JSON.stringify). Shared, non-cyclic
   * parts keep their identity either way.
   */
  cycles?: 'keep' | 'throw';
  /** JSON-safe output: no bigint/Buffer/NaN, and every array/object seen again is `{ __ref: '<path>' }`. */
  json?: boolean;
}

/** fromPlain's options. */
export interface FromPlainOptions {
  /** Registered classes: their instances are written as PHP objects. */
  classes?: ClassRegistry;
  /**
   * Read the value with JSON.stringify's rules first: `toJSON()` honoured (a Date becomes
   * its ISO string), `undefined` / functions / symbols left out of objects (and Maps) and
   * null in arrays, symbol-keyed and non-enumerable properties ignored, and only a safe
   * integer is an int (`2 ** 60` is a float, not serialize()'s int). One deliberate
   * difference: an array's own non-index keys are kept, after its elements (JSON.stringify
   * drops them; `const cart = s.get('cart') ?? {}; cart[sku] = 1` on a cart PHP stored as `[]`
   * must not lose the skus). Value-model instances (PhpArray, PhpObject, PhpFloat…),
   * Uint8Array, bigint and registered class instances are taken as they are. Nesting beyond
   * 4096 levels or a value containing itself → EncodeError.
   */
  json?: boolean;
}

type Out = Record<string, unknown> | unknown[];

const FLOAT_SPECIAL = (n: number): number | string => (Number.isFinite(n) ? n : n !== n ? 'NAN' : n > 0 ? 'INF' : '-INF');

function escapeBinary(b: Uint8Array): string {
  let out = '';
  let i = 0;
  while (i < b.length) {
    // Take the longest valid UTF-8 run cheaply by trying growing windows is costly; go byte-wise.
    const c = b[i]!;
    if (c < 0x80) {
      out += c === 0x5c ? '\\\\' : String.fromCharCode(c);
      i++;
      continue;
    }
    const n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0;
    const s = n > 0 && i + n <= b.length ? decodeUtf8(b, i, i + n) : undefined;
    if (s !== undefined) {
      out += s;
      i += n;
    } else {
      out += `\\x${c.toString(16).padStart(2, '0')}`;
      i++;
    }
  }
  return out;
}

function newNullObject(): Record<string, unknown> {
  return Object.create(null) as Record<string, unknown>;
}

/** Sets a property without ever invoking a setter or touching a prototype (`__proto__` is data). */
function put(o: Record<string, unknown>, k: string, v: unknown): void {
  Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
}

/**
 * A PhpValue as everyday JS: see "toPlain mapping" in README.md for the table. Lists (keys 0..n-1) become
 * arrays, other arrays and objects null-prototype objects (objects carry `__class`), enums
 * `{ __class, __case }`, Serializable `{ __class, __serialized }`, references unwrapped;
 * shared and cyclic structures keep their identity (or become `{ __ref }` in JSON mode).
 * Never throws for values the decoder produced.
 */
export function toPlain(value: PhpValue, options: PlainOptions = {}): unknown {
  // Strings, booleans, null and safe integers map to themselves in every mode: no walk for them.
  if (value === null || typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isSafeInteger(value))) return value;
  const json = options.json === true;
  const bigintMode = options.bigint ?? (json ? 'string' : 'bigint');
  const binaryMode = options.binary ?? (json ? 'escaped' : 'buffer');
  const classKey = options.classKey === undefined ? '__class' : options.classKey;
  const newObject = options.prototype === 'object' ? () => ({}) as Record<string, unknown> : newNullObject;
  const keepInstances = options.phpInstances === 'keep';
  let repeated = false;
  const made = new Map<object, Out>();
  const paths = new Map<object, string>();
  const work: [object, Out, string][] = [];

  const scalar = (v: unknown): unknown => {
    switch (typeof v) {
      case 'bigint':
        return bigintMode === 'string' ? v.toString() : bigintMode === 'number' ? Number(v) : v;
      case 'number':
        return json ? FLOAT_SPECIAL(v) : v;
      default:
        return v;
    }
  };

  const convert = (v: unknown, path: string): unknown => {
    while (v instanceof PhpReference) v = v.value;
    if (v === null || typeof v !== 'object') return scalar(v);
    if (v instanceof PhpFloat) return json ? FLOAT_SPECIAL(v.value) : v.value;
    if (v instanceof Uint8Array) return binary(v);
    if (v instanceof PhpEnum) {
      if (keepInstances) return v;
      const o = newObject();
      if (classKey !== null) put(o, classKey, v.className);
      put(o, '__case', v.caseName);
      return o;
    }
    if (v instanceof PhpSerializable) {
      if (keepInstances) return v;
      const o = newObject();
      if (classKey !== null) put(o, classKey, v.className);
      put(o, '__serialized', binary(v.data));
      return o;
    }
    const existing = made.get(v);
    if (existing !== undefined) {
      repeated = true;
      if (!json) return existing;
      const ref = newObject();
      put(ref, '__ref', paths.get(v)!);
      return ref;
    }
    let out: Out;
    if (v instanceof PhpArray) out = v.isList() ? [] : newObject();
    else if (v instanceof PhpObject) out = newObject();
    else return v; // an instance made by a ClassRegistry mapping: the user's own object
    made.set(v, out);
    paths.set(v, path);
    work.push([v, out, path]);
    return out;
  };

  const binary = (b: Uint8Array): unknown => {
    const s = decodeUtf8(b, 0, b.length);
    if (s !== undefined && binaryMode !== 'buffer') return s;
    switch (binaryMode) {
      case 'base64':
        return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
      case 'latin1':
        return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
      case 'escaped':
        return escapeBinary(b);
      default:
        return Buffer.isBuffer(b) ? b : Buffer.from(b);
    }
  };

  const root = convert(value, '$');
  while (work.length > 0) {
    const [src, out, path] = work.pop()!;
    if (src instanceof PhpArray) {
      if (Array.isArray(out)) {
        let i = 0;
        for (const v of src.values()) out.push(convert(v, `${path}[${i++}]`));
      } else {
        for (const [k, v] of src) {
          const key = String(k);
          put(out, key, convert(v, `${path}[${JSON.stringify(key)}]`));
        }
      }
    } else {
      const obj = src as PhpObject;
      const o = out as Record<string, unknown>;
      for (const [k, v] of obj.props) {
        const p = parsePropertyName(k);
        // Two properties can demangle to one name (a parent's private one): keep both.
        let name = p.name;
        if (Object.prototype.hasOwnProperty.call(o, name) || name === classKey) {
          name = p.visibility === 'private' ? `${p.declaringClass}::${p.name}` : p.visibility === 'protected' ? `*::${p.name}` : p.name;
        }
        put(o, name, convert(v, `${path}[${JSON.stringify(name)}]`));
      }
      if (classKey !== null) put(o, classKey, obj.className);
    }
  }
  if (repeated && options.cycles === 'throw' && !json && containsCycle(value)) {
    throw new EncodeError('value refers to itself (a PHP reference cycle): it has no plain form');
  }
  return root;
}

/** Whether an array/object can reach itself (only PHP references make that possible). Iterative. */
function containsCycle(value: PhpValue): boolean {
  const done = new Set<object>();
  const onPath = new Set<object>();
  const children = (v: object): Iterator<unknown> =>
    v instanceof PhpArray ? v.values() : v instanceof PhpObject ? v.props.values() : [(v as PhpReference).value].values();
  const isNode = (v: unknown): v is object => v instanceof PhpArray || v instanceof PhpObject || v instanceof PhpReference;
  if (!isNode(value)) return false;
  const stack: [object, Iterator<unknown>][] = [[value, children(value)]];
  onPath.add(value);
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const next = top[1].next();
    if (next.done) {
      stack.pop();
      onPath.delete(top[0]);
      done.add(top[0]);
      continue;
    }
    const c = next.value;
    if (!isNode(c) || done.has(c)) continue;
    if (onPath.has(c)) return true;
    onPath.add(c);
    stack.push([c, children(c)]);
  }
  return false;
}

/**
 * Converts plain JS to the value model exactly as serialize() reads it (strings, ints,
 * floats as PhpFloat, arrays/objects/Maps as PhpArray with PHP's key rule, Uint8Array as
 * string bytes, registered class instances as new instances); with `json`, JSON.stringify's
 * rules are applied first (see FromPlainOptions). Throws EncodeError for what serialize()
 * refuses (and, with `json`, for cycles and nesting beyond 4096 levels).
 */
export function fromPlain(value: unknown, options: FromPlainOptions = {}): PhpValue {
  // The everyday values come back from the round trip below unchanged: skip it for them.
  if (isUnchangedByRoundTrip(value)) return value;
  let bytes: Buffer;
  try {
    bytes = serializeValue(options.json === true ? asJsonBounded(value, options.classes) : value, { classes: options.classes });
  } catch (err) {
    throw EncodeError.from(err);
  }
  return unserializeBuffer(bytes, { classes: options.classes, maxDepth: Number.MAX_SAFE_INTEGER });
}

// Strings with surrogates take the round trip: a lone one has no UTF-8 form.
const LONE_OR_PAIRED_SURROGATE = /[\uD800-\uDFFF]/;

/** null, booleans, safe integers (not -0: that is a float) and strings without surrogates map to themselves. */
function isUnchangedByRoundTrip(value: unknown): value is null | boolean | number | string {
  switch (typeof value) {
    case 'boolean':
      return true;
    case 'number':
      return Number.isSafeInteger(value) && !Object.is(value, -0);
    case 'string':
      return !LONE_OR_PAIRED_SURROGATE.test(value);
    default:
      return value === null;
  }
}

const JSON_MAX_DEPTH = 4096; // PHP's unserialize_max_depth default

/** Whether an own-property name is an array index (canonical decimal below 2^32 - 1). */
function isArrayIndexKey(k: string): boolean {
  return /^(?:0|[1-9][0-9]{0,9})$/.test(k) && Number(k) < 4294967295;
}

/** One open array or object of {@link asJson}'s walk: its entries and where they go. */
interface JsonFrame {
  src: object;
  out: unknown[] | Map<unknown, unknown>;
  /** Array: the values; object/Map: [key, value] pairs. */
  items: unknown[];
  /** How many of the pairs (from the start) are an array's elements: JSON's array rule applies to them. */
  elements: number;
  next: number;
  depth: number;
}

/**
 * `value` as JSON.stringify would see it, in shapes serialize() takes (a Map for objects: any
 * key is data). Iterative (an explicit stack), so nesting up to JSON_MAX_DEPTH never
 * depends on the JS stack.
 */
function asJsonBounded(value: unknown, classes: ClassRegistry | undefined): unknown {
  const seen = new Set<object>();
  const stack: JsonFrame[] = [];
  /** Where the walk is, for error messages: `value[0]["a"]`. */
  const here = (): string => {
    let path = 'value';
    for (let d = 0; d < stack.length; d++) {
      if (d === 8 && stack.length > 16) {
        path += `…(${stack.length - 12} levels)…`;
        d = stack.length - 4;
      }
      const f = stack[d]!;
      const k = Array.isArray(f.out) ? f.next - 1 : (f.items[f.next - 1] as [unknown, unknown])[0];
      path += `[${typeof k === 'string' ? JSON.stringify(k) : String(k)}]`;
    }
    return path;
  };
  const fail = (message: string): never => {
    throw new EncodeError(`${message} (at ${here()})`);
  };
  /** A leaf as it is written, or a fresh container (pushed on the stack, filled later). */
  const visit = (v: unknown, depth: number): unknown => {
    for (;;) {
      switch (typeof v) {
        case 'number':
          return Number.isSafeInteger(v) ? v : new PhpFloat(v); // 2^60 stays a float, as JSON has it
        case 'undefined':
          return null;
        case 'object':
          break;
        default:
          return v; // string, boolean, bigint; function / symbol: serialize() refuses them
      }
      if (
        v === null ||
        v instanceof PhpArray ||
        v instanceof PhpObject ||
        v instanceof PhpFloat ||
        v instanceof PhpEnum ||
        v instanceof PhpSerializable ||
        v instanceof PhpReference ||
        v instanceof Uint8Array ||
        classes?.forInstance(v) !== undefined
      ) {
        return v;
      }
      if (depth > JSON_MAX_DEPTH) fail(`value nested deeper than ${JSON_MAX_DEPTH} levels`);
      if (typeof (v as { toJSON?: unknown }).toJSON !== 'function') break;
      v = (v as { toJSON(): unknown }).toJSON();
      depth++;
    }
    const obj = v as object;
    if (seen.has(obj)) fail('a value that contains itself has no PHP form');
    seen.add(obj);
    if (Array.isArray(obj)) {
      const keys = Object.keys(obj);
      if (keys.length === 0 || isArrayIndexKey(keys[keys.length - 1]!)) {
        const out: unknown[] = [];
        stack.push({ src: obj, out, items: obj, elements: obj.length, next: 0, depth });
        return out;
      }
      // Own non-index keys are kept, after the elements (JSON.stringify would drop them: see FromPlainOptions.json).
      const pairs: [unknown, unknown][] = [];
      for (let i = 0; i < obj.length; i++) pairs.push([i, (obj as unknown[])[i]]);
      for (const k of keys) if (!isArrayIndexKey(k)) pairs.push([k, (obj as unknown as Record<string, unknown>)[k]]);
      const out = new Map<unknown, unknown>();
      stack.push({ src: obj, out, items: pairs, elements: obj.length, next: 0, depth });
      return out;
    }
    const out = new Map<unknown, unknown>();
    stack.push({ src: obj, out, items: obj instanceof Map ? [...obj] : Object.entries(obj), elements: 0, next: 0, depth });
    return out;
  };
  const root = visit(value, 0);
  while (stack.length > 0) {
    const f = stack[stack.length - 1]!;
    if (f.next >= f.items.length) {
      stack.pop();
      seen.delete(f.src);
      continue;
    }
    const i = f.next++;
    if (Array.isArray(f.out)) {
      const v: unknown = f.items[i];
      f.out.push(typeof v === 'function' || typeof v === 'symbol' ? null : visit(v, f.depth + 1));
    } else {
      const [k, v] = f.items[i] as [unknown, unknown];
      if (i < f.elements) {
        f.out.set(k, typeof v === 'function' || typeof v === 'symbol' ? null : visit(v, f.depth + 1));
        continue;
      }
      if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
      // A Map's keys as an object's would be (String(k)), except that two keys which would then
      // be one, or a key that is an object or a symbol, are refused: one value would be lost.
      if (k !== null && (typeof k === 'object' || typeof k === 'symbol' || typeof k === 'function')) fail(`a Map key that is ${typeof k === 'symbol' ? 'a symbol' : 'an object'} has no PHP form`);
      const key = typeof k === 'number' && Number.isInteger(k) ? k : typeof k === 'bigint' ? k : String(k);
      if (f.out.has(key)) fail(`two Map keys are both ${JSON.stringify(String(key))} as PHP keys`);
      f.out.set(key, visit(v, f.depth + 1));
    }
  }
  return root;
}
