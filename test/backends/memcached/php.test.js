// php-memcached interop against real PHP and real memcached servers: the same keys, bytes,
// expiry, server choice (three servers, ketama) and lock, both ways.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LockTimeoutError, encodeSession } from 'sessctl';
import { MemcachedSessionStore } from 'sessctl/memcached';
import { needMemcached, runPhp } from '../../helpers/env.js';
import { iniArgs, phpHolding } from '../../helpers/php-run.js';
import { mcText, useMemcached } from '../../helpers/memcached-server.js';

const mc = useMemcached(3);
const one = () => mc.servers[0].url;

function ini(extra = {}) {
  return {
    'session.save_handler': 'memcached',
    'session.save_path': one(),
    'session.use_cookies': '0',
    'session.use_strict_mode': '0',
    'memcached.sess_lock_wait_min': '2',
    'memcached.sess_lock_wait_max': '2',
    'memcached.sess_lock_retries': '5000',
    ...extra,
  };
}

const WRITE = `
class Foo { public $a = 1; protected $b = 'x'; private $c = [1]; }
session_id($argv[1]); session_start();
$_SESSION['user'] = 'alice'; $_SESSION['n'] = 42; $_SESSION['f'] = 1.5; $_SESSION['list'] = [1, 'two', null, true];
$_SESSION['obj'] = new Foo; $_SESSION['bin'] = "\\x00\\xff";
session_write_close();`;
const DUMP = `session_id($argv[1]); session_start(); echo json_encode($_SESSION, JSON_PARTIAL_OUTPUT_ON_ERROR|JSON_INVALID_UTF8_SUBSTITUTE); session_write_close();`;
const php = (extra, code, ...args) => runPhp([...iniArgs(ini(extra)), '-r', code, '--', ...args]).toString();

for (const handler of /** @type {const} */ (['php', 'php_serialize', 'igbinary', 'msgpack'])) {
  test(`${handler}: PHP writes, Node reads the same bytes and values; Node writes, PHP reads it back`, needMemcached(), async () => {
    const s = new MemcachedSessionStore({ savePath: one(), serializeHandler: handler });
    try {
      const id = `phpwrites${handler.replace('_', '')}0000000000000000`.slice(0, 32);
      php({ 'session.serialize_handler': handler }, WRITE, id);
      const bytes = await s.readBytes(id);
      const data = await s.read(id);
      assert.equal(data.get('user'), 'alice');
      assert.equal(data.get('n'), 42);
      assert.deepEqual(encodeSession(data, handler), bytes, 'byte-identical re-encoding');
      // Node changes it under the lock; PHP reads Node's write.
      await s.update(id, (d) => void d.set('n', 43));
      const seen = JSON.parse(php({ 'session.serialize_handler': handler }, DUMP, id));
      assert.equal(seen.n, 43);
      assert.equal(seen.user, 'alice');
      assert.deepEqual(seen.list, [1, 'two', null, true]);
    } finally {
      await s.close();
    }
  });
}

test('the key is sess_prefix + id, flags 0, expiry gc_maxlifetime (relative; absolute beyond 30 days), both ways', needMemcached(), async () => {
  const port = mc.servers[0].port;
  const idP = 'expiryphp000000000000000000000a';
  php({ 'session.gc_maxlifetime': '1000', 'memcached.sess_prefix': 'app1.' }, `session_id($argv[1]); session_start(); $_SESSION['a']=1; session_write_close();`, idP);
  const got = await mcText(port, `mg app1.${idP} t f v`, { until: /\r\n.*\r\n|^EN/ });
  assert.match(got, /^VA 6 .*\r\na\|i:1;\r\n/);
  const t = Number(/ t(\d+)/.exec(got)[1]);
  assert.ok(t > 990 && t <= 1000, got);
  assert.match(got, / f0\b/);
  const s = new MemcachedSessionStore({ savePath: one(), prefix: 'app1.', gcMaxlifetime: 40 * 86400 });
  try {
    assert.equal((await s.read(idP)).get('a'), 1);
    const idN = 'expirynode00000000000000000000a';
    await s.update(idN, (d) => void d.set('b', 2));
    const t2 = Number(/ t(\d+)/.exec(await mcText(port, `mg app1.${idN} t`))[1]);
    assert.ok(Math.abs(t2 - 40 * 86400) <= 2, String(t2)); // memcached took it as a unix time
    assert.equal(JSON.parse(php({ 'memcached.sess_prefix': 'app1.' }, DUMP, idN)).b, 2);
  } finally {
    await s.close();
  }
});

/** @type {Array<[string, Record<string, string>, Record<string, unknown>]>} */
const HASHINGS = [
  ['ketama (the default)', {}, {}],
  ['ketama_weighted with weights', { 'memcached.sess_consistent_hash_type': 'ketama_weighted' }, { consistentHashType: 'ketama_weighted' }],
  ['modula (sess_consistent_hash Off)', { 'memcached.sess_consistent_hash': '0' }, { consistentHash: false }],
];
for (const [name, extra, opts] of HASHINGS) {
  test(`three servers, ${name}: PHP writes 100 sessions; Node finds each on the server PHP used`, needMemcached(), async () => {
    const weights = name.includes('weights') ? [1, 3, 2] : [1, 1, 1];
    const savePath = mc.servers.map((s, i) => `${s.url}${weights[i] > 1 ? `:${weights[i]}` : ''}`).join(',');
    const tag = { k: 'ktma', m: 'mdla' }[name[0]] + (name.includes('weights') ? 'w' : 'u');
    const ids = runPhp([...iniArgs(ini({ 'session.save_path': savePath, ...extra })), '-r', `
      $ids = [];
      for ($i = 0; $i < 100; $i++) { $id = sprintf('%s%04dabcdefghijklmnopqrstuvw', $argv[1], $i); session_id($id); session_start(); $_SESSION['i'] = $i; session_write_close(); $ids[] = $id; }
      echo implode("\\n", $ids);`, '--', tag]).toString().split('\n');
    assert.equal(ids.length, 100);
    const all = new MemcachedSessionStore({ savePath, ...opts });
    const each = mc.servers.map((s) => new MemcachedSessionStore({ savePath: s.url }));
    try {
      const perServer = [0, 0, 0];
      for (const [i, id] of ids.entries()) {
        const holders = [];
        for (const [k, s] of each.entries()) if ((await s.readBytes(id)) !== null) holders.push(k);
        assert.equal(holders.length, 1, id);
        perServer[holders[0]]++;
        assert.equal(all.locate(id).conn.label, mc.servers[holders[0]].url, id);
        assert.equal((await all.read(id)).get('i'), i);
      }
      assert.ok(perServer.every((n) => n > 0), `every server holds some: ${perServer}`);
      // and the other way: what Node writes through the list, PHP finds
      const nid = `${tag}nodewrote0000000000000000000`;
      await all.update(nid, (d) => void d.set('from', 'node'));
      assert.equal(JSON.parse(php({ 'session.save_path': savePath, ...extra }, DUMP, nid)).from, 'node');
    } finally {
      await all.close();
      for (const s of each) await s.close();
    }
  });
}

test('PHP holds the lock → Node waits and times out; the lock key is sess_prefix + "lock." + id; then Node gets it', needMemcached(), async () => {
  const id = 'phplocks0000000000000000000001';
  const holder = phpHolding(ini(), id, `$_SESSION['by'] = 'php';`);
  await holder.ready;
  assert.match(await mcText(mc.servers[0].port, `mg memc.sess.key.lock.${id} v`, { until: /\r\n.*\r\n|^EN/ }), /^VA 1 *\r\n1\r\n/);
  const s = new MemcachedSessionStore({ savePath: one(), lockWaitMinMs: 2, lockWaitMaxMs: 2 });
  try {
    await assert.rejects(s.open(id, { lockTimeoutMs: 100 }), (e) => e instanceof LockTimeoutError && e.message.includes(`memc.sess.key.lock.${id}`));
    const waiting = s.open(id, { lockTimeoutMs: 60000 });
    holder.release();
    const h = await waiting;
    assert.equal(h.data.get('by'), 'php');
    await h.close();
    assert.equal((await holder.done).code, 0);
  } finally {
    await s.close();
  }
});

test('Node holds the lock → PHP cannot start the session (its retries run out), then can', needMemcached(), async () => {
  const id = 'nodelocks000000000000000000001';
  const s = new MemcachedSessionStore({ savePath: one() });
  try {
    const h = await s.open(id);
    h.data.set('by', 'node');
    const quick = { 'memcached.sess_lock_retries': '2' };
    const out = php(quick, `session_id($argv[1]); echo @session_start() ? 'started' : 'refused';`, id);
    assert.equal(out, 'refused');
    await h.save();
    await h.close();
    assert.equal(JSON.parse(php(quick, DUMP, id)).by, 'node');
  } finally {
    await s.close();
  }
});

test('a lock that expired and was taken by PHP is neither written through nor deleted by Node', needMemcached(), async () => {
  const id = 'lostlock0000000000000000000001';
  const s = new MemcachedSessionStore({ savePath: one() });
  const port = mc.servers[0].port;
  try {
    const h = await s.open(id);
    // As if our lock expired and another request took it: replace the lock item.
    assert.match(await mcText(port, `ms memc.sess.key.lock.${id} 1 T30\r\n2`), /^HD/);
    h.data.set('x', 1);
    await assert.rejects(h.save(), { code: 'ELOCKLOST' });
    await h.close();
    assert.match(await mcText(port, `mg memc.sess.key.lock.${id} v`, { until: /\r\n.*\r\n|^EN/ }), /\r\n2\r\n/, 'the other lock is still there');
    assert.equal(await s.readBytes(id), null);
  } finally {
    await s.close();
  }
});

test('strict mode: PHP validates an id Node created (reserved as PHP reserves it), an unknown one is refused', needMemcached(), async () => {
  const s = new MemcachedSessionStore({ savePath: one() });
  try {
    const id = await s.createId();
    assert.equal(await s.exists(id), true); // reserved (an empty item), as PHP's create_sid does
    const h = await s.open(id);
    h.data.set('k', 'v');
    await h.save();
    await h.close();
    const strict = { 'session.use_strict_mode': '1' };
    assert.equal(php(strict, `session_id($argv[1]); session_start(); echo session_id() === $argv[1] ? 'kept' : 'replaced';`, id), 'kept');
    assert.equal(php(strict, `session_id($argv[1]); session_start(); echo session_id() === $argv[1] ? 'kept' : 'replaced';`, 'unknown00000000000000000000001'), 'replaced');
    assert.equal(await s.exists('unknown00000000000000000000001'), false);
    assert.equal(await s.exists('unknown00000000000000000000001'), false, 'the probe leaves nothing behind');
  } finally {
    await s.close();
  }
});

test('memcached.sess_prefix: the store accepts exactly the prefixes php-memcached accepts (printable ASCII, no space)', needMemcached(), () => {
  const candidates = ['app1.', 'a-b_c:d/e', '', 'a b', 'a\t', 'caf\xe9.', '\x7f', 'a\x01', '~!'];
  const hex = candidates.map((p) => Buffer.from(p, 'latin1').toString('hex'));
  const out = runPhp(['-d', 'error_reporting=0', '-r', `foreach (array_slice($argv, 1) as $h) echo ini_set('memcached.sess_prefix', hex2bin($h)) === false ? 'refused' : 'accepted', "\\n";`, '--', ...hex])
    .toString()
    .trim()
    .split('\n');
  const node = candidates.map((prefix) => {
    try {
      new MemcachedSessionStore({ prefix });
      return 'accepted';
    } catch (err) {
      assert.equal(/** @type {any} */ (err).name, 'ConfigError');
      return 'refused';
    }
  });
  assert.deepEqual(node, out);
});
