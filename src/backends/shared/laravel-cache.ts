/**
 * Laravel's cache-based session drivers (`redis`, `memcached`: Illuminate\Session\
 * CacheBasedSessionHandler over a cache Repository) as one SessionBackend, whatever the cache:
 * read = `get($id, '')`, write = `put($id, $payload, lifetime × 60)` (the cache expires the
 * session, there is no gc), destroy = `forget($id)`. The payload is serialize($attributes), or
 * with `encrypt => true` the EncryptedStore's text of it (a PayloadCipher).
 *
 * Laravel itself takes no lock around a session, except on routes marked `->block()`: those take
 * the cache lock `session:<id>` for the whole request. The handles here take that same lock from
 * open to close (unless `locking: false`), so Node excludes blocking Laravel routes and other
 * Node handles; each cache supplies the lock as Laravel's lock class for it speaks it.
 */
import { decodeSession, encodeSession } from '../../codec/index.js';
import { PhpArray } from '../../codec/values.js';
import { BackendError, ConfigError, SessctlError } from '../../errors.js';
import { saveThenClose, updateSession, type OpenOptions, type SessionBackend, type SessionHandle, type SessionUpdater } from '../../session/contract.js';
import { createUnusedId } from '../../session/new-session-id.js';
import { resolveSessionSettings, type ResolvedSessionSettings, type SessionSettings } from '../../session/settings.js';
import { startSession } from '../../session/start.js';
import { assertLaravelSessionId, generateLaravelSessionId, isLaravelSessionId, laravelHandler, lifetimeSeconds, type PayloadCipher } from './laravel.js';

/**
 * What one cache offers the session store: the session payload by id (wrapping and unwrapping
 * the cache's own value format), and Laravel's cache lock on `session:<id>`. `L` is whatever
 * identifies a lock we hold; every change made with one is refused (ELOCKLOST) once the lock
 * is no longer ours.
 */
export interface LaravelCacheIo<L> {
  /** `redis tcp://127.0.0.1:6379 (prefix laravel_database_laravel_cache:)`, for messages; no secret. */
  readonly description: string;
  /** Where a session lives (server and key), for messages. */
  where(id: string): string;
  /** Whether anything is stored under the session's key (nothing is decoded). */
  has(id: string): Promise<boolean>;
  /** The payload as CacheBasedSessionHandler::read() gets it; null when missing. @throws DecodeError, BackendError */
  get(id: string): Promise<Buffer | null>;
  /** @throws LockTimeoutError, BackendError */
  lock(id: string, timeoutMs: number): Promise<L>;
  /** Releases our lock (never someone else's). */
  unlock(id: string, lock: L): Promise<void>;
  /** put($id, $payload, $ttl). @throws BackendError (ELOCKLOST with a lock no longer ours) */
  put(id: string, payload: Buffer, ttlSeconds: number, lock: L | null): Promise<void>;
  /** Gives an existing session a fresh TTL; false when missing. */
  touch(id: string, ttlSeconds: number, lock: L | null): Promise<boolean>;
  /** forget($id); false when missing. */
  forget(id: string, lock: L | null): Promise<boolean>;
  /** Every stored session id. */
  ids(): AsyncIterable<string>;
  close(): Promise<void>;
}

export interface LaravelCacheStoreOptions extends Omit<SessionSettings, 'sidLength' | 'sidBitsPerCharacter'> {
  /** SESSION_LIFETIME in minutes (Laravel's default 120): the TTL of every write. */
  lifetime?: number;
  /** `encrypt => true` (SESSION_ENCRYPT): sessctl/laravel's `laravelPayloadCipher(encrypter)`. */
  payloadCipher?: PayloadCipher;
  /**
   * Take Laravel's session block lock (`session:<id>` in the cache) from open to close; default
   * true. Off, Node behaves like a Laravel route without `->block()`.
   */
  locking?: boolean;
}

/** Settings shared by both cache stores. @throws ConfigError */
export function resolveCacheStoreSettings(options: LaravelCacheStoreOptions, who: string): ResolvedSessionSettings {
  const { lifetime, payloadCipher: _c, locking, ...shared } = options;
  if (locking !== undefined && typeof locking !== 'boolean') throw new ConfigError(`${who}: locking must be true or false`);
  return resolveSessionSettings(
    { ...shared, serializeHandler: laravelHandler(shared.serializeHandler, who), gcMaxlifetime: lifetimeSeconds(lifetime, shared.gcMaxlifetime ?? 7200, who) },
    who,
  );
}

export class LaravelCacheSessionStore<L> implements SessionBackend {
  readonly settings: ResolvedSessionSettings;
  readonly payloadCipher: PayloadCipher | undefined;
  readonly locking: boolean;
  /** @internal */
  readonly io: LaravelCacheIo<L>;

  /** @internal the cache stores construct it. */
  constructor(io: LaravelCacheIo<L>, settings: ResolvedSessionSettings, options: LaravelCacheStoreOptions) {
    this.io = io;
    this.settings = settings;
    this.payloadCipher = options.payloadCipher;
    this.locking = options.locking ?? true;
  }

  /** Laravel's Store::isValidId(): 40 letters and digits. */
  isValidId(id: string): boolean {
    return isLaravelSessionId(id);
  }

  /** Str::random(40), checked against the cache. */
  createId(): Promise<string> {
    return createUnusedId(generateLaravelSessionId, (id) => this.exists(id));
  }

  async exists(id: string): Promise<boolean> {
    if (!this.isValidId(id)) return false;
    return this.io.has(id);
  }

  /** @internal the payload → attributes. @throws DecodeError (naming where), SessctlError ETOOBIG */
  decode(id: string, payload: Buffer): PhpArray {
    const where = this.io.where(id);
    if (payload.length > this.settings.maxBytes) {
      throw new BackendError(`${where}: is ${payload.length} bytes, above the ${this.settings.maxBytes}-byte limit (maxBytes)`, 'ETOOBIG');
    }
    // read() returns '' for a missing session, and Store::readFromHandler() treats '' as empty.
    if (payload.length === 0) return new PhpArray();
    const plain = this.payloadCipher ? this.payloadCipher.open(payload, where) : payload;
    return decodeSession(plain, 'php_serialize', { ...this.settings.decodeOptions, source: where });
  }

  /** @internal attributes → serialize($attributes) (not yet sealed). @throws EncodeError */
  serialize(data: PhpArray): Buffer {
    return encodeSession(data, 'php_serialize', this.settings.encodeOptions);
  }

  /** @internal what put() stores for the serialized attributes. */
  seal(plain: Buffer): Buffer {
    return this.payloadCipher ? Buffer.from(this.payloadCipher.seal(plain)) : plain;
  }

  #plainOf(id: string, payload: Buffer | null): Buffer {
    if (!payload || payload.length === 0 || !this.payloadCipher) return payload ?? Buffer.alloc(0);
    return Buffer.from(this.payloadCipher.open(payload, this.io.where(id)));
  }

  /**
   * Takes the session's block lock (when locking is on) and reads the session.
   * @throws InvalidSessionIdError, LockTimeoutError, DecodeError (the lock is released), BackendError.
   */
  async open(id: string, options: OpenOptions = {}): Promise<LaravelCacheSessionHandle<L>> {
    assertLaravelSessionId(id);
    const lock = this.locking ? await this.io.lock(id, options.lockTimeoutMs ?? this.settings.lockTimeoutMs) : null;
    let handle: LaravelCacheSessionHandle<L>;
    try {
      const payload = await this.io.get(id);
      const data = payload ? this.decode(id, payload) : new PhpArray();
      handle = new LaravelCacheSessionHandle(this, id, lock, payload === null || payload.length === 0, this.#plainOf(id, payload), data);
    } catch (err) {
      if (lock !== null) await this.io.unlock(id, lock).catch(() => {});
      throw err;
    }
    if (options.readAndClose) await handle.close();
    return handle;
  }

  start(id?: string | null, options: OpenOptions = {}): Promise<LaravelCacheSessionHandle<L>> {
    return startSession(this, id, options);
  }

  /** Reads without the lock, as Laravel's non-blocking requests do. Null when missing. */
  async read(id: string): Promise<PhpArray | null> {
    assertLaravelSessionId(id);
    const payload = await this.io.get(id);
    return payload === null ? null : this.decode(id, payload);
  }

  update(id: string, fn: SessionUpdater): Promise<PhpArray> {
    return updateSession(this, id, fn);
  }

  /** forget() under the lock. False when there was no session. */
  async destroy(id: string): Promise<boolean> {
    return this.#withLock(id, (lock) => this.io.forget(id, lock));
  }

  /** A fresh TTL of the lifetime, under the lock. False when missing. */
  async touch(id: string): Promise<boolean> {
    return this.#withLock(id, (lock) => this.io.touch(id, this.settings.gcMaxlifetime, lock));
  }

  async #withLock<T>(id: string, fn: (lock: L | null) => Promise<T>): Promise<T> {
    assertLaravelSessionId(id);
    const lock = this.locking ? await this.io.lock(id, this.settings.lockTimeoutMs) : null;
    try {
      return await fn(lock);
    } finally {
      if (lock !== null) await this.io.unlock(id, lock).catch(() => {});
    }
  }

  ids(): AsyncIterable<string> {
    return this.io.ids();
  }

  /** Closes the connections. */
  close(): Promise<void> {
    return this.io.close();
  }
}

export class LaravelCacheSessionHandle<L> implements SessionHandle {
  readonly #store: LaravelCacheSessionStore<L>;
  #id: string;
  #lock: L | null;
  #isNew: boolean;
  /** serialize($attributes) as stored (decrypted), for lazy write. */
  #plain: Buffer;
  #closed = false;
  data: PhpArray;

  /** @internal */
  constructor(store: LaravelCacheSessionStore<L>, id: string, lock: L | null, isNew: boolean, plain: Buffer, data: PhpArray) {
    this.#store = store;
    this.#id = id;
    this.#lock = lock;
    this.#isNew = isNew;
    this.#plain = plain;
    this.data = data;
  }

  get id(): string {
    return this.#id;
  }
  get isNew(): boolean {
    return this.#isNew;
  }
  /** Where the session lives (server and key). */
  get location(): string {
    return this.#store.io.where(this.#id);
  }
  /** Whether this handle holds Laravel's session block lock. */
  get locked(): boolean {
    return this.#lock !== null;
  }

  #assertOpen(what: string): void {
    if (this.#closed) throw new SessctlError(`${this.location}: cannot ${what}: the session handle is closed (its lock was released)`, 'ECLOSED');
  }

  /**
   * put() with the lifetime as TTL, as Laravel's save() does; unchanged attributes with lazy
   * write only refresh the TTL.
   * @throws EncodeError (nothing written); BackendError ELOCKLOST when the lock expired meanwhile.
   */
  async save(data?: PhpArray): Promise<void> {
    this.#assertOpen('save');
    if (data !== undefined) this.data = data;
    const plain = this.#store.serialize(this.data);
    const ttl = this.#store.settings.gcMaxlifetime;
    if (this.#store.settings.lazyWrite && !this.#isNew && plain.equals(this.#plain)) {
      if (await this.#store.io.touch(this.#id, ttl, this.#lock)) return;
    }
    await this.#store.io.put(this.#id, this.#store.seal(plain), ttl, this.#lock);
    this.#plain = plain;
  }

  saveAndClose(data?: PhpArray): Promise<void> {
    return saveThenClose(this, data);
  }

  /** Releases the lock without writing. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const lock = this.#lock;
    this.#lock = null;
    if (lock !== null) await this.#store.io.unlock(this.#id, lock);
  }

  /** forget() while holding the lock, then releases it. */
  async destroy(): Promise<void> {
    this.#assertOpen('destroy');
    try {
      await this.#store.io.forget(this.#id, this.#lock);
    } finally {
      await this.close().catch(() => {});
    }
  }

  /**
   * Store::migrate($destroy): the data goes to a fresh id (locked, and written at once); the
   * old session is forgotten, or left as it is (as Laravel leaves it).
   */
  async regenerateId(deleteOld = false): Promise<string> {
    this.#assertOpen('regenerate the id of');
    const store = this.#store;
    const plain = store.serialize(this.data);
    const next = await store.createId();
    const nextLock = store.locking ? await store.io.lock(next, store.settings.lockTimeoutMs) : null;
    try {
      await store.io.put(next, store.seal(plain), store.settings.gcMaxlifetime, nextLock);
      if (deleteOld) await store.io.forget(this.#id, this.#lock);
    } catch (err) {
      if (nextLock !== null) await store.io.unlock(next, nextLock).catch(() => {});
      throw err;
    }
    const old = this.#lock;
    const oldId = this.#id;
    this.#id = next;
    this.#lock = nextLock;
    this.#isNew = true;
    this.#plain = plain;
    if (old !== null) await store.io.unlock(oldId, old).catch(() => {});
    return next;
  }
}
