/**
 * The optional native helper (native/sessctl_at.c): Linux's openat, fstatat and unlinkat
 * relative to a pinned directory's descriptor. Without it a name below a pinned directory is
 * reached as `/proc/<pid>/fd/<N>/<name>`, which resolves the same entry of the same directory
 * but costs a procfs lookup each time (gc pays three per expired file). Only the transport
 * differs: the steps and checks are the same either way, and when the helper is not built,
 * not loadable, or turned off with `SESSCTL_NO_NATIVE=1`, everything goes through /proc.
 * Loads nothing heavy; never throws.
 */
import { fstatSync, lstatSync, openSync, unlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isMainThread, workerData } from 'node:worker_threads';

/**
 * The workerData key by which a worker thread that sessctl starts with `trackUnmanagedFds:
 * false` (gc's) says so. Other worker threads track raw descriptors — Node's default — and
 * warn at every close of one that fs did not open, as the helper's openat ones are not.
 */
export const UNTRACKED_FDS = 'sessctlUntrackedFds';

/**
 * What a stat tells of a file: the fields sessctl uses, as fs.Stats has them (so an fs.Stats is
 * one). The helper's lstatat and fstat give it without the Stats object and its Dates.
 */
export interface AtStat {
  dev: number;
  ino: number;
  mode: number;
  uid: number;
  size: number;
  mtimeMs: number;
  nlink: number;
}

export interface NativeAt {
  /** openat(2) with O_CLOEXEC added; `mode` defaults to 0o666. @throws a Node-style errno error (code, errno, syscall). */
  openat(dirfd: number, name: string, flags: number, mode?: number): number;
  /** fstatat(2) with AT_SYMLINK_NOFOLLOW; undefined when there is no such entry. @throws for other errors. */
  lstatat(dirfd: number, name: string): AtStat | undefined;
  /** unlinkat(2) of a file. @throws a Node-style errno error. */
  unlinkat(dirfd: number, name: string): void;
  /** fstat(2). @throws a Node-style errno error. */
  fstat(fd: number): AtStat;
  /**
   * openat2(2) of an absolute path with RESOLVE_NO_SYMLINKS (no component may be a symlink),
   * O_CLOEXEC added; null in a build that lacks it. @throws a Node-style errno error (ENOSYS
   * where the kernel or the build has no openat2).
   */
  openpath: ((path: string, flags: number, mode?: number) => number) | null;
}

/**
 * The addon as built: lstatat and fstat fill a Float64Array (dev, ino, mode, uid, size, mtimeMs,
 * nlink); lstatat says whether the entry exists.
 */
interface Addon {
  openat(dirfd: number, name: string, flags: number, mode?: number): number;
  lstatat(dirfd: number, name: string, out: Float64Array): boolean;
  unlinkat(dirfd: number, name: string): void;
  fstat(fd: number, out: Float64Array): void;
  /** Since the path-based open; an older build lacks it. */
  openpath?(path: string, flags: number, mode?: number): number;
}

/**
 * Where the build puts it, from this module: it sits four levels below the package root
 * (src/backends/shared/file-io, compiled to dist/backends/shared/file-io).
 */
const ADDON_PATH = '../../../../native/build/Release/sessctl_at.node';

/** The helper, or why it is not used. */
function load(): NativeAt | string {
  const off = process.env.SESSCTL_NO_NATIVE;
  if (off && off !== '0') return 'turned off by SESSCTL_NO_NATIVE';
  if (process.platform !== 'linux') return 'only used on Linux';
  if (!isMainThread && !(typeof workerData === 'object' && workerData !== null && (workerData as Record<string, unknown>)[UNTRACKED_FDS] === true)) {
    return 'not used in a worker thread that tracks descriptors (trackUnmanagedFds)';
  }
  let addon: Partial<Addon>;
  try {
    addon = createRequire(import.meta.url)(ADDON_PATH) as Partial<Addon>;
  } catch (err) {
    return `not loadable (${String((err as Error)?.message ?? err).split('\n')[0]})`;
  }
  const { openat, lstatat, unlinkat, fstat, openpath } = addon;
  if (typeof openat !== 'function' || typeof lstatat !== 'function' || typeof unlinkat !== 'function' || typeof fstat !== 'function') {
    return 'loaded, but lacks openat, lstatat, unlinkat or fstat (an older build: run npm run build)';
  }
  // One buffer per thread (each worker loads this module anew); the object is built here
  // because building it through Node-API cost more than the system call.
  const out = new Float64Array(7);
  const stat = (): AtStat => ({ dev: out[0], ino: out[1], mode: out[2], uid: out[3], size: out[4], mtimeMs: out[5], nlink: out[6] });
  return {
    openat,
    lstatat: (dirfd, name) => (lstatat(dirfd, name, out) ? stat() : undefined),
    unlinkat,
    fstat: (fd) => {
      fstat(fd, out);
      return stat();
    },
    openpath: typeof openpath === 'function' ? openpath : null,
  };
}

const loaded = load();

/** The helper, or null when names go through /proc. */
export const NATIVE_AT: NativeAt | null = typeof loaded === 'string' ? null : loaded;

/** Why the helper is not in use (for diagnostics and tests), or null when it is. */
export const NATIVE_AT_UNAVAILABLE: string | null = typeof loaded === 'string' ? loaded : null;

/*
 * The one choice between the two transports, for every caller: a name in a directory held
 * open (`dirfd`) is resolved through that descriptor when the helper is loaded, else by
 * `path` (through /proc, or a plain path where there is no procfs to pin with).
 */

/** Opens `name` in `dirfd`, or `path`. @throws a Node-style errno error. */
export function openAt(dirfd: number | null, name: string, path: string, flags: number, mode?: number): number {
  return dirfd !== null && NATIVE_AT !== null ? NATIVE_AT.openat(dirfd, name, flags, mode) : openSync(path, flags, mode);
}

/** lstat of `name` in `dirfd`, or of `path`; undefined when there is no such entry. */
export function lstatAt(dirfd: number | null, name: string, path: string): AtStat | undefined {
  return dirfd !== null && NATIVE_AT !== null ? NATIVE_AT.lstatat(dirfd, name) : lstatSync(path, { throwIfNoEntry: false });
}

/** fstat of a descriptor, through the helper when it is loaded. @throws a Node-style errno error. */
export function fstatFd(fd: number): AtStat {
  return NATIVE_AT !== null ? NATIVE_AT.fstat(fd) : fstatSync(fd);
}

/** Unlinks `name` in `dirfd`, or `path`. @throws a Node-style errno error. */
export function unlinkAt(dirfd: number | null, name: string, path: string): void {
  if (dirfd !== null && NATIVE_AT !== null) NATIVE_AT.unlinkat(dirfd, name);
  else unlinkSync(path);
}
