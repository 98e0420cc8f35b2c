// The CLI on Symfony's RedisSessionHandler keys: `--save-handler symfony-redis --save-path
// redis://…` (`--ini symfony.prefix=…`), on a password-protected redis-server: the password is
// used and never printed; and migrate from a files save path into them.
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

test('migrate: a files save path → symfony-redis (--to-ini symfony.prefix), verified; Node reads them under Symfony\'s key with their remaining lifetime', needRedis(), async () => {
  const { FileSessionStore } = await import('sessctl/files');
  const { tempDir, removeDir } = await import('../../helpers/cli.js');
  const dir = tempDir('sf-migrate');
  try {
    const files = new FileSessionStore({ savePath: dir, useStrictMode: false });
    const moved = ['sfmigaaaa0000000000000000000001', 'sfmigbbbb0000000000000000000002'];
    for (const id of moved) await files.update(id, (d) => void d.set('_sf2_attributes', new PhpArray([['who', id]])));
    const r = sessctl(
      ['migrate', '--save-path', dir, '--maxlifetime', '1440', '--no-php', '--to-save-handler', 'symfony-redis', '--to-save-path', `redis://:${PASSWORD}@127.0.0.1:${server.port}/1`, '--to-ini', 'symfony.prefix=mig_', '--verify', '--json'],
      { env: { NO_COLOR: '1' } },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!(r.stdout + r.stderr).includes(PASSWORD));
    const store = new SymfonyRedisSessionStore({ url: `redis://:${PASSWORD}@127.0.0.1:${server.port}/1`, prefix: 'mig_' });
    try {
      for (const id of moved) {
        assert.equal((await store.read(id))?.get('_sf2_attributes').get('who'), id);
        const loc = store.locate(id);
        const ttl = Number(await loc.target.send(['TTL', loc.key], loc.key));
        assert.ok(ttl > 1300 && ttl <= 1440, `TTL ${ttl}`);
      }
    } finally {
      await store.close();
    }
  } finally {
    removeDir(dir);
  }
});

test('gc with a hash under the prefix: counted as an error and named, the report is still made', needRedis(), async () => {
  // Before the fix the WRONGTYPE reply ended gc with no report at all.
  const store = new SymfonyRedisSessionStore({ url: `redis://:${PASSWORD}@127.0.0.1:${server.port}/0`, prefix: 'app_', useStrictMode: false });
  const loc = /** @type {any} */ (store).locate('sfcligchash000000000000000000009');
  try {
    await loc.target.send(['HSET', loc.key, 'f', 'v'], loc.key);
    const r = cli(PASSWORD, 'gc', '--json');
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /app_sfcligchash000000000000000000009.*WRONGTYPE/);
    const report = JSON.parse(r.stdout);
    assert.equal(report.errors, 1);
    assert.equal(report.scanned, ids.length);
    assert.equal(String(await loc.target.send(['TYPE', loc.key], loc.key)), 'hash');
  } finally {
    await loc.target.send(['DEL', loc.key], loc.key);
    await store.close();
  }
});
