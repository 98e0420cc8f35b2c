/**
 * `sessctl/laravel-redis`: Laravel's `redis` session driver (its cache layer's keys, double
 * serialization and TTL) with Laravel's session block lock. Needs the optional `redis` package.
 * The meaning of the attributes and the cookie are in `sessctl/laravel`.
 */
export { LaravelRedisSessionStore, LARAVEL_REDIS_PREFIX, type LaravelRedisStoreOptions } from './store.js';
export { LaravelRedisAdminSource, type LaravelCacheAdminOptions } from './admin-source.js';
export { LaravelCacheSessionHandle } from '../shared/laravel-cache.js';
export { parseRedisUrl, type RedisUrl } from '../shared/redis/url.js';
export { isLaravelSessionId, generateLaravelSessionId, type PayloadCipher } from '../shared/laravel.js';
