/**
 * The operator's view of Laravel's `sessions` table. Entries carry the decoded payload (with a
 * `payloadCipher`, the decrypted serialize($attributes)) and last_activity as their mtime; gc
 * follows DatabaseSessionHandler::gc() (a row goes when last_activity ≤ now − lifetime), one row at
 * a time under the row lock, skipping rows a Node handle holds and rows written since they were judged.
 */
import { BackendError, InvalidSessionIdError, LockTimeoutError } from '../../errors.js';
import { newGcReport, recordGcError, storedTimes, type AdminSource, type AdminSourceSettings, type DestroyOutcome, type EntriesOptions, type GcOptions, type GcReport, type PutOutcome, type RewriteOutcome, type SessionEntry } from '../../session/admin.js';
import { SESSION_DEFAULTS } from '../../session/settings.js';
import { assertLaravelSessionId, isLaravelSessionId, type PayloadCipher } from '../shared/laravel.js';
import { LaravelSessionTable, type LaravelSessionRow, type LockedLaravelRow } from './table.js';

export interface LaravelDatabaseAdminOptions {
  /** `encrypt => true`: entries then hold the decrypted serialize($attributes). */
  payloadCipher?: PayloadCipher;
}

export class LaravelDatabaseAdminSource implements AdminSource {
  readonly saveHandler = 'laravel-database';
  readonly description: string;
  readonly #t: LaravelSessionTable;
  readonly #maxBytes: number;
  readonly #cipher: PayloadCipher | undefined;
  readonly #maxlifetime: number;

  /** @throws ConfigError for a bad URL or `laravel.table`. */
  constructor(settings: AdminSourceSettings, options: LaravelDatabaseAdminOptions = {}) {
    this.#t = new LaravelSessionTable(settings.savePath, settings.ini?.['laravel.table'] ?? 'sessions', 'laravel-database');
    this.#maxBytes = settings.maxBytes ?? SESSION_DEFAULTS.maxBytes;
    this.#cipher = options.payloadCipher ?? settings.payloadCipher;
    this.#maxlifetime = settings.maxlifetime;
    this.description = `${this.#t.db.description} table ${this.#t.table} (Laravel database driver)`;
  }

  validateId(id: string): void {
    assertLaravelSessionId(id);
  }

  async check(): Promise<void> {
    const t = this.#t;
    let conn;
    try {
      conn = await t.db.connect();
    } catch (err) {
      throw new BackendError(`cannot open the database: ${(err as Error).message}`, 'EBACKEND', { cause: err });
    }
    try {
      await conn.query(`SELECT id, payload, last_activity FROM "${t.table}" WHERE 1 = 0`);
    } catch (err) {
      throw new BackendError(`cannot read the sessions table ${t.table}: ${(err as Error).message}`, 'EBACKEND', { cause: err });
    } finally {
      await conn.release();
    }
  }

  #location(id: string): string {
    return `${this.#t.table}:${id}`;
  }

  /** The entry of a row; its bytes are the decrypted attributes when there is a cipher. @throws when they do not decrypt */
  #entry(id: string, row: LaravelSessionRow, size: number, withData: boolean): SessionEntry {
    const e: SessionEntry = { id, location: this.#location(id), size, ...storedTimes(row.lastActivity, this.#maxlifetime, Date.now()) };
    if (!withData) return e;
    if (size > this.#maxBytes) e.tooBig = true;
    else e.bytes = this.#cipher && row.payload.length > 0 ? this.#cipher.open(row.payload, this.#t.where(id)) : row.payload;
    return e;
  }

  #locked(l: LockedLaravelRow): SessionEntry & { bytes: Uint8Array } {
    const e = this.#entry(l.id, l.row!, l.row!.payload.length, true);
    if (!e.bytes) throw new BackendError(`${this.#location(l.id)}: is ${e.size} bytes, above the ${this.#maxBytes}-byte limit (maxBytes); not read`, 'ETOOBIG');
    return e as SessionEntry & { bytes: Uint8Array };
  }

  async *entries(options: EntriesOptions = {}): AsyncIterable<SessionEntry> {
    await this.check();
    const withData = options.withData ?? false;
    for await (const { id, size, row } of this.#t.rows(withData)) {
      options.signal?.throwIfAborted();
      if (!isLaravelSessionId(id)) continue;
      try {
        yield this.#entry(id, row, size, withData);
      } catch (err) {
        if (!options.onError) throw err;
        options.onError(this.#location(id), err as Error);
      }
    }
  }

  async read(id: string): Promise<SessionEntry | null> {
    this.validateId(id);
    const row = await this.#t.withConn((c) => this.#t.select(c, id));
    return row && this.#entry(id, row, row.payload.length, true);
  }

  async lockedRead(id: string, lockTimeoutMs: number): Promise<SessionEntry | null> {
    return this.withLocked(id, lockTimeoutMs, async (e) => e);
  }

  /** Runs `fn` under the lock; commits only when `fn` returns true. */
  async #underLock<T>(id: string, lockTimeoutMs: number, fn: (l: LockedLaravelRow) => Promise<[T, boolean]>): Promise<T> {
    this.validateId(id);
    const l = await this.#t.lock(id, lockTimeoutMs);
    let commit = false;
    try {
      const [out, write] = await fn(l);
      commit = write;
      return out;
    } finally {
      await this.#t.unlock(l, commit);
    }
  }

  async withLocked<T>(id: string, lockTimeoutMs: number, fn: (entry: SessionEntry | null) => Promise<T>): Promise<T> {
    return this.#underLock(id, lockTimeoutMs, async (l) => [await fn(l.row ? this.#locked(l) : null), false]);
  }

  async destroy(id: string, options: { lockTimeoutMs: number; onlyIf?: (entry: SessionEntry) => boolean }): Promise<DestroyOutcome> {
    return this.#underLock(id, options.lockTimeoutMs, async (l): Promise<[DestroyOutcome, boolean]> => {
      if (!l.row) return ['missing', false];
      if (options.onlyIf && !options.onlyIf(this.#locked(l))) return ['kept', false];
      await this.#t.delete(l.conn, id);
      return ['destroyed', true];
    });
  }

  async rewrite(id: string, fn: (entry: SessionEntry & { bytes: Uint8Array }) => Uint8Array | null, options: { lockTimeoutMs: number }): Promise<RewriteOutcome> {
    return this.#underLock(id, options.lockTimeoutMs, async (l): Promise<[RewriteOutcome, boolean]> => {
      if (!l.row) return ['missing', false];
      const entry = this.#locked(l);
      const next = fn(entry);
      if (next === null || Buffer.from(next).equals(Buffer.from(entry.bytes))) return ['unchanged', false];
      await this.#t.setPayload(l.conn, id, this.#cipher ? this.#cipher.seal(next) : next);
      return ['rewritten', true];
    });
  }

  /** A row as Laravel writes one outside a request (no user, ip or agent), last active `maxlifetime` before it expires. */
  async put(id: string, bytes: Uint8Array, options: { expiresAtMs: number; lockTimeoutMs: number; overwrite?: boolean }): Promise<PutOutcome> {
    return this.#underLock(id, options.lockTimeoutMs, async (l): Promise<[PutOutcome, boolean]> => {
      if (l.row && !options.overwrite) return ['exists', false];
      const lastActivity = Math.floor(options.expiresAtMs / 1000) - this.#maxlifetime;
      await this.#t.write(l.conn, id, this.#cipher ? this.#cipher.seal(bytes) : bytes, lastActivity);
      return ['written', true];
    });
  }

  async gc(options: GcOptions): Promise<GcReport> {
    const started = Date.now();
    const report = newGcReport(this.description, options);
    const cutoff = (options.now ?? Math.floor(started / 1000)) - options.maxlifetime;
    const old = (row: LaravelSessionRow) => row.lastActivity <= cutoff;
    await this.check();
    for await (const { id, size, row } of this.#t.rows(false)) {
      options.signal?.throwIfAborted();
      report.scanned++;
      if (!old(row)) continue;
      report.expired++;
      const where = this.#location(id);
      if (!isLaravelSessionId(id)) {
        recordGcError(report, where, new InvalidSessionIdError(id, 'not a Laravel session id: left alone'));
        continue;
      }
      try {
        const outcome = await this.#underLock(id, 0, async (l): Promise<['deleted' | 'would-delete' | 'touched' | 'vanished', boolean]> => {
          if (!l.row) return ['vanished', false];
          if (!old(l.row)) return ['touched', false];
          if (options.dryRun) return ['would-delete', false];
          await this.#t.delete(l.conn, id);
          return ['deleted', true];
        });
        if (outcome === 'vanished') report.vanished++;
        else if (outcome === 'touched') report.skippedTouched++;
        else {
          report.deleted++;
          report.bytesFreed += size;
        }
        options.onFile?.(where, outcome);
      } catch (err) {
        if (err instanceof LockTimeoutError) {
          report.skippedLocked++;
          options.onFile?.(where, 'locked');
        } else {
          recordGcError(report, where, err as Error);
          options.onFile?.(where, 'error', (err as Error).message);
        }
      }
      if (report.expired % 1000 === 0) options.onProgress?.(report);
    }
    report.durationMs = Date.now() - started;
    options.onProgress?.(report);
    return report;
  }

  async close(): Promise<void> {
    await this.#t.close();
  }
}
