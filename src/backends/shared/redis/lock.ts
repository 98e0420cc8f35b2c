/**
 * phpredis's session lock (redis_session.c, `redis.session.locking_enabled=1`), spoken exactly
 * as PHP speaks it so that PHP and Node exclude each other:
 *
 * - lock key = session key + `_LOCK`;
 * - acquire: `SET <lock key> <secret> NX PX <lock_expire * 1000>` (no PX when lock_expire is 0),
 *   tried 1 + lock_retries times (-1 = forever), lock_wait_time µs apart;
 * - release: compare-and-delete (`GET == secret → DEL`) by Lua, so only our own lock goes;
 * - before writing, phpredis re-reads the lock and refuses to write when it no longer holds the
 *   secret. We do the check and the SETEX in one Lua script, so nobody can slip in between —
 *   except on a cluster (`target.sharded`), where the two keys may live on different nodes and
 *   no script may touch both: there the check is a GET just before the write, as in phpredis.
 *
 * PHP's secret is `hostname|pid` — unique per PHP worker, which handles one request at a time.
 * A Node process serves many requests at once, so ours adds a random part per lock.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { BackendError, LockTimeoutError } from '../../../errors.js';
import type { CommandTarget } from './connection.js';

export const LOCK_SUFFIX = '_LOCK';

/** The same script phpredis sends (its SHA1 is b70c2384248f88e6b75b9f89241a180f856ad852). */
export const LOCK_RELEASE_SCRIPT =
  'if redis.call("get",KEYS[1]) == ARGV[1] then return redis.call("del",KEYS[1]) else return 0 end';

/** SETEX only while we still hold the lock: KEYS = session key, lock key; ARGV = secret, ttl, data. */
const WRITE_IF_LOCKED_SCRIPT =
  'if redis.call("get",KEYS[2]) == ARGV[1] then redis.call("setex",KEYS[1],ARGV[2],ARGV[3]) return 1 else return 0 end';

/**
 * SETEX and release in one step, only while we hold the lock (the end of a request: one round
 * trip instead of two). KEYS = session key, lock key; ARGV = secret, ttl, data (ttl '' = EXPIRE
 * only: lazy write of unchanged data).
 */
const WRITE_AND_RELEASE_SCRIPT =
  'if redis.call("get",KEYS[2]) ~= ARGV[1] then return 0 end ' +
  'if ARGV[3] == "" and ARGV[4] == "1" then redis.call("expire",KEYS[1],ARGV[2]) else redis.call("setex",KEYS[1],ARGV[2],ARGV[3]) end ' +
  'redis.call("del",KEYS[2]) return 1';

/** SET … KEEPTTL only while we hold the lock (an admin rewrite must not extend the session's life; Redis ≥ 6). */
const REWRITE_IF_LOCKED_SCRIPT =
  'if redis.call("get",KEYS[2]) == ARGV[1] then redis.call("set",KEYS[1],ARGV[2],"KEEPTTL") return 1 else return 0 end';

export interface LockSettings {
  /** `redis.session.lock_expire` in seconds; 0 = the lock never expires (phpredis sends no PX). */
  expireSeconds: number;
  /** `redis.session.lock_retries`: attempts after the first; -1 = forever. */
  retries: number;
  /** `redis.session.lock_wait_time` in microseconds between attempts. */
  waitTimeUs: number;
}

export function lockKeyOf(sessionKey: Buffer): Buffer {
  return Buffer.concat([sessionKey, Buffer.from(LOCK_SUFFIX)]);
}

let processPart: string | undefined;
let locksTaken = 0;

/**
 * `hostname|pid|…`: PHP's form, plus a part that makes it unique per lock — a random tag
 * drawn once per process and a counter (a hostname lookup and random bytes per request
 * showed in profiles; uniqueness is what the release check needs).
 */
export function newLockSecret(): string {
  processPart ??= `${hostname()}|${process.pid}|${randomBytes(9).toString('base64url')}`;
  return `${processPart}-${++locksTaken}`;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** How long acquiring may take in total, for the LockTimeoutError message. */
export function lockWaitBudgetMs(s: LockSettings): number {
  return s.retries < 0 ? Infinity : Math.round((s.retries * s.waitTimeUs) / 1000);
}

/**
 * Requests of this process for one session lock wait in a FIFO queue: only the first polls
 * Redis (phpredis's fixed wait, so PHP waiters are treated alike), and when a holder of this
 * process lets go, the next in line tries at once instead of whenever its timer fires — so a
 * crowd of requests on one session costs one poller and is served in arrival order.
 */
interface LocalQueue {
  /** Someone of this process holds the lock or is polling for it. */
  busy: boolean;
  waiters: Array<() => void>;
}
const localQueues = new Map<string, LocalQueue>();
const queueKey = (target: CommandTarget, lockKey: Buffer) => `${target.label}\0${lockKey.toString('latin1')}`;

/** Our hold on `lockKey` ended (released, written-and-released, or never had): the next local waiter goes. */
export function localLockEnded(target: CommandTarget, lockKey: Buffer): void {
  const k = queueKey(target, lockKey);
  const q = localQueues.get(k);
  if (!q) return;
  const next = q.waiters.shift();
  if (next) next(); // stays busy: the lock passes to it
  else localQueues.delete(k);
}

function waitTurn(q: LocalQueue, deadline: number, timeout: () => Error): Promise<void> {
  if (!q.busy) {
    q.busy = true;
    return Promise.resolve();
  }
  return new Promise((resolve, reject) => {
    const go = () => {
      if (timer) clearTimeout(timer);
      resolve();
    };
    const timer = Number.isFinite(deadline)
      ? setTimeout(() => {
          const i = q.waiters.indexOf(go);
          if (i >= 0) q.waiters.splice(i, 1);
          reject(timeout());
        }, Math.max(0, deadline - Date.now()))
      : undefined;
    q.waiters.push(go);
  });
}

/**
 * Takes the lock or throws. Waits behind other requests of this process first (see LocalQueue).
 * @throws LockTimeoutError (target = the lock key) when every attempt found it held.
 * @throws BackendError when Redis fails; a lock that may have been set by the failed attempt is
 *   released on a best-effort basis (compare-and-delete, so never someone else's).
 */
export async function acquireLock(
  target: CommandTarget,
  lockKey: Buffer,
  secret: string,
  s: LockSettings,
  /** A command to pipeline right behind the first attempt (the session GET): saves a round trip. */
  thenSend?: Array<string | Buffer>,
): Promise<unknown> {
  const budget = lockWaitBudgetMs(s);
  const timeoutError = () => new LockTimeoutError(`${target.label} ${lockKey.toString('latin1')}`, budget);
  const k = queueKey(target, lockKey);
  let q = localQueues.get(k);
  if (!q) localQueues.set(k, (q = { busy: false, waiters: [] }));
  await waitTurn(q, Date.now() + budget, timeoutError);
  let locked = false;
  try {
    const reply = await pollLock(target, lockKey, secret, s, thenSend);
    locked = true;
    return reply;
  } finally {
    if (!locked) localLockEnded(target, lockKey);
  }
}

async function pollLock(target: CommandTarget, lockKey: Buffer, secret: string, s: LockSettings, thenSend?: Array<string | Buffer>): Promise<unknown> {
  const args: Array<string | Buffer> = ['SET', lockKey, secret, 'NX'];
  if (s.expireSeconds > 0) args.push('PX', String(Math.round(s.expireSeconds * 1000)));
  for (let attempt = 0; s.retries < 0 || attempt <= s.retries; attempt++) {
    let reply: unknown;
    const setNx = target.send(args, lockKey);
    // Same connection, sent right behind it in the same tick: Redis runs the GET after the
    // SET NX, so when the SET took the lock the GET already read under it. (Only for a single
    // server: locking is refused for clusters, where the two keys may live on different nodes.)
    const follow = attempt === 0 && thenSend ? target.send(thenSend) : undefined;
    follow?.catch(() => {});
    try {
      reply = await setNx;
    } catch (err) {
      await releaseLock(target, lockKey, secret, false).catch(() => {});
      throw err;
    }
    if (reply !== null && reply !== undefined) {
      // +OK: locked. The pipelined reply (if any) was read under the lock.
      if (!follow) return thenSend ? target.send(thenSend) : undefined;
      try {
        return await follow;
      } catch (err) {
        await releaseLock(target, lockKey, secret, false).catch(() => {});
        throw err;
      }
    }
    if (s.retries < 0 || attempt < s.retries) await sleep(s.waitTimeUs / 1000);
  }
  throw new LockTimeoutError(`${target.label} ${lockKey.toString('latin1')}`, lockWaitBudgetMs(s));
}

/**
 * Compare-and-delete. Returns true when our lock was deleted, false when it had expired or
 * belongs to someone else (then nothing is deleted).
 * @throws BackendError when Redis fails.
 */
export async function releaseLock(target: CommandTarget, lockKey: Buffer, secret: string, endsLocalHold = true): Promise<boolean> {
  try {
    const reply = await target.send(['EVAL', LOCK_RELEASE_SCRIPT, '1', lockKey, secret], lockKey);
    return Number(reply) === 1;
  } finally {
    if (endsLocalHold) localLockEnded(target, lockKey);
  }
}

function lockLost(target: CommandTarget, sessionKey: Buffer, what: string): BackendError {
  return new BackendError(
    `${target.label} ${sessionKey.toString('latin1')}: ${what} refused: our session lock expired or was taken by another request in the meantime (nothing was written; raise redis.session.lock_expire / lockExpireSeconds if requests run that long)`,
    'ELOCKLOST',
  );
}

/** A session key and its lock key, on the server that holds both. */
export interface LockedKey {
  target: CommandTarget;
  key: Buffer;
  lockKey: Buffer;
}

/**
 * SETEX the session, but only while `secret` still holds the lock (atomic).
 * @throws BackendError code ELOCKLOST when the lock is gone (nothing written), or on failure.
 */
export async function writeIfLocked({ target, key, lockKey }: LockedKey, secret: string, ttlSeconds: number, data: Buffer): Promise<void> {
  if (target.sharded) {
    if (!(await holdsLock(target, lockKey, secret))) throw lockLost(target, key, 'write');
    await target.send(['SETEX', key, String(ttlSeconds), data], key);
    return;
  }
  const reply = await target.send(['EVAL', WRITE_IF_LOCKED_SCRIPT, '2', key, lockKey, secret, String(ttlSeconds), data], key);
  if (Number(reply) !== 1) throw lockLost(target, key, 'write');
}

/**
 * On a cluster the session key and its lock key may live on different nodes, where no script
 * can read both: the lock is checked with a GET just before the write, as phpredis's own
 * write_allowed() does (not atomic: a lock that expires between the two is not noticed).
 */
async function holdsLock(target: CommandTarget, lockKey: Buffer, secret: string): Promise<boolean> {
  const value = await target.send(['GET', lockKey], lockKey);
  return Buffer.isBuffer(value) ? value.equals(Buffer.from(secret)) : value === secret;
}

/**
 * Writes the session (or, with `touchOnly`, only refreshes its TTL) and releases our lock, in
 * one atomic script.
 * @throws BackendError code ELOCKLOST when the lock is gone (nothing written, nothing released).
 */
export async function writeAndRelease({ target, key, lockKey }: LockedKey, secret: string, ttlSeconds: number, data: Buffer, touchOnly: boolean): Promise<void> {
  let reply: unknown;
  try {
    if (target.sharded) {
      reply = 0;
      if (await holdsLock(target, lockKey, secret)) {
        await target.send(touchOnly ? ['EXPIRE', key, String(ttlSeconds)] : ['SETEX', key, String(ttlSeconds), data], key);
        reply = 1;
      }
      await releaseLock(target, lockKey, secret, false);
    } else {
      reply = await target.send(['EVAL', WRITE_AND_RELEASE_SCRIPT, '2', key, lockKey, secret, String(ttlSeconds), touchOnly ? '' : data, touchOnly ? '1' : '0'], key);
    }
  } catch (err) {
    await releaseLock(target, lockKey, secret).catch(() => {});
    throw err;
  }
  localLockEnded(target, lockKey);
  if (Number(reply) !== 1) throw lockLost(target, key, 'write');
}

/**
 * Replaces the value, keeping the key's TTL, only while `secret` still holds the lock.
 * @throws BackendError code ELOCKLOST when the lock is gone (nothing written), or on failure.
 */
export async function rewriteIfLocked({ target, key, lockKey }: LockedKey, secret: string, data: Buffer): Promise<void> {
  if (target.sharded) {
    if (!(await holdsLock(target, lockKey, secret))) throw lockLost(target, key, 'rewrite');
    await target.send(['SET', key, data, 'KEEPTTL'], key);
    return;
  }
  const reply = await target.send(['EVAL', REWRITE_IF_LOCKED_SCRIPT, '2', key, lockKey, secret, data], key);
  if (Number(reply) !== 1) throw lockLost(target, key, 'rewrite');
}
