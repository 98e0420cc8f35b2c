/**
 * RedisSessionStore: PHP sessions kept by phpredis (`session.save_handler = redis` or
 * `rediscluster`), read and written from Node byte for byte as PHP does, with phpredis's lock.
 */
import { BackendError, ConfigError } from '../../errors.js';
import { PhpArray } from '../../codec/values.js';
import { updateSession, type OpenOptions, type SessionBackend, type SessionUpdater } from '../../session/contract.js';
import { createUnusedId } from '../../session/new-session-id.js';
import { assertValidSessionId, isValidSessionId } from '../../session/session-id.js';
import { resolveSessionSettings, type ResolvedSessionSettings, type SessionSettings } from '../../session/settings.js';
import { startSession } from '../../session/start.js';
import { decodeSession, encodeSession } from '../../codec/index.js';
import { ClusterConnection, ServerConnection, type CommandTarget, type TimeoutOptions } from '../shared/redis/connection.js';
import { RedisSessionHandle, type SessionLocation } from './handle.js';
import { acquireLock, lockKeyOf, newLockSecret, releaseLock, type LockSettings } from '../shared/redis/lock.js';
import { scanSessionKeys } from '../shared/redis/scan.js';
import {
  describeServer,
  parseRedisClusterSavePath,
  parseRedisSavePath,
  type RedisClusterSavePath,
  type RedisSavePath,
} from './save-path.js';
import { pickServerIndex } from './server-pick.js';

export interface RedisStoreOptions extends SessionSettings {
  /** phpredis `session.save_path` (or its parsed form). Default `tcp://127.0.0.1:6379`. */
  savePath?: string | RedisSavePath | RedisClusterSavePath;
  /** `session.save_handler`: `redis` (default) or `rediscluster`. */
  saveHandler?: 'redis' | 'rediscluster';
  /** `redis.session.locking_enabled`, default false (as in phpredis). Not available with rediscluster. */
  locking?: boolean;
  /** `redis.session.lock_expire` in seconds; default 30 (phpredis uses max_execution_time, 30 in php.ini). 0 = never expires. */
  lockExpireSeconds?: number;
  /** `redis.session.lock_retries`; default 100 (phpredis 6; 5.x used 10). -1 = forever. */
  lockRetries?: number;
  /** `redis.session.lock_wait_time` in µs; default 20000 (phpredis 6; 5.x used 2000). */
  lockWaitTimeUs?: number;
  /** Connect timeout; default the save_path `timeout`, else 5000 ms. */
  connectTimeoutMs?: number;
  /** Per-command timeout; default the save_path `read_timeout`, else 5000 ms. */
  commandTimeoutMs?: number;
}

/** What the CLI shows per session. */
export interface RedisSessionInfo {
  id: string;
  /** The Redis key (prefix + id), latin1 so every byte survives. */
  key: string;
  /** The server (or cluster node) holding it. */
  server: string;
  /** Seconds left; null when the key has no TTL (PHP always sets one: something else wrote it). */
  ttlSeconds: number | null;
  /** Stored bytes (STRLEN). */
  size: number;
}

const DEFAULT_SAVE_PATH = 'tcp://127.0.0.1:6379';
const DEFAULT_TIMEOUT_MS = 5000;

interface Keyspace {
  target: CommandTarget;
  prefix: Buffer;
}

function checkInt(name: string, v: number, min: number): number {
  if (!Number.isInteger(v) || v < min) throw new ConfigError(`${name} must be an integer ≥ ${min}, got ${v}`);
  return v;
}

export class RedisSessionStore implements SessionBackend {
  readonly saveHandler: 'redis' | 'rediscluster';
  readonly savePath: RedisSavePath | RedisClusterSavePath;
  readonly settings: ResolvedSessionSettings;
  readonly locking: boolean;
  readonly lockExpireSeconds: number;
  readonly lockRetries: number;
  readonly lockWaitTimeUs: number;
  readonly timeouts: TimeoutOptions;
  /** Per save_path server (single) or one entry (cluster). */
  readonly #keyspaces: Keyspace[];
  readonly #weights: Array<{ weight: number }>;

  /** @throws ConfigError for a bad save_path or setting. Connects lazily (first command). */
  constructor(options: RedisStoreOptions = {}) {
    this.saveHandler = options.saveHandler ?? 'redis';
    if (this.saveHandler !== 'redis' && this.saveHandler !== 'rediscluster') {
      throw new ConfigError(`save handler must be "redis" or "rediscluster", got ${JSON.stringify(this.saveHandler)}`);
    }
    const sp = options.savePath ?? DEFAULT_SAVE_PATH;
    if (this.saveHandler === 'redis') {
      if (typeof sp !== 'string' && !('servers' in sp)) throw new ConfigError('the redis handler needs a redis save_path (tcp://…), not a cluster one');
      this.savePath = typeof sp === 'string' ? parseRedisSavePath(sp) : sp;
    } else {
      if (typeof sp !== 'string' && !('seeds' in sp)) throw new ConfigError('the rediscluster handler needs a seed[]=host:port save_path');
      this.savePath = typeof sp === 'string' ? parseRedisClusterSavePath(sp) : sp;
    }
    this.settings = resolveSessionSettings(options, 'RedisSessionStore');
    this.locking = options.locking ?? false;
    if (this.locking && this.saveHandler === 'rediscluster') {
      throw new ConfigError('phpredis does not lock rediscluster sessions, so a lock from Node would not exclude PHP: use locking only with the redis handler');
    }
    this.lockExpireSeconds = checkInt('lockExpireSeconds (redis.session.lock_expire)', options.lockExpireSeconds ?? 30, 0);
    this.lockWaitTimeUs = checkInt('lockWaitTimeUs (redis.session.lock_wait_time)', options.lockWaitTimeUs ?? 20000, 1);
    // phpredis counts retries; an explicit lockTimeoutMs is turned into the same count.
    this.lockRetries =
      options.lockTimeoutMs !== undefined
        ? Math.ceil((this.settings.lockTimeoutMs * 1000) / this.lockWaitTimeUs)
        : checkInt('lockRetries (redis.session.lock_retries)', options.lockRetries ?? 100, -1);

    if ('servers' in this.savePath) {
      const connections = new Map<string, ServerConnection>();
      this.#keyspaces = this.savePath.servers.map((server) => {
        const label = describeServer(server);
        const timeouts = {
          connectTimeoutMs: options.connectTimeoutMs ?? (server.timeout ? server.timeout * 1000 : DEFAULT_TIMEOUT_MS),
          commandTimeoutMs: options.commandTimeoutMs ?? (server.readTimeout ? server.readTimeout * 1000 : DEFAULT_TIMEOUT_MS),
        };
        const id = `${label}|${server.auth?.user ?? ''}|${server.auth?.pass ?? ''}`;
        let conn = connections.get(id);
        if (!conn) connections.set(id, (conn = new ServerConnection(label, server, timeouts)));
        return { target: conn, prefix: server.prefix };
      });
      this.#weights = this.savePath.servers;
      this.timeouts = { connectTimeoutMs: options.connectTimeoutMs ?? DEFAULT_TIMEOUT_MS, commandTimeoutMs: options.commandTimeoutMs ?? DEFAULT_TIMEOUT_MS };
    } else {
      const c = this.savePath;
      this.timeouts = {
        connectTimeoutMs: options.connectTimeoutMs ?? (c.timeout ? c.timeout * 1000 : DEFAULT_TIMEOUT_MS),
        commandTimeoutMs: options.commandTimeoutMs ?? (c.readTimeout ? c.readTimeout * 1000 : DEFAULT_TIMEOUT_MS),
      };
      this.#keyspaces = [{ target: new ClusterConnection(c.seeds, c.auth, this.timeouts), prefix: c.prefix }];
      this.#weights = [{ weight: 1 }];
    }
  }

  /** @internal */
  lockSettings(options?: OpenOptions): LockSettings {
    const retries =
      options?.lockTimeoutMs !== undefined ? Math.max(0, Math.ceil((options.lockTimeoutMs * 1000) / this.lockWaitTimeUs)) : this.lockRetries;
    return { expireSeconds: this.lockExpireSeconds, retries, waitTimeUs: this.lockWaitTimeUs };
  }
  /** @internal PHP's bytes for `data` with this store's serialize handler. @throws EncodeError */
  encode(data: PhpArray): Buffer {
    return encodeSession(data, this.settings.serializeHandler, this.settings.encodeOptions);
  }

  /**
   * Where `id` lives: the server phpredis picks, the key (prefix + id) and the lock key.
   * @throws InvalidSessionIdError for an id PHP's session module would not generate.
   */
  locate(id: string): SessionLocation {
    assertValidSessionId(id);
    const ks = this.#keyspaces[pickServerIndex(this.#weights, id)]!;
    const key = Buffer.concat([ks.prefix, Buffer.from(id, 'latin1')]);
    return { id, target: ks.target, key, lockKey: lockKeyOf(key) };
  }

  isValidId(id: string): boolean {
    return isValidSessionId(id);
  }

  /** A fresh id no stored session uses. @throws BackendError when Redis fails; SessctlError (EIDCOLLISION). */
  createId(): Promise<string> {
    return createUnusedId({ length: this.settings.sidLength, bitsPerCharacter: this.settings.sidBitsPerCharacter }, (id) => this.exists(id));
  }

  /** session_start() with PHP's id rules (see startSession): strict mode's check is the locked GET itself. */
  async start(id?: string | null, options?: OpenOptions): Promise<RedisSessionHandle> {
    return startSession(this, id, options);
  }

  /** Answers PING on every server (the admin commands' first check). @throws BackendError */
  async ping(): Promise<void> {
    for (const { target } of await this.#scanSpaces()) await target.send(['PING'], undefined, true);
  }

  /** EXISTS prefix+id (what phpredis's strict mode asks). False for ids PHP would refuse. @throws BackendError */
  async exists(id: string): Promise<boolean> {
    if (!this.isValidId(id)) return false;
    const { target, key } = this.locate(id);
    return Number(await target.send(['EXISTS', key], key, true)) === 1;
  }

  /** @throws BackendError ETOOBIG for a stored value above maxBytes (never decoded). */
  #checkSize(bytes: Buffer | null, loc: SessionLocation): void {
    if (bytes && bytes.length > this.settings.maxBytes) {
      throw new BackendError(`${loc.target.label} ${loc.key.toString('latin1')}: is ${bytes.length} bytes, above the ${this.settings.maxBytes}-byte limit (maxBytes)`, 'ETOOBIG');
    }
  }

  #decode(bytes: Buffer, loc: SessionLocation): PhpArray {
    return decodeSession(bytes, this.settings.serializeHandler, { ...this.settings.decodeOptions, source: `${loc.target.label} ${loc.key.toString('latin1')}` });
  }

  /**
   * Takes phpredis's lock (when locking is on) and reads the session.
   * @throws InvalidSessionIdError, LockTimeoutError, DecodeError (the lock is released, the
   *   stored bytes are left alone — PHP would delete them), BackendError.
   */
  async open(id: string, options?: OpenOptions): Promise<RedisSessionHandle> {
    return (await this.#open(id, options, false))!;
  }

  /**
   * Strict mode's check and open() in one step: the lock and GET in one round trip (no
   * EXISTS first); null, with the lock released, when no session is stored under `id`.
   * @throws like open().
   */
  async openExisting(id: string, options?: OpenOptions): Promise<RedisSessionHandle | null> {
    if (!this.isValidId(id)) return null;
    return this.#open(id, options, true);
  }

  async #open(id: string, options: OpenOptions | undefined, onlyExisting: boolean): Promise<RedisSessionHandle | null> {
    const loc = this.locate(id);
    const secret = this.locking ? newLockSecret() : null;
    const get = ['GET', loc.key];
    let bytes: Buffer | null = null;
    if (secret !== null) bytes = (await acquireLock(loc.target, loc.lockKey, secret, this.lockSettings(options), get)) as Buffer | null;
    let data: PhpArray;
    try {
      if (secret === null) bytes = (await loc.target.send(get, loc.key, true)) as Buffer | null;
      if (bytes === null && onlyExisting) {
        if (secret !== null) await releaseLock(loc.target, loc.lockKey, secret);
        return null;
      }
      this.#checkSize(bytes, loc);
      data = bytes ? this.#decode(bytes, loc) : new PhpArray();
    } catch (err) {
      if (secret !== null) await releaseLock(loc.target, loc.lockKey, secret).catch(() => {});
      throw err;
    }
    const handle = new RedisSessionHandle(this, loc, secret, bytes ?? Buffer.alloc(0), bytes === null, data);
    if (options?.readAndClose) await handle.close();
    return handle;
  }

  /** Reads without locking. Null when missing. @throws InvalidSessionIdError, DecodeError, BackendError (ETOOBIG above maxBytes, as open()) */
  async read(id: string): Promise<PhpArray | null> {
    const loc = this.locate(id);
    const bytes = (await loc.target.send(['GET', loc.key], loc.key, true)) as Buffer | null;
    this.#checkSize(bytes, loc);
    return bytes ? this.#decode(bytes, loc) : null;
  }

  /** The raw stored bytes without locking (null when missing). @throws InvalidSessionIdError, BackendError */
  async readBytes(id: string): Promise<Buffer | null> {
    const loc = this.locate(id);
    return (await loc.target.send(['GET', loc.key], loc.key, true)) as Buffer | null;
  }

  /** Lock, read, apply `fn`, write, unlock. @throws like open() and save() */
  update(id: string, fn: SessionUpdater): Promise<PhpArray> {
    return updateSession(this, id, fn);
  }

  /** DEL under the lock. False when there was no session. @throws InvalidSessionIdError, LockTimeoutError, BackendError */
  async destroy(id: string): Promise<boolean> {
    const loc = this.locate(id);
    const secret = this.locking ? newLockSecret() : null;
    if (secret !== null) await acquireLock(loc.target, loc.lockKey, secret, this.lockSettings());
    try {
      return Number(await loc.target.send(['DEL', loc.key], loc.key)) === 1;
    } finally {
      if (secret !== null) await releaseLock(loc.target, loc.lockKey, secret).catch(() => {});
    }
  }

  /** EXPIRE gc_maxlifetime. False when missing. @throws InvalidSessionIdError, BackendError */
  async touch(id: string): Promise<boolean> {
    const loc = this.locate(id);
    return Number(await loc.target.send(['EXPIRE', loc.key, String(this.settings.gcMaxlifetime)], loc.key)) === 1;
  }

  /** TTL and size of one session; null when missing. @throws InvalidSessionIdError, BackendError */
  async stat(id: string): Promise<RedisSessionInfo | null> {
    const loc = this.locate(id);
    const [ttl, size] = await Promise.all([
      loc.target.send(['TTL', loc.key], loc.key, true),
      loc.target.send(['STRLEN', loc.key], loc.key, true),
    ]);
    if (Number(ttl) === -2) return null;
    return { id, key: loc.key.toString('latin1'), server: loc.target.label, ttlSeconds: Number(ttl) < 0 ? null : Number(ttl), size: Number(size) };
  }

  /**
   * Runs `fn` while holding phpredis's lock on `id` (taken even when `locking` is off: a lock
   * excludes PHPs that lock and costs nothing otherwise). Used by the admin commands.
   * @throws InvalidSessionIdError, LockTimeoutError, BackendError, whatever `fn` throws.
   */
  async withLock<T>(id: string, lockTimeoutMs: number | undefined, fn: (loc: SessionLocation, secret: string) => Promise<T>): Promise<T> {
    const loc = this.locate(id);
    const secret = newLockSecret();
    await acquireLock(loc.target, loc.lockKey, secret, this.lockSettings(lockTimeoutMs === undefined ? undefined : { lockTimeoutMs }));
    try {
      return await fn(loc, secret);
    } finally {
      await releaseLock(loc.target, loc.lockKey, secret).catch(() => {});
    }
  }

  /** Every (server, prefix) to scan, each once even if the save_path names a server twice. */
  async #scanSpaces(): Promise<Keyspace[]> {
    const seen = new Set<string>();
    const out: Keyspace[] = [];
    for (const ks of this.#keyspaces) {
      for (const target of await ks.target.scanTargets()) {
        const tag = `${target.label}|${ks.prefix.toString('latin1')}`;
        if (seen.has(tag)) continue;
        seen.add(tag);
        out.push({ target, prefix: ks.prefix });
      }
    }
    return out;
  }

  /**
   * Session keys page by page (one SCAN reply each), streamed with SCAN MATCH prefix* (bounded
   * memory), `_LOCK` keys and keys whose id PHP would refuse left out.
   */
  async *#keyPages(signal?: AbortSignal): AsyncGenerator<Array<{ id: string; key: Buffer; target: CommandTarget }>> {
    for (const { target, prefix } of await this.#scanSpaces()) {
      for await (const page of scanSessionKeys(target, prefix, signal)) yield page.map(({ id, key }) => ({ id, key, target }));
    }
  }

  /** Every session key, streamed (SCAN). @throws BackendError */
  async *keys(options: { signal?: AbortSignal } = {}): AsyncGenerator<{ id: string; key: Buffer; target: CommandTarget }> {
    for await (const page of this.#keyPages(options.signal)) yield* page;
  }

  /** Every session id, streamed (SCAN). @throws BackendError */
  async *ids(): AsyncGenerator<string> {
    for await (const k of this.keys()) yield k.id;
  }

  /**
   * Every session with its TTL and size (and its bytes with `withData`), streamed: SCAN, then
   * TTL + STRLEN (or GET) for a whole SCAN page at once, pipelined on the connection.
   * @throws BackendError
   */
  async *sessions(
    options: { signal?: AbortSignal; withData?: boolean; onError?: (location: string, err: Error) => void } = {},
  ): AsyncGenerator<RedisSessionInfo & { bytes?: Buffer }> {
    for await (const page of this.#keyPages(options.signal)) {
      const replies = await Promise.all(
        page.map(({ key, target }) =>
          Promise.all([target.send(['TTL', key], key, true), target.send(options.withData ? ['GET', key] : ['STRLEN', key], key, true)]).catch(
            (err: unknown) => err as Error,
          ),
        ),
      );
      for (const [i, { id, key, target }] of page.entries()) {
        const reply = replies[i]!;
        if (reply instanceof Error) {
          // A key of another type under the prefix (WRONGTYPE) is reported, not fatal.
          if (options.onError && reply instanceof BackendError && reply.code === 'EBACKEND') {
            options.onError(`${target.label} ${key.toString('latin1')}`, reply);
            continue;
          }
          throw reply;
        }
        const [ttl, sizeOrBytes] = reply;
        if (Number(ttl) === -2 || sizeOrBytes === null) continue; // expired between SCAN and now
        const info: RedisSessionInfo & { bytes?: Buffer } = {
          id,
          key: key.toString('latin1'),
          server: target.label,
          ttlSeconds: Number(ttl) < 0 ? null : Number(ttl),
          size: Buffer.isBuffer(sizeOrBytes) ? sizeOrBytes.length : Number(sizeOrBytes),
        };
        if (Buffer.isBuffer(sizeOrBytes)) info.bytes = sizeOrBytes;
        yield info;
      }
    }
  }

  /** Where this store points, for messages. */
  describe(): string {
    return 'servers' in this.savePath
      ? `redis ${this.savePath.servers.map(describeServer).join(', ')}`
      : `rediscluster ${this.savePath.seeds.map((s) => `${s.host}:${s.port}`).join(', ')}`;
  }

  /** Closes every connection. */
  async close(): Promise<void> {
    const targets = new Set(this.#keyspaces.map((k) => k.target));
    await Promise.all([...targets].map((t) => t.close()));
  }
}
