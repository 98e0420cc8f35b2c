/**
 * The operator's view of a Laravel `file` session directory. gc follows FileSessionHandler::gc
 * (a file goes when its mtime is at or before now − lifetime), but only for files named like a
 * Laravel id, only when no request holds them, and only if not touched since they were judged.
 * Listing, reading and locking go through the shared file-io module, like PHP's files: a
 * symlink or a non-regular file named like an id is skipped by the listings and refused
 * (ESYMLINK, ENOTFILE) by inspect and destroy; Laravel's own gc would follow it.
 * With a payloadCipher (`encrypt => true`) the bytes the commands see are the decrypted
 * serialize($attributes), sealed again on every write; gc needs no key (it judges mtimes only).
 */
import { newGcReport, recordGcError, type AdminSource, type AdminSourceSettings, type PayloadCipher, type DestroyOutcome, type EntriesOptions, type GcOptions, type GcReport, type RewriteOutcome, type SessionEntry } from '../../session/admin.js';
import { SESSION_DEFAULTS } from '../../session/settings.js';
import { forgetSaveDir, lockFile, PinnedDir, readEntryAt, release, rewriteLocked, unlinkLocked, type FileLocation, type LockedFile } from '../shared/file-io/index.js';
import { assertLaravelSessionId } from '../shared/laravel.js';
import { dirError, foundLocation, locateLaravelFile, walkLaravelFiles } from './paths.js';

type Locked = LockedFile;

export class LaravelFileAdminSource implements AdminSource {
  readonly saveHandler = 'laravel-files';
  readonly description: string;
  readonly #dir: string;
  readonly #maxBytes: number;
  readonly #cipher: PayloadCipher | undefined;

  constructor(settings: AdminSourceSettings) {
    this.#dir = settings.savePath;
    this.#maxBytes = settings.maxBytes ?? SESSION_DEFAULTS.maxBytes;
    this.#cipher = settings.payloadCipher;
    this.description = `${settings.savePath} (Laravel file driver)`;
  }

  validateId(id: string): void {
    assertLaravelSessionId(id);
  }

  async check(): Promise<void> {
    try {
      PinnedDir.probeRoot(this.#dir);
    } catch (err) {
      throw dirError(this.#dir, err);
    }
  }

  /** Opens (never follows), checks and optionally reads one file; null when it is gone. */
  #readAt(dir: PinnedDir, loc: FileLocation, id: string, withData: boolean): SessionEntry | null {
    const found = readEntryAt(dir, loc, { withData, maxBytes: this.#maxBytes });
    if (!found) return null;
    const e: SessionEntry = { id, location: loc.path, size: found.st.size, mtimeMs: found.st.mtimeMs };
    if (found.tooBig) e.tooBig = true;
    else if (found.bytes) e.bytes = this.#open(found.bytes, loc.path);
    return e;
  }

  /** Stored bytes → serialize($attributes). An empty file (a session Laravel has not saved yet) stays empty. @throws when they do not decrypt */
  #open(bytes: Uint8Array, location: string): Uint8Array {
    return this.#cipher && bytes.length > 0 ? this.#cipher.open(bytes, location) : bytes;
  }

  #locked(s: Locked): SessionEntry & { bytes: Uint8Array } {
    return { id: s.loc.name, location: s.loc.path, size: s.st.size, mtimeMs: s.st.mtimeMs, bytes: this.#open(s.bytes, s.loc.path) };
  }

  /** LOCK_EX (read-write) or LOCK_SH, as Laravel's writes and reads take them. */
  #lock(id: string, exclusive: boolean, timeoutMs: number, extra: { noRead?: boolean; maxBytes?: number } = {}): Promise<Locked | null> {
    return lockFile(locateLaravelFile(this.#dir, id), { exclusive, write: exclusive, timeoutMs, maxBytes: extra.maxBytes ?? this.#maxBytes, noRead: extra.noRead });
  }

  async *entries(options: EntriesOptions = {}): AsyncIterable<SessionEntry> {
    await this.check();
    for (const found of walkLaravelFiles(this.#dir, { signal: options.signal, onError: options.onError })) {
      let e: SessionEntry | null;
      try {
        e = this.#readAt(found.dir, foundLocation(found), found.id, options.withData ?? false);
      } catch (err) {
        if (!options.onError) throw err;
        options.onError(found.path, err as Error);
        continue;
      }
      if (e) yield e;
    }
  }

  async read(id: string): Promise<SessionEntry | null> {
    const loc = locateLaravelFile(this.#dir, id);
    const dir = PinnedDir.open(loc.root, loc.dirs);
    try {
      return this.#readAt(dir, loc, id, true);
    } finally {
      dir.close();
    }
  }

  async lockedRead(id: string, lockTimeoutMs: number): Promise<SessionEntry | null> {
    this.validateId(id);
    const s = await this.#lock(id, false, lockTimeoutMs);
    if (!s) return null;
    await release(s);
    return this.#locked(s);
  }

  async withLocked<T>(id: string, lockTimeoutMs: number, fn: (entry: SessionEntry | null) => Promise<T>): Promise<T> {
    this.validateId(id);
    const s = await this.#lock(id, true, lockTimeoutMs);
    if (!s) return fn(null);
    try {
      return await fn(this.#locked(s));
    } finally {
      await release(s);
    }
  }

  async destroy(id: string, options: { lockTimeoutMs: number; onlyIf?: (entry: SessionEntry) => boolean }): Promise<DestroyOutcome> {
    this.validateId(id);
    const s = await this.#lock(id, true, options.lockTimeoutMs, { noRead: !options.onlyIf });
    if (!s) return 'missing';
    try {
      if (options.onlyIf && !options.onlyIf(this.#locked(s))) return 'kept';
      return (await unlinkLocked(s)) ? 'destroyed' : 'missing';
    } finally {
      await release(s);
    }
  }

  async rewrite(id: string, fn: (entry: SessionEntry & { bytes: Uint8Array }) => Uint8Array | null, options: { lockTimeoutMs: number }): Promise<RewriteOutcome> {
    this.validateId(id);
    const s = await this.#lock(id, true, options.lockTimeoutMs);
    if (!s) return 'missing';
    try {
      const entry = this.#locked(s);
      const next = fn(entry);
      if (next === null || Buffer.from(next).equals(Buffer.from(entry.bytes))) return 'unchanged';
      // A rewrite does not make the session younger: its times are put back.
      return (await rewriteLocked(s, this.#cipher ? this.#cipher.seal(next) : next)) ? 'rewritten' : 'missing';
    } finally {
      await release(s);
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
        s = await this.#lock(e.id, true, 0, { noRead: true, maxBytes: Infinity });
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
        if (!old(s.st.mtimeMs)) {
          report.skippedTouched++;
          options.onFile?.(e.location, 'touched');
        } else if (options.dryRun || (await unlinkLocked(s))) {
          report.deleted++;
          report.bytesFreed += s.st.size;
          options.onFile?.(e.location, options.dryRun ? 'would-delete' : 'deleted');
        } else {
          report.vanished++;
          options.onFile?.(e.location, 'vanished');
        }
      } finally {
        await release(s);
      }
      if (report.expired % 1000 === 0) options.onProgress?.(report);
    }
    report.durationMs = Date.now() - started;
    options.onProgress?.(report);
    return report;
  }

  async close(): Promise<void> {
    forgetSaveDir(this.#dir);
  }
}
