/**
 * The operator's view of a Laravel `file` session directory. gc follows FileSessionHandler::gc
 * (a file goes when its mtime is at or before now − lifetime), but only for files named like a
 * Laravel id, only when no request holds them, and only if not touched since they were judged.
 * With a payloadCipher (`encrypt => true`) the bytes the commands see are the decrypted
 * serialize($attributes), sealed again on every write; gc needs no key (it judges mtimes only).
 */
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidSessionIdError, SessionFileError } from '../../errors.js';
import { newGcReport, recordGcError, type AdminSource, type PayloadCipher, type AdminSourceSettings, type DestroyOutcome, type EntriesOptions, type GcOptions, type GcReport, type RewriteOutcome, type SessionEntry } from '../../session/admin.js';
import { isLaravelSessionId } from '../shared/laravel.js';
import { errnoCode, lockSession, release, setMtime, unlinkHeld, writeLocked, type OpenedSession } from './file.js';

type Locked = OpenedSession;

export class LaravelFileAdminSource implements AdminSource {
  readonly saveHandler = 'laravel-files';
  readonly description: string;
  readonly #dir: string;
  readonly #maxBytes: number;
  readonly #cipher: PayloadCipher | undefined;

  constructor(settings: AdminSourceSettings) {
    this.#dir = settings.savePath;
    this.#maxBytes = settings.maxBytes ?? 256 * 1024 * 1024;
    this.#cipher = settings.payloadCipher;
    this.description = `${settings.savePath} (Laravel file driver)`;
  }

  validateId(id: string): void {
    if (!isLaravelSessionId(id)) throw new InvalidSessionIdError(String(id), 'Laravel session ids are exactly 40 letters and digits');
  }

  async check(): Promise<void> {
    try {
      readdirSync(this.#dir);
    } catch (err) {
      throw new SessionFileError(this.#dir, `cannot read the session directory: ${errnoCode(err) ?? ''} ${(err as Error).message}`.trim(), 'ESESSIONDIR', { cause: err });
    }
  }

  #entry(id: string, withData: boolean): SessionEntry | null {
    const location = join(this.#dir, id);
    const st = lstatSync(location, { throwIfNoEntry: false });
    if (!st?.isFile()) return null;
    const e: SessionEntry = { id, location, size: st.size, mtimeMs: st.mtimeMs };
    if (withData) {
      if (st.size > this.#maxBytes) e.tooBig = true;
      else e.bytes = this.#open(readFileSync(location), location);
    }
    return e;
  }

  /** Stored bytes → serialize($attributes). An empty file (a session Laravel has not saved yet) stays empty. @throws when they do not decrypt */
  #open(bytes: Uint8Array, location: string): Uint8Array {
    return this.#cipher && bytes.length > 0 ? this.#cipher.open(bytes, location) : bytes;
  }

  #locked(s: Locked): SessionEntry & { bytes: Uint8Array } {
    return { id: s.path.slice(this.#dir.length + 1), location: s.path, size: s.stat.size, mtimeMs: s.stat.mtimeMs, bytes: this.#open(s.bytes, s.path) };
  }

  async *entries(options: EntriesOptions = {}): AsyncIterable<SessionEntry> {
    await this.check();
    for (const name of readdirSync(this.#dir)) {
      options.signal?.throwIfAborted();
      if (!isLaravelSessionId(name)) continue;
      try {
        const e = this.#entry(name, options.withData ?? false);
        if (e) yield e;
      } catch (err) {
        if (errnoCode(err) === 'ENOENT') continue;
        if (!options.onError) throw err;
        options.onError(join(this.#dir, name), err as Error);
      }
    }
  }

  async read(id: string): Promise<SessionEntry | null> {
    this.validateId(id);
    return this.#entry(id, true);
  }

  async lockedRead(id: string, lockTimeoutMs: number): Promise<SessionEntry | null> {
    this.validateId(id);
    const s = await lockSession(this.#dir, id, { exclusive: false, timeoutMs: lockTimeoutMs, maxBytes: this.#maxBytes });
    if (!s) return null;
    release(s.fd, s.path);
    return this.#locked(s);
  }

  async withLocked<T>(id: string, lockTimeoutMs: number, fn: (entry: SessionEntry | null) => Promise<T>): Promise<T> {
    this.validateId(id);
    const s = await lockSession(this.#dir, id, { exclusive: true, timeoutMs: lockTimeoutMs, maxBytes: this.#maxBytes });
    if (!s) return fn(null);
    try {
      return await fn(this.#locked(s));
    } finally {
      release(s.fd, s.path);
    }
  }

  async destroy(id: string, options: { lockTimeoutMs: number; onlyIf?: (entry: SessionEntry) => boolean }): Promise<DestroyOutcome> {
    this.validateId(id);
    const s = await lockSession(this.#dir, id, { exclusive: true, timeoutMs: options.lockTimeoutMs, maxBytes: this.#maxBytes });
    if (!s) return 'missing';
    try {
      if (options.onlyIf && !options.onlyIf(this.#locked(s))) return 'kept';
      return unlinkHeld(s) ? 'destroyed' : 'missing';
    } finally {
      release(s.fd, s.path);
    }
  }

  async rewrite(id: string, fn: (entry: SessionEntry & { bytes: Uint8Array }) => Uint8Array | null, options: { lockTimeoutMs: number }): Promise<RewriteOutcome> {
    this.validateId(id);
    const s = await lockSession(this.#dir, id, { exclusive: true, timeoutMs: options.lockTimeoutMs, maxBytes: this.#maxBytes });
    if (!s) return 'missing';
    try {
      const entry = this.#locked(s);
      const next = fn(entry);
      if (next === null || Buffer.from(next).equals(Buffer.from(entry.bytes))) return 'unchanged';
      writeLocked(s.fd, s.path, this.#cipher ? this.#cipher.seal(next) : next);
      setMtime(s.fd, s.stat.mtime); // a rewrite does not make the session younger
      return 'rewritten';
    } finally {
      release(s.fd, s.path);
    }
  }

  async gc(options: GcOptions): Promise<GcReport> {
    const started = Date.now();
    const report = newGcReport(this.description, options);
    const now = options.now ?? Math.floor(started / 1000);
    const old = (mtimeMs: number) => Math.floor(mtimeMs / 1000) <= now - options.maxlifetime;
    for await (const e of this.entries({ signal: options.signal, onError: (loc, err) => recordGcError(report, loc, err) })) {
      report.scanned++;
      if (!old(e.mtimeMs)) continue;
      report.expired++;
      let s: Locked | null;
      try {
        s = await lockSession(this.#dir, e.id, { exclusive: true, timeoutMs: 0, maxBytes: Infinity });
      } catch (err) {
        if ((err as { code?: string }).code === 'ELOCKTIMEOUT') {
          report.skippedLocked++;
          options.onFile?.(e.location, 'locked');
        } else recordGcError(report, e.location, err as Error);
        continue;
      }
      if (!s) {
        report.vanished++;
        options.onFile?.(e.location, 'vanished');
        continue;
      }
      try {
        if (!old(s.stat.mtimeMs)) {
          report.skippedTouched++;
          options.onFile?.(e.location, 'touched');
        } else if (options.dryRun || unlinkHeld(s)) {
          report.deleted++;
          report.bytesFreed += s.stat.size;
          options.onFile?.(e.location, options.dryRun ? 'would-delete' : 'deleted');
        } else {
          report.vanished++;
          options.onFile?.(e.location, 'vanished');
        }
      } finally {
        release(s.fd, s.path);
      }
      if (report.expired % 1000 === 0) options.onProgress?.(report);
    }
    report.durationMs = Date.now() - started;
    options.onProgress?.(report);
    return report;
  }

  async close(): Promise<void> {}
}
