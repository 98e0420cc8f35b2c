/**
 * PHP's session lock is flock(2) on the session file. Node has no flock, so it comes from a
 * native addon: fs-ext-extra-prebuilt (prebuilt binaries, loads even when npm skipped
 * install scripts), else fs-ext. Without either we refuse to run: an unlocked writer loses
 * updates made by PHP at the same time, silently.
 *
 * Waiting never blocks a libuv thread-pool thread: a blocking flock() parked in the pool
 * would take one of its 4 threads per waiting session and stall every unrelated `fs` call.
 * Instead we try LOCK_NB and retry on timers with a capped, jittered backoff.
 */
import { createRequire } from 'node:module';
import { LockTimeoutError, SessctlError, SessionFileError } from '../errors.js';

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
  /** What is being locked, for the error message (the file path). */
  target: string;
  /** Stops waiting early; rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Backoff: 1 ms doubling up to 10 ms (≤ ~100 cheap LOCK_NB calls/s per waiter), ±25 % jitter so that waiters do not poll in step. */
const FIRST_DELAY_MS = 1;
const MAX_DELAY_MS = 10;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Takes flock(LOCK_EX or LOCK_SH) on `fd`, polling with LOCK_NB on timers: PHP blocks on a
 * lock we hold, we wait on a lock PHP holds, and no thread-pool thread is parked meanwhile.
 * @throws LockTimeoutError when not had within `timeoutMs`.
 * @throws SessctlError (ENOLOCK) when no flock addon is available.
 * @throws SessionFileError when flock itself fails (bad fd…).
 */
export async function lockFd(fd: number, options: LockOptions): Promise<void> {
  const { exclusive, timeoutMs, target, signal } = options;
  const deadline = Date.now() + timeoutMs;
  let delay = FIRST_DELAY_MS;
  for (;;) {
    signal?.throwIfAborted();
    let had: boolean;
    try {
      had = tryLockFd(fd, exclusive);
    } catch (err) {
      if (err instanceof SessctlError) throw err;
      throw new SessionFileError(target, `flock failed: ${(err as Error).message}`, 'ELOCK', { cause: err });
    }
    if (had) return;
    const left = deadline - Date.now();
    if (left <= 0) throw new LockTimeoutError(target, timeoutMs);
    const jittered = delay * (0.75 + Math.random() * 0.5);
    await sleep(Math.max(1, Math.min(jittered, left)));
    delay = Math.min(delay * 2, MAX_DELAY_MS);
  }
}
