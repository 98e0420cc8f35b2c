/**
 * The CLI's view of Redis sessions (`sessctl … --save-handler redis --save-path 'tcp://…'`):
 * the AdminSource the commands are written against, registered for `redis` and `rediscluster`.
 * Loaded lazily through src/backends/index.ts, so `files` commands never load a Redis client.
 *
 * Redis keeps no modification time; a session's last write is derived from its TTL
 * (`now - (gc_maxlifetime - ttl)`), which is exact for sessions PHP wrote with the same
 * gc_maxlifetime. A key without a TTL (never written by phpredis) is listed as expired,
 * its location says "no TTL", and `gc` reports it (it would never go away by itself).
 */
import { changedBytes, gcByExpiry, ttlTimes, type AdminSource, type AdminSourceSettings, type DestroyOutcome, type EntriesOptions, type GcOptions, type GcReport, type PutOutcome, type RewriteOutcome, type SessionEntry } from '../../session/admin.js';
import { assertValidSessionId } from '../../session/session-id.js';
import { rewriteIfLocked, writeIfLocked } from '../shared/redis/lock.js';
import { RedisSessionStore, type RedisSessionInfo } from './store.js';

export class RedisAdminSource implements AdminSource {
  readonly saveHandler: string;
  readonly description: string;
  readonly store: RedisSessionStore;
  readonly #maxlifetime: number;

  /** @throws ConfigError for a bad save_path. */
  constructor(settings: Pick<AdminSourceSettings, 'saveHandler' | 'savePath' | 'serializeHandler' | 'maxlifetime' | 'maxBytes'>) {
    this.saveHandler = settings.saveHandler;
    this.#maxlifetime = settings.maxlifetime;
    this.store = new RedisSessionStore({
      saveHandler: settings.saveHandler === 'rediscluster' ? 'rediscluster' : 'redis',
      savePath: settings.savePath || undefined,
      // The admin commands decode the bytes themselves ('auto' detects the format); the store only moves bytes.
      serializeHandler: settings.serializeHandler === 'auto' ? 'php' : settings.serializeHandler,
      // The store writes with this TTL; an admin maxlifetime of 0 ("everything is old") cannot be a TTL.
      gcMaxlifetime: Math.max(1, settings.maxlifetime),
      ...(settings.maxBytes ? { maxBytes: settings.maxBytes } : {}),
    });
    const sp = this.store.savePath;
    const prefixes = 'servers' in sp ? [...new Set(sp.servers.map((s) => s.prefix.toString('latin1')))] : [sp.prefix.toString('latin1')];
    this.description = `${this.store.describe()} (prefix ${prefixes.join(', ')})`;
  }

  check(): Promise<void> {
    return this.store.ping();
  }

  validateId(id: string): void {
    assertValidSessionId(id);
  }

  #entry(info: RedisSessionInfo, now: number, bytes?: Buffer): SessionEntry {
    const entry: SessionEntry = {
      id: info.id,
      location: `${info.server} ${info.key}${info.ttlSeconds === null ? ' (no TTL)' : ''}`,
      size: info.size,
      ...ttlTimes(info.ttlSeconds, this.#maxlifetime, now),
    };
    // Above maxBytes: marked, not handed on, as every other backend does — the commands then
    // report ETOOBIG instead of decoding (or migrating) a value the store's open() refuses.
    if (bytes && bytes.length > this.store.settings.maxBytes) entry.tooBig = true;
    else if (bytes) entry.bytes = bytes;
    return entry;
  }

  async *entries(options: EntriesOptions = {}): AsyncIterable<SessionEntry> {
    for await (const info of this.store.sessions({ withData: options.withData, onError: options.onError })) {
      yield this.#entry(info, Date.now(), info.bytes);
    }
  }

  async read(id: string): Promise<SessionEntry | null> {
    assertValidSessionId(id);
    const [info, bytes] = await Promise.all([this.store.stat(id), this.store.readBytes(id)]);
    if (!info || !bytes) return null;
    return this.#entry({ ...info, size: bytes.length }, Date.now(), bytes);
  }

  async lockedRead(id: string, lockTimeoutMs: number): Promise<SessionEntry | null> {
    return this.store.withLock(id, lockTimeoutMs, () => this.read(id));
  }

  async destroy(id: string, options: { lockTimeoutMs: number; onlyIf?: (entry: SessionEntry) => boolean }): Promise<DestroyOutcome> {
    return this.store.withLock(id, options.lockTimeoutMs, async (loc) => {
      const entry = await this.read(id);
      if (!entry) return 'missing';
      if (options.onlyIf && !options.onlyIf(entry)) return 'kept';
      return Number(await loc.target.send(['DEL', loc.key], loc.key)) === 1 ? 'destroyed' : 'missing';
    });
  }

  async rewrite(
    id: string,
    fn: (entry: SessionEntry & { bytes: Uint8Array }) => Uint8Array | null,
    options: { lockTimeoutMs: number },
  ): Promise<RewriteOutcome> {
    return this.store.withLock(id, options.lockTimeoutMs, async (loc, secret) => {
      const entry = await this.read(id);
      if (!entry?.bytes) return 'missing';
      const buf = changedBytes(entry as SessionEntry & { bytes: Uint8Array }, fn);
      if (buf === null) return 'unchanged';
      await rewriteIfLocked(loc, secret, buf);
      return 'rewritten';
    });
  }

  async withLocked<T>(id: string, lockTimeoutMs: number, fn: (entry: SessionEntry | null) => Promise<T>): Promise<T> {
    return this.store.withLock(id, lockTimeoutMs, async () => fn(await this.read(id)));
  }

  /** SETEX with the TTL left until `expiresAtMs`, under phpredis's lock (refused if the lock was lost). */
  async put(id: string, bytes: Uint8Array, options: { expiresAtMs: number; lockTimeoutMs: number; overwrite?: boolean }): Promise<PutOutcome> {
    return this.store.withLock(id, options.lockTimeoutMs, async (loc, secret) => {
      if (!options.overwrite && Number(await loc.target.send(['EXISTS', loc.key], loc.key)) === 1) return 'exists';
      const ttl = Math.max(1, Math.ceil((options.expiresAtMs - Date.now()) / 1000));
      await writeIfLocked(loc, secret, ttl, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      return 'written';
    });
  }

  /**
   * Redis has no gc to run: phpredis sets a TTL of gc_maxlifetime on every write and Redis
   * expires the key. This counts the sessions and reports those without a TTL (written by
   * something else; they never expire) — it deletes nothing.
   */
  gc(options: GcOptions): Promise<GcReport> {
    return gcByExpiry(this.description, options, (onError) => this.store.sessions({ signal: options.signal, onError }), {
      nothingToDo: `${this.saveHandler}: nothing to delete — Redis expires sessions by themselves (phpredis writes every session with a TTL of session.gc_maxlifetime), so PHP's gc does nothing for Redis either.`,
      neverExpire: (n) => `${n} session key(s) have NO TTL and will never expire (not written by phpredis; check them, then \`sessctl destroy\` them or set a TTL):`,
    });
  }


  close(): Promise<void> {
    return this.store.close();
  }
}

