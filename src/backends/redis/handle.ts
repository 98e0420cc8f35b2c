/**
 * An open phpredis session: holds phpredis's lock (when locking is on) and writes the way
 * phpredis does (SETEX gc_maxlifetime; EXPIRE only when lazy write finds the bytes unchanged;
 * DEL on destroy). The handle itself is the one both Redis formats share.
 */
import type { PhpArray } from '../../codec/values.js';
import { LockedRedisHandle, type RedisLocation } from '../shared/redis/handle.js';
import type { RedisSessionStore } from './store.js';

/** Where a session lives and its lock key. */
export type SessionLocation = RedisLocation;

export class RedisSessionHandle extends LockedRedisHandle<RedisSessionStore> {
  /** @internal created by RedisSessionStore.open */
  constructor(store: RedisSessionStore, loc: SessionLocation, secret: string | null, bytes: Buffer, isNew: boolean, data: PhpArray) {
    super(store, loc, secret, bytes, isNew, data);
  }

  /** phpredis's TTL is session.gc_maxlifetime. */
  protected ttl(): number {
    return this.store.settings.gcMaxlifetime;
  }

  /** The stored bytes as read at open time (or as last written through this handle). */
  get bytes(): Buffer {
    return this.lastBytes;
  }
}
