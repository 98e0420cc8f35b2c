/**
 * toPlain / fromPlain: between the lossless value model and everyday JS values.
 * toPlain is one-way (it loses the float/int distinction, visibility, references);
 * fromPlain is what serialize() does with plain JS.
 */
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
  /** The key that carries an object's class name. Default `__class`. */
  classKey?: string;
  /** JSON-safe output: no bigint/Buffer/NaN, and every array/object seen again is `{ __ref: '<path>' }`. */
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

function newObject(): Record<string, unknown> {
  return Object.create(null) as Record<string, unknown>;
}

/** Sets a property without ever invoking a setter or touching a prototype (`__proto__` is data). */
function put(o: Record<string, unknown>, k: string, v: unknown): void {
  Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
}

/**
 * A PhpValue as everyday JS: see docs/codec.md for the table. Lists (keys 0..n-1) become
 * arrays, other arrays and objects null-prototype objects (objects carry `__class`), enums
 * `{ __class, __case }`, Serializable `{ __class, __serialized }`, references unwrapped;
 * shared and cyclic structures keep their identity (or become `{ __ref }` in JSON mode).
 * Never throws for values the decoder produced.
 */
export function toPlain(value: PhpValue, options: PlainOptions = {}): unknown {
  const json = options.json === true;
  const bigintMode = options.bigint ?? (json ? 'string' : 'bigint');
  const binaryMode = options.binary ?? (json ? 'escaped' : 'buffer');
  const classKey = options.classKey ?? '__class';
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
      const o = newObject();
      put(o, classKey, v.className);
      put(o, '__case', v.caseName);
      return o;
    }
    if (v instanceof PhpSerializable) {
      const o = newObject();
      put(o, classKey, v.className);
      put(o, '__serialized', binary(v.data));
      return o;
    }
    const existing = made.get(v);
    if (existing !== undefined) {
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
      put(o, classKey, obj.className);
    }
  }
  return root;
}

/**
 * Converts plain JS to the value model exactly as serialize() reads it (strings, ints,
 * floats as PhpFloat, arrays/objects/Maps as PhpArray with PHP's key rule, Uint8Array as
 * string bytes, registered class instances as new instances). Throws EncodeError for what
 * serialize() refuses.
 */
export function fromPlain(value: unknown, options: { classes?: ClassRegistry } = {}): PhpValue {
  return unserializeBuffer(serializeValue(value, options), { classes: options.classes, maxDepth: Number.MAX_SAFE_INTEGER });
}
