// The express-session Store holds the backend's lock from get() to the end of the request
// (one locked round trip, as PHP holds a session for a script): what each express-session
// path does to the held lock, and that no path leaks it. Races: express-store-race.test.js.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import express from 'express';
import session from 'express-session';
import { phpSessionCookieBridge } from 'sessctl/middleware';
import { failSaves, MemoryBackend } from '../helpers/memory-backend.js';
import { PhpSessionStore, SECRET, cookie, esApp, incRoutes, instrument, listen, plant, setsOf, signal, text } from '../helpers/express-store.js';

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
    assert.deepEqual(ops, ['read', 'open']);
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
    instrument(backend);
    const entered = signal();
    const proceed = signal();
    const warned = signal();
    const store = new PhpSessionStore({ backend, logger: { warn: (m) => warned.fire(m) } });
    const nextSet = setsOf(store);
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
    const merged = nextSet();
    proceed.fire();
    await merged;
    assert.equal(backend.sessions.get('aborted123')?.data.get('late'), 'yes');
    assert.equal(backend.isLocked('aborted123'), false);
    assert.equal(store.heldLocks, 0);
  });

  test('a client that goes away while its request waits for the lock: nothing is held for it', async () => {
    const backend = new MemoryBackend();
    instrument(backend);
    const asked = signal();
    const open = backend.open.bind(backend);
    backend.open = (id, o) => {
      const p = open(id, o);
      asked.fire();
      return p;
    };
    const closed = signal();
    const store = new PhpSessionStore({ backend, logger: null });
    const nextSet = setsOf(store);
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
    const saved = nextSet();
    await other.close(); // the waiting get now has the lock, for a response already closed
    await saved; // express-session still ran the request; its save took the two-step path
    assert.equal(backend.sessions.get('waitedgone')?.data.get('n'), 2);
    assert.equal(backend.isLocked('waitedgone'), false);
    assert.equal(store.heldLocks, 0);
  });

  test('maxLockHoldMs: a request holding too long is released with a warning; its save comes later, merged', async () => {
    const backend = new MemoryBackend();
    instrument(backend);
    const warned = signal();
    const store = new PhpSessionStore({ backend, maxLockHoldMs: 20, logger: { warn: (m) => warned.fire(m) } });
    const nextSet = setsOf(store);
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
    const merged = nextSet();
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
    assert.deepEqual(ops, ['open', 'open'], 'the later change: merged under a fresh open of the stored session');
    assert.equal(backend.isLocked('savedtwice'), false);
  });

  test('a session destroyed (PHP logout) after req.session.save() released it stays destroyed: the later change is not written', async () => {
    const backend = new MemoryBackend();
    const store = new PhpSessionStore({ backend, logger: null });
    const base = await listen(
      esApp(store, (app) =>
        app.get('/long', (req, res) => {
          req.session.n = 1;
          req.session.save(async () => {
            await backend.destroy('loggedout1'); // what PHP's session_destroy() does meanwhile
            req.session.m = 2;
            res.end('ok');
          });
        }),
      ),
    );
    plant(backend, 'loggedout1', 0);
    assert.equal(await text(`${base}/long`, cookie('loggedout1')), 'ok');
    assert.equal(backend.sessions.has('loggedout1'), false, 'not brought back by the request that read it');
    assert.equal(backend.isLocked('loggedout1'), false);
    // a new session (not read from the store) is still created by the two-step path
    const fresh = await fetch(`${base}/long`);
    assert.equal(await fresh.text(), 'ok');
    assert.equal(store.heldLocks, 0);
  });

  test('holdLock: false: a session destroyed between the read and the write stays destroyed', async () => {
    const backend = new MemoryBackend();
    const store = new PhpSessionStore({ backend, logger: null, holdLock: false });
    const base = await listen(
      esApp(store, (app) =>
        app.get('/slow', async (req, res) => {
          await backend.destroy('loggedout2');
          req.session.n = 5;
          res.end('ok');
        }),
      ),
    );
    plant(backend, 'loggedout2', 1);
    assert.equal(await text(`${base}/slow`, cookie('loggedout2')), 'ok');
    assert.equal(backend.sessions.has('loggedout2'), false);
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
      assert.deepEqual(ops, hooked ? ['open'] : ['open', 'open']);
      assert.equal(backend.isLocked('plainhttp1'), false);
      assert.equal(store.heldLocks, 0);
    }
  });

  test('a write that fails through the held handle: the lock is still released, the error reaches express-session', async () => {
    const backend = new MemoryBackend();
    failSaves(backend, 'disk full');
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
