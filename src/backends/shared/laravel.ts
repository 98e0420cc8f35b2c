/**
 * What the Laravel storage backends share. Laravel's session ids: Store::isValidId() accepts
 * exactly 40 alphanumerics (ctype_alnum) and Store::generateSessionId() makes Str::random(40).
 * Anything else Laravel replaces by a new id, so these backends refuse it before any storage
 * is touched (which also keeps `/`, `..` and NUL out of file names and keys).
 */
import { randomBytes } from 'node:crypto';
import { ConfigError, InvalidSessionIdError } from '../../errors.js';

const LARAVEL_ID = /^[A-Za-z0-9]{40}$/;
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export function isLaravelSessionId(id: unknown): id is string {
  return typeof id === 'string' && LARAVEL_ID.test(id);
}

/** @throws InvalidSessionIdError saying what Laravel expects. */
export function assertLaravelSessionId(id: string): void {
  if (!isLaravelSessionId(id)) throw new InvalidSessionIdError(typeof id === 'string' ? id : String(id), 'Laravel session ids are exactly 40 letters and digits');
}

/** Str::random(40): 40 characters from the 62 alphanumerics, uniformly (rejection sampling). */
export function generateLaravelSessionId(): string {
  return laravelRandomString(40);
}

/** Str::random($length): what Laravel's cache locks use as their owner (16 characters). */
export function laravelRandomString(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const b of randomBytes(length + 8)) {
      if (b < 248 && out.length < length) out += ALNUM[b % 62];
    }
  }
  return out;
}

/** Laravel's cache lock of a session (StartSession's `->block()`): `session:<id>` in the block store. */
export function laravelSessionLockName(id: string): string {
  return `session:${id}`;
}

/**
 * How an `encrypt => true` Laravel app seals its payloads (EncryptedStore); `sessctl/laravel`
 * makes one from APP_KEY.
 */
export type { PayloadCipher } from '../../session/admin.js';

/** The serialize handler of every Laravel store (serialize($attributes)). @throws ConfigError for another */
export function laravelHandler(requested: string | undefined, who: string): 'php_serialize' {
  if (requested !== undefined && requested !== 'php_serialize') {
    throw new ConfigError(`${who}: Laravel stores serialize($attributes), i.e. serializeHandler 'php_serialize'; got ${JSON.stringify(requested)}`);
  }
  return 'php_serialize';
}

/** SESSION_LIFETIME (minutes) → seconds, validated like gc_maxlifetime. */
export function lifetimeSeconds(minutes: number | undefined, seconds: number | undefined, who: string): number | undefined {
  if (minutes === undefined) return seconds;
  if (typeof minutes !== 'number' || !Number.isInteger(minutes) || minutes < 1 || minutes > 35791394) {
    throw new ConfigError(`${who}: lifetime must be a whole number of minutes ≥ 1, got ${String(minutes)}`);
  }
  return minutes * 60;
}
