/**
 * sessctl codec: PHP's serialize() format and the three session serialize handlers.
 * Entry point of src/codec — see decoder.ts, encoder.ts, session.ts, plain.ts, classes.ts.
 *
 * Decode functions accept a Uint8Array/Buffer, or a string read as latin1 (one char = one
 * byte, as when data was read as a "binary" string); a string with a char above U+00FF is
 * refused with a DecodeError rather than silently mangled.
 */
import { toInputBuffer, unserializeBuffer, type DecodeOptions } from './decoder.js';
import { serializeValue, type EncodeOptions } from './encoder.js';
import { decodeSessionBuffer, detectHandlerBuffer, encodeSessionBuffer, type SerializeHandler } from './session.js';
import { igbinarySerializeValue, igbinaryUnserializeBuffer, type IgbinaryEncodeOptions } from './igbinary.js';
import { msgpackPackValue, msgpackUnpackBuffer, type MsgpackEncodeOptions } from './msgpack.js';
import type { PhpArray, PhpKey, PhpValue } from './values.js';

export {
  PhpArray,
  PhpFloat,
  PhpObject,
  PhpSerializable,
  PhpEnum,
  PhpReference,
  canonicalKey,
  parsePropertyName,
  mangledPropertyName,
  type PhpKey,
  type PhpValue,
  type Visibility,
} from './values.js';
export { formatPhpFloat } from './float.js';
export { ClassRegistry, type PhpClassMapping, type JsClass } from './classes.js';
export { toPlain, fromPlain, type PlainOptions } from './plain.js';
export { SERIALIZE_HANDLERS, type SerializeHandler } from './session.js';
export { DEFAULT_MAX_DEPTH, type DecodeOptions } from './decoder.js';
export type { EncodeOptions } from './encoder.js';
export type { IgbinaryEncodeOptions } from './igbinary.js';
export type { MsgpackEncodeOptions } from './msgpack.js';

/** What encodeSession accepts: a PhpArray, a Map or a plain object of session keys. */
export type SessionInput = PhpArray | Map<PhpKey, unknown> | Record<string, unknown>;

/**
 * PHP's unserialize(): one value, the whole input. Throws DecodeError (with the byte offset)
 * on any malformed, truncated, trailing or too-deep input. The value is a {@link PhpValue};
 * like `JSON.parse` it is typed `any` unless you name what you expect
 * (`unserialize<PhpArray>(bytes)`, or `unserialize<PhpValue>(bytes)` to narrow it yourself).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function unserialize<T = any>(bytes: Uint8Array | string, options?: DecodeOptions): T {
  return unserializeBuffer(toInputBuffer(bytes, options?.source), options) as T;
}

/**
 * PHP's serialize() of a PhpValue or plain JS value, as a Buffer. Throws EncodeError for
 * values PHP cannot hold (functions, symbols, unregistered class instances, Dates, ints
 * beyond 64 bits, arrays that contain themselves).
 */
export function serialize(value: unknown, options?: EncodeOptions): Buffer {
  return serializeValue(value, options);
}

/** igbinary_unserialize() (php-igbinary 3.2): one header and one value, the whole input. Throws DecodeError like unserialize(). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function igbinaryUnserialize<T = any>(bytes: Uint8Array | string, options?: DecodeOptions): T {
  return igbinaryUnserializeBuffer(toInputBuffer(bytes, options?.source), options) as T;
}

/** igbinary_serialize() (php-igbinary 3.2) of a PhpValue or plain JS value. Throws EncodeError like serialize(). */
export function igbinarySerialize(value: unknown, options?: IgbinaryEncodeOptions): Buffer {
  return igbinarySerializeValue(value, options);
}

/** msgpack_unpack() (php-msgpack 2.x): one value, the whole input. Throws DecodeError like unserialize(). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function msgpackUnpack<T = any>(bytes: Uint8Array | string, options?: DecodeOptions): T {
  return msgpackUnpackBuffer(toInputBuffer(bytes, options?.source), options) as T;
}

/** msgpack_pack() (php-msgpack 2.x) of a PhpValue or plain JS value. Throws EncodeError like serialize(). */
export function msgpackPack(value: unknown, options?: MsgpackEncodeOptions): Buffer {
  return msgpackPackValue(value, options);
}

/**
 * PHP's session_decode() for a serialize_handler. Throws DecodeError where PHP fails,
 * ConfigError for an unknown handler.
 */
export function decodeSession(bytes: Uint8Array | string, handler: SerializeHandler, options?: DecodeOptions): PhpArray {
  return decodeSessionBuffer(toInputBuffer(bytes, options?.source), handler, options);
}

/**
 * PHP's session_encode() for a serialize_handler. Throws EncodeError (naming the key) for
 * anything PHP would drop or mangle, ConfigError for an unknown handler.
 */
export function encodeSession(session: SessionInput, handler: SerializeHandler, options?: EncodeOptions): Buffer {
  return encodeSessionBuffer(session, handler, options);
}

/** Best guess at the handler that wrote `bytes`, or null. Never throws on bad data. */
export function detectHandler(bytes: Uint8Array | string): SerializeHandler | null {
  try {
    return detectHandlerBuffer(toInputBuffer(bytes));
  } catch {
    return null;
  }
}

/** A decoder with its options held (maxDepth, classes, source). */
export class Decoder {
  constructor(readonly options: DecodeOptions = {}) {}
  /** See {@link unserialize}. */
  unserialize(bytes: Uint8Array | string): PhpValue {
    return unserialize(bytes, this.options);
  }
  /** See {@link decodeSession}. */
  decodeSession(bytes: Uint8Array | string, handler: SerializeHandler): PhpArray {
    return decodeSession(bytes, handler, this.options);
  }
}

/** An encoder with its options held (classes). */
export class Encoder {
  constructor(readonly options: EncodeOptions = {}) {}
  /** See {@link serialize}. */
  serialize(value: unknown): Buffer {
    return serialize(value, this.options);
  }
  /** See {@link encodeSession}. */
  encodeSession(session: SessionInput, handler: SerializeHandler): Buffer {
    return encodeSession(session, handler, this.options);
  }
}
