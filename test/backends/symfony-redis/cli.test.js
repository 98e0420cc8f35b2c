// The CLI on Symfony's RedisSessionHandler keys: `--save-handler symfony-redis --save-path
// redis://…` (`--ini symfony.prefix=…`), on a password-protected redis-server: the password is
// used and never printed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { SymfonyRedisSessionStore } from 'sessctl/symfony-redis';
import { PhpArray } from 'sessctl';
import { needRedis, hasRedisServer, hasPhpRedis } from '../../helpers/env.js';
import { startRedis, rawCommand } from '../../helpers/redis-server.js';
import { sessctl } from '../../helpers/cli.js';

const PASSWORD = 'Sup3r-s3cret';
const server = /** @type {{ port?: number, stop?: () => Promise<void> }} */ ({});
const ids = ['sfcliaaaa0000000000000000000001', 'sfclibbbb0000000000000000000002'];
before(async () => {
  if (!(hasRedisServer && hasPhpRedis)) return;
  Object.assign(server, await startRedis());
  // set after start: the helper's readiness PING has no password
  assert.equal(await rawCommand(/** @type {number} */ (server.port), `CONFIG SET requirepass ${PASSWORD}`), '+OK');
  const store = new SymfonyRedisSessionStore({ url: `redis://:${PASSWORD}@127.0.0.1:${server.port}/0`, prefix: 'app_', useStrictMode: false });
  for (const [i, id] of ids.entries()) {
    await store.update(id, (d) => void d.set('_sf2_attributes', new PhpArray([['user', `u${i}`]])));
  }
  await store.close();
});
after(async () => server.stop?.());

const cli = (/** @type {string} */ password, /** @type {string[]} */ ...args) =>
  sessctl([...args, '--save-handler', 'symfony-redis', '--save-path', `redis://:${password}@127.0.0.1:${server.port}/0`, '--ini', 'symfony.prefix=app_', '--no-php'], { env: { NO_COLOR: '1' } });

test('list and inspect Symfony Redis sessions; the password never printed', needRedis(), () => {
  const list = cli(PASSWORD, 'list', '--json');
  assert.equal(list.code, 0, list.stderr);
  assert.deepEqual(JSON.parse(list.stdout).map((/** @type {any} */ r) => r.id).sort(), ids);
  const inspect = cli(PASSWORD, 'inspect', ids[1]);
  assert.equal(inspect.code, 0, inspect.stderr);
  assert.match(inspect.stdout, /u1/);
  for (const r of [list, inspect]) assert.ok(!(r.stdout + r.stderr).includes(PASSWORD));
});

test('a wrong password: a clear error, neither password printed', needRedis(), () => {
  const r = cli('wrong-Pa55', 'list');
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /127\.0\.0\.1/);
  assert.ok(!(r.stdout + r.stderr).includes('wrong-Pa55'));
  assert.ok(!(r.stdout + r.stderr).includes(PASSWORD));
});
