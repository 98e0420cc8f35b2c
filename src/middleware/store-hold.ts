/**
 * The express-session Store's lock, held for the length of a request as PHP holds a session
 * from session_start() to the end of the script: `get()` opens the session under the
 * backend's lock, and the `set()`, `touch()` or `destroy()` express-session makes when the
 * response ends writes through that handle and releases it — one locked round trip.
 *
 * express-session's Store API never names the request, so the request is learnt from what
 * express-session does with get()'s answer: it passes that very object to
 * `store.createSession(req, sess)` in the same tick, and `set`/`touch` get `req.session`,
 * whose hidden `req` property names the request again. The response comes from `req.res`
 * (Express) or from the store's `responseHook()` middleware; without one there is nothing to
 * release the lock with, and the session is not held (the two-step path).
 *
 * A hold ends, without writing, when express-session asks the store for nothing at the end
 * of the response (unmodified session without `touch`, `req.session = null`, …), when the
 * response closes before it ended (client gone), or after `maxHoldMs`.
 */
import type { ServerResponse } from 'node:http';
import { HoldLimit } from './hold-limit.js';
import { saveThenClose, type SessionHandle } from '../session/contract.js';

type HoldState = 'pending' | 'held' | 'busy' | 'released';

export interface Hold {
  readonly sid: string;
  readonly handle: SessionHandle;
  state: HoldState;
  /** get()'s answer, until a request claims it. */
  answer: object | null;
  /** The request holding it (once claimed). */
  owner: object | null;
  /** When it was claimed (performance.now()), for maxHoldMs. */
  heldSince: number;
}

interface RequestState {
  hold: Hold | null;
}

export interface HoldOptions {
  /** 0 = no limit. */
  maxHoldMs: number;
  warn(message: string): void;
}

/** Writes the handle's data (lazily: unchanged bytes only refresh the timestamp) and releases it. */
export function saveAndRelease(handle: SessionHandle): Promise<void> {
  return handle.saveAndClose ? handle.saveAndClose() : saveThenClose(handle);
}

// Per-request state lives on the request object under these keys (a property is cheaper than
// a WeakMap lookup on every request, and goes away with the request all the same).
const RESPONSE = Symbol('sessctl.response');

export class RequestHolds {
  readonly #options: HoldOptions;
  readonly #state = Symbol('sessctl.storeHold');
  /** The hold this store has on each session (at most one: a second open waits for the lock). */
  readonly #bySid = new Map<string, Hold>();
  /** The hold whose answer get() is handing to its callback right now. */
  #offered: Hold | null = null;
  /** One timer per store enforces maxHoldMs. */
  readonly #limit: HoldLimit<Hold>;

  constructor(options: HoldOptions) {
    this.#options = options;
    this.#limit = new HoldLimit(options.maxHoldMs, (hold) => {
      if (hold.state !== 'held') return;
      this.#options.warn(`session ${hold.sid}: the request held its lock longer than ${options.maxHoldMs} ms (maxLockHoldMs); released without writing`);
      void this.release(hold);
    });
  }

  /** How many locks are held now (for tests and metrics). */
  get size(): number {
    return this.#bySid.size;
  }

  /** responseHook(): the response of `req`, for servers without `req.res`. */
  static bindResponse(req: object, res: ServerResponse): void {
    (req as Record<symbol, unknown>)[RESPONSE] = res;
  }

  /**
   * Hands `answer` (read through `handle`) to `callback`, in which express-session calls
   * createSession(req, answer) and so claims the lock for that request; a hold nobody
   * claimed is released as soon as the callback returns.
   */
  offer(sid: string, handle: SessionHandle, answer: object, callback: () => void): void {
    const hold: Hold = { sid, handle, state: 'pending', answer, owner: null, heldSince: 0 };
    this.#bySid.set(sid, hold);
    const outer = this.#offered;
    this.#offered = hold;
    try {
      callback();
    } finally {
      this.#offered = outer;
      if (hold.state === 'pending') void this.release(hold);
    }
  }

  /**
   * createSession(req, answer): the request that asked for `answer` now holds its lock, if its
   * response can be watched. Otherwise the hold stays pending and offer() releases it.
   */
  claim(answer: object, req: object): void {
    const hold = this.#offered;
    if (!hold || hold.answer !== answer || hold.state !== 'pending') return;
    const r = req as Record<symbol, unknown> & { res?: ServerResponse };
    const res = (r[RESPONSE] as ServerResponse | undefined) ?? r.res;
    if (!res || typeof res.end !== 'function' || typeof res.once !== 'function' || res.writableEnded || res.destroyed) return;
    let state = r[this.#state] as RequestState | undefined;
    if (!state) {
      state = this.#watch(res);
      r[this.#state] = state;
    }
    if (state.hold?.state === 'held') void this.release(state.hold); // one held session per request: a later one replaces it
    hold.answer = null;
    hold.state = 'held';
    hold.owner = req;
    state.hold = hold;
    this.#limit.add(hold);
  }

  /** The hold `req` has now, if any. */
  heldBy(req: object): Hold | null {
    const hold = ((req as Record<symbol, unknown>)[this.#state] as RequestState | undefined)?.hold ?? null;
    return hold?.state === 'held' ? hold : null;
  }

  /**
   * Takes the hold on `sid` for a write: the request's own (set/touch name it), or whoever's
   * (`'any'`: destroy names no request — and deleting under a lock this process holds is
   * what any caller of destroy asks for). Marked busy at once, synchronously, so that the
   * end-of-response check sees it taken.
   */
  take(sid: string, owner: object | 'any'): Hold | undefined {
    const hold = this.#bySid.get(sid);
    if (!hold || hold.state !== 'held') return undefined;
    if (owner !== 'any' && hold.owner !== owner) return undefined;
    hold.state = 'busy';
    return hold;
  }

  /** Runs the write on the taken hold; the lock is released on every path. */
  async writeThrough(hold: Hold, write: (handle: SessionHandle) => Promise<void>): Promise<void> {
    try {
      await write(hold.handle);
    } finally {
      this.#forget(hold);
      await hold.handle.close().catch(() => {}); // idempotent; after a failed write, the lock must not stay
    }
  }

  /** Releases without writing. */
  async release(hold: Hold): Promise<void> {
    if (hold.state === 'released') return;
    this.#forget(hold);
    try {
      await hold.handle.close();
    } catch (err) {
      this.#options.warn(`session ${hold.sid}: releasing its lock failed: ${(err as Error).message}`);
    }
  }

  #forget(hold: Hold): void {
    hold.state = 'released';
    this.#limit.delete(hold);
    if (this.#bySid.get(hold.sid) === hold) this.#bySid.delete(hold.sid);
    const state = hold.owner ? ((hold.owner as Record<symbol, unknown>)[this.#state] as RequestState | undefined) : undefined;
    if (state?.hold === hold) state.hold = null;
  }

  /**
   * Watches one response. express-session calls set/touch/destroy synchronously inside its
   * res.end (it then waits for them before the real end), so once its end has returned a
   * hold still `held` was asked nothing of: released, nothing to write.
   */
  #watch(res: ServerResponse): RequestState {
    const state: RequestState = { hold: null };
    const end = res.end;
    const release = (why: string | null) => {
      const hold = state.hold;
      if (hold?.state !== 'held') return;
      if (why) this.#options.warn(`session ${hold.sid}: ${why}; lock released without writing`);
      void this.release(hold);
    };
    res.end = function (this: ServerResponse, ...args: unknown[]) {
      const out = (end as (...a: unknown[]) => ServerResponse).apply(this, args);
      release(null);
      return out;
    } as typeof res.end;
    res.once('close', () => release('the response closed before it ended (client gone?)'));
    return state;
  }
}
