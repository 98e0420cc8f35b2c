/**
 * `sessctl/symfony-redis`: sessions kept by Symfony's RedisSessionHandler (HttpFoundation 5.4,
 * `sf_s` + id, SETEX with its ttl), read and written from Node as Symfony does. The `redis`
 * client is an optional peer dependency, loaded on the first command.
 */
export { SymfonyRedisSessionStore, SYMFONY_REDIS_PREFIX, type SymfonyRedisStoreOptions, type SymfonyRedisLocation } from './store.js';
export { SymfonyRedisSessionHandle } from './handle.js';
export { parseRedisUrl, type RedisUrl } from '../shared/redis/url.js';
