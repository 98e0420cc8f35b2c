// The Redis URL the framework Redis backends take as savePath: redis://, rediss://, unix://;
// bad ones are ConfigErrors that never quote the password.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from 'sessctl';
import { parseRedisUrl } from 'sessctl/symfony-redis';

test('redis://, rediss:// and unix:// URLs', () => {
  assert.deepEqual(parseRedisUrl('redis://127.0.0.1:6380/2'), { transport: 'tcp', host: '127.0.0.1', port: 6380, database: 2, label: 'redis://127.0.0.1:6380/2' });
  assert.deepEqual(parseRedisUrl('redis://cache'), { transport: 'tcp', host: 'cache', port: 6379, database: null, label: 'redis://cache:6379' });
  assert.deepEqual(parseRedisUrl('rediss://app:p%40ss@[::1]:7000').auth, { user: 'app', pass: 'p@ss' });
  assert.equal(parseRedisUrl('rediss://[::1]:7000').label, 'rediss://[::1]:7000');
  assert.equal(parseRedisUrl('rediss://[::1]:7000').transport, 'tls');
  assert.deepEqual(parseRedisUrl('redis://:secret@h').auth, { pass: 'secret' });
  assert.deepEqual(parseRedisUrl('redis://secret@h').auth, { pass: 'secret' }, 'a lone user-info is the password, as Symfony reads it');
  assert.deepEqual(parseRedisUrl('unix:///run/redis/redis.sock'), { transport: 'unix', socketPath: '/run/redis/redis.sock', database: null, label: 'unix:///run/redis/redis.sock' });
  assert.ok(!parseRedisUrl('redis://u:secret@h').label.includes('secret'));
});

test('bad URLs: ConfigError naming what is wrong, the password never in it', () => {
  for (const [url, why] of [
    ['', /empty/],
    ['tcp://h:6379', /unknown scheme "tcp"/],
    ['h:6379', /no scheme|unknown scheme/],
    ['redis://u:hunter2@h:0', /bad port|not a URL/],
    ['redis://hunter2@h:70000', /bad port|not a URL/],
    ['redis://:hunter2@h/db1', /database must be a number/],
    ['redis://:hunter2@h?timeout=1', /query strings/],
    ['unix://relative.sock', /absolute path/],
  ]) {
    assert.throws(() => parseRedisUrl(/** @type {string} */ (url)), (/** @type {any} */ e) => e instanceof ConfigError && /** @type {RegExp} */ (why).test(e.message) && !e.message.includes('hunter2'), String(url));
  }
});
