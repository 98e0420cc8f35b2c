/**
 * Where a session lives on disk (`<path>/a/b/sess_ab…` at depth 2) and the walk that finds
 * every session under a save path.
 */
import { join } from 'node:path';
import { SessionFileError } from '../../errors.js';
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
  assertValidSessionId(id, sp.depth);
  const dirs: string[] = [];
  for (let i = 0; i < sp.depth; i++) dirs.push(id[i]!);
  return join(sp.path, ...dirs, SESSION_FILE_PREFIX + id);
}

/**
 * Where session `id` lives, split into the save path, the directories below it and the name.
 * @throws InvalidSessionIdError before anything is built when PHP would refuse the id.
 */
export function locateSessionFile(sp: SavePath, id: string): FileLocation {
  assertValidSessionId(id, sp.depth);
  const dirs: string[] = [];
  for (let i = 0; i < sp.depth; i++) dirs.push(id[i]!);
  const name = SESSION_FILE_PREFIX + id;
  return { root: sp.path, dirs, name, path: join(sp.path, ...dirs, name), dirMissing: dirMissing(sp.depth) };
}

function dirMissing(depth: number): string {
  return depth > 0
    ? `its directory does not exist (save path depth ${depth}: create the tree with \`sessctl mkdirs\` or PHP's mod_files.sh)`
    : 'the save path directory does not exist';
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

