import {
  closeSync,
  constants as C,
  fstatSync,
  ftruncateSync,
  futimesSync,
  lstatSync,
  openSync,
  readSync,
  unlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { ConfigError, SessionFileError } from '../errors.js';
import type { GcOptions, GcReport } from './gc.js';
import type { AdminSettings } from './settings.js';
import { parseSavePath, type SavePath } from '../store/save-path.js';
// Module by module, not through store/index.ts: session-id.ts and paths.ts load neither
// node:crypto nor the flock addon, which `inspect` must not pay for at start-up; the lock
// module (the addon) is imported on use.
import { assertValidSessionId } from '../store/session-id.js';
import { sessionFilePath } from '../store/paths.js';
async function lockFd(fd: number, options: { exclusive: boolean; timeoutMs: number; target: string }): Promise<void> {
  const lock = await import('../store/lock.js');
  return lock.lockFd(fd, options);
}
import { walkSessionTree } from '../store/walk.js';

/** One stored session as the admin commands see it, whatever the backend. */
export interface SessionEntry {
  id: string;
  /** Where it lives: a file path, a Redis key. */
  location: string;
  size: number;
  /** Last write (files: mtime; Redis: derived from the TTL). */
  mtimeMs: number;
  /** The stored bytes, when asked for. */
  bytes?: Uint8Array;
}

export type DestroyOutcome = 'destroyed' | 'missing' | 'kept';
export type RewriteOutcome = 'rewritten' | 'unchanged' | 'missing';

/**
 * The small storage abstraction every command is written against, so that a second
 * backend (Redis) slots in by implementing it and registering it with
 * {@link registerAdminSource}. Changes happen under the backend's PHP-compatible lock.
 */
export interface AdminSource {
  readonly saveHandler: string;
  /** What is being looked at, for messages (`/var/lib/php/sessions (depth 2)`). */
  readonly description: string;
  /** @throws InvalidSessionIdError when the backend would refuse `id` (checked before any access). */
  validateId(id: string): void;
  /** Every session, streamed with bounded memory; `withData` also reads the bytes. */
  entries(options?: { withData?: boolean; onError?: (location: string, err: Error) => void }): AsyncIterable<SessionEntry>;
  /**
   * One session with its bytes, read without the lock (PHP writes in place, so a torn read
   * is possible: use `lockedRead` to be sure); null when it does not exist.
   * @throws InvalidSessionIdError before touching storage for an id PHP would refuse.
   */
  read(id: string): Promise<SessionEntry | null>;
  /** Like read, under a shared lock (waits at most `lockTimeoutMs`). @throws LockTimeoutError */
  lockedRead(id: string, lockTimeoutMs: number): Promise<SessionEntry | null>;
  /**
   * Deletes a session under PHP's exclusive lock; `onlyIf` is checked on the locked state
   * (for bulk deletes by age: a session touched meanwhile is kept).
   * @throws LockTimeoutError when a live request holds it longer than `lockTimeoutMs`.
   */
  destroy(id: string, options: { lockTimeoutMs: number; onlyIf?: (entry: SessionEntry) => boolean }): Promise<DestroyOutcome>;
  /**
   * Rewrites a session in place under PHP's exclusive lock: `fn` gets the locked bytes and
   * returns the new bytes (null = leave it). The last-modified time is kept, so a rewrite
   * does not extend the session's life.
   * @throws LockTimeoutError; whatever `fn` throws (nothing is written then).
   */
  rewrite(id: string, fn: (entry: SessionEntry & { bytes: Uint8Array }) => Uint8Array | null, options: { lockTimeoutMs: number }): Promise<RewriteOutcome>;
  /** PHP's gc (files: delete expired files; Redis: nothing, keys expire by TTL). */
  gc(options: GcOptions): Promise<GcReport>;
  close(): Promise<void>;
}

type SourceFactory = (settings: AdminSettings) => AdminSource | Promise<AdminSource>;
const registry = new Map<string, SourceFactory>();

/**
 * Backends loaded only when their save_handler is asked for (so `files` commands never
 * load a Redis client). A loader imports a module that calls registerAdminSource(name, …),
 * e.g. `redis: () => import('../backends/redis/admin-source.js')`.
 */
const LAZY_SOURCES: Record<string, () => Promise<unknown>> = {
  redis: () => import('../backends/redis/admin-source.js'),
  rediscluster: () => import('../backends/redis/admin-source.js'),
};

/** Lets another backend (e.g. `redis`) serve the admin commands for its save_handler name. */
export function registerAdminSource(saveHandler: string, factory: SourceFactory): void {
  registry.set(saveHandler, factory);
}

/**
 * The source for the resolved settings' save_handler.
 * @throws ConfigError for a save handler nobody registered, or a bad save_path.
 */
export async function openAdminSource(settings: AdminSettings): Promise<AdminSource> {
  if (settings.saveHandler === 'files') return new FileAdminSource(settings.savePath);
  if (!registry.has(settings.saveHandler) && Object.hasOwn(LAZY_SOURCES, settings.saveHandler)) await LAZY_SOURCES[settings.saveHandler]!();
  const factory = registry.get(settings.saveHandler);
  if (!factory) {
    throw new ConfigError(`session.save_handler ${JSON.stringify(settings.saveHandler)} is not supported (supported: files${[...registry.keys()].map((k) => ', ' + k).join('')})`);
  }
  return factory(settings);
}

const READ_FLAGS = C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK;
const WRITE_FLAGS = C.O_RDWR | C.O_NOFOLLOW | C.O_NONBLOCK;

/** Reads a whole open file (sizes can change under us: read until EOF). */
function readAll(fd: number, sizeHint: number): Buffer {
  let buf = Buffer.allocUnsafe(Math.max(sizeHint + 1, 64));
  let len = 0;
  for (;;) {
    if (len === buf.length) {
      const bigger = Buffer.allocUnsafe(buf.length * 2);
      buf.copy(bigger, 0, 0, len);
      buf = bigger;
    }
    const n = readSync(fd, buf, len, buf.length - len, len);
    if (n === 0) break;
    len += n;
  }
  return buf.subarray(0, len);
}

/** The `files` save handler's sessions, with PHP's flock rules. */
export class FileAdminSource implements AdminSource {
  readonly saveHandler = 'files';
  readonly sp: SavePath;
  readonly description: string;

  /** @throws ConfigError for a bad save_path. */
  constructor(savePath: string | SavePath) {
    this.sp = typeof savePath === 'string' ? parseSavePath(savePath) : savePath;
    this.description = `${this.sp.path}${this.sp.depth ? ` (depth ${this.sp.depth})` : ''}`;
  }

  validateId(id: string): void {
    assertValidSessionId(id, this.sp.depth);
  }

  /** Where session `id` lives. @throws InvalidSessionIdError */
  pathOf(id: string): string {
    return sessionFilePath(this.sp, id);
  }

  async *entries(options: { withData?: boolean; onError?: (location: string, err: Error) => void } = {}): AsyncIterable<SessionEntry> {
    const walker = walkSessionTree(this.sp.path, {
      depth: this.sp.depth,
      strictPlacement: true,
      validIdsOnly: true,
      onError: (p, err) => options.onError?.(p, new SessionFileError(p, `cannot read directory: ${err.message}`, 'ESESSIONDIR', { cause: err })),
    });
    for (const { id, path } of walker) {
      let entry: SessionEntry | null;
      try {
        entry = options.withData ? this.readPath(id, path) : this.statPath(id, path);
      } catch (err) {
        options.onError?.(path, err as Error);
        continue;
      }
      if (entry) yield entry;
    }
  }

  private statPath(id: string, path: string): SessionEntry | null {
    const st = lstatSync(path, { throwIfNoEntry: false });
    if (!st || !st.isFile()) return null;
    return { id, location: path, size: st.size, mtimeMs: st.mtimeMs };
  }

  private readPath(id: string, path: string): SessionEntry | null {
    const fd = this.openOrNull(path, READ_FLAGS);
    if (fd === null) return null;
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) return null;
      return { id, location: path, size: st.size, mtimeMs: st.mtimeMs, bytes: readAll(fd, st.size) };
    } finally {
      closeSync(fd);
    }
  }

  /** Opens without following symlinks; null when missing. @throws SessionFileError */
  private openOrNull(path: string, flags: number): number | null {
    try {
      return openSync(path, flags);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return null;
      if (code === 'ELOOP') throw new SessionFileError(path, 'is a symbolic link (refusing to follow it)', 'ESYMLINK');
      throw new SessionFileError(path, (err as Error).message, 'ESESSIONFILE', { cause: err });
    }
  }

  async read(id: string): Promise<SessionEntry | null> {
    return this.readPath(id, this.pathOf(id));
  }

  async lockedRead(id: string, lockTimeoutMs: number): Promise<SessionEntry | null> {
    const path = this.pathOf(id);
    const fd = this.openOrNull(path, READ_FLAGS);
    if (fd === null) return null;
    try {
      await lockFd(fd, { exclusive: false, timeoutMs: lockTimeoutMs, target: path });
      const st = fstatSync(fd);
      if (!st.isFile()) return null;
      return { id, location: path, size: st.size, mtimeMs: st.mtimeMs, bytes: readAll(fd, st.size) };
    } finally {
      closeSync(fd);
    }
  }

  /** Opens and exclusively locks a session file; null when missing. */
  private async openLocked(id: string, lockTimeoutMs: number): Promise<{ fd: number; path: string; st: Stats } | null> {
    const path = this.pathOf(id);
    const fd = this.openOrNull(path, WRITE_FLAGS);
    if (fd === null) return null;
    try {
      await lockFd(fd, { exclusive: true, timeoutMs: lockTimeoutMs, target: path });
      const st = fstatSync(fd);
      if (!st.isFile()) throw new SessionFileError(path, 'is not a regular file');
      // Whoever held the lock may have deleted the file: then there is nothing to act on.
      const now = lstatSync(path, { throwIfNoEntry: false });
      if (!now || now.ino !== st.ino || now.dev !== st.dev) {
        closeSync(fd);
        return null;
      }
      return { fd, path, st };
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  async destroy(id: string, options: { lockTimeoutMs: number; onlyIf?: (entry: SessionEntry) => boolean }): Promise<DestroyOutcome> {
    const h = await this.openLocked(id, options.lockTimeoutMs);
    if (!h) return 'missing';
    try {
      if (options.onlyIf && !options.onlyIf({ id, location: h.path, size: h.st.size, mtimeMs: h.st.mtimeMs })) return 'kept';
      unlinkSync(h.path);
      return 'destroyed';
    } finally {
      closeSync(h.fd);
    }
  }

  async rewrite(id: string, fn: (entry: SessionEntry & { bytes: Uint8Array }) => Uint8Array | null, options: { lockTimeoutMs: number }): Promise<RewriteOutcome> {
    const h = await this.openLocked(id, options.lockTimeoutMs);
    if (!h) return 'missing';
    try {
      const bytes = readAll(h.fd, h.st.size);
      const next = fn({ id, location: h.path, size: h.st.size, mtimeMs: h.st.mtimeMs, bytes });
      if (next === null || Buffer.from(next.buffer, next.byteOffset, next.byteLength).equals(bytes)) return 'unchanged';
      // In place, as PHP writes: same inode, so PHP's lock and owner checks keep working.
      let off = 0;
      while (off < next.byteLength) off += writeSync(h.fd, next, off, next.byteLength - off, off);
      if (next.byteLength < bytes.length) ftruncateSync(h.fd, next.byteLength);
      futimesSync(h.fd, h.st.atime, h.st.mtime);
      return 'rewritten';
    } finally {
      closeSync(h.fd);
    }
  }

  async gc(options: GcOptions): Promise<GcReport> {
    // Loaded on use: the worker-thread machinery is not needed by any other command.
    const { gcFiles } = await import('./gc.js');
    return gcFiles(this.sp, options);
  }

  async close(): Promise<void> {}
}
