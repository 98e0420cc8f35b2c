/**
 * What PHP's mod_files.sh does — create the depth-N directory tree — made safe to run as
 * root over a save path another user owns: every directory is created and then opened
 * through its pinned parent with O_DIRECTORY|O_NOFOLLOW, checked to be a directory we just
 * made (owned by us), and only then given its mode and owner through the descriptor
 * (fchmod/fchown). A directory renamed and replaced by a symlink between mkdir and chown
 * can therefore never hand another file to the save path's owner.
 */
import { closeSync, constants as C, fchmodSync, fchownSync, fstatSync, lstatSync, mkdirSync, readdirSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, SavePathError, SessionFileError } from '../../errors.js';
import type { MissingStructure } from '../../session/admin.js';
import { SID_ALPHABET, type SidBitsPerCharacter } from '../../session/session-id.js';
import { errnoCode, openSaveDir, osErrorText, PinnedDir } from '../shared/file-io/index.js';
import type { SavePath } from './save-path.js';

export interface CreateSessionDirsOptions {
  bitsPerCharacter: SidBitsPerCharacter;
  /** Mode of the directories; default: the save path directory's own mode. */
  mode?: number;
  /** Refuse to create more than this many directories (default 1 000 000). */
  maxDirectories?: number;
}

const DIR_FLAGS = C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW;

/**
 * Creates every directory of the depth-N tree for the ids of the alphabet (16, 32 or 64
 * characters a level, from `session.sid_bits_per_character`). New directories get the save
 * path's mode (or `mode`), set exactly (the umask does not apply), and, when we run as root,
 * the save path's owner and group, so that PHP can create session files in them. Existing
 * directories are left as they are, which makes it idempotent.
 * @throws ConfigError for a bad alphabet or a tree larger than `maxDirectories`.
 * @throws SessionFileError when the save path is missing, a tree entry exists and is not a
 *   directory (a symlink included), or a new directory was swapped while we set it up.
 */
export async function createSessionDirs(sp: SavePath, options: CreateSessionDirsOptions): Promise<{ created: number; existing: number }> {
  const bits = options.bitsPerCharacter;
  if (bits !== 4 && bits !== 5 && bits !== 6) throw new ConfigError(`bitsPerCharacter ${String(bits)} is invalid (4, 5 or 6)`);
  const alphabet = SID_ALPHABET.slice(0, 1 << bits);
  let total = 0;
  for (let level = 1; level <= sp.depth; level++) total += alphabet.length ** level;
  const max = options.maxDirectories ?? 1_000_000;
  if (total > max) throw new ConfigError(`depth ${sp.depth} with ${alphabet.length} characters per level means ${total} directories (more than ${max})`);

  let rootFd: number;
  try {
    // Through the chase: a tenant's symlink on the way must not get root's directories made in its target.
    rootFd = openSaveDir(sp.path);
  } catch (err) {
    if (err instanceof SavePathError) throw err;
    // A missing save path, or a file there, is a bad setting (exit 2), said as every other command says it.
    const code = errnoCode(err);
    if (code === 'ENOENT') throw new SessionFileError(sp.path, 'the save path does not exist (mkdirs makes the levels below it: create it first, owned by the user PHP runs as)', 'ESAVEPATH', { cause: err });
    if (code === 'ENOTDIR') throw new SessionFileError(sp.path, 'the save path is not a directory (ENOTDIR)', 'ESAVEPATH', { cause: err });
    throw new SessionFileError(sp.path, `save path is not usable: ${osErrorText(err)}`, 'ESESSIONDIR', { cause: err });
  }
  const base = fstatSync(rootFd);
  const mode = options.mode ?? base.mode & 0o7777;
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) {
    closeSync(rootFd);
    throw new ConfigError(`directory mode ${mode} is not in 0..07777`);
  }
  const euid = process.geteuid?.();
  const chownTo = euid === 0 && (base.uid !== 0 || base.gid !== 0) ? { uid: base.uid, gid: base.gid } : null;

  let created = 0;
  let existing = 0;
  // Owner and group first, then the mode: a kill in between leaves a directory the save path's
  // owner can already use, never one in the final mode still owned by root.
  const setUp = (fd: number): void => {
    if (chownTo) fchownSync(fd, chownTo.uid, chownTo.gid);
    fchmodSync(fd, mode);
  };
  /**
   * Whether an existing private directory is one an interrupted run of ours made and never set
   * up: empty (we make a directory's children only once it is set up), owned by us (or already
   * by the save path's owner), and not yet in the mode asked for.
   */
  const isHalfMade = (st: Stats, fd: number, path: string): boolean => {
    if ((st.mode & 0o7777) === mode && (!chownTo || (st.uid === chownTo.uid && st.gid === chownTo.gid))) return false;
    if (st.uid !== euid && !(chownTo && st.uid === chownTo.uid)) return false;
    // Listed through the descriptor just checked, not by its name again.
    return readdirSync(PinnedDir.adopt(fd, path).entry('.')).length === 0;
  };
  const make = (parentFd: number, parentPath: string, level: number): void => {
    if (level === sp.depth) return;
    const parent = PinnedDir.adopt(parentFd, parentPath);
    for (const c of alphabet) {
      const path = join(parentPath, c);
      let made = false;
      try {
        mkdirSync(parent.entry(c), { mode: 0o700 });
        made = true;
      } catch (err) {
        if (errnoCode(err) !== 'EEXIST') throw new SessionFileError(path, `cannot create directory: ${osErrorText(err)}`, 'ESESSIONDIR', { cause: err });
      }
      let fd: number;
      try {
        fd = parent.openEntry(c, DIR_FLAGS);
      } catch (err) {
        const code = errnoCode(err);
        throw new SessionFileError(path, code === 'ELOOP' || code === 'ENOTDIR' ? 'exists and is not a directory (a symlink or a file); refused' : `cannot open: ${osErrorText(err)}`, 'ESESSIONDIR', { cause: err });
      }
      try {
        const st = fstatSync(fd);
        const isPrivate = st.isDirectory() && (st.mode & 0o7777) === (0o700 & ~currentUmask());
        if (made) {
          // What we opened must be the directory we just made: ours, still private (0700).
          if (!isPrivate || st.uid !== euid) {
            throw new SessionFileError(path, 'was replaced between mkdir and open; refused', 'ERACE');
          }
          setUp(fd);
          created++;
        } else if (isPrivate && isHalfMade(st, fd, path)) {
          // A run killed between its mkdir and its chmod left this one behind: still private,
          // so PHP could not write into it, and "left as it is" would keep it so for good.
          setUp(fd);
          created++;
        } else existing++;
        make(fd, path, level + 1);
      } finally {
        closeSync(fd);
      }
    }
  };
  try {
    make(rootFd, sp.path, 0);
  } finally {
    closeSync(rootFd);
  }
  return { created, existing };
}

let umaskCache: number | undefined;
function currentUmask(): number {
  // process.umask() with no argument is deprecated; set-and-restore reads it once.
  if (umaskCache === undefined) {
    umaskCache = process.umask(0o022);
    process.umask(umaskCache);
  }
  return umaskCache;
}

/**
 * The directories of the depth-N tree PHP will need for ids of `bitsPerCharacter` that are
 * missing (or are not directories: a symlink or a file counts as missing, PHP's open would
 * fail or be refused). Never follows a symlink; counts all, names the first `limit`, and says
 * of those that exist what they are instead (`notDirectories`): `mkdirs` refuses to replace
 * them, so they must be removed by hand.
 */
export function findMissingSessionDirs(
  sp: SavePath,
  bitsPerCharacter: SidBitsPerCharacter,
  limit = 20,
): Required<MissingStructure> {
  const alphabet = SID_ALPHABET.slice(0, 1 << bitsPerCharacter);
  const out: Required<MissingStructure> = { count: 0, samples: [], notDirectories: [] };
  const visit = (path: string, level: number): void => {
    if (level === sp.depth) return;
    for (const c of alphabet) {
      const sub = join(path, c);
      let st: Stats | undefined;
      try {
        st = lstatSync(sub);
      } catch {
        // ENOENT and friends: missing.
      }
      if (!st?.isDirectory()) {
        // Everything below a missing directory is missing too: count it without visiting.
        let below = 1;
        for (let l = level + 1; l < sp.depth; l++) below = below * alphabet.length + 1;
        out.count += below;
        if (out.samples.length < limit) {
          out.samples.push(sub);
          if (st) out.notDirectories.push({ path: sub, is: st.isSymbolicLink() ? 'symlink' : st.isFile() ? 'file' : 'other' });
        }
        continue;
      }
      visit(sub, level + 1);
    }
  };
  visit(sp.path, 0);
  return out;
}
