/**
 * Where a session lives on disk (`<path>/a/b/sess_ab…` at depth 2) and the walk that finds
 * every session under a save path.
 */
import { join } from 'node:path';
import { SavePathError, SessionFileError } from '../../errors.js';
import type { SavePath } from './save-path.js';
import { assertValidSessionId, isValidSessionId } from '../../session/session-id.js';
import type { FileLocation } from '../shared/file-io/index.js';
import { SESSION_FILE_PREFIX, walkSessionTree } from './walk.js';

export { SESSION_FILE_PREFIX };

/**
 * The file of session `id`: one directory per leading id character, then `sess_<id>`.
 * @throws InvalidSessionIdError before any path is built when PHP would refuse the id.
 */
export function sessionFilePath(sp: SavePath, id: string): string {
  return locateSessionFile(sp, id).path;
}

/** The save path as a prefix ending in one slash, normalized once per SavePath (join per request shows in profiles). */
const prefixes = new WeakMap<SavePath, string>();
function pathPrefix(sp: SavePath): string {
  let prefix = prefixes.get(sp);
  if (prefix === undefined) {
    prefix = join(sp.path, '/');
    prefixes.set(sp, prefix);
  }
  return prefix;
}

const NO_DIRS: readonly string[] = Object.freeze([]);

/**
 * Where session `id` lives, split into the save path, the directories below it and the name.
 * @throws InvalidSessionIdError before anything is built when PHP would refuse the id.
 */
export function locateSessionFile(sp: SavePath, id: string): FileLocation {
  assertValidSessionId(id, sp.depth);
  const name = SESSION_FILE_PREFIX + id;
  if (sp.depth === 0) return { root: sp.path, dirs: NO_DIRS, name, path: pathPrefix(sp) + name, dirMissing: DIR_MISSING_FLAT };
  const dirs: string[] = [];
  for (let i = 0; i < sp.depth; i++) dirs.push(id[i]!);
  return { root: sp.path, dirs, name, path: pathPrefix(sp) + dirs.join('/') + '/' + name, dirMissing: dirMissing(sp.depth) };
}

const DIR_MISSING_FLAT = 'the save path directory does not exist';

function dirMissing(depth: number): string {
  return `its directory does not exist (save path depth ${depth}: create the tree with \`sessctl mkdirs\` or PHP's mod_files.sh)`;
}

/** `'sess_abc'` → `'abc'`; null when the name is not a session file of a valid id. */
export function sessionIdFromFileName(name: string): string | null {
  if (!name.startsWith(SESSION_FILE_PREFIX)) return null;
  const id = name.slice(SESSION_FILE_PREFIX.length);
  return isValidSessionId(id) ? id : null;
}

export interface SessionFileEntry {
  id: string;
  path: string;
}

export interface WalkOptions {
  signal?: AbortSignal;
  /**
   * Called with a SessionFileError for each directory below the save path that cannot be
   * read; the walk goes on. Without it, the first such error is thrown once the walk has
   * yielded everything it could read.
   */
  onError?: (err: SessionFileError) => void;
}

function fileError(path: string, err: unknown): SessionFileError {
  if (err instanceof SavePathError) return err; // the save path itself, said as it is
  const e = err as NodeJS.ErrnoException;
  return new SessionFileError(path, `cannot read directory: ${e.code ?? ''} ${e.message}`.trim(), 'ESESSIONDIR', { cause: err });
}

/**
 * Streams every session file under the save path: regular files named `sess_<valid id>`
 * sitting in the directory their id maps to (a stray `a/sess_bxx` is not PHP's and is
 * skipped). The walk is walk.ts's walkSessionTree (synchronous opendir, one entry at a
 * time, so memory stays bounded however many sessions there are; it measured faster than
 * async opendir and fast-glob); every 256 files it lets the event loop run. Symlinks
 * (files or directories) are never followed: PHP's O_NOFOLLOW would refuse them anyway.
 * @throws SessionFileError when the save path itself cannot be read.
 * @throws the signal's reason when aborted.
 */
export async function* walkSessionFiles(sp: SavePath, options: WalkOptions = {}): AsyncGenerator<SessionFileEntry> {
  const { signal } = options;
  let deferred: SessionFileError | undefined;
  const onError = (dir: string, err: NodeJS.ErrnoException, stage: 'open' | 'read'): void => {
    if (stage === 'open' && dir === sp.path) throw fileError(dir, err);
    if (stage === 'open' && err.code === 'ENOENT') return; // vanished mid-walk
    if (options.onError) options.onError(fileError(dir, err));
    else deferred ??= fileError(dir, err);
  };
  signal?.throwIfAborted();
  let n = 0;
  for (const entry of walkSessionTree(sp.path, { depth: sp.depth, strictPlacement: true, validIdsOnly: true, signal, onError })) {
    yield entry;
    if (++n % 256 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  if (deferred) throw deferred;
}

