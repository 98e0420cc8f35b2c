/**
 * A synchronous PHP-style session id generator, for APIs that need an id at once
 * (express-session's `genid` is synchronous, SessionBackend.createId() is not).
 */
import { randomBytes } from 'node:crypto';
import { ConfigError } from '../errors.js';

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ,-';

export interface SessionIdOptions {
  /** session.sid_length, 22..256, default 32. */
  length?: number;
  /** session.sid_bits_per_character, 4, 5 or 6, default 4. */
  bitsPerCharacter?: 4 | 5 | 6;
}

/**
 * A fresh random id from PHP's alphabet (the first 2^bits characters), as PHP's
 * session_create_id() makes them. 128+ bits of entropy with the defaults.
 * @throws ConfigError for a length outside 22..256 or bits other than 4, 5, 6.
 */
export function phpSessionId(options: SessionIdOptions = {}): string {
  const length = options.length ?? 32;
  const bits = options.bitsPerCharacter ?? 4;
  if (!Number.isInteger(length) || length < 22 || length > 256) throw new ConfigError(`sid length must be 22..256, got ${length}`);
  if (bits !== 4 && bits !== 5 && bits !== 6) throw new ConfigError(`sid bits per character must be 4, 5 or 6, got ${String(bits)}`);
  const bytes = randomBytes(Math.ceil((length * bits) / 8));
  const mask = (1 << bits) - 1;
  let out = '';
  let acc = 0;
  let have = 0;
  let i = 0;
  // Bits are taken least significant first, as PHP's bin_to_readable() does.
  while (out.length < length) {
    if (have < bits) {
      acc |= bytes[i++]! << have;
      have += 8;
    }
    out += ALPHABET[acc & mask];
    acc >>>= bits;
    have -= bits;
  }
  return out;
}
