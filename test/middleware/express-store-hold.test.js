// The express-session Store holds the backend's lock from get() to the end of the request
// (one locked round trip, as PHP holds a session for a script): what each express-session
// path does to the held lock, that no path leaks it, FIFO queueing of one session's requests
// in one process, and no lost update racing real PHP on files and on Redis (phpredis locking).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { EventEmitter, once } from 'node:events';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import session from 'express-session';
import { createPhpSessionStore, phpSessionCookieBridge } from 'sessctl/middleware';
import { PhpArray } from 'sessctl';
import { FileSessionStore } from 'sessctl/files';
import { MemoryBackend } from '../helpers/memory-backend.js';
import { needPhp, needRedis, runPhp } from '../helpers/env.js';
import { iniArgs, phpAsync, PHP_INCREMENT } from '../helpers/php-run.js';
import { useRedisServer } from '../helpers/redis-server.js';

const PhpSessionStore = createPhpSessionStore(session);
const SECRET = 'hold-secret';
/** @type {http.Server[]} */
const servers = [];

after(async () => {
  for (const s of servers) s.closeAllConnections();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

/** @param {http.RequestListener} handler */
async function listen(handler) {
  const server = http.createServer(handler);
  servers.push(server);
  await /** @type {Promise<void>} */ (new Promise((r) => server.listen(0, '127.0.0.1', r)));
  return `http://127.0.0.1:${/** @type {import('node:net').AddressInfo} */ (server.address()).port}`;
}

/**
 * Records every backend call, and lets a test wait for a call to have finished.
 * @param {any} backend
 */
function instrument(backend) {
  /** @type {string[]} */
  const ops = [];
  const done = new EventEmitter();
  for (const m of ['open', 'read', 'update', 'touch', 'destroy']) {
    const f = backend[m].bind(backend);
    backend[m] = (/** @type {any[]} */ ...args) => {
      ops.push(m);
      const p = f(...args);
      p.then(
        () => done.emit(m),
        () => done.emit(m),
      );
      return p;
    };
  }
  return { ops, finished: (/** @type {string} */ m) => once(done, m) };
}

/**
 * express-session + the cookie bridge + the store, then the test's routes.
 * @param {any} store
 * @param {(app: import('express').Express) => void} routes
 * @param {Partial<import('express-session').SessionOptions>} [options]
 */
function esApp(store, routes, options = {}) {
  const app = express();
  app.use(phpSessionCookieBridge({ secret: SECRET, isValidId: (id) => store.backend.isValidId(id) }));
  app.use(session({ name: 'PHPSESSID', secret: SECRET, store, genid: () => store.genid(), resave: false, saveUninitialized: false, ...options }));
  routes(app);
  return app;
}

/** @param {import('express').Express} app */
function incRoutes(app) {
  app.get('/inc', (req, res) => {
    req.session.n = (req.session.n ?? 0) + 1;
    res.end(String(req.session.n));
  });
  app.get('/look', (req, res) => res.end(String(req.session.n)));
}

const cookie = (/** @type {string} */ id) => ({ headers: { cookie: `PHPSESSID=${id}` } });
const text = async (/** @type {string} */ url, /** @type {RequestInit} */ init = {}) => (await fetch(url, init)).text();

/** A promise and the function that resolves it. */
function signal() {
  /** @type {(v?: any) => void} */
  let fire = () => {};
  /** @type {Promise<any>} */
  const fired = new Promise((r) => (fire = r));
  return { fired, fire };
}

/** @param {MemoryBackend} backend @param {string} id @param {number} n */
const plant = (backend, id, n) => backend.sessions.set(id, { fp: 'planted', data: new PhpArray([['n', n]]) });

describe('one locked round trip per request', () => {
  test('a changed session: one open, written through the held handle; an unchanged one: touched through it', async () => {
    const backend = new MemoryBackend();
    const { ops } = instrument(backend);
    const store = new PhpSessionStore({ backend, logger: null });
    const base = await listen(esApp(store, incRoutes));
    plant(backend, 'roundtrip1', 4);
    assert.equal(await text(`${base}/inc`, cookie('roundtrip1')), '5');
    assert.deepEqual(ops, ['open'], 'no read, no second open for the update');
    assert.equal(backend.sessions.get('roundtrip1')?.data.get('n'), 5);
    assert.equal(backend.isLocked('roundtrip1'), false);
    assert.equal(store.heldLocks, 0);
    ops.length = 0;
    const touches = backend.touches;
    assert.equal(await text(`${base}/look`, cookie('roundtrip1')), '5');
    assert.deepEqual(ops, ['open'], 'express-session touch() went through the held handle');
    assert.equal(backend.touches, touches + 1, 'lazy write: only the timestamp');
    assert.equal(backend.isLocked('roundtrip1'), false);
  });

  test('an unknown id: what open() made is removed, nothing stays locked; the new session is written once', async () => {
    const backend = new MemoryBackend();
    const { ops } = instrument(backend);
    const store = new PhpSessionStore({ backend, logger: null });
    const base = await listen(esApp(store, incRoutes));
    const res = await fetch(`${base}/inc`, cookie('unknown123'));
    assert.equal(await res.text(), '1');
    assert.equal(backend.sessions.has('unknown123'), false, 'no session under the id the client made up');
    const fresh = /^PHPSESSID=([^;]+)/.exec(res.headers.getSetCookie()[0] ?? '')?.[1];
    assert.ok(fresh && fresh !== 'unknown123');
    assert.equal(backend.sessions.get(fresh)?.data.get('n'), 1);
    assert.deepEqual(ops, ['open', 'update', 'open']);
    assert.equal(backend.isLocked('unknown123') || backend.isLocked(fresh), false);
  });

  test('holdLock: false keeps the two-step path (read, then a locked merge)', async () => {
    const backend = new MemoryBackend();
    const { ops } = instrument(backend);
    const store = new PhpSessionStore({ backend, logger: null, holdLock: false });
    const base = await listen(esApp(store, incRoutes));
    plant(backend, 'twostep123', 1);
    assert.equal(await text(`${base}/inc`, cookie('twostep123')), '2');
    assert.deepEqual(ops, ['read', 'update', 'open']);
  });

  for (const [label, options] of /** @type {[string, Partial<import('express-session').SessionOptions>][]} */ ([
    ['resave: true', { resave: true }],
    ['rolling: true', { rolling: true }],
    ['saveUninitialized: true', { saveUninitialized: true }],
    ['cookie.maxAge set', { cookie: { maxAge: 60000 } }],
  ])) {
    test(`${label}: still one open per request, released at the end`, async () => {
      const backend = new MemoryBackend();
      const { ops } = instrument(backend);
      const store = new PhpSessionStore({ backend, logger: null });
      const base = await listen(esApp(store, incRoutes, options));
      plant(backend, 'options123', 0);
      for (let i = 1; i <= 3; i++) assert.equal(await text(`${base}/inc`, cookie('options123')), String(i));
      await text(`${base}/look`, cookie('options123'));
      assert.deepEqual(ops, ['open', 'open', 'open', 'open']);
      assert.equal(backend.sessions.get('options123')?.data.get('n'), 3);
      assert.equal(backend.isLocked('options123'), false);
      assert.equal(store.heldLocks, 0);
    });
  }
});

describe('every way a request ends releases the lock', () => {
  test('req.session = null (unset: keep): nothing is written, the lock is released at the end', async () => {
    const backend = new MemoryBackend();
    const store = new PhpSessionStore({ backend, logger: null });
    const base = await listen(
      esApp(store, (app) =>
        app.get('/drop', (req, res) => {
          req.session.n = 99;
          /** @type {any} */ (req).session = null;
          res.end('dropped');
        }),
      ),
    );
    plant(backend, 'dropped123', 7);
    const writes = backend.writes;
    assert.equal(await text(`${base}/drop`, cookie('dropped123')), 'dropped');
    assert.equal(backend.writes, writes);
    assert.equal(backend.sessions.get('dropped123')?.data.get('n'), 7);
    assert.equal(backend.isLocked('dropped123'), false);
    assert.equal(store.heldLocks, 0);
  });

  test('req.session = null with unset: destroy, and req.session.destroy(): deleted through the held handle', async () => {
    const backend = new MemoryBackend();
    const { ops } = instrument(backend);
    const store = new PhpSessionStore({ backend, logger: null });
    const routes = (/** @type {import('express').Express} */ app) => {
      app.get('/unset', (req, res) => {
        /** @type {any} */ (req).session = null;
        res.end('gone');
      });
      app.get('/destroy', (req, res) => req.session.destroy(() => res.end('gone')));
    };
    const base = await listen(esApp(store, routes, { unset: 'destroy' }));
    plant(backend, 'unsetdest1', 1);
    plant(backend, 'destroyed1', 1);
    assert.equal(await text(`${base}/unset`, cookie('unsetdest1')), 'gone');
    assert.equal(await text(`${base}/destroy`, cookie('destroyed1')), 'gone');
    assert.equal(backend.sessions.has('unsetdest1'), false);
    assert.equal(backend.sessions.has('destroyed1'), false);
    // express-session's unset: 'destroy' destroys again at the end (nothing left: the old path)
    assert.deepEqual(ops.filter((o) => o === 'open').length, 2, 'each request opened once');
    assert.equal(backend.isLocked('unsetdest1') || backend.isLocked('destroyed1'), false);
    assert.equal(store.heldLocks, 0);
  });

  test('regenerate: the old session is deleted under the held lock, the new id gets the data', async () => {
    const backend = new MemoryBackend();
    const store = new PhpSessionStore({ backend, logger: null });
    const base = await listen(
      esApp(store, (app) =>
        app.get('/login', (req, res) => {
          const n = req.session.n;
          req.session.regenerate(() => {
            req.session.n = n + 1;
            req.session.user = 'ann';
            res.end(req.sessionID);
          });
        }),
      ),
    );
    plant(backend, 'beforelogin', 1);
    const fresh = await text(`${base}/login`, cookie('beforelogin'));
    assert.notEqual(fresh, 'beforelogin');
    assert.equal(backend.sessions.has('beforelogin'), false);
    assert.equal(backend.sessions.get(fresh)?.data.get('user'), 'ann');
    assert.equal(backend.isLocked('beforelogin') || backend.isLocked(fresh), false);
    assert.equal(store.heldLocks, 0);
  });

  test('a handler that throws: the error page ends the response, the session is saved and released', async () => {
    const backend = new MemoryBackend();
    const store = new PhpSessionStore({ backend, logger: null });
    const base = await listen(
      esApp(store, (app) => {
        app.get('/boom', (req) => {
          req.session.n = 42;
          throw new Error('handler failed');
        });
        app.use((/** @type {unknown} */ _err, /** @type {any} */ _req, /** @type {import('express').Response} */ res, /** @type {any} */ _next) => res.status(500).end('error page'));
      }),
    );
    plant(backend, 'thrower123', 1);
    const res = await fetch(`${base}/boom`, cookie('thrower123'));
    assert.equal(res.status, 500);
    await res.text();
    assert.equal(backend.sessions.get('thrower123')?.data.get('n'), 42);
    assert.equal(backend.isLocked('thrower123'), false);
  });

  test('a client that goes away: released at close without writing; the late save merges under a fresh lock', async () => {
    const backend = new MemoryBackend();
    const { finished } = instrument(backend);
    const entered = signal();
    const proceed = signal();
    const warned = signal();
    const store = new PhpSessionStore({ backend, logger: { warn: (m) => warned.fire(m) } });
    const base = await listen(
      esApp(store, (app) => {
        incRoutes(app);
        app.get('/slow', async (req, res) => {
          req.session.late = 'yes';
          entered.fire();
          await proceed.fired;
          res.end('late');
        });
      }),
    );
    plant(backend, 'aborted123', 1);
    const ac = new AbortController();
    const gone = fetch(`${base}/slow`, { ...cookie('aborted123'), signal: ac.signal }).catch(() => 'aborted');
    await entered.fired;
    assert.equal(backend.isLocked('aborted123'), true, 'held while the handler runs');
    ac.abort();
    assert.match(await warned.fired, /aborted123: the response closed before it ended.*released without writing/);
    assert.equal(backend.isLocked('aborted123'), false);
    assert.equal(await gone, 'aborted');
    assert.equal(await text(`${base}/inc`, cookie('aborted123')), '2', 'others are not blocked meanwhile');
    const merged = finished('update');
    proceed.fire();
    await merged;
    assert.equal(backend.sessions.get('aborted123')?.data.get('late'), 'yes');
    assert.equal(backend.isLocked('aborted123'), false);
    assert.equal(store.heldLocks, 0);
  });

  test('a client that goes away while its request waits for the lock: nothing is held for it', async () => {
    const backend = new MemoryBackend();
    const { finished } = instrument(backend);
    const asked = signal();
    const open = backend.open.bind(backend);
    backend.open = (id, o) => {
      const p = open(id, o);
      asked.fire();
      return p;
    };
    const closed = signal();
    const store = new PhpSessionStore({ backend, logger: null });
    const app = express();
    app.use((_req, res, next) => {
      res.once('close', () => closed.fire());
      next();
    });
    const base = await listen(app.use(esApp(store, incRoutes)));
    plant(backend, 'waitedgone', 1);
    const other = await open('waitedgone');
    const ac = new AbortController();
    const gone = fetch(`${base}/inc`, { ...cookie('waitedgone'), signal: ac.signal }).catch(() => 'aborted');
    await asked.fired;
    ac.abort();
    await closed.fired;
    assert.equal(await gone, 'aborted');
    const saved = finished('update');
    await other.close(); // the waiting get now has the lock, for a response already closed
    await saved; // express-session still ran the request; its save took the two-step path
    assert.equal(backend.sessions.get('waitedgone')?.data.get('n'), 2);
    assert.equal(backend.isLocked('waitedgone'), false);
    assert.equal(store.heldLocks, 0);
  });

  test('maxLockHoldMs: a request holding too long is released with a warning; its save comes later, merged', async () => {
    const backend = new MemoryBackend();
    const { finished } = instrument(backend);
    const warned = signal();
    const store = new PhpSessionStore({ backend, maxLockHoldMs: 20, logger: { warn: (m) => warned.fire(m) } });
    /** @type {boolean[]} */
    const lockedAfterWarning = [];
    const base = await listen(
      esApp(store, (app) =>
        app.get('/long', async (req, res) => {
          req.session.n = 10;
          assert.match(await warned.fired, /longer than 20 ms \(maxLockHoldMs\); released without writing/);
          lockedAfterWarning.push(backend.isLocked('longhold12'));
          res.end('done');
        }),
      ),
    );
    plant(backend, 'longhold12', 1);
    const merged = finished('update');
    assert.equal(await text(`${base}/long`, cookie('longhold12')), 'done');
    await merged;
    assert.deepEqual(lockedAfterWarning, [false]);
    assert.equal(backend.sessions.get('longhold12')?.data.get('n'), 10);
    assert.equal(backend.isLocked('longhold12'), false);
  });

  test('req.session.save() mid-request writes and releases (session_write_close); later changes merge at the end', async () => {
    const backend = new MemoryBackend();
    const { ops } = instrument(backend);
    const store = new PhpSessionStore({ backend, logger: null });
    /** @type {boolean[]} */
    const lockedAfterSave = [];
    const base = await listen(
      esApp(store, (app) =>
        app.get('/twice', (req, res) => {
          req.session.n = 1;
          req.session.save(() => {
            lockedAfterSave.push(backend.isLocked('savedtwice'));
            req.session.m = 2;
            res.end('ok');
          });
        }),
      ),
    );
    plant(backend, 'savedtwice', 0);
    assert.equal(await text(`${base}/twice`, cookie('savedtwice')), 'ok');
    assert.deepEqual(lockedAfterSave, [false]);
    assert.deepEqual([...(backend.sessions.get('savedtwice')?.data ?? [])], [['n', 1], ['m', 2]]);
    assert.deepEqual(ops, ['open', 'update', 'open']);
    assert.equal(backend.isLocked('savedtwice'), false);
  });

  test('req.session.reload() on the held session does not wait for its own lock', async () => {
    const backend = new MemoryBackend({ lockTimeoutMs: 60000 });
    const store = new PhpSessionStore({ backend, logger: null });
    const base = await listen(
      esApp(store, (app) =>
        app.get('/reload', (req, res) => {
          req.session.n = 1000;
          req.session.reload((/** @type {unknown} */ err) => {
            if (err) return res.status(500).end(String(err));
            req.session.n += 1;
            res.end(String(req.session.n));
          });
        }),
      ),
    );
    plant(backend, 'reloader12', 5);
    assert.equal(await text(`${base}/reload`, cookie('reloader12')), '6', 'reload gave back the stored value');
    assert.equal(backend.sessions.get('reloader12')?.data.get('n'), 6);
    assert.equal(backend.isLocked('reloader12'), false);
  });

  test('a get() nobody claims (store.load, a direct call) is released at once', async () => {
    const backend = new MemoryBackend();
    const store = new PhpSessionStore({ backend, logger: null });
    plant(backend, 'loaded1234', 3);
    const loaded = await new Promise((resolve, reject) => store.load('loaded1234', (err, s) => (err ? reject(err) : resolve(s))));
    assert.equal(loaded.n, 3);
    assert.equal(backend.isLocked('loaded1234'), false);
    const direct = await new Promise((resolve, reject) => store.get('loaded1234', (err, s) => (err ? reject(err) : resolve(s))));
    assert.equal(direct?.n, 3);
    assert.equal(backend.isLocked('loaded1234'), false);
    assert.equal(store.heldLocks, 0);
  });

  test('without Express (no req.res): two steps unless store.responseHook() is mounted first', async () => {
    for (const hooked of [false, true]) {
      const backend = new MemoryBackend();
      const { ops } = instrument(backend);
      const store = new PhpSessionStore({ backend, logger: null });
      const bridge = phpSessionCookieBridge({ secret: SECRET });
      const mw = session({ name: 'PHPSESSID', secret: SECRET, store, genid: () => store.genid(), resave: false, saveUninitialized: false });
      const hook = store.responseHook();
      const base = await listen((req, res) => {
        const run = () =>
          bridge(req, res, () =>
            mw(/** @type {any} */ (req), /** @type {any} */ (res), () => {
              const s = /** @type {any} */ (req).session;
              s.n = (s.n ?? 0) + 1;
              res.end(String(s.n));
            }),
          );
        if (hooked) hook(req, res, run);
        else run();
      });
      plant(backend, 'plainhttp1', 1);
      assert.equal(await text(base, cookie('plainhttp1')), '2');
      assert.deepEqual(ops, hooked ? ['open'] : ['open', 'update', 'open']);
      assert.equal(backend.isLocked('plainhttp1'), false);
      assert.equal(store.heldLocks, 0);
    }
  });

  test('a write that fails through the held handle: the lock is still released, the error reaches express-session', async () => {
    const backend = new MemoryBackend();
    const open = backend.open.bind(backend);
    backend.open = async (id, o) => {
      const h = await open(id, o);
      h.save = async () => {
        throw new Error('disk full');
      };
      return h;
    };
    /** @type {string[]} */
    const errors = [];
    const store = new PhpSessionStore({ backend, logger: null });
    const failed = signal();
    const base = await listen(
      esApp(store, (app) => {
        incRoutes(app);
        app.use((/** @type {Error} */ err, /** @type {any} */ _req, /** @type {any} */ _res, /** @type {any} */ _next) => {
          errors.push(err.message);
          failed.fire();
        });
      }),
    );
    plant(backend, 'failwrite1', 1);
    await text(`${base}/inc`, cookie('failwrite1'));
    await failed.fired;
    assert.deepEqual(errors, ['disk full']);
    assert.equal(backend.sessions.get('failwrite1')?.data.get('n'), 1);
    assert.equal(backend.isLocked('failwrite1'), false);
    assert.equal(store.heldLocks, 0);
  });

  test('the lock not had within lockTimeoutMs: get fails, express-session passes the LockTimeoutError on', async () => {
    const backend = new MemoryBackend();
    const store = new PhpSessionStore({ backend, logger: null, lockTimeoutMs: 30 });
    /** @type {string[]} */
    const codes = [];
    const base = await listen(
      esApp(store, (app) => {
        incRoutes(app);
        app.use((/** @type {any} */ err, /** @type {any} */ _req, /** @type {import('express').Response} */ res, /** @type {any} */ _next) => {
          codes.push(err.code);
          res.status(503).end('busy');
        });
      }),
    );
    plant(backend, 'lockedout1', 1);
    const other = await backend.open('lockedout1');
    const res = await fetch(`${base}/inc`, cookie('lockedout1'));
    assert.equal(res.status, 503);
    await res.text();
    assert.deepEqual(codes, ['ELOCKTIMEOUT']);
    await other.close();
    assert.equal(store.heldLocks, 0);
    assert.equal(await text(`${base}/inc`, cookie('lockedout1')), '2');
  });

  test('a corrupt session: released by open, reported, a fresh session', async () => {
    const backend = new MemoryBackend();
    backend.corrupt.add('corrupted1');
    /** @type {string[]} */
    const seen = [];
    const store = new PhpSessionStore({ backend, logger: null, onCorrupt: (_e, sid) => seen.push(sid) });
    const base = await listen(esApp(store, incRoutes));
    assert.equal(await text(`${base}/inc`, cookie('corrupted1')), '1');
    assert.deepEqual(seen, ['corrupted1']);
    assert.equal(backend.isLocked('corrupted1'), false);
  });
});

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
