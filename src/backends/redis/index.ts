/**
 * sessctl Redis backend: PHP sessions stored by phpredis (`session.save_handler = redis` or
 * `rediscluster`), with phpredis's key layout, TTLs, server choice and lock.
 * save-path.ts (php.ini syntax), server-pick.ts (which server holds an id), store.ts / handle.ts
 * (the SessionBackend); the lock and the connection (client, timeouts, errors) are in
 * ../shared/redis/lock.ts and ../shared/redis/connection.ts, shared with symfony-redis.
 */
export { RedisSessionStore, type RedisStoreOptions, type RedisSessionInfo } from './store.js';
export { RedisSessionHandle } from './handle.js';
export {
  parseRedisSavePath,
  parseRedisClusterSavePath,
  describeServer,
  REDIS_SESSION_PREFIX,
  REDIS_CLUSTER_SESSION_PREFIX,
  type RedisSavePath,
  type RedisServerConfig,
  type RedisClusterSavePath,
  type RedisClusterSeed,
  type RedisAuth,
} from './save-path.js';
export { pickServerIndex } from './server-pick.js';
export { LOCK_SUFFIX, LOCK_RELEASE_SCRIPT, type LockSettings } from '../shared/redis/lock.js';
