/**
 * Every file access of the laravel-files backend. Laravel's FileSessionHandler reads a session
 * under flock(LOCK_SH) (Filesystem::sharedGet) and writes it with file_put_contents(…, LOCK_EX):
 * open without truncating, flock(LOCK_EX), truncate, write. Nothing is held between the read at
 * the start of a request and the write at its end. We take the same locks on the same file, so
 * a Laravel read never sees half of a Node write and the other way round; a Node handle holds
 * LOCK_EX from open() to close(), so Laravel's reads and writes of that session wait for it.
 * Files are opened with O_NOFOLLOW (Laravel does not, but a root cron job must not follow a
 * planted symlink), and new files get the directory's owner when root creates them, so the
 * web server user can still write them.
 */
import { closeSync, constants as fsc, fchownSync, fstatSync, ftruncateSync, futimesSync, lstatSync, openSync, readSync, statSync, unlinkSync, writeSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { SessctlError, SessionFileError } from '../../errors.js';
import { lockFd, lockReleased, unlockFd } from '../shared/flock.js';
import { assertLaravelSessionId } from '../shared/laravel.js';

export interface OpenedSession {
  fd: number;
  path: string;
  /** The stored bytes at lock time (empty for a new file). */
  bytes: Buffer;
  stat: Stats;
  /** This open made the file. */
  created: boolean;
}

export function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

/** `<dir>/<id>`, after Laravel's id rule (which keeps the name inside `dir`). */
export function sessionPath(dir: string, id: string): string {
  assertLaravelSessionId(id);
  return join(dir, id);
}

function fail(path: string, what: string, err: unknown): SessionFileError {
  return new SessionFileError(path, `${what}: ${errnoCode(err) ?? ''} ${(err as Error).message}`.trim(), 'ESESSIONFILE', { cause: err });
}

function openNoFollow(path: string, flags: number, mode = 0o666): number | null {
  try {
    return openSync(path, flags | fsc.O_NOFOLLOW, mode);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || (code === 'EEXIST' && flags & fsc.O_EXCL)) return null;
    if (code === 'ELOOP') throw new SessionFileError(path, 'is a symlink: not followed', 'ESYMLINK');
    throw fail(path, 'cannot open', err);
  }
}

/** Root making a file in a web server's directory: give it the directory's owner (Laravel would own it). */
function adoptDirOwner(fd: number, dir: string): void {
  if (process.getuid?.() !== 0) return;
  const d = statSync(dir);
  if (d.uid !== 0 || d.gid !== 0) fchownSync(fd, d.uid, d.gid);
}

export function readAll(fd: number, path: string, size: number, maxBytes: number): Buffer {
  if (size > maxBytes) throw new SessctlError(`${path}: is ${size} bytes, above the ${maxBytes}-byte limit (maxBytes); not read`, 'ETOOBIG');
  const buf = Buffer.alloc(size);
  let off = 0;
  while (off < size) {
    const n = readSync(fd, buf, off, size - off, off);
    if (n === 0) break;
    off += n;
  }
  return buf.subarray(0, off);
}

export interface LockHow {
  exclusive: boolean;
  timeoutMs: number;
  maxBytes: number;
  /** Create the file when missing (open()); otherwise a missing file is null. */
  create?: boolean;
}

/**
 * Opens and flocks the session file, then checks it is still the file at `path` (a destroy or
 * gc may have unlinked it while we waited: then we start again on the new one).
 * @throws LockTimeoutError, SessionFileError, SessctlError (ETOOBIG).
 */
export async function lockSession(dir: string, id: string, how: LockHow): Promise<OpenedSession | null> {
  const path = sessionPath(dir, id);
  const deadline = Date.now() + how.timeoutMs;
  for (;;) {
    let created = false;
    let fd = how.create ? openNoFollow(path, fsc.O_RDWR | fsc.O_CREAT | fsc.O_EXCL) : null;
    if (fd !== null) {
      created = true;
      adoptDirOwner(fd, dir);
    } else fd = openNoFollow(path, how.exclusive ? fsc.O_RDWR : fsc.O_RDONLY);
    if (fd === null) {
      if (how.create) continue; // unlinked between our two opens
      return null;
    }
    try {
      await lockFd(fd, { exclusive: how.exclusive, timeoutMs: Math.max(0, deadline - Date.now()), target: path });
      const stat = fstatSync(fd);
      if (!stat.isFile()) throw new SessionFileError(path, 'is not a regular file', 'ESESSIONFILE');
      const now = lstatSync(path, { throwIfNoEntry: false });
      if (!now || now.ino !== stat.ino || now.dev !== stat.dev) {
        release(fd, path);
        if (!how.create) return null;
        continue;
      }
      return { fd, path, stat, created, bytes: readAll(fd, path, stat.size, how.maxBytes) };
    } catch (err) {
      release(fd, path);
      throw err;
    }
  }
}

/** Unlock and close (closing releases the flock; the unlock makes it explicit). */
export function release(fd: number, path: string): void {
  try {
    unlockFd(fd);
  } catch {
    /* the close below releases it anyway */
  }
  closeSync(fd);
  lockReleased(path);
}

/** file_put_contents(…, LOCK_EX) under a lock we hold: truncate, then write from offset 0. */
export function writeLocked(fd: number, path: string, bytes: Uint8Array): void {
  try {
    ftruncateSync(fd, 0);
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off, off);
  } catch (err) {
    throw new SessionFileError(path, `cannot write: ${(err as Error).message}`, 'EWRITE', { cause: err });
  }
}

/** Sets the mtime (now, or a kept one) on a file we hold. */
export function setMtime(fd: number, mtime: Date = new Date()): void {
  futimesSync(fd, mtime, mtime);
}

/** Unlinks the file we hold locked, if it is still the one at `path`. */
export function unlinkHeld(s: Pick<OpenedSession, 'path' | 'stat'>): boolean {
  const now = lstatSync(s.path, { throwIfNoEntry: false });
  if (!now || now.ino !== s.stat.ino) return false;
  try {
    unlinkSync(s.path);
    return true;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false;
    throw fail(s.path, 'cannot delete', err);
  }
}
