/**
 * The CLI's view of Memcached sessions (`sessctl … --save-handler memcached --save-path
 * 'host:11211,…'`): the AdminSource the commands are written against. Listing uses
 * `lru_crawler metadump` (memcached ≥ 1.4.31); one session's TTL the meta command `mg`
 * (memcached ≥ 1.6). Like Redis, Memcached keeps no modification time: a session's last write is
 * derived from its expiry (`now - (gc_maxlifetime - ttl)`).
 *
 * php-memcached's own directives come from `settings.ini` (`memcached.sess_prefix`,
 * `memcached.sess_consistent_hash`, `…_type`, `memcached.sess_number_of_replicas`,
 * `memcached.sess_lock_*`), with php-memcached's defaults.
 */
import { ConfigError } from '../../errors.js';
import { gcByExpiry, ttlTimes, type AdminSource, type AdminSourceSettings, type DestroyOutcome, type EntriesOptions, type GcOptions, type GcReport, type PutOutcome, type RewriteOutcome, type SessionEntry } from '../../session/admin.js';
import type { SessionPlace } from './handle.js';
import { memcachedExpiry } from './lock.js';
import { OP, STATUS, storeExtras } from '../shared/memcached/protocol.js';
import { MemcachedSessionStore, type MemcachedSessionInfo, type MemcachedStoreOptions } from './store.js';

/**
 * A boolean directive as PHP reads it (zend_ini_parse_bool): `true`, `yes`, `on` in any case,
 * else whatever number C's atoi() finds at its start, on when not 0 — so `2` is on, `off` off.
 */
function iniFlag(v: string | undefined): boolean | undefined {
  if (v === undefined) return undefined;
  if (['true', 'yes', 'on'].includes(v.toLowerCase())) return true;
  // atoi = (int)strtol(): saturated at the long's range, then cut to 32 bits (4294967296 is off).
  const m = /^[ \t\n\v\f\r]*([+-]?)([0-9]+)/.exec(v);
  if (!m) return false;
  const LONG_MAX = (1n << 63n) - 1n;
  let n = BigInt(m[2]!);
  if (m[1] === '-') n = -n;
  if (n > LONG_MAX) n = LONG_MAX;
  if (n < -LONG_MAX - 1n) n = -LONG_MAX - 1n;
  return BigInt.asIntN(32, n) !== 0n;
}

function iniInt(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\s*-?[0-9]+\s*$/.test(v)) throw new ConfigError(`${name}: ${JSON.stringify(v)} is not a whole number`);
  return Number(v);
}

/** php-memcached's directives → store options (absent ones keep php-memcached's defaults). */
export function optionsFromIni(ini: Readonly<Record<string, string>> = {}): MemcachedStoreOptions {
  const get = (k: string) => (Object.hasOwn(ini, `memcached.${k}`) ? ini[`memcached.${k}`] : undefined);
  const type = get('sess_consistent_hash_type');
  if (type !== undefined && type !== 'ketama' && type !== 'ketama_weighted') throw new ConfigError(`memcached.sess_consistent_hash_type must be ketama or ketama_weighted, got ${JSON.stringify(type)}`);
  const o: MemcachedStoreOptions = {
    prefix: get('sess_prefix'),
    consistentHash: iniFlag(get('sess_consistent_hash')),
    consistentHashType: type as MemcachedStoreOptions['consistentHashType'],
    numberOfReplicas: iniInt('memcached.sess_number_of_replicas', get('sess_number_of_replicas')),
    locking: iniFlag(get('sess_locking')),
    lockExpireSeconds: iniInt('memcached.sess_lock_expire', get('sess_lock_expire')),
    lockWaitMinMs: iniInt('memcached.sess_lock_wait_min', get('sess_lock_wait_min')),
    lockWaitMaxMs: iniInt('memcached.sess_lock_wait_max', get('sess_lock_wait_max')),
    lockRetries: iniInt('memcached.sess_lock_retries', get('sess_lock_retries')),
  };
  // PHP's lock_expire 0 (or below) means max_execution_time; for an operator's tool, our default (30 s).
  if (o.lockExpireSeconds !== undefined && o.lockExpireSeconds <= 0) delete o.lockExpireSeconds;
  // PHP's retry loop makes one attempt, no retry, for a count below zero.
  if (o.lockRetries !== undefined && o.lockRetries < 0) o.lockRetries = 0;
  return o;
}

export class MemcachedAdminSource implements AdminSource {
  readonly saveHandler = 'memcached';
  readonly description: string;
  readonly store: MemcachedSessionStore;
  readonly #maxlifetime: number;

  /** @throws ConfigError for a bad save_path or directive. */
  constructor(settings: Pick<AdminSourceSettings, 'savePath' | 'serializeHandler' | 'maxlifetime' | 'ini' | 'maxBytes'>) {
    this.#maxlifetime = settings.maxlifetime;
    this.store = new MemcachedSessionStore({
      ...optionsFromIni(settings.ini),
      savePath: settings.savePath || undefined,
      // The admin commands decode the bytes themselves ('auto' detects the format); the store only moves bytes.
      serializeHandler: settings.serializeHandler === 'auto' ? 'php' : settings.serializeHandler,
      gcMaxlifetime: Math.max(1, settings.maxlifetime),
      ...(settings.maxBytes ? { maxBytes: settings.maxBytes } : {}),
    });
    this.description = `${this.store.describe()} (prefix ${this.store.prefix.toString('latin1')})`;
  }

  check(): Promise<void> {
    return this.store.ping();
  }

  validateId(id: string): void {
    this.store.locate(id);
  }

  #entry(info: Pick<MemcachedSessionInfo, 'id' | 'key' | 'server' | 'ttlSeconds' | 'size' | 'tooBig'>, now: number, bytes?: Buffer): SessionEntry {
    const entry: SessionEntry = {
      id: info.id,
      location: `${info.server} ${info.key}${info.ttlSeconds === null ? ' (no expiry)' : ''}`,
      size: info.size,
      ...ttlTimes(info.ttlSeconds, this.#maxlifetime, now),
    };
    // Above maxBytes: marked, not handed on (the commands report ETOOBIG instead of decoding it) —
    // for one session (inspect, set, migrate) as for a listing.
    if (info.tooBig || (bytes && bytes.length > this.store.settings.maxBytes)) entry.tooBig = true;
    else if (bytes) entry.bytes = bytes;
    return entry;
  }

  async *entries(options: EntriesOptions = {}): AsyncIterable<SessionEntry> {
    for await (const info of this.store.sessions({ withData: options.withData, signal: options.signal })) {
      yield this.#entry(info, Date.now(), info.bytes);
    }
  }

  async #readAt(p: SessionPlace): Promise<SessionEntry | null> {
    // A value above maxBytes is not held: dropped as it arrives, the entry marked tooBig.
    const r = await this.store.getAt(p);
    if (r.status !== STATUS.OK) return null;
    const ttl = await this.store.ttlAt(p);
    if (ttl === null) return null; // expired in between
    const info = { id: p.id, key: p.key.toString('latin1'), server: p.conn.label, ttlSeconds: ttl < 0 ? null : ttl };
    if (r.oversized !== undefined) return this.#entry({ ...info, size: r.oversized, tooBig: true }, Date.now());
    const bytes = Buffer.from(r.value);
    return this.#entry({ ...info, size: bytes.length }, Date.now(), bytes);
  }

  read(id: string): Promise<SessionEntry | null> {
    return this.#readAt(this.store.locate(id));
  }

  lockedRead(id: string, lockTimeoutMs: number): Promise<SessionEntry | null> {
    return this.withLocked(id, lockTimeoutMs, async (e) => e);
  }

  withLocked<T>(id: string, lockTimeoutMs: number, fn: (entry: SessionEntry | null) => Promise<T>): Promise<T> {
    return this.store.withLock(id, lockTimeoutMs, async (p) => fn(await this.#readAt(p)));
  }

  destroy(id: string, options: { lockTimeoutMs: number; onlyIf?: (entry: SessionEntry) => boolean }): Promise<DestroyOutcome> {
    return this.store.withLock(id, options.lockTimeoutMs, async (p) => {
      const entry = await this.#readAt(p);
      if (!entry) return 'missing';
      if (options.onlyIf && !options.onlyIf(entry)) return 'kept';
      return (await this.store.deleteAt(p)) ? 'destroyed' : 'missing';
    });
  }

  /** SET with the TTL the session had left (read with `mg`), so a rewrite does not extend its life. */
  rewrite(id: string, fn: (entry: SessionEntry & { bytes: Uint8Array }) => Uint8Array | null, options: { lockTimeoutMs: number }): Promise<RewriteOutcome> {
    return this.store.withLock(id, options.lockTimeoutMs, async (p) => {
      const entry = await this.#readAt(p);
      if (!entry?.bytes) return 'missing';
      const out = fn(entry as SessionEntry & { bytes: Uint8Array });
      if (out === null || Buffer.from(out).equals(entry.bytes)) return 'unchanged';
      const ttl = await this.store.ttlAt(p);
      if (ttl === null || ttl === 0) return 'missing';
      await this.#set(p, out, ttl < 0 ? 0 : ttl, false);
      return 'rewritten';
    });
  }

  async #set(p: SessionPlace, bytes: Uint8Array, ttlSeconds: number, onlyIfMissing: boolean): Promise<boolean> {
    const r = await this.store.call(
      p,
      { opcode: onlyIfMissing ? OP.ADD : OP.SET, key: p.key, extras: storeExtras(memcachedExpiry(ttlSeconds)), value: Buffer.from(bytes) },
      onlyIfMissing ? [STATUS.OK, STATUS.EXISTS, STATUS.NOT_STORED] : [STATUS.OK],
      'writing the session',
    );
    return r.status === STATUS.OK;
  }

  /** SET (ADD unless `overwrite`) with the TTL left until `expiresAtMs`, under php-memcached's lock. */
  put(id: string, bytes: Uint8Array, options: { expiresAtMs: number; lockTimeoutMs: number; overwrite?: boolean }): Promise<PutOutcome> {
    return this.store.withLock(id, options.lockTimeoutMs, async (p) => {
      const ttl = Math.max(1, Math.ceil((options.expiresAtMs - Date.now()) / 1000));
      return (await this.#set(p, bytes, ttl, !options.overwrite)) ? 'written' : 'exists';
    });
  }

  /**
   * Memcached has no gc to run: php-memcached writes every session with an expiry of
   * gc_maxlifetime and memcached drops it. This counts the sessions and reports those that never
   * expire (written by something else) — it deletes nothing.
   */
  gc(options: GcOptions): Promise<GcReport> {
    return gcByExpiry(this.description, options, () => this.store.sessions({ signal: options.signal }), {
      nothingToDo: 'memcached: nothing to delete — memcached expires sessions by itself (php-memcached writes every session with an expiry of session.gc_maxlifetime, and its gc handler does nothing).',
      neverExpire: (n) => `${n} session key(s) have NO expiry and will stay until memcached evicts them (not written by php-memcached; check them, then \`sessctl destroy\` them):`,
    });
  }


  close(): Promise<void> {
    return this.store.close();
  }
}
