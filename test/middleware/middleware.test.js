// The PHP-session middleware against an in-memory backend with a real mutex:
// ids, cookies, strict mode, lazy write, locking on every path, corrupt sessions.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import express from 'express';
import { MemorySessionStore } from 'sessctl/memory';
import { phpSession, withPhpSession } from 'sessctl/middleware';
import { PhpArray, PhpObject, SessctlError } from 'sessctl';
import { MemoryBackend } from '../helpers/memory-backend.js';
import { listen as listenOn } from '../helpers/listen.js';

/** @param {http.RequestListener} handler */
const listen = (handler) => listenOn(handler, { keepAliveTimeout: 1 });

/**
 * @param {string} url
 * @param {{ cookie?: string, signal?: AbortSignal, method?: string }} [options]
 */
function get(url, { cookie, signal, method = 'GET' } = {}) {
  return fetch(url, { method, headers: cookie ? { cookie } : {}, signal });
}
const setCookies = (res) => res.headers.getSetCookie();
const quiet = { logger: null };

function counterApp(backend, options = {}) {
  const app = express();
  app.use(phpSession({ backend, ...quiet, ...options }));
  app.get('/inc', (req, res) => {
    const s = req.phpSession;
    s.set('n', (s.get('n') ?? 0) + 1);
    res.json({ id: s.id, n: s.get('n'), isNew: s.isNew });
  });
  app.get('/read', (req, res) => res.json({ id: req.phpSession.id, data: req.phpSession.toJSON() }));
  return app;
}

describe('ids and cookies', () => {
  test('a new visitor gets a new id, a PHP-style cookie and PHP nocache headers', async () => {
    const backend = new MemoryBackend();
    const base = await listen(counterApp(backend, { cookie: { lifetime: 3600, domain: 'example.com', secure: true, sameSite: 'Strict' } }));
    const res = await get(`${base}/inc`);
    const body = await res.json();
    assert.equal(body.n, 1);
    assert.equal(body.isNew, true);
    const [cookie, ...more] = setCookies(res);
    assert.equal(more.length, 0);
    assert.match(cookie, new RegExp(`^PHPSESSID=${body.id}; expires=[A-Z][a-z]{2}, \\d\\d [A-Z][a-z]{2} \\d{4} \\d\\d:\\d\\d:\\d\\d GMT; Max-Age=3600; path=/; domain=example.com; secure; HttpOnly; SameSite=Strict$`));
    assert.equal(res.headers.get('cache-control'), 'no-store, no-cache, must-revalidate');
    assert.equal(res.headers.get('pragma'), 'no-cache');
    assert.equal(backend.sessions.get(body.id).data.get('n'), 1);
  });

  test('a known id from the cookie is used and no cookie is re-sent (as PHP)', async () => {
    const backend = new MemoryBackend();
    backend.sessions.set('known1234', { fp: 'x', data: new PhpArray([['n', 41]]) });
    const base = await listen(counterApp(backend));
    const res = await get(`${base}/inc`, { cookie: 'other=1; PHPSESSID=known1234; PHPSESSID=second' });
    assert.deepEqual(await res.json(), { id: 'known1234', n: 42, isNew: false });
    assert.deepEqual(setCookies(res), []);
  });

  test('by default (the shipped MemorySessionStore, default settings) an unknown id from the client is never adopted', async () => {
    const store = new MemorySessionStore();
    const base = await listen(counterApp(store));
    const res = await get(`${base}/inc`, { cookie: 'PHPSESSID=attackerFixedId0000000000001' });
    const body = await res.json();
    assert.notEqual(body.id, 'attackerFixedId0000000000001');
    assert.equal(await store.exists('attackerFixedId0000000000001'), false);
    assert.match(setCookies(res)[0], new RegExp(`^PHPSESSID=${body.id};`));
    // and an id the store issued is adopted on the next request
    const again = await get(`${base}/inc`, { cookie: `PHPSESSID=${body.id}` });
    assert.deepEqual(await again.json(), { id: body.id, n: 2, isNew: false });
  });

  test('strict mode off adopts a valid unknown id; strict mode on replaces it', async () => {
    const lax = new MemoryBackend();
    const baseLax = await listen(counterApp(lax));
    let res = await get(`${baseLax}/inc`, { cookie: 'PHPSESSID=attackerChosen1' });
    assert.equal((await res.json()).id, 'attackerChosen1');
    assert.deepEqual(setCookies(res), []);

    const strict = new MemoryBackend({ useStrictMode: true });
    const baseStrict = await listen(counterApp(strict));
    res = await get(`${baseStrict}/inc`, { cookie: 'PHPSESSID=attackerChosen1' });
    const body = await res.json();
    assert.notEqual(body.id, 'attackerChosen1');
    assert.equal(strict.sessions.has('attackerChosen1'), false);
    assert.match(setCookies(res)[0], new RegExp(`^PHPSESSID=${body.id};`));
  });

  for (const bad of ['../../etc/passwd', '..%2F..%2Fx', 'a'.repeat(257), 'sp ace', 'semi;colon', '']) {
    test(`an invalid id (${JSON.stringify(bad.slice(0, 20))}) never reaches the backend: a new session is made`, async () => {
      const backend = new MemoryBackend();
      const base = await listen(counterApp(backend));
      const res = await get(`${base}/inc`, { cookie: `PHPSESSID=${encodeURIComponent(bad)}` });
      const body = await res.json();
      assert.equal(body.isNew, true);
      assert.notEqual(body.id, bad);
      assert.ok(backend.calls.every((id) => backend.isValidId(id)), `backend saw ${backend.calls}`);
      assert.match(setCookies(res)[0], /^PHPSESSID=mem/);
    });
  }

  test('the query-string id is ignored by default and accepted with useOnlyCookies: false', async () => {
    const backend = new MemoryBackend();
    backend.sessions.set('fromQuery123', { fp: 'x', data: new PhpArray([['n', 7]]) });
    const off = await listen(counterApp(backend));
    let body = await (await get(`${off}/inc?PHPSESSID=fromQuery123`)).json();
    assert.notEqual(body.id, 'fromQuery123');
    const on = await listen(counterApp(backend, { useOnlyCookies: false }));
    body = await (await get(`${on}/inc?PHPSESSID=fromQuery123`)).json();
    assert.deepEqual([body.id, body.n], ['fromQuery123', 8]);
    // the cookie still wins over the query string, as in PHP
    backend.sessions.set('fromCookie12', { fp: 'x', data: new PhpArray() });
    body = await (await get(`${on}/inc?PHPSESSID=fromQuery123`, { cookie: 'PHPSESSID=fromCookie12' })).json();
    assert.equal(body.id, 'fromCookie12');
  });

  test('a custom session name is used for the cookie', async () => {
    const backend = new MemoryBackend();
    const base = await listen(counterApp(backend, { name: 'SHOPSESS' }));
    const res = await get(`${base}/inc`, { cookie: 'PHPSESSID=ignored123' });
    assert.match(setCookies(res)[0], /^SHOPSESS=mem/);
    assert.equal(backend.sessions.has('ignored123'), false);
  });

  test('bad options fail at once with ConfigError', () => {
    // @ts-expect-error no backend: checks the runtime refuses it
    assert.throws(() => phpSession({}), { code: 'ECONFIG' });
    assert.throws(() => phpSession({ backend: new MemoryBackend(), name: 'bad name' }), { code: 'ECONFIG' });
    // @ts-expect-error lower-case 'lax' is not one of the SameSite spellings: checks the runtime refuses it
    assert.throws(() => phpSession({ backend: new MemoryBackend(), cookie: { sameSite: 'lax' } }), { code: 'ECONFIG' });
  });
});

describe('reading, writing, lazy write', () => {
  test('an untouched session is only touched, a changed one written; PHP values are kept exactly', async () => {
    const backend = new MemoryBackend();
    const user = new PhpObject('App\\User', new PhpArray([['name', 'ann']]));
    backend.sessions.set('lazy12345', { fp: 'init', data: new PhpArray([['user', user]]) });
    const base = await listen(counterApp(backend));
    await (await get(`${base}/read`, { cookie: 'PHPSESSID=lazy12345' })).json();
    const before = backend.writes;
    const body = await (await get(`${base}/read`, { cookie: 'PHPSESSID=lazy12345' })).json();
    assert.deepEqual(body.data, { user: { name: 'ann' } });
    assert.equal(backend.writes, before, 'an untouched session must not be rewritten');
    await get(`${base}/inc`, { cookie: 'PHPSESSID=lazy12345' });
    assert.equal(backend.writes, before + 1);
    const stored = backend.sessions.get('lazy12345').data;
    assert.ok(stored.get('user') instanceof PhpObject, 'the PHP object stays an object');
    assert.equal(stored.get('n'), 1);
  });

  test('get/set use plain JS: objects become PHP arrays, lists stay lists, floats stay floats', async () => {
    const backend = new MemoryBackend();
    const app = express();
    app.use(phpSession({ backend, ...quiet }));
    app.get('/', (req, res) => {
      req.phpSession.set('cart', { items: [{ sku: 'A1', qty: 2 }], total: 9.5, __proto__x: 1 });
      req.phpSession.set('gone', 1).set('gone', undefined);
      res.end('ok');
    });
    const base = await listen(app);
    const res = await get(base);
    const id = setCookies(res)[0].split(';')[0].split('=')[1];
    const data = backend.sessions.get(id).data;
    const cart = data.get('cart');
    assert.ok(cart instanceof PhpArray);
    assert.ok(cart.get('items').isList());
    assert.equal(cart.get('total').constructor.name, 'PhpFloat');
    assert.equal(data.has('gone'), false);
  });

  test('a __proto__ key in the session does not pollute prototypes', async () => {
    const backend = new MemoryBackend();
    backend.sessions.set('proto1234', { fp: 'x', data: new PhpArray([['__proto__', new PhpArray([['polluted', true]])]]) });
    const base = await listen(counterApp(backend));
    const body = await (await get(`${base}/read`, { cookie: 'PHPSESSID=proto1234' })).json();
    assert.deepEqual(body.data.__proto__, { polluted: true });
    assert.equal({}.polluted, undefined);
  });

  test('the session is written before the response ends (the next request sees it)', async () => {
    const backend = new MemoryBackend();
    const base = await listen(counterApp(backend));
    const first = await get(`${base}/inc`);
    const cookie = setCookies(first)[0].split(';')[0];
    for (let i = 2; i <= 5; i++) assert.equal((await (await get(`${base}/inc`, { cookie })).json()).n, i);
  });
});

describe('locking', () => {
  test('20 concurrent increments on one session lose no update', async () => {
    const backend = new MemoryBackend();
    const app = express();
    app.use(phpSession({ backend, ...quiet }));
    app.get('/inc', async (req, res) => {
      const n = req.phpSession.get('n') ?? 0;
      await new Promise((r) => setImmediate(r)); // let the others try to interleave
      req.phpSession.set('n', n + 1);
      res.end(String(n + 1));
    });
    const base = await listen(app);
    await Promise.all(Array.from({ length: 20 }, () => get(`${base}/inc`, { cookie: 'PHPSESSID=concurrent1' }).then((r) => r.text())));
    assert.equal(backend.sessions.get('concurrent1').data.get('n'), 20);
    assert.equal(backend.isLocked('concurrent1'), false);
  });

  test('a handler that throws releases the lock (Express error path); the session is written as PHP does', async () => {
    const backend = new MemoryBackend({ lockTimeoutMs: 2000 });
    const errors = [];
    const app = express();
    app.use(phpSession({ backend, logger: null, onError: (e, i) => errors.push(i.phase) }));
    app.get('/boom', async (req) => {
      req.phpSession.set('before', 1);
      throw new Error('handler failed');
    });
    app.get('/ok', (req, res) => res.end(`ok ${req.phpSession.get('before')}`));
    app.use((err, req, res, _next) => res.status(500).end('error page'));
    const base = await listen(app);
    const cookie = 'PHPSESSID=thrower123';
    assert.equal((await get(`${base}/boom`, { cookie })).status, 500);
    const res = await get(`${base}/ok`, { cookie });
    assert.equal(await res.text(), 'ok 1');
    assert.equal(backend.isLocked('thrower123'), false);
  });

  test('plain http: withPhpSession turns a throw into a 500 and releases the lock', async () => {
    const backend = new MemoryBackend({ lockTimeoutMs: 2000 });
    const reported = [];
    const base = await listen(
      withPhpSession({ backend, logger: null, onError: (e) => reported.push(e.message) }, async (req, res, session) => {
        if (req.url === '/boom') throw new Error('kaboom');
        session.set('hits', (session.get('hits') ?? 0) + 1);
        res.end(String(session.get('hits')));
      }),
    );
    const cookie = 'PHPSESSID=plainhttp12';
    const boom = await get(`${base}/boom`, { cookie });
    assert.equal(boom.status, 500);
    assert.deepEqual(reported, ['kaboom']);
    assert.equal(await (await get(`${base}/`, { cookie })).text(), '1');
    assert.equal(backend.isLocked('plainhttp12'), false);
  });

  test('a client that aborts mid-request releases the lock without writing', async () => {
    const backend = new MemoryBackend({ lockTimeoutMs: 3000 });
    let entered;
    const inHandler = new Promise((r) => (entered = r));
    /** @type {(value?: unknown) => void} */
    let finishHandler;
    const handlerMayFinish = new Promise((r) => (finishHandler = r));
    const phases = [];
    const app = express();
    app.use(phpSession({ backend, logger: null, onError: (e, i) => phases.push(i.phase) }));
    app.get('/slow', async (req, res) => {
      req.phpSession.set('half', 'done');
      entered();
      await handlerMayFinish;
      try {
        req.phpSession.set('late', 1);
      } catch (err) {
        assert.equal(err.code, 'ESESSIONINACTIVE');
      }
      res.end();
    });
    app.get('/fast', (req, res) => res.json(req.phpSession.toJSON()));
    const base = await listen(app);
    const cookie = 'PHPSESSID=aborted1234';
    const ac = new AbortController();
    const slow = get(`${base}/slow`, { cookie, signal: ac.signal }).catch((e) => e);
    await inHandler;
    ac.abort();
    assert.equal((await slow).name, 'AbortError');
    const fast = await get(`${base}/fast`, { cookie });
    assert.equal(fast.status, 200, 'the lock was released after the client went away');
    assert.deepEqual(await fast.json(), {}, 'the aborted request wrote nothing');
    assert.ok(phases.includes('abort'));
    finishHandler();
  });

  test('maxLockHoldMs releases the lock of a request that never ends', async () => {
    const backend = new MemoryBackend({ lockTimeoutMs: 5000 });
    const phases = [];
    const app = express();
    app.use(phpSession({ backend, logger: null, maxLockHoldMs: 50, onError: (/** @type {Error & { code?: string }} */ e, i) => phases.push([i.phase, e.code]) }));
    app.get('/hang', () => {}); // never answers
    app.get('/ok', (req, res) => res.end('ok'));
    const base = await listen(app);
    const cookie = 'PHPSESSID=hanging1234';
    const ac = new AbortController();
    const hang = get(`${base}/hang`, { cookie, signal: ac.signal }).catch(() => {});
    assert.equal(await (await get(`${base}/ok`, { cookie })).text(), 'ok');
    assert.deepEqual(phases[0], ['timeout', 'ELOCKHELD']);
    ac.abort();
    await hang;
  });

  test('a lock timeout reaches Express error handling; plain http answers 503', async () => {
    const backend = new MemoryBackend({ lockTimeoutMs: 50 });
    const held = await backend.open('busy123456'); // "PHP" holds the lock
    const app = express();
    app.use(phpSession({ backend, ...quiet }));
    app.get('/', (req, res) => res.end('should not run'));
    app.use((err, req, res, _next) => res.status(409).end(err.code));
    const base = await listen(app);
    const res = await get(base, { cookie: 'PHPSESSID=busy123456' });
    assert.deepEqual([res.status, await res.text()], [409, 'ELOCKTIMEOUT']);
    const plain = await listen(withPhpSession({ backend, ...quiet }, (req, res) => res.end('no')));
    assert.equal((await get(plain, { cookie: 'PHPSESSID=busy123456' })).status, 503);
    await held.close();
  });

  test('readAndClose reads without holding the lock and refuses writes', async () => {
    const backend = new MemoryBackend({ lockTimeoutMs: 2000 });
    backend.sessions.set('readonly12', { fp: 'x', data: new PhpArray([['user', 'ann']]) });
    const app = express();
    app.use(phpSession({ backend, readAndClose: true, ...quiet }));
    app.get('/', async (req, res) => {
      assert.equal(backend.isLocked('readonly12'), false);
      assert.throws(() => req.phpSession.set('x', 1), (e) => e instanceof SessctlError && e.code === 'ESESSIONINACTIVE');
      res.end(req.phpSession.get('user'));
    });
    const base = await listen(app);
    assert.equal(await (await get(base, { cookie: 'PHPSESSID=readonly12' })).text(), 'ann');
    assert.equal(backend.sessions.get('readonly12').data.has('x'), false);
  });

  test('save() mid-request releases the lock early (session_write_close)', async () => {
    const backend = new MemoryBackend();
    const app = express();
    app.use(phpSession({ backend, ...quiet }));
    app.get('/', async (req, res) => {
      req.phpSession.set('step', 1);
      await req.phpSession.save();
      res.end(String(backend.isLocked(req.phpSession.id)));
    });
    const base = await listen(app);
    const res = await get(base, { cookie: 'PHPSESSID=earlysave1' });
    assert.equal(await res.text(), 'false');
    assert.equal(backend.sessions.get('earlysave1').data.get('step'), 1);
  });
});

describe('regenerate, destroy, corrupt sessions', () => {
  test('regenerate(true) moves the data to a new id and sends one new cookie', async () => {
    const backend = new MemoryBackend();
    backend.sessions.set('beforelogin', { fp: 'x', data: new PhpArray([['cart', 3]]) });
    const app = express();
    app.use(phpSession({ backend, ...quiet }));
    app.post('/login', async (req, res) => {
      const newId = await req.phpSession.regenerate(true);
      req.phpSession.set('user', 'ann');
      res.end(newId);
    });
    const base = await listen(app);
    const res = await get(`${base}/login`, { method: 'POST', cookie: 'PHPSESSID=beforelogin' });
    const newId = await res.text();
    assert.notEqual(newId, 'beforelogin');
    assert.deepEqual(setCookies(res).map((c) => c.split(';')[0]), [`PHPSESSID=${newId}`]);
    assert.equal(backend.sessions.has('beforelogin'), false);
    assert.deepEqual([...backend.sessions.get(newId).data], [['cart', 3], ['user', 'ann']]);
  });

  test('destroy() deletes the session and expires the cookie', async () => {
    const backend = new MemoryBackend();
    backend.sessions.set('logmeout12', { fp: 'x', data: new PhpArray([['user', 'ann']]) });
    const app = express();
    app.use(phpSession({ backend, ...quiet }));
    app.post('/logout', async (req, res) => {
      await req.phpSession.destroy();
      assert.equal(req.phpSession.status, 'destroyed');
      res.end('bye');
    });
    const base = await listen(app);
    const res = await get(`${base}/logout`, { method: 'POST', cookie: 'PHPSESSID=logmeout12' });
    assert.equal(await res.text(), 'bye');
    assert.equal(backend.sessions.has('logmeout12'), false);
    assert.match(setCookies(res)[0], /^PHPSESSID=deleted; expires=Thu, 01 Jan 1970 00:00:01 GMT; Max-Age=0; path=\//);
    assert.equal(backend.isLocked('logmeout12'), false);
  });

  test('a corrupt session gives a fresh session, is reported, and is left in place', async () => {
    const backend = new MemoryBackend();
    backend.corrupt.add('corrupt1234');
    const corrupt = [];
    const warnings = [];
    const app = counterApp(backend, { onCorrupt: (e, i) => corrupt.push([i.id, e.code]), logger: { warn: (m) => warnings.push(m) } });
    const base = await listen(app);
    const res = await get(`${base}/inc`, { cookie: 'PHPSESSID=corrupt1234' });
    const body = await res.json();
    assert.equal(res.status, 200);
    assert.deepEqual([body.n, body.isNew], [1, true]);
    assert.notEqual(body.id, 'corrupt1234');
    assert.deepEqual(corrupt, [['corrupt1234', 'EDECODE']]);
    assert.match(warnings[0], /corrupt.*corrupt1234/s);
    assert.ok(backend.corrupt.has('corrupt1234'), 'the corrupt session is still there');
    assert.match(setCookies(res)[0], new RegExp(`^PHPSESSID=${body.id};`));
  });
});
