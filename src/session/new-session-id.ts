/**
 * Session id generation, apart from the rules in session-id.ts because it loads
 * node:crypto (which `sessctl inspect` must not pay for at start-up). Synchronous, so it
 * also serves APIs that need an id at once (express-session's `genid`).
 */
import { randomBytes } from 'node:crypto';
import { checkSidSettings, sessionIdFromBytes, type SessionIdOptions } from './session-id.js';
import { SessctlError } from '../errors.js';

/**
 * A new id exactly as PHP's php_session_create_id() makes one (it also reads `length`
 * random bytes, of which only the first ceil(length*bits/8) are used).
 * @throws ConfigError for a length outside 22..256 or bits other than 4/5/6.
 */
export function generateSessionId(options: SessionIdOptions = {}): string {
  const length = options.length ?? 32;
  const bits = options.bitsPerCharacter ?? 4;
  checkSidSettings(length, bits);
  return sessionIdFromBytes(randomBytes(length), length, bits);
}

/** How many fresh ids are tried before a broken random source is reported (PHP's files handler: 3 retries). */
export const ID_ATTEMPTS = 4;

/**
 * A fresh id that `inUse` says no session has: what every backend's `createId()` does.
 * `options` are PHP's id settings, or the generator of a framework's own ids (Laravel's).
 * @throws SessctlError (EIDCOLLISION) when {@link ID_ATTEMPTS} ids in a row were taken.
 */
export async function createUnusedId(options: SessionIdOptions | (() => string), inUse: (id: string) => Promise<boolean>): Promise<string> {
  for (let attempt = 0; attempt < ID_ATTEMPTS; attempt++) {
    const id = typeof options === 'function' ? options() : generateSessionId(options);
    if (!(await inUse(id))) return id;
  }
  throw new SessctlError(`could not create a session id that is not in use (${ID_ATTEMPTS} collisions)`, 'EIDCOLLISION');
}
