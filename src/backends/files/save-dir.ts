/**
 * The files save path's directory as the chase reaches it (only root's and our own symlinks on
 * its way followed; see openSaveDir), for the admin side: whom the CLI acts as is decided from
 * this directory's fstat, never from a stat by path that a tenant's symlink could redirect.
 */
export { statSaveDir } from '../shared/file-io/pinned-dir.js';
