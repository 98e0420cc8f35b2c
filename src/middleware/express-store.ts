/**
 * An express-session Store over a SessionBackend, so an app already built on
 * express-session reads and writes the sessions PHP uses.
 *
 * Mapping: the session object's own enumerable keys ⇄ `$_SESSION` keys (values through the
 * plain mapping; a value whose plain form did not change keeps its exact PHP bytes, so a
 * PHP object read and written back stays a PHP object). `cookie` is NOT stored by default
 * (PHP has no such key); it is rebuilt on every read, from express-session's own `cookie`
 * option (or from the store's `cookie` option, when given). Set
 * `cookieKey` to keep it in `$_SESSION` under that key instead.
 *
 * One locked round trip per request: get() opens the session under the backend's lock and
 * the set/touch/destroy express-session makes at the end of that request writes through the
 * same handle (see store-hold.ts for when the lock is released without a write).
 *
 * express-session is not a dependency: pass its module in, as connect-redis does.
 */
import { ConfigError, InvalidSessionIdError } from '../errors.js';
import { DecodeError } from '../errors.js';
import { PhpEnum, PhpSerializable, type PhpArray, type PhpValue } from '../codec/values.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SessionBackend, SessionHandle } from '../session/contract.js';
import { openStored } from '../session/start.js';
import { RequestHolds, saveAndRelease } from './store-hold.js';
import { fromAppPlain, toAppPlain, type PlainValue } from './session.js';
import type { SessionIdOptions } from '../session/session-id.js';
import { generateSessionId } from '../session/new-session-id.js';
import type { GcReport } from '../session/admin.js';
import { collectInBackground, gcDrawn, resolveGcOptions } from './gc.js';

/** The express-session cookie fields this store rebuilds on read. */
export interface ExpressCookieDefaults {
  /** ms; null/undefined = browser-session cookie. */
  maxAge?: number | null;
  path?: string;
  domain?: string;
  httpOnly?: boolean;
  secure?: boolean;
  sameSite?: boolean | 'lax' | 'strict' | 'none';
}

export interface PhpSessionStoreOptions {
  backend: SessionBackend;
  /**
   * The cookie object express-session gets back on read (when not stored, the default).
   * Default: the cookie express-session's own `cookie` option makes for the request.
   */
  cookie?: ExpressCookieDefaults;
  /** Keep express-session's cookie in `$_SESSION[cookieKey]` (PHP will see it). Default: not stored. */
  cookieKey?: string;
  /** Length / bits of the ids `genid()` makes (match php.ini's sid_length / sid_bits_per_character). */
  sid?: SessionIdOptions;
  /** Called for an undecodable stored session (treated as missing; left in place). */
  onCorrupt?: (err: Error, sid: string) => void;
  /** Where warnings go (a failed collection too). Default console; null silences them. */
  logger?: { warn(message: string): void } | null;
  /**
   * session.gc_probability / session.gc_divisor: each `get()` (express-session's session
   * start for a returning visitor) draws, with this probability, a collection of the
   * backend's expired sessions, started in the background once `get()` has answered, at most
   * one per process at a time (see the middleware). Default: the backend's settings.
   */
  gcProbability?: number;
  gcDivisor?: number;
  /** Called with the report of every finished collection. */
  onGc?: (report: GcReport) => void;
  /**
   * Hold the backend's lock from `get()` to the end of the request, writing through it (one
   * locked round trip, no lost update). Default true; false = read without the lock, then a
   * separate locked merge at `set()` (two round trips, PHP's writes in between can be
   * overwritten).
   */
  holdLock?: boolean;
  /** The longest a request may hold the lock; then it is released without writing, with a warning. Default 30000; 0 = no limit. */
  maxLockHoldMs?: number;
  /** How long `get()` waits for the lock (PHP or another request holding it). Default: the backend's. */
  lockTimeoutMs?: number;
}

/** An express-session session as this store hands it out / receives it. */
export type ExpressSessionData = { cookie: Record<string, unknown> } & Record<string, unknown>;

type Callback<T> = ((err: unknown, value?: T) => void) | undefined;

/** What the store adds to express-session's Store. Every method also returns a promise. */
export interface PhpSessionStoreMethods {
  readonly backend: SessionBackend;
  /** A PHP-valid id; use as express-session's `genid` (its default ids contain `_`, which PHP refuses). */
  genid(): string;
  /**
   * Middleware to mount before express-session when the server is not Express (Connect,
   * node:http): it lets the store see the response, which it needs to hold the lock for the
   * request. Express gives `req.res` and needs none.
   */
  responseHook(): (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;
  /** How many session locks this store holds now. */
  readonly heldLocks: number;
  get(sid: string, callback?: Callback<ExpressSessionData | null>): Promise<ExpressSessionData | null>;
  set(sid: string, session: object, callback?: (err?: unknown) => void): Promise<void>;
  destroy(sid: string, callback?: (err?: unknown) => void): Promise<void>;
  touch(sid: string, session: object, callback?: (err?: unknown) => void): Promise<void>;
  all(callback?: Callback<Record<string, ExpressSessionData>>): Promise<Record<string, ExpressSessionData>>;
  length(callback?: Callback<number>): Promise<number>;
  /** Deletes EVERY session of the backend — PHP's too. */
  clear(callback?: (err?: unknown) => void): Promise<void>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyStoreConstructor = abstract new (...args: any[]) => object;

export type PhpSessionStoreClass<S extends AnyStoreConstructor> = new (options: PhpSessionStoreOptions) => InstanceType<S> & PhpSessionStoreMethods;

function settle<T>(p: Promise<T>, cb?: (err: unknown, value?: T) => void): Promise<T> {
  if (cb) p.then((v) => cb(null, v), (err: unknown) => cb(err));
  return p;
}

/**
 * Makes the Store class: `const PhpSessionStore = createPhpSessionStore(session)` with
 * `import session from 'express-session'`, then
 * `session({ store: new PhpSessionStore({ backend }), genid: () => store.genid(), … })`.
 * @throws TypeError when `session.Store` is not a constructor.
 */
export function createPhpSessionStore<S extends AnyStoreConstructor>(session: { Store: S }): PhpSessionStoreClass<S> {
  if (typeof session?.Store !== 'function') throw new TypeError('createPhpSessionStore(session): pass the express-session module (its Store class is needed)');
  const Base = session.Store as unknown as new () => object;

  class PhpSessionStore extends Base implements PhpSessionStoreMethods {
    readonly backend: SessionBackend;
    readonly #options: PhpSessionStoreOptions;
    readonly #gc: { gcProbability: number; gcDivisor: number };
    readonly #holds: RequestHolds;
    /** Cookies #toExpress rebuilt (not stored): createSession fills them from express-session's own options. */
    readonly #rebuilt = new WeakSet<object>();
    /** On a request: the id of the stored session createSession gave it (express-session loaded it). */
    readonly #loaded = Symbol('sessctl.storeLoaded');

    /** @throws TypeError without a backend; ConfigError for a gc setting out of range or a bad maxLockHoldMs. */
    constructor(options: PhpSessionStoreOptions) {
      super();
      if (typeof options?.backend?.open !== 'function') throw new TypeError('PhpSessionStore: options.backend (a SessionBackend) is required');
      this.backend = options.backend;
      this.#options = options;
      this.#gc = resolveGcOptions(options, options.backend, 'PhpSessionStore');
      const maxHoldMs = options.maxLockHoldMs ?? 30_000;
      if (!Number.isFinite(maxHoldMs) || maxHoldMs < 0) throw new ConfigError(`PhpSessionStore: maxLockHoldMs must be a number ≥ 0, got ${String(maxHoldMs)}`);
      this.#holds = new RequestHolds({ maxHoldMs, warn: (m) => this.#warn(m) });
    }

    genid(): string {
      return generateSessionId(this.#options.sid);
    }

    responseHook() {
      return (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => {
        RequestHolds.bindResponse(req, res);
        next();
      };
    }

    get heldLocks(): number {
      return this.#holds.size;
    }

    get(sid: string, callback?: Callback<ExpressSessionData | null>) {
      // Only express-session's own get (a callback, then createSession with the request) can
      // be held; a bare promise caller gets the unlocked read.
      const hold = callback !== undefined && this.#options.holdLock !== false;
      const opened = hold ? this.#open(sid) : this.#get(sid).then((sess) => (sess ? { sess, handle: null } : null));
      if (gcDrawn(this.#gc.gcProbability, this.#gc.gcDivisor)) {
        // After the read has answered: the request goes on while the collection runs.
        const start = () => void setImmediate(() => collectInBackground(this.backend, { gc: this.#options.onGc, problem: (err) => this.#warn(`collecting expired sessions failed: ${err.message}`) }));
        opened.then(start, start);
      }
      if (callback) {
        opened.then(
          (got) => {
            if (!got?.handle) return callback(null, got?.sess ?? null);
            // express-session calls createSession(req, sess) inside this callback: that claims it.
            this.#holds.offer(sid, got.handle, got.sess, () => callback(null, got.sess));
          },
          (err: unknown) => callback(err),
        );
      }
      const answer = opened.then((got) => got?.sess ?? null);
      answer.catch(() => {}); // reported through the callback; a caller awaiting it sees it too
      return answer;
    }

    /** Opens `sid` under the backend's lock; null (nothing left locked or created) when there is no session. */
    async #open(sid: string): Promise<{ sess: ExpressSessionData; handle: SessionHandle } | null> {
      if (typeof sid !== 'string' || !this.backend.isValidId(sid)) return null;
      let handle: SessionHandle;
      try {
        handle = await this.backend.open(sid, this.#options.lockTimeoutMs !== undefined ? { lockTimeoutMs: this.#options.lockTimeoutMs } : {});
      } catch (err) {
        if (!(err instanceof DecodeError)) throw err;
        this.#corrupt(err, sid);
        return null;
      }
      if (handle.isNew) {
        // Nothing was stored: remove what open() made (the files backend creates the file, as
        // PHP does) so an unknown id leaves no trace and is not found next time.
        await handle.destroy().catch(() => handle.close());
        return null;
      }
      try {
        return { sess: this.#toExpress(handle.data), handle };
      } catch (err) {
        await handle.close();
        throw err;
      }
    }

    /** express-session's Store.createSession, plus: the request that asked get() for `sess` now holds its lock. */
    createSession(req: object, sess: object): object {
      this.#configuredCookie(req, sess);
      const loadedId = (req as { sessionID?: unknown }).sessionID;
      if (typeof loadedId === 'string') (req as Record<symbol, unknown>)[this.#loaded] = loadedId;
      const base = (Base.prototype as { createSession?: (req: object, sess: object) => object }).createSession;
      const session = base ? base.call(this, req, sess) : sess;
      this.#holds.claim(sess, req);
      const hold = this.#holds.heldBy(req);
      if (hold && session && typeof session === 'object') this.#reloadFromHold(session, req);
      return session;
    }

    /**
     * Without the store's `cookie` option, a rebuilt cookie is the one express-session itself
     * makes for this request (its `cookie` option: maxAge, secure, sameSite, domain… — a
     * function or 'auto' resolved for `req`), through the `generate` it installs on its store,
     * run on a stand-in for `req` so that the request keeps its id and session. Otherwise the
     * cookie express-session sends again (`rolling`, a session with expires) would lose them.
     */
    #configuredCookie(req: object, sess: object): void {
      const cookie = (sess as { cookie?: unknown }).cookie;
      if (this.#options.cookie !== undefined || !cookie || typeof cookie !== 'object' || !this.#rebuilt.has(cookie)) return;
      const generate = (this as { generate?: unknown }).generate;
      if (typeof generate !== 'function') return; // no express-session middleware (store.load() alone)
      let made: unknown;
      try {
        const probe = Object.create(req) as { session?: { cookie?: { data?: unknown } } };
        (generate as (req: object) => void).call(this, probe);
        made = probe.session?.cookie?.data;
      } catch {
        return; // a stand-in it cannot work with (store.load()'s bare request): the defaults stay
      }
      if (!made || typeof made !== 'object') return;
      const data = { ...(made as Record<string, unknown>) };
      if (data.expires instanceof Date) data.expires = data.expires.toISOString();
      (sess as { cookie: unknown }).cookie = data;
    }

    /**
     * req.session.reload() reads the session again through get(): for the session this very
     * request holds, that would wait for its own lock. The stored session is what the held
     * handle read (nobody could write since), so reload rebuilds from it.
     */
    #reloadFromHold(session: object, req: object): void {
      const proto = Object.getPrototypeOf(session) as { reload?: (fn: (err?: unknown) => void) => unknown } | null;
      const reload = proto?.reload;
      if (typeof reload !== 'function') return;
      // eslint-disable-next-line @typescript-eslint/no-this-alias
      const store = this;
      Object.defineProperty(session, 'reload', {
        configurable: true,
        enumerable: false,
        writable: true,
        value: function (this: { id?: unknown }, fn: (err?: unknown) => void) {
          const hold = store.#holds.heldBy(req);
          if (!hold || hold.sid !== this.id) return reload.call(this, fn);
          try {
            store.createSession(req, store.#toExpress(hold.handle.data));
          } catch (err) {
            process.nextTick(fn, err);
            return this;
          }
          process.nextTick(fn);
          return this;
        },
      });
    }

    #warn(message: string): void {
      if (this.#options.logger !== null) (this.#options.logger ?? console).warn(`sessctl PhpSessionStore: ${message}`);
    }

    async #get(sid: string): Promise<ExpressSessionData | null> {
      if (typeof sid !== 'string' || !this.backend.isValidId(sid)) return null;
      let data: PhpArray | null;
      try {
        data = await this.backend.read(sid);
      } catch (err) {
        if (!(err instanceof DecodeError)) throw err;
        this.#corrupt(err, sid);
        return null;
      }
      return data ? this.#toExpress(data) : null;
    }

    #corrupt(err: DecodeError, sid: string): void {
      this.#options.onCorrupt?.(err, sid);
      this.#warn(`session ${sid} is corrupt, treated as missing and left in place: ${err.message}`);
    }

    #toExpress(data: PhpArray): ExpressSessionData {
      const out: Record<string, unknown> = {};
      const cookieKey = this.#options.cookieKey;
      let stored: unknown;
      for (const [k, v] of data) {
        const key = String(k);
        let plain: PlainValue;
        try {
          plain = toAppPlain(v);
        } catch {
          continue; // no plain form (reference cycle): invisible to express-session, kept by set()
        }
        if (key === cookieKey) stored = plain;
        else if (key !== 'cookie') Object.defineProperty(out, key, { value: plain, enumerable: true, writable: true, configurable: true });
      }
      if (stored && typeof stored === 'object' && !Array.isArray(stored)) out.cookie = { ...(stored as object) };
      else this.#rebuilt.add((out.cookie = this.#defaultCookie()));
      return out as ExpressSessionData;
    }

    #defaultCookie(): Record<string, unknown> {
      const c = this.#options.cookie ?? {};
      const maxAge = c.maxAge ?? null;
      return {
        originalMaxAge: maxAge,
        expires: maxAge === null ? null : new Date(Date.now() + maxAge).toISOString(),
        path: c.path ?? '/',
        httpOnly: c.httpOnly ?? true,
        ...(c.domain ? { domain: c.domain } : {}),
        ...(c.secure !== undefined ? { secure: c.secure } : {}),
        ...(c.sameSite !== undefined ? { sameSite: c.sameSite } : {}),
      };
    }

    set(sid: string, session: object, callback?: (err?: unknown) => void) {
      // Taken synchronously: express-session calls this inside its res.end.
      const hold = this.#holds.take(sid, ownerOf(session) ?? {});
      const done = hold
        ? this.#holds.writeThrough(hold, (handle) => {
            mergeInto(handle.data, session, this.#options.cookieKey);
            return saveAndRelease(handle);
          })
        : this.#set(sid, session);
      return settle(done, callback);
    }

    async #set(sid: string, sess: object): Promise<void> {
      this.#assertId(sid);
      const owner = ownerOf(sess);
      if (owner && (owner as Record<symbol, unknown>)[this.#loaded] === sid) return this.#setLoaded(sid, sess);
      // Merged under the backend's lock into what is stored NOW (PHP may have written since
      // express-session read it without the lock).
      await this.backend.update(sid, (data) => mergeInto(data, sess, this.#options.cookieKey));
    }

    /**
     * The two-step write of a session this request read from the store: merged under the lock
     * into what is stored now — and not written at all when it is gone (PHP's session_destroy(),
     * a logout, or gc, since it was read): a destroy wins, as it does in PHP, instead of the
     * request bringing the logged-out session back.
     */
    async #setLoaded(sid: string, sess: object): Promise<void> {
      const options = this.#options.lockTimeoutMs !== undefined ? { lockTimeoutMs: this.#options.lockTimeoutMs } : {};
      const handle = await openStored(this.backend, sid, options);
      if (!handle) return;
      try {
        mergeInto(handle.data, sess, this.#options.cookieKey);
      } catch (err) {
        await handle.close();
        throw err;
      }
      await saveAndRelease(handle);
    }

    touch(sid: string, session: object, callback?: (err?: unknown) => void) {
      const hold = this.#holds.take(sid, ownerOf(session) ?? {});
      const done = hold
        ? this.#holds.writeThrough(hold, saveAndRelease) // unchanged data: lazy write refreshes the timestamp / TTL only
        : (async () => {
            this.#assertId(sid);
            await this.backend.touch(sid);
          })();
      return settle(done, callback);
    }

    destroy(sid: string, callback?: (err?: unknown) => void) {
      const hold = typeof sid === 'string' ? this.#holds.take(sid, 'any') : undefined;
      const done = hold
        ? this.#holds.writeThrough(hold, (handle) => handle.destroy())
        : (async () => {
            if (typeof sid !== 'string' || !this.backend.isValidId(sid)) return; // nothing can be stored under it
            await this.backend.destroy(sid);
          })();
      return settle(done, callback);
    }

    all(callback?: Callback<Record<string, ExpressSessionData>>) {
      return settle(
        (async () => {
          const out: Record<string, ExpressSessionData> = Object.create(null) as Record<string, ExpressSessionData>;
          for await (const id of this.backend.ids()) {
            const s = await this.#get(id);
            if (s) out[id] = s;
          }
          return out;
        })(),
        callback,
      );
    }

    length(callback?: Callback<number>) {
      return settle(
        (async () => {
          let n = 0;
          for await (const _ of this.backend.ids()) n++;
          return n;
        })(),
        callback,
      );
    }

    clear(callback?: (err?: unknown) => void) {
      return settle(
        (async () => {
          const ids: string[] = [];
          for await (const id of this.backend.ids()) ids.push(id);
          for (const id of ids) await this.backend.destroy(id);
        })(),
        callback,
      );
    }

    #assertId(sid: string): void {
      if (typeof sid !== 'string' || !this.backend.isValidId(sid)) {
        throw new InvalidSessionIdError(String(sid), 'not a valid PHP session id for this backend (use the store\'s genid)');
      }
    }
  }
  return PhpSessionStore as unknown as PhpSessionStoreClass<S>;
}

/** The request of an express-session Session (its hidden `req` property), if it is one. */
function ownerOf(session: object): object | undefined {
  const req = (session as { req?: unknown } | null)?.req;
  return req !== null && typeof req === 'object' ? req : undefined;
}

/**
 * express-session's session merged key by key into `data`: changed keys set, keys it deleted
 * deleted; a value whose plain form did not change keeps PHP's exact value; keys it cannot
 * see (hidden by its Session API, or without a plain form) are kept.
 */
function mergeInto(data: PhpArray, sess: object, cookieKey: string | undefined): void {
  const own = new Set(Object.keys(sess));
  const src = sess as Record<string, unknown>;
  for (const key of own) {
    const value = src[key];
    if (key === 'cookie') {
      if (cookieKey !== undefined && value !== undefined) data.set(cookieKey, fromAppPlain(value));
      continue;
    }
    if (value === undefined || typeof value === 'function') continue;
    const next = fromAppPlain(value);
    const prev = data.get(key);
    if (prev !== undefined && unchanged(prev, next)) continue; // keep PHP's exact value
    data.set(key, next);
  }
  for (const k of [...data.keys()]) {
    const key = String(k);
    if (key === cookieKey) continue;
    if (own.has(key) && src[key] !== undefined && typeof src[key] !== 'function') continue;
    if (!own.has(key) && key in sess) continue; // hidden by express-session's Session API (id, save…)
    if (!own.has(key) && !hasPlainForm(data.get(k)!)) continue; // express-session never saw it
    data.delete(k);
  }
}

function unchanged(prev: PhpValue, next: PhpValue): boolean {
  try {
    return samePlain(toAppPlain(prev), toAppPlain(next));
  } catch {
    return false;
  }
}

function hasPlainForm(v: PhpValue): boolean {
  try {
    toAppPlain(v);
    return true;
  } catch {
    return false;
  }
}

/** Deep equality of two plain values (as toAppPlain() produces them). */
function samePlain(a: PlainValue, b: PlainValue): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) {
    return typeof a === 'number' && typeof b === 'number' && Number.isNaN(a) && Number.isNaN(b);
  }
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    return a instanceof Uint8Array && b instanceof Uint8Array && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
  }
  if (a instanceof PhpEnum || b instanceof PhpEnum) {
    return a instanceof PhpEnum && b instanceof PhpEnum && a.className === b.className && a.caseName === b.caseName;
  }
  if (a instanceof PhpSerializable || b instanceof PhpSerializable) {
    return a instanceof PhpSerializable && b instanceof PhpSerializable && a.className === b.className && samePlain(a.data, b.data);
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (let i = 0; i < ka.length; i++) {
    if (ka[i] !== kb[i]) return false; // PHP arrays are ordered: order is part of the value
    const k = ka[i]!;
    if (!samePlain((a as Record<string, PlainValue>)[k]!, (b as Record<string, PlainValue>)[k]!)) return false;
  }
  return true;
}
