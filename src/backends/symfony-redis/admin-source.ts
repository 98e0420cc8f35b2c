/**
 * The operator's view of Symfony's RedisSessionHandler keys (`sessctl … --save-handler
 * symfony-redis --save-path redis://host:6379/0`, ini `symfony.prefix`, default `sf_s`): SCAN over
 * the prefix. As for phpredis, the last write is derived from the TTL (`now - (ttl option or
 * gc_maxlifetime - ttl left)`), and gc deletes nothing: Redis expires the keys.
 * Changes take the Node-side `<key>_LOCK` lock, which excludes sessctl's other writers but not
 * Symfony's requests (Symfony takes no lock).
 */
import { BackendError } from '../../errors.js';
import { changedBytes, gcByExpiry, ttlTimes, type AdminSource, type AdminSourceSettings, type DestroyOutcome, type EntriesOptions, type GcOptions, type GcReport, type PutOutcome, type RewriteOutcome, type SessionEntry } from '../../session/admin.js';
import { assertValidSessionId } from '../../session/session-id.js';
import { SymfonyRedisSessionStore, SYMFONY_REDIS_PREFIX, type SymfonyRedisLocation } from './store.js';

/** SET … KEEPTTL (an admin rewrite must not extend the session's life; Redis ≥ 6). */
const REWRITE_SCRIPT = 'if redis.call("exists",KEYS[1]) == 1 then redis.call("set",KEYS[1],ARGV[1],"KEEPTTL") return 1 else return 0 end';

interface KeyInfo {
  ttlSeconds: number | null;
  server: string;
  key: string;
}

export class SymfonyRedisAdminSource implements AdminSource {
  readonly saveHandler = 'symfony-redis';
  readonly description: string;
  readonly store: SymfonyRedisSessionStore;
  readonly #maxlifetime: number;

  /** @throws ConfigError for a bad Redis URL. */
  constructor(settings: Pick<AdminSourceSettings, 'savePath' | 'serializeHandler' | 'maxlifetime' | 'ini' | 'maxBytes'>) {
    this.#maxlifetime = settings.maxlifetime;
    this.store = new SymfonyRedisSessionStore({
      url: settings.savePath || undefined,
      prefix: settings.ini?.['symfony.prefix'] ?? SYMFONY_REDIS_PREFIX,
      // The admin commands decode the bytes themselves; the store only moves them.
      serializeHandler: settings.serializeHandler === 'auto' ? 'php' : settings.serializeHandler,
      gcMaxlifetime: Math.max(1, settings.maxlifetime),
      ...(settings.maxBytes ? { maxBytes: settings.maxBytes } : {}),
    });
    this.description = this.store.describe();
  }

  check(): Promise<void> {
    return this.store.ping();
  }

  validateId(id: string): void {
    assertValidSessionId(id);
  }

  #entry(loc: SymfonyRedisLocation, ttl: unknown, sizeOrBytes: unknown, now: number): SessionEntry | null {
    if (Number(ttl) === -2 || sizeOrBytes === null) return null; // gone meanwhile
    const ttlSeconds = Number(ttl) < 0 ? null : Number(ttl);
    const bytes = Buffer.isBuffer(sizeOrBytes) ? sizeOrBytes : undefined;
    const entry: SessionEntry = {
      id: loc.id,
      location: `${loc.target.label} ${loc.key.toString('latin1')}${ttlSeconds === null ? ' (no TTL)' : ''}`,
      size: bytes ? bytes.length : Number(sizeOrBytes),
      ...ttlTimes(ttlSeconds, this.#maxlifetime, now),
    };
    if (bytes && bytes.length > this.store.settings.maxBytes) entry.tooBig = true;
    else if (bytes) entry.bytes = bytes;
    return entry;
  }

  async *#withTtl(withData: boolean, onError?: EntriesOptions['onError'], signal?: AbortSignal): AsyncGenerator<{ entry: SessionEntry; info: KeyInfo }> {
    for await (const page of this.store.keyPages(signal)) {
      const replies = await Promise.all(
        page.map(({ key, target }) =>
          Promise.all([target.send(['TTL', key], key, true), target.send([withData ? 'GET' : 'STRLEN', key], key, true)]).catch((err: unknown) => err as Error),
        ),
      );
      const now = Date.now();
      for (const [i, loc] of page.entries()) {
        const reply = replies[i]!;
        if (reply instanceof Error) {
          // A key of another type under the prefix (WRONGTYPE) is reported, not fatal.
          if (onError && reply instanceof BackendError && reply.code === 'EBACKEND') {
            onError(`${loc.target.label} ${loc.key.toString('latin1')}`, reply);
            continue;
          }
          throw reply;
        }
        const entry = this.#entry(loc, reply[0], reply[1], now);
        if (!entry) continue;
        const ttlSeconds = Number(reply[0]) < 0 ? null : Number(reply[0]);
        yield { entry, info: { ttlSeconds, server: loc.target.label, key: loc.key.toString('latin1') } };
      }
    }
  }

  async *entries(options: EntriesOptions = {}): AsyncIterable<SessionEntry> {
    for await (const { entry } of this.#withTtl(options.withData ?? false, options.onError, options.signal)) yield entry;
  }

  async read(id: string): Promise<SessionEntry | null> {
    const loc = this.store.locate(id);
    const [ttl, bytes] = await Promise.all([loc.target.send(['TTL', loc.key], loc.key, true), loc.target.send(['GET', loc.key], loc.key, true)]);
    return this.#entry(loc, ttl, bytes, Date.now());
  }

  lockedRead(id: string, lockTimeoutMs: number): Promise<SessionEntry | null> {
    return this.store.withLock(id, lockTimeoutMs, () => this.read(id));
  }

  destroy(id: string, options: { lockTimeoutMs: number; onlyIf?: (entry: SessionEntry) => boolean }): Promise<DestroyOutcome> {
    return this.store.withLock(id, options.lockTimeoutMs, async (loc) => {
      const entry = await this.read(id);
      if (!entry) return 'missing';
      if (options.onlyIf && !options.onlyIf(entry)) return 'kept';
      return (await this.store.unlink(loc)) ? 'destroyed' : 'missing';
    });
  }

  rewrite(id: string, fn: (entry: SessionEntry & { bytes: Uint8Array }) => Uint8Array | null, options: { lockTimeoutMs: number }): Promise<RewriteOutcome> {
    return this.store.withLock(id, options.lockTimeoutMs, async (loc) => {
      const entry = await this.read(id);
      if (!entry?.bytes) return 'missing';
      const buf = changedBytes(entry as SessionEntry & { bytes: Uint8Array }, fn);
      if (buf === null) return 'unchanged';
      const done = await loc.target.send(['EVAL', REWRITE_SCRIPT, '1', loc.key, buf], loc.key);
      return Number(done) === 1 ? 'rewritten' : 'missing';
    });
  }

  withLocked<T>(id: string, lockTimeoutMs: number, fn: (entry: SessionEntry | null) => Promise<T>): Promise<T> {
    return this.store.withLock(id, lockTimeoutMs, async () => fn(await this.read(id)));
  }

  /** SETEX with the TTL left until `expiresAtMs`, under the Node-side lock. */
  put(id: string, bytes: Uint8Array, options: { expiresAtMs: number; lockTimeoutMs: number; overwrite?: boolean }): Promise<PutOutcome> {
    assertValidSessionId(id);
    return this.store.withLock(id, options.lockTimeoutMs, async (loc) => {
      if (!options.overwrite && Number(await loc.target.send(['EXISTS', loc.key], loc.key)) === 1) return 'exists';
      const ttl = Math.max(1, Math.ceil((options.expiresAtMs - Date.now()) / 1000));
      await this.store.write(loc, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), ttl);
      return 'written';
    });
  }

  /** Nothing to delete: RedisSessionHandler::gc() does nothing and Redis expires the keys. Keys without a TTL are named. */
  gc(options: GcOptions): Promise<GcReport> {
    const infos = async function* (self: SymfonyRedisAdminSource, onError: (location: string, err: Error) => void) {
      for await (const { info } of self.#withTtl(false, onError, options.signal)) yield info;
    };
    return gcByExpiry(this.description, options, (onError) => infos(this, onError), {
      nothingToDo: 'symfony-redis: nothing to delete — RedisSessionHandler writes every session with a TTL (its ttl option, else session.gc_maxlifetime) and its gc() does nothing; Redis expires the keys.',
      neverExpire: (n) => `${n} session key(s) have NO TTL and will never expire (not written by RedisSessionHandler; check them, then \`sessctl destroy\` them or set a TTL):`,
    });
  }

  close(): Promise<void> {
    return this.store.close();
  }
}
