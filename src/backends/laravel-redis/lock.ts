/**
 * Laravel's cache lock on Redis (Illuminate\Cache\RedisLock / PhpRedisLock), the lock a route
 * with `->block()` takes around its request (StartSession::handleRequestWhileBlocking):
 *
 * - key: the connection's OPT_PREFIX + the cache store's prefix + `:` + `session:<id>`;
 * - value: the owner, Str::random() (16 alphanumerics), one per lock;
 * - acquire: `SET key owner EX <seconds> NX` (seconds = the route's `block($lockSeconds)`,
 *   default 10), retried every 50 ms until the wait (default 10 s) is over;
 * - release: compare-and-delete by Lua (GET == owner → DEL), so only one's own lock goes.
 *
 * Node takes it the same way, and every write it makes under the lock is conditional on still
 * owning it (one script): a lock that expired and was taken by a Laravel request never lets a
 * stale write from Node through.
 */
import { BackendError, LockTimeoutError } from '../../errors.js';
import type { CommandTarget } from '../shared/redis/connection.js';
import { laravelRandomString } from '../shared/laravel.js';

/** The release script, as Illuminate\Cache\LuaScripts::releaseLock() has it. */
export const RELEASE_SCRIPT = 'if redis.call("get",KEYS[1]) == ARGV[1] then return redis.call("del",KEYS[1]) else return 0 end';

/**
 * One change to the session key, made only while the lock holds our owner value.
 * KEYS = session key, lock key; ARGV = owner, op (set / expire / keep: SET KEEPTTL / del), ttl, value.
 * Returns -1 when the lock is not ours.
 */
const IF_OWNED_SCRIPT =
  'if redis.call("get",KEYS[2]) ~= ARGV[1] then return -1 end ' +
  'if ARGV[2] == "set" then redis.call("setex",KEYS[1],ARGV[3],ARGV[4]) return 1 end ' +
  'if ARGV[2] == "expire" then return redis.call("expire",KEYS[1],ARGV[3]) end ' +
  'if ARGV[2] == "keep" then redis.call("set",KEYS[1],ARGV[4],"KEEPTTL") return 1 end ' +
  'return redis.call("del",KEYS[1])';

export interface CacheLockSettings {
  /** How long the lock lives if its holder never releases it (Laravel's `lockFor`, default 10 s). */
  seconds: number;
  /** How long to wait for it. */
  timeoutMs: number;
  /** Pause between attempts (Laravel's betweenBlockedAttemptsSleepFor(50)). */
  pollMs: number;
}

/** A fresh owner value, of the shape Laravel's own owners have. */
export function newOwner(): string {
  return laravelRandomString(16);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Takes the lock or throws.
 * @throws LockTimeoutError (target = the lock key) when it stayed held for `timeoutMs`;
 *   BackendError when Redis fails.
 */
export async function acquireCacheLock(target: CommandTarget, lockKey: Buffer, owner: string, s: CacheLockSettings): Promise<void> {
  const started = Date.now();
  for (;;) {
    const reply = await target.send(['SET', lockKey, owner, 'EX', String(s.seconds), 'NX'], lockKey);
    if (reply !== null && reply !== undefined) return;
    const left = s.timeoutMs - (Date.now() - started);
    if (left <= 0) throw new LockTimeoutError(`${target.label} ${lockKey.toString('latin1')}`, s.timeoutMs);
    await sleep(Math.min(s.pollMs, left));
  }
}

/** Compare-and-delete; false when the lock had expired or is someone else's. @throws BackendError */
export async function releaseCacheLock(target: CommandTarget, lockKey: Buffer, owner: string): Promise<boolean> {
  return Number(await target.send(['EVAL', RELEASE_SCRIPT, '1', lockKey, owner], lockKey)) === 1;
}

/**
 * SETEX / EXPIRE / DEL of the session key, only while `owner` holds the lock.
 * Returns the command's reply (EXPIRE, DEL: 1 when the key was there).
 * @throws BackendError ELOCKLOST when the lock is no longer ours (nothing changed).
 */
export async function ifOwned(
  target: CommandTarget,
  key: Buffer,
  lockKey: Buffer,
  owner: string,
  op: 'set' | 'expire' | 'keep' | 'del',
  ttlSeconds = 0,
  value: Buffer = Buffer.alloc(0),
): Promise<number> {
  const reply = Number(await target.send(['EVAL', IF_OWNED_SCRIPT, '2', key, lockKey, owner, op, String(ttlSeconds), value], key));
  if (reply === -1) throw lockLost(target, key, lockKey);
  return reply;
}

/** @throws BackendError ELOCKLOST unless `owner` holds the lock on `lockTarget`. */
export async function assertOwned(lockTarget: CommandTarget, key: Buffer, lockKey: Buffer, owner: string): Promise<void> {
  const held = (await lockTarget.send(['GET', lockKey], lockKey)) as Buffer | null;
  if (held === null || held.toString('latin1') !== owner) throw lockLost(lockTarget, key, lockKey);
}

function lockLost(target: CommandTarget, key: Buffer, lockKey: Buffer): BackendError {
  return new BackendError(
    `${target.label} ${key.toString('latin1')}: refused: our session lock ${lockKey.toString('latin1')} expired or was taken by another request (nothing was changed; raise lockSeconds if Node holds sessions that long)`,
    'ELOCKLOST',
  );
}
