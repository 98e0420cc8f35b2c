/**
 * Shared by the backends that keep sessions in files (files, laravel-files); a building block,
 * not a backend.
 *
 * PHP's session lock is flock(2) on the session file. Node has no flock, so it comes from a
 * native addon: fs-ext-extra-prebuilt (prebuilt binaries, loads even when npm skipped
 * install scripts), else fs-ext. Without either we refuse to run: an unlocked writer loses
 * updates made by PHP at the same time, silently.
 *
 * Waiting never blocks a libuv thread-pool thread: a blocking flock() parked in the pool
 * would take one of its 4 threads per waiting session and stall every unrelated `fs` call.
 * Instead we try LOCK_NB on timers. Within one process, the requests for one session wait
 * in a FIFO queue: only the head of the queue polls (with a capped, jittered backoff), and
 * when a holder in this process lets go, the head tries at once. So a thousand waiters on
 * one session cost one poller, and the lock goes to them in the order they asked.
 */
import { createRequire } from 'node:module';
import { LockTimeoutError, SessctlError, SessionFileError } from '../../errors.js';

interface FlockAddon {
  flockSync(fd: number, flags: number): number;
  constants: { LOCK_SH: number; LOCK_EX: number; LOCK_NB: number; LOCK_UN: number };
}

/** Modules tried in order; the first that loads and has flockSync wins. */
const CANDIDATES = ['fs-ext-extra-prebuilt', 'fs-ext'] as const;

let addon: FlockAddon | null | undefined;
let addonName: string | undefined;
const loadErrors: string[] = [];

function loadAddon(): FlockAddon | null {
  if (addon !== undefined) return addon;
  const require = createRequire(import.meta.url);
  addon = null;
  for (const name of CANDIDATES) {
    try {
      const mod = require(name) as Partial<FlockAddon>;
      if (typeof mod.flockSync === 'function' && mod.constants && typeof mod.constants.LOCK_EX === 'number') {
        addon = mod as FlockAddon;
        addonName = name;
        break;
      }
      loadErrors.push(`${name}: loaded but has no flockSync`);
    } catch (err) {
      loadErrors.push(`${name}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  return addon;
}

/**
 * @throws SessctlError (code ENOLOCK) when no flock addon could be loaded: sessctl never
 *   falls back to unlocked access.
 */
export function assertLockingAvailable(): void {
  if (!loadAddon()) {
    throw new SessctlError(
      `the flock addon could not be loaded, so sessions cannot be locked the way PHP locks them (refusing to run unlocked). ` +
        `Install fs-ext-extra-prebuilt (or fs-ext). Tried: ${loadErrors.join('; ')}`,
      'ENOLOCK',
    );
  }
}

/** Which addon provides flock (for diagnostics), or undefined when none loads. */
export function lockingAddonName(): string | undefined {
  loadAddon();
  return addonName;
}

function requireAddon(): FlockAddon {
  assertLockingAvailable();
  return addon!;
}

function isWouldBlock(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'EAGAIN' || code === 'EWOULDBLOCK' || code === 'EINTR';
}

/**
 * One non-blocking flock attempt. Returns false when another open file description
 * (PHP, another Node handle) holds a conflicting lock.
 * @throws SessctlError (ENOLOCK) without the addon; other flock failures as they are (EBADF…).
 */
export function tryLockFd(fd: number, exclusive: boolean): boolean {
  const a = requireAddon();
  const op = (exclusive ? a.constants.LOCK_EX : a.constants.LOCK_SH) | a.constants.LOCK_NB;
  try {
    a.flockSync(fd, op);
    return true;
  } catch (err) {
    if (isWouldBlock(err)) return false;
    throw err;
  }
}

/** Releases the flock on `fd` (closing the fd releases it too). */
export function unlockFd(fd: number): void {
  const a = requireAddon();
  a.flockSync(fd, a.constants.LOCK_UN);
}

export interface LockOptions {
  exclusive: boolean;
  /** Give up after this long (0 = one attempt; Infinity = wait for ever). */
  timeoutMs: number;
  /** What is being locked: the queue key within this process, and the name in errors (the file path). */
  target: string;
  /** Stops waiting early; rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Backoff of the polling head: 1 ms doubling to 50 ms, ±25 % jitter so processes do not poll in step. */
const FIRST_DELAY_MS = 1;
const MAX_DELAY_MS = 50;

interface Waiter {
  fd: number;
  exclusive: boolean;
  target: string;
  resolve(): void;
  reject(err: unknown): void;
  timer: NodeJS.Timeout | undefined;
  delay: number;
  done: boolean;
}

/** Waiters per target (file path), in arrival order; the first one polls. */
const queues = new Map<string, Waiter[]>();

function attempt(w: Waiter): boolean {
  try {
    return tryLockFd(w.fd, w.exclusive);
  } catch (err) {
    if (err instanceof SessctlError) throw err;
    throw new SessionFileError(w.target, `flock failed: ${(err as Error).message}`, 'ELOCK', { cause: err });
  }
}

/**
 * Takes `w` out of its queue. When it was the head, the next waiter becomes the poller: at
 * once when `w` gave up, after the longest backoff when `w` got the lock (we hold it now,
 * and lockReleased() wakes the next one as soon as we let go).
 */
function leave(w: Waiter, gotLock = false): void {
  w.done = true;
  if (w.timer) clearTimeout(w.timer);
  const q = queues.get(w.target);
  if (!q) return;
  const i = q.indexOf(w);
  if (i >= 0) q.splice(i, 1);
  if (q.length === 0) queues.delete(w.target);
  else if (i === 0) schedule(q[0]!, gotLock ? MAX_DELAY_MS : 0);
}

function schedule(w: Waiter, ms: number): void {
  if (w.timer) clearTimeout(w.timer);
  w.timer = setTimeout(() => poll(w), ms);
}

function poll(w: Waiter): void {
  w.timer = undefined;
  if (w.done) return;
  let had: boolean;
  try {
    had = attempt(w);
  } catch (err) {
    leave(w);
    w.reject(err);
    return;
  }
  if (had) {
    leave(w, true);
    w.resolve();
    return;
  }
  schedule(w, w.delay * (0.75 + Math.random() * 0.5));
  w.delay = Math.min(w.delay * 2, MAX_DELAY_MS);
}

/**
 * Takes flock(LOCK_EX or LOCK_SH) on `fd`: PHP blocks on a lock we hold, we wait on a lock
 * PHP holds, and no thread-pool thread is parked meanwhile. Call {@link lockReleased} with
 * the same target after closing or unlocking, so the next waiter in this process goes at once.
 * @throws LockTimeoutError when not had within `timeoutMs`.
 * @throws SessctlError (ENOLOCK) when no flock addon is available.
 * @throws SessionFileError when flock itself fails (bad fd…).
 */
export function lockFd(fd: number, options: LockOptions): Promise<void> {
  const { exclusive, timeoutMs, target, signal } = options;
  signal?.throwIfAborted();
  const q = queues.get(target);
  // Nobody of ours is waiting: one attempt straight away (the uncontended case costs one flock).
  if (!q) {
    let had: boolean;
    try {
      had = attempt({ fd, exclusive, target } as Waiter);
    } catch (err) {
      return Promise.reject(err);
    }
    if (had) return Promise.resolve();
    if (timeoutMs <= 0) return Promise.reject(new LockTimeoutError(target, timeoutMs));
  }
  return new Promise<void>((resolve, reject) => {
    const w: Waiter = { fd, exclusive, target, resolve, reject, timer: undefined, delay: FIRST_DELAY_MS, done: false };
    const queue = q ?? [];
    if (!q) queues.set(target, queue);
    queue.push(w);
    if (queue[0] === w) schedule(w, FIRST_DELAY_MS);
    const giveUp = (err: unknown) => {
      if (w.done) return;
      leave(w);
      reject(err);
    };
    if (Number.isFinite(timeoutMs)) {
      const t = setTimeout(() => giveUp(new LockTimeoutError(target, timeoutMs)), Math.max(0, timeoutMs));
      const clear = () => clearTimeout(t);
      w.resolve = () => (clear(), resolve());
      w.reject = (err) => (clear(), reject(err));
    }
    signal?.addEventListener('abort', () => giveUp(signal.reason), { once: true });
  });
}

/**
 * One LOCK_NB attempt, unless a request of this process already waits for `target` (it goes
 * first: the lock is handed over in arrival order). True when had.
 * @throws like lockFd (ENOLOCK, ELOCK).
 */
export function tryLockNow(fd: number, exclusive: boolean, target: string): boolean {
  return !queues.has(target) && attempt({ fd, exclusive, target } as Waiter);
}

/** A holder in this process let go of `target`: the first waiter tries at once. */
export function lockReleased(target: string): void {
  const q = queues.get(target);
  if (q && q.length > 0) schedule(q[0]!, 0);
}
