// Laravel's own memcached session driver (SessionManager → CacheBasedSessionHandler →
// MemcachedStore over php-memcached via MemcachedConnector, Debian's php-laravel-framework 8.83)
// against the laravel-memcached backend and sessctl/laravel, on a real memcached.
import assert from 'node:assert/strict';
import { LaravelMemcachedSessionStore } from 'sessctl/laravel-memcached';
import { hasLaravel, needLaravelMemcached } from '../../helpers/env.js';
import { useMemcached } from '../../helpers/memcached-server.js';
import { laravelCacheInterop } from '../../helpers/laravel-cache.js';

const mc = useMemcached(1);

laravelCacheInterop({
  driver: 'memcached',
  available: hasLaravel,
  testOptions: needLaravelMemcached(),
  server: () => ({ memcachedPort: mc.servers[0].port }),
  savePath: () => mc.savePath,
  keyPrefix: (cachePrefix) => `${cachePrefix}:`,
  makeStore: (cachePrefix, options) => new LaravelMemcachedSessionStore({ servers: mc.savePath, prefix: `${cachePrefix}:`, ...options }),
  checkStored: async (store, id, encrypted) => {
    const { flags } = /** @type {{ flags: number }} */ (await store.readStored(id));
    assert.equal(flags & 0x0f, 0, 'a PHP string');
    // 3000 repeated bytes: php-memcached compressed them with fastlz. Encrypted, the payload does
    // not shrink by the compression_factor (1.3), so it is stored as it is.
    assert.equal(flags & 0x50, encrypted ? 0 : 0x50, `flags 0x${flags.toString(16)}`);
  },
});
