/**
 * The session contract: what every backend (files, Redis, memory, …) implements and what the
 * middleware, the express-session Store and the admin commands are written against.
 */
import type { PhpArray } from '../codec/values.js';
import type { GcReport } from './admin.js';
import type { ResolvedSessionSettings } from './settings.js';

/**
 * The backend-neutral session store: what the middleware, the express-session Store
 * and the CLI need. The file store implements it; the Redis store does too.
 * Every method that changes a session does so under the backend's PHP-compatible lock.
 */
export interface SessionBackend {
  /** The php.ini settings this store was made with, defaults filled in. */
  readonly settings: ResolvedSessionSettings;
  /** PHP's id rule for this backend (charset, length, longer than the dir depth for files). */
  isValidId(id: string): boolean;
  /** A fresh id, generated as PHP would, that no existing session uses. */
  createId(): Promise<string>;
  /** Whether a session exists (strict mode needs this). */
  exists(id: string): Promise<boolean>;
  /**
   * Opens a session under PHP's exclusive lock and reads it (an empty session when it
   * does not exist yet; for files the file is created, as PHP does).
   * @throws LockTimeoutError when the lock is not had within `lockTimeoutMs`.
   * @throws DecodeError (with the session location) when the stored bytes are corrupt.
   */
  open(id: string, options?: OpenOptions): Promise<SessionHandle>;
  /**
   * Strict mode's check and open() in one step: opens `id` (locked, as open() does) only when
   * a session is stored under it, else null — nothing is created. Optional: a backend that
   * can do it without an extra round trip (files: one open; Redis: the lock and GET) has it,
   * and callers ask exists() first otherwise (see openClientSession).
   */
  openExisting?(id: string, options?: OpenOptions): Promise<SessionHandle | null>;
  /**
   * openExisting() finished at once, when nothing has to be waited for (files with
   * synchronous I/O and a free lock): the handle, null when no session is stored under
   * `id`, or undefined when it would have to wait — then nothing was taken or changed, and
   * the caller uses openExisting(). Optional; lets the middleware serve a request whose
   * session is not contended without a promise, as PHP does it.
   * @throws like openExisting().
   */
  openExistingNow?(id: string, options?: OpenOptions): SessionHandle | null | undefined;
  /**
   * session_start(): opens `id` when it is usable — valid, and with strict mode an existing
   * session — else a fresh id (see chooseSessionId). `handle.isNew` tells which.
   */
  start(id?: string | null, options?: OpenOptions): Promise<SessionHandle>;
  /** Reads a session without holding PHP's exclusive lock (null when missing). */
  read(id: string): Promise<PhpArray | null>;
  /** Lock, read, apply `fn`, write, unlock. Returns what was written. */
  update(id: string, fn: SessionUpdater): Promise<PhpArray>;
  /** Deletes a session under its lock. Returns false when there was none. */
  destroy(id: string): Promise<boolean>;
  /** Extends a session's life (mtime for files, TTL for Redis). Returns false when missing. */
  touch(id: string): Promise<boolean>;
  /** Every session id, streamed. */
  ids(): AsyncIterable<string>;
  /**
   * PHP's session gc for this backend: deletes the sessions older than
   * `settings.gcMaxlifetime`, skipping those in use, by the same code as `sessctl gc`.
   * Absent where the storage expires sessions itself (Redis, Memcached). The middleware
   * calls it after a response with probability `gcProbability / gcDivisor`.
   * Per-session problems are counted in the report, not thrown.
   */
  collectGarbage?(options?: CollectGarbageOptions): Promise<GcReport>;
  /** Releases connections (no-op for files). */
  close?(): Promise<void>;
}

export interface OpenOptions {
  /** How long to wait for the lock before failing; default from the store. */
  lockTimeoutMs?: number;
  /** Only read, then release the lock at once (PHP's read_and_close). */
  readAndClose?: boolean;
}

export interface CollectGarbageOptions {
  /** Stops the collection early (the report then has the counts so far). */
  signal?: AbortSignal;
}

/** An open session: holds the lock from `open` until `close`, `save` + `close`, or `destroy`. */
export interface SessionHandle {
  readonly id: string;
  /** True when no stored session existed before `open`. */
  readonly isNew: boolean;
  /** The decoded session as read at open time (change it, then `save`). */
  data: PhpArray;
  /**
   * Encodes `data` (or the given session) with the store's serialize handler and writes
   * it in place; unchanged bytes with lazy write only touch the timestamp / TTL.
   * @throws EncodeError when the format cannot hold the data (nothing is written).
   */
  save(data?: PhpArray): Promise<void>;
  /**
   * save() and close() in one step, where the backend can do both in one operation (Redis:
   * one script). The middleware uses it at the end of a request when it is there.
   */
  saveAndClose?(data?: PhpArray): Promise<void>;
  /**
   * saveAndClose() finished at once where the backend can (files with synchronous I/O):
   * true when written and released; false when it cannot be done synchronously — then
   * nothing was done, and the caller uses saveAndClose(). Optional.
   * @throws like save(); the lock is released all the same.
   */
  saveAndCloseNow?(data?: PhpArray): boolean;
  /** Releases the lock without writing. Idempotent. */
  close(): Promise<void>;
  /** Deletes the session while holding the lock, then releases it. */
  destroy(): Promise<void>;
  /**
   * PHP's session_regenerate_id(deleteOld): moves the data to a fresh id (locked), the
   * old session is deleted or left as it is; this handle then refers to the new id.
   */
  regenerateId(deleteOld?: boolean): Promise<string>;
}

/** What `update()` applies: change `data` in place, or return the session to write instead. */
export type SessionUpdater = (data: PhpArray) => PhpArray | void | Promise<PhpArray | void>;

/**
 * The backend-neutral `update()`: open (PHP's lock), apply `fn`, save (lazily), and release
 * the lock on every path, errors in `fn` included. Returns what was written.
 * @throws whatever `open()`, `fn` or `save()` throws (nothing is written when `fn` throws).
 */
export async function updateSession(backend: Pick<SessionBackend, 'open'>, id: string, fn: SessionUpdater): Promise<PhpArray> {
  const handle = await backend.open(id);
  try {
    const next = (await fn(handle.data)) ?? handle.data;
    await handle.save(next);
    return next;
  } finally {
    await handle.close();
  }
}

/**
 * save() then close(), the lock released on every path: `saveAndClose` for backends that have
 * no single operation doing both.
 */
export async function saveThenClose(handle: Pick<SessionHandle, 'save' | 'close'>, data?: PhpArray): Promise<void> {
  try {
    await handle.save(data);
  } finally {
    await handle.close();
  }
}
