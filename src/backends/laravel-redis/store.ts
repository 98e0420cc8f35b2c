/**
 * Laravel's `redis` session driver (SESSION_DRIVER=redis) for Node. What Laravel 8 keeps, read
 * from its sources (SessionManager::createRedisDriver, Cache\RedisStore, PhpRedisConnector):
 *
 * - the connection is `session.connection` (SESSION_CONNECTION), unset = the `default` Redis
 *   connection (REDIS_DB, database 0) — not the cache store's `cache` connection;
 * - the key is phpredis's OPT_PREFIX (`database.redis.options.prefix`, default
 *   `<slug(APP_NAME)>_database_`) + the cache prefix (`cache.prefix`, default
 *   `<slug(APP_NAME)>_cache`) + `:` + id, e.g. `laravel_database_laravel_cache:<id>`;
 * - the value is serialize() of the payload string (RedisStore serializes what is not numeric),
 *   written with SETEX lifetime × 60;
 * - a `->block()` route's lock is `<prefix>session:<id>` in the block store (see lock.ts).
 */
import { BackendError, ConfigError } from '../../errors.js';
import { ServerConnection, type CommandTarget } from '../shared/redis/connection.js';
import { scanPrefix } from '../shared/redis/scan.js';
import { parseRedisUrl, type RedisUrl } from '../shared/redis/url.js';
import { isLaravelSessionId, laravelSessionLockName } from '../shared/laravel.js';
import { LaravelCacheSessionStore, resolveCacheStoreSettings, type LaravelCacheIo, type LaravelCacheStoreOptions } from '../shared/laravel-cache.js';
import { acquireCacheLock, assertOwned, ifOwned, newOwner, releaseCacheLock } from './lock.js';
import { unwrapCacheString, wrapCacheString } from './value.js';

/** The key prefix of an app named "Laravel" with the skeleton's config. */
export const LARAVEL_REDIS_PREFIX = 'laravel_database_laravel_cache:';
const DEFAULT_URL = 'redis://127.0.0.1:6379';
const DEFAULT_TIMEOUT_MS = 5000;

export interface LaravelRedisStoreOptions extends LaravelCacheStoreOptions {
  /** The sessions' Redis connection: `redis://[user:password@]host:port[/db]`, `rediss://…`, `unix:///path.sock`. Default `redis://127.0.0.1:6379` (database 0). */
  url?: string;
  /** Everything before the id in a key: OPT_PREFIX + cache prefix + `:`. Default `laravel_database_laravel_cache:`. */
  prefix?: string;
  /**
   * Everything before `session:<id>` in the block lock's key: the block store's OPT_PREFIX +
   * cache prefix + `:`. Default `prefix` (the skeleton's block store is the same Redis store,
   * its `lock_connection` the same `default` connection).
   */
  lockPrefix?: string;
  /**
   * The block lock's connection when it is not the sessions' one: the block store's
   * `lock_connection` (the skeleton's `default`; apps whose config/cache.php predates
   * `lock_connection` lock on the `cache` connection, REDIS_CACHE_DB 1). Default `url`.
   */
  lockUrl?: string;
  /** How long a lock Node takes lives if Node never releases it (Laravel's default for `->block()` is 10). */
  lockSeconds?: number;
  /** Pause between lock attempts; default 50 ms, as Laravel's block(). */
  lockPollMs?: number;
  connectTimeoutMs?: number;
  commandTimeoutMs?: number;
}

function prefixOption(v: string | undefined, fallback: string, name: string): Buffer {
  const p = v ?? fallback;
  if (typeof p !== 'string') throw new ConfigError(`LaravelRedisSessionStore: ${name} must be a string`);
  return Buffer.from(p, 'latin1');
}

function positiveInt(v: number | undefined, fallback: number, name: string, min: number): number {
  const n = v ?? fallback;
  if (!Number.isInteger(n) || n < min) throw new ConfigError(`LaravelRedisSessionStore: ${name} must be a whole number ≥ ${min}, got ${String(v)}`);
  return n;
}

/** @internal The Redis side: keys, value format, lock. */
export class RedisIo implements LaravelCacheIo<string> {
  readonly description: string;
  readonly target: CommandTarget;
  /** Where the block lock lives: `target` itself, or the lock connection's server. */
  readonly lockTarget: CommandTarget;
  readonly prefix: Buffer;
  readonly lockPrefix: Buffer;
  readonly lockSeconds: number;
  readonly lockPollMs: number;

  constructor(url: RedisUrl, lockUrl: RedisUrl | null, options: LaravelRedisStoreOptions) {
    this.prefix = prefixOption(options.prefix, LARAVEL_REDIS_PREFIX, 'prefix');
    this.lockPrefix = prefixOption(options.lockPrefix, this.prefix.toString('latin1'), 'lockPrefix');
    this.lockSeconds = positiveInt(options.lockSeconds, 10, 'lockSeconds', 1);
    this.lockPollMs = positiveInt(options.lockPollMs, 50, 'lockPollMs', 1);
    const timeouts = { connectTimeoutMs: options.connectTimeoutMs ?? DEFAULT_TIMEOUT_MS, commandTimeoutMs: options.commandTimeoutMs ?? DEFAULT_TIMEOUT_MS };
    this.target = new ServerConnection(url.label, url, timeouts);
    this.lockTarget = lockUrl ? new ServerConnection(lockUrl.label, lockUrl, timeouts) : this.target;
    this.description = `Laravel redis driver ${url.label} (prefix ${this.prefix.toString('latin1')})`;
  }

  key(id: string): Buffer {
    return Buffer.concat([this.prefix, Buffer.from(id, 'latin1')]);
  }
  lockKey(id: string): Buffer {
    return Buffer.concat([this.lockPrefix, Buffer.from(laravelSessionLockName(id), 'latin1')]);
  }
  where(id: string): string {
    return `${this.target.label} ${this.prefix.toString('latin1')}${id}`;
  }

  async getStored(id: string): Promise<Buffer | null> {
    const key = this.key(id);
    return (await this.target.send(['GET', key], key, true)) as Buffer | null;
  }

  async has(id: string): Promise<boolean> {
    const key = this.key(id);
    return Number(await this.target.send(['EXISTS', key], key, true)) === 1;
  }

  async get(id: string): Promise<Buffer | null> {
    const stored = await this.getStored(id);
    return stored === null ? null : unwrapCacheString(stored, this.where(id));
  }

  async lock(id: string, timeoutMs: number): Promise<string> {
    const owner = newOwner();
    await acquireCacheLock(this.lockTarget, this.lockKey(id), owner, { seconds: this.lockSeconds, timeoutMs, pollMs: this.lockPollMs });
    return owner;
  }

  async unlock(id: string, owner: string): Promise<void> {
    await releaseCacheLock(this.lockTarget, this.lockKey(id), owner);
  }

  async put(id: string, payload: Buffer, ttlSeconds: number, owner: string | null): Promise<void> {
    const key = this.key(id);
    const value = wrapCacheString(payload);
    const ttl = Math.max(1, ttlSeconds);
    if (owner === null) await this.target.send(['SETEX', key, String(ttl), value], key);
    else await this.#ifOwned(id, owner, 'set', ttl, value);
  }

  async touch(id: string, ttlSeconds: number, owner: string | null): Promise<boolean> {
    const key = this.key(id);
    if (owner === null) return Number(await this.target.send(['EXPIRE', key, String(ttlSeconds)], key)) === 1;
    return (await this.#ifOwned(id, owner, 'expire', ttlSeconds)) === 1;
  }

  /** Replaces the value keeping its TTL (an admin rewrite does not extend the session's life). */
  async rewrite(id: string, payload: Buffer, owner: string): Promise<void> {
    await this.#ifOwned(id, owner, 'keep', 0, wrapCacheString(payload));
  }

  async forget(id: string, owner: string | null): Promise<boolean> {
    const key = this.key(id);
    if (owner === null) return Number(await this.target.send(['DEL', key], key)) === 1;
    return (await this.#ifOwned(id, owner, 'del')) === 1;
  }

  /**
   * One change made only while we own the lock: one script when the lock lives beside the
   * session; across two connections a check and then the change (a lock expiring in between
   * is not caught — lockSeconds is the margin).
   */
  async #ifOwned(id: string, owner: string, op: 'set' | 'expire' | 'keep' | 'del', ttl = 0, value?: Buffer): Promise<number> {
    const key = this.key(id);
    const lockKey = this.lockKey(id);
    if (this.lockTarget === this.target) return ifOwned(this.target, key, lockKey, owner, op, ttl, value);
    await assertOwned(this.lockTarget, key, lockKey, owner);
    if (op === 'set') return (await this.target.send(['SETEX', key, String(ttl), value!], key), 1);
    if (op === 'keep') return (await this.target.send(['SET', key, value!, 'KEEPTTL'], key), 1);
    if (op === 'expire') return Number(await this.target.send(['EXPIRE', key, String(ttl)], key));
    return Number(await this.target.send(['DEL', key], key));
  }

  /** Keys under the prefix whose rest is a Laravel id (lock keys `…session:<id>` are not). */
  async *keys(signal?: AbortSignal): AsyncGenerator<Array<{ id: string; key: Buffer }>> {
    for await (const page of scanPrefix(this.target, this.prefix, signal)) {
      const out: Array<{ id: string; key: Buffer }> = [];
      for (const key of page) {
        const id = key.subarray(this.prefix.length).toString('latin1');
        if (isLaravelSessionId(id)) out.push({ id, key });
      }
      if (out.length > 0) yield out;
    }
  }

  async *ids(): AsyncGenerator<string> {
    for await (const page of this.keys()) for (const k of page) yield k.id;
  }

  async close(): Promise<void> {
    await this.target.close();
    if (this.lockTarget !== this.target) await this.lockTarget.close();
  }
}

export class LaravelRedisSessionStore extends LaravelCacheSessionStore<string> {
  readonly url: RedisUrl;

  /** @throws ConfigError for a bad URL or setting. Connects on first use. */
  constructor(options: LaravelRedisStoreOptions = {}) {
    const who = 'LaravelRedisSessionStore';
    const { url, lockUrl, prefix, lockPrefix, lockSeconds, lockPollMs, connectTimeoutMs, commandTimeoutMs, ...rest } = options;
    const parsed = parseRedisUrl(url ?? DEFAULT_URL, `${who} url`);
    const lock = lockUrl === undefined ? null : parseRedisUrl(lockUrl, `${who} lockUrl`);
    const settings = resolveCacheStoreSettings(rest, who);
    super(new RedisIo(parsed, lock && lock.label !== parsed.label ? lock : null, options), settings, rest);
    this.url = parsed;
  }

  /** @internal */
  get redis(): RedisIo {
    return this.io as RedisIo;
  }

  /** The Redis key of a session (prefix + id). */
  keyOf(id: string): string {
    return this.redis.key(id).toString('latin1');
  }

  /** The value as stored (serialize() of the payload); null when missing. */
  readStored(id: string): Promise<Buffer | null> {
    return this.redis.getStored(id);
  }

  /** Answers PING. @throws BackendError */
  async ping(): Promise<void> {
    const reply = await this.redis.target.send(['PING']);
    if (String(reply) !== 'PONG') throw new BackendError(`${this.redis.target.label}: PING answered ${String(reply)}`, 'EBACKEND');
  }
}
