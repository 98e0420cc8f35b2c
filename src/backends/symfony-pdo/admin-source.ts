/**
 * The operator's view of a PdoSessionHandler table (save handler `symfony-pdo`; savePath the
 * database URL, `ini` `symfony.table` and `symfony.lock_mode`). Every change takes the lock the
 * lock mode says, as a Symfony request would. gc is PdoSessionHandler's: a row goes when its
 * expiry time (`sess_lifetime`, or `sess_lifetime + sess_time` for a legacy row) is before now —
 * the rows carry their own lifetime, so `maxlifetime` is not used — each re-judged under its
 * lock, and a row a request holds is left for the next run.
 */
import { BackendError, ConfigError, LockTimeoutError } from '../../errors.js';
import { newGcReport, recordGcError, datedMs, storedTimes, ttlTimes, type AdminSource, type AdminSourceSettings, type DestroyOutcome, type EntriesOptions, type GcOptions, type GcReport, type PutOutcome, type RewriteOutcome, type SessionEntry } from '../../session/admin.js';
import { SESSION_DEFAULTS } from '../../session/settings.js';
import { assertValidSessionId } from '../../session/session-id.js';
import { SymfonyPdoSessionStore, type LockedRow, type PdoLockMode, type PdoRow } from './store.js';

const PAGE = 500;

export class SymfonyPdoAdminSource implements AdminSource {
  readonly saveHandler = 'symfony-pdo';
  readonly description: string;
  readonly #store: SymfonyPdoSessionStore;
  readonly #maxBytes: number;
  readonly #maxlifetime: number;

  /** @throws ConfigError for a bad URL, table or lock mode. */
  constructor(settings: AdminSourceSettings) {
    const lockMode = (settings.ini?.['symfony.lock_mode'] ?? 'transactional') as PdoLockMode;
    const table = settings.ini?.['symfony.table'] ?? 'sessions';
    const serializeHandler = settings.serializeHandler === 'auto' ? undefined : settings.serializeHandler;
    this.#store = new SymfonyPdoSessionStore({ url: settings.savePath, table, lockMode, serializeHandler, gcMaxlifetime: settings.maxlifetime });
    this.#maxBytes = settings.maxBytes ?? SESSION_DEFAULTS.maxBytes;
    this.#maxlifetime = settings.maxlifetime;
    this.description = `${this.#store.db.description} table ${table} (Symfony PdoSessionHandler, lock ${lockMode})`;
  }

  validateId(id: string): void {
    assertValidSessionId(id);
  }

  async #conn<T>(fn: (c: Awaited<ReturnType<SymfonyPdoSessionStore['db']['connect']>>) => Promise<T>): Promise<T> {
    const c = await this.#store.db.connect();
    try {
      return await fn(c);
    } finally {
      await c.release();
    }
  }

  async check(): Promise<void> {
    try {
      await this.#conn((c) => c.query(`SELECT sess_id FROM ${this.#store.table} WHERE 1 = 0`));
    } catch (err) {
      if (err instanceof ConfigError || err instanceof BackendError) throw err;
      throw new BackendError(`cannot read the sessions table: ${(err as Error).message}`, 'EBACKEND', { cause: err });
    }
  }

  #entry(id: string, row: PdoRow, withData: boolean): SessionEntry {
    const e: SessionEntry = { id, location: `${this.#store.table}:${id}`, size: row.data.length, ...this.#times(row) };
    if (withData) {
      if (row.data.length > this.#maxBytes) e.tooBig = true;
      else e.bytes = row.data;
    }
    return e;
  }

  /**
   * A row's last write (sess_time) and its own expiry time (sess_lifetime), which decides, not
   * gc_maxlifetime. An expiry that is no date (SQLite text, 2^63 - 1) is one Symfony's gc
   * (`sess_lifetime < :time`) never passes: the row never expires, whatever sess_time says. A
   * sess_time that is no date beside a real expiry gets a stand-in, maxlifetime before it.
   */
  #times(row: PdoRow): Pick<SessionEntry, 'mtimeMs' | 'neverExpires' | 'expiresAtMs'> {
    const nowMs = Date.now();
    const expiresAtMs = datedMs(this.#store.expiryOf(row));
    if (expiresAtMs === null) return ttlTimes(null, this.#maxlifetime, nowMs);
    const written = storedTimes(row.time, this.#maxlifetime, nowMs);
    return { mtimeMs: written.neverExpires ? expiresAtMs - this.#maxlifetime * 1000 : written.mtimeMs, expiresAtMs };
  }

  /** Every stored row in id order, a page at a time: memory stays bounded, and no connection is held between pages. */
  async *#rows(withData: boolean, signal?: AbortSignal): AsyncGenerator<{ id: string; row: PdoRow; size: number }> {
    const t = this.#store.table;
    const cols = withData ? 'sess_id, sess_data, sess_lifetime, sess_time' : 'sess_id, length(sess_data) AS sess_size, sess_lifetime, sess_time';
    let after = '';
    for (;;) {
      signal?.throwIfAborted();
      const rows = await this.#conn((c) => c.query(`SELECT ${cols} FROM ${t} WHERE sess_id > ? ORDER BY sess_id LIMIT ${PAGE}`, [after]));
      for (const r of rows) {
        const id = String(r.sess_id);
        after = id;
        const data = withData ? toBuffer(r.sess_data) : Buffer.alloc(0);
        const size = withData ? data.length : Number(r.sess_size);
        // A lock placeholder or an emptied session: Symfony deletes those rather than keep them.
        if (size > 0) yield { id, row: { data, lifetime: Number(r.sess_lifetime), time: Number(r.sess_time) }, size };
      }
      if (rows.length < PAGE) return;
    }
  }

  async *entries(options: EntriesOptions = {}): AsyncIterable<SessionEntry> {
    for await (const { id, row, size } of this.#rows(options.withData ?? false, options.signal)) {
      const e = this.#entry(id, row, options.withData ?? false);
      e.size = size;
      yield e;
    }
  }

  async read(id: string): Promise<SessionEntry | null> {
    this.validateId(id);
    const row = await this.#conn((c) => this.#store.selectRow(c, id));
    return row && row.data.length > 0 ? this.#entry(id, row, true) : null;
  }

  async #locked<T>(id: string, lockTimeoutMs: number, fn: (l: LockedRow) => Promise<{ value: T; commit: boolean }>): Promise<T> {
    this.validateId(id);
    const locked = await this.#store.lockRow(id, lockTimeoutMs);
    let commit = false;
    try {
      const r = await fn(locked);
      commit = r.commit;
      return r.value;
    } finally {
      await this.#store.unlock(locked, commit);
    }
  }

  #live(l: LockedRow): PdoRow | null {
    return l.row && l.row.data.length > 0 ? l.row : null;
  }

  lockedRead(id: string, lockTimeoutMs: number): Promise<SessionEntry | null> {
    return this.#locked(id, lockTimeoutMs, async (l) => {
      const row = this.#live(l);
      return { value: row ? this.#entry(id, row, true) : null, commit: false };
    });
  }

  destroy(id: string, options: { lockTimeoutMs: number; onlyIf?: (entry: SessionEntry) => boolean }): Promise<DestroyOutcome> {
    return this.#locked(id, options.lockTimeoutMs, async (l) => {
      const row = this.#live(l);
      if (!row) return { value: 'missing' as const, commit: false };
      if (options.onlyIf && !options.onlyIf(this.#entry(id, row, true))) return { value: 'kept' as const, commit: false };
      await this.#store.deleteRow(l.conn, id);
      return { value: 'destroyed' as const, commit: true };
    });
  }

  rewrite(id: string, fn: (entry: SessionEntry & { bytes: Uint8Array }) => Uint8Array | null, options: { lockTimeoutMs: number }): Promise<RewriteOutcome> {
    return this.#locked(id, options.lockTimeoutMs, async (l) => {
      const row = this.#live(l);
      if (!row) return { value: 'missing' as const, commit: false };
      const next = fn({ ...this.#entry(id, row, false), bytes: row.data });
      if (next === null || Buffer.from(next).equals(row.data)) return { value: 'unchanged' as const, commit: false };
      // The expiry and last-write time stay: a rewrite does not extend the session's life.
      await this.#store.writeRow(l.conn, id, next, { lifetime: row.lifetime, time: row.time });
      return { value: 'rewritten' as const, commit: true };
    });
  }

  withLocked<T>(id: string, lockTimeoutMs: number, fn: (entry: SessionEntry | null) => Promise<T>): Promise<T> {
    return this.#locked(id, lockTimeoutMs, async (l) => {
      const row = this.#live(l);
      return { value: await fn(row ? this.#entry(id, row, true) : null), commit: false };
    });
  }

  put(id: string, bytes: Uint8Array, options: { expiresAtMs: number; lockTimeoutMs: number; overwrite?: boolean }): Promise<PutOutcome> {
    return this.#locked(id, options.lockTimeoutMs, async (l) => {
      if (this.#live(l) && !options.overwrite) return { value: 'exists' as const, commit: false };
      const lifetime = Math.floor(options.expiresAtMs / 1000);
      await this.#store.writeRow(l.conn, id, bytes, { lifetime, time: lifetime - this.#maxlifetime });
      return { value: 'written' as const, commit: true };
    });
  }

  async gc(options: GcOptions): Promise<GcReport> {
    const started = Date.now();
    const report = newGcReport(this.description, options);
    const now = options.now ?? Math.floor(started / 1000);
    report.notes = ["PdoSessionHandler rows carry their own expiry time (sess_lifetime): a row goes once it has passed; gc_maxlifetime is not used"];
    const s = this.#store;
    for await (const { id, row: scanned } of this.#rows(false, options.signal)) {
      report.scanned++;
      if (!s.expired(scanned, now)) continue;
      report.expired++;
      const e = { id, location: `${s.table}:${id}` };
      try {
        const outcome = await this.#locked(e.id, 0, async (l) => {
          const row = this.#live(l);
          if (!row) return { value: 'vanished' as const, commit: false };
          if (!s.expired(row, now)) return { value: 'touched' as const, commit: false };
          if (!options.dryRun) await s.deleteRow(l.conn, e.id);
          report.bytesFreed += row.data.length;
          return { value: options.dryRun ? ('would-delete' as const) : ('deleted' as const), commit: !options.dryRun };
        });
        if (outcome === 'vanished') report.vanished++;
        else if (outcome === 'touched') report.skippedTouched++;
        else report.deleted++;
        options.onFile?.(e.location, outcome);
      } catch (err) {
        if (err instanceof LockTimeoutError) {
          report.skippedLocked++;
          options.onFile?.(e.location, 'locked');
        } else {
          recordGcError(report, e.location, err as Error);
          options.onFile?.(e.location, 'error', (err as Error).message);
        }
      }
      if (report.scanned % 1000 === 0) options.onProgress?.(report);
    }
    report.durationMs = Date.now() - started;
    options.onProgress?.(report);
    return report;
  }

  async close(): Promise<void> {
    await this.#store.close();
  }
}

function toBuffer(v: unknown): Buffer {
  return Buffer.isBuffer(v) ? v : Buffer.from(String(v ?? ''), 'latin1');
}
