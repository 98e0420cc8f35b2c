/**
 * The SQL databases the table backends (symfony-pdo, laravel-database) run on, behind one small
 * interface: SQLite through better-sqlite3 and PostgreSQL through pg (both optional peer
 * dependencies, loaded on first use). Each open session gets its own connection, because the
 * locks taken on a session (a transaction, an advisory lock) belong to a connection.
 */
import { createRequire } from 'node:module';
import { BackendError, ConfigError, LockTimeoutError } from '../../errors.js';

export type SqlKind = 'sqlite' | 'pgsql';
export type Row = Record<string, unknown>;

export interface SqlConnection {
  /** `?` placeholders (rewritten to $1… for PostgreSQL). */
  query(sql: string, params?: unknown[]): Promise<Row[]>;
  /**
   * Starts a locking transaction (SQLite: BEGIN IMMEDIATE, the database's write lock, waited
   * for at most `timeoutMs`; PostgreSQL: BEGIN, then row locks wait at most `timeoutMs`).
   * @throws LockTimeoutError
   */
  begin(timeoutMs: number, target: string): Promise<void>;
  /** pg_advisory_lock(key), waiting at most `timeoutMs`. @throws LockTimeoutError */
  advisoryLock(key: bigint, timeoutMs: number, target: string): Promise<void>;
  /** Ends any transaction (rolled back) and advisory lock, and gives the connection back. */
  release(): Promise<void>;
}

export interface SqlDatabase {
  readonly kind: SqlKind;
  /** For messages: the URL without its password. */
  readonly description: string;
  connect(): Promise<SqlConnection>;
  close(): Promise<void>;
}

/**
 * A database URL as Symfony's DATABASE_URL / PdoSessionHandler take it, or a PDO `sqlite:` DSN.
 * @throws ConfigError
 */
export function openDatabase(url: string): SqlDatabase {
  if (/^sqlite:(?!\/\/)/.test(url)) return new Sqlite(url.slice('sqlite:'.length));
  let u: URL;
  try {
    // PdoSessionHandler: `sqlite:///x` means host localhost, path `/x`, file `x` (relative; four slashes for an absolute path).
    u = new URL(url.replace(/^((?:pdo_)?sqlite3?):\/\/\//, '$1://localhost/'));
  } catch {
    throw new ConfigError(`not a database URL: ${JSON.stringify(redact(url))}`);
  }
  const scheme = u.protocol.slice(0, -1).replace(/^pdo[_-]/, '');
  if (scheme === 'sqlite' || scheme === 'sqlite3') return new Sqlite(decodeURIComponent(u.pathname).slice(1));
  if (scheme === 'pgsql' || scheme === 'postgres' || scheme === 'postgresql') return new Postgres(u);
  throw new ConfigError(`database scheme ${JSON.stringify(scheme)} is not supported (sqlite, pgsql / postgresql)`);
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

function requirePeer<T>(name: string): T {
  try {
    return createRequire(import.meta.url)(name) as T;
  } catch (err) {
    throw new BackendError(`this database needs the "${name}" package (an optional peer dependency of sessctl): run \`npm install ${name}\``, 'ENOCLIENT', { cause: err });
  }
}

// ---- SQLite ------------------------------------------------------------------------------

interface BetterSqlite {
  prepare(sql: string): { all(...p: unknown[]): Row[]; run(...p: unknown[]): unknown; reader: boolean };
  exec(sql: string): void;
  pragma(p: string): unknown;
  close(): void;
  inTransaction: boolean;
}

class Sqlite implements SqlDatabase {
  readonly kind = 'sqlite';
  readonly description: string;
  readonly #file: string;

  constructor(file: string) {
    if (file === '') throw new ConfigError('the SQLite database URL names no file');
    this.#file = file;
    this.description = `sqlite:${file}`;
  }

  async connect(): Promise<SqlConnection> {
    const Database = requirePeer<new (f: string, o: object) => BetterSqlite>('better-sqlite3');
    // timeout 0: a busy database answers SQLITE_BUSY at once and we wait on timers, never
    // inside SQLite's busy handler, which would block the event loop.
    const db = new Database(this.#file, { timeout: 0, fileMustExist: true });
    const file = this.#file;
    return {
      async query(sql, params = []) {
        // Any statement can meet another process's lock (PHP committing): SQLITE_BUSY is retried
        // like BEGIN is — the statement did not run, so running it again is safe.
        let rows: Row[] = [];
        await retryBusy(
          () => {
            const st = db.prepare(sql);
            if (st.reader) rows = st.all(...params.map(bindable));
            else st.run(...params.map(bindable));
          },
          BUSY_WAIT_MS,
          file,
        );
        return rows;
      },
      async begin(timeoutMs, target) {
        await retryBusy(() => db.exec('BEGIN IMMEDIATE TRANSACTION'), timeoutMs, target);
      },
      async advisoryLock() {
        throw new ConfigError('SQLite does not support advisory locks (PdoSessionHandler refuses LOCK_ADVISORY there too)');
      },
      async release() {
        if (db.inTransaction) db.exec('ROLLBACK');
        db.close();
      },
    };
  }

  async close(): Promise<void> {}
}

/** How long a single statement waits out another process's lock on the database file. */
const BUSY_WAIT_MS = 30_000;

const bindable = (v: unknown) => (typeof v === 'boolean' ? Number(v) : v);

/** Retries on SQLITE_BUSY with a capped, jittered backoff until `timeoutMs`. */
async function retryBusy(fn: () => void, timeoutMs: number, target: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
    try {
      fn();
      return;
    } catch (err) {
      if ((err as { code?: string }).code !== 'SQLITE_BUSY') throw err;
      if (Date.now() >= deadline) throw new LockTimeoutError(target, timeoutMs);
    }
    await new Promise((r) => setTimeout(r, Math.min(delay * (0.75 + Math.random() / 2), Math.max(0, deadline - Date.now()))));
  }
}

// ---- PostgreSQL --------------------------------------------------------------------------

interface PgClient {
  query(sql: string, params?: unknown[]): Promise<{ rows: Row[] }>;
  release(err?: Error | boolean): void;
}
interface PgPool {
  connect(): Promise<PgClient>;
  end(): Promise<void>;
}

class Postgres implements SqlDatabase {
  readonly kind = 'pgsql';
  readonly description: string;
  readonly #config: object;
  #pool: PgPool | undefined;

  constructor(u: URL) {
    this.#config = {
      host: decodeURIComponent(u.hostname) || 'localhost',
      port: u.port ? Number(u.port) : 5432,
      user: decodeURIComponent(u.username) || undefined,
      password: u.password ? decodeURIComponent(u.password) : undefined,
      database: decodeURIComponent(u.pathname.slice(1)) || undefined,
      max: 50,
    };
    this.description = redact(u.href);
  }

  async connect(): Promise<SqlConnection> {
    if (!this.#pool) {
      const pg = requirePeer<{ Pool: new (c: object) => PgPool; types: { setTypeParser(oid: number, f: (v: string) => unknown): void } }>('pg');
      this.#pool = new pg.Pool(this.#config);
    }
    const client = await this.#pool.connect();
    const q = async (sql: string, params: unknown[] = []) => {
      let i = 0;
      return (await client.query(sql.replace(/\?/g, () => `$${++i}`), params)).rows;
    };
    // lock_timeout / statement_timeout 0 mean "no limit" in PostgreSQL: 1 ms is "do not wait".
    const ms = (t: number) => String(Math.max(1, Math.ceil(t)));
    return {
      query: q,
      async begin(timeoutMs) {
        await q('BEGIN');
        await q(`SET LOCAL lock_timeout = ${ms(timeoutMs)}`);
      },
      async advisoryLock(key, timeoutMs, target) {
        await q(`SET statement_timeout = ${ms(timeoutMs)}`);
        try {
          await q('SELECT pg_advisory_lock(?::bigint)', [key.toString()]);
        } catch (err) {
          if (isPgLockTimeout(err)) throw new LockTimeoutError(target, timeoutMs);
          throw err;
        } finally {
          await q('SET statement_timeout = 0');
        }
      },
      async release() {
        try {
          await q('ROLLBACK'); // a no-op (with a notice) outside a transaction
          await q('SELECT pg_advisory_unlock_all()');
          client.release();
        } catch (err) {
          client.release(err as Error); // a connection in an unknown state is not pooled
        }
      },
    };
  }

  async close(): Promise<void> {
    await this.#pool?.end();
    this.#pool = undefined;
  }
}

/** A PostgreSQL lock wait that ran out (lock_timeout / statement_timeout). */
export function isPgLockTimeout(err: unknown): boolean {
  return ['55P03', '57014'].includes((err as { code?: string }).code ?? '');
}
