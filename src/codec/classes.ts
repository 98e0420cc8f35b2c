/**
 * Opt-in mapping between PHP classes and JS classes. Without a registry the codec never
 * instantiates anything: objects stay {@link PhpObject}.
 */
import { EncodeError } from '../errors.js';
import { PhpArray, parsePropertyName, type PhpKey, type PhpValue } from './values.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type JsClass<T extends object = object> = abstract new (...args: any[]) => T;

/** How one PHP class maps to one JS class. */
export interface PhpClassMapping<T extends object = object> {
  /** The PHP class name written on encode (PHP matches class names case-insensitively on decode). */
  phpClass: string;
  /** Decoded instances are `Object.create(jsClass.prototype)`: the constructor is NOT run. */
  jsClass: JsClass<T>;
  /**
   * Fills a freshly created instance from the serialized properties (names as serialized,
   * mangled for private/protected). Default: assigns each property under its demangled name.
   */
  fromPhp?: (instance: T, props: PhpArray, className: string) => void;
  /**
   * The properties to serialize (keys are written as given, so mangled names keep visibility).
   * Default: the instance's own enumerable properties, with the visibility they were decoded with.
   */
  toPhp?: (instance: T) => PhpArray | Map<PhpKey, unknown> | Record<string, unknown>;
}

/** Remembers how a decoded mapped instance was spelled, so it re-encodes byte for byte. */
interface DecodedShape {
  className: string;
  /** demangled name → serialized name */
  names: Map<string, PhpKey>;
}
const decodedShapes = new WeakMap<object, DecodedShape>();

/** A set of PHP ↔ JS class mappings; pass it as `classes` to the decoder and encoder. */
export class ClassRegistry {
  private readonly byName = new Map<string, PhpClassMapping>();
  private readonly byClass = new Map<JsClass, PhpClassMapping>();

  /** Registers `jsClass` for `phpClass` (or a full mapping). Throws TypeError on a bad argument. */
  register<T extends object>(phpClass: string, jsClass: JsClass<T>, hooks?: Pick<PhpClassMapping<T>, 'fromPhp' | 'toPhp'>): this;
  register<T extends object>(mapping: PhpClassMapping<T>): this;
  register<T extends object>(
    a: string | PhpClassMapping<T>,
    jsClass?: JsClass<T>,
    hooks?: Pick<PhpClassMapping<T>, 'fromPhp' | 'toPhp'>,
  ): this {
    const mapping = (typeof a === 'string' ? { phpClass: a, jsClass, ...hooks } : a) as PhpClassMapping;
    if (typeof mapping.phpClass !== 'string' || !/^[A-Za-z_\x80-\uffff][\w\x80-\uffff]*(\\[A-Za-z_\x80-\uffff][\w\x80-\uffff]*)*$/.test(mapping.phpClass)) {
      throw new TypeError(`not a valid PHP class name: ${String(mapping.phpClass)}`);
    }
    if (typeof mapping.jsClass !== 'function' || !mapping.jsClass.prototype) throw new TypeError('jsClass must be a class');
    this.byName.set(mapping.phpClass.toLowerCase(), mapping);
    this.byClass.set(mapping.jsClass, mapping);
    return this;
  }

  /** The mapping for a PHP class name (case-insensitive), if registered. */
  forPhpClass(name: string): PhpClassMapping | undefined {
    return this.byName.size === 0 ? undefined : this.byName.get(name.toLowerCase());
  }

  /** The mapping for a JS object (by its exact constructor), if registered. */
  forInstance(obj: object): PhpClassMapping | undefined {
    if (this.byClass.size === 0) return undefined;
    const proto = Object.getPrototypeOf(obj) as { constructor?: unknown } | null;
    const ctor = proto && Object.prototype.hasOwnProperty.call(proto, 'constructor') ? proto.constructor : undefined;
    return typeof ctor === 'function' ? this.byClass.get(ctor as JsClass) : undefined;
  }
}

/** Decoder side: a blank instance, constructor not run. */
export function createMappedInstance(mapping: PhpClassMapping): object {
  return Object.create(mapping.jsClass.prototype as object) as object;
}

/** Decoder side: fills the instance once its properties are read. */
export function fillMappedInstance(mapping: PhpClassMapping, instance: object, props: PhpArray, className: string): void {
  if (mapping.fromPhp) {
    mapping.fromPhp(instance, props, className);
    return;
  }
  const names = new Map<string, PhpKey>();
  for (const [key, value] of props) {
    const name = parsePropertyName(key).name;
    names.set(name, key);
    // defineProperty: a property called __proto__ must stay an own data property.
    Object.defineProperty(instance, name, { value, writable: true, enumerable: true, configurable: true });
  }
  decodedShapes.set(instance, { className, names });
}

/** Encoder side: the class name and the properties to write. */
export function mappedInstanceProps(mapping: PhpClassMapping, instance: object): { className: string; props: Iterable<[PhpKey, unknown]>; size: number } {
  const shape = decodedShapes.get(instance);
  const className = shape?.className ?? mapping.phpClass;
  if (mapping.toPhp) {
    const out = mapping.toPhp(instance);
    if (out instanceof Map) return { className, props: out, size: out.size };
    if (out === null || typeof out !== 'object') throw new EncodeError(`toPhp() of ${mapping.phpClass} must return a Map or an object`);
    const keys = Object.keys(out);
    return { className, props: keys.map((k) => [k, (out as Record<string, unknown>)[k]] as [PhpKey, unknown]), size: keys.length };
  }
  const keys = Object.keys(instance);
  const props = keys.map((k) => [shape?.names.get(k) ?? k, (instance as Record<string, unknown>)[k]] as [PhpKey, unknown]);
  return { className, props, size: keys.length };
}

export type { PhpValue };
