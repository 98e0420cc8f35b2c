/**
 * An open Memcached session: holds php-memcached's lock (when locking is on) from `open` until
 * `close`, `destroy` or the end of `regenerateId`'s move, and writes as PHP does (SET with
 * gc_maxlifetime and flags 0; TOUCH when lazy write finds the bytes unchanged).
 */
import { BackendError } from '../../errors.js';
import type { PhpArray } from '../../codec/values.js';
import { saveThenClose, type SessionHandle } from '../../session/contract.js';
import type { MemcachedConnection } from '../shared/memcached/connection.js';
import { acquireLock, assertLockHeld, releaseLock, type LockPlace } from './lock.js';
import { OP, STATUS, storeExtras } from '../shared/memcached/protocol.js';
import type { MemcachedSessionStore } from './store.js';

/** Where a session lives (server + key) and where its lock lives (possibly another server). */
export interface SessionPlace {
  id: string;
  conn: MemcachedConnection;
  key: Buffer;
  /** `127.0.0.1:11211 memc.sess.key.abc`, for messages. */
  label: string;
  lock: LockPlace;
}

export class MemcachedSessionHandle implements SessionHandle {
  #place: SessionPlace;
  /** CAS of our lock item; null = locking off, or released. */
  #cas: bigint | null;
  #bytes: Buffer;
  #closed = false;
  data: PhpArray;

  /** @internal created by MemcachedSessionStore.open */
  constructor(
    private readonly store: MemcachedSessionStore,
    place: SessionPlace,
    cas: bigint | null,
    bytes: Buffer,
    readonly isNew: boolean,
    data: PhpArray,
  ) {
    this.#place = place;
    this.#cas = cas;
    this.#bytes = bytes;
    this.data = data;
  }

  get id(): string {
    return this.#place.id;
  }
  /** The stored bytes as read at open time (or as last written through this handle). */
  get bytes(): Buffer {
    return this.#bytes;
  }
  get locked(): boolean {
    return this.#cas !== null;
  }
  get location(): string {
    return this.#place.label;
  }

  #assertOpen(what: string): void {
    if (this.#closed) throw new BackendError(`${this.location}: cannot ${what}: the session handle is closed`, 'ECLOSED');
  }

  async #write(p: SessionPlace, cas: bigint | null, bytes: Buffer): Promise<void> {
    if (cas !== null) await assertLockHeld(p.lock, cas, p.label, 'write');
    await this.store.call(p, { opcode: OP.SET, key: p.key, extras: storeExtras(this.store.expiry()), value: bytes }, [STATUS.OK], 'writing the session');
  }

  /**
   * Encodes and writes. Unchanged bytes with lazy write only refresh the expiry (TOUCH), as PHP.
   * @throws EncodeError (nothing written); BackendError ELOCKLOST when our lock expired or was
   *   taken meanwhile (nothing written), or another BackendError when memcached fails.
   */
  async save(data?: PhpArray): Promise<void> {
    this.#assertOpen('save');
    if (data) this.data = data;
    const bytes = this.store.encode(this.data);
    // PHP encodes an empty session to nothing and then always writes (an empty item); lazy write
    // only applies to a non-empty encoding equal to what was read.
    if (this.store.settings.lazyWrite && bytes.length > 0 && bytes.equals(this.#bytes)) {
      await this.store.touchAt(this.#place);
      return;
    }
    await this.#write(this.#place, this.#cas, bytes);
    this.#bytes = bytes;
  }

  /** save() then close(); the lock is released on every path. */
  saveAndClose(data?: PhpArray): Promise<void> {
    return saveThenClose(this, data);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#release();
  }

  async #release(): Promise<void> {
    const cas = this.#cas;
    if (cas === null) return;
    this.#cas = null;
    await releaseLock(this.#place.lock, cas);
  }

  /** DELETE while holding the lock, then release it. */
  async destroy(): Promise<void> {
    this.#assertOpen('destroy');
    try {
      await this.store.deleteAt(this.#place);
    } finally {
      this.#closed = true;
      await this.#release().catch(() => {});
    }
  }

  /**
   * PHP's session_regenerate_id(deleteOld): the data goes to a fresh (reserved, locked) id and is
   * written at once; the old session is deleted, or written with the current data and left to expire.
   */
  async regenerateId(deleteOld = false): Promise<string> {
    this.#assertOpen('regenerate the id of');
    const old = this.#place;
    const bytes = this.store.encode(this.data);
    const next = this.store.locate(await this.store.createId());
    const nextCas = this.store.locking ? await acquireLock(next.lock, this.store.lockSettings()) : null;
    try {
      await this.#write(next, nextCas, bytes);
    } catch (err) {
      if (nextCas !== null) await releaseLock(next.lock, nextCas).catch(() => {});
      throw err;
    }
    try {
      if (deleteOld) await this.store.deleteAt(old);
      else if (!bytes.equals(this.#bytes)) await this.#write(old, this.#cas, bytes);
    } finally {
      await this.#release().catch(() => {});
      this.#place = next;
      this.#cas = nextCas;
      this.#bytes = bytes;
    }
    return next.id;
  }
}
