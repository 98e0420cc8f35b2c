// Secrets in a save path (phpredis auth) are never printed: config (text and JSON), error
// messages about a bad parameter, and the library's own ConfigError messages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redactSecrets } from 'sessctl/admin';
import { parseRedisSavePath } from 'sessctl/redis';
import { sessctl } from '../helpers/cli.js';

const SECRET = 'S3cr3tPw';
const PATHS = [
  `tcp://127.0.0.1:6379?auth=${SECRET}&database=0`,
  `tcp://127.0.0.1:6379?database=1&auth[]=app&auth[]=${SECRET}`,
  `tcp://127.0.0.1:6379?auth[user]=app&auth[pass]=${SECRET}`,
  `tcp://127.0.0.1:6379?auth%5B%5D=${SECRET}`,
  `redis://app:${SECRET}@127.0.0.1:6379/0`,
];

test('redactSecrets hides every spelling of a password and keeps the rest', () => {
  for (const p of PATHS) {
    const r = redactSecrets(p);
    assert.ok(!r.includes(SECRET), r);
    assert.ok(r.includes('127.0.0.1:6379'), r);
  }
  assert.equal(redactSecrets('tcp://h:1?auth=x&prefix=P:'), 'tcp://h:1?auth=***&prefix=P:');
  assert.equal(redactSecrets('/var/lib/php/sessions'), '/var/lib/php/sessions');
});

test('sessctl config never prints the password (plain and --json)', () => {
  for (const p of PATHS.slice(0, 3)) {
    for (const extra of [[], ['--json']]) {
      const r = sessctl(['config', '--save-handler', 'redis', '--save-path', p, ...extra], { env: { SESSCTL_PHP_BINARY: '/nonexistent' } });
      assert.equal(r.code, 0, r.stderr);
      assert.ok(!r.stdout.includes(SECRET) && !r.stderr.includes(SECRET), r.stdout + r.stderr);
      assert.match(r.stdout, /auth/);
    }
  }
});

test('a bad parameter error names the parameter, not the password', () => {
  const bad = `tcp://127.0.0.1:6379?auth=${SECRET}&weight=0`;
  assert.throws(() => parseRedisSavePath(bad), (/** @type {any} */ e) => /weight/.test(e.message) && !e.message.includes(SECRET));
  const r = sessctl(['list', '--save-handler', 'redis', '--save-path', bad], { env: { SESSCTL_PHP_BINARY: '/nonexistent' } });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /weight/);
  assert.ok(!r.stderr.includes(SECRET), r.stderr);
});

test('a user:password@ in a redis save_path is never quoted by the error that refuses it', () => {
  const r = sessctl(['list', '--save-handler', 'redis', '--save-path', `tcp://bob:${SECRET}@127.0.0.1:1`, '--no-php']);
  assert.equal(r.code, 2);
  assert.ok(!r.stderr.includes(SECRET), r.stderr);
  assert.match(r.stderr, /\*\*\*@127\.0\.0\.1:1.*use \?auth=/);
  assert.throws(() => parseRedisSavePath(`tcp://bob:${SECRET}@127.0.0.1:1`), (/** @type {any} */ e) => !e.message.includes(SECRET));
});
