/**
 * The file protocol is written once, as generators that yield the system calls they need
 * (file.ts, locked.ts); this module runs them either synchronously on the calling thread — the
 * default: a session file is a few KB and a sync call is several times cheaper than a libuv
 * thread-pool round trip, which is also what PHP does — or asynchronously through the
 * thread pool, for slow or network file systems where one call may block for long. The same
 * steps, checks and error handling serve both, so the two forms cannot drift.
 *
 * A name in a pinned directory comes with both its path (through /proc) and the directory's
 * descriptor: the sync runner resolves it with the native helper's *at() call when that is
 * built, the async one always by path (the helper's calls would block the event loop).
 */
import * as fs from 'node:fs';
import type { Stats } from 'node:fs';
import { fstatFd, lstatAt, openAt, unlinkAt } from './native-at.js';

/**
 * An entry to open, look at or unlink: its path, and for the *at() calls the descriptor of its
 * pinned directory (null when it has none) and its name there.
 */
export interface EntryRef {
  path: string;
  dirfd: number | null;
  name: string;
}

export type Syscall =
  | ({ op: 'open'; flags: number; mode?: number } & EntryRef)
  | { op: 'fstat'; fd: number }
  | ({ op: 'lstat' } & EntryRef)
  | { op: 'read'; fd: number; buf: Buffer; off: number; len: number; pos: number }
  | { op: 'write'; fd: number; buf: Uint8Array; off: number; len: number; pos: number }
  | { op: 'ftruncate'; fd: number; len: number }
  | { op: 'futimes'; fd: number; atime: Date; mtime: Date }
  | { op: 'close'; fd: number }
  | ({ op: 'unlink' } & EntryRef);

/** A piece of the protocol: yields system calls, receives their results (or their errors, thrown in). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Steps<T> = Generator<Syscall, T, any>;

/** How a store runs file I/O: `sync` (default) or `async` (libuv's thread pool). */
export type IoMode = 'sync' | 'async';

function callSync(s: Syscall): unknown {
  switch (s.op) {
    case 'open':
      return openAt(s.dirfd, s.name, s.path, s.flags, s.mode);
    case 'fstat':
      return fstatFd(s.fd);
    case 'lstat':
      return lstatAt(s.dirfd, s.name, s.path);
    case 'read':
      return fs.readSync(s.fd, s.buf, s.off, s.len, s.pos);
    case 'write':
      return fs.writeSync(s.fd, s.buf, s.off, s.len, s.pos);
    case 'ftruncate':
      return fs.ftruncateSync(s.fd, s.len);
    case 'futimes':
      return fs.futimesSync(s.fd, s.atime, s.mtime);
    case 'close':
      return fs.closeSync(s.fd);
    case 'unlink':
      return unlinkAt(s.dirfd, s.name, s.path);
  }
}

function callAsync(s: Syscall): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const done = (err: NodeJS.ErrnoException | null, value?: unknown) => (err ? reject(err) : resolve(value));
    switch (s.op) {
      case 'open':
        return fs.open(s.path, s.flags, s.mode, done);
      case 'fstat':
        return fs.fstat(s.fd, done);
      case 'lstat':
        return fs.lstat(s.path, (err, st?: Stats) => (err?.code === 'ENOENT' ? resolve(undefined) : done(err, st)));
      case 'read':
        return fs.read(s.fd, s.buf, s.off, s.len, s.pos, done);
      case 'write':
        return fs.write(s.fd, s.buf, s.off, s.len, s.pos, done);
      case 'ftruncate':
        return fs.ftruncate(s.fd, s.len, done);
      case 'futimes':
        return fs.futimes(s.fd, s.atime, s.mtime, done);
      case 'close':
        return fs.close(s.fd, done);
      case 'unlink':
        return fs.unlink(s.path, done);
    }
  });
}

/** Runs the steps on this thread. */
export function runSync<T>(steps: Steps<T>): T {
  let next = steps.next();
  while (!next.done) {
    let value: unknown;
    try {
      value = callSync(next.value);
    } catch (err) {
      next = steps.throw(err);
      continue;
    }
    next = steps.next(value);
  }
  return next.value;
}

/** Runs the steps through libuv's thread pool. */
export async function runAsync<T>(steps: Steps<T>): Promise<T> {
  let next = steps.next();
  while (!next.done) {
    let value: unknown;
    try {
      value = await callAsync(next.value);
    } catch (err) {
      next = steps.throw(err);
      continue;
    }
    next = steps.next(value);
  }
  return next.value;
}

function runSyncAsPromise<T>(steps: Steps<T>): Promise<T> {
  try {
    return Promise.resolve(runSync(steps));
  } catch (err) {
    return Promise.reject(err);
  }
}

/** The runner for a mode, always returning a promise (the sync one resolves at once). */
export function runner(mode: IoMode = 'sync'): <T>(steps: Steps<T>) => Promise<T> {
  // One function per mode, not a closure per call: a file is opened on every request.
  return mode === 'async' ? runAsync : runSyncAsPromise;
}
