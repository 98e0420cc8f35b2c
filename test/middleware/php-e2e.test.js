// End to end with real PHP: `php -S` (4 workers) serving examples/php-express/php and the
// example Express app, on the same session files. Login on PHP → Node sees the user; Node
// adds to the cart → PHP sees it; 20 + 20 interleaved increments lose nothing; PHP logs out
// → Node sees no session. Plus hostile input against the real file store.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import express from 'express';
import { needPhp, hasPhp } from '../helpers/env.js';
import { FileSessionStore } from 'sessctl/files';
import { phpSession } from 'sessctl/middleware';
import { createApp } from '../../examples/php-express/node/app.js';
import { startPhpServer, Jar } from '../helpers/php-server.js';

const state = async (jar, url, opts) => (await (await jar.fetch(url, opts)).json()).session;

describe('PHP app + Express app on the same sessions', needPhp(), () => {
  let dir, php, phpUrl, nodeUrl, server, backend, errors;
  const corrupt = [];
  const servers = [];

  before(async () => {
    if (!hasPhp) return;
    dir = mkdtempSync(join(tmpdir(), 'sessctl-integ-e2e-'));
    php = await startPhpServer(dir);
    phpUrl = php.url;
    backend = new FileSessionStore({ savePath: dir, lockTimeoutMs: 10000 });
    errors = [];
    const app = createApp({
      backend,
      phpUrl,
      sessionOptions: { logger: null, onCorrupt: (e, i) => corrupt.push([i.id, e]), onError: (e, i) => errors.push([i.phase, e]) },
    });
    server = http.createServer(app);
    servers.push(server);
    await /** @type {Promise<void>} */ (new Promise((r) => server.listen(0, '127.0.0.1', r)));
    nodeUrl = `http://127.0.0.1:${/** @type {import('node:net').AddressInfo} */ (server.address()).port}`;
  });

  after(async () => {
    await php?.stop();
    for (const s of servers) s.closeAllConnections();
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('login on PHP → Node sees the user; Node adds to the cart → PHP sees it; PHP logs out → Node sees no session', async () => {
    const jar = new Jar();
    assert.equal((await jar.fetch(`${phpUrl}/`)).status, 200);
    const anonymousId = jar.sid;
    assert.match(anonymousId, /^[a-v0-9]{32}$/);

    const login = await jar.fetch(`${phpUrl}/login.php`, { method: 'POST', form: { name: 'ann' } });
    assert.equal(login.status, 303);
    assert.notEqual(jar.sid, anonymousId, 'PHP regenerated the id at login');
    const sid = jar.sid;

    let node = await (await jar.fetch(`${nodeUrl}/state`)).json();
    assert.equal(node.id, sid);
    assert.equal(node.session.user.name, 'ann');
    assert.ok(Number.isInteger(node.session.user.login_at));
    assert.equal(jar.sid, sid, 'Node did not replace the cookie');

    assert.equal((await jar.fetch(`${phpUrl}/cart.php`, { method: 'POST', form: { sku: 'php-mug' } })).status, 303);
    assert.equal((await jar.fetch(`${nodeUrl}/cart`, { method: 'POST', form: { sku: 'node-sticker' } })).status, 303);
    assert.equal((await jar.fetch(`${nodeUrl}/cart`, { method: 'POST', form: { sku: 'php-mug' } })).status, 303);
    const phpView = await state(jar, `${phpUrl}/state.php`);
    assert.deepEqual(phpView.cart, { 'php-mug': 2, 'node-sticker': 1 });
    assert.equal(phpView.user.name, 'ann');

    // the HTML pages show the same thing to a person
    const phpPage = await (await jar.fetch(`${phpUrl}/`)).text();
    const nodePage = await (await jar.fetch(`${nodeUrl}/`)).text();
    for (const page of [phpPage, nodePage]) {
      assert.match(page, /Logged in as <b>ann<\/b>/);
      assert.match(page, /node-sticker × 1/);
    }

    assert.equal((await jar.fetch(`${phpUrl}/logout.php`, { method: 'POST' })).status, 303);
    assert.equal(jar.sid, undefined, 'PHP expired the cookie');
    assert.equal(existsSync(join(dir, `sess_${sid}`)), false, 'PHP deleted the session file');
    node = await (await jar.fetch(`${nodeUrl}/state`)).json();
    assert.equal(node.session.user, undefined);
    assert.notEqual(node.id, sid);
    // a client that kept the old cookie gets a new, empty session too (strict mode)
    const stale = await (await jar.fetch(`${nodeUrl}/state`, { cookie: `PHPSESSID=${sid}` })).json();
    assert.notEqual(stale.id, sid);
    assert.deepEqual(stale.session, {});
    assert.equal(existsSync(join(dir, `sess_${sid}`)), false, 'strict mode did not recreate the old session');
  });

  test('20 PHP + 20 Node increments, interleaved and concurrent, lose no update', async () => {
    const jar = new Jar();
    await jar.fetch(`${phpUrl}/count.php`); // starts the session at 1
    const hits = [];
    for (let i = 0; i < 20; i++) {
      hits.push(jar.fetch(`${phpUrl}/count.php`, { cookie: `PHPSESSID=${jar.sid}` }).then((r) => r.text()));
      hits.push(jar.fetch(`${nodeUrl}/count`, { cookie: `PHPSESSID=${jar.sid}` }).then((r) => r.text()));
    }
    const answers = (await Promise.all(hits)).map(Number);
    assert.deepEqual([...answers].sort((a, b) => a - b), Array.from({ length: 40 }, (_, i) => i + 2), 'each request saw a distinct count');
    assert.equal((await state(jar, `${phpUrl}/state.php`)).count, 41);
    assert.equal((await (await jar.fetch(`${nodeUrl}/state`)).json()).session.count, 41);
    assert.deepEqual(errors, [], 'the middleware reported no problem');
  });

  test('forged ids (../, over-long, bad characters) never reach a path: a new session each time', async () => {
    const before = readdirSync(dir).length;
    for (const bad of ['../../../tmp/evil', '..%2F..%2Fevil', 'a'.repeat(257), 'x y', 'abc\u00e9']) {
      const jar = new Jar();
      const res = await jar.fetch(`${nodeUrl}/state`, { cookie: `PHPSESSID=${encodeURIComponent(bad)}` });
      assert.equal(res.status, 200);
      const body = await res.json();
      assert.match(body.id, /^[a-v0-9]{32}$/);
      assert.match(res.headers.getSetCookie()[0], new RegExp(`^PHPSESSID=${body.id};`));
    }
    const files = readdirSync(dir);
    assert.equal(files.length, before + 5);
    assert.ok(files.every((f) => /^sess_[a-v0-9]{32}$/.test(f)), files.join());
    assert.equal(existsSync(join(tmpdir(), 'evil')), false);
  });

  test('a corrupt session file: fresh session, reported, the file left exactly as it was', async () => {
    const id = 'corrupt0123456789abcdefghijklmn';
    const file = join(dir, `sess_${id}`);
    writeFileSync(file, 'user|s:99:"truncated', { mode: 0o600 });
    const jar = new Jar();
    const res = await jar.fetch(`${nodeUrl}/state`, { cookie: `PHPSESSID=${id}` });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.notEqual(body.id, id);
    assert.deepEqual(body.session, {});
    assert.equal(corrupt.length, 1);
    assert.equal(corrupt[0][0], id);
    assert.equal(corrupt[0][1].code, 'EDECODE');
    assert.match(corrupt[0][1].message, new RegExp(`sess_${id}`));
    assert.equal(readFileSync(file, 'utf8'), 'user|s:99:"truncated', 'the corrupt file is still there, unchanged');
  });

  test('a handler that throws, and a client that aborts, both release PHP\'s lock', async () => {
    const store = new FileSessionStore({ savePath: dir, lockTimeoutMs: 10000 });
    let entered;
    const inSlow = new Promise((r) => (entered = r));
    const app = express();
    app.use(phpSession({ backend: store, logger: null }));
    app.get('/boom', (req) => {
      req.phpSession.set('boom', 1);
      throw new Error('handler failed while holding the lock');
    });
    app.get('/slow', (req) => {
      entered();
      // never answers: only the client's abort can end this request
    });
    app.use((err, req, res, _next) => res.status(500).end('error'));
    const s = http.createServer(app);
    servers.push(s);
    await /** @type {Promise<void>} */ (new Promise((r) => s.listen(0, '127.0.0.1', r)));
    const url = `http://127.0.0.1:${/** @type {import('node:net').AddressInfo} */ (s.address()).port}`;

    const jar = new Jar();
    await jar.fetch(`${phpUrl}/count.php`);
    const cookie = `PHPSESSID=${jar.sid}`;
    assert.equal((await jar.fetch(`${url}/boom`, { cookie })).status, 500);
    // PHP can take the lock again at once (a held lock would make php -S wait for it)
    assert.equal(await (await jar.fetch(`${phpUrl}/count.php`, { cookie })).text(), '2');
    assert.equal((await state(jar, `${phpUrl}/state.php`, { cookie })).boom, 1, 'the session of a failed handler is written, as PHP does');

    const ac = new AbortController();
    const slow = fetch(`${url}/slow`, { headers: { cookie }, signal: ac.signal }).catch((e) => e.name);
    await inSlow;
    ac.abort();
    assert.equal(await slow, 'AbortError');
    assert.equal(await (await jar.fetch(`${phpUrl}/count.php`, { cookie })).text(), '3', 'PHP got the lock after the client went away');
  });
});
