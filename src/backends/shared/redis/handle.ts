/**
 * The open-session handle both Redis session formats share (phpredis's handler and Symfony's
 * RedisSessionHandler): one lock taken at open and held until `close`, `destroy` or the end of
 * `regenerateId`'s move; while it is held, every write is checked against it in one Lua script,
 * so a writer whose lock expired never overwrites the one that took it over.
 * What differs between the formats (the TTL, how a session is deleted, Symfony's delete of an
 * empty session) is left to the three protected hooks.
 */
import { BackendError } from '../../../errors.js';
import type { PhpArray } from '../../../codec/values.js';
import { saveThenClose, type SessionHandle } from '../../../session/contract.js';
import { acquireLock, newLockSecret, releaseLock, writeAndRelease, writeIfLocked, type LockedKey, type LockSettings } from './lock.js';

/** Where a session lives: the server, the key (prefix + id) and its lock key. */
export interface RedisLocation extends LockedKey {
  id: string;
}

/** What a handle needs of its store. */
export interface RedisHandleStore {
  readonly settings: { readonly lazyWrite: boolean };
  readonly locking: boolean;
  encode(data: PhpArray): Buffer;
  createId(): Promise<string>;
  locate(id: string): RedisLocation;
  lockSettings(): LockSettings;
}

export abstract class LockedRedisHandle<S extends RedisHandleStore> implements SessionHandle {
  #loc: RedisLocation;
  /** Null when locking is off or the lock was released. */
  #secret: string | null;
  #bytes: Buffer;
  #closed = false;
  data: PhpArray;

  protected constructor(
    protected readonly store: S,
    loc: RedisLocation,
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

  /** The TTL every write sets, in seconds. */
  protected abstract ttl(): number;

  /** Writes `bytes` at `loc`, checked against our lock when `secret` is one. */
  protected async writeAt(loc: RedisLocation, secret: string | null, bytes: Buffer): Promise<void> {
    if (secret !== null) await writeIfLocked(loc, secret, this.ttl(), bytes);
    else await loc.target.send(['SETEX', loc.key, String(this.ttl()), bytes], loc.key);
  }

  /** Deletes the session at `loc` (our lock, if any, is still held). */
  protected async removeAt(loc: RedisLocation): Promise<void> {
    await loc.target.send(['DEL', loc.key], loc.key);
  }

  /** Whether writing `bytes` means deleting the session instead (never, unless a format says so). */
  protected isEmptyWrite(_bytes: Buffer): boolean {
    return false;
  }

  /** The bytes as read at open time, or as last written through this handle. */
  protected get lastBytes(): Buffer {
    return this.#bytes;
  }

  get id(): string {
    return this.#loc.id;
  }
  /** The Redis key of the session (prefix + id), as bytes. */
  get key(): Buffer {
    return this.#loc.key;
  }
  /** Whether this handle still holds the lock. */
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
    const { target, key } = this.#loc;
    if (this.store.settings.lazyWrite && bytes.equals(this.#bytes) && !this.isEmptyWrite(bytes)) {
      await target.send(['EXPIRE', key, String(this.ttl())], key);
      return;
    }
    await this.writeAt(this.#loc, this.#secret, bytes);
    this.#bytes = bytes;
  }

  /**
   * save() then close() in one round trip when the lock is held (one script writes and releases).
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
    // The one script only writes; a delete goes the long way.
    if (this.isEmptyWrite(bytes)) return saveThenClose(this);
    const touchOnly = this.store.settings.lazyWrite && bytes.equals(this.#bytes);
    this.#closed = true;
    this.#secret = null;
    await writeAndRelease(this.#loc, secret, this.ttl(), bytes, touchOnly);
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
   * Deletes the session while still holding the lock, then releases the lock.
   * @throws BackendError when Redis fails (the lock is still released on a best-effort basis).
   */
  async destroy(): Promise<void> {
    this.#assertOpen('destroy');
    try {
      await this.removeAt(this.#loc);
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
    const nextSecret = this.store.locking ? newLockSecret() : null;
    if (nextSecret !== null) await acquireLock(next.target, next.lockKey, nextSecret, this.store.lockSettings());
    try {
      await this.writeAt(next, nextSecret, bytes);
    } catch (err) {
      if (nextSecret !== null) await releaseLock(next.target, next.lockKey, nextSecret).catch(() => {});
      throw err;
    }
    try {
      if (deleteOld) await this.removeAt(old);
      else if (!bytes.equals(this.#bytes)) await this.writeAt(old, this.#secret, bytes);
    } finally {
      await this.#release().catch(() => {});
      this.#loc = next;
      this.#secret = nextSecret;
      this.#bytes = bytes;
    }
    return next.id;
  }
}
