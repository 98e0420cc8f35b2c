// phpredis locking, against real PHP: the same lock key and protocol, mutual exclusion both
// ways, the write refused when our lock was lost, and no lost update when PHP processes and
// Node workers increment one session concurrently (and lost updates without locking).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { needRedis, runPhp } from '../../helpers/env.js';
import { useRedisServer, rawCommand } from '../../helpers/redis-server.js';
import { iniArgs, phpAsync as phpAsyncWith, phpHolding as phpHoldingWith } from '../../helpers/php-run.js';
import { LockTimeoutError, BackendError } from 'sessctl';

const { server: redis, store } = useRedisServer({ locking: true, lockWaitTimeUs: 2000, lockExpireSeconds: 10 });

const redisCmd = (line) => rawCommand(redis.port, line);

/**
 * How many SET commands the server has run (PHP's lock attempts are SET … NX PX).
 * @param {{ info(section: string): Promise<string> }} client
 */
async function setCalls(client) {
  return Number(/cmdstat_set:calls=(\d+)/.exec(await client.info('commandstats'))?.[1] ?? 0);
}

function phpIni(ini = {}) {
  return {
    'session.save_handler': 'redis',
    'session.save_path': redis.url,
    'session.use_cookies': '0',
    'session.use_strict_mode': '0',
    'redis.session.locking_enabled': '1',
    'redis.session.lock_expire': '10',
    'redis.session.lock_retries': '-1',
    'redis.session.lock_wait_time': '1000',
    ...ini,
  };
}
const phpArgs = (ini) => iniArgs(phpIni(ini));

/** PHP in the background with this file's settings. */
const phpAsync = (code, args, ini) => phpAsyncWith(phpIni(ini), code, args);

/** PHP holding the session open until release() (an explicit hand-shake, never a sleep). */
const phpHolding = (code, [id]) => phpHoldingWith(phpIni({}), id, code);

test('PHP holds the lock → our open waits, times out with LockTimeoutError, then gets it', needRedis(), async () => {
  const id = 'phplocks00000000000000000000001';
  const php = phpHolding(`$_SESSION['by'] = 'php';`, [id]);
  await php.ready;
  // PHP's lock value is hostname|pid
  const value = await redisCmd(`GET PHPREDIS_SESSION:${id}_LOCK`);
  assert.ok(value.startsWith('$'));
  const s = store();
  await assert.rejects(s.open(id, { lockTimeoutMs: 100 }), (e) => e instanceof LockTimeoutError && e.message.includes(`PHPREDIS_SESSION:${id}_LOCK`));
  const waiting = s.open(id, { lockTimeoutMs: 60000 }); // waits for PHP to finish
  php.release();
  const h = await waiting;
  assert.equal(h.data.get('by'), 'php');
  await h.close();
  assert.equal((await php.done).code, 0);
});

test('our lock: hostname|pid|random with PX lock_expire; PHP waits for it, and a PHP that gives up cannot write', needRedis(), async () => {
  const id = 'nodelocks0000000000000000000001';
  const s = store({ lockExpireSeconds: 7 });
  const h = await s.open(id);
  const pttl = Number((await redisCmd(`PTTL PHPREDIS_SESSION:${id}_LOCK`)).slice(1));
  assert.ok(pttl > 6000 && pttl <= 7000, String(pttl));
  const c = await import('redis');
  const raw = c.createClient({ url: `redis://127.0.0.1:${redis.port}` });
  await raw.connect();
  const secret = /** @type {string} */ (await raw.get(`PHPREDIS_SESSION:${id}_LOCK`));
  assert.match(secret, new RegExp(`^${hostname().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\|${process.pid}\\|[A-Za-z0-9_-]+$`));

  // A PHP that retries only a little (phpredis 5: it then reads anyway) must not be able to write.
  const impatient = await phpAsync(`session_id($argv[1]); session_start(); $_SESSION['php'] = 'impatient'; session_write_close();`, [id], {
    'redis.session.lock_retries': '2',
  });
  assert.equal(impatient.code, 0);
  assert.equal(await raw.get(`PHPREDIS_SESSION:${id}`), null, 'PHP wrote without the lock');

  // A patient PHP waits until we release, then its update lands on top of ours.
  const setsBefore = await setCalls(raw);
  const patient = phpAsync(`session_id($argv[1]); session_start(); $_SESSION['php'] = 'patient'; session_write_close(); echo json_encode($_SESSION);`, [id]);
  // PHP is waiting once it has tried our lock key at least twice (SET NX fails, it retries).
  while ((await setCalls(raw)) < setsBefore + 2) await new Promise((r) => setImmediate(r));
  h.data.set('node', 'first');
  await h.save();
  await h.close();
  const r = await patient;
  assert.deepEqual(JSON.parse(r.stdout), { node: 'first', php: 'patient' });
  assert.equal(await raw.get(`PHPREDIS_SESSION:${id}_LOCK`), null, 'PHP released its lock');
  await raw.close();
});

test('a lost lock (expired, then taken by someone else) refuses our write and we do not release theirs', needRedis(), async () => {
  const id = 'lostlock00000000000000000000001';
  const s = store({ lockExpireSeconds: 1 });
  await s.update(id, (d) => void d.set('v', 'original'));
  const h = await s.open(id);
  // simulate: our lock expired and another request took it
  assert.equal(await redisCmd(`SET PHPREDIS_SESSION:${id}_LOCK otherhost|123 PX 10000`), '+OK');
  h.data.set('v', 'late write');
  await assert.rejects(h.save(), (e) => e instanceof BackendError && e.code === 'ELOCKLOST' && /write refused/.test(e.message));
  await h.close();
  assert.equal(await redisCmd(`EXISTS PHPREDIS_SESSION:${id}_LOCK`), ':1', 'their lock is still there');
  assert.equal((await store({ locking: false }).read(id)).get('v'), 'original');
  await redisCmd(`DEL PHPREDIS_SESSION:${id}_LOCK`);
  // and a lock that simply expired (nobody else took it) also refuses the write
  const h2 = await s.open(id);
  await redisCmd(`DEL PHPREDIS_SESSION:${id}_LOCK`);
  h2.data.set('v', 'x');
  await assert.rejects(h2.save(), { code: 'ELOCKLOST' });
  await h2.close();
});

test('readAndClose releases at once; destroy locks; close is idempotent', needRedis(), async () => {
  const s = store();
  const id = 'readclose0000000000000000000001';
  await s.update(id, (d) => void d.set('a', 1));
  const h = await s.open(id, { readAndClose: true });
  assert.equal(await redisCmd(`EXISTS PHPREDIS_SESSION:${id}_LOCK`), ':0');
  await assert.rejects(h.save(), /closed/);
  await h.close();
  const h2 = await s.open(id);
  await assert.rejects(s.destroy(id), LockTimeoutError); // destroy waits for the lock: 100 retries × 2 ms
  await h2.close();
  await h2.close();
  assert.equal(await s.destroy(id), true);
});

// ---- concurrent increments: several PHP processes + several Node worker processes -------------

const PHP_INCR = `
$id = $argv[1]; $k = (int)$argv[2];
for ($i = 0; $i < $k; $i++) {
  session_id($id);
  if (!session_start()) { fwrite(STDERR, "start failed\\n"); exit(3); }
  $n = $_SESSION['n'] ?? 0;
  usleep(1500);
  $_SESSION['n'] = $n + 1;
  session_write_close();
}`;

const NODE_WORKER = `
const { RedisSessionStore } = await import(process.argv[1]);
const [url, id, k, locking] = process.argv.slice(2);
const store = new RedisSessionStore({ savePath: url, locking: locking === '1', lockWaitTimeUs: 1000, lockRetries: -1, lockExpireSeconds: 10 });
for (let i = 0; i < Number(k); i++) {
  const h = await store.open(id);
  const n = h.data.get('n') ?? 0;
  await new Promise((r) => setTimeout(r, 1.5));
  h.data.set('n', n + 1);
  await h.save();
  await h.close();
}
await store.close();
`;

function nodeWorker(id, k, locking) {
  const child = spawn(process.execPath, ['--input-type=module', '-e', NODE_WORKER, import.meta.resolve('sessctl/redis'), redis.url, id, String(k), locking ? '1' : '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stderr })));
}

async function incrementRace(id, locking) {
  const K = 25;
  const jobs = [];
  for (let i = 0; i < 3; i++) jobs.push(phpAsync(PHP_INCR, [id, String(K)], { 'redis.session.locking_enabled': locking ? '1' : '0' }));
  for (let i = 0; i < 3; i++) jobs.push(nodeWorker(id, K, locking));
  const results = await Promise.all(jobs);
  for (const r of results) assert.equal(r.code, 0, r.stderr);
  const out = runPhp([...phpArgs({ 'redis.session.locking_enabled': '0' }), '-r', `session_id($argv[1]); session_start(); echo $_SESSION['n'];`, id]);
  return { final: Number(out.toString()), total: 6 * K };
}

test('PHP ×3 and Node ×3 incrementing one session WITH locking on both sides lose no update', needRedis(), async () => {
  const { final, total } = await incrementRace('racelocked000000000000000000001', true);
  assert.equal(final, total);
});

test('the same race WITHOUT locking loses updates (shows the harness can fail)', needRedis(), async () => {
  const { final, total } = await incrementRace('raceunlocked0000000000000000001', false);
  assert.ok(final < total, `expected lost updates without locking, got ${final}/${total}`);
});
