// A failing Redis gives clear BackendErrors within the configured timeouts — nothing hangs,
// nothing of anyone else's is released — and the store recovers when Redis is back.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { needRedis } from '../../helpers/env.js';
import { startRedis, freePort, rawCommand } from '../../helpers/redis-server.js';
import { pollUntil } from '../../helpers/server-process.js';
import { RedisSessionStore } from 'sessctl/redis';
import { BackendError, PhpArray } from 'sessctl';

const stores = [];
const servers = [];
function store(savePath, opts = {}) {
  const s = new RedisSessionStore({ savePath, connectTimeoutMs: 500, commandTimeoutMs: 400, ...opts });
  stores.push(s);
  return s;
}
after(async () => {
  for (const s of stores) await s.close().catch(() => {});
  for (const r of servers) {
    try {
      process.kill(r.pid, 'SIGCONT');
    } catch {
      /* gone */
    }
    await r.stop();
  }
});

/** @param {string} [code] */
const isBackendError = (code) => /** @param {unknown} e @returns {e is BackendError} */ (e) => e instanceof BackendError && (code === undefined || e.code === code);

test('nothing listening → BackendError EBACKENDCONN naming the server, for every operation', { ...needRedis(), timeout: 20000 }, async () => {
  const port = await freePort();
  const s = store(`tcp://127.0.0.1:${port}`);
  for (const op of [() => s.read('abcdef12'), () => s.open('abcdef12'), () => s.exists('abcdef12'), () => s.createId(), () => s.destroy('abcdef12')]) {
    await assert.rejects(op(), (e) => isBackendError('EBACKENDCONN')(e) && e.message.includes(`tcp://127.0.0.1:${port}`) && /ECONNREFUSED/.test(e.message));
  }
  await assert.rejects(async () => {
    for await (const id of s.ids()) void id;
  }, isBackendError('EBACKENDCONN'));
});

test('server killed mid-run: in-flight and later calls fail fast; the store works again once Redis is back', { ...needRedis(), timeout: 30000 }, async () => {
  const redis = await startRedis();
  servers.push(redis);
  const s = store(redis.url, { locking: true, lockExpireSeconds: 5 });
  await s.update('killme0000000000000000000000001', (d) => void d.set('a', 1));
  const h = await s.open('killme0000000000000000000000001');
  await redis.kill();
  h.data.set('a', 2);
  await assert.rejects(h.save(), isBackendError());
  await assert.rejects(h.close(), isBackendError()); // the lock release cannot reach Redis: said so, not hidden
  await assert.rejects(s.read('killme0000000000000000000000001'), isBackendError('EBACKENDCONN'));

  // Redis comes back on the same port: the next call reconnects by itself.
  const { spawn } = await import('node:child_process');
  const child = spawn('redis-server', ['--port', String(redis.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  try {
    await pollUntil(async () => (await rawCommand(redis.port, 'PING', 200)) === '+PONG', { what: 'the restarted redis-server' });
    assert.equal(await s.read('killme0000000000000000000000001'), null); // no persistence: the data went with the crash
    await s.update('killme0000000000000000000000001', (d) => void d.set('again', true));
    assert.equal((await s.read('killme0000000000000000000000001')).get('again'), true);
  } finally {
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
  }
});

test('a hung server (SIGSTOP) → EBACKENDTIMEOUT after commandTimeoutMs, no hang; others\' locks untouched', { ...needRedis(), timeout: 30000 }, async () => {
  const redis = await startRedis();
  servers.push(redis);
  const s = store(redis.url, { locking: true, lockExpireSeconds: 5 });
  const id = 'hung00000000000000000000000000001';
  await s.update(id, (d) => void d.set('v', 'before'));
  const h = await s.open(id);
  // Someone else took the lock over (ours expired) before the server hung.
  assert.equal(await rawCommand(redis.port, `SET PHPREDIS_SESSION:${id}_LOCK other|1 PX 60000`), '+OK');
  process.kill(redis.pid, 'SIGSTOP');
  try {
    h.data.set('v', 'after');
    await assert.rejects(h.save(), isBackendError('EBACKENDTIMEOUT'));
    await assert.rejects(s.read(id), isBackendError());
    await assert.rejects(h.close(), isBackendError());
  } finally {
    process.kill(redis.pid, 'SIGCONT');
  }
  // Back: the other holder's lock and the stored data are as they were.
  assert.equal(await rawCommand(redis.port, `EXISTS PHPREDIS_SESSION:${id}_LOCK`), ':1');
  const fresh = store(redis.url);
  assert.equal((await fresh.read(id)).get('v'), 'before');
  await rawCommand(redis.port, `DEL PHPREDIS_SESSION:${id}_LOCK`);
  // and the first store recovers too
  assert.ok((await s.read(id)) instanceof PhpArray);
});

test('a failed open (Redis error after the lock was taken) releases our own lock', { ...needRedis(), timeout: 20000 }, async () => {
  const redis = await startRedis();
  servers.push(redis);
  const s = store(redis.url, { locking: true });
  const id = 'wrongtype000000000000000000000001';
  // a key of the wrong type makes GET fail with a Redis error reply
  assert.equal(await rawCommand(redis.port, `LPUSH PHPREDIS_SESSION:${id} x`), ':1');
  await assert.rejects(s.open(id), (e) => isBackendError('EBACKEND')(e) && /WRONGTYPE/.test(e.message));
  assert.equal(await rawCommand(redis.port, `EXISTS PHPREDIS_SESSION:${id}_LOCK`), ':0');
});
