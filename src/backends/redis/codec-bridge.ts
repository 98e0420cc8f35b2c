/**
 * The one place the Redis backend meets the codec: session bytes ⇄ PhpArray with the
 * configured serialize handler, always as bytes (Buffers), never through a JS string.
 */
import { decodeSession, encodeSession, type DecodeOptions, type SerializeHandler } from '../../codec/index.js';
import type { PhpArray } from '../../codec/values.js';

export type RedisSerializeHandler = SerializeHandler;
export type RedisDecodeOptions = Omit<DecodeOptions, 'source'>;

/** @throws DecodeError naming `source` (server + key) and the byte offset. */
export function decodeSessionBytes(bytes: Buffer, handler: SerializeHandler, source: string, options?: RedisDecodeOptions): PhpArray {
  return decodeSession(bytes, handler, { ...options, source });
}

/** @throws EncodeError when the handler cannot hold the data (nothing is written). */
export function encodeSessionBytes(data: PhpArray, handler: SerializeHandler): Buffer {
  return encodeSession(data, handler);
}
