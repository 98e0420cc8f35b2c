/**
 * MemcachedSessionStore: PHP sessions kept by php-memcached (`session.save_handler = memcached`),
 * read and written from Node byte for byte as PHP does: the same keys, expiry, server choice and
 * lock (see lock.ts, server-pick.ts and docs/memcached.md).
 */
import { decodeSession, encodeSession } from '../../codec/index.js';
import { PhpArray } from '../../codec/values.js';
import { BackendError, ConfigError, InvalidSessionIdError } from '../../errors.js';
import { updateSession, type OpenOptions, type SessionBackend, type SessionUpdater } from '../../session/contract.js';
import { createUnusedId } from '../../session/new-session-id.js';
import { assertValidSessionId, isValidSessionId } from '../../session/session-id.js';
import { resolveSessionSettings, type ResolvedSessionSettings, type SessionSettings } from '../../session/settings.js';
import { startSession } from '../../session/start.js';
import { metadump, remainingTtl } from '../shared/memcached/ascii.js';
import { MemcachedConnection, type TimeoutOptions } from '../shared/memcached/connection.js';
import { MemcachedSessionHandle, type SessionPlace } from './handle.js';
import { acquireLock, LOCK_KEY_PREFIX, memcachedExpiry, releaseLock, type LockSettings } from './lock.js';
import { OP, STATUS, statusText, storeExtras, touchExtras, type Response } from '../shared/memcached/protocol.js';
import { parseMemcachedSavePath, type MemcachedSavePath } from '../shared/memcached/save-path.js';
import { ServerPicker, type Distribution } from '../shared/memcached/server-pick.js';

export interface MemcachedStoreOptions extends SessionSettings {
  /** php-memcached `session.save_path` (or its parsed form). Default `127.0.0.1:11211`. */
  savePath?: string | MemcachedSavePath;
  /** `memcached.sess_prefix`, default `memc.sess.key.`. */
  prefix?: string;
  /** `memcached.sess_locking`, default true (as in php-memcached). */
  locking?: boolean;
  /** `memcached.sess_lock_expire` in seconds; default 30 (PHP's 0 means max_execution_time, 30 in php.ini). 0 = never. */
  lockExpireSeconds?: number;
  /** `memcached.sess_lock_wait_min` / `sess_lock_wait_max` in ms; default 150 / 150. */
  lockWaitMinMs?: number;
  lockWaitMaxMs?: number;
  /** `memcached.sess_lock_retries`; default 5. An explicit `lockTimeoutMs` replaces the count by a deadline. */
  lockRetries?: number;
  /** `memcached.sess_consistent_hash` (default true) and `sess_consistent_hash_type` (default `ketama`). */
  consistentHash?: boolean;
  consistentHashType?: 'ketama' | 'ketama_weighted';
  /** `memcached.sess_number_of_replicas`: only 0 is supported (see docs/memcached.md). */
  numberOfReplicas?: number;
  /** Connect / per-command timeouts; default 5000 ms each. */
  connectTimeoutMs?: number;
  commandTimeoutMs?: number;
}

/** One stored session as listed from the servers. */
export interface MemcachedSessionInfo {
  id: string;
  /** The memcached key (prefix + id). */
  key: string;
  server: string;
  /** Seconds left; null when the key never expires (PHP always sets an expiry: something else wrote it). */
  ttlSeconds: number | null;
  size: number;
  bytes?: Buffer;
  /** With `withData`: the value is above maxBytes, so not read (`size` is its length). */
  tooBig?: boolean;
}

export const MEMCACHED_SESSION_PREFIX = 'memc.sess.key.';
const DEFAULT_SAVE_PATH = '127.0.0.1:11211';
const DEFAULT_TIMEOUT_MS = 5000;
/** memcached's longest key. */
const MAX_KEY = 250;
/** libmemcached's memcached_exist(): ADD with this expiry (a past unix time: the probe item is born expired). */
const EXIST_PROBE_EXPIRY = 2678400;
const EMPTY = Buffer.alloc(0);
/** Values fetched at once while listing with data (see sessions()). */
const BATCH_BYTES = 64 * 1024 * 1024;

function checkInt(name: string, v: number, min: number): number {
  if (!Number.isInteger(v) || v < min) throw new ConfigError(`MemcachedSessionStore: ${name} must be an integer ≥ ${min}, got ${v}`);
  return v;
}

export class MemcachedSessionStore implements SessionBackend {
  readonly savePath: MemcachedSavePath;
  readonly settings: ResolvedSessionSettings;
  readonly prefix: Buffer;
  readonly locking: boolean;
  readonly lock: LockSettings;
  readonly distribution: Distribution;
  readonly timeouts: TimeoutOptions;
  readonly #conns: MemcachedConnection[];
  readonly #picker: ServerPicker;
  readonly #explicitTimeout: boolean;

  /** @throws ConfigError for a bad save_path or setting. Connects lazily (first command). */
  constructor(options: MemcachedStoreOptions = {}) {
    const sp = options.savePath ?? DEFAULT_SAVE_PATH;
    this.savePath = typeof sp === 'string' ? parseMemcachedSavePath(sp) : sp;
    this.settings = resolveSessionSettings(options, 'MemcachedSessionStore');
    const prefix = options.prefix ?? MEMCACHED_SESSION_PREFIX;
    // php-memcached takes only printable ASCII without spaces in memcached.sess_prefix (C's isgraph).
    if (/[^\x21-\x7e]/.test(prefix) || Buffer.byteLength(prefix, 'latin1') > MAX_KEY - 1) {
      throw new ConfigError(`MemcachedSessionStore: prefix (memcached.sess_prefix) can only hold printable ASCII characters other than space (no whitespace, control or non-ASCII characters), and must be shorter than ${MAX_KEY} bytes`);
    }
    this.prefix = Buffer.from(prefix, 'latin1');
    this.locking = options.locking ?? true;
    const replicas = options.numberOfReplicas ?? 0;
    if (replicas !== 0) {
      throw new ConfigError(
        'MemcachedSessionStore: memcached.sess_number_of_replicas > 0 is not supported: libmemcached copies each key to the next servers of the list and reads them back in its own order, which sessctl does not reproduce — a write from Node could leave a stale replica that PHP then reads. Use 0 (the default).',
      );
    }
    this.lock = {
      expireSeconds: checkInt('lockExpireSeconds (memcached.sess_lock_expire)', options.lockExpireSeconds ?? 30, 0),
      waitMinMs: checkInt('lockWaitMinMs (memcached.sess_lock_wait_min)', options.lockWaitMinMs ?? 150, 0),
      waitMaxMs: checkInt('lockWaitMaxMs (memcached.sess_lock_wait_max)', options.lockWaitMaxMs ?? 150, 0),
      retries: checkInt('lockRetries (memcached.sess_lock_retries)', options.lockRetries ?? 5, 0),
    };
    this.#explicitTimeout = options.lockTimeoutMs !== undefined;
    const type = options.consistentHashType ?? 'ketama';
    if (type !== 'ketama' && type !== 'ketama_weighted') throw new ConfigError(`MemcachedSessionStore: consistentHashType must be ketama or ketama_weighted, got ${JSON.stringify(type)}`);
    this.distribution = (options.consistentHash ?? true) ? type : 'modula';
    this.timeouts = { connectTimeoutMs: options.connectTimeoutMs ?? DEFAULT_TIMEOUT_MS, commandTimeoutMs: options.commandTimeoutMs ?? DEFAULT_TIMEOUT_MS };
    this.#conns = this.savePath.servers.map((s) => new MemcachedConnection(s, this.timeouts));
    this.#picker = new ServerPicker(this.savePath.servers, this.distribution);
  }

  /** @internal the lock settings for one open (an explicit timeout becomes a deadline). */
  lockSettings(options?: OpenOptions): LockSettings {
    const timeoutMs = options?.lockTimeoutMs ?? (this.#explicitTimeout ? this.settings.lockTimeoutMs : undefined);
    return timeoutMs === undefined ? this.lock : { ...this.lock, timeoutMs };
  }

  /** @internal PHP's bytes for `data`. @throws EncodeError */
  encode(data: PhpArray): Buffer {
    return encodeSession(data, this.settings.serializeHandler, this.settings.encodeOptions);
  }

  /** @internal the expiry PHP writes sessions with. */
  expiry(): number {
    return memcachedExpiry(this.settings.gcMaxlifetime);
  }

  isValidId(id: string): boolean {
    return isValidSessionId(id) && this.prefix.length + LOCK_KEY_PREFIX.length + id.length <= MAX_KEY;
  }

  /**
   * Where `id` lives: the server libmemcached picks for it and the one it picks for its lock.
   * @throws InvalidSessionIdError for an id PHP would refuse, or one too long for a memcached key.
   */
  locate(id: string): SessionPlace {
    assertValidSessionId(id);
    if (!this.isValidId(id)) throw new InvalidSessionIdError(id, `too long for a memcached key with the prefix ${this.prefix.toString('latin1')} (at most ${MAX_KEY} bytes)`);
    const idBytes = Buffer.from(id, 'latin1');
    const lockName = Buffer.concat([Buffer.from(LOCK_KEY_PREFIX), idBytes]);
    const conn = this.#conns[this.#picker.pick(idBytes)]!;
    const key = Buffer.concat([this.prefix, idBytes]);
    return { id, conn, key, label: `${conn.label} ${key.toString('latin1')}`, lock: { conn: this.#conns[this.#picker.pick(lockName)]!, key: Buffer.concat([this.prefix, lockName]) } };
  }

  /** @internal one request, any status other than the expected ones an error naming the key. */
  async call(place: { conn: MemcachedConnection; key: Buffer }, req: Parameters<MemcachedConnection['request']>[0], ok: number[], what: string): Promise<Response> {
    const r = await place.conn.request(req);
    if (!ok.includes(r.status)) throw new BackendError(`${place.conn.label} ${place.key.toString('latin1')}: ${what} failed: ${statusText(r.status)}`, 'EBACKEND');
    return r;
  }

  /** A fresh id no stored session uses, reserved as PHP's create_sid does (an empty item). */
  createId(): Promise<string> {
    return createUnusedId({ length: this.settings.sidLength, bitsPerCharacter: this.settings.sidBitsPerCharacter }, async (id) => {
      if (await this.exists(id)) return true;
      const p = this.locate(id);
      const r = await this.call(p, { opcode: OP.ADD, key: p.key, extras: storeExtras(memcachedExpiry(this.lock.expireSeconds)), value: EMPTY }, [STATUS.OK, STATUS.EXISTS, STATUS.NOT_STORED], 'reserving a new id');
      return r.status !== STATUS.OK;
    });
  }

  /** session_start() with PHP's id rules (see startSession): strict mode's check is the GET made under the lock. */
  async start(id?: string | null, options?: OpenOptions): Promise<MemcachedSessionHandle> {
    return startSession(this, id, options);
  }

  /** PHP's validate_sid: libmemcached's memcached_exist() (an ADD probe born expired). False for ids PHP would refuse. */
  async exists(id: string): Promise<boolean> {
    if (!this.isValidId(id)) return false;
    const p = this.locate(id);
    const r = await this.call(p, { opcode: OP.ADD, key: p.key, extras: storeExtras(EXIST_PROBE_EXPIRY), value: EMPTY }, [STATUS.OK, STATUS.EXISTS, STATUS.NOT_STORED], 'checking whether the session exists');
    return r.status !== STATUS.OK;
  }

  /** The stored bytes without locking (null when missing). @throws InvalidSessionIdError, BackendError */
  async readBytes(id: string): Promise<Buffer | null> {
    // Whole, whatever maxBytes says (tests, inspecting what is there).
    const r = await this.getAt(this.locate(id), Infinity);
    return r.status === STATUS.OK ? Buffer.from(r.value) : null;
  }

  async #get(p: SessionPlace): Promise<Buffer | null> {
    const r = await this.getAt(p);
    if (r.oversized !== undefined) throw this.tooBig(p, r.oversized);
    return r.status === STATUS.OK ? Buffer.from(r.value) : null;
  }

  /**
   * @internal GET of a located session; a value above `maxValue` (default maxBytes) is not held
   * (`oversized`: its length, the value dropped as it arrives).
   */
  getAt(p: SessionPlace, maxValue: number = this.settings.maxBytes): Promise<Response> {
    return this.call(p, { opcode: OP.GET, key: p.key, maxValue }, [STATUS.OK, STATUS.NOT_FOUND], 'GET');
  }

  /** @internal */
  tooBig(p: SessionPlace, size: number): BackendError {
    return new BackendError(`${p.label}: is ${size} bytes, above the ${this.settings.maxBytes}-byte limit (maxBytes)`, 'ETOOBIG');
  }

  /** Stores bytes as they are, without a lock (tests, planting data). `ttlSeconds` default gc_maxlifetime. */
  async writeRaw(id: string, bytes: Uint8Array, ttlSeconds = this.settings.gcMaxlifetime): Promise<void> {
    const p = this.locate(id);
    await this.call(p, { opcode: OP.SET, key: p.key, extras: storeExtras(memcachedExpiry(ttlSeconds)), value: Buffer.from(bytes) }, [STATUS.OK], 'SET');
  }

  #decode(bytes: Buffer, p: SessionPlace): PhpArray {
    if (bytes.length > this.settings.maxBytes) throw this.tooBig(p, bytes.length);
    // An empty item (a reserved id, or PHP's write of an empty session) is an empty session, as PHP reads it.
    if (bytes.length === 0) return new PhpArray();
    return decodeSession(bytes, this.settings.serializeHandler, { ...this.settings.decodeOptions, source: p.label });
  }

  /**
   * Takes php-memcached's lock (when locking is on) and reads the session.
   * @throws InvalidSessionIdError, LockTimeoutError, DecodeError (the lock is released, the
   *   stored bytes are left alone — PHP would delete them), BackendError.
   */
  async open(id: string, options?: OpenOptions): Promise<MemcachedSessionHandle> {
    return (await this.#open(id, options, false))!;
  }

  /**
   * Strict mode's check and open() in one step: the lock, then GET. Null, with the lock
   * released, when no session is stored under `id` — also when it was destroyed while we
   * waited for the lock (an exists() before the lock would let the wait bring it back).
   * @throws like open().
   */
  async openExisting(id: string, options?: OpenOptions): Promise<MemcachedSessionHandle | null> {
    if (!this.isValidId(id)) return null;
    return this.#open(id, options, true);
  }

  async #open(id: string, options: OpenOptions | undefined, onlyExisting: boolean): Promise<MemcachedSessionHandle | null> {
    const p = this.locate(id);
    const cas = this.locking ? await acquireLock(p.lock, this.lockSettings(options)) : null;
    let bytes: Buffer | null;
    let data: PhpArray;
    try {
      bytes = await this.#get(p);
      if (bytes === null && onlyExisting) {
        if (cas !== null) await releaseLock(p.lock, cas);
        return null;
      }
      data = bytes ? this.#decode(bytes, p) : new PhpArray();
    } catch (err) {
      if (cas !== null) await releaseLock(p.lock, cas).catch(() => {});
      throw err;
    }
    const handle = new MemcachedSessionHandle(this, p, cas, bytes ?? EMPTY, bytes === null, data);
    if (options?.readAndClose) await handle.close();
    return handle;
  }

  async read(id: string): Promise<PhpArray | null> {
    const p = this.locate(id);
    const bytes = await this.#get(p);
    return bytes ? this.#decode(bytes, p) : null;
  }

  update(id: string, fn: SessionUpdater): Promise<PhpArray> {
    return updateSession(this, id, fn);
  }

  /** DELETE under the lock. False when there was no session. */
  async destroy(id: string): Promise<boolean> {
    return this.withLock(id, undefined, (p) => this.deleteAt(p), this.locking);
  }

  /** @internal */
  async deleteAt(p: SessionPlace): Promise<boolean> {
    const r = await this.call(p, { opcode: OP.DELETE, key: p.key }, [STATUS.OK, STATUS.NOT_FOUND], 'DELETE');
    return r.status === STATUS.OK;
  }

  /** PHP's update_timestamp: TOUCH with gc_maxlifetime. False when missing. */
  async touch(id: string): Promise<boolean> {
    return this.touchAt(this.locate(id));
  }

  /** @internal */
  async touchAt(p: SessionPlace): Promise<boolean> {
    const r = await this.call(p, { opcode: OP.TOUCH, key: p.key, extras: touchExtras(this.expiry()) }, [STATUS.OK, STATUS.NOT_FOUND], 'TOUCH');
    return r.status === STATUS.OK;
  }

  /**
   * Runs `fn` holding php-memcached's lock on `id` (by default even when `locking` is off: it
   * excludes PHPs that lock, and costs nothing otherwise).
   * @throws InvalidSessionIdError, LockTimeoutError, BackendError, whatever `fn` throws.
   */
  async withLock<T>(id: string, lockTimeoutMs: number | undefined, fn: (p: SessionPlace, cas: bigint | null) => Promise<T>, lock = true): Promise<T> {
    const p = this.locate(id);
    const cas = lock ? await acquireLock(p.lock, this.lockSettings(lockTimeoutMs === undefined ? undefined : { lockTimeoutMs })) : null;
    try {
      return await fn(p, cas);
    } finally {
      if (cas !== null) await releaseLock(p.lock, cas).catch(() => {});
    }
  }

  /** Seconds left on a session (-1 → null: never expires), null entry when missing. Needs memcached ≥ 1.6 (meta commands). */
  async ttl(id: string): Promise<{ ttlSeconds: number | null } | null> {
    const p = this.locate(id);
    const t = await remainingTtl(p.conn.server, this.timeouts, p.key);
    if (t === null) return null;
    return { ttlSeconds: t < 0 ? null : t };
  }

  /** @internal the remaining TTL of a located key (meta `mg`), -1 for never; null when missing. */
  ttlAt(p: SessionPlace): Promise<number | null> {
    return remainingTtl(p.conn.server, this.timeouts, p.key);
  }

  /**
   * Every session on every server (`lru_crawler metadump all`), streamed a batch at a time, with
   * its expiry and size (and bytes with `withData`). Lock items and keys outside the prefix are
   * left out; so are ids PHP would refuse.
   * @throws BackendError ENOLIST when a server cannot list its keys.
   */
  async *sessions(options: { signal?: AbortSignal; withData?: boolean } = {}): AsyncGenerator<MemcachedSessionInfo> {
    for (const conn of this.#conns) {
      // The whole dump is read before anything is done with it: while a metadump is open the
      // server's crawler waits on us, and sessions rewritten meanwhile (convert, migrate) could be
      // missed or listed twice. What is kept per session is small (id, expiry, size).
      const listed: MemcachedSessionInfo[] = [];
      for await (const keys of metadump(conn.server, this.timeouts, options.signal)) {
        const now = Date.now() / 1000;
        for (const k of keys) {
          if (!k.key.subarray(0, this.prefix.length).equals(this.prefix)) continue;
          const id = k.key.subarray(this.prefix.length).toString('latin1');
          if (!this.isValidId(id)) continue; // lock items (`lock.` + id) and foreign keys
          if (k.exp !== -1 && k.exp <= now) continue;
          listed.push({ id, key: k.key.toString('latin1'), server: conn.label, ttlSeconds: k.exp === -1 ? null : Math.max(0, Math.round(k.exp - now)), size: k.size });
        }
      }
      if (!options.withData) {
        yield* listed;
        continue;
      }
      // GETs go out pipelined, a batch at a time: at most 500 sessions, and at most BATCH_BYTES
      // of values as the dump sizes them (an item's dump size is at least its value's length;
      // a value above maxBytes is dropped as it arrives, so it counts as maxBytes).
      for (let i = 0; i < listed.length; ) {
        let end = i;
        let bytes = 0;
        while (end < listed.length && end - i < 500) {
          const size = Math.min(listed[end]!.size, this.settings.maxBytes);
          if (end > i && bytes + size > BATCH_BYTES) break;
          bytes += size;
          end++;
        }
        const batch = listed.slice(i, end);
        i = end;
        const replies = await Promise.all(batch.map((s) => this.getAt(this.locate(s.id))));
        for (const [j, s] of batch.entries()) {
          const r = replies[j]!;
          if (r.status !== STATUS.OK) continue; // gone since the dump
          // A new object: `listed` must not keep the bytes of every session it yielded.
          yield r.oversized !== undefined ? { ...s, size: r.oversized, tooBig: true } : { ...s, size: r.value.length, bytes: Buffer.from(r.value) };
        }
      }
    }
  }

  async *ids(): AsyncGenerator<string> {
    for await (const s of this.sessions()) yield s.id;
  }

  /** Answers VERSION on every server (the admin commands' first check). */
  async ping(): Promise<void> {
    for (const c of this.#conns) await c.request({ opcode: OP.VERSION });
  }

  /** STAT of each server: label → name → value. */
  async serverStats(): Promise<Map<string, Map<string, string>>> {
    const out = new Map<string, Map<string, string>>();
    for (const c of this.#conns) out.set(c.label, await c.stats());
    return out;
  }

  describe(): string {
    return `memcached ${this.savePath.servers.map((s) => s.label).join(', ')}`;
  }

  async close(): Promise<void> {
    await Promise.all(this.#conns.map((c) => c.close()));
  }
}
