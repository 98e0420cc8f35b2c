/**
 * How Laravel's RedisStore keeps a value: `serialize($value)` unless it is numeric. A session
 * payload (serialize($attributes), or EncryptedStore's base64 text) is never numeric, so the
 * stored value is always one serialized PHP string around the session: `s:<bytes>:"…";`.
 */
import { DecodeError } from '../../errors.js';

const HEAD = /^s:(\d{1,10}):"/;

/** serialize() of a PHP string holding `payload`. */
export function wrapCacheString(payload: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(`s:${payload.length}:"`, 'latin1'), payload, Buffer.from('";', 'latin1')]);
}

/**
 * The session payload inside a stored value.
 * @throws DecodeError naming `where` when the value is not one serialized string (written by
 *   something other than Laravel's RedisStore, or cut short).
 */
export function unwrapCacheString(stored: Uint8Array, where: string): Buffer {
  const buf = Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength);
  const head = HEAD.exec(buf.subarray(0, 16).toString('latin1'));
  const len = head ? Number(head[1]) : -1;
  const start = head ? head[0].length : 0;
  if (!head || buf.length !== start + len + 2 || buf.toString('latin1', start + len) !== '";') {
    throw new DecodeError("not a value of Laravel's Redis cache store (expected serialize() of the session string, s:<n>:\"…\";)", 0, where);
  }
  return buf.subarray(start, start + len);
}
