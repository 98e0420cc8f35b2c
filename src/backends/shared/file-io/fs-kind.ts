/**
 * Which I/O mode suits a directory's file system. Synchronous calls are the fast path for a
 * local disk (a session file is a few KB; PHP does the same), but on a network or FUSE file
 * system one call can take as long as the network does — seconds when a server hangs — and a
 * synchronous call would stop the whole event loop for that long. Those go through the
 * thread pool instead.
 */
import { statfsSync } from 'node:fs';
import type { IoMode } from './io.js';

/**
 * statfs(2) `f_type` values (linux/magic.h and the file systems' own headers) of file systems
 * whose calls may wait on a network or on a user-space process.
 */
const REMOTE_FS_TYPES: ReadonlyMap<number, string> = new Map([
  [0x6969, 'nfs'],
  [0x517b, 'smb'],
  [0xff534d42, 'cifs'],
  [0xfe534d42, 'smb2'],
  [0x564c, 'ncp'],
  [0x73757245, 'coda'],
  [0x5346414f, 'afs'],
  [0x6b414653, 'kafs'],
  [0x00c36400, 'ceph'],
  [0x01021997, '9p'],
  [0x65735546, 'fuse'], // sshfs, s3fs, glusterfs, virtiofs, …
  [0x0bd00bd0, 'lustre'],
  [0x20030528, 'orangefs'],
  [0x01161970, 'gfs2'],
  [0x7461636f, 'ocfs2'],
]);

/** The name of a remote or FUSE file system type, or undefined for a local one. */
export function remoteFsName(fsType: number): string | undefined {
  return REMOTE_FS_TYPES.get(fsType);
}

/** The mode `'auto'` picks for a file system type: `'async'` for a remote one, else `'sync'`. */
export function ioModeForFsType(fsType: number): IoMode {
  return remoteFsName(fsType) === undefined ? 'sync' : 'async';
}

/**
 * `'auto'` resolved for `dir`: its file system's type, read once with statfs. A directory
 * that cannot be read now (missing, no permission) is taken as local: that is the common case,
 * and its first open reports the real problem.
 */
export function detectIoMode(dir: string): IoMode {
  try {
    return ioModeForFsType(Number(statfsSync(dir).type));
  } catch {
    return 'sync';
  }
}
