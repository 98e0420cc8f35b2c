/**
 * Symfony's RedisSessionHandler (HttpFoundation 5.4) as a backend, over one Redis server:
 * - key = prefix (option `prefix`, default `sf_s`, no separator) + session id;
 * - write = SETEX key ttl data, ttl = option `ttl`, else session.gc_maxlifetime;
 * - unchanged data with lazy write = EXPIRE key ttl (updateTimestamp);
 * - a session that encodes to nothing (or to igbinary's empty array) is destroyed, not written
 *   (AbstractSessionHandler::write);
 * - destroy = UNLINK (DEL where the server has no UNLINK);
 * - strict mode: a session exists when GET returns non-empty data (validateId);
 * - gc does nothing: Redis expires the keys.
 *
 * Symfony takes no lock: two Symfony requests on one session overwrite each other (last writer
 * wins). Node takes, by default, phpredis's kind of lock on `<key>_LOCK` (SET NX PX, released by
 * compare-and-delete), so Node writers exclude each other; Symfony never looks at that key, so
 * against Symfony requests Node promises what Symfony promises to itself: nothing beyond
 * "every write is whole". `locking: false` drops the Node-side lock too.
 */
import { BackendError, ConfigError } from '../../errors.js';
import { PhpArray } from '../../codec/values.js';
import { decodeSession, encodeSession } from '../../codec/index.js';
import { updateSession, type OpenOptions, type SessionBackend, type SessionUpdater } from '../../session/contract.js';
import { createUnusedId } from '../../session/new-session-id.js';
import { assertValidSessionId, isValidSessionId } from '../../session/session-id.js';
import { resolveSessionSettings, type ResolvedSessionSettings, type SessionSettings } from '../../session/settings.js';
import { startSession } from '../../session/start.js';
import { ServerConnection, type CommandTarget } from '../shared/redis/connection.js';
import { acquireLock, lockKeyOf, newLockSecret, releaseLock, type LockSettings } from '../shared/redis/lock.js';
import { scanSessionKeys } from '../shared/redis/scan.js';
import { parseRedisUrl, type RedisUrl } from '../shared/redis/url.js';
import { SymfonyRedisSessionHandle } from './handle.js';
import type { RedisLocation } from '../shared/redis/handle.js';

/** RedisSessionHandler's default key prefix. */
export const SYMFONY_REDIS_PREFIX = 'sf_s';

export interface SymfonyRedisStoreOptions extends SessionSettings {
  /** The Redis server: `redis://[user:password@]host:port[/db]`, `rediss://…`, `unix:///path.sock` (or its parsed form). Default `redis://127.0.0.1:6379`. */
  url?: string | RedisUrl;
  /** RedisSessionHandler's `prefix` option (plus the \Redis client's OPT_PREFIX, if the app sets one). Default `sf_s`. */
  prefix?: string;
  /** RedisSessionHandler's `ttl` option in seconds; default `gcMaxlifetime` (session.gc_maxlifetime), as Symfony. */
  ttl?: number;
  /** The Node-side lock on `<key>_LOCK` (excludes Node writers only; Symfony takes none). Default true. */
  locking?: boolean;
  /** How long a Node lock lives if its holder dies (seconds, default 30; 0 = until released). */
  lockExpireSeconds?: number;
  /** Poll interval while waiting for a Node lock (µs, default 20000). */
  lockWaitTimeUs?: number;
  connectTimeoutMs?: number;
  commandTimeoutMs?: number;
}

/** Where a session lives. */
export type SymfonyRedisLocation = RedisLocation;

/** igbinary_serialize([]): Symfony destroys a session that encodes to it, as to ''. */
const IGBINARY_EMPTY = Buffer.from([0, 0, 0, 2, 0x14, 0]);

function checkInt(name: string, v: number, min: number): number {
  if (!Number.isInteger(v) || v < min) throw new ConfigError(`SymfonyRedisSessionStore: ${name} must be an integer ≥ ${min}, got ${String(v)}`);
  return v;
}

export class SymfonyRedisSessionStore implements SessionBackend {
  readonly settings: ResolvedSessionSettings;
  readonly url: RedisUrl;
  readonly prefix: Buffer;
  /** The TTL every write sets (seconds). */
  readonly ttl: number;
  readonly locking: boolean;
  readonly lockExpireSeconds: number;
  readonly lockWaitTimeUs: number;
  readonly #target: CommandTarget;

  /** @throws ConfigError for a bad URL or setting. Connects on the first command. */
  constructor(options: SymfonyRedisStoreOptions = {}) {
    const { url = 'redis://127.0.0.1:6379', prefix = SYMFONY_REDIS_PREFIX, ttl, locking = true, lockExpireSeconds = 30, lockWaitTimeUs = 20000, connectTimeoutMs = 5000, commandTimeoutMs = 5000, ...shared } =
      options ?? {};
    this.url = typeof url === 'string' ? parseRedisUrl(url) : url;
    if (typeof prefix !== 'string') throw new ConfigError('SymfonyRedisSessionStore: prefix must be a string');
    this.prefix = Buffer.from(prefix, 'utf8');
    this.settings = resolveSessionSettings(shared, 'SymfonyRedisSessionStore');
    this.ttl = ttl === undefined ? this.settings.gcMaxlifetime : checkInt('ttl', ttl, 1);
    if (typeof locking !== 'boolean') throw new ConfigError('SymfonyRedisSessionStore: locking must be true or false');
    this.locking = locking;
    this.lockExpireSeconds = checkInt('lockExpireSeconds', lockExpireSeconds, 0);
    this.lockWaitTimeUs = checkInt('lockWaitTimeUs', lockWaitTimeUs, 1);
    this.#target = new ServerConnection(this.url.label, this.url, {
      connectTimeoutMs: checkInt('connectTimeoutMs', connectTimeoutMs, 1),
      commandTimeoutMs: checkInt('commandTimeoutMs', commandTimeoutMs, 1),
    });
  }

  /** @internal */
  lockSettings(options?: OpenOptions): LockSettings {
    const ms = options?.lockTimeoutMs ?? this.settings.lockTimeoutMs;
    return { expireSeconds: this.lockExpireSeconds, retries: Math.max(0, Math.ceil((ms * 1000) / this.lockWaitTimeUs)), waitTimeUs: this.lockWaitTimeUs };
  }

  /** @internal PHP's bytes for `data` with this store's serialize handler. @throws EncodeError */
  encode(data: PhpArray): Buffer {
    return encodeSession(data, this.settings.serializeHandler, this.settings.encodeOptions);
  }

  /** @internal What AbstractSessionHandler::write() destroys instead of writing. */
  isEmptyWrite(bytes: Buffer): boolean {
    return bytes.length === 0 || bytes.equals(IGBINARY_EMPTY);
  }

  /** Where `id` lives. @throws InvalidSessionIdError for an id PHP's session module would refuse. */
  locate(id: string): SymfonyRedisLocation {
    assertValidSessionId(id);
    const key = Buffer.concat([this.prefix, Buffer.from(id, 'latin1')]);
    return { id, target: this.#target, key, lockKey: lockKeyOf(key) };
  }

  isValidId(id: string): boolean {
    return isValidSessionId(id);
  }

  createId(): Promise<string> {
    return createUnusedId({ length: this.settings.sidLength, bitsPerCharacter: this.settings.sidBitsPerCharacter }, (id) => this.exists(id));
  }

  /** validateId(): the key holds non-empty data. False for ids PHP would refuse. @throws BackendError */
  async exists(id: string): Promise<boolean> {
    if (!this.isValidId(id)) return false;
    const { target, key } = this.locate(id);
    return Number(await target.send(['STRLEN', key], key, true)) > 0;
  }

  start(id?: string | null, options?: OpenOptions): Promise<SymfonyRedisSessionHandle> {
    return startSession(this, id, options);
  }

  /** PING (the admin commands' first check). @throws BackendError */
  async ping(): Promise<void> {
    await this.#target.send(['PING'], undefined, true);
  }

  #decode(bytes: Buffer, loc: SymfonyRedisLocation): PhpArray {
    return decodeSession(bytes, this.settings.serializeHandler, { ...this.settings.decodeOptions, source: `${loc.target.label} ${loc.key.toString('latin1')}` });
  }

  #checkSize(bytes: Buffer | null, loc: SymfonyRedisLocation): void {
    if (bytes && bytes.length > this.settings.maxBytes) {
      throw new BackendError(`${loc.target.label} ${loc.key.toString('latin1')}: is ${bytes.length} bytes, above the ${this.settings.maxBytes}-byte limit (maxBytes)`, 'ETOOBIG');
    }
  }

  /** @internal takes the Node-side lock (when locking is on); returns its secret. */
  async lock(loc: SymfonyRedisLocation, options?: OpenOptions): Promise<string | null> {
    if (!this.locking) return null;
    const secret = newLockSecret();
    await acquireLock(loc.target, loc.lockKey, secret, this.lockSettings(options));
    return secret;
  }

  /** @internal */
  async unlock(loc: SymfonyRedisLocation, secret: string | null): Promise<void> {
    if (secret !== null) await releaseLock(loc.target, loc.lockKey, secret);
  }

  /**
   * Takes the Node-side lock (when on) and reads the session (an empty one when missing).
   * @throws InvalidSessionIdError, LockTimeoutError, DecodeError / ETOOBIG (the lock released,
   *   the bytes left alone), BackendError.
   */
  async open(id: string, options?: OpenOptions): Promise<SymfonyRedisSessionHandle> {
    const loc = this.locate(id);
    const secret = await this.lock(loc, options);
    let bytes: Buffer | null;
    let data: PhpArray;
    try {
      bytes = (await loc.target.send(['GET', loc.key], loc.key, true)) as Buffer | null;
      this.#checkSize(bytes, loc);
      data = bytes && bytes.length > 0 ? this.#decode(bytes, loc) : new PhpArray();
    } catch (err) {
      await this.unlock(loc, secret).catch(() => {});
      throw err;
    }
    const isNew = !bytes || bytes.length === 0;
    const handle = new SymfonyRedisSessionHandle(this, loc, secret, bytes ?? Buffer.alloc(0), isNew, data);
    if (options?.readAndClose) await handle.close();
    return handle;
  }

  /** Reads without any lock. Null when missing. @throws InvalidSessionIdError, DecodeError, BackendError */
  async read(id: string): Promise<PhpArray | null> {
    const loc = this.locate(id);
    const bytes = await this.readBytes(id);
    this.#checkSize(bytes, loc);
    return bytes && bytes.length > 0 ? this.#decode(bytes, loc) : null;
  }

  /** The stored bytes (null when missing). @throws InvalidSessionIdError, BackendError */
  async readBytes(id: string): Promise<Buffer | null> {
    const loc = this.locate(id);
    return (await loc.target.send(['GET', loc.key], loc.key, true)) as Buffer | null;
  }

  update(id: string, fn: SessionUpdater): Promise<PhpArray> {
    return updateSession(this, id, fn);
  }

  /** @internal SETEX key ttl bytes, or the delete Symfony does for an empty session. */
  async write(loc: SymfonyRedisLocation, bytes: Buffer, ttl = this.ttl): Promise<void> {
    if (this.isEmptyWrite(bytes)) await this.unlink(loc);
    else await loc.target.send(['SETEX', loc.key, String(ttl), bytes], loc.key);
  }

  /** @internal UNLINK, or DEL on a server without UNLINK (Redis < 4), as doDestroy(). True when a key went. */
  async unlink(loc: SymfonyRedisLocation): Promise<boolean> {
    try {
      return Number(await loc.target.send(['UNLINK', loc.key], loc.key)) === 1;
    } catch (err) {
      if (!(err instanceof BackendError && err.code === 'EBACKEND')) throw err;
      return Number(await loc.target.send(['DEL', loc.key], loc.key)) === 1;
    }
  }

  /** Deletes under the Node-side lock. False when there was none. @throws InvalidSessionIdError, LockTimeoutError, BackendError */
  async destroy(id: string): Promise<boolean> {
    const loc = this.locate(id);
    const secret = await this.lock(loc);
    try {
      return await this.unlink(loc);
    } finally {
      await this.unlock(loc, secret).catch(() => {});
    }
  }

  /** updateTimestamp(): EXPIRE key ttl. False when missing. @throws InvalidSessionIdError, BackendError */
  async touch(id: string): Promise<boolean> {
    const loc = this.locate(id);
    return Number(await loc.target.send(['EXPIRE', loc.key, String(this.ttl)], loc.key)) === 1;
  }

  /** Runs `fn` holding the Node-side lock on `id` (taken even with `locking: false`: it costs nothing and excludes other Node writers). */
  async withLock<T>(id: string, lockTimeoutMs: number | undefined, fn: (loc: SymfonyRedisLocation) => Promise<T>): Promise<T> {
    const loc = this.locate(id);
    const secret = newLockSecret();
    await acquireLock(loc.target, loc.lockKey, secret, this.lockSettings(lockTimeoutMs === undefined ? undefined : { lockTimeoutMs }));
    try {
      return await fn(loc);
    } finally {
      await releaseLock(loc.target, loc.lockKey, secret).catch(() => {});
    }
  }

  /** Session keys page by page (SCAN MATCH prefix*), `_LOCK` keys and ids PHP would refuse left out. @throws BackendError */
  async *keyPages(signal?: AbortSignal): AsyncGenerator<SymfonyRedisLocation[]> {
    for await (const page of scanSessionKeys(this.#target, this.prefix, signal)) {
      yield page.map(({ id, key }) => ({ id, key, target: this.#target, lockKey: lockKeyOf(key) }));
    }
  }

  /** Every session id (SCAN over the prefix). @throws BackendError */
  async *ids(): AsyncGenerator<string> {
    for await (const page of this.keyPages()) for (const loc of page) yield loc.id;
  }

  /** Where this store points, for messages (no password). */
  describe(): string {
    return `${this.url.label} (Symfony RedisSessionHandler, prefix ${JSON.stringify(this.prefix.toString('latin1'))})`;
  }

  async close(): Promise<void> {
    await this.#target.close();
  }
}
