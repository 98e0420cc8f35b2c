/**
 * php-memcached's session lock (php_memcached_session.c, `memcached.sess_locking = On`), spoken
 * as PHP speaks it so that PHP and Node exclude each other:
 *
 * - lock key = `sess_prefix` + `lock.` + id, hashed (server choice) as `lock.` + id;
 * - acquire: ADD of the value `1` with the lock expiry (`sess_lock_expire`, 0 = PHP's
 *   max_execution_time; past 30 days memcached wants an absolute time, so PHP sends now + n);
 *   "exists"/"not stored" is retried `sess_lock_retries` times, sleeping `sess_lock_wait_min`
 *   ms first and doubling up to `sess_lock_wait_max`;
 * - release: DELETE of the lock key.
 *
 * Where we do more than PHP, it only ever makes Node more careful: our DELETE carries the CAS
 * value our ADD got, so a lock that expired and was taken by someone else is never deleted by
 * us; and before writing, the lock's CAS is read back and the write refused when it is no
 * longer ours (PHP writes blindly).
 */
import { BackendError, LockTimeoutError } from '../../errors.js';
import type { MemcachedConnection } from '../shared/memcached/connection.js';
import { OP, STATUS, statusText, storeExtras } from '../shared/memcached/protocol.js';

export const LOCK_KEY_PREFIX = 'lock.';
const LOCK_VALUE = Buffer.from('1');
/** memcached reads an expiry above 30 days as a unix time. */
export const REALTIME_MAXDELTA = 60 * 60 * 24 * 30;

/** PHP's s_adjust_expiration(): relative seconds, or now + n beyond 30 days. */
export function memcachedExpiry(seconds: number, nowMs = Date.now()): number {
  if (seconds <= 0) return 0;
  return seconds <= REALTIME_MAXDELTA ? seconds : Math.floor(nowMs / 1000) + seconds;
}

export interface LockSettings {
  /** `memcached.sess_lock_expire` in seconds; 0 = the lock never expires. */
  expireSeconds: number;
  /** `memcached.sess_lock_wait_min` / `_max` in ms. */
  waitMinMs: number;
  waitMaxMs: number;
  /** `memcached.sess_lock_retries`: attempts after the first. */
  retries: number;
  /** Instead of counting retries: keep trying until this many ms have passed (OpenOptions.lockTimeoutMs). */
  timeoutMs?: number;
}

/** Where a lock lives: the server chosen for `lock.<id>`, and the prefixed key. */
export interface LockPlace {
  conn: MemcachedConnection;
  key: Buffer;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function failure(place: LockPlace, what: string, status: number): BackendError {
  return new BackendError(`${place.conn.label} ${place.key.toString('latin1')}: ${what} failed: ${statusText(status)}`, 'EBACKEND');
}

/**
 * Takes the lock; resolves with the CAS value of our lock item (its identity).
 * @throws LockTimeoutError when every attempt found it held; BackendError when memcached fails.
 */
export async function acquireLock(place: LockPlace, s: LockSettings): Promise<bigint> {
  const started = Date.now();
  let wait = s.waitMinMs;
  for (let attempt = 0; ; attempt++) {
    const r = await place.conn.request({ opcode: OP.ADD, key: place.key, extras: storeExtras(memcachedExpiry(s.expireSeconds)), value: LOCK_VALUE });
    if (r.status === STATUS.OK) return r.cas;
    if (r.status !== STATUS.EXISTS && r.status !== STATUS.NOT_STORED) throw failure(place, 'taking the session lock', r.status);
    const more = s.timeoutMs !== undefined ? Date.now() - started < s.timeoutMs : attempt < s.retries;
    if (!more) break;
    await sleep(s.timeoutMs !== undefined ? Math.min(wait, Math.max(1, s.timeoutMs - (Date.now() - started))) : wait);
    wait = Math.min(s.waitMaxMs, wait * 2);
  }
  const budget = s.timeoutMs ?? lockWaitBudgetMs(s);
  throw new LockTimeoutError(`${place.conn.label} ${place.key.toString('latin1')}`, budget);
}

/** How long PHP's retry loop waits in total. */
export function lockWaitBudgetMs(s: LockSettings): number {
  let total = 0;
  let wait = s.waitMinMs;
  for (let i = 0; i < s.retries; i++) {
    total += wait;
    wait = Math.min(s.waitMaxMs, wait * 2);
  }
  return total;
}

/**
 * Deletes our lock — only if it is still ours (CAS). False when it had expired or was taken.
 * @throws BackendError when memcached fails.
 */
export async function releaseLock(place: LockPlace, cas: bigint): Promise<boolean> {
  const r = await place.conn.request({ opcode: OP.DELETE, key: place.key, cas });
  if (r.status === STATUS.OK) return true;
  if (r.status === STATUS.NOT_FOUND || r.status === STATUS.EXISTS) return false;
  throw failure(place, 'releasing the session lock', r.status);
}

/**
 * Throws unless the lock item is still the one we added.
 * @throws BackendError ELOCKLOST (nothing must be written), or on failure.
 */
export async function assertLockHeld(place: LockPlace, cas: bigint, sessionLabel: string, what: string): Promise<void> {
  const r = await place.conn.request({ opcode: OP.GET, key: place.key });
  if (r.status === STATUS.OK && r.cas === cas) return;
  if (r.status !== STATUS.OK && r.status !== STATUS.NOT_FOUND) throw failure(place, 'checking the session lock', r.status);
  throw new BackendError(
    `${sessionLabel}: ${what} refused: our session lock expired or was taken by another request in the meantime (nothing was written; raise memcached.sess_lock_expire / lockExpireSeconds if requests run that long)`,
    'ELOCKLOST',
  );
}
