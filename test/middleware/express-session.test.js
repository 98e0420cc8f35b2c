// The express-session Store over a SessionBackend, and the recipe that lets an
// express-session app share PHP's unsigned PHPSESSID cookie (tested with real PHP).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import session from 'express-session';
import { createPhpSessionStore, phpSessionCookieBridge } from 'sessctl/middleware';
import { generateSessionId, PhpArray, PhpObject } from 'sessctl';
import { FileSessionStore } from 'sessctl/files';
import { MemoryBackend } from '../helpers/memory-backend.js';
import { needPhp, hasPhp } from '../helpers/env.js';
import { startPhpServer, Jar } from '../helpers/php-server.js';

const PhpSessionStore = createPhpSessionStore(session);
const user = () => new PhpObject('App\\User', new PhpArray([['name', 'ann'], ['\0*\0role', 'admin']]));

describe('PhpSessionStore (express-session Store)', () => {
  test('is an express-session Store; genid makes PHP-valid ids', () => {
    const store = new PhpSessionStore({ backend: new MemoryBackend() });
    assert.ok(store instanceof session.Store);
    const id = store.genid();
    assert.match(id, /^[0-9a-v]{32}$/);
    assert.match(generateSessionId({ length: 48, bitsPerCharacter: 6 }), /^[0-9a-zA-Z,-]{48}$/);
    assert.notEqual(generateSessionId(), generateSessionId());
    assert.throws(() => generateSessionId({ length: 10 }), { code: 'ECONFIG' });
    // @ts-expect-error not the express-session module (no Store): checks the runtime refuses it
    assert.throws(() => createPhpSessionStore({}), TypeError);
  });

  test('get maps $_SESSION keys to session keys and rebuilds cookie; set merges back losslessly', async () => {
    const backend = new MemoryBackend();
    backend.sessions.set('es12345678', { fp: 'x', data: new PhpArray([['user', user()], ['id', 'php-own-id'], ['cookie', 'php-cookie-key'], ['n', 1]]) });
    const store = new PhpSessionStore({ backend, cookie: { maxAge: 60000 } });
    const sess = await store.get('es12345678');
    assert.deepEqual(sess.user, { name: 'ann', role: 'admin' });
    assert.equal(sess.n, 1);
    assert.equal(sess.id, 'php-own-id');
    assert.equal(sess.cookie.originalMaxAge, 60000);
    assert.equal(sess.cookie.path, '/');
    // what express-session does with it: a Session object (id/save/… are its own API)
    const req = /** @type {import('express').Request} */ (/** @type {unknown} */ ({ sessionID: 'es12345678', sessionStore: store }));
    // PhpSessionStore.get() types its cookie as a plain record, not express-session's Cookie
    const s = store.createSession(req, /** @type {session.SessionData} */ (/** @type {unknown} */ (sess)));
    s.n = 2;
    s.cart = { A1: 2 };
    await store.set('es12345678', s);
    const data = backend.sessions.get('es12345678').data;
    assert.ok(data.get('user') instanceof PhpObject, 'the unchanged PHP object is kept as a PHP object');
    assert.equal(data.get('user').props.get('\0*\0role'), 'admin');
    assert.equal(data.get('n'), 2);
    assert.ok(data.get('cart') instanceof PhpArray);
    assert.equal(data.get('id'), 'php-own-id', 'a key hidden by the Session API is kept');
    assert.equal(data.get('cookie'), 'php-cookie-key', "PHP's own 'cookie' key is kept; express-session's cookie is not stored");
    delete s.n;
    await store.set('es12345678', s);
    assert.equal(backend.sessions.get('es12345678').data.has('n'), false, 'a key express-session deleted is deleted');
  });

  test('cookieKey stores express-session cookie in $_SESSION', async () => {
    const backend = new MemoryBackend();
    const store = new PhpSessionStore({ backend, cookieKey: '_express_cookie' });
    await store.set('withcookie1', { cookie: { originalMaxAge: 5000, expires: '2030-01-01T00:00:00.000Z', path: '/' }, a: 1 });
    const data = backend.sessions.get('withcookie1').data;
    assert.equal(data.get('_express_cookie').get('originalMaxAge'), 5000);
    const back = await store.get('withcookie1');
    assert.equal(back.cookie.originalMaxAge, 5000);
    assert.equal(back._express_cookie, undefined);
  });

  test('touch, destroy, all, length, clear — callback and promise styles', async () => {
    const backend = new MemoryBackend();
    const store = new PhpSessionStore({ backend });
    await store.set('s1aaaaaaaa', { cookie: {}, a: 1 });
    await new Promise((resolve, reject) => store.set('s2aaaaaaaa', { cookie: {}, b: 2 }, (err) => (err ? reject(err) : resolve())));
    assert.equal(await store.length(), 2);
    const all = await new Promise((resolve, reject) => store.all((err, v) => (err ? reject(err) : resolve(v))));
    assert.deepEqual(Object.keys(all).sort(), ['s1aaaaaaaa', 's2aaaaaaaa']);
    assert.equal(all.s2aaaaaaaa.b, 2);
    const touches = backend.touches;
    await store.touch('s1aaaaaaaa', {});
    assert.equal(backend.touches, touches + 1);
    await store.destroy('s1aaaaaaaa');
    assert.equal(await store.get('s1aaaaaaaa'), null);
    await store.clear();
    assert.equal(await store.length(), 0);
  });

  test('hostile ids: get → null, set → InvalidSessionIdError, nothing reaches the backend', async () => {
    const backend = new MemoryBackend();
    const store = new PhpSessionStore({ backend });
    for (const bad of ['../etc/passwd', 'a'.repeat(300), 's:abc.sig', '']) {
      assert.equal(await store.get(bad), null);
      await assert.rejects(store.set(bad, { cookie: {} }), { code: 'EINVALIDID' });
      await store.destroy(bad);
      const err = await new Promise((r) => store.set(bad, { cookie: {} }, r));
      assert.equal(err.code, 'EINVALIDID');
    }
    assert.deepEqual(backend.calls, []);
  });

  test('a corrupt session reads as missing, is reported, and is left in place', async () => {
    const backend = new MemoryBackend();
    backend.corrupt.add('broken1234');
    const seen = [];
    const store = new PhpSessionStore({ backend, onCorrupt: (/** @type {Error & { code?: string }} */ e, sid) => seen.push([sid, e.code]), logger: null });
    assert.equal(await store.get('broken1234'), null);
    assert.deepEqual(seen, [['broken1234', 'EDECODE']]);
    assert.ok(backend.corrupt.has('broken1234'));
  });

  test("a returning visitor's cookie is the one express-session's cookie option makes (rolling resends it whole)", async (t) => {
    // express-session derives originalMaxAge from expires - Date.now(): a millisecond passing
    // between the two makes it 3599999. A still clock keeps it exact.
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    const backend = new MemoryBackend();
    const store = new PhpSessionStore({ backend, logger: null });
    const app = express();
    app.use(phpSessionCookieBridge({ name: 'PHPSESSID', secret: 's3cret', isValidId: (id) => backend.isValidId(id) }));
    app.use(
      session({
        name: 'PHPSESSID',
        secret: 's3cret',
        store,
        genid: () => store.genid(),
        resave: false,
        saveUninitialized: false,
        rolling: true,
        cookie: { maxAge: 3_600_000, domain: 'example.test', sameSite: 'strict', path: '/app' },
      }),
    );
    app.get('/app/inc', (req, res) => {
      req.session.n = (req.session.n ?? 0) + 1;
      res.json({ id: req.sessionID, n: req.session.n, maxAge: req.session.cookie.originalMaxAge });
    });
    const server = http.createServer(app);
    await /** @type {Promise<void>} */ (new Promise((r) => server.listen(0, '127.0.0.1', r)));
    try {
      const base = `http://127.0.0.1:${/** @type {import('node:net').AddressInfo} */ (server.address()).port}`;
      const attributes = (/** @type {string} */ c) => c.split('; ').slice(1).filter((a) => !a.startsWith('Expires=')).sort();
      let res = await fetch(`${base}/app/inc`);
      const first = await res.json();
      const [made] = res.headers.getSetCookie();
      assert.deepEqual(attributes(made), ['Domain=example.test', 'HttpOnly', 'Path=/app', 'SameSite=Strict']);
      assert.match(made, /; Expires=/);
      res = await fetch(`${base}/app/inc`, { headers: { cookie: `PHPSESSID=${first.id}` } });
      const again = await res.json();
      assert.deepEqual([again.id, again.n, again.maxAge], [first.id, 2, 3_600_000]);
      const [resent] = res.headers.getSetCookie();
      assert.ok(resent, 'rolling: the cookie is sent again');
      assert.deepEqual(attributes(resent), attributes(made), 'same Domain, Path, SameSite: not a second, host-only session cookie');
      assert.match(resent, /; Expires=/, 'still a persistent cookie');
      // store.load() (no request to make the cookie for) keeps the defaults
      const loaded = await new Promise((resolve, reject) => store.load(first.id, (err, s) => (err ? reject(err) : resolve(s))));
      assert.equal(/** @type {any} */ (loaded).n, 2);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  test('phpSessionCookieBridge signs the incoming PHP cookie and unsigns the outgoing one', async () => {
    const backend = new MemoryBackend();
    backend.sessions.set('bridged1234', { fp: 'x', data: new PhpArray([['n', 5]]) });
    const store = new PhpSessionStore({ backend });
    const app = express();
    app.use(phpSessionCookieBridge({ name: 'PHPSESSID', secret: 's3cret', isValidId: (id) => backend.isValidId(id) }));
    app.use(session({ name: 'PHPSESSID', secret: 's3cret', store, genid: () => store.genid(), resave: false, saveUninitialized: false }));
    app.get('/', (req, res) => {
      req.session.n = (req.session.n ?? 0) + 1;
      res.json({ id: req.sessionID, n: req.session.n });
    });
    const server = http.createServer(app);
    await /** @type {Promise<void>} */ (new Promise((r) => server.listen(0, '127.0.0.1', r)));
    try {
      const base = `http://127.0.0.1:${/** @type {import('node:net').AddressInfo} */ (server.address()).port}`;
      let res = await fetch(base, { headers: { cookie: 'PHPSESSID=bridged1234' } });
      assert.deepEqual(await res.json(), { id: 'bridged1234', n: 6 });
      assert.equal(backend.sessions.get('bridged1234').data.get('n'), 6);
      res = await fetch(base);
      const body = await res.json();
      const [cookie] = res.headers.getSetCookie();
      assert.match(cookie, new RegExp(`^PHPSESSID=${body.id}; Path=/; HttpOnly`), 'an unsigned, PHP-readable cookie');
      assert.ok(backend.isValidId(body.id));
      res = await fetch(base, { headers: { cookie: 'PHPSESSID=..%2F..%2Fx' } });
      assert.notEqual((await res.json()).id, '../../x');
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});

describe('recipe: express-session + PhpSessionStore + cookie bridge beside real PHP', needPhp(), () => {
  let dir, php, nodeUrl, server;
  before(async () => {
    if (!hasPhp) return;
    dir = mkdtempSync(join(tmpdir(), 'sessctl-integ-es-'));
    php = await startPhpServer(dir);
    const backend = new FileSessionStore({ savePath: dir });
    const store = new PhpSessionStore({ backend, logger: null });
    const app = express();
    app.use(phpSessionCookieBridge({ secret: 'keyboard cat', isValidId: (id) => backend.isValidId(id) }));
    app.use(session({ name: 'PHPSESSID', secret: 'keyboard cat', store, genid: () => store.genid(), resave: false, saveUninitialized: false }));
    app.get('/me', (req, res) => res.json({ id: req.sessionID, user: req.session.user ?? null, cart: req.session.cart ?? null }));
    app.post('/cart', (req, res) => {
      req.session.cart = { ...(req.session.cart ?? {}), 'es-pin': 1 };
      res.json({ ok: true });
    });
    server = http.createServer(app);
    await /** @type {Promise<void>} */ (new Promise((r) => server.listen(0, '127.0.0.1', r)));
    nodeUrl = `http://127.0.0.1:${/** @type {import('node:net').AddressInfo} */ (server.address()).port}`;
  });
  after(async () => {
    await php?.stop();
    server?.closeAllConnections();
    if (server) await new Promise((r) => server.close(r));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('PHP login is seen by express-session; express-session cart is seen by PHP; the PHP object survives', async () => {
    const jar = new Jar();
    await jar.fetch(`${php.url}/login.php`, { method: 'POST', form: { name: 'ann' } });
    const sid = jar.sid;
    assert.ok(sid);
    const me = await (await jar.fetch(`${nodeUrl}/me`)).json();
    assert.deepEqual([me.id, me.user.name], [sid, 'ann']);
    // a PHP-only value express-session cannot represent losslessly: an object
    const file = join(dir, `sess_${sid}`);
    writeFileSync(file, readFileSync(file, 'utf8') + 'obj|O:8:"stdClass":1:{s:1:"a";i:1;}', { flag: 'w' });
    assert.deepEqual(await (await jar.fetch(`${nodeUrl}/cart`, { method: 'POST' })).json(), { ok: true });
    assert.equal(jar.sid, sid, 'the cookie stays PHP\'s id (no signed cookie replaced it)');
    const phpState = (await (await jar.fetch(`${php.url}/state.php`)).json()).session;
    assert.deepEqual(phpState.cart, { 'es-pin': 1 });
    assert.equal(phpState.user.name, 'ann');
    assert.match(readFileSync(file, 'utf8'), /obj\|O:8:"stdClass":1:\{s:1:"a";i:1;\}/);
  });

  test('a new express-session visitor gets a cookie PHP accepts (strict mode on)', async () => {
    const jar = new Jar();
    const res = await jar.fetch(`${nodeUrl}/cart`, { method: 'POST' });
    assert.equal(res.status, 200);
    // express-session sends the headers before its store.set() has finished: wait for the body
    assert.deepEqual(await res.json(), { ok: true });
    const sid = jar.sid;
    assert.match(sid, /^[0-9a-v]{32}$/);
    const phpView = await (await jar.fetch(`${php.url}/state.php`)).json();
    assert.equal(phpView.id, sid, 'PHP adopted the id express-session made');
    assert.deepEqual(phpView.session.cart, { 'es-pin': 1 });
  });
});
