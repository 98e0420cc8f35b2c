// The CLI on Redis: `--save-handler redis --save-path tcp://…` for list, inspect, destroy,
// stats, validate, convert and gc, on sessions real PHP (phpredis) wrote.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { needRedis, runPhp, hasRedisServer, hasPhpRedis } from '../../helpers/env.js';
import { startRedis, rawCommand } from '../../helpers/redis-server.js';

const enabled = hasRedisServer && hasPhpRedis;
let redis;
const ids = ['cliaaaa000000000000000000000001', 'clibbbb000000000000000000000002', 'clicccc000000000000000000000003'];

before(async () => {
  if (!enabled) return;
  redis = await startRedis();
  runPhp([
    '-d', 'session.save_handler=redis',
    '-d', `session.save_path="${redis.url}"`,
    '-d', 'session.use_cookies=0',
    '-d', 'session.cache_limiter=',
    '-r',
    `foreach (array_slice($argv, 1) as $i => $id) { session_id($id); session_start(); $_SESSION['user'] = "u$i"; $_SESSION['n'] = $i; session_write_close(); }`,
    ...ids,
  ]);
  // a key PHP did not write: no TTL; a corrupt one; a lock key; a foreign key
  await rawCommand(redis.port, 'SET PHPREDIS_SESSION:clinottl00000000000000000000004 "k|i:1;"');
  await rawCommand(redis.port, 'SETEX PHPREDIS_SESSION:clicorrupt0000000000000000000005 1000 "k|s:9:\\"x\\";"');
  await rawCommand(redis.port, `SET PHPREDIS_SESSION:${ids[0]}_LOCK host|1 PX 60000`);
  await rawCommand(redis.port, 'SET other:key x');
});
after(async () => {
  if (redis) await redis.stop();
});

function cli(...args) {
  const r = spawnSync(process.execPath, ['bin/sessctl.js', ...args, '--save-handler', 'redis', '--save-path', redis.url, '--no-php'], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
  return r;
}

test('list: every session (SCAN), _LOCK and foreign keys left out', needRedis(), () => {
  const r = cli('list', '--json');
  assert.equal(r.status, 0, r.stderr);
  const rows = JSON.parse(r.stdout);
  const listed = rows.map((x) => x.id).sort();
  assert.deepEqual(listed, [...ids, 'clicorrupt0000000000000000000005', 'clinottl00000000000000000000004'].sort());
  const a = rows.find((x) => x.id === ids[0]);
  assert.ok(a.location.includes(`PHPREDIS_SESSION:${ids[0]}`));
  // a key without a TTL never expires, and its last write is unknown: not "expired", no made-up age
  const noTtl = rows.find((x) => x.id === 'clinottl00000000000000000000004');
  assert.ok(noTtl.location.includes('no TTL'));
  assert.deepEqual([noTtl.neverExpires, noTtl.expiresInSeconds, noTtl.ageSeconds, noTtl.modified, noTtl.mtimeMs], [true, null, null, null, null]);
  assert.equal(a.neverExpires, undefined);
  assert.ok(a.expiresInSeconds > 0 && a.ageSeconds >= 0);
  const table = cli('list');
  assert.equal(table.status, 0, table.stderr);
  assert.match(table.stdout, new RegExp(ids[1]));
  assert.match(table.stdout, /clinottl00000000000000000000004 .* \? +\? +never /);
  // it matches no age filter: it has no age
  const old = JSON.parse(cli('list', '--older-than', '1s', '--json').stdout).map((x) => x.id);
  const young = JSON.parse(cli('list', '--newer-than', '30d', '--json').stdout).map((x) => x.id);
  assert.ok(!old.includes('clinottl00000000000000000000004') && !young.includes('clinottl00000000000000000000004'));
  assert.ok(young.includes(ids[0]));
  assert.match(cli('inspect', 'clinottl00000000000000000000004').stdout, /modified: unknown, never expires/);
});

test('inspect: one session decoded', needRedis(), () => {
  const r = cli('inspect', ids[1], '--json');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /"user": "u1"/);
  const bad = cli('inspect', '../../etc/passwd');
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /invalid session id/);
});

test('stats and validate see the corrupt session', needRedis(), () => {
  const s = cli('stats', '--json');
  assert.equal(s.status, 0, s.stderr);
  const stats = JSON.parse(s.stdout);
  assert.equal(stats.count, 5);
  assert.equal(stats.corrupt, 1);
  assert.equal(stats.neverExpire, 1);
  assert.equal(stats.expired, 0); // the key without a TTL is not "older than maxlifetime"
  assert.match(cli('stats').stdout, /1 never expire: no TTL/);
  const v = cli('validate');
  assert.equal(v.status, 1);
  assert.match(v.stdout + v.stderr, /clicorrupt0000000000000000000005/);
});

test('gc explains TTL expiry and reports keys without a TTL; deletes nothing', needRedis(), () => {
  const r = cli('gc');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /Redis expires sessions/);
  assert.match(r.stdout, /1 session key\(s\) have NO TTL/);
  assert.match(r.stdout, /PHPREDIS_SESSION:clinottl00000000000000000000004/);
  assert.equal(JSON.parse(cli('list', '--json').stdout).length, 5);
});

test('destroy: under phpredis lock; waits for / refuses a locked session', needRedis(), async () => {
  const locked = cli('destroy', ids[0], '--lock-timeout', '1');
  assert.notEqual(locked.status, 0);
  assert.match(locked.stderr, /lock not acquired within/);
  assert.equal(await rawCommand(redis.port, `EXISTS PHPREDIS_SESSION:${ids[0]}`), ':1');
  assert.equal(await rawCommand(redis.port, `GET PHPREDIS_SESSION:${ids[0]}_LOCK`), '$6'); // the other holder's lock is intact
  const r = cli('destroy', ids[2]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(await rawCommand(redis.port, `EXISTS PHPREDIS_SESSION:${ids[2]}`), ':0');
});

test('convert (every session, under the lock) keeps each TTL and PHP reads the result', needRedis(), async () => {
  const before = Number((await rawCommand(redis.port, `TTL PHPREDIS_SESSION:${ids[1]}`)).slice(1));
  const r = cli('convert', '--to', 'php_serialize', '--lock-timeout', '1');
  // the locked session and the corrupt one cannot be converted: exit 1, the rest is done
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stdout, /converted [1-9]/);
  const after = Number((await rawCommand(redis.port, `TTL PHPREDIS_SESSION:${ids[1]}`)).slice(1));
  assert.ok(after <= before && after > before - 60, `TTL kept: ${before} → ${after}`);
  const out = runPhp(['-d', 'session.save_handler=redis', '-d', `session.save_path="${redis.url}"`, '-d', 'session.use_cookies=0', '-d', 'session.serialize_handler=php_serialize', '-r', 'session_id($argv[1]); session_start(); echo $_SESSION["user"];', ids[1]]);
  assert.equal(out.toString(), 'u1');
  // the session under someone else's lock was left alone (still in the php format)
  const locked = await new Promise((resolve) => resolve(rawCommand(redis.port, `STRLEN PHPREDIS_SESSION:${ids[0]}`)));
  assert.equal(locked, ':20');
});

test('a key of another type under the prefix is reported, the listing goes on', needRedis(), async () => {
  assert.equal(await rawCommand(redis.port, 'RPUSH PHPREDIS_SESSION:clilist0000000000000000000000009 a'), ':1');
  const r = cli('list', '--json');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /PHPREDIS_SESSION:clilist0000000000000000000000009.*WRONGTYPE/);
  const rows = JSON.parse(r.stdout);
  assert.ok(rows.length >= 3);
  assert.ok(!rows.some((x) => x.id === 'clilist0000000000000000000000009'));
});

test('gc with a key of another type under the prefix: counted as an error and named, the report is still made', needRedis(), async () => {
  // Before the fix the first WRONGTYPE reply ended gc with no report at all.
  assert.equal(await rawCommand(redis.port, 'HSET PHPREDIS_SESSION:cligchash000000000000000000000010 f v'), ':1');
  try {
    const r = cli('gc', '--json');
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /PHPREDIS_SESSION:cligchash000000000000000000000010.*WRONGTYPE/);
    assert.doesNotMatch(r.stderr, /\n\s+at /); // no stack trace
    const report = JSON.parse(r.stdout);
    assert.ok(report.errors >= 1);
    assert.ok(report.errorSamples.some((/** @type {any} */ e) => e.path.endsWith('PHPREDIS_SESSION:cligchash000000000000000000000010')));
    assert.ok(report.scanned >= 3);
    assert.equal(report.deleted, 0);
    assert.equal(await rawCommand(redis.port, 'TYPE PHPREDIS_SESSION:cligchash000000000000000000000010'), '+hash');
  } finally {
    await rawCommand(redis.port, 'DEL PHPREDIS_SESSION:cligchash000000000000000000000010');
  }
});

test('maxBytes: a value above it is refused by read() as by open() (ETOOBIG), and the admin source marks it tooBig, unread, for a listing and for one session', needRedis(), async () => {
  const { RedisSessionStore } = await import('sessctl/redis');
  const { RedisAdminSource } = await import('../../../dist/backends/redis/admin-source.js');
  const savePath = `${redis.url}?database=7&prefix=big:`;
  const id = 'clibig0000000000000000000000011';
  const value = `k|s:200:"${'x'.repeat(200)}";`;
  const store = new RedisSessionStore({ savePath, maxBytes: 100 });
  const loc = store.locate(id);
  await /** @type {any} */ (loc.target).send(['SET', loc.key, value], loc.key);
  const admin = new RedisAdminSource({ saveHandler: 'redis', savePath, serializeHandler: 'php', maxlifetime: 1440, maxBytes: 100 });
  try {
    await assert.rejects(store.open(id), { code: 'ETOOBIG' });
    await assert.rejects(store.read(id), { code: 'ETOOBIG' }); // was: decoded regardless of maxBytes
    const listed = [];
    for await (const e of admin.entries({ withData: true })) listed.push([e.id, e.tooBig, e.bytes, e.size]);
    assert.deepEqual(listed, [[id, true, undefined, value.length]]);
    const one = await admin.read(id);
    assert.deepEqual([one?.tooBig, one?.bytes], [true, undefined]);
    assert.equal((await store.readBytes(id))?.toString(), value); // left as it was
  } finally {
    await store.close();
    await admin.close();
  }
});

test('gc names keys without a TTL escaped: a prefix with a control character does not reach the terminal raw', needRedis(), async () => {
  const { RedisSessionStore } = await import('sessctl/redis');
  const savePath = `${redis.url}?database=9&prefix=%1B%5B31mP:`;
  const store = new RedisSessionStore({ savePath });
  const loc = store.locate('cligcesc000000000000000000000012');
  try {
    await /** @type {any} */ (loc.target).send(['SET', loc.key, 'k|i:1;'], loc.key); // no TTL: gc names it
    const r = spawnSync(process.execPath, ['bin/sessctl.js', 'gc', '--save-handler', 'redis', '--save-path', savePath, '--no-php'], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /\\x1b\[31mP:cligcesc000000000000000000000012/);
    assert.ok(!r.stdout.includes('\x1b'), 'a raw ESC in the output'); // was: the note printed the key as stored
  } finally {
    await store.close();
  }
});
