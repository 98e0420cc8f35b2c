/**
 * Directories of a session tree, held open so that names resolve inside the very directory we
 * checked. The session directory itself is reached from `/` one component at a time
 * (openSaveDir, like systemd's chase()), following only symlinks that root or we own; each
 * level below it is opened with O_DIRECTORY|O_NOFOLLOW through its parent's descriptor, so
 * swapping a directory for a symlink mid-operation cannot redirect a read, write or delete
 * elsewhere. A name is resolved relative to a descriptor by the native helper's
 * openat/fstatat/unlinkat when it is built (native-at.ts), else as `/proc/<pid>/fd/N/name` —
 * the same entry of the same directory, one procfs lookup dearer.
 */
import { closeSync, constants as C, existsSync, fstatSync, lstatSync, openSync, readlinkSync, statSync, type Stats } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { SavePathError, SessctlError, SessionFileError } from '../../../errors.js';
import { followsSymlinkOf, MAX_SYMLINKS } from '../../../session/trusted-links.js';
import { lstatAt, NATIVE_AT, openAt, type AtStat } from './native-at.js';

const DIR_FLAGS = C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW;

/** Whether names can be resolved through a pinned directory descriptor (Linux's procfs). */
export const PINNED_DIRS = process.platform === 'linux' && existsSync('/proc/self/fd');

/**
 * Where our descriptors show in procfs: `/proc/<pid>/fd` when `/proc/self` names this very
 * process, else `/proc/self/fd`. Every name below the session directory is resolved through
 * it (gc: three times per expired file), and skipping the `self` symlink makes each such
 * lookup measurably cheaper (~0.4 µs of ~2.4 µs extra). Checked once: a /proc from another
 * pid namespace would name someone else's process by our pid, so then `self` it stays
 * (the pid of a Node process never changes; worker threads share it and its descriptors).
 */
export const PROC_FD = PINNED_DIRS ? procFdDir() : '/proc/self/fd';

function procFdDir(): string {
  try {
    if (readlinkSync('/proc/self') === String(process.pid)) return `/proc/${process.pid}/fd`;
  } catch {
    /* no readable /proc/self link: keep the generic form */
  }
  return '/proc/self/fd';
}

export function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

/**
 * A system call's error for a message that already names the path: `ENOSPC: no space left on
 * device`, without Node's `, mkdir '<path>'` tail — that path is the one the call was given,
 * often `/proc/<pid>/fd/N/…` here, which means nothing to the reader.
 */
export function osErrorText(err: unknown): string {
  const e = err as NodeJS.ErrnoException | null;
  const message = e?.message ?? String(err);
  const tail = e?.syscall ? message.indexOf(`, ${e.syscall}`) : -1;
  return tail > 0 ? message.slice(0, tail) : message;
}

/**
 * Linux's O_PATH (fs.constants lacks it): the save path's components are only walked through,
 * and O_PATH needs search permission alone — Debian's `/var/lib/php/sessions` is `1733`, which
 * PHP's user can enter but not read. Such a descriptor serves openat, fstat and /proc alike.
 */
const O_PATH = 0o10000000;
const CHASE_FLAGS = O_PATH | C.O_DIRECTORY | C.O_NOFOLLOW;

/** One real directory reached by the chase: its descriptor (null without procfs) and real path. */
interface ChaseLevel {
  fd: number | null;
  path: string;
}

/**
 * Opens the session directory `savePath` the way systemd's chase() does: from `/`, one
 * component at a time, each opened with O_DIRECTORY|O_NOFOLLOW relative to the previous one.
 * A component that is a symlink is followed only when root or our effective uid owns it —
 * whoever else owns it could point it at anyone's sessions, and we may be root — by reading
 * it through its pinned parent and resolving its target the same way (absolute targets from
 * `/`, at most 40 links). So what the descriptor names is what trusted links lead to, and a
 * later swap of any component changes nothing for its holder.
 * Without procfs each component is checked by path instead (best effort, not race-free).
 * @returns a descriptor of the directory (O_PATH on Linux: fstat it, or resolve names in it
 *   through openAt or `${PROC_FD}/<fd>/<name>`); the caller closes it.
 * @throws SavePathError (ESYMLINK, ELOOP) for a symlink we may not follow or too many links;
 *   the raw errno error (ENOENT, ENOTDIR, EACCES…), naming the component, otherwise.
 */
export function openSaveDir(savePath: string): number {
  return chaseSaveDir(savePath).fd;
}

/** openSaveDir, and whether the chase followed a symlink on its way. */
function chaseSaveDir(savePath: string): { fd: number; followedLinks: boolean } {
  const stack: ChaseLevel[] = [{ fd: PINNED_DIRS ? openSync('/', CHASE_FLAGS) : null, path: '/' }];
  try {
    const todo = resolve(savePath).split('/');
    let links = 0;
    while (todo.length > 0) {
      const name = todo.shift()!;
      if (name === '' || name === '.') continue;
      // Every level on the stack is a real directory, so its parent is the level below it.
      if (name === '..') {
        if (stack.length > 1) closeLevel(stack.pop()!);
        continue;
      }
      const parent = stack[stack.length - 1]!;
      const next = chaseStep(savePath, parent, name);
      if (typeof next !== 'string') {
        stack.push(next);
        continue;
      }
      if (++links > MAX_SYMLINKS) throw new SavePathError(savePath, `too many levels of symbolic links (more than ${MAX_SYMLINKS}) at ${join(parent.path, name)}`, 'ELOOP');
      if (next.startsWith('/')) while (stack.length > 1) closeLevel(stack.pop()!);
      todo.unshift(...next.split('/'));
    }
    const last = stack.pop()!;
    return { fd: last.fd ?? openSync(last.path, C.O_RDONLY | C.O_DIRECTORY), followedLinks: links > 0 };
  } finally {
    for (const level of stack) closeLevel(level);
  }
}

/** A session directory reached by openSaveDir, kept open for the next requests (see borrowSaveDir). */
interface SaveDirEntry {
  fd: number;
  dev: number;
  ino: number;
  /** PinnedDirs using the descriptor now: it is closed only once none is, after it was retired. */
  users: number;
  retired: boolean;
  /** Its real path when the chase followed no symlink (see directPath), else null. */
  direct: string | null;
}
const SAVE_DIRS = new Map<string, SaveDirEntry>();
const MAX_SAVE_DIRS = 16;

/**
 * The session directory's descriptor for one operation, borrowed (give it back with
 * returnSaveDir). The chase costs an openat and a close per component of the path, on every
 * request of a server: so the descriptor of the last chase is kept, and used again while
 * `stat(savePath)` still names that same directory (one stat). Safe either way: the descriptor
 * used is always one a chase produced, and the stat only decides whether to chase again — a
 * link swapped since names another directory, and the new chase judges it. A kept descriptor
 * also keeps its inode number from being reused by a directory made anew.
 * @throws like openSaveDir.
 */
function borrowSaveDir(savePath: string): SaveDirEntry {
  const kept = SAVE_DIRS.get(savePath);
  if (kept !== undefined) {
    let st: Stats | undefined;
    try {
      st = statSync(savePath, { throwIfNoEntry: false });
    } catch {
      st = undefined; // the chase below reports it
    }
    if (st !== undefined && st.dev === kept.dev && st.ino === kept.ino) {
      kept.users++;
      return kept;
    }
    retireSaveDir(savePath, kept);
  }
  const { fd, followedLinks } = chaseSaveDir(savePath);
  let st: Stats;
  try {
    st = fstatSync(fd);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  // A relative save path is relative to the working directory of each later stat: by path, never.
  const direct = PINNED_DIRS && !followedLinks && directOpen !== null && isAbsolute(savePath) ? resolve(savePath) : null;
  const entry: SaveDirEntry = { fd, dev: st.dev, ino: st.ino, users: 1, retired: false, direct };
  if (SAVE_DIRS.size >= MAX_SAVE_DIRS) {
    const [oldest, old] = SAVE_DIRS.entries().next().value!;
    retireSaveDir(oldest, old);
  }
  SAVE_DIRS.set(savePath, entry);
  return entry;
}

function retireSaveDir(savePath: string, entry: SaveDirEntry): void {
  if (SAVE_DIRS.get(savePath) === entry) SAVE_DIRS.delete(savePath);
  entry.retired = true;
  if (entry.users === 0) closeSync(entry.fd);
}

/**
 * Lets go of the kept descriptor of `savePath` (closed once no operation uses it), so that its
 * file system can be unmounted; the next operation chases the path again. Store.close() calls it.
 */
export function forgetSaveDir(savePath: string): void {
  const kept = SAVE_DIRS.get(savePath);
  if (kept !== undefined) retireSaveDir(savePath, kept);
}

function returnSaveDir(entry: SaveDirEntry): void {
  entry.users--;
  if (entry.retired && entry.users === 0) closeSync(entry.fd);
}

/** The helper's openat2 with RESOLVE_NO_SYMLINKS; null when absent, or once the kernel said it has none. */
let directOpen = NATIVE_AT?.openpath ?? null;

/**
 * Where a file below the session directory `root` can be opened by path in one system call
 * (openDirect), as PHP opens it: the kept directory's real path, when the chase that found it
 * followed no symlink. Then every component of the path is a real directory, and the kernel
 * (RESOLVE_NO_SYMLINKS) refuses the open if any of them has become a symlink since, so the
 * walk needs neither the kept descriptor nor the stat that keeps it current (borrowSaveDir).
 * If a component was replaced by another real directory, the path reaches the new one, as it
 * does for PHP and for a new chase. Null (open through PinnedDir) when `root` has not been
 * chased yet, its chase followed a (trusted) symlink, or there is no openat2.
 */
export function directPath(root: string): string | null {
  if (directOpen === null) return null;
  return SAVE_DIRS.get(root)?.direct ?? null;
}

/**
 * Opens `path` (below directPath(root)) refusing a symlink at any level. Undefined when it could not
 * be opened, whatever the reason: the caller then takes the pinned way, which gives the error
 * its precise meaning (which level is missing, which link is not trusted).
 */
export function openDirect(root: string, path: string, flags: number, mode?: number): number | undefined {
  if (directOpen === null) return undefined;
  try {
    return directOpen(path, flags, mode);
  } catch (err) {
    const code = errnoCode(err);
    // A symlink on the way now: the kept directory is chased again (and judged) next time,
    // which also settles whether this path may still be opened directly.
    if (code === 'ELOOP') forgetSaveDir(root);
    // No openat2 here (a kernel before 5.6, a build without it): never again. A seccomp filter
    // may refuse it with EPERM, which a file can also give (chattr +i): then opening `/`
    // tells the two apart.
    if (code === 'ENOSYS' || code === 'E2BIG' || (code === 'EPERM' && !openat2Works())) directOpen = null;
    return undefined;
  }
}

function openat2Works(): boolean {
  try {
    closeSync(directOpen!('/', O_PATH | C.O_DIRECTORY));
    return true;
  } catch {
    return false;
  }
}

/** fstat of the session directory reached by openSaveDir: its real owner, not a link's target by path. @throws like openSaveDir. */
export function statSaveDir(savePath: string): Stats {
  const fd = openSaveDir(savePath);
  try {
    return fstatSync(fd);
  } finally {
    closeSync(fd);
  }
}

function closeLevel(level: ChaseLevel): void {
  if (level.fd !== null) closeSync(level.fd);
}

/**
 * One component of the chase: the directory it is, or the target of a symlink we may follow.
 * @throws SavePathError (ESYMLINK) for a symlink owned by someone else; the errno error otherwise.
 */
function chaseStep(savePath: string, parent: ChaseLevel, name: string): ChaseLevel | string {
  const at = join(parent.path, name);
  const entry = parent.fd === null ? at : `${PROC_FD}/${parent.fd}/${name}`;
  let failure: unknown;
  try {
    if (parent.fd !== null) return { fd: openAt(parent.fd, name, entry, CHASE_FLAGS), path: at };
    const st = lstatSync(entry);
    if (st.isDirectory()) return { fd: null, path: at };
    if (!st.isSymbolicLink()) throw Object.assign(new Error(`ENOTDIR: not a directory, open '${at}'`), { code: 'ENOTDIR' });
  } catch (err) {
    // O_DIRECTORY|O_NOFOLLOW on a symlink fails with ENOTDIR (ELOOP on some kernels).
    const code = errnoCode(err);
    if (code !== 'ENOTDIR' && code !== 'ELOOP') throw namingComponent(err, at);
    failure = err;
  }
  const st = parent.fd === null ? lstatSync(entry) : lstatAt(parent.fd, name, entry);
  if (!st || (st.mode & C.S_IFMT) !== C.S_IFLNK) throw namingComponent(failure, at);
  if (!followsSymlinkOf(st.uid)) {
    const euid = process.geteuid?.();
    const trusted = euid === 0 ? "only root's own symlinks are" : `only root's and uid ${euid}'s own symlinks are`;
    throw new SavePathError(savePath, `${at} is a symlink owned by uid ${st.uid}; not followed (${trusted})`, 'ESYMLINK');
  }
  // readlink of the entry in the pinned parent: the link we just judged, not one swapped in by path.
  return readlinkSync(entry);
}

/** The errno error of a component, its message naming the component rather than a /proc path. */
function namingComponent(err: unknown, at: string): unknown {
  if (!(err instanceof Error) || err instanceof SessctlError) return err;
  err.message = err.message.replace(/'[^']*'$/, `'${at}'`);
  (err as NodeJS.ErrnoException).path = at;
  return err;
}

/**
 * A directory of the tree held open, so that names below it resolve inside that very
 * directory even if its path is swapped for a symlink meanwhile.
 */
export class PinnedDir {
  /** The descriptor this object closes (null: adopted, the caller closes it). */
  readonly #owned: number | null;
  /** The kept session directory this object uses (depth 0), given back on close(). */
  #borrowed: SaveDirEntry | null = null;
  readonly #prefix: string;
  /** The logical path of the directory (for messages). */
  readonly path: string;
  /**
   * The descriptor names in this directory resolve through (openat & co.), or null when they
   * resolve by plain path (no procfs to pin with).
   */
  readonly fd: number | null;

  private constructor(owned: number | null, fd: number | null, prefix: string, path: string) {
    this.#owned = owned;
    this.fd = fd;
    this.#prefix = prefix;
    this.path = path;
  }

  /**
   * Opens the session directory `root` (openSaveDir: only root's and our own symlinks are
   * followed) and then `dirs…` one level at a time, refusing a symlink at every level below it.
   * @throws SavePathError (ESYMLINK, ELOOP) for the save path itself; SessionFileError
   *   (ESYMLINK, ENOENT, ENOTDIR, EACCES) naming the level.
   */
  static open(root: string, dirs: readonly string[], forFile?: string): PinnedDir {
    let saveDir: SaveDirEntry;
    try {
      saveDir = borrowSaveDir(root);
    } catch (err) {
      throw err instanceof SessctlError ? err : rootError(root, err, forFile);
    }
    if (!PINNED_DIRS) {
      returnSaveDir(saveDir);
      return PinnedDir.#openByPath(root, dirs, forFile);
    }
    if (dirs.length === 0) {
      const pinned = new PinnedDir(null, saveDir.fd, `${PROC_FD}/${saveDir.fd}`, root);
      pinned.#borrowed = saveDir;
      return pinned;
    }
    let path = root;
    let fd: number | null = null;
    try {
      for (const d of dirs) {
        path = join(path, d);
        const parent = fd ?? saveDir.fd;
        let nfd: number;
        try {
          nfd = openAt(parent, d, `${PROC_FD}/${parent}/${d}`, DIR_FLAGS);
        } catch (err) {
          throw dirError(path, err, forFile);
        }
        if (fd !== null) closeSync(fd);
        fd = nfd;
      }
    } catch (err) {
      if (fd !== null) closeSync(fd);
      throw err;
    } finally {
      returnSaveDir(saveDir);
    }
    return new PinnedDir(fd, fd, `${PROC_FD}/${fd}`, path);
  }

  /** No procfs: each level is checked to be a real directory (best effort, not race-free). */
  static #openByPath(root: string, dirs: readonly string[], forFile?: string): PinnedDir {
    let path = root;
    for (const d of dirs) {
      path = join(path, d);
      const st = lstatSync(path, { throwIfNoEntry: false });
      if (!st) throw dirError(path, Object.assign(new Error('no such directory'), { code: 'ENOENT' }), forFile);
      if (!st.isDirectory()) throw dirError(path, Object.assign(new Error('not a directory'), { code: st.isSymbolicLink() ? 'ELOOP' : 'ENOTDIR' }), forFile);
    }
    return new PinnedDir(null, null, path, path);
  }

  /**
   * Opens the session directory itself for reading (through openSaveDir, so only trusted
   * symlinks lead there): reading it is what the listings need, so check() asks for it.
   * @throws SavePathError (ESYMLINK, ELOOP); the raw errno error (ENOENT, ENOTDIR, EACCES).
   */
  static openRoot(path: string): number {
    const fd = openSaveDir(path);
    if (!PINNED_DIRS) return fd;
    try {
      return openSync(`${PROC_FD}/${fd}`, C.O_RDONLY | C.O_DIRECTORY);
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Checks that the session directory can be opened and read (it is closed again).
   * @throws like openRoot.
   */
  static probeRoot(path: string): void {
    closeSync(PinnedDir.openRoot(path));
  }

  /** Pins a directory already open (the walker's, mkdirs'); the caller keeps closing it. */
  static adopt(fd: number | null, path: string): PinnedDir {
    if (fd === null || !PINNED_DIRS) return new PinnedDir(null, null, path, path);
    return new PinnedDir(null, fd, `${PROC_FD}/${fd}`, path);
  }

  /** The path through which `name` in this directory is reached without following anything above it. */
  entry(name: string): string {
    return `${this.#prefix}/${name}`;
  }

  /** Opens `name` in this directory (openat on the descriptor when the native helper is there). */
  openEntry(name: string, flags: number): number {
    return openAt(this.fd, name, this.entry(name), flags);
  }

  /** lstat of `name` in this directory (fstatat on the descriptor when the native helper is there); undefined when it does not exist. */
  lstatEntry(name: string): AtStat | undefined {
    return lstatAt(this.fd, name, this.entry(name));
  }

  close(): void {
    if (this.#owned !== null) closeSync(this.#owned);
    if (this.#borrowed !== null) {
      returnSaveDir(this.#borrowed);
      this.#borrowed = null;
    }
  }
}

function dirError(path: string, err: unknown, forFile?: string): SessionFileError {
  const e = dirErrorFor(path, err);
  if (forFile) e.message += ` (needed for ${forFile})`;
  return e;
}

/** The session directory could not be reached (the chase's errno error names the component). */
function rootError(root: string, err: unknown, forFile?: string): SessionFileError {
  const code = errnoCode(err);
  const denied = code === 'EACCES' || code === 'EPERM';
  const why =
    code === 'ENOENT' ? 'the save path does not exist'
    : code === 'ENOTDIR' ? 'the save path is not a directory'
    : denied ? `the save path cannot be reached (${code}); run as the user PHP runs as`
    : `the save path cannot be opened: ${osErrorText(err)}`;
  const e = new SessionFileError(root, why, code === 'ENOENT' || code === 'ENOTDIR' ? code : denied ? 'EACCES' : 'ESESSIONDIR', { cause: err });
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
  return new SessionFileError(path, `cannot open directory: ${osErrorText(err)}`, 'ESESSIONDIR', { cause: err });
}
