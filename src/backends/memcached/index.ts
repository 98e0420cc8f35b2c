/**
 * sessctl Memcached backend: PHP sessions stored by php-memcached (`session.save_handler =
 * memcached`), with its key layout, expiry, server choice (libmemcached's ketama) and lock.
 * save-path.ts (php.ini syntax), server-pick.ts (which server holds a key), lock.ts (the lock),
 * protocol.ts / connection.ts (the binary protocol), ascii.ts (listing, TTLs), store.ts / handle.ts.
 */
export { MemcachedSessionStore, MEMCACHED_SESSION_PREFIX, type MemcachedStoreOptions, type MemcachedSessionInfo } from './store.js';
export { MemcachedSessionHandle } from './handle.js';
export { parseMemcachedSavePath, type MemcachedSavePath, type MemcachedServer } from '../shared/memcached/save-path.js';
export { ServerPicker, oneAtATime, type Distribution } from '../shared/memcached/server-pick.js';
export { LOCK_KEY_PREFIX, type LockSettings } from './lock.js';
