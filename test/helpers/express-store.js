// The express-session + PhpSessionStore test apps: express-session with the cookie bridge,
// a counting backend wrapper, explicit signals (tests never wait by sleeping).
import { EventEmitter, once } from 'node:events';
import express from 'express';
import session from 'express-session';
import { createPhpSessionStore, phpSessionCookieBridge } from 'sessctl/middleware';
import { PhpArray } from 'sessctl';

export const PhpSessionStore = createPhpSessionStore(session);
export const SECRET = 'hold-secret';
export { listen } from './listen.js';

/**
 * Records every backend call, and lets a test wait for a call to have finished.
 * @param {any} backend
 */
export function instrument(backend) {
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
 * Lets a test wait for the store's next set() to have finished (written, lock released).
 * @param {any} store
 * @returns {() => Promise<unknown>}
 */
export function setsOf(store) {
  const done = new EventEmitter();
  const set = store.set.bind(store);
  store.set = (/** @type {any[]} */ ...args) => {
    const p = set(...args);
    p.then(
      () => done.emit('set'),
      () => done.emit('set'),
    );
    return p;
  };
  return () => once(done, 'set');
}

/**
 * express-session + the cookie bridge + the store, then the test's routes.
 * @param {any} store
 * @param {(app: import('express').Express) => void} routes
 * @param {Partial<import('express-session').SessionOptions>} [options]
 */
export function esApp(store, routes, options = {}) {
  const app = express();
  app.use(phpSessionCookieBridge({ secret: SECRET, isValidId: (id) => store.backend.isValidId(id) }));
  app.use(session({ name: 'PHPSESSID', secret: SECRET, store, genid: () => store.genid(), resave: false, saveUninitialized: false, ...options }));
  routes(app);
  return app;
}

/** @param {import('express').Express} app */
export function incRoutes(app) {
  app.get('/inc', (req, res) => {
    req.session.n = (req.session.n ?? 0) + 1;
    res.end(String(req.session.n));
  });
  app.get('/look', (req, res) => res.end(String(req.session.n)));
}

export const cookie = (/** @type {string} */ id) => ({ headers: { cookie: `PHPSESSID=${id}` } });
export const text = async (/** @type {string} */ url, /** @type {RequestInit} */ init = {}) => (await fetch(url, init)).text();

/** A promise and the function that resolves it. */
export function signal() {
  /** @type {(v?: any) => void} */
  let fire = () => {};
  /** @type {Promise<any>} */
  const fired = new Promise((r) => (fire = r));
  return { fired, fire };
}

/** @param {import('./memory-backend.js').MemoryBackend} backend @param {string} id @param {number} n */
export const plant = (backend, id, n) => backend.sessions.set(id, { fp: 'planted', data: new PhpArray([['n', n]]) });
