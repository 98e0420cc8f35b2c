// Several memcached servers: Laravel's MemcachedConnector adds them in config order and sets no
// distribution, so libmemcached picks modula of the one-at-a-time hash of the whole key. Node
// must pick the same server for every session, both ways.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { LaravelMemcachedSessionStore } from 'sessctl/laravel-memcached';
import { hasLaravel, hasMemcachedServer, hasPhpMemcached, needLaravelMemcached } from '../../helpers/env.js';
import { useMemcached } from '../../helpers/memcached-server.js';
import { phpLines } from '../../helpers/php-lines.js';

const script = fileURLToPath(new URL('../../../fixtures/laravel/session.php', import.meta.url));
const mc = useMemcached(2);
/** @type {ReturnType<typeof phpLines> | undefined} */
let php;
before(() => {
  if (hasLaravel && hasMemcachedServer && hasPhpMemcached) php = phpLines(script);
});
after(async () => php?.close());

test('two servers: each session Laravel writes is read by Node, and each Node writes is read by Laravel; both servers hold some', needLaravelMemcached(), async () => {
  const conf = { driver: 'memcached', memcachedPorts: mc.servers.map((s) => s.port), cachePrefix: 'multi_cache' };
  const ask = (/** @type {object} */ q) => /** @type {any} */ (php).ask({ ...conf, op: 'request', key: Buffer.alloc(32).toString('base64'), name: 'laravel_session', ...q });
  const store = new LaravelMemcachedSessionStore({ servers: mc.savePath, prefix: 'multi_cache:' });
  try {
    const perServer = new Map();
    for (let i = 0; i < 24; i++) {
      const { id } = await ask({ cookie: null, ops: [['put', 'i', i]] });
      assert.equal((await store.read(id))?.get('i'), i, id);
      const where = store.memcached.where(id).split(' ')[0];
      perServer.set(where, (perServer.get(where) ?? 0) + 1);
      const mine = await store.createId();
      await store.update(mine, (d) => void d.set('from', `node${i}`));
      // Laravel's increment keeps what Node wrote only if it read it from the server Node chose.
      assert.deepEqual(await /** @type {any} */ (php).ask({ ...conf, op: 'increments', id: mine, n: 1, key: 'n' }), { undecodable: 0 });
      const back = await store.read(mine);
      assert.equal(back?.get('from'), `node${i}`);
      assert.equal(back?.get('n'), 1);
    }
    assert.equal(perServer.size, 2, JSON.stringify([...perServer]));
    const listed = [];
    for await (const id of store.ids()) listed.push(id);
    assert.equal(listed.length, 48);
  } finally {
    await store.close();
  }
});
