// express-session + PhpSessionStore under concurrency: one session's requests queue on the lock
// in arrival order in one process, and no update is lost across two Node processes or racing
// real PHP (files, and Redis with phpredis locking).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PhpArray } from 'sessctl';
import { FileSessionStore } from 'sessctl/files';
import { needPhp, needRedis, runPhp } from '../helpers/env.js';
import { iniArgs, phpAsync, PHP_INCREMENT } from '../helpers/php-run.js';
import { useRedisServer } from '../helpers/redis-server.js';
import { PhpSessionStore, SECRET, cookie, esApp, incRoutes, instrument, listen, signal, text } from '../helpers/express-store.js';

describe('one session, several requests, one process (FileSessionStore)', () => {
  /** @type {string} */
  let dir;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'sessctl-hold-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('requests queue on the lock in arrival order and never interleave', async () => {
    const backend = new FileSessionStore({ savePath: dir, lockTimeoutMs: 20000 });
    const { ops } = instrument(backend);
    const asked = new EventEmitter();
    const open = backend.open.bind(backend);
    backend.open = (id, o) => {
      const p = open(id, o);
      asked.emit('open', ops.filter((x) => x === 'open').length);
      return p;
    };
    const entered = signal();
    const proceed = signal();
    const store = new PhpSessionStore({ backend, logger: null });
    const base = await listen(
      esApp(store, (app) =>
        app.get('/inc', async (req, res) => {
          const n = (req.session.n ?? 0) + 1;
          req.session.n = n;
          if (n === 1) {
            entered.fire();
            await proceed.fired;
          }
          res.end(String(n));
        }),
      ),
    );
    const id = 'fifo0123456789abcdefghijklmnopq';
    await backend.update(id, (d) => void d.set('n', 0));
    ops.length = 0;
    const waitOpens = (/** @type {number} */ k) => new Promise((r) => asked.on('open', (n) => n === k && r(undefined)));
    const first = text(`${base}/inc`, cookie(id));
    await entered.fired;
    const secondAsked = waitOpens(2);
    const second = text(`${base}/inc`, cookie(id));
    await secondAsked;
    const thirdAsked = waitOpens(3);
    const third = text(`${base}/inc`, cookie(id));
    await thirdAsked;
    proceed.fire();
    assert.deepEqual(await Promise.all([first, second, third]), ['1', '2', '3'], 'served in arrival order, each after the previous wrote');
    assert.equal((await backend.read(id))?.get('n'), 3);
    assert.equal(store.heldLocks, 0);
  });

  test('20 concurrent increments on one session: 20', async () => {
    const backend = new FileSessionStore({ savePath: dir, lockTimeoutMs: 20000 });
    const store = new PhpSessionStore({ backend, logger: null });
    const base = await listen(esApp(store, incRoutes));
    const id = 'many0123456789abcdefghijklmnopq';
    await backend.update(id, (d) => void d.set('n', 0));
    const answers = await Promise.all(Array.from({ length: 20 }, () => text(`${base}/inc`, cookie(id))));
    assert.deepEqual(answers.map(Number).sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i + 1));
    assert.equal((await backend.read(id))?.get('n'), 20);
  });
});

/**
 * N PHP increments (PHP_INCREMENT, one CLI process) and N express-session increments (5 clients)
 * on one session at once: exactly 2N at the end.
 * @param {any} backend
 * @param {Record<string, string>} ini
 * @param {string} id
 */
async function raceWithPhp(backend, ini, id) {
  const N = 40;
  const store = new PhpSessionStore({ backend, logger: null, lockTimeoutMs: 30000 });
  const base = await listen(esApp(store, incRoutes));
  await backend.update(id, (/** @type {PhpArray} */ d) => void d.set('n', 0));
  const php = phpAsync(ini, PHP_INCREMENT, [id, String(N)]);
  const clients = Array.from({ length: 5 }, async () => {
    for (let i = 0; i < N / 5; i++) assert.match(await text(`${base}/inc`, cookie(id)), /^\d+$/);
  });
  await Promise.all(clients);
  const r = await php;
  assert.equal(r.code, 0, r.stderr);
  assert.equal(runPhp([...iniArgs(ini), '-r', `session_id($argv[1]); session_start(); echo $_SESSION['n'];`, '--', id]).toString(), String(2 * N));
  assert.equal(store.heldLocks, 0);
}

/**
 * A second Node process serving the same increment app on the same storage; stopped by closing its stdin.
 * @param {'files' | 'redis'} kind
 * @param {string} where the save path
 */
function otherNodeProcess(kind, where) {
  const code = `
const [expressUrl, sessionUrl, mwUrl, backendUrl, kind, where] = process.argv.slice(1);
const express = (await import(expressUrl)).default;
const session = (await import(sessionUrl)).default;
const { createPhpSessionStore, phpSessionCookieBridge } = await import(mwUrl);
const b = await import(backendUrl);
const backend = kind === 'files'
  ? new b.FileSessionStore({ savePath: where, lockTimeoutMs: 30000 })
  : new b.RedisSessionStore({ savePath: where, locking: true, lockWaitTimeUs: 1000, lockRetries: -1, lockExpireSeconds: 10 });
const store = new (createPhpSessionStore(session))({ backend, logger: null, lockTimeoutMs: 30000 });
const app = express();
app.use(phpSessionCookieBridge({ secret: ${JSON.stringify(SECRET)} }));
app.use(session({ name: 'PHPSESSID', secret: ${JSON.stringify(SECRET)}, store, genid: () => store.genid(), resave: false, saveUninitialized: false }));
app.get('/inc', (req, res) => { req.session.n = (req.session.n ?? 0) + 1; res.end(String(req.session.n)); });
const server = app.listen(0, '127.0.0.1', () => process.stdout.write('PORT ' + server.address().port + '\\n'));
process.stdin.on('end', async () => { server.closeAllConnections(); server.close(); await backend.close?.(); process.exit(0); });
process.stdin.resume();`;
  const urls = ['express', 'express-session', 'sessctl/middleware', kind === 'files' ? 'sessctl/files' : 'sessctl/redis'].map((m) => import.meta.resolve(m));
  const child = spawn(process.execPath, ['--input-type=module', '-e', code, '--', ...urls, kind, where], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  /** @type {Promise<string>} */
  const base = new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /PORT (\d+)/.exec(out);
      if (m) resolve(`http://127.0.0.1:${m[1]}`);
    });
    child.on('exit', (c) => reject(new Error(`the second Node process exited (${c}): ${stderr}`)));
  });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  return { base, stop: () => (child.stdin.end(), exited) };
}

/**
 * N express-session increments through this process and N through another Node process, 5
 * clients each, on one session at once: exactly 2N.
 * @param {any} backend
 * @param {'files' | 'redis'} kind
 * @param {string} where
 * @param {string} id
 */
async function raceTwoNodeProcesses(backend, kind, where, id) {
  const N = 40;
  const other = otherNodeProcess(kind, where);
  try {
    const store = new PhpSessionStore({ backend, logger: null, lockTimeoutMs: 30000 });
    const bases = [await listen(esApp(store, incRoutes)), await other.base];
    await backend.update(id, (/** @type {PhpArray} */ d) => void d.set('n', 0));
    await Promise.all(
      bases.flatMap((base) =>
        Array.from({ length: 5 }, async () => {
          for (let i = 0; i < N / 5; i++) assert.match(await text(`${base}/inc`, cookie(id)), /^\d+$/);
        }),
      ),
    );
    assert.equal((await backend.read(id))?.get('n'), 2 * N);
    assert.equal(store.heldLocks, 0);
  } finally {
    await other.stop();
  }
}

describe('two Node processes on one session', () => {
  test('files: 40 + 40 express-session increments from two processes: 80', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sessctl-hold-2p-'));
    try {
      await raceTwoNodeProcesses(new FileSessionStore({ savePath: dir, lockTimeoutMs: 30000 }), 'files', dir, 'twoproc0123456789abcdefghijklmn');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('racing real PHP on files', needPhp(), () => {
  test('PHP ×40 and express-session ×40 on one session file: 80', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sessctl-hold-php-'));
    try {
      const ini = { 'session.save_path': dir, 'session.use_strict_mode': '0', 'session.use_cookies': '0', 'session.cache_limiter': '' };
      await raceWithPhp(new FileSessionStore({ savePath: dir, lockTimeoutMs: 30000 }), ini, 'racefiles0123456789abcdefghijkl');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('racing real PHP on Redis (phpredis locking)', needRedis(), () => {
  const { server: redis, store: redisStore } = useRedisServer({ locking: true, lockWaitTimeUs: 1000, lockRetries: -1, lockExpireSeconds: 10 });
  test('PHP ×40 and express-session ×40 on one Redis session: 80', async () => {
    const ini = {
      'session.save_handler': 'redis',
      'session.save_path': redis.url,
      'session.use_strict_mode': '0',
      'session.use_cookies': '0',
      'session.cache_limiter': '',
      'redis.session.locking_enabled': '1',
      'redis.session.lock_expire': '10',
      'redis.session.lock_retries': '-1',
      'redis.session.lock_wait_time': '1000',
    };
    await raceWithPhp(redisStore(), ini, 'raceredis0123456789abcdefghijkl');
  });
  test('40 + 40 express-session increments from two Node processes on one Redis session: 80', async () => {
    await raceTwoNodeProcesses(redisStore(), 'redis', redis.url, 'twoprocredis0123456789abcdefghi');
  });
});
