import { closeSync, constants as C, fstatSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { newGcReport, type GcOptions, type GcOutcome, type GcReport } from '../../session/admin.js';
import { errnoCode, lstatAt, openFile, stillNames, unlinkIfSame, UNTRACKED_FDS, type AtStat, type FileLocation } from '../shared/file-io/index.js';
import { assertLockingAvailable, tryLockFd } from './lock.js';
import { parseSavePath, type SavePath } from './save-path.js';
import { walkSessionTree } from './walk.js';

export type { GcOptions, GcOutcome, GcReport };

type Counts = Pick<GcReport, 'scanned' | 'expired' | 'deleted' | 'skippedLocked' | 'skippedTouched' | 'vanished' | 'bytesFreed' | 'errors'>;
const COUNT_KEYS: (keyof Counts)[] = ['scanned', 'expired', 'deleted', 'skippedLocked', 'skippedTouched', 'vanished', 'bytesFreed', 'errors'];

const MAX_ERROR_SAMPLES = 100;
const PROGRESS_EVERY = 4096;
const READ_ONLY = { write: false } as const;

/** Everything one walker needs; plain data so that it can be posted to a worker. */
export interface GcShardTask {
  sp: SavePath;
  maxlifetime: number;
  now: number;
  dryRun: boolean;
  shard: { index: number; count: number };
  wantFiles: boolean;
}

export interface GcShardEvents {
  progress(counts: Counts): void;
  file(path: string, outcome: GcOutcome, detail?: string): void;
  error(path: string, message: string): void;
  aborted(): boolean;
}

/**
 * The gc loop over one share of the tree, synchronous on purpose: per file it is a handful
 * of syscalls, and sync calls are several times cheaper than the thread-pool round trip.
 */
export function gcShard(task: GcShardTask, events: GcShardEvents): Counts {
  const counts: Counts = { scanned: 0, expired: 0, deleted: 0, skippedLocked: 0, skippedTouched: 0, vanished: 0, bytesFreed: 0, errors: 0 };
  const { now, maxlifetime, dryRun } = task;
  const isExpired = (mtimeMs: number) => now - Math.floor(mtimeMs / 1000) > maxlifetime;
  const fail = (path: string, err: unknown) => {
    counts.errors++;
    const message = (err as Error)?.message ?? String(err);
    events.error(path, message);
    if (task.wantFiles) events.file(path, 'error', message);
  };
  const note = (path: string, outcome: GcOutcome) => {
    if (task.wantFiles) events.file(path, outcome);
  };

  for (const found of walkSessionTree(task.sp.path, { depth: task.sp.depth, shard: task.shard, onError: fail })) {
    const { path, dir } = found;
    counts.scanned++;
    if (counts.scanned % PROGRESS_EVERY === 0) {
      events.progress(counts);
      if (events.aborted()) break;
    }
    let st: AtStat | undefined;
    try {
      // A filter only. With the native helper, fstatat on the pinned directory: the cheapest
      // way, and it sees exactly the files that will be opened. Without it, the plain path (~2 µs
      // cheaper than through /proc, and every file pays it): safe even if a directory on the
      // way was swapped for a symlink since the walk pinned it, as this lstat opens, changes
      // and decides nothing by itself. A file that looks expired is then opened through the
      // pinned directory (O_NOFOLLOW|O_NONBLOCK), locked, and checked again on the descriptor —
      // regular, still expired — and the pinned name must still be that inode before it is
      // unlinked through the pinned directory. So a redirected lstat can at worst make us skip
      // a file (collected next run) or try one in the tree that then fails those checks;
      // nothing outside the tree is ever touched.
      st = lstatAt(dir.fd, found.name, path);
    } catch (err) {
      fail(path, err);
      continue;
    }
    if (!st) {
      counts.vanished++;
      continue;
    }
    if ((st.mode & C.S_IFMT) !== C.S_IFREG || !isExpired(st.mtimeMs)) continue;
    counts.expired++;

    const loc: FileLocation = { root: dir.path, dirs: [], name: found.name, path };
    let fd: number;
    try {
      const opened = openFile(dir, loc, READ_ONLY);
      if (!opened) {
        counts.vanished++;
        note(path, 'vanished');
        continue;
      }
      fd = opened.fd;
    } catch (err) {
      // ESYMLINK: a symlink now, not ours to touch.
      if ((err as { code?: string }).code !== 'ESYMLINK') fail(path, err);
      continue;
    }
    try {
      if (!tryLockFd(fd, true)) {
        counts.skippedLocked++;
        note(path, 'locked');
        continue;
      }
      const locked = fstatSync(fd);
      if (!locked.isFile()) continue;
      if (!isExpired(locked.mtimeMs)) {
        counts.skippedTouched++;
        note(path, 'touched');
        continue;
      }
      // The name must still point at the inode we hold locked, not at a file made anew since.
      if (dryRun ? !stillNames(dir, loc, locked) : !unlinkIfSame(dir, loc, locked)) {
        counts.vanished++;
        note(path, 'vanished');
        continue;
      }
      counts.deleted++;
      counts.bytesFreed += locked.size;
      note(path, dryRun ? 'would-delete' : 'deleted');
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') {
        counts.vanished++;
        note(path, 'vanished');
      } else fail(path, err);
    } finally {
      closeSync(fd);
    }
  }
  events.progress(counts);
  return counts;
}

export interface GcFilesOptions extends GcOptions {
  /** Run in a worker thread even with one job (gc at session start in a server). */
  background?: boolean;
}

function defaultJobs(): number {
  return Math.min(2, Math.max(1, availableParallelism()));
}

/**
 * PHP's session gc for the files handler, at any depth (PHP itself only collects depth 0):
 * deletes `sess_*` files with `now - mtime > maxlifetime` (whole seconds, strictly greater).
 * Safer than PHP and `find -delete`: each candidate is opened with O_NOFOLLOW and locked
 * with LOCK_EX|LOCK_NB — a file a live request holds is skipped and counted; under our
 * lock its mtime is checked again with fstat (a request that touched it since the scan
 * keeps it) and the path must still name the locked inode before it is unlinked.
 * Symlinks are never followed; memory is bounded (streaming walk, counters only).
 * With `background` even a single walker runs in a worker thread: the caller's event loop
 * (a web server's) only handles its progress messages. So does one with a `signal`, which only
 * the event loop can abort (a synchronous walk would not see Ctrl-C until it was done).
 * @throws ConfigError for a bad save_path; SessctlError (ENOLOCK) without the flock addon.
 *   Per-file problems are counted in the report, never thrown.
 */
export async function gcFiles(savePath: string | SavePath, options: GcFilesOptions): Promise<GcReport> {
  const sp = typeof savePath === 'string' ? parseSavePath(savePath) : savePath;
  assertLockingAvailable();
  const started = Date.now();
  const report: GcReport = newGcReport(sp.path, options);
  const jobs = Math.max(1, Math.floor(options.jobs ?? defaultJobs()));
  const base = {
    sp,
    maxlifetime: options.maxlifetime,
    now: options.now ?? Math.floor(started / 1000),
    dryRun: report.dryRun,
    wantFiles: options.onFile !== undefined,
  };
  const shardCounts: Counts[] = [];
  const publish = () => {
    for (const k of COUNT_KEYS) report[k] = shardCounts.reduce((sum, c) => sum + (c?.[k] ?? 0), 0);
    report.durationMs = Date.now() - started;
    options.onProgress?.(report);
  };
  const onError = (path: string, message: string) => {
    if (report.errorSamples.length < MAX_ERROR_SAMPLES) report.errorSamples.push({ path, message });
  };

  // One job runs on this thread, synchronously — unless a signal may stop it: an abort (the
  // CLI's Ctrl-C) comes from the event loop, which a synchronous loop never lets run, so a run
  // that can be stopped goes to a worker thread even with one job.
  if (jobs === 1 && !options.background && !options.signal) {
    shardCounts[0] = gcShard(
      { ...base, shard: { index: 0, count: 1 } },
      {
        progress: (c) => {
          shardCounts[0] = c;
          publish();
        },
        file: (p, o, d) => options.onFile?.(p, o, d),
        error: onError,
        aborted: () => options.signal?.aborted ?? false,
      },
    );
  } else {
    const abortFlag = new Int32Array(new SharedArrayBuffer(4));
    const onAbort = () => Atomics.store(abortFlag, 0, 1);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await Promise.all(
        Array.from({ length: jobs }, (_, index) =>
          runWorker({ ...base, shard: { index, count: jobs } }, abortFlag, {
            progress: (c) => {
              shardCounts[index] = c;
              publish();
            },
            file: (p, o, d) => options.onFile?.(p, o, d),
            error: onError,
          }),
        ),
      );
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
  }
  publish();
  return report;
}

type WorkerMessage =
  | { type: 'progress'; counts: Counts }
  | { type: 'files'; items: [string, GcOutcome, string | undefined][] }
  | { type: 'error'; path: string; message: string }
  | { type: 'done'; counts: Counts }
  | { type: 'crash'; message: string };

/**
 * Threads kept between runs: starting one costs tens of milliseconds of CPU, and a server
 * collecting at session start (PHP's 1-in-100 draw) would otherwise start several a second.
 * An idle thread is unref'd, so it never keeps the process alive.
 */
const idleWorkers: Worker[] = [];
const MAX_IDLE_WORKERS = 2;

/**
 * Without fd tracking, so that the thread may use the native helper (see native-at.ts): a
 * tracking thread warns at each close of a descriptor fs did not open. gcShard closes what it
 * opens in `finally` blocks; only a thread killed mid-file could leave a few behind.
 */
const WORKER_OPTIONS = { trackUnmanagedFds: false, workerData: { [UNTRACKED_FDS]: true } };

function takeWorker(): Worker {
  const w = idleWorkers.pop() ?? new Worker(new URL('./gc-worker.js', import.meta.url), WORKER_OPTIONS);
  w.ref();
  return w;
}

function giveBack(w: Worker): void {
  w.removeAllListeners('message').removeAllListeners('error').removeAllListeners('exit');
  if (idleWorkers.length >= MAX_IDLE_WORKERS) {
    void w.terminate();
    return;
  }
  w.unref();
  // A thread that dies while idle is simply forgotten.
  w.once('exit', () => {
    const i = idleWorkers.indexOf(w);
    if (i >= 0) idleWorkers.splice(i, 1);
  });
  idleWorkers.push(w);
}

function runWorker(
  task: GcShardTask,
  abortFlag: Int32Array,
  on: { progress(c: Counts): void; file(p: string, o: GcOutcome, d?: string): void; error(p: string, m: string): void },
): Promise<void> {
  return new Promise((resolve, reject) => {
    const worker = takeWorker();
    worker.removeAllListeners('exit');
    const fail = (err: unknown) => {
      worker.removeAllListeners('message').removeAllListeners('error').removeAllListeners('exit');
      void worker.terminate();
      reject(err);
    };
    worker.on('message', (m: WorkerMessage) => {
      if (m.type === 'progress') on.progress(m.counts);
      else if (m.type === 'files') for (const [p, o, d] of m.items) on.file(p, o, d);
      else if (m.type === 'error') on.error(m.path, m.message);
      else if (m.type === 'done') {
        on.progress(m.counts);
        giveBack(worker);
        resolve();
      } else if (m.type === 'crash') fail(new Error(m.message));
    });
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`gc worker exited with code ${code}`)));
    worker.postMessage({ task, abortFlag });
  });
}
