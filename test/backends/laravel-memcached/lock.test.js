// Laravel's session block lock on memcached as Node takes it: the key and value Laravel's
// MemcachedLock uses, and writes refused once the lock is someone else's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LaravelMemcachedSessionStore } from 'sessctl/laravel-memcached';
import { needMemcached } from '../../helpers/env.js';
import { mcText, useMemcached } from '../../helpers/memcached-server.js';

const mc = useMemcached(1);
const ID = 'MemLockTest00000000000000000000000000000';

test('the lock Node holds is Laravel\'s: <prefix>session:<id> holding a 16-character owner, gone after close', needMemcached(), async () => {
  const store = new LaravelMemcachedSessionStore({ servers: mc.savePath, prefix: 'laravel_cache:', lockSeconds: 7 });
  const port = mc.servers[0].port;
  const h = await store.open(ID);
  try {
    const got = await mcText(port, `get laravel_cache:session:${ID}`, { until: /END\r\n/ });
    assert.match(got, new RegExp(`^VALUE laravel_cache:session:${ID} 0 16\\r\\n[A-Za-z0-9]{16}\\r\\nEND`));
  } finally {
    await h.close();
  }
  assert.equal(await mcText(port, `get laravel_cache:session:${ID}`, { until: /END\r\n/ }), 'END\r\n');
  await store.close();
});

test('a lock that expired and was taken by another request: Node\'s save and destroy change nothing (ELOCKLOST), the other lock stays', needMemcached(), async () => {
  const store = new LaravelMemcachedSessionStore({ servers: mc.savePath, prefix: 'lost:', lockPollMs: 2 });
  const port = mc.servers[0].port;
  try {
    await store.update(ID, (d) => void d.set('v', 'before'));
    const h = await store.open(ID);
    await mcText(port, `delete lost:session:${ID}`);
    await mcText(port, `set lost:session:${ID} 0 0 16\r\nSomeoneElse12345`, { until: /STORED/ });
    h.data.set('v', 'stale');
    await assert.rejects(h.save(), { code: 'ELOCKLOST' });
    await assert.rejects(h.destroy(), { code: 'ELOCKLOST' });
    await h.close();
    assert.equal((await store.read(ID))?.get('v'), 'before');
    assert.match(await mcText(port, `get lost:session:${ID}`, { until: /END\r\n/ }), /SomeoneElse12345/);
  } finally {
    await store.close();
  }
});
