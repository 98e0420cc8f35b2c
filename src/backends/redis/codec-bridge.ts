/**
 * The one place the Redis backend meets the codec: session bytes ⇄ PhpArray with the
 * configured serialize handler, always as bytes (Buffers), never through a JS string.
 */
import * as codec from '../../codec/index.js';
import type { PhpArray } from '../../codec/values.js';
import { SessctlError } from '../../errors.js';

export type RedisSerializeHandler = 'php' | 'php_serialize' | 'php_binary';
export type RedisDecodeOptions = Record<string, unknown>;

type DecodeFn = (bytes: Uint8Array, handler: RedisSerializeHandler, options?: Record<string, unknown>) => PhpArray;
type EncodeFn = (data: PhpArray, handler: RedisSerializeHandler) => Uint8Array;

function codecFn<T>(name: string): T {
  const fn = (codec as Record<string, unknown>)[name];
  if (typeof fn !== 'function') throw new SessctlError(`the session codec (${name}) is not available in this build`, 'ENOCODEC');
  return fn as T;
}

/** @throws DecodeError naming `source` and the byte offset. */
export function decodeSessionBytes(bytes: Buffer, handler: RedisSerializeHandler, source: string, options?: RedisDecodeOptions): PhpArray {
  return codecFn<DecodeFn>('decodeSession')(bytes, handler, { ...options, source });
}

/** @throws EncodeError when the handler cannot hold the data. */
export function encodeSessionBytes(data: PhpArray, handler: RedisSerializeHandler): Buffer {
  const out = codecFn<EncodeFn>('encodeSession')(data, handler);
  return Buffer.isBuffer(out) ? out : Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}
