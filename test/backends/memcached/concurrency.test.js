// No lost update: 3 PHP processes (php-memcached, locking on) and 3 Node processes increment one
// session at the same time, 1,020 increments in all; every one survives. Without locking on
// either side the same harness loses updates (it can fail).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { needMemcached, runPhp } from '../../helpers/env.js';
import { iniArgs, nodeIncrementer, phpAsync, PHP_INCREMENT } from '../../helpers/php-run.js';
import { useMemcached } from '../../helpers/memcached-server.js';

const mc = useMemcached(2);
const K = 170;

const ini = (locking) => ({
  'session.save_handler': 'memcached',
  'session.save_path': mc.savePath,
  'session.use_strict_mode': '0',
  'memcached.sess_locking': locking ? '1' : '0',
  'memcached.sess_lock_wait_min': '1',
  'memcached.sess_lock_wait_max': '4',
  'memcached.sess_lock_retries': '1000000',
});

async function race(id, locking) {
  const entry = import.meta.resolve('sessctl/memcached');
  const make = `new m.MemcachedSessionStore({ savePath: rest[0], locking: rest[1] === '1', lockWaitMinMs: 1, lockWaitMaxMs: 4, lockRetries: 1000000 })`;
  const jobs = [];
  for (let i = 0; i < 3; i++) jobs.push(phpAsync(ini(locking), PHP_INCREMENT, [id, String(K)]));
  for (let i = 0; i < 3; i++) jobs.push(nodeIncrementer(entry, make, [id, String(K), mc.savePath, locking ? '1' : '0']));
  for (const r of await Promise.all(jobs)) assert.equal(r.code, 0, r.stderr);
  const out = runPhp([...iniArgs(ini(false)), '-r', `session_id($argv[1]); session_start(); echo $_SESSION['n'];`, '--', id]);
  return Number(out.toString());
}

test(`PHP ×3 and Node ×3 increment one Memcached session (${6 * K} increments) with locking: none lost`, needMemcached(), async (t) => {
  const started = Date.now();
  assert.equal(await race('mcracelocked00000000000000000001', true), 6 * K);
  t.diagnostic(`${6 * K} increments in ${Date.now() - started} ms`);
});

test('the same race without locking loses updates (the harness can fail)', needMemcached(), async () => {
  const n = await race('mcraceunlocked000000000000000001', false);
  assert.ok(n < 6 * K, `expected lost updates without locking, got ${n}/${6 * K}`);
});
