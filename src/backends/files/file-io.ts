/**
 * The one way sessctl touches a session file. The store, the admin commands (list, inspect,
 * destroy, convert), gc and mkdirs all open, lock, read, write and unlink through here, so
 * every access gets the same checks:
 *
 * - no symlink is followed at any level below the save path: the directories of a deep tree
 *   are opened one by one with O_DIRECTORY|O_NOFOLLOW and the next name is resolved through
 *   the pinned descriptor (`/proc/self/fd/N/name`, Linux's openat), so swapping a directory
 *   for a symlink mid-operation cannot redirect us;
 * - files are opened with O_NOFOLLOW|O_NONBLOCK (a planted FIFO cannot hang us), must be
 *   regular files, owned by us or root (PHP's rule), and at most `maxBytes` long;
 * - before an unlink, the name must still name the inode we hold locked;
 * - writes happen in place (PHP's lock is on the inode) in an order where a kill at any
 *   moment leaves either the old or the new session or an empty one, never a mix; a failed
 *   write (full disk, quota, I/O error) puts the previous bytes back.
 *
 * The protocol is written once as steps (io.ts) that run synchronously — the default: a
 * session file is a few KB, and a sync syscall on the main thread is several times cheaper
 * than a libuv thread-pool round trip (it is what PHP does) — or through the thread pool for
 * slow or network file systems. Directories are opened synchronously either way. Waiting for
 * a lock is never synchronous (see lock.ts).
 */
import { closeSync, constants as C, existsSync, fstatSync, futimesSync, lstatSync, openSync, type BigIntStats, type Stats } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { LockTimeoutError, SessionFileError, type SessctlError } from '../../errors.js';
// lock.ts loads the flock addon only when a lock is first taken.
import { lockFd, lockReleased } from './lock.js';
import { runner, runSync, type IoMode, type Steps } from './io.js';

/** O_NONBLOCK keeps a FIFO planted as `sess_x` from hanging open(); it changes nothing for regular files. */
const NOFOLLOW = C.O_NOFOLLOW | C.O_NONBLOCK;
const READ_FLAGS = C.O_RDONLY | NOFOLLOW;
const WRITE_FLAGS = C.O_RDWR | NOFOLLOW;
const DIR_FLAGS = C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW;

/** Whether names can be resolved through a pinned directory descriptor (Linux's procfs). */
export const PINNED_DIRS = process.platform === 'linux' && existsSync('/proc/self/fd');

export function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

/** Where a session file is: the save path directory, the directories below it, the file name. */
export interface FileLocation {
  /** The save path directory (trusted as configured: a symlink there is the admin's choice). */
  root: string;
  /** One directory per leading id character, below root. */
  dirs: readonly string[];
  /** `sess_<id>` */
  name: string;
  /** The logical path, for messages. */
  path: string;
}

/** Turns open(2) failures into messages that say what is wrong with which file. */
export function openError(path: string, err: unknown, depth: number): SessctlError {
  switch (errnoCode(err)) {
    case 'ELOOP':
      return new SessionFileError(path, 'is a symbolic link; refused (never followed, as PHP opens with O_NOFOLLOW)', 'ESYMLINK', { cause: err });
    case 'EACCES':
    case 'EPERM':
      return new SessionFileError(path, `permission denied (${errnoCode(err)}); run as the user PHP runs as (e.g. www-data)`, 'EACCES', { cause: err });
    case 'ENOENT':
    case 'ENOTDIR':
      return new SessionFileError(
        path,
        depth > 0
          ? `its directory does not exist (save path depth ${depth}: create the tree with \`sessctl mkdirs\` or PHP's mod_files.sh)`
          : 'the save path directory does not exist',
        'ENOENT',
        { cause: err },
      );
    case 'EISDIR':
      return new SessionFileError(path, 'is a directory, not a session file', 'ENOTFILE', { cause: err });
    default:
      return new SessionFileError(path, `cannot open: ${(err as Error).message}`, 'ESESSIONFILE', { cause: err });
  }
}

/**
 * A directory of the tree held open, so that names below it resolve inside that very
 * directory even if its path is swapped for a symlink meanwhile.
 */
export class PinnedDir {
  readonly #fd: number | null;
  readonly #prefix: string;
  /** The logical path of the directory (for messages). */
  readonly path: string;

  private constructor(fd: number | null, prefix: string, path: string) {
    this.#fd = fd;
    this.#prefix = prefix;
    this.path = path;
  }

  /**
   * Opens `root/dirs…` one level at a time, refusing a symlink at every level below root.
   * @throws SessionFileError (ESYMLINK, ENOENT, ENOTDIR, EACCES) naming the level.
   */
  static open(root: string, dirs: readonly string[], forFile?: string): PinnedDir {
    if (dirs.length === 0) return new PinnedDir(null, root, root);
    let path = root;
    let fd: number | null = null;
    try {
      for (const d of dirs) {
        const next = fd === null ? join(root, d) : `/proc/self/fd/${fd}/${d}`;
        path = join(path, d);
        if (PINNED_DIRS) {
          let nfd: number;
          try {
            nfd = openSync(next, DIR_FLAGS);
          } catch (err) {
            throw dirError(path, err, forFile);
          }
          if (fd !== null) closeSync(fd);
          fd = nfd;
        } else {
          // No procfs: check each level is a real directory (best effort, not race-free).
          const st = lstatSync(path, { throwIfNoEntry: false });
          if (!st) throw dirError(path, Object.assign(new Error('no such directory'), { code: 'ENOENT' }), forFile);
          if (!st.isDirectory()) throw dirError(path, Object.assign(new Error('not a directory'), { code: st.isSymbolicLink() ? 'ELOOP' : 'ENOTDIR' }), forFile);
        }
      }
    } catch (err) {
      if (fd !== null) closeSync(fd);
      throw err;
    }
    return fd === null ? new PinnedDir(null, path, path) : new PinnedDir(fd, `/proc/self/fd/${fd}`, path);
  }

  /**
   * Opens the save path directory itself (symlinks there are the admin's choice and followed).
   * @throws the raw errno error (ENOENT, ENOTDIR, EACCES).
   */
  static openRoot(path: string): number {
    return openSync(path, C.O_RDONLY | C.O_DIRECTORY);
  }

  /** Pins a directory already open (the walker's). */
  static adopt(fd: number | null, path: string): PinnedDir {
    return new PinnedDir(null, fd !== null && PINNED_DIRS ? `/proc/self/fd/${fd}` : path, path);
  }

  /** The path through which `name` in this directory is reached without following anything above it. */
  entry(name: string): string {
    return `${this.#prefix}/${name}`;
  }

  close(): void {
    if (this.#fd !== null) closeSync(this.#fd);
  }
}

function dirError(path: string, err: unknown, forFile?: string): SessionFileError {
  const e = dirErrorFor(path, err);
  if (forFile) e.message += ` (needed for ${forFile})`;
  return e;
}

function dirErrorFor(path: string, err: unknown): SessionFileError {
  let code = errnoCode(err);
  // O_DIRECTORY|O_NOFOLLOW on a symlink fails with ENOTDIR on Linux: say what it really is.
  if (code === 'ENOTDIR' && lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink()) code = 'ELOOP';
  if (code === 'ELOOP' || code === 'ENOTDIR') {
    return new SessionFileError(path, code === 'ELOOP' ? 'is a symbolic link; refused (no symlink is followed below the save path)' : 'is not a directory', code === 'ELOOP' ? 'ESYMLINK' : 'ENOTDIR', { cause: err });
  }
  if (code === 'ENOENT') return new SessionFileError(path, 'directory does not exist (create the tree with `sessctl mkdirs`)', 'ENOENT', { cause: err });
  if (code === 'EACCES' || code === 'EPERM') return new SessionFileError(path, `permission denied (${code}); run as the user PHP runs as`, 'EACCES', { cause: err });
  return new SessionFileError(path, `cannot open directory: ${(err as Error).message}`, 'ESESSIONDIR', { cause: err });
}

/**
 * PHP refuses a session file that neither root nor our real or effective uid owns, unless we
 * run as root ("Session data file is not created by your uid"): it could belong to another
 * application sharing the directory.
 */
export function checkOwner(path: string, uid: number): void {
  const ruid = process.getuid?.();
  const euid = process.geteuid?.();
  if (ruid === undefined || euid === undefined) return; // no uids on this platform (Windows)
  if (uid !== 0 && uid !== ruid && uid !== euid && ruid !== 0 && euid !== 0) {
    throw new SessionFileError(path, `is owned by uid ${uid}, not by us (uid ${euid}); refused, as PHP does`, 'EOWNER');
  }
}

/** The checks every opened session file passes: a regular file, owned by us (or root). */
export function checkSessionFile(path: string, st: Stats): void {
  if (!st.isFile()) throw new SessionFileError(path, 'is not a regular file', 'ENOTFILE');
  checkOwner(path, st.uid);
}

/** @throws SessionFileError (ETOOBIG) when `size` is above `maxBytes`. */
export function checkSize(path: string, size: number, maxBytes: number): void {
  if (size > maxBytes) throw new SessionFileError(path, `is ${size} bytes, above the ${maxBytes}-byte limit (maxBytes); not read`, 'ETOOBIG');
}

export interface OpenHow {
  write: boolean;
  /** Create it when missing (PHP's session_start does), with this mode (the umask applies). */
  create?: { mode: number };
}

export interface OpenedFile {
  fd: number;
  /** True when this call made the file. */
  created: boolean;
}

/**
 * Opens the session file at `loc` through its pinned directory. Null when it does not exist
 * and `how.create` is not set. O_EXCL is used only to learn whether we made it; a file made
 * by someone else in between is simply opened.
 * @throws SessionFileError naming the file (symlink, permissions, missing directory…).
 */
export function* openFileSteps(dir: PinnedDir, loc: FileLocation, how: OpenHow, depth: number): Steps<OpenedFile | null> {
  const path = dir.entry(loc.name);
  for (;;) {
    try {
      return { fd: yield { op: 'open', path, flags: how.write ? WRITE_FLAGS : READ_FLAGS }, created: false };
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw openError(loc.path, err, depth);
      if (!how.create) return null;
    }
    try {
      return { fd: yield { op: 'open', path, flags: C.O_CREAT | C.O_EXCL | WRITE_FLAGS, mode: how.create.mode }, created: true };
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') throw openError(loc.path, err, depth);
    }
  }
}

/** Whether `loc` (through its pinned directory) still names the inode `st` describes. */
export function* stillNamesSteps(dir: PinnedDir, loc: FileLocation, st: Stats): Steps<boolean> {
  const now: Stats | undefined = yield { op: 'lstat', path: dir.entry(loc.name) };
  return now !== undefined && now.ino === st.ino && now.dev === st.dev;
}

/**
 * Reads `size` bytes from offset 0: one pread of the size fstat gave (PHP does the same),
 * shorter if the file shrank meanwhile.
 */
export function* readKnownSizeSteps(fd: number, size: number): Steps<Buffer> {
  const buf = Buffer.allocUnsafe(size);
  let off = 0;
  while (off < size) {
    const n: number = yield { op: 'read', fd, buf, off, len: size - off, pos: off };
    if (n === 0) break;
    off += n;
  }
  return off === size ? buf : buf.subarray(0, off);
}

function* writeAllSteps(fd: number, bytes: Uint8Array): Steps<void> {
  let off = 0;
  while (off < bytes.length) {
    const n: number = yield { op: 'write', fd, buf: bytes, off, len: bytes.length - off, pos: off };
    if (n <= 0) throw new Error('write made no progress');
    off += n;
  }
}

/**
 * Writes `next` over a file now holding `prev`, in place. The order keeps the file decodable
 * whenever the process is killed: growing (or equal), one pwrite over the old bytes — no
 * truncate, so there is no moment with a tail of old bytes after the new ones; shrinking,
 * ftruncate(0) first, then the write — a kill in between leaves an empty session (as PHP's
 * own order does), never the new bytes followed by the old tail. When a write fails (ENOSPC,
 * EDQUOT, EIO) the previous bytes are put back before the error is reported.
 * @throws SessionFileError (EWRITE) saying whether the previous content was restored.
 */
export function* writeInPlaceSteps(fd: number, path: string, next: Uint8Array, prev: Uint8Array): Steps<void> {
  try {
    if (next.length < prev.length) yield { op: 'ftruncate', fd, len: 0 };
    yield* writeAllSteps(fd, next);
  } catch (err) {
    let restored = false;
    try {
      yield { op: 'ftruncate', fd, len: 0 };
      yield* writeAllSteps(fd, prev);
      restored = true;
    } catch {
      /* reported below */
    }
    const why = errnoCode(err) ?? (err as Error).message;
    throw new SessionFileError(
      path,
      `write failed (${why}): ${restored ? 'the previous session was put back unchanged' : 'the previous session could NOT be put back'}`,
      'EWRITE',
      { cause: err },
    );
  }
}

/** Sets the mtime (and atime) to now or to the given time. */
export function* touchSteps(fd: number, at?: { atime: Date; mtime: Date }): Steps<void> {
  const now = new Date();
  yield { op: 'futimes', fd, atime: at?.atime ?? now, mtime: at?.mtime ?? now };
}

/**
 * Puts back the times a file had (`before`, from fstat with bigint), to the nanosecond: a
 * rewrite (convert, set) is no visit and must not move the mtime even a little. Node's futimes
 * goes through libuv, which keeps only microseconds; the nanoseconds are then set by GNU
 * touch on the same descriptor (`touch -` changes the file open as its stdout — no path is
 * resolved again). Without touch the mtime stays exact to the microsecond.
 */
export function restoreTimes(fd: number, before: BigIntStats): void {
  const seconds = (ns: bigint) => Number(ns / 1_000_000_000n) + Number(ns % 1_000_000_000n) / 1e9;
  futimesSync(fd, seconds(before.atimeNs), seconds(before.mtimeNs));
  if (fstatSync(fd, { bigint: true }).mtimeNs === before.mtimeNs) return;
  const stamp = `@${before.mtimeNs / 1_000_000_000n}.${String(before.mtimeNs % 1_000_000_000n).padStart(9, '0')}`;
  try {
    spawnSync('touch', ['-c', '-m', '-d', stamp, '-'], { stdio: ['ignore', fd, 'ignore'], timeout: 10_000 });
  } catch {
    // No touch: microseconds it is.
  }
}

/**
 * Unlinks `loc` if it still names the inode `st` describes (the one we hold locked).
 * Returns false when the name now points elsewhere or nowhere (nothing is deleted then).
 * @throws SessionFileError (EUNLINK) for other failures.
 */
export function* unlinkIfSameSteps(dir: PinnedDir, loc: FileLocation, st: Stats): Steps<boolean> {
  try {
    if (!(yield* stillNamesSteps(dir, loc, st))) return false;
    yield { op: 'unlink', path: dir.entry(loc.name) };
    return true;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false;
    throw new SessionFileError(loc.path, `cannot delete: ${(err as Error).message}`, 'EUNLINK', { cause: err });
  }
}

// The synchronous forms, for gc's walk (a worker thread) and the admin listings.
export const openFile = (dir: PinnedDir, loc: FileLocation, how: OpenHow, depth: number): OpenedFile | null => runSync(openFileSteps(dir, loc, how, depth));
export const stillNames = (dir: PinnedDir, loc: FileLocation, st: Stats): boolean => runSync(stillNamesSteps(dir, loc, st));
export const readKnownSize = (fd: number, size: number): Buffer => runSync(readKnownSizeSteps(fd, size));
export const unlinkIfSame = (dir: PinnedDir, loc: FileLocation, st: Stats): boolean => runSync(unlinkIfSameSteps(dir, loc, st));

export interface LockRequest {
  /** Exclusive (writers) or shared (readers) flock. */
  exclusive: boolean;
  /** Open read-write (to write or truncate later). */
  write: boolean;
  /** Create the file when missing, with this mode. Without it a missing file gives null. */
  create?: { mode: number };
  timeoutMs: number;
  maxBytes: number;
  /** The save path depth, for messages about missing directories. */
  depth: number;
  /** Don't read the bytes (destroy, touch). */
  noRead?: boolean;
  signal?: AbortSignal;
  /** `sync` (default) or `async` (libuv's thread pool, for slow or network file systems). */
  io?: IoMode;
}

/** A session file held open under its flock. */
export interface LockedFile {
  loc: FileLocation;
  fd: number;
  /** fstat under the lock. */
  st: Stats;
  created: boolean;
  /** The whole content as read under the lock (empty with `noRead`). */
  bytes: Buffer;
  /** How this file's I/O runs (the mode it was opened with). */
  run: <T>(steps: Steps<T>) => Promise<T>;
}

const EMPTY = Buffer.alloc(0);

/**
 * Opens and locks a session file, PHP's sequence: open, flock, fstat, read the known size.
 * If the file was deleted or replaced while we waited for its lock (PHP's destroy, gc), it
 * starts over on the new file instead of writing into an unlinked inode. Null when the file
 * does not exist and `create` is not asked for.
 * @throws LockTimeoutError; SessionFileError for a symlink, a non-regular file, a file owned
 *   by another uid, a missing directory, permissions, or a file above `maxBytes` (not read).
 */
export async function lockFile(loc: FileLocation, req: LockRequest): Promise<LockedFile | null> {
  const run = runner(req.io);
  const deadline = Date.now() + req.timeoutMs;
  for (;;) {
    const dir = PinnedDir.open(loc.root, loc.dirs, loc.path);
    let opened: OpenedFile | null;
    try {
      opened = await run(openFileSteps(dir, loc, req, req.depth));
      if (!opened) return null;
      const { fd, created } = opened;
      try {
        const left = Math.max(0, deadline - Date.now());
        try {
          await lockFd(fd, { exclusive: req.exclusive, timeoutMs: left, target: loc.path, signal: req.signal });
        } catch (err) {
          // Report the configured timeout, not what was left of it after a retry.
          throw err instanceof LockTimeoutError ? new LockTimeoutError(loc.path, req.timeoutMs) : err;
        }
        const st: Stats = await run(fstatSteps(fd));
        checkSessionFile(loc.path, st);
        // Deleted or renamed over while we waited: the inode has no name left (nlink 0). With
        // other hard links, ask the directory whether this name is still ours (one lstat more).
        if (st.nlink === 0 || (st.nlink > 1 && !(await run(stillNamesSteps(dir, loc, st))))) {
          await release({ fd, loc, run });
          if (Date.now() > deadline) throw new SessionFileError(loc.path, 'kept being replaced while we waited for its lock', 'ERACE');
          continue;
        }
        checkSize(loc.path, st.size, req.maxBytes);
        const bytes = req.noRead || st.size === 0 ? EMPTY : await run(readKnownSizeSteps(fd, st.size));
        return { loc, fd, st, created, bytes, run };
      } catch (err) {
        await release({ fd, loc, run });
        throw err;
      }
    } finally {
      dir.close();
    }
  }
}

function* fstatSteps(fd: number): Steps<Stats> {
  return yield { op: 'fstat', fd };
}

function* closeSteps(fd: number): Steps<void> {
  yield { op: 'close', fd };
}

/** Closes a locked file (which releases its flock) and lets the next waiter of this process in. */
export async function release(file: Pick<LockedFile, 'fd' | 'loc' | 'run'>): Promise<void> {
  try {
    await file.run(closeSteps(file.fd));
  } finally {
    lockReleased(file.loc.path);
  }
}

/** Deletes a locked file if its name still names the locked inode (through pinned directories). */
export async function unlinkLocked(file: LockedFile): Promise<boolean> {
  const dir = PinnedDir.open(file.loc.root, file.loc.dirs);
  try {
    return await file.run(unlinkIfSameSteps(dir, file.loc, file.st));
  } finally {
    dir.close();
  }
}

/** Writes in place (see writeInPlaceSteps) with the file's I/O mode. */
export function writeLocked(file: LockedFile, next: Uint8Array, prev: Uint8Array): Promise<void> {
  return file.run(writeInPlaceSteps(file.fd, file.loc.path, next, prev));
}

/** Sets the mtime of a locked file (see touchSteps). */
export function touchLocked(file: LockedFile, at?: { atime: Date; mtime: Date }): Promise<void> {
  return file.run(touchSteps(file.fd, at));
}
