// laravelSession() in an Express app beside Laravel's own session code (fixtures/laravel/session.php).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { LaravelFileSessionStore } from 'sessctl/laravel-files';
import { laravelSession } from 'sessctl/laravel';
import { hasLaravel, needLaravel } from '../../helpers/env.js';
import { phpLines } from '../../helpers/php-lines.js';

const script = fileURLToPath(new URL('../../../fixtures/laravel/session.php', import.meta.url));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sessctl-laravel-mw-'));
const rawKey = randomBytes(32);
const APP_KEY = `base64:${rawKey.toString('base64')}`;
let php;
let server;
let base;
before(async () => {
  if (!hasLaravel) return;
  php = phpLines(script);
  const store = new LaravelFileSessionStore({ path: dir });
  const app = express();
  app.get('/me', laravelSession({ store, key: APP_KEY }), (req, res) => {
    res.json({ user: req.laravelSession?.userId() ?? null, token: req.laravelSession?.token ?? null });
  });
  app.post('/visit', laravelSession({ store, key: APP_KEY, write: true }), (req, res) => {
    if (!req.laravelSession) return res.status(401).end();
    req.laravelSession.put('node.visits', Number(req.laravelSession.get('node.visits') ?? 0) + 1);
    res.end('ok');
  });
  await new Promise((r) => (server = app.listen(0, '127.0.0.1', r)));
  base = `http://127.0.0.1:${server.address().port}`;
});
after(async () => {
  await php?.close();
  await new Promise((r) => (server ? server.close(r) : r()));
  fs.rmSync(dir, { recursive: true, force: true });
});

test('Express reads the user Laravel logged in, writes the session under the lock, and Laravel sees it', needLaravel(), async () => {
  const login = await php.ask({ op: 'request', key: rawKey.toString('base64'), name: 'laravel_session', cookie: null, driver: 'file', path: dir, ops: [['login', 'web', 42]] });
  const cookie = login.setCookie.split(';')[0]; // what the browser sends back
  assert.deepEqual(await (await fetch(`${base}/me`, { headers: { cookie } })).json(), { user: 42, token: login.token });
  assert.deepEqual(await (await fetch(`${base}/me`)).json(), { user: null, token: null });
  assert.deepEqual(await (await fetch(`${base}/me`, { headers: { cookie: cookie.slice(0, -8) + 'AAAAAAAA' } })).json(), { user: null, token: null });
  for (let i = 0; i < 3; i++) assert.equal((await fetch(`${base}/visit`, { method: 'POST', headers: { cookie } })).status, 200);
  const seen = await php.ask({ op: 'request', key: rawKey.toString('base64'), name: 'laravel_session', cookie: decodeURIComponent(cookie.slice(cookie.indexOf('=') + 1)), driver: 'file', path: dir, ops: [] });
  assert.equal(seen.id, login.id);
  assert.deepEqual(seen.all.node, { visits: 3 });
});
