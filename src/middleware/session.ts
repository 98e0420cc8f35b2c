/**
 * The session a request sees (`req.phpSession`): PHP's `$_SESSION` plus the session_*
 * functions that matter to a Node handler, bound to one open, locked backend session.
 */
import type { ServerResponse } from 'node:http';
import { SessctlError } from '../errors.js';
import { fromPlain, toPlain, type PlainOptions } from '../codec/plain.js';
import type { PhpArray, PhpEnum, PhpKey, PhpSerializable } from '../codec/values.js';
import type { SessionHandle } from '../session/contract.js';
import { expiredSessionCookie, sessionCookie, setCookieHeader } from './cookies.js';
import type { ResolvedOptions } from './options.js';

/** What get() / toJSON() give: the codec's toPlain with {@link APP_PLAIN_OPTIONS}. */
export type PlainValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PhpEnum
  | PhpSerializable
  | PlainValue[]
  | { [key: string]: PlainValue };

/**
 * The codec's plain mapping as a Node handler (and express-session) wants it: ordinary
 * objects, no class key (a PHP object reads as its properties), enums and Serializable
 * kept as their instances (set() writes them back as they were), and a reference cycle
 * refused (EncodeError) instead of handed to code that would JSON.stringify it.
 */
export const APP_PLAIN_OPTIONS: Readonly<PlainOptions> = Object.freeze({ classKey: null, prototype: 'object', phpInstances: 'keep', cycles: 'throw' });

/** A PHP value as plain JS for handlers. @throws EncodeError for a reference cycle. */
export function toAppPlain(value: Parameters<typeof toPlain>[0]): PlainValue {
  return toPlain(value, APP_PLAIN_OPTIONS) as PlainValue;
}

/** Plain JS from a handler as a PHP value, with JSON's rules. @throws EncodeError (cycle, symbol, function, depth > 4096). */
export function fromAppPlain(value: unknown): ReturnType<typeof fromPlain> {
  return fromPlain(value, { json: true });
}

/** PHP's session_status(), in words: 'active' holds the lock; 'closed' was saved/aborted; 'destroyed'. */
export type PhpSessionStatus = 'active' | 'closed' | 'destroyed';

/** The queue of a session with nothing running: one resolved promise for all of them. */
const IDLE: Promise<unknown> = Promise.resolve();

export class PhpSession {
  readonly #handle: SessionHandle;
  /**
   * The response while the session is active (the cookie may still change); null once it is
   * not. req.phpSession keeps the session reachable until the socket's next request, and a
   * response held that long was promoted by V8 with everything it references: measured ~3.5 KB
   * more promoted per request, scavenges ~60 % slower.
   */
  #res: ServerResponse | null;
  readonly #options: ResolvedOptions;
  #status: PhpSessionStatus;
  /** Session operations run one after another (a save racing a regenerate would be a bug). */
  #queue: Promise<unknown> = IDLE;

  /** session.name: the cookie name. */
  readonly name: string;
  /** True when this request started a new session (no usable id came from the client). */
  readonly isNew: boolean;
  /** True in read-and-close mode: the lock is already released and nothing will be written. */
  readonly readOnly: boolean;

  /** @internal Made by the middleware; see phpSession() / attachPhpSession(). */
  constructor(handle: SessionHandle, res: ServerResponse, options: ResolvedOptions, isNew: boolean) {
    this.#handle = handle;
    this.#res = options.readAndClose ? null : res;
    this.#options = options;
    this.name = options.name;
    this.isNew = isNew;
    this.readOnly = options.readAndClose;
    this.#status = options.readAndClose ? 'closed' : 'active';
  }

  /** session_id(): the current id (changes after regenerate()). */
  get id(): string {
    return this.#handle.id;
  }

  get status(): PhpSessionStatus {
    return this.#status;
  }

  /**
   * `$_SESSION` itself, lossless (PHP objects, floats, references kept exactly). Changes
   * made here are written at the end of the request like set()'s — while the session is active.
   */
  get data(): PhpArray {
    return this.#handle.data;
  }

  set data(value: PhpArray) {
    this.#assertActive('replace $_SESSION');
    this.#handle.data = value;
  }

  /**
   * `$_SESSION[key]` as plain JS (see the docs for the mapping), or undefined. The session is
   * written by PHP, so its shape is not known to the compiler: like `JSON.parse`, this returns
   * `any` unless you name the type you expect (`get<number>('visits')`); nothing is checked at
   * run time either way.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  get<T = any>(key: PhpKey): T | undefined {
    const v = this.#handle.data.get(key);
    return v === undefined ? undefined : (toAppPlain(v) as T);
  }

  /**
   * `$_SESSION[key] = value`, from plain JS (JSON's rules; PHP value instances pass through).
   * `undefined` removes the key.
   * @throws SessctlError (ESESSIONINACTIVE) after save()/abort()/destroy() or in read-and-close mode.
   * @throws EncodeError for a value with no PHP form (cycle, symbol, function).
   */
  set(key: PhpKey, value: unknown): this {
    if (this.#status !== 'active') this.#refuse(`set ${JSON.stringify(String(key))}`);
    if (value === undefined) this.#handle.data.delete(key);
    else this.#handle.data.set(key, fromAppPlain(value));
    return this;
  }

  has(key: PhpKey): boolean {
    return this.#handle.data.has(key);
  }

  /** `unset($_SESSION[key])`. @throws SessctlError (ESESSIONINACTIVE) when not active. */
  delete(key: PhpKey): boolean {
    if (this.#status !== 'active') this.#refuse(`delete ${JSON.stringify(String(key))}`);
    return this.#handle.data.delete(key);
  }

  /** session_unset(): empties `$_SESSION`. @throws SessctlError (ESESSIONINACTIVE) when not active. */
  clear(): void {
    this.#assertActive('clear');
    this.#handle.data.clear();
  }

  /** The whole session as a plain object. */
  toJSON(): Record<string, PlainValue> {
    const out: Record<string, PlainValue> = {};
    for (const [k, v] of this.#handle.data) {
      Object.defineProperty(out, String(k), { value: toAppPlain(v), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }

  /**
   * session_write_close(): writes now and releases the lock (long handlers should, so that
   * PHP and other requests are not kept waiting). Later changes are refused. Idempotent.
   * @throws EncodeError / BackendError when the write fails (the lock is released anyway).
   */
  save(): Promise<void> {
    return this.release(true);
  }

  /** session_abort(): releases the lock without writing. Idempotent. */
  abort(): Promise<void> {
    return this.release(false);
  }

  /**
   * session_regenerate_id($deleteOld): moves the session to a fresh id and sends the new
   * cookie. PHP's default keeps the old session file (deleteOld = false); pass true at login.
   * @throws SessctlError (EHEADERSSENT) when the response headers are already out (the cookie could not be sent).
   * @throws SessctlError (ESESSIONINACTIVE) when the session is not active.
   */
  regenerate(deleteOld = false): Promise<string> {
    return this.#run(async () => {
      this.#assertActive('regenerate the id');
      const res = this.#res;
      if (res === null || res.headersSent) {
        throw new SessctlError('session id cannot be regenerated after the response headers were sent', 'EHEADERSSENT');
      }
      const id = await this.#handle.regenerateId(deleteOld);
      setCookieHeader(res, this.name, sessionCookie(this.name, id, this.#options.cookie));
      return id;
    });
  }

  /**
   * session_destroy(): deletes the stored session and releases the lock. Unlike PHP it
   * also expires the cookie (option expireCookieOnDestroy, default true) when headers are
   * not sent yet. `data` keeps its contents for the rest of the request, read-only.
   * @throws SessctlError (ESESSIONINACTIVE) when the session is not active.
   */
  destroy(): Promise<void> {
    return this.#run(async () => {
      this.#assertActive('destroy');
      const res = this.#res;
      this.#status = 'destroyed';
      this.#res = null;
      await this.#handle.destroy();
      if (this.#options.expireCookieOnDestroy && res !== null && !res.headersSent) {
        setCookieHeader(res, this.name, expiredSessionCookie(this.name, this.#options.cookie));
      }
    });
  }

  /**
   * @internal Ends the session for the middleware: writes (when `write`) and releases the
   * lock. Safe to call on every path and more than once; the lock is released even when
   * the write fails (the failure is rethrown).
   */
  release(write: boolean): Promise<void> {
    return this.#run(async () => {
      if (this.#status !== 'active') {
        await this.#handle.close(); // read-and-close handles: idempotent
        return;
      }
      this.#status = 'closed';
      this.#res = null;
      if (write && this.#handle.saveAndClose) {
        await this.#handle.saveAndClose(this.#handle.data); // releases on every path
        return;
      }
      try {
        if (write) await this.#handle.save(this.#handle.data);
      } finally {
        await this.#handle.close();
      }
    });
  }

  /**
   * @internal release(true) finished at once, where the backend can (SessionHandle.
   * saveAndCloseNow) and no session operation is queued: true when written and released;
   * false when nothing was done (use release()).
   * @throws like release(); the lock is released all the same.
   */
  releaseNow(): boolean {
    const handle = this.#handle;
    if (this.#status !== 'active' || this.#queue !== IDLE || !handle.saveAndCloseNow) return false;
    const res = this.#res;
    this.#status = 'closed';
    this.#res = null;
    // A throw leaves it closed: the handle released the lock before reporting the failure.
    const done = handle.saveAndCloseNow(handle.data);
    if (!done) {
      this.#status = 'active';
      this.#res = res;
    }
    return done;
  }

  #run<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.#queue.then(fn);
    this.#queue = p.catch(() => undefined);
    return p;
  }

  #assertActive(what: string): void {
    if (this.#status !== 'active') this.#refuse(what);
  }

  // set() and delete() check the status inline and build their message only when refusing:
  // they run on every request, and the message quotes the key.
  #refuse(what: string): never {
    const why = this.readOnly ? 'it was opened read-and-close' : `it is ${this.#status}`;
    throw new SessctlError(`cannot ${what} on session ${this.id}: ${why}`, 'ESESSIONINACTIVE');
  }
}
