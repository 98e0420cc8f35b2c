// Redis URLs as framework configurations write them (the laravel-redis and symfony-redis save path).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from 'sessctl';
import { parseRedisUrl } from 'sessctl/laravel-redis';

test('redis://, rediss:// and unix:// URLs: host, port, database, credentials; the label holds no password', () => {
  assert.deepEqual(parseRedisUrl('redis://127.0.0.1:6380/2'), { transport: 'tcp', host: '127.0.0.1', port: 6380, database: 2, label: 'redis://127.0.0.1:6380/2' });
  assert.deepEqual(parseRedisUrl('redis://cache.internal'), { transport: 'tcp', host: 'cache.internal', port: 6379, database: 0, label: 'redis://cache.internal:6379/0' });
  const tls = parseRedisUrl('rediss://app:p%40ss%3Aword@[::1]:6390/0');
  assert.equal(tls.transport, 'tls');
  assert.equal(tls.host, '::1');
  assert.deepEqual(tls.auth, { user: 'app', pass: 'p@ss:word' });
  assert.doesNotMatch(tls.label, /p@ss|p%40ss/);
  assert.deepEqual(parseRedisUrl('redis://:secret@h:1').auth, { pass: 'secret' });
  assert.deepEqual(parseRedisUrl('redis://secret@h').auth, { pass: 'secret' }, 'a lone user-info is the password, as Symfony and Laravel read it');
  assert.equal(parseRedisUrl('rediss://[::1]:7000').label, 'rediss://[::1]:7000/0');
  assert.deepEqual(parseRedisUrl('unix:///run/redis/redis.sock?database=3'), { transport: 'unix', socketPath: '/run/redis/redis.sock', database: 3, label: 'unix:///run/redis/redis.sock?database=3' });
});

test('bad URLs are ConfigErrors that never echo the password', () => {
  for (const bad of ['', 'localhost:6379', 'http://h:1', 'redis://h:1/x', 'redis://h:1/-1', 'unix://', 'redis://:secret@h:1/abc', 'redis://u:secret@h:0', 'redis://secret@h:70000']) {
    assert.throws(() => parseRedisUrl(bad), (e) => e instanceof ConfigError && !e.message.includes('secret'), bad);
  }
});
