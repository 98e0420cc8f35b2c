// The CLI on Memcached: `--save-handler memcached --save-path host:port` for list (metadump),
// inspect (--json equals PHP's json_encode($_SESSION)), stats, validate, destroy, convert and gc,
// on sessions real PHP (php-memcached) wrote.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { needMemcached, PHP, runPhp } from '../../helpers/env.js';
import { iniArgs, phpHolding } from '../../helpers/php-run.js';
import { mcText, startMemcached, useMemcached } from '../../helpers/memcached-server.js';

const mc = useMemcached(2);
const ids = ['mcliaaaa00000000000000000000001', 'mclibbbb00000000000000000000002', 'mclicccc00000000000000000000003'];
const ini = () => ({ 'session.save_handler': 'memcached', 'session.save_path': mc.savePath, 'session.use_cookies': '0', 'session.use_strict_mode': '0', 'session.gc_maxlifetime': '1000' });
let seeded = false;

function seed() {
  if (seeded) return;
  seeded = true;
  runPhp([...iniArgs(ini()), '-r', `
    foreach (array_slice($argv, 1) as $i => $id) { session_id($id); session_start(); $_SESSION['user'] = "u$i"; $_SESSION['n'] = $i; $_SESSION['f'] = 0.1 + $i; $_SESSION['utf8'] = "caf\u{e9} \u{1F600}"; $_SESSION['nested'] = ['a' => [1, [2, null]], 5 => true, 'e' => []]; session_write_close(); }`, '--', ...ids]);
}

function cli(...args) {
  seed();
  return spawnSync(process.execPath, ['bin/sessctl.js', ...args, '--save-handler', 'memcached', '--save-path', mc.savePath, '--no-php'], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', SESSCTL_MAXLIFETIME: '1000' } });
}

test('inspect ID --json equals PHP’s json_encode($_SESSION)', needMemcached(), () => {
  for (const id of ids) {
    const r = cli('inspect', id, '--json');
    assert.equal(r.status, 0, r.stderr);
    const php = runPhp([...iniArgs(ini()), '-r', `session_id($argv[1]); session_start(); echo json_encode($_SESSION);`, '--', id]).toString();
    assert.deepEqual(JSON.parse(r.stdout), JSON.parse(php));
  }
  const bad = cli('inspect', '../../etc/passwd');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /invalid session id/);
});

test('list: every session from every server (lru_crawler metadump), lock items and foreign keys left out', needMemcached(), async () => {
  seed();
  await mcText(mc.servers[0].port, 'set other:key 0 0 1\r\nx', { until: /STORED/ });
  await mcText(mc.servers[1].port, `set memc.sess.key.lock.${ids[0]} 0 0 1\r\n1`, { until: /STORED/ });
  const r = cli('list', '--json');
  assert.equal(r.status, 0, r.stderr);
  const rows = JSON.parse(r.stdout);
  assert.deepEqual(rows.map((x) => x.id).sort(), [...ids].sort());
  for (const row of rows) {
    assert.match(row.location, /^127\.0\.0\.1:\d+ memc\.sess\.key\./);
    assert.ok(row.expiresInSeconds > 990 && row.expiresInSeconds <= 1000, String(row.expiresInSeconds));
  }
  await mcText(mc.servers[1].port, `delete memc.sess.key.lock.${ids[0]}`);
});

test('stats and validate; gc explains that memcached expires keys itself', needMemcached(), () => {
  const s = cli('stats', '--json');
  assert.equal(s.status, 0, s.stderr);
  assert.equal(JSON.parse(s.stdout).count, 3);
  assert.equal(cli('validate').status, 0);
  const g = cli('gc');
  assert.equal(g.status, 0, g.stderr);
  assert.match(g.stdout, /memcached expires sessions by itself/);
});

test('destroy: under php-memcached’s lock; refuses a session PHP holds', needMemcached(), async () => {
  const holder = phpHolding(ini(), ids[0]);
  await holder.ready;
  const locked = cli('destroy', ids[0], '--lock-timeout', '1');
  assert.notEqual(locked.status, 0);
  assert.match(locked.stderr, /lock not acquired within/);
  holder.release();
  assert.equal((await holder.done).code, 0);
  const r = cli('destroy', ids[2]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(cli('list', '--json').stdout).length, 2);
});

test('convert --to igbinary keeps each TTL; PHP with serialize_handler=igbinary reads the result', needMemcached(), async () => {
  const r = cli('convert', '--to', 'igbinary');
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const row = JSON.parse(cli('list', '--json', '--serialize-handler', 'igbinary').stdout).find((x) => x.id === ids[1]);
  assert.equal(row.handler, 'igbinary');
  assert.ok(row.expiresInSeconds > 900, String(row.expiresInSeconds));
  const out = runPhp([...iniArgs({ ...ini(), 'session.serialize_handler': 'igbinary' }), '-r', 'session_id($argv[1]); session_start(); echo $_SESSION["user"];', '--', ids[1]]);
  assert.equal(out.toString(), 'u1');
});

test('a server that cannot list, or is not there, says so clearly (exit code, no stack trace)', needMemcached(), async () => {
  const noCrawler = await startMemcached({ extraArgs: ['-o', 'no_lru_crawler'] });
  try {
    // A server that answers but cannot list: the command failed (1). No server at all: the
    // storage is not there, which every command reports the same way (2, as a missing save path).
    /** @type {Array<[string, RegExp, number]>} */
    const cases = [
      [noCrawler.url, /cannot list sessions: the server answered "CLIENT_ERROR lru crawler disabled"/, 1],
      ['127.0.0.1:1', /127\.0\.0\.1:1.*connection failed/, 2],
    ];
    for (const [savePath, message, code] of cases) {
      const r = spawnSync(process.execPath, ['bin/sessctl.js', 'list', '--save-handler', 'memcached', '--save-path', savePath, '--no-php'], { encoding: 'utf8' });
      assert.equal(r.status, code, r.stderr);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    }
  } finally {
    await noCrawler.stop();
  }
});

test('php-memcached directives come from --ini, from --php-ini, or from the php binary', needMemcached(), () => {
  const dir = mkdtempSync(join(tmpdir(), 'sessctl-mcini-'));
  try {
    const id = 'mcliprefix0000000000000000000001';
    runPhp([...iniArgs({ ...ini(), 'memcached.sess_prefix': 'app2.' }), '-r', `session_id($argv[1]); session_start(); $_SESSION['p'] = 'app2'; session_write_close();`, '--', id]);
    const base = ['bin/sessctl.js', 'inspect', id, '--json', '--save-handler', 'memcached', '--save-path', mc.savePath];
    const run = (args, env = {}) => spawnSync(process.execPath, [...base, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
    assert.notEqual(run(['--no-php']).status, 0, 'not found under the default prefix');
    assert.equal(JSON.parse(run(['--no-php', '--ini', 'memcached.sess_prefix=app2.']).stdout).p, 'app2');
    const iniFile = join(dir, 'php.ini');
    writeFileSync(iniFile, '[memcached]\nmemcached.sess_prefix = "app2."\n');
    assert.equal(JSON.parse(run(['--php-ini', iniFile]).stdout).p, 'app2');
    const wrapper = join(dir, 'php');
    writeFileSync(wrapper, `#!/bin/sh\nexec ${PHP} -d memcached.sess_prefix=app2. "$@"\n`);
    chmodSync(wrapper, 0o755);
    const r = run([], { SESSCTL_PHP_BINARY: wrapper });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).p, 'app2');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sess_lock_expire and sess_lock_retries below zero are taken as php-memcached takes them (max_execution_time; one attempt), not refused', needMemcached(), () => {
  const id = 'mclineg000000000000000000000001';
  // PHP runs sessions with these values (the lock never expires in the CLI: max_execution_time 0).
  const php = runPhp([...iniArgs({ ...ini(), 'memcached.sess_lock_expire': '-1', 'memcached.sess_lock_retries': '-1' }), '-r', `session_id($argv[1]); echo session_start() ? 'started' : 'failed'; $_SESSION['user'] = 'neg'; session_write_close();`, '--', id]).toString();
  assert.equal(php, 'started');
  const r = cli('inspect', id, '--json', '--ini', 'memcached.sess_lock_expire=-1', '--ini', 'memcached.sess_lock_retries=-1');
  assert.equal(r.status, 0, r.stderr); // was exit 2: "lockExpireSeconds … must be an integer ≥ 0"
  assert.equal(JSON.parse(r.stdout).user, 'neg');
  const d = cli('destroy', id, '--ini', 'memcached.sess_lock_expire=-5', '--ini', 'memcached.sess_lock_retries=-3');
  assert.equal(d.status, 0, d.stderr);
});

test('listing sees every session while reads move items between LRU segments (metadump walks the hash table)', needMemcached(), async () => {
  const store = mc.store();
  const mine = Array.from({ length: 6 }, (_, i) => `mlrureads${i}000000000000000000000`.slice(0, 32));
  for (const id of mine) await store.update(id, (d) => void d.set('n', id));
  for (let round = 0; round < 60; round++) {
    await store.read(mine[round % mine.length]); // a read bumps the item in its LRU
    const seen = [];
    for await (const id of store.ids()) if (mine.includes(id)) seen.push(id);
    assert.equal(seen.length, mine.length, `round ${round}: ${seen.length} of ${mine.length} listed`);
  }
});

test('maxBytes: the admin source marks a session above it tooBig, unread, for one session (inspect, set, migrate) as for a listing', needMemcached(), async () => {
  const { MemcachedSessionStore } = await import('sessctl/memcached');
  const { MemcachedAdminSource } = await import('../../../dist/backends/memcached/admin-source.js');
  const id = 'mclibig000000000000000000000011';
  const value = `k|s:200:"${'x'.repeat(200)}";`;
  const store = new MemcachedSessionStore({ savePath: mc.savePath, prefix: 'big.', maxBytes: 100 });
  const admin = new MemcachedAdminSource({ savePath: mc.savePath, serializeHandler: 'php', maxlifetime: 1440, maxBytes: 100, ini: { 'memcached.sess_prefix': 'big.' } });
  try {
    await store.writeRaw(id, Buffer.from(value));
    await assert.rejects(store.read(id), { code: 'ETOOBIG' });
    const one = await admin.read(id); // was: handed on with its bytes, and decoded
    assert.deepEqual([one?.tooBig, one?.bytes, one?.size], [true, undefined, value.length]);
    const listed = [];
    for await (const e of admin.entries({ withData: true })) listed.push([e.id, e.tooBig, e.bytes]);
    assert.deepEqual(listed, [[id, true, undefined]]);
  } finally {
    await store.close();
    await admin.close();
  }
});

test('boolean directives (memcached.sess_locking) are read as PHP reads them: on, yes, true, any number but 0; off otherwise', needMemcached(), async () => {
  const { optionsFromIni } = await import('../../../dist/backends/memcached/admin-source.js');
  const values = ['1', '2', '-1', '0', '00', '', 'On', 'YES', 'true', 'off', 'no', 'none', 'x1', '1x', '4294967296', '4294967297', '99999999999999999999'];
  values.forEach((v, i) => {
    // PHP holds the session open while it reports whether php-memcached made its lock key.
    const php = runPhp([...iniArgs({ ...ini(), 'memcached.sess_prefix': 'bool.', 'memcached.sess_locking': v }), '-r', `
      session_id('mclibool${i}' . str_repeat('0', 20)); session_start(); $locked = false;
      foreach (explode(',', ini_get('session.save_path')) as $s) { [$h, $p] = explode(':', trim($s)); $c = new Memcached(); $c->addServer($h, (int)$p); $locked = $locked || $c->get('bool.lock.' . session_id()) !== false; }
      echo $locked ? 'on' : 'off'; session_destroy();`]).toString();
    assert.equal(optionsFromIni({ 'memcached.sess_locking': v }).locking ? 'on' : 'off', php, `sess_locking=${JSON.stringify(v)}`);
  });
});
