/**
 * Symfony's PdoSessionHandler (HttpFoundation 5.4) as a backend: its table (`sess_id`,
 * `sess_data` = the session in PHP's serialize_handler format, `sess_lifetime` = expiry time,
 * `sess_time` = last write) and its lock modes, taken on the same database objects so that
 * Symfony and Node exclude each other as two Symfony requests do:
 * - `transactional` (default): a transaction from read to write — SQLite `BEGIN IMMEDIATE`
 *   (the whole database), PostgreSQL `SELECT … FOR UPDATE` (the row; a missing row is
 *   inserted empty inside the transaction, as Symfony does without strict mode, so two openers
 *   of a new id exclude each other too, and a rollback removes it);
 * - `advisory`: PostgreSQL `pg_advisory_lock(first 8 id bytes, little-endian)` on the connection;
 * - `none`: no lock at all (Symfony's LOCK_NONE: the last writer wins).
 * A saved empty session deletes the row, as AbstractSessionHandler::write() does.
 */
import { decodeSession, encodeSession } from '../../codec/index.js';
import { PhpArray } from '../../codec/values.js';
import { ConfigError, LockTimeoutError, SessctlError } from '../../errors.js';
import { updateSession, type OpenOptions, type SessionBackend, type SessionUpdater } from '../../session/contract.js';
import { createUnusedId } from '../../session/new-session-id.js';
import { assertValidSessionId, isValidSessionId } from '../../session/session-id.js';
import { resolveSessionSettings, type ResolvedSessionSettings, type SessionSettings } from '../../session/settings.js';
import { startSession } from '../../session/start.js';
import { LockedRowHandle } from '../shared/sql-handle.js';
import { isPgLockTimeout, openDatabase, type SqlConnection, type SqlDatabase } from '../shared/sql.js';

export type PdoLockMode = 'transactional' | 'advisory' | 'none';

export interface SymfonyPdoStoreOptions extends SessionSettings {
  /** DATABASE_URL (`sqlite:///var/data.db`, `postgresql://user:pass@host:5432/app`) or a `sqlite:/path` DSN. */
  url: string;
  /** db_table; default `sessions`. */
  table?: string;
  /** lock_mode; default `transactional` (LOCK_TRANSACTIONAL). */
  lockMode?: PdoLockMode;
}

/** Symfony's MAX_LIFETIME: a sess_lifetime at or below it is a legacy lifetime, not an expiry time. */
const MAX_LIFETIME = 315576000;
const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The pg advisory lock key of an id: PdoSessionHandler::convertStringToInt() on 64-bit PHP. */
export function advisoryKey(id: string): bigint {
  const b = (i: number) => BigInt(id.charCodeAt(i) || 0);
  const int1 = (b(7) << 24n) + (b(6) << 16n) + (b(5) << 8n) + b(4);
  const int2 = (b(3) << 24n) + (b(2) << 16n) + (b(1) << 8n) + b(0);
  return BigInt.asIntN(64, int2 + (int1 << 32n));
}

/** A row as stored. */
export interface PdoRow {
  data: Buffer;
  lifetime: number;
  time: number;
}

/** A session row locked the way the lock mode says, on its own connection. */
export interface LockedRow {
  conn: SqlConnection;
  id: string;
  row: PdoRow | null;
}

export class SymfonyPdoSessionStore implements SessionBackend {
  readonly settings: ResolvedSessionSettings;
  readonly lockMode: PdoLockMode;
  readonly table: string;
  readonly db: SqlDatabase;

  /** @throws ConfigError for a bad URL, table name, lock mode or setting. */
  constructor(options: SymfonyPdoStoreOptions) {
    const { url, table = 'sessions', lockMode = 'transactional', ...shared } = options ?? ({} as SymfonyPdoStoreOptions);
    if (typeof url !== 'string') throw new ConfigError('SymfonyPdoSessionStore needs { url }');
    if (!IDENT.test(table)) throw new ConfigError(`SymfonyPdoSessionStore: table ${JSON.stringify(table)} is not a plain SQL name`);
    if (!['transactional', 'advisory', 'none'].includes(lockMode)) throw new ConfigError(`SymfonyPdoSessionStore: lockMode must be transactional, advisory or none`);
    this.settings = resolveSessionSettings(shared, 'SymfonyPdoSessionStore');
    this.db = openDatabase(url);
    if (lockMode === 'advisory' && this.db.kind === 'sqlite') throw new ConfigError('SymfonyPdoSessionStore: SQLite has no advisory locks (Symfony refuses them too)');
    this.table = table;
    this.lockMode = lockMode;
  }

  /** PdoSessionHandler::createTable() for this database. */
  async createTable(): Promise<void> {
    const blob = this.db.kind === 'pgsql' ? 'BYTEA' : 'BLOB';
    const idType = this.db.kind === 'pgsql' ? 'VARCHAR(128)' : 'TEXT';
    await this.#withConn(async (c) => {
      await c.query(`CREATE TABLE ${this.table} (sess_id ${idType} NOT NULL PRIMARY KEY, sess_data ${blob} NOT NULL, sess_lifetime INTEGER NOT NULL, sess_time INTEGER NOT NULL)`);
      await c.query(`CREATE INDEX ${this.table}_expiry ON ${this.table} (sess_lifetime)`);
    });
  }

  isValidId(id: string): boolean {
    return isValidSessionId(id);
  }

  createId(): Promise<string> {
    return createUnusedId({ length: this.settings.sidLength, bitsPerCharacter: this.settings.sidBitsPerCharacter }, (id) => this.exists(id));
  }

  async #withConn<T>(fn: (c: SqlConnection) => Promise<T>): Promise<T> {
    const c = await this.db.connect();
    try {
      return await fn(c);
    } finally {
      await c.release();
    }
  }

  /** @internal the row without any lock. */
  async selectRow(conn: SqlConnection, id: string, forUpdate = false): Promise<PdoRow | null> {
    const lock = forUpdate && this.db.kind === 'pgsql' ? ' FOR UPDATE' : '';
    const [r] = await conn.query(`SELECT sess_data, sess_lifetime, sess_time FROM ${this.table} WHERE sess_id = ?${lock}`, [id]);
    if (!r) return null;
    const data = Buffer.isBuffer(r.sess_data) ? r.sess_data : Buffer.from(String(r.sess_data ?? ''), 'latin1');
    return { data, lifetime: Number(r.sess_lifetime), time: Number(r.sess_time) };
  }

  /** Symfony's expiry time of a row, unix seconds (legacy rows keep a lifetime instead of an expiry time). */
  expiryOf(row: PdoRow): number {
    return row.lifetime <= MAX_LIFETIME ? row.lifetime + row.time : row.lifetime;
  }

  /** Symfony's expiry rule. */
  expired(row: PdoRow, now = Math.floor(Date.now() / 1000)): boolean {
    return this.expiryOf(row) < now;
  }

  /**
   * @internal Locks a session as the lock mode says, on a connection of its own.
   * @throws LockTimeoutError
   */
  async lockRow(id: string, timeoutMs = this.settings.lockTimeoutMs): Promise<LockedRow> {
    assertValidSessionId(id);
    const conn = await this.db.connect();
    const target = `${this.db.description} ${this.table}:${id}`;
    try {
      if (this.lockMode === 'advisory') await conn.advisoryLock(advisoryKey(id), timeoutMs, target);
      if (this.lockMode === 'transactional') {
        await conn.begin(timeoutMs, target);
        if (this.db.kind === 'pgsql') {
          try {
            await conn.query(`INSERT INTO ${this.table} (sess_id, sess_data, sess_lifetime, sess_time) VALUES (?, ?, ?, ?) ON CONFLICT (sess_id) DO NOTHING`, [id, Buffer.alloc(0), 0, 0]);
            const row = await this.selectRow(conn, id, true);
            return { conn, id, row: row && row.lifetime === 0 && row.time === 0 && row.data.length === 0 ? null : row };
          } catch (err) {
            if (isPgLockTimeout(err)) throw new LockTimeoutError(target, timeoutMs);
            throw err;
          }
        }
      }
      return { conn, id, row: await this.selectRow(conn, id) };
    } catch (err) {
      await conn.release();
      throw err;
    }
  }

  /** @internal Upsert as PdoSessionHandler::doWrite() (sess_lifetime = now + gc_maxlifetime). */
  async writeRow(conn: SqlConnection, id: string, data: Uint8Array, keep?: Pick<PdoRow, 'lifetime' | 'time'>): Promise<void> {
    const now = Math.floor(Date.now() / 1000);
    const lifetime = keep?.lifetime ?? now + this.settings.gcMaxlifetime;
    const time = keep?.time ?? now;
    const sql =
      this.db.kind === 'sqlite'
        ? `INSERT OR REPLACE INTO ${this.table} (sess_id, sess_data, sess_lifetime, sess_time) VALUES (?, ?, ?, ?)`
        : `INSERT INTO ${this.table} (sess_id, sess_data, sess_lifetime, sess_time) VALUES (?, ?, ?, ?) ON CONFLICT (sess_id) DO UPDATE SET (sess_data, sess_lifetime, sess_time) = (EXCLUDED.sess_data, EXCLUDED.sess_lifetime, EXCLUDED.sess_time)`;
    await conn.query(sql, [id, Buffer.from(data), lifetime, time]);
  }

  /** @internal */
  async deleteRow(conn: SqlConnection, id: string): Promise<void> {
    await conn.query(`DELETE FROM ${this.table} WHERE sess_id = ?`, [id]);
  }

  /** @internal Commits (the transactional lock's end), unlocks and gives the connection back. */
  async unlock(locked: LockedRow, commit: boolean): Promise<void> {
    try {
      if (commit && this.lockMode === 'transactional') await locked.conn.query('COMMIT');
    } finally {
      await locked.conn.release();
    }
  }

  decode(bytes: Uint8Array, id: string): PhpArray {
    if (bytes.length > this.settings.maxBytes) throw new SessctlError(`${this.table}:${id}: is ${bytes.length} bytes, above the ${this.settings.maxBytes}-byte limit (maxBytes); not read`, 'ETOOBIG');
    if (bytes.length === 0) return new PhpArray();
    return decodeSession(bytes, this.settings.serializeHandler, { ...this.settings.decodeOptions, source: `${this.db.description} ${this.table}:${id}` });
  }

  encode(data: PhpArray): Uint8Array {
    return encodeSession(data, this.settings.serializeHandler, this.settings.encodeOptions);
  }

  async exists(id: string): Promise<boolean> {
    if (!this.isValidId(id)) return false;
    const row = await this.#withConn((c) => this.selectRow(c, id));
    return row !== null && row.data.length > 0 && !this.expired(row);
  }

  async open(id: string, options: OpenOptions = {}): Promise<SymfonyPdoSessionHandle> {
    const locked = await this.lockRow(id, options.lockTimeoutMs);
    let handle: SymfonyPdoSessionHandle;
    try {
      const live = locked.row && !this.expired(locked.row) ? locked.row.data : Buffer.alloc(0);
      handle = new SymfonyPdoSessionHandle(this, locked, live.length === 0, live, this.decode(live, id));
    } catch (err) {
      await this.unlock(locked, false);
      throw err;
    }
    if (options.readAndClose) await handle.close();
    return handle;
  }

  start(id?: string | null, options: OpenOptions = {}): Promise<SymfonyPdoSessionHandle> {
    return startSession(this, id, options);
  }

  async read(id: string): Promise<PhpArray | null> {
    assertValidSessionId(id);
    const row = await this.#withConn((c) => this.selectRow(c, id));
    if (!row || row.data.length === 0 || this.expired(row)) return null;
    return this.decode(row.data, id);
  }

  update(id: string, fn: SessionUpdater): Promise<PhpArray> {
    return updateSession(this, id, fn);
  }

  async destroy(id: string): Promise<boolean> {
    const locked = await this.lockRow(id);
    try {
      if (!locked.row) return false;
      await this.deleteRow(locked.conn, id);
      return true;
    } finally {
      await this.unlock(locked, true);
    }
  }

  /** PdoSessionHandler::updateTimestamp(). */
  async touch(id: string): Promise<boolean> {
    const locked = await this.lockRow(id);
    try {
      if (!locked.row || locked.row.data.length === 0) return false;
      const now = Math.floor(Date.now() / 1000);
      await locked.conn.query(`UPDATE ${this.table} SET sess_lifetime = ?, sess_time = ? WHERE sess_id = ?`, [now + this.settings.gcMaxlifetime, now, id]);
      return true;
    } finally {
      await this.unlock(locked, true);
    }
  }

  async *ids(): AsyncGenerator<string> {
    const rows = await this.#withConn((c) => c.query(`SELECT sess_id FROM ${this.table} WHERE sess_data <> ? ORDER BY sess_id`, [Buffer.alloc(0)]));
    for (const r of rows) yield String(r.sess_id);
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

export class SymfonyPdoSessionHandle extends LockedRowHandle<LockedRow> {
  readonly #store: SymfonyPdoSessionStore;
  #bytes: Uint8Array;

  /** @internal */
  constructor(store: SymfonyPdoSessionStore, locked: LockedRow, isNew: boolean, bytes: Uint8Array, data: PhpArray) {
    super(locked, isNew, data);
    this.#store = store;
    this.#bytes = bytes;
  }

  protected where(id: string): string {
    return `${this.#store.table}:${id}`;
  }
  protected deleteRow(conn: SqlConnection, id: string): Promise<void> {
    return this.#store.deleteRow(conn, id);
  }
  protected unlock(locked: LockedRow, commit: boolean): Promise<void> {
    return this.#store.unlock(locked, commit);
  }

  /** doWrite() / updateTimestamp() / destroy() as Symfony chooses between them; committed at close(). */
  async save(data?: PhpArray): Promise<void> {
    const locked = this.requireOpen();
    if (data !== undefined) this.data = data;
    const bytes = this.#store.encode(this.data);
    const s = this.#store;
    if (bytes.length === 0) await s.deleteRow(locked.conn, this.id);
    else if (s.settings.lazyWrite && Buffer.from(bytes).equals(Buffer.from(this.#bytes))) {
      const now = Math.floor(Date.now() / 1000);
      await locked.conn.query(`UPDATE ${s.table} SET sess_lifetime = ?, sess_time = ? WHERE sess_id = ?`, [now + s.settings.gcMaxlifetime, now, this.id]);
    } else await s.writeRow(locked.conn, this.id, bytes);
    this.#bytes = bytes;
    this.markSaved();
  }

  /** session_regenerate_id(): the new row is written on the same connection (inside the same lock). */
  async regenerateId(deleteOld = false): Promise<string> {
    const locked = this.requireOpen();
    const s = this.#store;
    const bytes = s.encode(this.data);
    const next = await s.createId();
    if (s.lockMode === 'advisory') await locked.conn.advisoryLock(advisoryKey(next), s.settings.lockTimeoutMs, `${s.table}:${next}`);
    await s.writeRow(locked.conn, next, bytes);
    if (deleteOld) await s.deleteRow(locked.conn, this.id);
    else await s.writeRow(locked.conn, this.id, bytes);
    this.movedTo(locked, next);
    this.#bytes = bytes;
    return next;
  }
}
