/**
 * Session id generation, apart from the rules in session-id.ts because it loads
 * node:crypto (which `sessctl inspect` must not pay for at start-up). Synchronous, so it
 * also serves APIs that need an id at once (express-session's `genid`).
 */
import { randomBytes } from 'node:crypto';
import { checkSidSettings, sessionIdFromBytes, type SessionIdOptions } from './session-id.js';

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
