/**
 * The bridge between PHP session values and the plain JSON-like values a Node handler
 * (or express-session) works with. Lossy on purpose in one direction (a PHP object reads
 * as a plain object), so callers that write back compare in plain space and keep the
 * original PHP value when the plain view did not change — see {@link samePlain}.
 */
import { EncodeError } from '../errors.js';
import { PhpArray, PhpEnum, PhpFloat, PhpObject, PhpReference, PhpSerializable, parsePropertyName } from '../codec/values.js';
import type { PhpKey, PhpValue } from '../codec/values.js';

/** What {@link toPlainValue} produces. PhpEnum / PhpSerializable pass through as they are. */
export type PlainValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PhpEnum
  | PhpSerializable
  | PlainValue[]
  | { [key: string]: PlainValue };

const MAX_DEPTH = 4096; // PHP's unserialize_max_depth default

/** Adds a key to a plain object without ever touching its prototype (`__proto__` is data here). */
function defineKey(obj: Record<string, PlainValue>, key: string, value: PlainValue): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

/**
 * A PHP value as plain JS: list arrays → arrays, other arrays → objects, floats → numbers,
 * objects → objects of their property names (visibility dropped), references → their value.
 * @throws EncodeError on a cycle (PHP references can make one) or nesting beyond 4096.
 */
export function toPlainValue(value: PhpValue, depth = 0, seen: Set<object> = new Set()): PlainValue {
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof PhpFloat) return value.value;
  if (value instanceof Uint8Array || value instanceof PhpEnum || value instanceof PhpSerializable) return value;
  if (depth > MAX_DEPTH) throw new EncodeError(`session value nested deeper than ${MAX_DEPTH} levels`);
  if (seen.has(value)) throw new EncodeError('session value refers to itself (a PHP reference cycle): it has no plain form');
  seen.add(value);
  try {
    if (value instanceof PhpReference) return toPlainValue(value.value, depth + 1, seen);
    if (value instanceof PhpObject) {
      const out: Record<string, PlainValue> = {};
      for (const [k, v] of value.props) defineKey(out, parsePropertyName(k).name, toPlainValue(v, depth + 1, seen));
      return out;
    }
    if (value.isList()) return [...value.values()].map((v) => toPlainValue(v, depth + 1, seen));
    const out: Record<string, PlainValue> = {};
    for (const [k, v] of value) defineKey(out, String(k), toPlainValue(v, depth + 1, seen));
    return out;
  } finally {
    seen.delete(value);
  }
}

/**
 * A plain JS value as a PHP value, with JSON's rules: integers → int, other numbers →
 * float, Date → ISO string, `toJSON()` honoured, arrays → lists, objects/Maps → arrays,
 * `undefined` and functions skipped inside objects (null inside arrays). PHP value
 * instances (PhpArray, PhpObject, PhpFloat…) pass through untouched.
 * @throws EncodeError for a cycle, nesting beyond 4096, or a value with no PHP form (symbol, function at top level).
 */
export function fromPlainValue(value: unknown, depth = 0, seen: Set<object> = new Set()): PhpValue {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isSafeInteger(value) ? value : new PhpFloat(value);
    case 'bigint':
      return value;
    case 'undefined':
      return null;
    case 'object':
      break;
    default:
      throw new EncodeError(`a ${typeof value} cannot be stored in a PHP session`);
  }
  if (value === null) return null;
  if (
    value instanceof PhpArray ||
    value instanceof PhpObject ||
    value instanceof PhpFloat ||
    value instanceof PhpEnum ||
    value instanceof PhpSerializable ||
    value instanceof PhpReference ||
    value instanceof Uint8Array
  ) {
    return value;
  }
  if (depth > MAX_DEPTH) throw new EncodeError(`session value nested deeper than ${MAX_DEPTH} levels`);
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    return fromPlainValue((value as { toJSON(): unknown }).toJSON(), depth + 1, seen);
  }
  if (seen.has(value)) throw new EncodeError('a value that contains itself cannot be stored in a PHP session');
  seen.add(value);
  try {
    const out = new PhpArray();
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const v: unknown = value[i];
        out.set(i, typeof v === 'function' || typeof v === 'symbol' ? null : fromPlainValue(v, depth + 1, seen));
      }
      return out;
    }
    const entries: Iterable<[unknown, unknown]> = value instanceof Map ? value : Object.entries(value);
    for (const [k, v] of entries) {
      if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
      out.set(toKey(k), fromPlainValue(v, depth + 1, seen));
    }
    return out;
  } finally {
    seen.delete(value);
  }
}

function toKey(k: unknown): PhpKey {
  if (typeof k === 'number' && Number.isInteger(k)) return k;
  if (typeof k === 'bigint') return k;
  return String(k);
}

/** Deep equality of two plain values (as {@link toPlainValue} produces them). */
export function samePlain(a: PlainValue, b: PlainValue): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) {
    return typeof a === 'number' && typeof b === 'number' && Number.isNaN(a) && Number.isNaN(b);
  }
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    return a instanceof Uint8Array && b instanceof Uint8Array && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
  }
  if (a instanceof PhpEnum || b instanceof PhpEnum) {
    return a instanceof PhpEnum && b instanceof PhpEnum && a.className === b.className && a.caseName === b.caseName;
  }
  if (a instanceof PhpSerializable || b instanceof PhpSerializable) {
    return a instanceof PhpSerializable && b instanceof PhpSerializable && a.className === b.className && samePlain(a.data, b.data);
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (let i = 0; i < ka.length; i++) {
    if (ka[i] !== kb[i]) return false; // PHP arrays are ordered: order is part of the value
    const k = ka[i]!;
    if (!samePlain((a as Record<string, PlainValue>)[k]!, (b as Record<string, PlainValue>)[k]!)) return false;
  }
  return true;
}
