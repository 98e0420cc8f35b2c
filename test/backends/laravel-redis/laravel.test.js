// Laravel's own redis session driver (SessionManager → CacheBasedSessionHandler → RedisStore over
// phpredis, Debian's php-laravel-framework 8.83) against the laravel-redis backend and
// sessctl/laravel, on a real redis-server.
import assert from 'node:assert/strict';
import { before, after } from 'node:test';
import { LaravelRedisSessionStore } from 'sessctl/laravel-redis';
import { hasRedisServer, hasPhpRedis, hasLaravel, needLaravelRedis } from '../../helpers/env.js';
import { startRedis } from '../../helpers/redis-server.js';
import { laravelCacheInterop } from '../../helpers/laravel-cache.js';

const available = hasRedisServer && hasPhpRedis;
/** @type {any} */
const server = {};
before(async () => {
  if (available && hasLaravel) Object.assign(server, await startRedis());
});
after(async () => server.stop?.());

laravelCacheInterop({
  driver: 'redis',
  available,
  testOptions: needLaravelRedis(),
  server: () => ({ redisPort: server.port }),
  savePath: () => `redis://127.0.0.1:${server.port}`,
  keyPrefix: (cachePrefix) => `laravel_database_${cachePrefix}:`,
  // The skeleton's layout: database 0 (the `default` connection), OPT_PREFIX laravel_database_.
  makeStore: (cachePrefix, options) => new LaravelRedisSessionStore({ url: `redis://127.0.0.1:${server.port}/0`, prefix: `laravel_database_${cachePrefix}:`, ...options }),
  checkStored: async (store, id) => {
    const stored = /** @type {Buffer} */ (await store.readStored(id));
    assert.match(stored.subarray(0, 12).toString('latin1'), /^s:\d+:"/, 'RedisStore serialize()s the payload string');
  },
});
