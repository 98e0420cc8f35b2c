// The middleware and the express-session Store, unchanged, over the Redis backend — and PHP
// (phpredis, locking on) sharing the same sessions.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import express from 'express';
import session from 'express-session';
import { needRedis, runPhp, hasRedisServer, hasPhpRedis } from '../../helpers/env.js';
import { startRedis } from '../../helpers/redis-server.js';
import { RedisSessionStore } from 'sessctl/redis';
import { phpSession, createPhpSessionStore } from 'sessctl/middleware';

const enabled = hasRedisServer && hasPhpRedis;
let redis;
let store;
const servers = [];
before(async () => {
  if (!enabled) return;
  redis = await startRedis();
  store = new RedisSessionStore({ savePath: redis.url, locking: true, lockWaitTimeUs: 2000 });
});
after(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  if (store) await store.close();
  if (redis) await redis.stop();
});

async function listen(app) {
  const server = http.createServer(app);
  server.keepAliveTimeout = 1;
  await /** @type {Promise<void>} */ (new Promise((r) => server.listen(0, '127.0.0.1', r)));
  servers.push(server);
  return `http://127.0.0.1:${/** @type {import('node:net').AddressInfo} */ (server.address()).port}`;
}

function php(id, body) {
  return runPhp([
    '-d', 'session.save_handler=redis',
    '-d', `session.save_path="${redis.url}"`,
    '-d', 'session.use_cookies=0',
    '-d', 'redis.session.locking_enabled=1',
    '-d', 'redis.session.lock_retries=-1',
    '-d', 'redis.session.lock_expire=10',
    '-r', `session_id($argv[1]); session_start(); ${body}`,
    id,
  ]).toString();
}

test('phpSession() middleware over Redis: Node and PHP share one session', needRedis(), async () => {
  const app = express();
  app.use(phpSession({ backend: store, logger: null }));
  app.get('/inc', (req, res) => {
    const s = req.phpSession;
    s.set('n', (s.get('n') ?? 0) + 1);
    res.json({ id: s.id, n: s.get('n') });
  });
  const base = await listen(app);
  const first = await fetch(`${base}/inc`);
  const { id, n } = await first.json();
  assert.equal(n, 1);
  assert.match(first.headers.getSetCookie()[0], new RegExp(`^PHPSESSID=${id};`));
  const cookie = `PHPSESSID=${id}`;
  assert.equal((await (await fetch(`${base}/inc`, { headers: { cookie } })).json()).n, 2);
  // PHP sees it, increments it
  assert.equal(php(id, `$_SESSION['n']++; echo $_SESSION['n'];`), '3');
  // and Node sees PHP's write
  assert.equal((await (await fetch(`${base}/inc`, { headers: { cookie } })).json()).n, 4);
  // stored under phpredis's key with phpredis's TTL
  const info = await store.stat(id);
  assert.equal(info.key, `PHPREDIS_SESSION:${id}`);
  assert.ok(info.ttlSeconds > 1400);
});

test('express-session with the PHP session Store over Redis', needRedis(), async () => {
  const PhpSessionStore = createPhpSessionStore(session);
  const expressStore = new PhpSessionStore({ backend: store, logger: null });
  const app = express();
  app.use(
    session({
      store: expressStore,
      genid: () => expressStore.genid(),
      secret: 'test-secret',
      resave: false,
      saveUninitialized: false,
    }),
  );
  app.get('/login', (req, res) => {
    req.session.user = 'alice';
    req.session.visits = (req.session.visits ?? 0) + 1;
    res.json({ id: req.sessionID });
  });
  app.get('/me', (req, res) => res.json({ user: req.session.user ?? null, visits: req.session.visits ?? 0 }));
  const base = await listen(app);
  const login = await fetch(`${base}/login`);
  const { id } = await login.json();
  const cookie = login.headers.getSetCookie()[0].split(';')[0];
  assert.deepEqual(await (await fetch(`${base}/me`, { headers: { cookie } })).json(), { user: 'alice', visits: 1 });
  // PHP reads what express-session stored, through phpredis
  assert.equal(php(id, `echo $_SESSION['user'], ':', $_SESSION['visits'];`), 'alice:1');
  php(id, `$_SESSION['user'] = 'bob';`);
  assert.deepEqual(await (await fetch(`${base}/me`, { headers: { cookie } })).json(), { user: 'bob', visits: 1 });
  assert.ok((await expressStore.length()) >= 1);
});
