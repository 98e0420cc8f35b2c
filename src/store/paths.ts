/**
 * Where a session lives on disk (`<path>/a/b/sess_ab…` at depth 2), the walk that finds
 * every session under a save path, and the depth-N directory tree PHP expects to exist.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, SessionFileError } from '../errors.js';
import type { SavePath } from './save-path.js';
import { assertValidSessionId, isValidSessionId, SID_ALPHABET, type SidBitsPerCharacter } from './session-id.js';
import { walkSessionTree } from './walk.js';

export const SESSION_FILE_PREFIX = 'sess_';

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

export interface CreateSessionDirsOptions {
  bitsPerCharacter: SidBitsPerCharacter;
  /** Mode of the directories; default: the save path directory's own mode. */
  mode?: number;
  /** Refuse to create more than this many directories (default 1 000 000). */
  maxDirectories?: number;
}

/**
 * What PHP's mod_files.sh does: creates every directory of the depth-N tree for the ids
 * of the given alphabet (16, 32 or 64 characters per level). New directories get the save
 * path's mode (or `mode`), set exactly (the umask does not apply), and, when we run as
 * root, the save path's owner and group, so that the PHP user can create session files in
 * them. Existing directories are left as they are, which makes it idempotent.
 * @throws ConfigError for a bad alphabet or a tree larger than `maxDirectories`.
 * @throws SessionFileError when the save path is missing or a tree entry exists and is not a directory.
 */
export async function createSessionDirs(sp: SavePath, options: CreateSessionDirsOptions): Promise<{ created: number; existing: number }> {
  const bits = options.bitsPerCharacter;
  if (bits !== 4 && bits !== 5 && bits !== 6) throw new ConfigError(`bitsPerCharacter ${bits} is invalid (4, 5 or 6)`);
  const alphabet = SID_ALPHABET.slice(0, 1 << bits);
  let total = 0;
  for (let level = 1; level <= sp.depth; level++) total += alphabet.length ** level;
  const max = options.maxDirectories ?? 1_000_000;
  if (total > max) throw new ConfigError(`depth ${sp.depth} with ${alphabet.length} characters per level means ${total} directories (more than ${max})`);

  let base;
  try {
    base = await fsp.stat(sp.path);
  } catch (err) {
    throw new SessionFileError(sp.path, `save path is not usable: ${(err as Error).message}`, 'ESESSIONDIR', { cause: err });
  }
  if (!base.isDirectory()) throw new SessionFileError(sp.path, 'save path is not a directory', 'ESESSIONDIR');
  const mode = options.mode ?? base.mode & 0o7777;
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) throw new ConfigError(`directory mode ${mode} is not in 0..07777`);
  const chownTo = process.getuid?.() === 0 && (base.uid !== 0 || base.gid !== 0) ? { uid: base.uid, gid: base.gid } : null;

  let created = 0;
  let existing = 0;
  async function make(dir: string, level: number): Promise<void> {
    if (level === sp.depth) return;
    for (const c of alphabet) {
      const sub = join(dir, c);
      try {
        await fsp.mkdir(sub, { mode });
        await fsp.chmod(sub, mode); // mkdir's mode is cut by the umask
        if (chownTo) await fsp.chown(sub, chownTo.uid, chownTo.gid);
        created++;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
          throw new SessionFileError(sub, `cannot create directory: ${(err as Error).message}`, 'ESESSIONDIR', { cause: err });
        }
        const st = await fsp.lstat(sub);
        if (!st.isDirectory()) throw new SessionFileError(sub, 'exists and is not a directory', 'ESESSIONDIR');
        existing++;
      }
      await make(sub, level + 1);
    }
  }
  await make(sp.path, 0);
  return { created, existing };
}
