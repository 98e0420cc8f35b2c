/**
 * The operator's view of a Laravel app's `memcached` sessions (`--save-handler
 * laravel-memcached --save-path host:port[,…]`, ini `laravel.prefix`). Sessions are listed the
 * way the memcached backend lists them (`lru_crawler metadump hash`, or `all` before it existed); the
 * bytes the commands see are serialize($attributes), decompressed (and, with a payloadCipher,
 * decrypted), sealed again on every write. Changes happen under Laravel's session block lock.
 */
import { gcByExpiry, ttlTimes, type AdminSource, type AdminSourceSettings, type DestroyOutcome, type EntriesOptions, type GcOptions, type GcReport, type PutOutcome, type RewriteOutcome, type SessionEntry } from '../../session/admin.js';
import { assertLaravelSessionId, type PayloadCipher } from '../shared/laravel.js';
import { phpMemcachedString } from '../shared/memcached/php-value.js';
import { LARAVEL_MEMCACHED_PREFIX, LaravelMemcachedSessionStore, type MemcachedIo, type MemcachedLockToken } from './store.js';

export interface LaravelCacheAdminOptions {
  /** For `encrypt => true` apps: sessctl/laravel's `laravelPayloadCipher(encrypter)`. */
  payloadCipher?: PayloadCipher;
}

export class LaravelMemcachedAdminSource implements AdminSource {
  readonly saveHandler = 'laravel-memcached';
  readonly description: string;
  readonly store: LaravelMemcachedSessionStore;
  readonly #maxlifetime: number;
  readonly #cipher: PayloadCipher | undefined;
  readonly #io: MemcachedIo;

  /** @throws ConfigError for a bad server list or prefix. */
  constructor(settings: Pick<AdminSourceSettings, 'savePath' | 'maxlifetime' | 'ini' | 'maxBytes' | 'payloadCipher'>, options: LaravelCacheAdminOptions = {}) {
    this.#maxlifetime = settings.maxlifetime;
    this.#cipher = options.payloadCipher ?? settings.payloadCipher;
    this.store = new LaravelMemcachedSessionStore({
      servers: settings.savePath || undefined,
      prefix: settings.ini?.['laravel.prefix'] ?? LARAVEL_MEMCACHED_PREFIX,
      gcMaxlifetime: Math.max(1, settings.maxlifetime),
      ...(settings.maxBytes ? { maxBytes: settings.maxBytes } : {}),
    });
    this.#io = this.store.memcached;
    this.description = this.#io.description;
  }

  validateId(id: string): void {
    assertLaravelSessionId(id);
  }

  check(): Promise<void> {
    return this.store.ping();
  }

  /** The payload → serialize($attributes). @throws DecodeError */
  #open(id: string, payload: Buffer): Buffer {
    return this.#cipher && payload.length > 0 ? Buffer.from(this.#cipher.open(payload, this.#io.where(id))) : payload;
  }
  #seal(plain: Uint8Array): Buffer {
    return Buffer.from(this.#cipher ? this.#cipher.seal(plain) : plain);
  }

  async #entry(id: string, withData: boolean, ttl?: number | null): Promise<SessionEntry | null> {
    const item = await this.#io.getStored(id);
    if (item === null) return null;
    const t = ttl === undefined ? await this.#io.ttl(id) : ttl;
    const e: SessionEntry = { id, location: `${this.#io.where(id)}${t === -1 ? ' (no expiry)' : ''}`, size: item.value.length, ...ttlTimes(t === null || t < 0 ? null : t, this.#maxlifetime, Date.now()) };
    if (item.value.length > this.#io.maxBytes || (item.value.length >= 4 && item.flags & 0x10 && item.value.readUInt32LE(0) > this.#io.maxBytes)) {
      if (withData) e.tooBig = true;
      return e;
    }
    const payload = phpMemcachedString(item.value, item.flags, this.#io.where(id), this.#io.maxBytes);
    // Without data nothing is decrypted: listing sizes needs no key.
    const bytes = withData ? this.#open(id, payload) : payload;
    e.size = bytes.length;
    if (withData) e.bytes = bytes;
    return e;
  }

  async *entries(options: EntriesOptions = {}): AsyncIterable<SessionEntry> {
    const now = Date.now() / 1000;
    for await (const s of this.#io.listed(options.signal)) {
      if (s.exp !== -1 && s.exp <= now) continue;
      try {
        const e = await this.#entry(s.id, options.withData ?? false, s.exp === -1 ? -1 : Math.max(0, Math.round(s.exp - now)));
        if (e) yield e;
      } catch (err) {
        if (!options.onError) throw err;
        options.onError(this.#io.where(s.id), err as Error);
      }
    }
  }

  async read(id: string): Promise<SessionEntry | null> {
    assertLaravelSessionId(id);
    return this.#entry(id, true);
  }

  async #locked<T>(id: string, lockTimeoutMs: number, fn: (lock: MemcachedLockToken) => Promise<T>): Promise<T> {
    assertLaravelSessionId(id);
    const lock = await this.#io.lock(id, lockTimeoutMs);
    try {
      return await fn(lock);
    } finally {
      await this.#io.unlock(id, lock).catch(() => {});
    }
  }

  lockedRead(id: string, lockTimeoutMs: number): Promise<SessionEntry | null> {
    return this.#locked(id, lockTimeoutMs, () => this.read(id));
  }

  withLocked<T>(id: string, lockTimeoutMs: number, fn: (entry: SessionEntry | null) => Promise<T>): Promise<T> {
    return this.#locked(id, lockTimeoutMs, async () => fn(await this.read(id)));
  }

  destroy(id: string, options: { lockTimeoutMs: number; onlyIf?: (entry: SessionEntry) => boolean }): Promise<DestroyOutcome> {
    return this.#locked(id, options.lockTimeoutMs, async (lock) => {
      const entry = await this.read(id);
      if (!entry) return 'missing';
      if (options.onlyIf && !options.onlyIf(entry)) return 'kept';
      return (await this.#io.forget(id, lock)) ? 'destroyed' : 'missing';
    });
  }

  /** Rewrites with the TTL the session has left (read with `mg`), so it lives no longer than before. */
  rewrite(id: string, fn: (entry: SessionEntry & { bytes: Uint8Array }) => Uint8Array | null, options: { lockTimeoutMs: number }): Promise<RewriteOutcome> {
    return this.#locked(id, options.lockTimeoutMs, async (lock) => {
      const entry = await this.read(id);
      if (!entry?.bytes) return 'missing';
      const out = fn(entry as SessionEntry & { bytes: Uint8Array });
      if (out === null || Buffer.from(out).equals(entry.bytes)) return 'unchanged';
      const ttl = await this.#io.ttl(id);
      if (ttl === null) return 'missing';
      await this.#io.put(id, this.#seal(out), ttl < 0 ? 0 : Math.max(1, ttl), lock);
      return 'rewritten';
    });
  }

  put(id: string, bytes: Uint8Array, options: { expiresAtMs: number; lockTimeoutMs: number; overwrite?: boolean }): Promise<PutOutcome> {
    return this.#locked(id, options.lockTimeoutMs, async (lock) => {
      if (!options.overwrite && (await this.#io.getStored(id)) !== null) return 'exists';
      await this.#io.put(id, this.#seal(bytes), Math.max(1, Math.ceil((options.expiresAtMs - Date.now()) / 1000)), lock);
      return 'written';
    });
  }

  /** Nothing to delete: Laravel writes every session with an expiry and memcached drops it. */
  gc(options: GcOptions): Promise<GcReport> {
    const io = this.#io;
    async function* sessions() {
      for await (const s of io.listed(options.signal)) yield { ttlSeconds: s.exp === -1 ? null : 1, server: s.server, key: `${io.prefix.toString('latin1')}${s.id}` };
    }
    return gcByExpiry(this.description, options, sessions, {
      nothingToDo: 'laravel-memcached: nothing to delete — Laravel writes each session with an expiry of SESSION_LIFETIME and memcached expires it itself (the cache driver\'s gc does nothing).',
      neverExpire: (n) => `${n} session item(s) have NO expiry (not written by Laravel; check them, then \`sessctl destroy\` them):`,
    });
  }

  close(): Promise<void> {
    return this.store.close();
  }
}
