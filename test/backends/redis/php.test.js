// Interop with real PHP + phpredis on a real redis-server: PHP writes → we read, we write →
// PHP reads, key/TTL/lazy-write/destroy behave as phpredis does, strict-mode existence, SCAN listing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { needRedis, runPhp } from '../../helpers/env.js';
import { useRedisServer, rawCommand } from '../../helpers/redis-server.js';
import { PhpArray, PhpFloat, PhpObject, DecodeError } from 'sessctl';

const { server: redis, store } = useRedisServer();

/**
 * Runs PHP with the redis save handler on our server; `body` runs after session_start().
 * @param {string} id
 * @param {string} body
 * @param {{ handler?: string, savePath?: string, ini?: Record<string, string | number> }} [options]
 */
function php(id, body, { handler = 'php', savePath, ini = {} } = {}) {
  const args = [
    '-d', 'session.save_handler=redis',
    '-d', `session.save_path="${savePath ?? redis.url}"`,
    '-d', 'session.use_cookies=0',
    '-d', 'session.use_strict_mode=0',
    '-d', `session.serialize_handler=${handler}`,
    '-d', 'session.gc_maxlifetime=1440',
    ...Object.entries(ini).flatMap(([k, v]) => ['-d', `${k}=${v}`]),
    '-r',
    `session_id($argv[1]); if (!session_start()) { fwrite(STDERR, "session_start failed"); exit(3); } ${body}`,
    id,
  ];
  return runPhp(args).toString('utf8');
}

/** Redis command through a raw socket (independent of our client): first reply line. */
const redisCmd = (line) => rawCommand(redis.port, line);

test('PHP writes (php handler) → we read, byte for byte', needRedis(), async () => {
  const id = 'phpwrites0000000000000000000001';
  php(id, `$_SESSION['user'] = 'zoë'; $_SESSION['n'] = 42; $_SESSION['f'] = 1.0; $_SESSION['list'] = [1, 'two', null, true]; $_SESSION['bin'] = "\\xff\\x00\\xfe"; $o = new stdClass; $o->a = 1; $_SESSION['obj'] = $o; echo session_encode();`);
  const s = store();
  const data = await s.read(id);
  assert.ok(data instanceof PhpArray);
  assert.equal(data.get('user'), 'zoë');
  assert.equal(data.get('n'), 42);
  assert.ok(data.get('f') instanceof PhpFloat);
  assert.deepEqual([...data.get('list').values()], [1, 'two', null, true]);
  assert.deepEqual([...data.get('bin')], [0xff, 0x00, 0xfe]);
  assert.ok(data.get('obj') instanceof PhpObject);
  // What we would write back is exactly what PHP stored.
  const stored = await s.readBytes(id);
  assert.ok(Buffer.isBuffer(stored));
  assert.deepEqual(s.encode(data), stored);
  // TTL = gc_maxlifetime, as phpredis's SETEX sets it.
  const info = await s.stat(id);
  assert.ok(info.ttlSeconds > 1400 && info.ttlSeconds <= 1440, String(info.ttlSeconds));
  assert.equal(info.size, stored.length);
  assert.equal(info.key, `PHPREDIS_SESSION:${id}`);
});

for (const handler of /** @type {const} */ (['php_serialize', 'php_binary'])) {
  test(`PHP writes (${handler}) → we read; we write → PHP reads`, needRedis(), async () => {
    const id = `h${handler.replace('_', '')}0000000000000000000000`.slice(0, 32);
    php(id, `$_SESSION['a'] = ['x' => "\\xc3\\xa9", 7 => -1.5]; $_SESSION['b'] = PHP_INT_MAX;`, { handler });
    const s = store({ serializeHandler: handler });
    const data = await s.read(id);
    assert.equal(data.get('b'), 9223372036854775807n);
    await s.update(id, (d) => {
      d.set('c', 'from node');
    });
    const out = php(id, `echo json_encode($_SESSION);`, { handler });
    assert.deepEqual(JSON.parse(out), { a: { x: 'é', 7: -1.5 }, b: 9223372036854775807, c: 'from node' });
  });
}

test('we write → PHP reads (including bytes that are not UTF-8)', needRedis(), async () => {
  const s = store();
  const id = await s.createId();
  assert.match(id, /^[0-9a-v]{32}$/);
  const h = await s.open(id);
  assert.equal(h.isNew, true);
  h.data.set('name', 'node');
  h.data.set('raw', Buffer.from([0xc3, 0x28, 0x00]));
  h.data.set('nested', PhpArray.of(1, 2, 3));
  await h.save();
  await h.close();
  const out = php(id, `echo bin2hex($_SESSION['raw']), ' ', $_SESSION['name'], ' ', implode(',', $_SESSION['nested']);`);
  assert.equal(out, 'c32800 node 1,2,3');
  // and PHP's own encoding of what it read is what we stored
  const phpBytes = runPhp(['-d', 'session.save_handler=redis', '-d', `session.save_path=${redis.url}`, '-d', 'session.use_cookies=0', '-r', 'session_id($argv[1]); session_start(); echo session_encode();', id]);
  assert.deepEqual(phpBytes, await s.readBytes(id));
});

test('keys use the save_path prefix and database; PHP and we meet there', needRedis(), async () => {
  const savePath = `${redis.url}?prefix=myapp%3A&database=2`;
  const id = 'prefixed000000000000000000000001';
  php(id, `$_SESSION['k'] = 'v';`, { savePath });
  assert.equal(await redisCmd(`SELECT 2`), '+OK');
  const s = store({ savePath });
  assert.equal((await s.read(id)).get('k'), 'v');
  assert.equal((await s.stat(id)).key, `myapp:${id}`);
  // not visible under the default prefix / database 0
  assert.equal(await store().read(id), null);
});

test('lazy write: unchanged data only refreshes the TTL (EXPIRE), changed data is SETEX', needRedis(), async () => {
  const s = store({ gcMaxlifetime: 1000 });
  const id = 'lazywrite00000000000000000000001';
  await s.update(id, (d) => void d.set('x', 1));
  assert.equal(await redisCmd(`EXPIRE PHPREDIS_SESSION:${id} 50`), ':1');
  const h = await s.open(id);
  const before = await s.readBytes(id);
  await h.save(); // same bytes
  await h.close();
  const ttl = (await s.stat(id)).ttlSeconds;
  assert.ok(ttl > 900, `TTL refreshed to gc_maxlifetime, got ${ttl}`);
  assert.deepEqual(await s.readBytes(id), before);
  // with lazyWrite off the same bytes are written again (SETEX): still identical content
  const eager = store({ lazyWrite: false, gcMaxlifetime: 777 });
  await eager.update(id, () => {});
  const t2 = (await eager.stat(id)).ttlSeconds;
  assert.ok(t2 <= 777 && t2 > 700, String(t2));
  // a new, empty session is not created by a lazy save of nothing (PHP does not create it either)
  const fresh = await s.createId();
  const hf = await s.open(fresh);
  await hf.save();
  await hf.close();
  assert.equal(await s.exists(fresh), false);
});

test('destroy → DEL (PHP sees an empty session), touch → EXPIRE, exists → EXISTS', needRedis(), async () => {
  const s = store();
  const id = 'destroyme0000000000000000000001';
  php(id, `$_SESSION['a'] = 1;`);
  assert.equal(await s.exists(id), true);
  assert.equal(await s.touch(id), true);
  assert.equal(await s.destroy(id), true);
  assert.equal(await s.destroy(id), false);
  assert.equal(await s.exists(id), false);
  assert.equal(await s.touch(id), false);
  assert.equal(php(id, `echo count($_SESSION);`), '0');
  assert.equal(await s.exists('../etc/passwd'), false);
  await assert.rejects(s.read('bad id!'), /invalid session id/);
  // PHP's session_destroy() is seen by us
  await s.update(id, (d) => void d.set('b', 2));
  php(id, `session_destroy();`);
  assert.equal(await s.read(id), null);
});

test('handle.destroy and regenerateId (old deleted or kept, data moved)', needRedis(), async () => {
  const s = store();
  const id = 'regen0000000000000000000000001';
  await s.update(id, (d) => void d.set('u', 'alice'));
  const h = await s.open(id);
  const newId = await h.regenerateId(true);
  assert.notEqual(newId, id);
  assert.equal(h.id, newId);
  assert.equal(await s.exists(id), false);
  h.data.set('after', true);
  await h.save();
  await h.close();
  assert.equal(php(newId, `echo $_SESSION['u'], $_SESSION['after'] ? '+' : '-';`), 'alice+');
  const h2 = await s.open(newId);
  const third = await h2.regenerateId(false);
  await h2.close();
  assert.equal((await s.read(newId)).get('u'), 'alice');
  assert.equal((await s.read(third)).get('u'), 'alice');
  const h3 = await s.open(third);
  await h3.destroy();
  assert.equal(await s.exists(third), false);
  await assert.rejects(h3.save(), /closed/);
});

test('corrupt stored bytes → DecodeError naming the key; nothing is deleted', needRedis(), async () => {
  const s = store();
  const id = 'corrupt000000000000000000000001';
  assert.equal(await redisCmd(`SET PHPREDIS_SESSION:${id} "a|s:5:\\"x\\";"`), '+OK');
  await assert.rejects(s.read(id), (e) => e instanceof DecodeError && e.message.includes(`PHPREDIS_SESSION:${id}`));
  await assert.rejects(s.open(id), DecodeError);
  assert.equal(await s.exists(id), true);
});

test('ids() and sessions() stream via SCAN: prefix only, _LOCK keys and foreign keys left out, TTL-less reported', needRedis(), async () => {
  const savePath = `${redis.url}?database=5`;
  const s = store({ savePath });
  const made = new Set();
  for (let i = 0; i < 1200; i++) {
    const id = `scan${String(i).padStart(28, '0')}`;
    made.add(id);
  }
  // bulk-create through our own store, concurrently
  const ids = [...made];
  for (let i = 0; i < ids.length; i += 200) {
    await Promise.all(ids.slice(i, i + 200).map((id) => s.update(id, (d) => void d.set('i', 1))));
  }
  await redisCmd('SELECT 5');
  const c = await import('redis');
  const raw = c.createClient({ url: `redis://127.0.0.1:${redis.port}/5` });
  await raw.connect();
  await raw.set(`PHPREDIS_SESSION:${ids[0]}_LOCK`, 'host|1');
  await raw.set('OTHER:abc', 'x');
  await raw.set('PHPREDIS_SESSION:bad.id', 'x');
  await raw.set('PHPREDIS_SESSION:nottl0000000000000000000000001', 'a|i:1;');
  await raw.close();
  const listed = [];
  for await (const id of s.ids()) listed.push(id);
  assert.equal(listed.length, 1201);
  assert.equal(new Set(listed).size, 1201);
  assert.ok(!listed.some((x) => x.endsWith('_LOCK')));
  const noTtl = [];
  for await (const info of s.sessions()) if (info.ttlSeconds === null) noTtl.push(info.id);
  assert.deepEqual(noTtl, ['nottl0000000000000000000000001']);
});

test('a prefix with glob characters is matched literally by SCAN (PHP wrote the sessions)', needRedis(), async () => {
  const savePath = `${redis.url}?prefix=we%2Aird%5B1%5D%3A&database=7`;
  const ids = ['globaaaa00000000000000000000001', 'globbbbb00000000000000000000002'];
  for (const id of ids) php(id, `$_SESSION['x'] = 1;`, { savePath });
  const c = await import('redis');
  const raw = c.createClient({ url: `redis://127.0.0.1:${redis.port}/7` });
  await raw.connect();
  assert.equal(await raw.exists(`we*ird[1]:${ids[0]}`), 1);
  await raw.set('weXXird1:globcccc00000000000000000000003', 'x|i:1;'); // matches the unescaped glob
  await raw.close();
  const listed = [];
  for await (const id of store({ savePath }).ids()) listed.push(id);
  assert.deepEqual(listed.sort(), ids);
});
