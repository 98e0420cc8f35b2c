// The Laravel cache stores' options, checked before anything connects: bad settings are
// ConfigErrors naming the option, never echoing a password.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from 'sessctl';
import { LaravelRedisSessionStore, LARAVEL_REDIS_PREFIX } from 'sessctl/laravel-redis';
import { LaravelMemcachedSessionStore, LARAVEL_MEMCACHED_PREFIX } from 'sessctl/laravel-memcached';

test('defaults: the skeleton app\'s prefixes, lifetime 120 minutes, php_serialize, locking on', async () => {
  const r = new LaravelRedisSessionStore();
  const m = new LaravelMemcachedSessionStore();
  try {
    assert.equal(LARAVEL_REDIS_PREFIX, 'laravel_database_laravel_cache:');
    assert.equal(LARAVEL_MEMCACHED_PREFIX, 'laravel_cache:');
    for (const s of [r, m]) {
      assert.equal(s.settings.serializeHandler, 'php_serialize');
      assert.equal(s.settings.gcMaxlifetime, 7200);
      assert.equal(s.locking, true);
      assert.equal(s.isValidId('a'.repeat(40)), true);
      assert.equal(s.isValidId('a'.repeat(41)), false);
    }
    assert.equal(r.keyOf('a'.repeat(40)), `laravel_database_laravel_cache:${'a'.repeat(40)}`);
    assert.equal(m.keyOf('a'.repeat(40)), `laravel_cache:${'a'.repeat(40)}`);
    assert.equal(new LaravelRedisSessionStore({ lifetime: 30 }).settings.gcMaxlifetime, 1800);
  } finally {
    await r.close();
    await m.close();
  }
});

test('bad options are ConfigErrors', () => {
  const bad = [
    () => new LaravelRedisSessionStore({ url: 'tcp://127.0.0.1:6379' }),
    () => new LaravelRedisSessionStore({ url: 'redis://:hunter2@h:1/x' }),
    () => new LaravelRedisSessionStore({ lockUrl: 'nope' }),
    () => new LaravelRedisSessionStore({ lockSeconds: 0 }),
    () => new LaravelRedisSessionStore({ lockPollMs: 1.5 }),
    () => new LaravelRedisSessionStore({ lifetime: 0 }),
    () => new LaravelRedisSessionStore({ serializeHandler: 'php' }),
    () => new LaravelRedisSessionStore({ locking: /** @type {any} */ ('yes') }),
    () => new LaravelMemcachedSessionStore({ servers: '' }),
    () => new LaravelMemcachedSessionStore({ prefix: 'has space:' }),
    () => new LaravelMemcachedSessionStore({ prefix: 'x'.repeat(240) }),
    () => new LaravelMemcachedSessionStore({ lockSeconds: -1 }),
    () => new LaravelMemcachedSessionStore({ lifetime: 2.5 }),
  ];
  for (const make of bad) assert.throws(make, (e) => e instanceof ConfigError && !e.message.includes('hunter2'), String(make));
});

test('ids Laravel would refuse are refused before any connection is made', async () => {
  // Nothing listens on port 1: reaching the server would be a connection error instead.
  const r = new LaravelRedisSessionStore({ url: 'redis://127.0.0.1:1' });
  const m = new LaravelMemcachedSessionStore({ servers: '127.0.0.1:1' });
  for (const s of [r, m]) {
    for (const id of ['../../etc/passwd', 'a'.repeat(39), `${'a'.repeat(39)}-`, 'session:' + 'a'.repeat(32)]) {
      await assert.rejects(s.open(id), { code: 'EINVALIDID' }, id);
      await assert.rejects(s.read(id), { code: 'EINVALIDID' }, id);
      await assert.rejects(s.destroy(id), { code: 'EINVALIDID' }, id);
      assert.equal(await s.exists(id), false);
    }
  }
  await r.close();
  await m.close();
});
