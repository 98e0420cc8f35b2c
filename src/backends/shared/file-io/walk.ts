/**
 * The one walk over a session directory: PHP's save_path trees (files/walk.ts: the store's
 * ids, the admin listings, gc) and Laravel's flat sessions directory (laravel-files) all list
 * through it. Loads nothing heavy (no node:crypto, no flock addon).
 */
import { closeSync, constants as C, opendirSync, type Dir, type Dirent } from 'node:fs';
import { join } from 'node:path';
import { openSaveDir, PinnedDir, PINNED_DIRS, PROC_FD } from './pinned-dir.js';

/** A session file found by {@link walkTree}. */
export interface FoundFile {
  /** The session id its name stands for. */
  id: string;
  path: string;
  /** The directory it was found in, pinned: valid only until the walk moves on. */
  dir: PinnedDir;
  /** The file's name in `dir`. */
  name: string;
}

export interface TreeWalkOptions {
  /** Directory levels below the root where session files live (PHP's save_path N; 0 for a flat directory). */
  depth: number;
  /**
   * The session id a file name at the bottom level stands for, or null when it is no session
   * file (it is skipped, never looked at). `placement` is the names of the directories it
   * sits in, joined ('' at depth 0).
   */
  idOf(name: string, placement: string): string | null;
  /** Enter only one-character directories (the only ones a depth-N tree of ids has). */
  oneCharDirs?: boolean;
  /**
   * Unreadable directories are reported here (`stage`: opening it or reading it) and
   * skipped; the walk goes on. Whatever it throws ends the walk.
   */
  onError?: (path: string, err: NodeJS.ErrnoException, stage: 'open' | 'read') => void;
  /** Checked before each directory entry: the walk throws the signal's reason once aborted. */
  signal?: AbortSignal;
  /**
   * Take only the share `index` of `count` of the top-level entries (by a hash of their
   * name, so that parallel walkers split the tree without talking to each other).
   */
  shard?: { index: number; count: number };
}

/** FNV-1a of a name: a stable, cheap way to deal top-level entries to walkers. */
export function nameShard(name: string, count: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return (h >>> 0) % count;
}

/**
 * Walks a session directory (a tree of `depth` levels) synchronously with opendir/readdir, one directory handle per
 * level open at a time, so memory stays bounded however many files there are. Yields the
 * regular files at exactly `depth` levels below the root whose name `idOf` accepts. Symlinks
 * are never followed (directory symlinks are not entered, file symlinks are not yielded), and
 * neither FIFOs, sockets nor devices are yielded.
 * Sync on purpose: it measured faster than fast-glob and async opendir on big trees
 * (see bench/gc.bench.js), and callers interleave their own syscalls per file. One generator
 * with a stack of open levels, not one generator per level: a file yielded through nested
 * `yield*` resumes every level again (~0.2 µs per file at depth 2, measured).
 */
export function* walkTree(root: string, options: TreeWalkOptions): Generator<FoundFile> {
  const { depth, onError, signal } = options;
  const shard = options.shard && options.shard.count > 1 ? options.shard : null;
  const stack: Level[] = [];
  const enter = (parent: PinnedDir | null, dir: string, name: string, prefix: string) => {
    try {
      stack.push(openLevel(parent, dir, name, prefix));
    } catch (err) {
      onError?.(dir, err as NodeJS.ErrnoException, 'open');
    }
  };
  enter(null, root, '', '');
  try {
    while (stack.length > 0) {
      const level = stack.length - 1;
      const top = stack[level]!;
      const entry = readNext(top.handle, top.dir, options);
      if (entry === null) {
        closeLevel(stack.pop()!);
        continue;
      }
      signal?.throwIfAborted();
      const name = entry.name;
      if (level === 0 && shard && nameShard(name, shard.count) !== shard.index) continue;
      if (level < depth) {
        if (name.length !== 1 && options.oneCharDirs) continue;
        if (entryIs(entry, top.pinned, 'isDirectory')) enter(top.pinned, join(top.dir, name), name, top.prefix + name);
        continue;
      }
      const id = options.idOf(name, top.prefix);
      if (id === null || !entryIs(entry, top.pinned, 'isFile')) continue;
      yield { id, path: top.base + name, dir: top.pinned, name };
    }
  } finally {
    while (stack.length > 0) closeLevel(stack.pop()!);
  }
}

/** One open directory of the walk. */
interface Level {
  handle: Dir;
  /** Our own descriptor of it (when pinning), closed with it. */
  fd: number | null;
  dir: string;
  pinned: PinnedDir;
  /** `dir` + '/', joined once per directory: normalising every file's path was a visible share of gc's CPU. */
  base: string;
  /** The names of the directories it sits in, joined ('' at the root). */
  prefix: string;
}

const DIR_FLAGS = C.O_RDONLY | C.O_DIRECTORY;

/**
 * Opens a directory of the tree: the session directory through openSaveDir (only root's and
 * our own symlinks on its way are followed), below it through the parent's pinned descriptor
 * with O_NOFOLLOW (openat when the native helper is there), so a directory swapped for a
 * symlink after readdir is refused, never entered. Every level is pinned, the root included:
 * a name reached by plain path would follow whatever the save path's components have become.
 */
function openLevel(parent: PinnedDir | null, dir: string, name: string, prefix: string): Level {
  let fd: number | null = null;
  let handle: Dir;
  if (!PINNED_DIRS) {
    // No procfs: the links on the way are checked, then the path is used (best effort).
    if (!parent) closeSync(openSaveDir(dir));
    handle = opendirSync(dir, { bufferSize: 256 });
  } else {
    fd = parent ? parent.openEntry(name, DIR_FLAGS | C.O_NOFOLLOW) : openSaveDir(dir);
    try {
      handle = opendirSync(`${PROC_FD}/${fd}`, { bufferSize: 256 });
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }
  return { handle, fd, dir, pinned: PinnedDir.adopt(fd, dir), base: join(dir, '_').slice(0, -1), prefix };
}

function closeLevel(level: Level): void {
  try {
    level.handle.closeSync();
  } catch {
    /* already closed */
  }
  if (level.fd !== null) closeSync(level.fd);
}

function readNext(handle: Dir, dir: string, options: TreeWalkOptions): Dirent | null {
  try {
    return handle.readSync();
  } catch (err) {
    options.onError?.(dir, err as NodeJS.ErrnoException, 'read');
    return null;
  }
}

/**
 * Whether the entry is a directory / a regular file. d_type can be DT_UNKNOWN on some file
 * systems: then lstat (never stat: symlinks are never followed).
 */
function entryIs(entry: Dirent, dir: PinnedDir, kind: 'isDirectory' | 'isFile'): boolean {
  if (entry[kind]()) return true;
  if (entry.isDirectory() || entry.isFile() || entry.isSymbolicLink()) return false;
  try {
    const mode = dir.lstatEntry(entry.name)?.mode;
    return mode !== undefined && (mode & C.S_IFMT) === (kind === 'isFile' ? C.S_IFREG : C.S_IFDIR);
  } catch {
    return false;
  }
}
