/**
 * The one way sessctl touches a session file — PHP's files handler (`files/`) and Laravel's
 * file driver (`laravel-files/`) both open, lock, read, write and unlink through here, as do
 * their admin listings, inspect, destroy, convert and gc — so every access gets the same checks:
 *
 * - no symlink is followed at any level below the session directory (pinned-dir.ts);
 * - files are opened with O_NOFOLLOW|O_NONBLOCK (a planted FIFO cannot hang us), must be
 *   regular files, owned by us or root (PHP's rule), and at most `maxBytes` long;
 * - before an unlink or a rewrite, the name must still name the inode we hold locked;
 * - writes happen in place (the lock is on the inode) in an order where a kill at any
 *   moment leaves either the old or the new session or an empty one, never a mix; a failed
 *   write (full disk, quota, I/O error) puts the previous bytes back.
 *
 * The protocol is written once as steps (io.ts) that run synchronously — the default: a
 * session file is a few KB, and a sync syscall on the main thread is several times cheaper
 * than a libuv thread-pool round trip (it is what PHP does) — or through the thread pool for
 * slow or network file systems. Directories are opened synchronously either way. Waiting for
 * a lock is never synchronous (see ../flock.ts). What a backend adds is only where its files
 * are (a {@link FileLocation}) and which lock each operation takes.
 */
import { constants as C, fchownSync, fstatSync, futimesSync, closeSync, type BigIntStats, type Stats } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { SessionFileError, type SessctlError } from '../../../errors.js';
import { runSync, type Steps } from './io.js';
import type { AtStat } from './native-at.js';
import { directPath, errnoCode, openDirect, osErrorText, PinnedDir, statSaveDir } from './pinned-dir.js';

/** O_NONBLOCK keeps a FIFO planted as a session file from hanging open(); it changes nothing for regular files. */
const NOFOLLOW = C.O_NOFOLLOW | C.O_NONBLOCK;
const READ_FLAGS = C.O_RDONLY | NOFOLLOW;
const WRITE_FLAGS = C.O_RDWR | NOFOLLOW;

/** Where a session file is: the session directory, the directories below it, the file name. */
export interface FileLocation {
  /** The session directory (reached through openSaveDir: only root's and our own symlinks on its way are followed). */
  root: string;
  /** The directories below root (PHP's depth-N tree: one per leading id character). */
  dirs: readonly string[];
  /** The file name (`sess_<id>` for PHP, the bare id for Laravel). */
  name: string;
  /** The logical path, for messages. */
  path: string;
  /** What to say when the file's directory does not exist (how to create it). */
  dirMissing?: string;
}

/** Turns open(2) failures into messages that say what is wrong with which file. */
export function openError(loc: FileLocation, err: unknown): SessctlError {
  const path = loc.path;
  switch (errnoCode(err)) {
    case 'ELOOP':
      return new SessionFileError(path, 'is a symbolic link; refused (never followed, as PHP opens with O_NOFOLLOW)', 'ESYMLINK', { cause: err });
    case 'EACCES':
    case 'EPERM':
      return new SessionFileError(path, `permission denied (${errnoCode(err)}); run as the user PHP runs as (e.g. www-data)`, 'EACCES', { cause: err });
    case 'ENOENT':
    case 'ENOTDIR':
      return new SessionFileError(path, loc.dirMissing ?? 'its directory does not exist', 'ENOENT', { cause: err });
    case 'EISDIR':
      return new SessionFileError(path, 'is a directory, not a session file', 'ENOTFILE', { cause: err });
    default:
      return new SessionFileError(path, `cannot open: ${osErrorText(err)}`, 'ESESSIONFILE', { cause: err });
  }
}

/**
 * PHP refuses a session file that neither root nor our real or effective uid owns, unless we
 * run as root ("Session data file is not created by your uid"): it could belong to another
 * application sharing the directory.
 */
export function checkOwner(path: string, uid: number): void {
  if (uid === 0) return;
  const euid = process.geteuid?.();
  if (euid === undefined || uid === euid || euid === 0) return; // no uids on this platform (Windows), or ours
  // The real uid only when the effective one did not settle it (one syscall less per open).
  const ruid = process.getuid!();
  if (uid !== ruid && ruid !== 0) {
    throw new SessionFileError(path, `is owned by uid ${uid}, not by us (uid ${euid}); refused, as PHP does`, 'EOWNER');
  }
}

/** The checks every opened session file passes: a regular file, owned by us (or root). */
export function checkSessionFile(path: string, st: AtStat): void {
  if ((st.mode & C.S_IFMT) !== C.S_IFREG) throw new SessionFileError(path, 'is not a regular file', 'ENOTFILE');
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
export function* openFileSteps(dir: PinnedDir, loc: FileLocation, how: OpenHow): Steps<OpenedFile | null> {
  const path = dir.entry(loc.name);
  const dirfd = dir.fd;
  const name = loc.name;
  for (;;) {
    try {
      return { fd: yield { op: 'open', path, dirfd, name, flags: how.write ? WRITE_FLAGS : READ_FLAGS }, created: false };
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw openError(loc, err);
      if (!how.create) return null;
    }
    try {
      return { fd: yield { op: 'open', path, dirfd, name, flags: C.O_CREAT | C.O_EXCL | WRITE_FLAGS, mode: how.create.mode }, created: true };
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') throw openError(loc, err);
    }
  }
}

/**
 * openFileSteps in one system call, by path (see directPath): for a session directory whose
 * path holds no symlink, on the synchronous path. Undefined whenever that way cannot say —
 * not available, the file missing without `create`, any error — and the caller then opens
 * through the pinned directory, which reports errors precisely.
 */
export function openFileDirect(loc: FileLocation, how: OpenHow): OpenedFile | undefined {
  const root = directPath(loc.root);
  // Ids are validated before any location is made; this only keeps `..` out of a path by any means.
  if (root === null || !isOneEntry(loc.name) || !loc.dirs.every(isOneEntry)) return undefined;
  const path = loc.dirs.length === 0 ? `${root}/${loc.name}` : `${root}/${loc.dirs.join('/')}/${loc.name}`;
  const fd = openDirect(loc.root, path, how.write ? WRITE_FLAGS : READ_FLAGS);
  if (fd !== undefined) return { fd, created: false };
  if (!how.create) return undefined;
  const made = openDirect(loc.root, path, C.O_CREAT | C.O_EXCL | WRITE_FLAGS, how.create.mode);
  return made === undefined ? undefined : { fd: made, created: true };
}

function isOneEntry(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !name.includes('/');
}

/** Whether `loc` (through its pinned directory) still names the inode `st` describes. */
export function* stillNamesSteps(dir: PinnedDir, loc: FileLocation, st: AtStat): Steps<boolean> {
  // fs.Stats by path, the native helper's AtStat by descriptor: both have dev and ino.
  const now: AtStat | undefined = yield { op: 'lstat', path: dir.entry(loc.name), dirfd: dir.fd, name: loc.name };
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
    let state: 'restored' | 'empty' | 'unknown' = 'unknown';
    try {
      yield { op: 'ftruncate', fd, len: 0 };
      state = 'empty';
      yield* writeAllSteps(fd, prev);
      state = 'restored';
    } catch {
      // Part of the previous bytes is no session: leave it empty (PHP's own worst case) rather
      // than cut, which neither PHP (it destroys it) nor we (DecodeError) could read.
      if (state === 'empty') {
        try {
          yield { op: 'ftruncate', fd, len: 0 };
        } catch {
          state = 'unknown';
        }
      }
    }
    const why = errnoCode(err) ?? (err as Error).message;
    const kept =
      state === 'restored' ? 'the previous session was put back unchanged'
      : state === 'empty' ? 'the previous session could NOT be put back; the session is now empty'
      : 'the previous session could NOT be put back';
    throw new SessionFileError(path, `write failed (${why}): ${kept}`, 'EWRITE', { cause: err });
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
export function* unlinkIfSameSteps(dir: PinnedDir, loc: FileLocation, st: AtStat): Steps<boolean> {
  try {
    if (!(yield* stillNamesSteps(dir, loc, st))) return false;
    yield { op: 'unlink', path: dir.entry(loc.name), dirfd: dir.fd, name: loc.name };
    return true;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false;
    throw new SessionFileError(loc.path, `cannot delete: ${osErrorText(err)}`, 'EUNLINK', { cause: err });
  }
}

// The synchronous forms, for gc's walk (a worker thread) and the admin listings.
export const openFile = (dir: PinnedDir, loc: FileLocation, how: OpenHow): OpenedFile | null => runSync(openFileSteps(dir, loc, how));
export const stillNames = (dir: PinnedDir, loc: FileLocation, st: AtStat): boolean => runSync(stillNamesSteps(dir, loc, st));
export const readKnownSize = (fd: number, size: number): Buffer => runSync(readKnownSizeSteps(fd, size));
export const unlinkIfSame = (dir: PinnedDir, loc: FileLocation, st: AtStat): boolean => runSync(unlinkIfSameSteps(dir, loc, st));


/** What a listing shows of one file. */
export interface FileEntry {
  /** fstat of the opened file. */
  st: Stats;
  /** The content, when asked for and at most `maxBytes`. */
  bytes?: Buffer;
  /** Above `maxBytes`: not read. */
  tooBig?: true;
}

/**
 * One file of a listing, without a lock (list, inspect): opened through its pinned directory
 * (never followed), checked (regular, owner), and read unless it is above `maxBytes`. Null
 * when it is gone.
 * @throws SessionFileError (ESYMLINK, ENOTFILE, EOWNER, EACCES…) naming the file.
 */
export function readEntryAt(dir: PinnedDir, loc: FileLocation, options: { withData: boolean; maxBytes: number }): FileEntry | null {
  const opened = openFile(dir, loc, { write: false });
  if (!opened) return null;
  try {
    const st = fstatSync(opened.fd);
    checkSessionFile(loc.path, st);
    if (!options.withData) return { st };
    if (st.size > options.maxBytes) return { st, tooBig: true };
    return { st, bytes: readKnownSize(opened.fd, st.size) };
  } finally {
    closeSync(opened.fd);
  }
}

/**
 * Whether `loc` is a regular file (a symlink is not followed, so it is not one), looked at
 * through its pinned directory. A missing directory on the way means no.
 * @throws SavePathError when the save path leads through a symlink we may not follow;
 *   SessionFileError (ESYMLINK below the save path, EACCES, ESESSIONFILE) otherwise.
 */
export function isRegularFileAt(loc: FileLocation): boolean {
  let dir: PinnedDir;
  try {
    dir = PinnedDir.open(loc.root, loc.dirs, loc.path);
  } catch (err) {
    const code = (err as SessctlError).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return false;
    throw err;
  }
  try {
    const st = dir.lstatEntry(loc.name);
    return st !== undefined && (st.mode & C.S_IFMT) === C.S_IFREG;
  } catch (err) {
    if (errnoCode(err) === 'ENOTDIR') return false;
    throw new SessionFileError(loc.path, `cannot stat: ${osErrorText(err)}`, 'ESESSIONFILE', { cause: err });
  } finally {
    dir.close();
  }
}

/**
 * Root making a file in a directory another user owns (a web server's) hands it to that
 * directory's owner and group, so the application can still write it. The owner is the real
 * session directory's (statSaveDir), never a symlink target's looked up by path.
 */
export function giveToDirOwner(fd: number, loc: FileLocation): void {
  if (process.geteuid?.() !== 0) return;
  const d = statSaveDir(loc.root);
  if (d.uid !== 0 || d.gid !== 0) fchownSync(fd, d.uid, d.gid);
}
