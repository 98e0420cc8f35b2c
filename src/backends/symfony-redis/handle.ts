/**
 * An open Symfony Redis session: holds the Node-side lock (when on) from `open` until `close`,
 * `destroy` or the end of `regenerateId`'s move, and writes as RedisSessionHandler does (SETEX
 * ttl; EXPIRE only when lazy write finds the bytes unchanged; an empty session is deleted).
 * With the lock on, every write is checked against it in the same Lua script, so a Node writer
 * whose lock expired never overwrites the Node writer that took it over.
 */
import { BackendError } from '../../errors.js';
import type { PhpArray } from '../../codec/values.js';
import { saveThenClose, type SessionHandle } from '../../session/contract.js';
import { acquireLock, newLockSecret, releaseLock, writeAndRelease, writeIfLocked } from '../shared/redis/lock.js';
import type { SymfonyRedisLocation, SymfonyRedisSessionStore } from './store.js';

/** UNLINK only while we still hold the lock: KEYS = session key, lock key; ARGV = secret. */
const UNLINK_IF_LOCKED_SCRIPT = 'if redis.call("get",KEYS[2]) == ARGV[1] then redis.call("unlink",KEYS[1]) return 1 else return 0 end';

export class SymfonyRedisSessionHandle implements SessionHandle {
  #loc: SymfonyRedisLocation;
  #secret: string | null;
  #bytes: Buffer;
  #closed = false;
  data: PhpArray;

  /** @internal created by SymfonyRedisSessionStore.open */
  constructor(
    private readonly store: SymfonyRedisSessionStore,
    loc: SymfonyRedisLocation,
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
  /** The Redis key (prefix + id). */
  get key(): Buffer {
    return this.#loc.key;
  }
  /** Whether this handle holds the Node-side lock. */
  get locked(): boolean {
    return this.#secret !== null;
  }
  get location(): string {
    return `${this.#loc.target.label} ${this.#loc.key.toString('latin1')}`;
  }

  #assertOpen(what: string): void {
    if (this.#closed) throw new BackendError(`${this.location}: cannot ${what}: the session handle is closed`, 'ECLOSED');
  }

  /** Writes `bytes` at `loc` (SETEX, or the delete of an empty session), checked against our lock when we hold one. */
  async #write(loc: SymfonyRedisLocation, secret: string | null, bytes: Buffer): Promise<void> {
    if (secret === null) return this.store.write(loc, bytes);
    if (!this.store.isEmptyWrite(bytes)) return writeIfLocked(loc.target, loc.key, loc.lockKey, secret, this.store.ttl, bytes);
    const reply = await loc.target.send(['EVAL', UNLINK_IF_LOCKED_SCRIPT, '2', loc.key, loc.lockKey, secret], loc.key);
    if (Number(reply) !== 1) throw new BackendError(`${this.location}: delete refused: our Node-side lock expired or was taken meanwhile (nothing was changed)`, 'ELOCKLOST');
  }

  /**
   * Encodes and writes; unchanged bytes with lazy write only refresh the TTL (EXPIRE).
   * @throws EncodeError (nothing written), BackendError (ELOCKLOST: our lock was lost, nothing written).
   */
  async save(data?: PhpArray): Promise<void> {
    this.#assertOpen('save');
    if (data) this.data = data;
    const bytes = this.store.encode(this.data);
    const { target, key } = this.#loc;
    if (this.store.settings.lazyWrite && bytes.equals(this.#bytes) && !this.store.isEmptyWrite(bytes)) {
      await target.send(['EXPIRE', key, String(this.store.ttl)], key);
      return;
    }
    await this.#write(this.#loc, this.#secret, bytes);
    this.#bytes = bytes;
  }

  /** save() and close() in one script when the lock is held. @throws like save(); the lock is released on every path. */
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
    if (this.store.isEmptyWrite(bytes)) return saveThenClose(this);
    const { target, key, lockKey } = this.#loc;
    const touchOnly = this.store.settings.lazyWrite && bytes.equals(this.#bytes);
    this.#closed = true;
    this.#secret = null;
    await writeAndRelease(target, key, lockKey, secret, this.store.ttl, bytes, touchOnly);
    this.#bytes = bytes;
  }

  /** Releases the lock (never someone else's) without writing. Idempotent. */
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

  /** Deletes the session (UNLINK) while holding the lock, then releases it. @throws BackendError */
  async destroy(): Promise<void> {
    this.#assertOpen('destroy');
    try {
      await this.store.unlink(this.#loc);
    } finally {
      this.#closed = true;
      await this.#release().catch(() => {});
    }
  }

  /**
   * session_regenerate_id(deleteOld) under Symfony's handler: the data is written at once to a
   * fresh id (locked when locking is on); the old session is deleted, or written with the current
   * data and left to expire, as PHP does.
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
      await this.#write(next, nextSecret, bytes);
    } catch (err) {
      if (nextSecret !== null) await releaseLock(next.target, next.lockKey, nextSecret).catch(() => {});
      throw err;
    }
    try {
      if (deleteOld) await this.store.unlink(old);
      else if (!bytes.equals(this.#bytes)) await this.#write(old, this.#secret, bytes);
    } finally {
      await this.#release().catch(() => {});
      this.#loc = next;
      this.#secret = nextSecret;
      this.#bytes = bytes;
    }
    return next.id;
  }
}
