/**
 * Whose symlinks sessctl follows on the way to a save path or to a configuration file: root's
 * (root configured them: Debian may link /var/lib/php, and links conf.d files to
 * mods-available) and the process's own. Anyone else's could point anywhere root can read, and
 * sessctl may be root. One rule for the save path's chase (file-io/pinned-dir.ts) and the
 * configuration reader (admin/config-file.ts).
 */

/** Symlinks followed in one resolution, at most (the kernel's own MAXSYMLINKS). */
export const MAX_SYMLINKS = 40;

/** Whether a symlink owned by `uid` is followed. */
export function followsSymlinkOf(uid: number): boolean {
  return uid === 0 || uid === process.geteuid?.();
}
