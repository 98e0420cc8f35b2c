/**
 * Acting as the owner of the save path. `sessctl gc` runs from cron as root over a tree that
 * belongs to PHP's user (www-data); as root it would create files PHP cannot read later, and
 * every path trick a tenant plays would be played against root. So before touching a files
 * tree the CLI becomes that tree's owner — user and group, for good (real, effective and
 * saved ids) — as systemd's `User=www-data` would, unless told to stay root.
 */
import { readFileSync, type Stats } from 'node:fs';
import { parseSavePath, statSaveDir } from '../backends/index.js';
import { SessctlError } from '../errors.js';
import type { AdminSettings } from './settings.js';

/** Who the command ran as, for `--json` output. */
export interface ActedAs {
  uid: number;
  gid: number;
  /** The user name from /etc/passwd, when there is one. */
  user: string | null;
  /** True when this process switched from root to the owner. */
  switched: boolean;
  /** Why it runs as this user. */
  reason: string;
}

function userName(uid: number): string | null {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const f = line.split(':');
      if (f.length > 2 && Number(f[2]) === uid) return f[0]!;
    }
  } catch {
    /* no passwd file: no name */
  }
  return null;
}

function current(reason: string): ActedAs {
  const uid = process.geteuid?.() ?? -1;
  const gid = process.getegid?.() ?? -1;
  return { uid, gid, user: uid >= 0 ? userName(uid) : null, switched: false, reason };
}

/**
 * The save path directory's fstat, reached as every file access reaches it (statSaveDir: only
 * root's and our own symlinks followed), so the owner is the real directory's; undefined when
 * it does not exist or is no directory (check() then says so).
 * @throws SavePathError (ESYMLINK, ELOOP) for a symlink we may not follow: never decide whom
 *   to act as from a link a tenant planted.
 */
function saveDirStat(path: string): Stats | undefined {
  try {
    return statSaveDir(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}

/**
 * Becomes the owner of a files save path when running as root (a no-op otherwise, for other
 * save handlers, and for a save path root owns — Debian's `root:root 1733` directory).
 * @throws SavePathError (ESYMLINK, ELOOP) when the save path leads through a symlink we may not follow.
 * @throws SessctlError (ESETUID) when switching fails: never go on as root by accident.
 */
export function actAsOwner(settings: Pick<AdminSettings, 'saveHandler' | 'savePath'>, options: { stayRoot?: boolean } = {}): ActedAs {
  if (process.geteuid?.() !== 0) return current('not running as root');
  if (settings.saveHandler !== 'files') return current(`save handler ${settings.saveHandler}: no files to own`);
  if (options.stayRoot) return current('asked to stay root (--as-root)');
  const path = parseSavePath(settings.savePath).path;
  const st = saveDirStat(path);
  if (!st) return current('the save path does not exist');
  if (st.uid === 0) return current('the save path belongs to root');
  try {
    process.setgroups?.([st.gid]);
    process.setgid?.(st.gid);
    process.setuid?.(st.uid);
  } catch (err) {
    throw new SessctlError(`cannot switch to the save path's owner (uid ${st.uid}, gid ${st.gid}): ${(err as Error).message}; use --as-root to run as root deliberately`, 'ESETUID', { cause: err });
  }
  return { uid: st.uid, gid: st.gid, user: userName(st.uid), switched: true, reason: `the owner of ${path}` };
}
