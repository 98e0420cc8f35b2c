/**
 * Laravel's `sessions` table (DatabaseSessionHandler, Laravel 8): `id`, `user_id`, `ip_address`,
 * `user_agent`, `payload` (base64 of what the Store hands the handler) and `last_activity` (unix
 * seconds), and the row lock a Node handle holds from open to close. Laravel itself takes no lock:
 * its read is a plain SELECT and its write an UPDATE (or an INSERT for an id it has not seen), so
 * the lock below makes Node exclude Node, and makes Laravel's *writes* of a held session wait
 * (PostgreSQL: the row; SQLite: the whole database file), never its reads.
 */
import { BackendError, ConfigError, LockTimeoutError, SessctlError } from '../../errors.js';
import { assertLaravelSessionId } from '../shared/laravel.js';
import { isPgLockTimeout, openDatabase, type Row, type SqlConnection, type SqlDatabase } from '../shared/sql.js';

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The columns besides the payload that Laravel fills from the request and the guard. */
export interface LaravelRowColumns {
  /** `Auth::id()` when the request wrote it (null for a guest). */
  userId?: number | string | null;
  /** `$request->ip()`. */
  ipAddress?: string | null;
  /** The User-Agent header, cut to 500 characters. */
  userAgent?: string | null;
}

/** One row as stored; `payload` already base64-decoded (serialize($attributes), or Laravel's encrypted text of it). */
export interface LaravelSessionRow extends Required<LaravelRowColumns> {
  payload: Buffer;
  /** Unix seconds. */
  lastActivity: number;
}

/** A session row locked on its own connection (inside a transaction). */
export interface LockedLaravelRow {
  conn: SqlConnection;
  id: string;
  /** null when there is no row (PostgreSQL: an uncommitted placeholder row holds the id's lock). */
  row: LaravelSessionRow | null;
}

const COLUMN: Record<keyof LaravelRowColumns, string> = { userId: 'user_id', ipAddress: 'ip_address', userAgent: 'user_agent' };

/** A pg bigint comes back as a string: a safe integer is given back as a number. */
function userIdOf(v: unknown): number | string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (typeof v === 'string' && /^-?\d+$/.test(v) && Number.isSafeInteger(Number(v))) return Number(v);
  return v as number | string;
}

/**
 * base64_decode($payload) as DatabaseSessionHandler::read() calls it (not strict): every byte
 * outside the base64 alphabet, `=` included wherever it stands, is skipped and the rest decoded
 * as one stream. Node's decoder differs on a hand-made row: it takes `-` and `_` as base64url
 * digits and stops at the first `=`, so it read attributes Laravel does not see, and missed some
 * it does.
 */
export function phpBase64Decode(text: string): Buffer {
  return Buffer.from(text.replace(/[^A-Za-z0-9+/]/g, ''), 'base64');
}

const textOf = (v: unknown): string | null => (v === null || v === undefined ? null : Buffer.isBuffer(v) ? v.toString('latin1') : String(v));

export class LaravelSessionTable {
  readonly db: SqlDatabase;
  readonly table: string;

  /** @throws ConfigError for a bad URL or table name. */
  constructor(url: string, table: string, who: string) {
    if (typeof url !== 'string' || url === '') throw new ConfigError(`${who} needs the database URL (sqlite:/path/to/database.sqlite or postgresql://user:pass@host:5432/db)`);
    if (typeof table !== 'string' || !IDENT.test(table)) throw new ConfigError(`${who}: table ${JSON.stringify(table)} is not a plain SQL name`);
    this.db = openDatabase(url);
    this.table = table;
  }

  /** For messages: the database (without its password) and the row. */
  where(id: string): string {
    return `${this.db.description} ${this.table}:${id}`;
  }

  /** A database error as a BackendError naming the database and table (ours pass through). */
  fail(err: unknown, what: string): Error {
    if (err instanceof SessctlError) return err;
    return new BackendError(`${this.db.description} table ${this.table}: ${what}: ${(err as Error)?.message ?? String(err)}`, 'EBACKEND', { cause: err });
  }

  /** A statement on a held connection, its failure a BackendError. */
  async run(conn: SqlConnection, sql: string, params: unknown[], what: string): Promise<Row[]> {
    try {
      return await conn.query(sql, params);
    } catch (err) {
      throw this.fail(err, what);
    }
  }

  async withConn<T>(fn: (c: SqlConnection) => Promise<T>): Promise<T> {
    let c: SqlConnection;
    try {
      c = await this.db.connect();
    } catch (err) {
      throw this.fail(err, 'cannot connect');
    }
    try {
      return await fn(c);
    } catch (err) {
      throw this.fail(err, 'query failed');
    } finally {
      await c.release();
    }
  }

  /** What `php artisan session:table` creates, as Laravel's schema grammar writes it for this database. */
  async create(): Promise<void> {
    const t = this.table;
    const pg = this.db.kind === 'pgsql';
    await this.withConn(async (c) => {
      if (pg) {
        await c.query(`CREATE TABLE "${t}" ("id" varchar(255) NOT NULL, "user_id" bigint NULL, "ip_address" varchar(45) NULL, "user_agent" text NULL, "payload" text NOT NULL, "last_activity" integer NOT NULL)`);
        await c.query(`ALTER TABLE "${t}" ADD PRIMARY KEY ("id")`);
      } else {
        await c.query(`CREATE TABLE "${t}" ("id" varchar NOT NULL, "user_id" integer, "ip_address" varchar, "user_agent" text, "payload" text NOT NULL, "last_activity" integer NOT NULL, PRIMARY KEY ("id"))`);
      }
      await c.query(`CREATE INDEX "${t}_user_id_index" ON "${t}" ("user_id")`);
      await c.query(`CREATE INDEX "${t}_last_activity_index" ON "${t}" ("last_activity")`);
    });
  }

  static rowOf(r: Row): LaravelSessionRow {
    return {
      payload: phpBase64Decode(textOf(r.payload) ?? ''),
      lastActivity: Number(r.last_activity),
      userId: userIdOf(r.user_id),
      ipAddress: textOf(r.ip_address),
      userAgent: textOf(r.user_agent),
    };
  }

  /** The row without a lock (Laravel's `find($id)`). */
  async select(conn: SqlConnection, id: string, forUpdate = false): Promise<LaravelSessionRow | null> {
    const lock = forUpdate && this.db.kind === 'pgsql' ? ' FOR UPDATE' : '';
    const [r] = await conn.query(`SELECT payload, last_activity, user_id, ip_address, user_agent FROM "${this.table}" WHERE id = ?${lock}`, [id]);
    return r ? LaravelSessionTable.rowOf(r) : null;
  }

  /**
   * Locks the session on a connection of its own: SQLite `BEGIN IMMEDIATE` (the database's write
   * lock); PostgreSQL a transaction holding the row `FOR UPDATE` — a missing row is inserted as an
   * uncommitted placeholder first, so two openers of a new id exclude each other too, and a
   * rollback takes it away again.
   * @throws InvalidSessionIdError, LockTimeoutError
   */
  async lock(id: string, timeoutMs: number): Promise<LockedLaravelRow> {
    assertLaravelSessionId(id);
    let conn: SqlConnection;
    try {
      conn = await this.db.connect();
    } catch (err) {
      throw this.fail(err, 'cannot connect');
    }
    const target = this.where(id);
    try {
      await conn.begin(timeoutMs, target);
      if (this.db.kind !== 'pgsql') return { conn, id, row: await this.select(conn, id) };
      try {
        const inserted = await conn.query(`INSERT INTO "${this.table}" (id, payload, last_activity) VALUES (?, '', 0) ON CONFLICT (id) DO NOTHING RETURNING id`, [id]);
        const row = await this.select(conn, id, true);
        return { conn, id, row: inserted.length > 0 ? null : row };
      } catch (err) {
        if (isPgLockTimeout(err)) throw new LockTimeoutError(target, timeoutMs);
        throw err;
      }
    } catch (err) {
      await conn.release();
      throw this.fail(err, `cannot lock ${id}`);
    }
  }

  /** Commits (when asked) and gives the connection back; the lock ends either way. */
  async unlock(locked: LockedLaravelRow, commit: boolean): Promise<void> {
    try {
      if (commit) await this.run(locked.conn, 'COMMIT', [], `cannot commit ${locked.id}`);
    } finally {
      await locked.conn.release();
    }
  }

  /**
   * Writes `payload` and `last_activity`; the other columns only when given (a new row gets NULL
   * for those not given, as Laravel does outside a request). One statement for Laravel's
   * update-or-insert.
   */
  async write(conn: SqlConnection, id: string, stored: Uint8Array, lastActivity: number, columns: LaravelRowColumns = {}): Promise<void> {
    const told = (Object.keys(COLUMN) as (keyof LaravelRowColumns)[]).filter((k) => columns[k] !== undefined);
    const names = ['id', 'payload', 'last_activity', ...told.map((k) => COLUMN[k])];
    const values = [id, Buffer.from(stored).toString('base64'), lastActivity, ...told.map((k) => columns[k])];
    const set = names.slice(1).map((n) => `${n} = excluded.${n}`).join(', ');
    await this.run(conn, `INSERT INTO "${this.table}" (${names.join(', ')}) VALUES (${names.map(() => '?').join(', ')}) ON CONFLICT (id) DO UPDATE SET ${set}`, values, `cannot write ${id}`);
  }

  /** Only `last_activity` (and the columns given): what a lazy write of unchanged data does. */
  async touch(conn: SqlConnection, id: string, lastActivity: number, columns: LaravelRowColumns = {}): Promise<void> {
    const told = (Object.keys(COLUMN) as (keyof LaravelRowColumns)[]).filter((k) => columns[k] !== undefined);
    const set = ['last_activity = ?', ...told.map((k) => `${COLUMN[k]} = ?`)].join(', ');
    await this.run(conn, `UPDATE "${this.table}" SET ${set} WHERE id = ?`, [lastActivity, ...told.map((k) => columns[k]), id], `cannot write ${id}`);
  }

  /** Replaces the payload only (an operator's rewrite does not make the session younger). */
  async setPayload(conn: SqlConnection, id: string, stored: Uint8Array): Promise<void> {
    await this.run(conn, `UPDATE "${this.table}" SET payload = ? WHERE id = ?`, [Buffer.from(stored).toString('base64'), id], `cannot write ${id}`);
  }

  async delete(conn: SqlConnection, id: string): Promise<void> {
    await this.run(conn, `DELETE FROM "${this.table}" WHERE id = ?`, [id], `cannot delete ${id}`);
  }

  /** Rows in id order, a page at a time (bounded memory); `size` is the decoded payload's length. */
  async *rows(withPayload: boolean, pageSize = 500): AsyncGenerator<{ id: string; size: number; row: LaravelSessionRow }> {
    let after = '';
    const t = this.table;
    for (;;) {
      const page = await this.withConn((c) =>
        c.query(
          `SELECT id, ${withPayload ? 'payload' : "'' AS payload"}, last_activity, user_id, ip_address, user_agent, length(payload) AS b64, length(payload) - length(rtrim(payload, '=')) AS pad FROM "${t}" WHERE id > ? ORDER BY id LIMIT ${pageSize}`,
          [after],
        ),
      );
      for (const r of page) yield { id: String(r.id), size: Math.max(0, Math.floor((Number(r.b64) * 3) / 4) - Number(r.pad)), row: LaravelSessionTable.rowOf(r) };
      if (page.length < pageSize) return;
      after = String(page[page.length - 1]!.id);
    }
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
