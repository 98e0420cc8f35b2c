// phpredis's `rediscluster` handler against a real 3-master Redis Cluster on loopback:
// PHP writes → we read, we write → PHP reads, ids() scans every master.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { needRedis, runPhp, hasRedisServer, hasPhpRedis } from '../../helpers/env.js';
import { startRedis, rawCommand } from '../../helpers/redis-server.js';
import { sessctl } from '../../helpers/cli.js';
import { pollUntil } from '../../helpers/server-process.js';
import { RedisSessionStore } from 'sessctl/redis';

const hasRedisCli = spawnSync('redis-cli', ['--version']).status === 0;
const enabled = hasRedisServer && hasPhpRedis && hasRedisCli;
const nodes = [];
let savePath;
let store;

before(async () => {
  if (!enabled) return;
  for (let i = 0; i < 3; i++) nodes.push(await startRedis({ extraArgs: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000'] }));
  const r = spawnSync('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cluster create failed: ${r.stdout}${r.stderr}`);
  await pollUntil(async () => (await Promise.all(nodes.map((n) => clusterOk(n.port)))).every(Boolean), { what: 'the Redis cluster', everyMs: 50 });
  savePath = nodes.map((n) => `seed[]=127.0.0.1:${n.port}`).join('&') + '&timeout=2&read_timeout=2';
  store = new RedisSessionStore({ saveHandler: 'rediscluster', savePath });
});
after(async () => {
  if (store) await store.close();
  for (const n of nodes) await n.stop();
});

function clusterOk(port) {
  const r = spawnSync('redis-cli', ['-p', String(port), 'cluster', 'info'], { encoding: 'utf8' });
  return r.stdout.includes('cluster_state:ok');
}

const php = (args) =>
  runPhp(['-d', 'session.save_handler=rediscluster', '-d', `session.save_path="${savePath}"`, '-d', 'session.use_cookies=0', '-d', 'session.cache_limiter=', ...args]).toString();

/** needRedis(), plus redis-cli (it creates the cluster; Debian ships it with redis-server). */
function clusterNeeds() {
  const base = needRedis();
  if (base.skip || hasRedisCli) return base;
  process.stderr.write('\n!!! redis-cli is not installed: SKIPPING the Redis Cluster tests\n');
  return { skip: 'redis-cli is not installed' };
}

test('PHP (rediscluster) writes 40 sessions across the masters → we read them and list them', clusterNeeds(), async () => {
  const out = php(['-r', `for ($i = 0; $i < 40; $i++) { $id = session_create_id(); session_id($id); session_start(); $_SESSION['i'] = $i; session_write_close(); echo $id, "\\n"; }`]);
  const ids = out.trim().split('\n');
  assert.equal(ids.length, 40);
  for (const [i, id] of ids.entries()) {
    assert.equal((await store.read(id)).get('i'), i);
    const info = await store.stat(id);
    assert.equal(info.key, `PHPREDIS_CLUSTER_SESSION:${id}`);
    assert.ok(info.ttlSeconds > 1000);
  }
  // the keys really are spread over several masters
  const perNode = nodes.map((n) => Number(spawnSync('redis-cli', ['-p', String(n.port), 'dbsize'], { encoding: 'utf8' }).stdout.trim()));
  assert.ok(perNode.filter((x) => x > 0).length >= 2, String(perNode));
  const listed = new Set();
  for await (const id of store.ids()) listed.add(id);
  for (const id of ids) assert.ok(listed.has(id), id);
});

test('we write → PHP (rediscluster) reads; destroy reaches the right node', clusterNeeds(), async () => {
  const ids = [];
  for (let i = 0; i < 10; i++) {
    const id = await store.createId();
    ids.push(id);
    await store.update(id, (d) => void d.set('from', `node${i}`));
  }
  const out = php(['-r', `foreach (array_slice($argv, 1) as $id) { session_id($id); session_start(); echo $_SESSION['from'] ?? 'MISSING', "\\n"; session_write_close(); }`, ...ids]);
  assert.deepEqual(out.trim().split('\n'), ids.map((_, i) => `node${i}`));
  assert.equal(await store.destroy(ids[0]), true);
  assert.equal(await store.exists(ids[0]), false);
});

const redisCli = (/** @type {number} */ port, /** @type {string[]} */ ...args) => spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' }).stdout.trim();

test('the CLI writes into the cluster: set (rewrite) and migrate --to rediscluster (put), though a session and its _LOCK key hash to different slots', clusterNeeds(), async () => {
  // sessions PHP wrote, whose lock key lives on another slot (CROSSSLOT for a two-key script)
  const out = php(['-r', `for ($i = 0; $i < 5; $i++) { $id = session_create_id(); session_id($id); session_start(); $_SESSION['user'] = "u$i"; session_write_close(); echo $id, "\\n"; }`]);
  const ids = out.trim().split('\n');
  const slot = (/** @type {string} */ key) => redisCli(nodes[0].port, 'cluster', 'keyslot', key);
  const id = ids.find((i) => slot(`PHPREDIS_CLUSTER_SESSION:${i}`) !== slot(`PHPREDIS_CLUSTER_SESSION:${i}_LOCK`));
  assert.ok(id, 'an id whose lock key is on another slot');
  const ttlBefore = (await store.stat(id)).ttlSeconds;
  const set = sessctl(['set', id, 'user', '"changed"', '--save-handler', 'rediscluster', '--save-path', savePath, '--no-php']);
  assert.equal(set.code, 0, set.stderr);
  assert.equal(php(['-r', `session_id($argv[1]); session_start(); echo $_SESSION['user'];`, id]), 'changed');
  assert.ok((await store.stat(id)).ttlSeconds <= ttlBefore, 'the TTL is kept');

  // migrate from a single server into the cluster
  const single = await startRedis();
  try {
    const fromIds = runPhp(['-d', 'session.save_handler=redis', '-d', `session.save_path="${single.url}"`, '-d', 'session.use_cookies=0', '-d', 'session.cache_limiter=', '-r', `for ($i = 0; $i < 6; $i++) { $id = session_create_id(); session_id($id); session_start(); $_SESSION['m'] = $i; session_write_close(); echo $id, "\\n"; }`]).toString().trim().split('\n');
    const mig = sessctl(['migrate', '--save-handler', 'redis', '--save-path', single.url, '--to-save-handler', 'rediscluster', '--to-save-path', savePath, '--no-php']);
    assert.equal(mig.code, 0, mig.stderr);
    assert.match(mig.stdout + mig.stderr, /moved 6,.*failed 0/);
    const got = php(['-r', `foreach (array_slice($argv, 1) as $id) { session_id($id); session_start(); echo $_SESSION['m'] ?? 'MISSING', "\\n"; session_write_close(); }`, ...fromIds]);
    assert.deepEqual(got.trim().split('\n'), fromIds.map((_, i) => String(i)));
  } finally {
    await single.stop();
  }
});

test('connections the cluster dropped (CLIENT KILL on every master) are opened again by the next calls', clusterNeeds(), async () => {
  const s = new RedisSessionStore({ saveHandler: 'rediscluster', savePath });
  try {
    const ids = [];
    for (let i = 0; i < 12; i++) {
      const id = await s.createId();
      await s.update(id, (d) => void d.set('i', i));
      ids.push(id);
    }
    for (const n of nodes) assert.match(await rawCommand(n.port, 'CLIENT KILL TYPE normal SKIPME yes'), /^:\d+$/);
    // the first calls may see the closed connections; each failure is a connection error
    for (const id of ids) await s.read(id).catch((/** @type {any} */ e) => assert.equal(e.code, 'EBACKENDCONN', e.message));
    // then every session is reachable again (no connection stays closed for good)
    for (const [i, id] of ids.entries()) assert.equal((await s.read(id)).get('i'), i);
    const listed = [];
    for await (const id of s.ids()) listed.push(id);
    for (const id of ids) assert.ok(listed.includes(id), id);
  } finally {
    await s.close();
  }
});

test('a login the cluster refuses says why (WRONGPASS), without the password', clusterNeeds(), async () => {
  const s = new RedisSessionStore({ saveHandler: 'rediscluster', savePath: `${savePath}&auth[]=nobody&auth[]=s3cr3t-pw` });
  try {
    await assert.rejects(s.read('wrongpass0000000000000000001'), (/** @type {any} */ e) => {
      assert.equal(e.code, 'EBACKENDCONN');
      assert.match(e.message, /WRONGPASS/);
      assert.doesNotMatch(e.message, /s3cr3t/);
      return true;
    });
  } finally {
    await s.close();
  }
});
