/**
 * The one way sessctl reads a configuration file (php.ini and its scan directories, a framework
 * app's dotenv files, FPM pool files). sessctl runs as root over directories other users own, so
 * a file a tenant can name must not make it hang, eat memory, or read for the tenant what only
 * root may read:
 * - a FIFO, a device, a socket or a directory is refused before it is opened (opening some
 *   devices has effects), and the open itself is non-blocking, so a FIFO swapped in at the last
 *   moment cannot block it either;
 * - at most {@link CONFIG_FILE_MAX_BYTES} are read: a bigger file is refused, unread;
 * - a symlink anywhere on the path is followed only when root or this process's user owns it
 *   (php.ini trees link conf.d files to mods-available; those links are root's); one a tenant
 *   owns could point anywhere root can read;
 * - the file read is the file checked: the descriptor's device and inode must be those the walk
 *   found, so swapping a directory between the checks and the open is caught;
 * - optionally (a framework app's dotenv files read as root) the file must belong to one of the
 *   given owners.
 * Every refusal is a one-line ConfigError naming the path and never quoting the file.
 */
import { closeSync, constants as C, fstatSync, lstatSync, openSync, readlinkSync, readSync, type Stats } from 'node:fs';
import { isAbsolute } from 'node:path';
import { ConfigError } from '../errors.js';
import { followsSymlinkOf, MAX_SYMLINKS } from '../session/trusted-links.js';

/** The largest configuration file read (php.ini files are tens of KiB; a dotenv file less). */
export const CONFIG_FILE_MAX_BYTES = 8 * 1024 * 1024;


/** A configuration file that could not be read for a reason of the system's (`code`: ENOENT, EACCES, …), not refused by sessctl. */
export class ConfigFileUnreadableError extends ConfigError {
  constructor(
    message: string,
    readonly errno: string,
  ) {
    super(message);
  }
}

export interface ReadConfigFileOptions {
  /**
   * When running as root: the uids the file (after its trusted symlinks) may belong to. A file
   * readable only because sessctl is root must not be read for whoever could name it.
   */
  owners?: readonly number[];
}

/** A path fit for a one-line message: quoted and escaped when it holds a control character. */
function shown(path: string): string {
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u001f\u007f-\u009f]/.test(path) ? JSON.stringify(path) : path;
}

/**
 * Reads a configuration file as UTF-8 (see the module comment for what is refused).
 * @param what how the message names the file (`--php-ini`, `.env`): `<what> <path>: <reason>`.
 * @throws ConfigError when refused; ConfigFileUnreadableError when the system could not read it.
 */
export function readConfigFile(path: string, what: string, options: ReadConfigFileOptions = {}): string {
  const label = `${what} ${shown(path)}`;
  const found = walk(path, label);
  checkKind(found.st, label);
  checkOwner(found.st, label, options.owners);
  let fd: number;
  try {
    // Non-blocking: opening a FIFO for reading would otherwise wait for a writer. No controlling
    // terminal from a tty. No following a final symlink: the walk resolved them all. (libuv adds
    // O_CLOEXEC to every open.)
    fd = openSync(found.path, C.O_RDONLY | C.O_NONBLOCK | C.O_NOCTTY | C.O_NOFOLLOW);
  } catch (err) {
    throw unreadable(label, err);
  }
  try {
    const st = fstatSync(fd);
    // The file opened must be the one checked (a directory on the way swapped meanwhile is caught).
    if (st.dev !== found.st.dev || st.ino !== found.st.ino) throw new ConfigError(`${label}: changed between its checks and its opening; not read`);
    checkKind(st, label);
    return readCapped(fd, label).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * Resolves `path` one component at a time with lstat, following only trusted symlinks, as the
 * kernel would (`..` after a symlink is the parent of its target). Returns the path without
 * symlinks and the final component's lstat.
 */
function walk(path: string, label: string): { path: string; st: Stats } {
  let todo = (isAbsolute(path) ? path : `${process.cwd()}/${path}`).split('/');
  let done = '';
  let st: Stats | undefined;
  let links = 0;
  while (todo.length > 0) {
    const name = todo.shift()!;
    if (name === '' || name === '.') continue;
    if (name === '..') {
      done = done.slice(0, done.lastIndexOf('/'));
      st = undefined;
      continue;
    }
    const next = `${done}/${name}`;
    st = lstatOf(next, label);
    if (!st.isSymbolicLink()) {
      done = next;
      continue;
    }
    if (!followsSymlinkOf(st.uid)) {
      const last = todo.every((n) => n === '' || n === '.');
      throw new ConfigError(`${label}: ${last ? '' : `${shown(next)} (on the way) `}is a symlink owned by uid ${st.uid}; not followed`);
    }
    if (++links > MAX_SYMLINKS) throw new ConfigFileUnreadableError(`${label}: cannot read it (ELOOP)`, 'ELOOP');
    let target: string;
    try {
      target = readlinkSync(next);
    } catch (err) {
      throw unreadable(label, err);
    }
    if (isAbsolute(target)) done = '';
    todo = [...target.split('/'), ...todo];
    st = undefined; // the link's own lstat is not the file's
  }
  // Ending in `..`, `.` or a link to one of them: the directory reached (which checkKind refuses).
  return { path: done || '/', st: st ?? lstatOf(done || '/', label) };
}

function lstatOf(path: string, label: string): Stats {
  try {
    return lstatSync(path);
  } catch (err) {
    throw unreadable(label, err);
  }
}

function checkKind(st: Stats, label: string): void {
  if (!st.isFile()) throw new ConfigError(`${label}: is not a regular file (${kindOf(st)}); not read`);
  if (st.size > CONFIG_FILE_MAX_BYTES) throw tooBig(label);
}

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'a special file';
}

function checkOwner(st: Stats, label: string, owners: readonly number[] | undefined): void {
  // Only root can read what its owner did not mean to share; any other user reads as itself.
  if (owners === undefined || process.geteuid?.() !== 0 || owners.includes(st.uid)) return;
  throw new ConfigError(`${label}: belongs to uid ${st.uid}, neither root nor the owner of the directory it configures (uid ${owners.filter((u) => u !== 0).join(', ') || 0}); not read`);
}

/** Reads to the end through the descriptor, but never more than the cap (the file may grow after fstat). */
function readCapped(fd: number, label: string): Buffer {
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const chunk = Buffer.allocUnsafe(64 * 1024);
    let n: number;
    try {
      n = readSync(fd, chunk, 0, chunk.length, null);
    } catch (err) {
      throw unreadable(label, err);
    }
    if (n === 0) return Buffer.concat(chunks, total);
    total += n;
    if (total > CONFIG_FILE_MAX_BYTES) throw tooBig(label);
    chunks.push(chunk.subarray(0, n));
  }
}

function tooBig(label: string): ConfigError {
  return new ConfigError(`${label}: is larger than ${CONFIG_FILE_MAX_BYTES / (1024 * 1024)} MiB, the limit for a configuration file; not read`);
}

function unreadable(label: string, err: unknown): ConfigFileUnreadableError {
  const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
  return new ConfigFileUnreadableError(`${label}: cannot read it (${code})`, code);
}
