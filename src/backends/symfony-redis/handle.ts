/**
 * An open Symfony Redis session: writes as RedisSessionHandler does (SETEX ttl; EXPIRE only
 * when lazy write finds the bytes unchanged; UNLINK on destroy; an empty session is deleted,
 * not written). The Node-side lock and its checked writes are the shared Redis handle's.
 */
import { BackendError } from '../../errors.js';
import type { PhpArray } from '../../codec/values.js';
import { LockedRedisHandle } from '../shared/redis/handle.js';
import type { SymfonyRedisLocation, SymfonyRedisSessionStore } from './store.js';

/** UNLINK only while we still hold the lock: KEYS = session key, lock key; ARGV = secret. */
const UNLINK_IF_LOCKED_SCRIPT = 'if redis.call("get",KEYS[2]) == ARGV[1] then redis.call("unlink",KEYS[1]) return 1 else return 0 end';

export class SymfonyRedisSessionHandle extends LockedRedisHandle<SymfonyRedisSessionStore> {
  /** @internal created by SymfonyRedisSessionStore.open */
  constructor(store: SymfonyRedisSessionStore, loc: SymfonyRedisLocation, secret: string | null, bytes: Buffer, isNew: boolean, data: PhpArray) {
    super(store, loc, secret, bytes, isNew, data);
  }

  /** RedisSessionHandler's `ttl` option (default session.gc_maxlifetime). */
  protected ttl(): number {
    return this.store.ttl;
  }

  /** AbstractSessionHandler::write() destroys a session that encodes to nothing. */
  protected override isEmptyWrite(bytes: Buffer): boolean {
    return this.store.isEmptyWrite(bytes);
  }

  /** SETEX, or the delete of an empty session — under our lock, checked in the same script. */
  protected override async writeAt(loc: SymfonyRedisLocation, secret: string | null, bytes: Buffer): Promise<void> {
    if (secret === null) return this.store.write(loc, bytes);
    if (!this.isEmptyWrite(bytes)) return super.writeAt(loc, secret, bytes);
    const reply = await loc.target.send(['EVAL', UNLINK_IF_LOCKED_SCRIPT, '2', loc.key, loc.lockKey, secret], loc.key);
    if (Number(reply) !== 1) throw new BackendError(`${this.location}: delete refused: our Node-side lock expired or was taken meanwhile (nothing was changed)`, 'ELOCKLOST');
  }

  /** UNLINK (DEL before Redis 4), as doDestroy(). */
  protected override async removeAt(loc: SymfonyRedisLocation): Promise<void> {
    await this.store.unlink(loc);
  }
}
