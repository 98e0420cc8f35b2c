// Laravel's session block lock on Redis as Node takes it: the key and value Laravel's RedisLock
// uses, writes refused once the lock is someone else's, and a lock on another database (apps
// whose config/cache.php predates lock_connection) against Laravel's own blocking requests.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { LaravelRedisSessionStore } from 'sessctl/laravel-redis';
import { hasLaravel, hasPhpRedis, hasRedisServer, needLaravelRedis, needRedis } from '../../helpers/env.js';
import { startRedis } from '../../helpers/redis-server.js';
import { phpLines } from '../../helpers/php-lines.js';

const script = fileURLToPath(new URL('../../../fixtures/laravel/session.php', import.meta.url));
/** @type {any} */
const server = {};
/** @type {ReturnType<typeof phpLines> | undefined} */
let php;
/** @type {LaravelRedisSessionStore[]} */
const stores = [];
before(async () => {
  if (hasRedisServer && hasPhpRedis) Object.assign(server, await startRedis());
  if (hasRedisServer && hasPhpRedis && hasLaravel) php = phpLines(script);
});
after(async () => {
  for (const s of stores) await s.close();
  await php?.close();
  await server.stop?.();
});
const store = (/** @type {object} */ o = {}) => {
  const s = new LaravelRedisSessionStore({ url: `redis://127.0.0.1:${server.port}`, lockPollMs: 5, ...o });
  stores.push(s);
  return s;
};
const ID = 'LockTest0000000000000000000000000000000a';

test('the lock Node holds is Laravel\'s: <prefix>session:<id>, a 16-character owner, expiring after lockSeconds', needRedis(), async () => {
  const s = store({ prefix: 'laravel_database_laravel_cache:', lockSeconds: 7 });
  const h = await s.open(ID);
  try {
    const key = `laravel_database_laravel_cache:session:${ID}`;
    const owner = /** @type {Buffer} */ (await s.redis.target.send(['GET', key]));
    assert.match(owner.toString(), /^[A-Za-z0-9]{16}$/);
    const ttl = Number(await s.redis.target.send(['TTL', key]));
    assert.ok(ttl > 0 && ttl <= 7, String(ttl));
  } finally {
    await h.close();
  }
  assert.equal(await s.redis.target.send(['EXISTS', `laravel_database_laravel_cache:session:${ID}`]), 0);
});

test('a lock that expired and was taken by another request: Node\'s save, destroy and close change nothing (ELOCKLOST)', needRedis(), async () => {
  const s = store({ prefix: 'lost:' });
  await s.update(ID, (d) => void d.set('v', 'before'));
  const h = await s.open(ID);
  // What expiry followed by a Laravel request's SET NX leaves: the lock key with another owner.
  await s.redis.target.send(['SET', `lost:session:${ID}`, 'SomeoneElse12345']);
  h.data.set('v', 'stale');
  await assert.rejects(h.save(), { code: 'ELOCKLOST' });
  await assert.rejects(h.destroy(), { code: 'ELOCKLOST' });
  await h.close();
  assert.equal((await s.read(ID))?.get('v'), 'before');
  assert.equal(String(await s.redis.target.send(['GET', `lost:session:${ID}`])), 'SomeoneElse12345', 'the other owner\'s lock is left alone');
});

test('lockUrl: Laravel apps locking on the `cache` connection (database 1) and Node with lockUrl …/1 lose no increment', needLaravelRedis(), async () => {
  const cachePrefix = `old${process.pid}_cache`;
  const s = store({ prefix: `laravel_database_${cachePrefix}:`, lockUrl: `redis://127.0.0.1:${server.port}/1` });
  const conf = { driver: 'redis', redisPort: server.port, cachePrefix, lockConnection: null };
  const ask = (/** @type {object} */ q) => /** @type {any} */ (php).ask({ ...conf, ...q });
  const first = await ask({ op: 'request', key: Buffer.alloc(32).toString('base64'), name: 'laravel_session', cookie: null, ops: [['put', 'php', 0], ['put', 'node', 0]] });
  const id = first.id;
  assert.deepEqual(await ask({ op: 'hold', id }), { held: true });
  assert.equal(Number(await s.redis.lockTarget.send(['EXISTS', `laravel_database_${cachePrefix}:session:${id}`])), 1, 'Laravel\'s lock is in database 1');
  await assert.rejects(s.open(id, { lockTimeoutMs: 50 }), { code: 'ELOCKTIMEOUT' });
  await ask({ op: 'release' });
  const N = 100;
  const laravel = ask({ op: 'increments', id, n: N, key: 'php', block: true });
  for (let i = 0; i < N; i++) await s.update(id, (d) => void d.set('node', Number(d.get('node')) + 1));
  assert.deepEqual(await laravel, { undecodable: 0 });
  const end = await s.read(id);
  assert.equal(end?.get('php'), N);
  assert.equal(end?.get('node'), N);
});
