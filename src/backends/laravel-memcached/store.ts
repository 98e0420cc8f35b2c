/**
 * Laravel's `memcached` session driver (SESSION_DRIVER=memcached) for Node. What Laravel 8
 * keeps, read from its sources (SessionManager::createMemcachedDriver, Cache\MemcachedStore,
 * MemcachedConnector) and php-memcached's:
 *
 * - the key is the cache prefix (`cache.prefix`, default `<slug(APP_NAME)>_cache`) + `:` + id,
 *   e.g. `laravel_cache:<id>`, on the server libmemcached's default distribution picks (modula of
 *   the one-at-a-time hash of the whole key; Laravel sets no consistent hashing);
 * - the value is the payload string as Memcached::set() stores strings (type 0, fastlz-compressed
 *   from 2000 bytes: see shared/memcached/php-value.ts), expiring lifetime × 60 seconds later;
 * - a `->block()` route's lock is `<prefix>session:<id>` (MemcachedLock: ADD of the owner with
 *   the lock's seconds; released by GET, compare, DELETE).
 */
import { BackendError, ConfigError, LockTimeoutError } from '../../errors.js';
import { MemcachedConnection } from '../shared/memcached/connection.js';
import { OP, STATUS, statusText, storeExtras, touchExtras, type Request, type Response } from '../shared/memcached/protocol.js';
import { parseMemcachedSavePath, type MemcachedSavePath } from '../shared/memcached/save-path.js';
import { ServerPicker } from '../shared/memcached/server-pick.js';
import { metadump, remainingTtl } from '../shared/memcached/ascii.js';
import { phpMemcachedString } from '../shared/memcached/php-value.js';
import { isLaravelSessionId, laravelRandomString, laravelSessionLockName } from '../shared/laravel.js';
import { LaravelCacheSessionStore, resolveCacheStoreSettings, type LaravelCacheIo, type LaravelCacheStoreOptions } from '../shared/laravel-cache.js';

/** The key prefix of an app named "Laravel" with the skeleton's config. */
export const LARAVEL_MEMCACHED_PREFIX = 'laravel_cache:';
const DEFAULT_SERVERS = '127.0.0.1:11211';
const DEFAULT_TIMEOUT_MS = 5000;
const MAX_KEY = 250;
/** memcached reads an expiry above 30 days as a unix time. */
const REALTIME_MAXDELTA = 60 * 60 * 24 * 30;

export interface LaravelMemcachedStoreOptions extends LaravelCacheStoreOptions {
  /** The cache store's servers, `host:port[,host:port…]` (php-memcached's syntax; unix sockets as `/path`). Default `127.0.0.1:11211`. */
  servers?: string;
  /** Everything before the id in a key: the cache prefix + `:`. Default `laravel_cache:`. */
  prefix?: string;
  /** Everything before `session:<id>` in the block lock's key; default `prefix`. */
  lockPrefix?: string;
  /** How long a lock Node takes lives if Node never releases it (Laravel's default for `->block()` is 10). */
  lockSeconds?: number;
  /** Pause between lock attempts; default 50 ms, as Laravel's block(). */
  lockPollMs?: number;
  connectTimeoutMs?: number;
  commandTimeoutMs?: number;
}

/** A lock we hold: our owner value and the CAS of the item our ADD made. */
export interface MemcachedLockToken {
  owner: string;
  cas: bigint;
}

function keyPrefix(v: string | undefined, fallback: string, name: string): Buffer {
  const p = v ?? fallback;
  if (typeof p !== 'string' || /[\s\x00-\x1f\x7f]/.test(p) || Buffer.byteLength(p, 'latin1') > MAX_KEY - 48) {
    throw new ConfigError(`LaravelMemcachedSessionStore: ${name} must be a string without whitespace or control characters, shorter than ${MAX_KEY - 48} bytes`);
  }
  return Buffer.from(p, 'latin1');
}

function whole(v: number | undefined, fallback: number, name: string, min: number): number {
  const n = v ?? fallback;
  if (!Number.isInteger(n) || n < min) throw new ConfigError(`LaravelMemcachedSessionStore: ${name} must be a whole number ≥ ${min}, got ${String(v)}`);
  return n;
}

function expiry(seconds: number): number {
  return seconds <= REALTIME_MAXDELTA ? seconds : Math.floor(Date.now() / 1000) + seconds;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** @internal The memcached side: keys, server choice, value format, lock. */
export class MemcachedIo implements LaravelCacheIo<MemcachedLockToken> {
  readonly description: string;
  readonly savePath: MemcachedSavePath;
  readonly prefix: Buffer;
  readonly lockPrefix: Buffer;
  readonly lockSeconds: number;
  readonly lockPollMs: number;
  /** No item is decompressed beyond this (the store's maxBytes). */
  readonly maxBytes: number;
  readonly conns: MemcachedConnection[];
  readonly #picker: ServerPicker;

  constructor(options: LaravelMemcachedStoreOptions, maxBytes: number) {
    this.maxBytes = maxBytes;
    this.savePath = parseMemcachedSavePath(options.servers ?? DEFAULT_SERVERS);
    this.prefix = keyPrefix(options.prefix, LARAVEL_MEMCACHED_PREFIX, 'prefix');
    this.lockPrefix = keyPrefix(options.lockPrefix, this.prefix.toString('latin1'), 'lockPrefix');
    this.lockSeconds = whole(options.lockSeconds, 10, 'lockSeconds', 1);
    this.lockPollMs = whole(options.lockPollMs, 50, 'lockPollMs', 1);
    const timeouts = { connectTimeoutMs: options.connectTimeoutMs ?? DEFAULT_TIMEOUT_MS, commandTimeoutMs: options.commandTimeoutMs ?? DEFAULT_TIMEOUT_MS };
    this.conns = this.savePath.servers.map((s) => new MemcachedConnection(s, timeouts));
    this.#picker = new ServerPicker(this.savePath.servers, 'modula');
    this.description = `Laravel memcached driver ${this.savePath.servers.map((s) => s.label).join(', ')} (prefix ${this.prefix.toString('latin1')})`;
  }

  key(id: string): Buffer {
    return Buffer.concat([this.prefix, Buffer.from(id, 'latin1')]);
  }
  lockKey(id: string): Buffer {
    return Buffer.concat([this.lockPrefix, Buffer.from(laravelSessionLockName(id), 'latin1')]);
  }
  connOf(key: Buffer): MemcachedConnection {
    return this.conns[this.#picker.pick(key)]!;
  }
  where(id: string): string {
    const key = this.key(id);
    return `${this.connOf(key).label} ${key.toString('latin1')}`;
  }

  /** One request on the key's server; any status outside `ok` is a BackendError naming the key. */
  async call(key: Buffer, req: Omit<Request, 'key'>, ok: number[], what: string): Promise<Response> {
    const conn = this.connOf(key);
    const r = await conn.request({ ...req, key });
    if (!ok.includes(r.status)) throw new BackendError(`${conn.label} ${key.toString('latin1')}: ${what} failed: ${statusText(r.status)}`, 'EBACKEND');
    return r;
  }

  /** The item as stored (value and flags); null when missing. */
  async getStored(id: string): Promise<{ value: Buffer; flags: number } | null> {
    const r = await this.call(this.key(id), { opcode: OP.GET }, [STATUS.OK, STATUS.NOT_FOUND], 'GET');
    if (r.status !== STATUS.OK) return null;
    return { value: Buffer.from(r.value), flags: r.extras.length >= 4 ? r.extras.readUInt32BE(0) : 0 };
  }

  async has(id: string): Promise<boolean> {
    return (await this.getStored(id)) !== null;
  }

  async get(id: string): Promise<Buffer | null> {
    const item = await this.getStored(id);
    return item === null ? null : phpMemcachedString(item.value, item.flags, this.where(id), this.maxBytes);
  }

  async lock(id: string, timeoutMs: number): Promise<MemcachedLockToken> {
    const key = this.lockKey(id);
    const owner = laravelRandomString(16);
    const started = Date.now();
    for (;;) {
      const r = await this.call(key, { opcode: OP.ADD, extras: storeExtras(expiry(this.lockSeconds)), value: Buffer.from(owner, 'latin1') }, [STATUS.OK, STATUS.EXISTS, STATUS.NOT_STORED], 'taking the session lock');
      if (r.status === STATUS.OK) return { owner, cas: r.cas };
      const left = timeoutMs - (Date.now() - started);
      if (left <= 0) throw new LockTimeoutError(`${this.connOf(key).label} ${key.toString('latin1')}`, timeoutMs);
      await sleep(Math.min(this.lockPollMs, left));
    }
  }

  /** DELETE of our lock item only (CAS): a lock that expired and was taken by another is left alone. */
  async unlock(id: string, lock: MemcachedLockToken): Promise<void> {
    await this.call(this.lockKey(id), { opcode: OP.DELETE, cas: lock.cas }, [STATUS.OK, STATUS.NOT_FOUND, STATUS.EXISTS], 'releasing the session lock');
  }

  /**
   * Throws unless the lock item is still ours. memcached cannot make this check and the write
   * one step, so a lock expiring in between is not caught — lockSeconds is the margin.
   * @throws BackendError ELOCKLOST
   */
  async assertOwned(id: string, lock: MemcachedLockToken): Promise<void> {
    const key = this.lockKey(id);
    const r = await this.call(key, { opcode: OP.GET }, [STATUS.OK, STATUS.NOT_FOUND], 'checking the session lock');
    if (r.status === STATUS.OK && r.cas === lock.cas && r.value.toString('latin1') === lock.owner) return;
    throw new BackendError(
      `${this.where(id)}: refused: our session lock ${key.toString('latin1')} expired or was taken by another request (nothing was changed; raise lockSeconds if Node holds sessions that long)`,
      'ELOCKLOST',
    );
  }

  /** SET with flags 0 (a PHP string); `ttlSeconds` 0 = no expiry. */
  async put(id: string, payload: Buffer, ttlSeconds: number, lock: MemcachedLockToken | null): Promise<void> {
    if (lock) await this.assertOwned(id, lock);
    await this.call(this.key(id), { opcode: OP.SET, extras: storeExtras(ttlSeconds <= 0 ? 0 : expiry(ttlSeconds)), value: payload }, [STATUS.OK], 'SET');
  }

  async touch(id: string, ttlSeconds: number, lock: MemcachedLockToken | null): Promise<boolean> {
    if (lock) await this.assertOwned(id, lock);
    const r = await this.call(this.key(id), { opcode: OP.TOUCH, extras: touchExtras(expiry(ttlSeconds)) }, [STATUS.OK, STATUS.NOT_FOUND], 'TOUCH');
    return r.status === STATUS.OK;
  }

  async forget(id: string, lock: MemcachedLockToken | null): Promise<boolean> {
    if (lock) await this.assertOwned(id, lock);
    const r = await this.call(this.key(id), { opcode: OP.DELETE }, [STATUS.OK, STATUS.NOT_FOUND], 'DELETE');
    return r.status === STATUS.OK;
  }

  /** Remaining seconds of a session (-1 never), null when missing (meta `mg`, memcached ≥ 1.6). */
  ttl(id: string): Promise<number | null> {
    const key = this.key(id);
    const conn = this.connOf(key);
    return remainingTtl(conn.server, conn.timeouts, key);
  }

  /** Every session key of every server (`lru_crawler metadump hash`, read whole first), with its expiry. */
  async *listed(signal?: AbortSignal): AsyncGenerator<{ id: string; server: string; exp: number; size: number }> {
    for (const conn of this.conns) {
      const found: Array<{ id: string; server: string; exp: number; size: number }> = [];
      for await (const keys of metadump(conn.server, conn.timeouts, signal)) {
        for (const k of keys) {
          if (!k.key.subarray(0, this.prefix.length).equals(this.prefix)) continue;
          const id = k.key.subarray(this.prefix.length).toString('latin1');
          if (isLaravelSessionId(id)) found.push({ id, server: conn.label, exp: k.exp, size: k.size });
        }
      }
      yield* found;
    }
  }

  async *ids(): AsyncGenerator<string> {
    const now = Date.now() / 1000;
    for await (const s of this.listed()) if (s.exp === -1 || s.exp > now) yield s.id;
  }

  async close(): Promise<void> {
    await Promise.all(this.conns.map((c) => c.close()));
  }
}

export class LaravelMemcachedSessionStore extends LaravelCacheSessionStore<MemcachedLockToken> {
  /** @throws ConfigError for a bad server list or setting. Connects on first use. */
  constructor(options: LaravelMemcachedStoreOptions = {}) {
    const { servers, prefix, lockPrefix, lockSeconds, lockPollMs, connectTimeoutMs, commandTimeoutMs, ...rest } = options;
    const settings = resolveCacheStoreSettings(rest, 'LaravelMemcachedSessionStore');
    super(new MemcachedIo(options, settings.maxBytes), settings, rest);
  }

  /** @internal */
  get memcached(): MemcachedIo {
    return this.io as MemcachedIo;
  }

  /** The memcached key of a session (prefix + id). */
  keyOf(id: string): string {
    return this.memcached.key(id).toString('latin1');
  }

  /** The item as stored (value and php-memcached flags); null when missing. */
  readStored(id: string): Promise<{ value: Buffer; flags: number } | null> {
    return this.memcached.getStored(id);
  }

  /** Answers VERSION on every server. @throws BackendError */
  async ping(): Promise<void> {
    for (const c of this.memcached.conns) await c.request({ opcode: OP.VERSION });
  }
}
