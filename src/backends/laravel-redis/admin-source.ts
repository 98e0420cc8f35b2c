/**
 * The operator's view of a Laravel app's `redis` sessions (`--save-handler laravel-redis
 * --save-path redis://…`, ini `laravel.prefix`). The bytes the commands see are the session's
 * serialize($attributes): the RedisStore wrapping is removed (and, with a payloadCipher, the
 * encryption), and put back on every write. Changes happen under Laravel's session block lock.
 * Redis keeps no mtime; it is derived from the TTL (Laravel writes with lifetime × 60).
 */
import { gcByExpiry, ttlTimes, type AdminSource, type AdminSourceSettings, type DestroyOutcome, type EntriesOptions, type GcOptions, type GcReport, type PutOutcome, type RewriteOutcome, type SessionEntry } from '../../session/admin.js';
import { SESSION_DEFAULTS } from '../../session/settings.js';
import { assertLaravelSessionId, type PayloadCipher } from '../shared/laravel.js';
import { LARAVEL_REDIS_PREFIX, LaravelRedisSessionStore, type RedisIo } from './store.js';
import { unwrapCacheString } from './value.js';

export interface LaravelCacheAdminOptions {
  /** For `encrypt => true` apps: sessctl/laravel's `laravelPayloadCipher(encrypter)`. */
  payloadCipher?: PayloadCipher;
}

export class LaravelRedisAdminSource implements AdminSource {
  readonly saveHandler = 'laravel-redis';
  readonly description: string;
  readonly store: LaravelRedisSessionStore;
  readonly #maxlifetime: number;
  readonly #cipher: PayloadCipher | undefined;
  readonly #io: RedisIo;
  readonly #maxBytes: number;

  /** @throws ConfigError for a bad URL or prefix. */
  constructor(settings: Pick<AdminSourceSettings, 'savePath' | 'maxlifetime' | 'ini' | 'maxBytes' | 'payloadCipher'>, options: LaravelCacheAdminOptions = {}) {
    this.#maxlifetime = settings.maxlifetime;
    this.#cipher = options.payloadCipher ?? settings.payloadCipher;
    this.#maxBytes = settings.maxBytes ?? SESSION_DEFAULTS.maxBytes;
    this.store = new LaravelRedisSessionStore({
      url: settings.savePath || undefined,
      prefix: settings.ini?.['laravel.prefix'] ?? LARAVEL_REDIS_PREFIX,
      gcMaxlifetime: Math.max(1, settings.maxlifetime),
      ...(settings.maxBytes ? { maxBytes: settings.maxBytes } : {}),
    });
    this.#io = this.store.redis;
    this.description = this.#io.description;
  }

  validateId(id: string): void {
    assertLaravelSessionId(id);
  }

  check(): Promise<void> {
    return this.store.ping();
  }

  /** Stored value → serialize($attributes). @throws DecodeError */
  #open(id: string, stored: Buffer): Buffer {
    const payload = unwrapCacheString(stored, this.#io.where(id));
    return this.#cipher && payload.length > 0 ? Buffer.from(this.#cipher.open(payload, this.#io.where(id))) : payload;
  }
  #seal(plain: Uint8Array): Buffer {
    return Buffer.from(this.#cipher ? this.#cipher.seal(plain) : plain);
  }

  /** Without `withData` nothing is decrypted, so listing sizes and gc need no key. */
  #entry(id: string, ttl: unknown, stored: Buffer, now: number, withData = true): SessionEntry {
    const t = Number(ttl);
    const e: SessionEntry = { id, location: `${this.#io.where(id)}${t === -1 ? ' (no TTL)' : ''}`, size: stored.length, ...ttlTimes(t < 0 ? null : t, this.#maxlifetime, now) };
    if (stored.length > this.#maxBytes) {
      if (withData) e.tooBig = true;
    } else if (withData) {
      e.bytes = this.#open(id, stored);
      e.size = e.bytes.length;
    } else if (!this.#cipher) {
      e.size = unwrapCacheString(stored, this.#io.where(id)).length;
    }
    return e;
  }

  async *entries(options: EntriesOptions = {}): AsyncIterable<SessionEntry> {
    const t = this.#io.target;
    for await (const page of this.#io.keys(options.signal)) {
      const replies = await Promise.all(page.map(({ key }) => Promise.all([t.send(['TTL', key], key, true), t.send(['GET', key], key, true)]).catch((err: unknown) => err as Error)));
      for (const [i, { id }] of page.entries()) {
        const r = replies[i]!;
        try {
          if (r instanceof Error) throw r;
          if (r[1] === null) continue; // expired since the SCAN
          yield this.#entry(id, r[0], r[1] as Buffer, Date.now(), options.withData ?? false);
        } catch (err) {
          if (!options.onError) throw err;
          options.onError(this.#io.where(id), err as Error);
        }
      }
    }
  }

  async read(id: string): Promise<SessionEntry | null> {
    assertLaravelSessionId(id);
    const key = this.#io.key(id);
    const [ttl, stored] = await Promise.all([this.#io.target.send(['TTL', key], key, true), this.#io.getStored(id)]);
    return stored === null ? null : this.#entry(id, ttl, stored, Date.now());
  }

  async #locked<T>(id: string, lockTimeoutMs: number, fn: (owner: string) => Promise<T>): Promise<T> {
    assertLaravelSessionId(id);
    const owner = await this.#io.lock(id, lockTimeoutMs);
    try {
      return await fn(owner);
    } finally {
      await this.#io.unlock(id, owner).catch(() => {});
    }
  }

  lockedRead(id: string, lockTimeoutMs: number): Promise<SessionEntry | null> {
    return this.#locked(id, lockTimeoutMs, () => this.read(id));
  }

  withLocked<T>(id: string, lockTimeoutMs: number, fn: (entry: SessionEntry | null) => Promise<T>): Promise<T> {
    return this.#locked(id, lockTimeoutMs, async () => fn(await this.read(id)));
  }

  destroy(id: string, options: { lockTimeoutMs: number; onlyIf?: (entry: SessionEntry) => boolean }): Promise<DestroyOutcome> {
    return this.#locked(id, options.lockTimeoutMs, async (owner) => {
      const entry = await this.read(id);
      if (!entry) return 'missing';
      if (options.onlyIf && !options.onlyIf(entry)) return 'kept';
      return (await this.#io.forget(id, owner)) ? 'destroyed' : 'missing';
    });
  }

  rewrite(id: string, fn: (entry: SessionEntry & { bytes: Uint8Array }) => Uint8Array | null, options: { lockTimeoutMs: number }): Promise<RewriteOutcome> {
    return this.#locked(id, options.lockTimeoutMs, async (owner) => {
      const entry = await this.read(id);
      if (!entry?.bytes) return 'missing';
      const out = fn(entry as SessionEntry & { bytes: Uint8Array });
      if (out === null || Buffer.from(out).equals(entry.bytes)) return 'unchanged';
      await this.#io.rewrite(id, this.#seal(out), owner);
      return 'rewritten';
    });
  }

  put(id: string, bytes: Uint8Array, options: { expiresAtMs: number; lockTimeoutMs: number; overwrite?: boolean }): Promise<PutOutcome> {
    return this.#locked(id, options.lockTimeoutMs, async (owner) => {
      if (!options.overwrite && (await this.#io.getStored(id)) !== null) return 'exists';
      await this.#io.put(id, this.#seal(bytes), Math.max(1, Math.ceil((options.expiresAtMs - Date.now()) / 1000)), owner);
      return 'written';
    });
  }

  /** Nothing to delete: Laravel writes every session with a TTL and Redis expires it (CacheBasedSessionHandler::gc does nothing). */
  async gc(options: GcOptions): Promise<GcReport> {
    const self = this;
    async function* sessions(onError: (location: string, err: Error) => void) {
      for await (const e of self.entries({ signal: options.signal, onError })) {
        yield { ttlSeconds: e.location.endsWith('(no TTL)') ? null : 1, server: self.#io.target.label, key: self.store.keyOf(e.id) };
      }
    }
    return gcByExpiry(this.description, options, sessions, {
      nothingToDo: "laravel-redis: nothing to delete — Laravel writes each session with a TTL of SESSION_LIFETIME and Redis expires it (the cache driver's gc does nothing).",
      neverExpire: (n) => `${n} session key(s) have NO TTL and will never expire (not written by Laravel; check them, then \`sessctl destroy\` them):`,
    });
  }

  close(): Promise<void> {
    return this.store.close();
  }
}
