// Several servers in one save_path: we pick the same server as phpredis for every id
// (weights included), so sessions written by either side are found by the other.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { needRedis, runPhp, hasRedisServer, hasPhpRedis } from '../../helpers/env.js';
import { startRedis } from '../../helpers/redis-server.js';
import { RedisSessionStore, parseRedisSavePath, pickServerIndex } from 'sessctl/redis';

const enabled = hasRedisServer && hasPhpRedis;
const servers = [];
let savePath;
let store;
before(async () => {
  if (!enabled) return;
  for (let i = 0; i < 3; i++) servers.push(await startRedis());
  savePath = `${servers[0].url}?weight=1, ${servers[1].url}?weight=2 ${servers[2].url}?weight=3&prefix=w3%3A`;
  store = new RedisSessionStore({ savePath });
});
after(async () => {
  if (store) await store.close();
  for (const s of servers) await s.stop();
});

const phpIni = () => ['-d', 'session.save_handler=redis', '-d', `session.save_path="${savePath}"`, '-d', 'session.use_cookies=0', '-d', 'session.cache_limiter='];

test('PHP spreads 90 ids over 3 weighted servers exactly where pickServerIndex says; we read them all', needRedis(), async () => {
  const out = runPhp([
    ...phpIni(),
    '-r',
    `for ($i = 0; $i < 90; $i++) { $id = session_create_id(); session_id($id); session_start(); $_SESSION['i'] = $i; session_write_close(); echo $id, "\\n"; }`,
  ]).toString();
  const ids = out.trim().split('\n');
  assert.equal(ids.length, 90);
  const sp = parseRedisSavePath(savePath);
  const perServer = [0, 0, 0];
  const { createClient } = await import('redis');
  const clients = await Promise.all(servers.map((s) => createClient({ url: `redis://127.0.0.1:${s.port}` }).connect()));
  try {
    for (const [i, id] of ids.entries()) {
      const expected = pickServerIndex(sp.servers, id);
      perServer[expected]++;
      const prefix = expected === 2 ? 'w3:' : 'PHPREDIS_SESSION:';
      const where = await Promise.all(clients.map((c) => c.exists(prefix + id)));
      assert.deepEqual(where, [0, 1, 2].map((k) => (k === expected ? 1 : 0)), `id ${id}`);
      assert.equal((await store.read(id)).get('i'), i);
    }
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
  // every server got some (weights 1:2:3 over 90 random ids)
  assert.ok(perServer.every((n) => n > 0), String(perServer));
});

test('sessions we write land where PHP looks for them; ids() lists every server', needRedis(), async () => {
  const ids = [];
  for (let i = 0; i < 30; i++) {
    const id = await store.createId();
    ids.push(id);
    await store.update(id, (d) => void d.set('from', `node${i}`));
  }
  const out = runPhp([...phpIni(), '-r', `foreach (array_slice($argv, 1) as $id) { session_id($id); session_start(); echo $_SESSION['from'] ?? 'MISSING', "\\n"; session_write_close(); }`, ...ids]).toString();
  assert.deepEqual(out.trim().split('\n'), ids.map((_, i) => `node${i}`));
  const listed = new Set();
  for await (const id of store.ids()) listed.add(id);
  for (const id of ids) assert.ok(listed.has(id), id);
  assert.equal(listed.size, 120);
});
