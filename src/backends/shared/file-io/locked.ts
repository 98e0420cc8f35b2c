/**
 * A session file held open under its flock: the sequence every locked operation of every
 * file backend shares (open, flock, fstat, checks, read), and what is done with the file while
 * the lock is held (write in place, touch, unlink if still the locked inode, release).
 */
import { fstatSync } from 'node:fs';
import { LockTimeoutError, SessionFileError } from '../../../errors.js';
// flock.ts loads the flock addon only when a lock is first taken.
import { lockFd, lockReleased, tryLockNow } from '../flock.js';
import { checkSessionFile, checkSize, giveToDirOwner, openFileDirect, openFileSteps, restoreTimes, readKnownSizeSteps, stillNamesSteps, touchSteps, unlinkIfSameSteps, writeInPlaceSteps, type FileLocation, type OpenedFile } from './file.js';
import { runner, runSync, type IoMode, type Steps } from './io.js';
import type { AtStat } from './native-at.js';
import { PinnedDir } from './pinned-dir.js';

export interface LockRequest {
  /** Exclusive (writers) or shared (readers) flock. */
  exclusive: boolean;
  /** Open read-write (to write or truncate later). */
  write: boolean;
  /**
   * Create the file when missing, with this mode (the umask applies); with `dirOwner`, root
   * gives a file it made to the session directory's owner (see giveToDirOwner). Without
   * `create` a missing file gives null.
   */
  create?: { mode: number; dirOwner?: boolean };
  timeoutMs: number;
  maxBytes: number;
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
  st: AtStat;
  created: boolean;
  /** The whole content as read under the lock (empty with `noRead`). */
  bytes: Buffer;
  /** How this file's I/O runs (the mode it was opened with). */
  run: <T>(steps: Steps<T>) => Promise<T>;
  /** The mode it was opened with: only a `sync` file can be written and released at once. */
  io: IoMode;
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
export function lockFile(loc: FileLocation, req: LockRequest): Promise<LockedFile | null> {
  if ((req.io ?? 'sync') === 'sync' && !req.signal?.aborted) {
    // The everyday case — the lock is free and nobody of ours waits for it — in one
    // synchronous run, as PHP does it: no promise between the system calls.
    let now: LockedFile | null | undefined;
    try {
      now = lockFileNow(loc, req);
    } catch (err) {
      return Promise.reject(err);
    }
    if (now !== undefined) return Promise.resolve(now);
  }
  return lockFileWaiting(loc, req);
}

const ignore = () => {};

/**
 * lockFile's uncontended path, synchronous (io `sync` only): the locked file, null when it
 * does not exist (and `create` is not asked for), or undefined when the lock is not free at
 * once or a request of ours waits for it — then nothing is held or changed.
 * @throws like lockFile.
 */
export function lockFileNow(loc: FileLocation, req: LockRequest): LockedFile | null | undefined {
  const run = runner('sync');
  // By path in one openat2 when the session directory's path holds no symlink (no directory
  // descriptor, no stat to keep it current); else, or on any error, through the pinned directory.
  const direct = openFileDirect(loc, req);
  const dir = direct === undefined ? PinnedDir.open(loc.root, loc.dirs, loc.path) : null;
  try {
    const opened = direct ?? runSync(openFileSteps(dir!, loc, req));
    if (!opened) return null;
    const { fd, created } = opened;
    let got: LockedFile | typeof RETRY;
    try {
      if (created && req.create?.dirOwner) giveToDirOwner(fd, loc);
      if (!tryLockNow(fd, req.exclusive, loc.path)) {
        runSync(closeSteps(fd));
        return undefined;
      }
      got = runSync(lockedSteps(dir, loc, fd, created, req, run, 'sync'));
    } catch (err) {
      release({ fd, loc, run }).catch(ignore); // closed synchronously; the error to report is err
      throw err;
    }
    if (got !== RETRY) return got;
    release({ fd, loc, run }).catch(ignore);
    return undefined; // replaced under us (or a hard link to ask about): the waiting path starts over
  } finally {
    dir?.close();
  }
}

async function lockFileWaiting(loc: FileLocation, req: LockRequest): Promise<LockedFile | null> {
  const run = runner(req.io);
  const deadline = Date.now() + req.timeoutMs;
  for (;;) {
    const dir = PinnedDir.open(loc.root, loc.dirs, loc.path);
    let opened: OpenedFile | null;
    try {
      opened = await run(openFileSteps(dir, loc, req));
      if (!opened) return null;
      const { fd, created } = opened;
      try {
        if (created && req.create?.dirOwner) giveToDirOwner(fd, loc);
        const left = Math.max(0, deadline - Date.now());
        try {
          await lockFd(fd, { exclusive: req.exclusive, timeoutMs: left, target: loc.path, signal: req.signal });
        } catch (err) {
          // Report the configured timeout, not what was left of it after a retry.
          throw err instanceof LockTimeoutError ? new LockTimeoutError(loc.path, req.timeoutMs) : err;
        }
        const got = await run(lockedSteps(dir, loc, fd, created, req, run, req.io ?? 'sync'));
        if (got !== RETRY) return got;
        await release({ fd, loc, run });
        if (Date.now() > deadline) throw new SessionFileError(loc.path, 'kept being replaced while we waited for its lock', 'ERACE');
        continue;
      } catch (err) {
        await release({ fd, loc, run });
        throw err;
      }
    } finally {
      dir.close();
    }
  }
}

const RETRY = Symbol('replaced while we waited: start over');

/** What follows the flock, both paths: fstat, the checks, the still-ours check, the read. */
function* lockedSteps(dir: PinnedDir | null, loc: FileLocation, fd: number, created: boolean, req: LockRequest, run: LockedFile['run'], io: IoMode): Steps<LockedFile | typeof RETRY> {
  const st: AtStat = yield { op: 'fstat', fd };
  checkSessionFile(loc.path, st);
  // Deleted or renamed over while we waited: the inode has no name left (nlink 0). With
  // other hard links, ask the directory whether this name is still ours (one lstat more).
  // Opened by path (dir null), the question goes to the waiting path, which pins the directory.
  if (st.nlink === 0 || (st.nlink > 1 && (dir === null || !(yield* stillNamesSteps(dir, loc, st))))) return RETRY;
  checkSize(loc.path, st.size, req.maxBytes);
  const bytes = req.noRead || st.size === 0 ? EMPTY : yield* readKnownSizeSteps(fd, st.size);
  return { loc, fd, st, created, bytes, run, io };
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

/**
 * A request's end in one run: writes `next` in place over `prev` (or, with `next` null, only
 * sets the mtime: PHP's lazy write), then closes the file, which releases the lock — on every
 * path, with no promise between the write and the close.
 * @throws SessionFileError (EWRITE) as writeInPlaceSteps; the lock is released all the same.
 */
export async function writeAndRelease(file: LockedFile, next: Uint8Array | null, prev: Uint8Array): Promise<void> {
  try {
    await file.run(writeThenCloseSteps(file, next, prev));
  } finally {
    lockReleased(file.loc.path);
  }
}

/**
 * writeAndRelease() on this thread, for a file opened with io `sync` (the caller checks).
 * @throws like writeAndRelease; the lock is released all the same.
 */
export function writeAndReleaseNow(file: LockedFile, next: Uint8Array | null, prev: Uint8Array): void {
  try {
    runSync(writeThenCloseSteps(file, next, prev));
  } finally {
    lockReleased(file.loc.path);
  }
}

/** release() on this thread, for a file opened with io `sync`. */
export function releaseNow(file: Pick<LockedFile, 'fd' | 'loc'>): void {
  try {
    runSync(closeSteps(file.fd));
  } finally {
    lockReleased(file.loc.path);
  }
}

function* writeThenCloseSteps(file: LockedFile, next: Uint8Array | null, prev: Uint8Array): Steps<void> {
  try {
    if (next === null) yield* touchSteps(file.fd);
    else yield* writeInPlaceSteps(file.fd, file.loc.path, next, prev);
  } finally {
    yield* closeSteps(file.fd);
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

/**
 * Replaces the content of a locked file by `next` (an admin rewrite: convert, set), in place,
 * after checking that its name still names the locked inode (a gc that takes no lock — PHP's,
 * Laravel's — may have deleted it meanwhile), and puts its times back to the nanosecond: a
 * rewrite is no visit. False (nothing written) when the name is gone or names another file.
 */
export async function rewriteLocked(file: LockedFile, next: Uint8Array): Promise<boolean> {
  const dir = PinnedDir.open(file.loc.root, file.loc.dirs);
  try {
    if (!(await file.run(stillNamesSteps(dir, file.loc, file.st)))) return false;
  } finally {
    dir.close();
  }
  const before = fstatSync(file.fd, { bigint: true });
  try {
    await writeLocked(file, next, file.bytes);
  } catch (err) {
    // A failed write (full disk) puts the previous bytes back — and must not leave the session
    // a new mtime either: "put back unchanged" includes its lifetime (an expired one stays expired).
    try {
      restoreTimes(file.fd, before);
    } catch {
      /* the write's error is the one to report */
    }
    throw err;
  }
  restoreTimes(file.fd, before);
  return true;
}
