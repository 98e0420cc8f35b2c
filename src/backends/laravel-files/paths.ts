/**
 * Where Laravel's file driver keeps a session: `<config('session.files')>/<id>` — the bare
 * 40-character id, no prefix, no subdirectories — as a location of the shared file-io module,
 * which does every open, lock, read, write and unlink of this backend.
 */
import { join } from 'node:path';
import { SavePathError, SessionFileError } from '../../errors.js';
import { walkTree, type FileLocation, type FoundFile } from '../shared/file-io/index.js';
import { assertLaravelSessionId, isLaravelSessionId } from '../shared/laravel.js';

const DIR_MISSING = "the session directory does not exist (config('session.files'), the app's storage/framework/sessions)";

/** @throws InvalidSessionIdError before any path is built (Laravel's id rule keeps the name inside `dir`). */
export function locateLaravelFile(dir: string, id: string): FileLocation {
  assertLaravelSessionId(id);
  return { root: dir, dirs: [], name: id, path: join(dir, id), dirMissing: DIR_MISSING };
}

/** The location of a file the walk found. */
export function foundLocation(found: FoundFile): FileLocation {
  return { root: found.dir.path, dirs: [], name: found.name, path: found.path, dirMissing: DIR_MISSING };
}

export function dirError(dir: string, err: unknown): SessionFileError {
  if (err instanceof SavePathError) return err; // the save path itself, said as it is
  const e = err as NodeJS.ErrnoException;
  return new SessionFileError(dir, `cannot read the session directory: ${e.code ?? ''} ${e.message}`.trim(), 'ESESSIONDIR', { cause: err });
}

/**
 * Every regular file of `dir` named like a Laravel id (Laravel keeps a `.gitignore` there too),
 * through the shared walk: symlinks, FIFOs and directories are skipped, never followed.
 * Unreadable: `onError`, or thrown without it.
 */
export function walkLaravelFiles(dir: string, options: { signal?: AbortSignal; onError?: (path: string, err: SessionFileError) => void } = {}): Generator<FoundFile> {
  return walkTree(dir, {
    depth: 0,
    idOf: (name) => (isLaravelSessionId(name) ? name : null),
    signal: options.signal,
    onError: (path, err) => {
      const e = dirError(path, err);
      if (!options.onError) throw e;
      options.onError(path, e);
    },
  });
}
