/**
 * Laravel's `database` session driver (Illuminate\Session\DatabaseSessionHandler) for Node, on
 * SQLite and PostgreSQL. Read as Laravel reads it: a row whose last_activity is older than the
 * lifetime reads as an empty session (and the next write overwrites it). Written as Laravel writes
 * it: `payload` = base64(serialize($attributes)) (or of the encrypted text with `encrypt => true`)
 * and `last_activity` = now; `user_id`, `ip_address` and `user_agent` are kept as they are unless
 * the handle is told new values (`setColumns`). Locked as table.ts says.
 */
import { decodeSession, encodeSession } from '../../codec/index.js';
import { PhpArray } from '../../codec/values.js';
import { ConfigError, SessctlError } from '../../errors.js';
import { updateSession, type OpenOptions, type SessionBackend, type SessionUpdater } from '../../session/contract.js';
import { createUnusedId } from '../../session/new-session-id.js';
import { resolveSessionSettings, type ResolvedSessionSettings, type SessionSettings } from '../../session/settings.js';
import { startSession } from '../../session/start.js';
import type { SqlConnection } from '../shared/sql.js';
import { LockedRowHandle } from '../shared/sql-handle.js';
import { assertLaravelSessionId, generateLaravelSessionId, isLaravelSessionId, laravelHandler, lifetimeSeconds, type PayloadCipher } from '../shared/laravel.js';
import { LaravelSessionTable, type LaravelRowColumns, type LaravelSessionRow, type LockedLaravelRow } from './table.js';

export interface LaravelDatabaseStoreOptions extends Omit<SessionSettings, 'sidLength' | 'sidBitsPerCharacter'> {
  /** The app's database: `sqlite:/abs/path/database.sqlite` or `postgresql://user:pass@host:5432/db`. */
  url: string;
  /** config('session.table'); default `sessions`. */
  table?: string;
  /** SESSION_LIFETIME in minutes (Laravel's default 120): sets gcMaxlifetime. */
  lifetime?: number;
  /** `encrypt => true` (SESSION_ENCRYPT): sessctl/laravel's `laravelPayloadCipher(encrypter)`. */
  payloadCipher?: PayloadCipher;
}

const now = () => Math.floor(Date.now() / 1000);

export class LaravelDatabaseSessionStore implements SessionBackend {
  readonly settings: ResolvedSessionSettings;
  readonly payloadCipher: PayloadCipher | undefined;
  /** The table and its database connections. */
  readonly sessions: LaravelSessionTable;

  /** @throws ConfigError for a bad URL, table name or setting. */
  constructor(options: LaravelDatabaseStoreOptions) {
    const who = 'LaravelDatabaseSessionStore';
    if (!options || typeof options.url !== 'string') throw new ConfigError(`${who} needs { url: 'sqlite:/path/database.sqlite' | 'postgresql://…' }`);
    const { url, table = 'sessions', lifetime, payloadCipher, ...shared } = options;
    this.settings = resolveSessionSettings(
      { ...shared, serializeHandler: laravelHandler(shared.serializeHandler, who), gcMaxlifetime: lifetimeSeconds(lifetime, shared.gcMaxlifetime ?? 7200, who) },
      who,
    );
    this.sessions = new LaravelSessionTable(url, table, who);
    this.payloadCipher = payloadCipher;
  }

  get table(): string {
    return this.sessions.table;
  }

  /** `php artisan session:table` + migrate: Laravel's sessions table and its two indexes. */
  createTable(): Promise<void> {
    return this.sessions.create();
  }

  /** Laravel's Store::isValidId(): 40 letters and digits. */
  isValidId(id: string): boolean {
    return isLaravelSessionId(id);
  }

  /** Str::random(40), checked against the table. */
  createId(): Promise<string> {
    return createUnusedId(generateLaravelSessionId, (id) => this.exists(id));
  }

  /** DatabaseSessionHandler::expired(): last_activity before now − lifetime. */
  expired(row: Pick<LaravelSessionRow, 'lastActivity'>, nowSeconds = now()): boolean {
    return row.lastActivity < nowSeconds - this.settings.gcMaxlifetime;
  }

  /** A row Laravel would read a session from (present, not expired). */
  async exists(id: string): Promise<boolean> {
    if (!this.isValidId(id)) return false;
    const row = await this.sessions.withConn((c) => this.sessions.select(c, id));
    return row !== null && !this.expired(row);
  }

  /** The stored payload → attributes. @throws DecodeError naming the row (nothing is changed); SessctlError ETOOBIG */
  decode(stored: Uint8Array, id: string): PhpArray {
    const where = this.sessions.where(id);
    if (stored.length > this.settings.maxBytes) throw new SessctlError(`${where}: is ${stored.length} bytes, above the ${this.settings.maxBytes}-byte limit (maxBytes); not read`, 'ETOOBIG');
    if (stored.length === 0) return new PhpArray();
    return decodeSession(this.plain(stored, id), 'php_serialize', { ...this.settings.decodeOptions, source: where });
  }

  /** The serialized attributes inside a stored payload (decrypted with `encrypt => true`). */
  plain(stored: Uint8Array, id: string): Uint8Array {
    return stored.length > 0 && this.payloadCipher ? this.payloadCipher.open(stored, this.sessions.where(id)) : stored;
  }

  /** Attributes → serialize($attributes). @throws EncodeError */
  encode(data: PhpArray): Uint8Array {
    return encodeSession(data, 'php_serialize', this.settings.encodeOptions);
  }

  /** serialize($attributes) → what goes (base64-encoded) into `payload`. */
  seal(plain: Uint8Array): Uint8Array {
    return this.payloadCipher ? this.payloadCipher.seal(plain) : plain;
  }

  /**
   * Opens a session under the row lock (PostgreSQL) / database write lock (SQLite).
   * @throws InvalidSessionIdError, LockTimeoutError, DecodeError, SessctlError (ETOOBIG).
   */
  async open(id: string, options: OpenOptions = {}): Promise<LaravelDatabaseSessionHandle> {
    const locked = await this.sessions.lock(id, options.lockTimeoutMs ?? this.settings.lockTimeoutMs);
    let handle: LaravelDatabaseSessionHandle;
    try {
      const live = locked.row !== null && !this.expired(locked.row);
      const stored = live ? locked.row!.payload : Buffer.alloc(0);
      const data = this.decode(stored, id);
      handle = new LaravelDatabaseSessionHandle(this, locked, !live || stored.length === 0, live && stored.length > 0 ? this.plain(stored, id) : null, data);
    } catch (err) {
      await this.sessions.unlock(locked, false);
      throw err;
    }
    if (options.readAndClose) await handle.close();
    return handle;
  }

  start(id?: string | null, options: OpenOptions = {}): Promise<LaravelDatabaseSessionHandle> {
    return startSession(this, id, options);
  }

  /** The session as Laravel's next request would read it, without a lock; null when missing or expired. */
  async read(id: string): Promise<PhpArray | null> {
    assertLaravelSessionId(id);
    const row = await this.sessions.withConn((c) => this.sessions.select(c, id));
    if (!row || this.expired(row)) return null;
    return this.decode(row.payload, id);
  }

  /** The row's other columns (user_id, ip_address, user_agent, last_activity), without a lock. */
  async columns(id: string): Promise<(Required<LaravelRowColumns> & { lastActivity: number }) | null> {
    assertLaravelSessionId(id);
    const row = await this.sessions.withConn((c) => this.sessions.select(c, id));
    return row && { userId: row.userId, ipAddress: row.ipAddress, userAgent: row.userAgent, lastActivity: row.lastActivity };
  }

  update(id: string, fn: SessionUpdater): Promise<PhpArray> {
    return updateSession(this, id, fn);
  }

  /** DatabaseSessionHandler::destroy(), under the lock. */
  destroy(id: string): Promise<boolean> {
    return this.#changeExisting(id, (conn) => this.sessions.delete(conn, id));
  }

  /** Sets last_activity to now. */
  touch(id: string): Promise<boolean> {
    return this.#changeExisting(id, (conn) => this.sessions.touch(conn, id, now()));
  }

  /** Runs `change` on the locked row; false (nothing changed) when there is none. Committed only when `change` succeeded. */
  async #changeExisting(id: string, change: (conn: SqlConnection) => Promise<void>): Promise<boolean> {
    const locked = await this.sessions.lock(id, this.settings.lockTimeoutMs);
    if (!locked.row) {
      await this.sessions.unlock(locked, false);
      return false;
    }
    let done = false;
    try {
      await change(locked.conn);
      done = true;
    } finally {
      await this.sessions.unlock(locked, done);
    }
    return true;
  }

  /** Every row's id that Laravel could use (expired ones included: gc has not taken them yet). */
  async *ids(): AsyncGenerator<string> {
    for await (const { id } of this.sessions.rows(false)) if (isLaravelSessionId(id)) yield id;
  }

  async close(): Promise<void> {
    await this.sessions.close();
  }
}

export class LaravelDatabaseSessionHandle extends LockedRowHandle<LockedLaravelRow> {
  readonly #store: LaravelDatabaseSessionStore;
  /** serialize($attributes) as stored at open (null: no live row). */
  #plain: Uint8Array | null;
  #columns: LaravelRowColumns = {};

  /** @internal */
  constructor(store: LaravelDatabaseSessionStore, locked: LockedLaravelRow, isNew: boolean, plain: Uint8Array | null, data: PhpArray) {
    super(locked, isNew, data);
    this.#store = store;
    this.#plain = plain;
  }

  protected where(id: string): string {
    return this.#store.sessions.where(id);
  }
  protected deleteRow(conn: SqlConnection, id: string): Promise<void> {
    return this.#store.sessions.delete(conn, id);
  }
  protected unlock(locked: LockedLaravelRow, commit: boolean): Promise<void> {
    return this.#store.sessions.unlock(locked, commit);
  }

  /** The row's user_id, ip_address and user_agent as read at open (all null for a new row). */
  get row(): Required<LaravelRowColumns> {
    const r = this.lockedRow?.row;
    return { userId: r?.userId ?? null, ipAddress: r?.ipAddress ?? null, userAgent: r?.userAgent ?? null };
  }

  /**
   * Values for user_id / ip_address / user_agent to write with the next save (the others stay
   * as stored). Laravel's own requests set all three on every write from the guard and the request.
   */
  setColumns(columns: LaravelRowColumns): void {
    for (const [k, v] of Object.entries(columns)) {
      if (v !== undefined && v !== null && typeof v !== 'string' && !(k === 'userId' && typeof v === 'number' && Number.isSafeInteger(v))) {
        throw new ConfigError(`setColumns: ${k} must be a string${k === 'userId' ? ', an integer' : ''} or null`);
      }
    }
    this.#columns = { ...this.#columns, ...columns };
  }

  /**
   * Writes payload and last_activity (Laravel's write); unchanged data with lazy write only sets
   * last_activity. Committed at close().
   */
  async save(data?: PhpArray): Promise<void> {
    const locked = this.requireOpen();
    if (data !== undefined) this.data = data;
    const s = this.#store;
    const plain = s.encode(this.data);
    if (s.settings.lazyWrite && this.#plain !== null && Buffer.from(plain).equals(Buffer.from(this.#plain))) {
      await s.sessions.touch(locked.conn, this.id, now(), this.#columns);
    } else {
      await s.sessions.write(locked.conn, this.id, s.seal(plain), now(), this.#columns);
    }
    this.#plain = plain;
    this.markSaved();
  }

  /**
   * Store::migrate($destroy): the data goes to a fresh id (written inside the same transaction,
   * so it is locked too, with the old row's user_id / ip_address / user_agent); the old row is
   * deleted or left exactly as it was, as Laravel leaves it.
   */
  async regenerateId(deleteOld = false): Promise<string> {
    const locked = this.requireOpen();
    const s = this.#store;
    const plain = s.encode(this.data);
    const next = await s.createId();
    await s.sessions.write(locked.conn, next, s.seal(plain), now(), { ...this.row, ...this.#columns });
    if (deleteOld) await s.sessions.delete(locked.conn, this.id);
    this.movedTo(locked, next);
    this.#plain = plain;
    return next;
  }
}
