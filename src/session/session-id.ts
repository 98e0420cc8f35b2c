/**
 * Session ids as PHP's session.c checks them: the alphabet, the validity rule, the
 * sid_length / sid_bits_per_character limits and the bytes → id mapping. Imports nothing
 * but the error classes, so that `sessctl inspect` can validate ids without loading
 * node:crypto; generation (random bytes) lives in new-session-id.ts.
 */
import { ConfigError, InvalidSessionIdError } from '../errors.js';

/** PHP's id alphabet; `sid_bits_per_character` = b uses its first 2^b characters. */
export const SID_ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ,-';

/** PHP's PS_MAX_SID_LENGTH. */
export const MAX_SESSION_ID_LENGTH = 256;
export const MIN_SID_LENGTH = 22;

export type SidBitsPerCharacter = 4 | 5 | 6;

/** php.ini's id settings, as generateSessionId() takes them. */
export interface SessionIdOptions {
  /** session.sid_length, 22..256, default 32. */
  length?: number;
  /** session.sid_bits_per_character, 4, 5 or 6, default 4. */
  bitsPerCharacter?: SidBitsPerCharacter;
}

const VALID_ID = /^[A-Za-z0-9,-]+$/;

function idProblem(id: unknown, depth: number): string | null {
  if (typeof id !== 'string') return `not a string (${typeof id})`;
  if (id.length === 0) return 'empty';
  if (id.length > MAX_SESSION_ID_LENGTH) return `longer than ${MAX_SESSION_ID_LENGTH} characters`;
  if (!VALID_ID.test(id)) return 'only A-Z, a-z, 0-9, "," and "-" are allowed';
  if (id.length <= depth) return `must be longer than the save path depth ${depth}`;
  return null;
}

/**
 * PHP's php_session_valid_key() plus the files handler's rule that the id is longer than
 * the directory depth. This is also what keeps `/`, `..` and NUL out of file paths.
 */
export function isValidSessionId(id: string, depth = 0): boolean {
  return idProblem(id, depth) === null;
}

/** @throws InvalidSessionIdError saying what is wrong with the id. */
export function assertValidSessionId(id: string, depth = 0): void {
  const problem = idProblem(id, depth);
  if (problem !== null) throw new InvalidSessionIdError(typeof id === 'string' ? id : String(id), problem);
}

/** @throws ConfigError when the length or bits are outside what PHP accepts. */
export function checkSidSettings(length: number, bitsPerCharacter: number): void {
  if (!Number.isInteger(length) || length < MIN_SID_LENGTH || length > MAX_SESSION_ID_LENGTH) {
    throw new ConfigError(`session.sid_length ${length} is invalid (PHP accepts ${MIN_SID_LENGTH}..${MAX_SESSION_ID_LENGTH})`);
  }
  if (bitsPerCharacter !== 4 && bitsPerCharacter !== 5 && bitsPerCharacter !== 6) {
    throw new ConfigError(`session.sid_bits_per_character ${bitsPerCharacter} is invalid (PHP accepts 4, 5 or 6)`);
  }
}

/**
 * PHP's bin_to_readable(): bytes are consumed least significant bit first, `bits` bits per
 * character, each chunk indexing SID_ALPHABET. Exposed so the mapping can be checked
 * against known bytes; generateSessionId() (new-session-id.ts) feeds it crypto-random bytes.
 */
export function sessionIdFromBytes(bytes: Uint8Array, length: number, bitsPerCharacter: SidBitsPerCharacter): string {
  const mask = (1 << bitsPerCharacter) - 1;
  let acc = 0;
  let have = 0;
  let p = 0;
  let out = '';
  for (let i = 0; i < length; i++) {
    if (have < bitsPerCharacter) {
      if (p >= bytes.length) throw new RangeError(`${bytes.length} random bytes are not enough for ${length} characters`);
      acc |= bytes[p++]! << have;
      have += 8;
    }
    out += SID_ALPHABET[acc & mask];
    acc >>>= bitsPerCharacter;
    have -= bitsPerCharacter;
  }
  return out;
}
