/**
 * `sessctl/laravel-memcached`: Laravel's `memcached` session driver (its cache prefix,
 * php-memcached's value flags and compression) with Laravel's session block lock. The meaning of
 * the attributes and the cookie are in `sessctl/laravel`.
 */
export { LaravelMemcachedSessionStore, LARAVEL_MEMCACHED_PREFIX, type LaravelMemcachedStoreOptions, type MemcachedLockToken } from './store.js';
export { LaravelMemcachedAdminSource, type LaravelCacheAdminOptions } from './admin-source.js';
export { LaravelCacheSessionHandle } from '../shared/laravel-cache.js';
export { phpMemcachedString, fastlzDecompress } from '../shared/memcached/php-value.js';
export { isLaravelSessionId, generateLaravelSessionId, type PayloadCipher } from '../shared/laravel.js';
