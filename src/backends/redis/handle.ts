/**
 * An open Redis session: holds phpredis's lock (when locking is on) from `open` until `close`,
 * `destroy` or the end of `regenerateId`'s move, and writes the way phpredis does
 * (SETEX gc_maxlifetime; EXPIRE only when lazy write finds the bytes unchanged).
 */
import { BackendError } from '../../errors.js';
import type { PhpArray } from '../../codec/values.js';
import { saveThenClose, type SessionHandle } from '../../session/contract.js';
import type { CommandTarget } from '../shared/redis/connection.js';
import { acquireLock, releaseLock, writeAndRelease, writeIfLocked } from '../shared/redis/lock.js';
import type { RedisSessionStore } from './store.js';

/** Where a session lives and the lock we hold on it (secret null = locking off or released). */
export interface SessionLocation {
  id: string;
  target: CommandTarget;
  key: Buffer;
  lockKey: Buffer;
}

export class RedisSessionHandle implements SessionHandle {
  #loc: SessionLocation;
  #secret: string | null;
  #bytes: Buffer;
  #closed = false;
  data: PhpArray;

  /** @internal created by RedisSessionStore.open */
  constructor(
    private readonly store: RedisSessionStore,
    loc: SessionLocation,
    secret: string | null,
    bytes: Buffer,
    readonly isNew: boolean,
    data: PhpArray,
  ) {
    this.#loc = loc;
    this.#secret = secret;
    this.#bytes = bytes;
    this.data = data;
  }

  get id(): string {
    return this.#loc.id;
  }
  /** The Redis key of the session (prefix + id), as bytes. */
  get key(): Buffer {
    return this.#loc.key;
  }
  /** The stored bytes as read at open time (or as last written through this handle). */
  get bytes(): Buffer {
    return this.#bytes;
  }
  /** Whether this handle still holds phpredis's lock. */
  get locked(): boolean {
    return this.#secret !== null;
  }
  /** Where the session lives, for messages: `tcp://127.0.0.1:6379 PHPREDIS_SESSION:abc`. */
  get location(): string {
    return `${this.#loc.target.label} ${this.#loc.key.toString('latin1')}`;
  }

  #assertOpen(what: string): void {
    if (this.#closed) throw new BackendError(`${this.location}: cannot ${what}: the session handle is closed`, 'ECLOSED');
  }

  /**
   * Encodes and writes. Unchanged bytes with lazy write only refresh the TTL (EXPIRE), as PHP.
   * @throws EncodeError when the serialize handler cannot hold the data (nothing written).
   * @throws BackendError code ELOCKLOST when locking is on and our lock expired or was taken
   *   meanwhile (nothing written), or another BackendError when Redis fails.
   */
  async save(data?: PhpArray): Promise<void> {
    this.#assertOpen('save');
    if (data) this.data = data;
    const bytes = this.store.encode(this.data);
    const { target, key, lockKey } = this.#loc;
    const ttl = this.store.settings.gcMaxlifetime;
    if (this.store.settings.lazyWrite && bytes.equals(this.#bytes)) {
      await target.send(['EXPIRE', key, String(ttl)], key);
      return;
    }
    if (this.#secret !== null) {
      await writeIfLocked(target, key, lockKey, this.#secret, ttl, bytes);
    } else {
      await target.send(['SETEX', key, String(ttl), bytes], key);
    }
    this.#bytes = bytes;
  }

  /**
   * save() then close() in one round trip when locking is on (one script writes and releases).
   * @throws like save(); the lock is released on every path.
   */
  async saveAndClose(data?: PhpArray): Promise<void> {
    this.#assertOpen('save');
    if (data) this.data = data;
    const secret = this.#secret;
    if (secret === null) return saveThenClose(this);
    let bytes: Buffer;
    try {
      bytes = this.store.encode(this.data);
    } catch (err) {
      await this.close();
      throw err;
    }
    const { target, key, lockKey } = this.#loc;
    const touchOnly = this.store.settings.lazyWrite && bytes.equals(this.#bytes);
    this.#closed = true;
    this.#secret = null;
    await writeAndRelease(target, key, lockKey, secret, this.store.settings.gcMaxlifetime, bytes, touchOnly);
    this.#bytes = bytes;
  }

  /** Releases the lock (compare-and-delete: never someone else's) without writing. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#release();
  }

  async #release(): Promise<void> {
    const secret = this.#secret;
    if (secret === null) return;
    this.#secret = null;
    await releaseLock(this.#loc.target, this.#loc.lockKey, secret);
  }

  /**
   * Deletes the session (DEL) while still holding the lock, then releases the lock.
   * @throws BackendError when Redis fails (the lock is still released on a best-effort basis).
   */
  async destroy(): Promise<void> {
    this.#assertOpen('destroy');
    const { target, key } = this.#loc;
    try {
      await target.send(['DEL', key], key);
    } finally {
      this.#closed = true;
      await this.#release().catch(() => {});
    }
  }

  /**
   * PHP's session_regenerate_id(deleteOld): the data goes to a fresh id (locked when locking is
   * on, and written at once so it is not lost if the caller never saves); the old session is
   * deleted, or (as PHP does) written with the current data and left to expire.
   * @throws EncodeError, BackendError (ELOCKLOST when our lock on the old id was lost).
   */
  async regenerateId(deleteOld = false): Promise<string> {
    this.#assertOpen('regenerate the id of');
    const old = this.#loc;
    const bytes = this.store.encode(this.data);
    const next = this.store.locate(await this.store.createId());
    const nextSecret = this.store.locking ? this.store.newSecret() : null;
    if (nextSecret !== null) await acquireLock(next.target, next.lockKey, nextSecret, this.store.lockSettings());
    try {
      if (nextSecret !== null) {
        await writeIfLocked(next.target, next.key, next.lockKey, nextSecret, this.store.settings.gcMaxlifetime, bytes);
      } else {
        await next.target.send(['SETEX', next.key, String(this.store.settings.gcMaxlifetime), bytes], next.key);
      }
    } catch (err) {
      if (nextSecret !== null) await releaseLock(next.target, next.lockKey, nextSecret).catch(() => {});
      throw err;
    }
    try {
      if (deleteOld) {
        await old.target.send(['DEL', old.key], old.key);
      } else if (!bytes.equals(this.#bytes)) {
        if (this.#secret !== null) await writeIfLocked(old.target, old.key, old.lockKey, this.#secret, this.store.settings.gcMaxlifetime, bytes);
        else await old.target.send(['SETEX', old.key, String(this.store.settings.gcMaxlifetime), bytes], old.key);
      }
    } finally {
      await this.#release().catch(() => {});
      this.#loc = next;
      this.#secret = nextSecret;
      this.#bytes = bytes;
    }
    return next.id;
  }
}
