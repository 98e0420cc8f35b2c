/**
 * The `files` save handler as the admin commands see it (the AdminSource contract), with
 * every file access through the shared file-io module: the same O_NOFOLLOW, pinned directories, size cap,
 * owner rule and "still the locked inode" checks as the store.
 */
import { closeSync, fstatSync, type Stats } from 'node:fs';
import { SavePathError, SessionFileError } from '../../errors.js';
import type { AdminSource, AdminSourceSettings, MissingStructure, DestroyOutcome, PutOutcome, EntriesOptions, GcOptions, GcReport, RewriteOutcome, SessionEntry } from '../../session/admin.js';
import { SESSION_DEFAULTS } from '../../session/settings.js';
import { assertValidSessionId } from '../../session/session-id.js';
import { errnoCode, forgetSaveDir, osErrorText, lockFile, PinnedDir, readEntryAt, release, rewriteLocked, touchLocked, unlinkLocked, writeLocked, type FileLocation, type LockedFile } from '../shared/file-io/index.js';
import { locateSessionFile } from './paths.js';
import { parseSavePath, type SavePath } from './save-path.js';
import { walkSessionTree } from './walk.js';


export class FileAdminSource implements AdminSource {
  readonly saveHandler = 'files';
  readonly sp: SavePath;
  readonly description: string;
  readonly maxBytes: number;

  /** @throws ConfigError for a bad save_path. */
  /** session.gc_maxlifetime: what `put` sets mtimes against. */
  readonly maxlifetime: number;

  constructor(settings: Pick<AdminSourceSettings, 'savePath' | 'maxBytes'> & Partial<Pick<AdminSourceSettings, 'maxlifetime'>> | string) {
    const s = typeof settings === 'string' ? { savePath: settings } : settings;
    this.maxlifetime = (typeof settings === 'string' ? undefined : settings.maxlifetime) ?? 1440;
    this.sp = parseSavePath(s.savePath);
    this.maxBytes = s.maxBytes ?? SESSION_DEFAULTS.maxBytes;
    this.description = `${this.sp.path}${this.sp.depth ? ` (depth ${this.sp.depth})` : ''}`;
  }

  validateId(id: string): void {
    assertValidSessionId(id, this.sp.depth);
  }

  /** Where session `id` lives. @throws InvalidSessionIdError */
  pathOf(id: string): string {
    return locateSessionFile(this.sp, id).path;
  }

  async check(): Promise<void> {
    let st: Stats;
    let fd: number;
    try {
      fd = PinnedDir.openRoot(this.sp.path);
    } catch (err) {
      if (err instanceof SavePathError) throw err; // a symlink we may not follow: said as it is
      const code = errnoCode(err);
      const why =
        code === 'ENOENT' ? 'the save path does not exist'
        : code === 'ENOTDIR' ? 'the save path is not a directory (ENOTDIR)'
        : code === 'EACCES' || code === 'EPERM' ? `the save path cannot be read (${code}): run as the user PHP runs as, or as root`
        : `the save path cannot be opened: ${osErrorText(err)}`;
      throw new SessionFileError(this.sp.path, why, 'ESAVEPATH', { cause: err });
    }
    try {
      st = fstatSync(fd);
    } finally {
      closeSync(fd);
    }
    if (!st.isDirectory()) throw new SessionFileError(this.sp.path, 'the save path is not a directory (ENOTDIR)', 'ESAVEPATH');
  }

  async *entries(options: EntriesOptions = {}): AsyncIterable<SessionEntry> {
    const walker = walkSessionTree(this.sp.path, {
      depth: this.sp.depth,
      strictPlacement: true,
      validIdsOnly: true,
      signal: options.signal,
      onError: (p, err) => options.onError?.(p, err instanceof SavePathError ? err : new SessionFileError(p, `cannot read directory: ${err.message}`, 'ESESSIONDIR', { cause: err })),
    });
    for (const found of walker) {
      const loc: FileLocation = { root: found.dir.path, dirs: [], name: found.name, path: found.path };
      let entry: SessionEntry | null;
      try {
        entry = this.#readAt(found.dir, loc, found.id, options.withData ?? false);
      } catch (err) {
        options.onError?.(found.path, err as Error);
        continue;
      }
      if (entry) yield entry;
    }
  }

  /** Opens (never follows), checks and optionally reads one file; null when it is gone. */
  #readAt(dir: PinnedDir, loc: FileLocation, id: string, withData: boolean): SessionEntry | null {
    const found = readEntryAt(dir, loc, { withData, maxBytes: this.maxBytes });
    if (!found) return null;
    const entry: SessionEntry = { id, location: loc.path, size: found.st.size, mtimeMs: found.st.mtimeMs };
    if (found.tooBig) entry.tooBig = true;
    else if (found.bytes) entry.bytes = found.bytes;
    return entry;
  }

  async read(id: string): Promise<SessionEntry | null> {
    const loc = locateSessionFile(this.sp, id);
    const dir = PinnedDir.open(loc.root, loc.dirs);
    try {
      return this.#readAt(dir, loc, id, true);
    } finally {
      dir.close();
    }
  }

  #lock(id: string, exclusive: boolean, timeoutMs: number, noRead = false): Promise<LockedFile | null> {
    return lockFile(locateSessionFile(this.sp, id), { exclusive, write: exclusive, timeoutMs, maxBytes: this.maxBytes, noRead });
  }

  #entry(id: string, f: LockedFile, withBytes: boolean): SessionEntry {
    const e: SessionEntry = { id, location: f.loc.path, size: f.st.size, mtimeMs: f.st.mtimeMs };
    if (withBytes) e.bytes = f.bytes;
    return e;
  }

  async lockedRead(id: string, lockTimeoutMs: number): Promise<SessionEntry | null> {
    const f = await this.#lock(id, false, lockTimeoutMs);
    if (!f) return null;
    await release(f);
    return this.#entry(id, f, true);
  }

  async destroy(id: string, options: { lockTimeoutMs: number; onlyIf?: (entry: SessionEntry) => boolean }): Promise<DestroyOutcome> {
    const f = await this.#lock(id, true, options.lockTimeoutMs, !options.onlyIf);
    if (!f) return 'missing';
    try {
      if (options.onlyIf && !options.onlyIf(this.#entry(id, f, true))) return 'kept';
      return (await unlinkLocked(f)) ? 'destroyed' : 'missing';
    } finally {
      await release(f);
    }
  }

  async rewrite(id: string, fn: (entry: SessionEntry & { bytes: Uint8Array }) => Uint8Array | null, options: { lockTimeoutMs: number }): Promise<RewriteOutcome> {
    const f = await this.#lock(id, true, options.lockTimeoutMs);
    if (!f) return 'missing';
    try {
      const next = fn({ ...this.#entry(id, f, false), bytes: f.bytes });
      if (next === null || Buffer.from(next.buffer, next.byteOffset, next.byteLength).equals(f.bytes)) return 'unchanged';
      // The mtime is kept exactly (to the nanosecond where the file system has it): a rewrite is no visit.
      return (await rewriteLocked(f, next)) ? 'rewritten' : 'missing';
    } finally {
      await release(f);
    }
  }

  async withLocked<T>(id: string, lockTimeoutMs: number, fn: (entry: SessionEntry | null) => Promise<T>): Promise<T> {
    const f = await this.#lock(id, true, lockTimeoutMs);
    try {
      return await fn(f ? this.#entry(id, f, true) : null);
    } finally {
      if (f) await release(f);
    }
  }

  /**
   * Writes the session file as PHP does (created with the save_path mode, written in place under
   * flock), then sets its mtime so that gc sees it expire at `expiresAtMs`. The file belongs to
   * whoever runs this: run as PHP's user, or PHP will refuse a file it does not own.
   */
  async put(id: string, bytes: Uint8Array, options: { expiresAtMs: number; lockTimeoutMs: number; overwrite?: boolean }): Promise<PutOutcome> {
    const loc = locateSessionFile(this.sp, id);
    const f = (await lockFile(loc, { exclusive: true, write: true, create: { mode: this.sp.mode }, timeoutMs: options.lockTimeoutMs, maxBytes: this.maxBytes }))!;
    try {
      if (!f.created && f.st.size > 0 && !options.overwrite) return 'exists';
      try {
        await writeLocked(f, bytes, f.bytes);
      } catch (err) {
        // A file made here for it (full disk, quota) would stay as an empty session: remove it.
        if (f.created && (await unlinkLocked(f).catch(() => false))) {
          const why = errnoCode((err as Error).cause) ?? (err as Error).message;
          throw new SessionFileError(loc.path, `write failed (${why}): nothing stored (the file created for it was removed)`, 'EWRITE', { cause: err });
        }
        throw err;
      }
      const mtime = new Date(options.expiresAtMs - this.maxlifetime * 1000);
      await touchLocked(f, { atime: mtime, mtime });
      return 'written';
    } finally {
      await release(f);
    }
  }

  async gc(options: GcOptions): Promise<GcReport> {
    // Loaded on use: the worker-thread machinery is not needed by any other command.
    const { gcFiles } = await import('./gc.js');
    return gcFiles(this.sp, options);
  }

  async missingStructure(sidBitsPerCharacter: 4 | 5 | 6): Promise<Required<MissingStructure>> {
    if (this.sp.depth === 0) return { count: 0, samples: [], notDirectories: [] };
    const { findMissingSessionDirs } = await import('./mkdirs.js');
    return findMissingSessionDirs(this.sp, sidBitsPerCharacter);
  }

  async close(): Promise<void> {
    forgetSaveDir(this.sp.path);
  }
}
