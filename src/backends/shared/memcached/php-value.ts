/**
 * How the php-memcached extension's `Memcached` class (not its session handler) stores a value:
 * the item's 32-bit flags say what it is and how it is packed (php_memcached.c):
 *
 * - bits 0–3, the type: 0 string (the bytes as they are), 1 int, 2 float, 3 bool, 4 PHP
 *   serialize(), 5 igbinary, 6 JSON, 7 msgpack;
 * - bits 4–7, compression: 0x10 compressed, with 0x20 zlib, 0x40 fastlz (the default
 *   `memcached.compression_type`), 0x80 zstd. A compressed value is the original length as a
 *   native-endian (little-endian on every platform PHP ships on here) uint32, then the data.
 *   Strings of `memcached.compression_threshold` bytes (2000) or more are compressed, and kept
 *   compressed only when that saves enough (`compression_factor` 1.3);
 * - bits 16–31: user flags (ignored here).
 *
 * Laravel's MemcachedStore hands strings to Memcached::set(), so a Laravel session is type 0,
 * compressed once it reaches 2000 bytes. Node writes type 0 uncompressed, which PHP reads as is.
 */
import { inflateSync } from 'node:zlib';
import { BackendError, DecodeError } from '../../../errors.js';
import { SESSION_DEFAULTS } from '../../../session/settings.js';

const TYPE_MASK = 0x0f;
const COMPRESSED = 0x10;
const ZLIB = 0x20;
const FASTLZ = 0x40;
const ZSTD = 0x80;
const TYPES = ['string', 'int', 'float', 'bool', 'serialize()d value', 'igbinary value', 'JSON value', 'msgpack value'];

/**
 * The PHP string held by an item (decompressed).
 * @throws DecodeError naming `where` for another PHP type, an unknown compression, or data that
 *   does not decompress to the announced length; BackendError ETOOBIG when it announces more than
 *   `maxBytes` (nothing is allocated for it).
 */
export function phpMemcachedString(value: Buffer, flags: number, where: string, maxBytes = SESSION_DEFAULTS.maxBytes): Buffer {
  const type = flags & TYPE_MASK;
  if (type !== 0) throw new DecodeError(`php-memcached stored a ${TYPES[type] ?? `value of type ${type}`} here, not a string (flags 0x${flags.toString(16)})`, 0, where);
  if (!(flags & COMPRESSED)) return value;
  if (value.length < 4) throw new DecodeError('compressed value shorter than its length header', 0, where);
  const length = value.readUInt32LE(0);
  if (length > maxBytes) throw new BackendError(`${where}: decompresses to ${length} bytes, above the ${maxBytes}-byte limit (maxBytes)`, 'ETOOBIG');
  const data = value.subarray(4);
  let out: Buffer;
  if (flags & FASTLZ) out = fastlzDecompress(data, length, where);
  else if (flags & ZLIB) {
    try {
      out = inflateSync(data, { maxOutputLength: Math.max(1, length) });
    } catch (err) {
      throw new DecodeError(`zlib data does not decompress (${(err as Error).message})`, 4, where);
    }
  } else if (flags & ZSTD) throw new DecodeError('zstd-compressed value (memcached.compression_type = zstd) is not supported; use fastlz or zlib', 0, where);
  else throw new DecodeError(`compressed with an unknown method (flags 0x${flags.toString(16)})`, 0, where);
  if (out.length !== length) throw new DecodeError(`decompressed to ${out.length} bytes, the header announced ${length}`, 4, where);
  return out;
}

/**
 * FastLZ (levels 1 and 2, the level in the top 3 bits of the first byte) into at most `max` bytes.
 * A block is either a literal run (control < 32: control + 1 bytes follow) or a back-reference
 * (length in the top 3 bits, 7 meaning more length bytes follow; distance in the low 5 bits and
 * the next byte; level 2 adds a 16-bit far distance).
 */
export function fastlzDecompress(input: Buffer, max: number, where = 'fastlz'): Buffer {
  const bad = (what: string, at: number) => new DecodeError(`fastlz data is corrupt (${what})`, 4 + at, where);
  if (input.length === 0) throw bad('empty', 0);
  const level = (input[0]! >> 5) + 1;
  if (level !== 1 && level !== 2) throw bad(`level ${level}`, 0);
  const out = Buffer.alloc(max);
  let ip = 0;
  let op = 0;
  let ctrl = input[ip++]! & 31;
  for (;;) {
    if (ctrl >= 32) {
      let len = (ctrl >> 5) - 1;
      let back = (ctrl & 31) << 8;
      if (len === 6) {
        if (level === 1) len += input[ip++] ?? 0;
        else {
          let code: number;
          do {
            if (ip >= input.length) throw bad('length runs past the end', ip);
            code = input[ip++]!;
            len += code;
          } while (code === 255);
        }
      }
      if (ip >= input.length) throw bad('distance runs past the end', ip);
      const code = input[ip++]!;
      back += code;
      if (level === 2 && code === 255 && (ctrl & 31) === 31) {
        if (ip + 2 > input.length) throw bad('far distance runs past the end', ip);
        back = ((input[ip]! << 8) | input[ip + 1]!) + 8191;
        ip += 2;
      }
      let ref = op - back - 1;
      const n = len + 3;
      if (ref < 0) throw bad('reference before the start', ip);
      if (op + n > max) throw bad('output longer than announced', ip);
      for (let i = 0; i < n; i++) out[op++] = out[ref++]!;
    } else {
      const n = ctrl + 1;
      if (ip + n > input.length) throw bad('literal runs past the end', ip);
      if (op + n > max) throw bad('output longer than announced', ip);
      input.copy(out, op, ip, ip + n);
      ip += n;
      op += n;
    }
    if (ip >= input.length) break;
    ctrl = input[ip++]!;
  }
  return out.subarray(0, op);
}
