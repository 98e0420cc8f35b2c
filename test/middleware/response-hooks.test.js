// How the middleware hooks node:http without adding properties to each request and response
// (an accessor on IncomingMessage.prototype, one end hook on ServerResponse.prototype): the
// places where that could differ from an own property — Express sub-apps, other wrappers of
// res.end, names someone else already defined, two middlewares on one request, a failed write.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import express from 'express';
import { FileSessionStore } from 'sessctl/files';
import { phpSession } from 'sessctl/middleware';
import { failSaves, MemoryBackend } from '../helpers/memory-backend.js';
import { listen as listenOn } from '../helpers/listen.js';

/** @param {http.RequestListener} handler */
const listen = (handler) => listenOn(handler, { keepAliveTimeout: 1 });

/** @param {string} url @param {string} [cookie] */
const get = (url, cookie) => fetch(url, { headers: cookie ? { cookie } : {} });
/** @param {Response} res */
const cookieOf = (res) => res.headers.getSetCookie()[0]?.split(';')[0] ?? '';
const quiet = { logger: null };

/** @param {import('express').Request} req @param {import('express').Response} res */
function increment(req, res) {
  const s = req.phpSession;
  s.set('n', (s.get('n') ?? 0) + 1);
  res.json({ n: s.get('n') });
}

/** Four requests on one session: each must see the previous one's write. */
async function assertCounts(url) {
  const first = await get(url);
  assert.equal(first.status, 200);
  assert.deepEqual(await first.json(), { n: 1 });
  const cookie = cookieOf(first);
  for (let n = 2; n <= 4; n++) assert.deepEqual(await (await get(url, cookie)).json(), { n });
}

test('a handler in an Express sub-app sees req.phpSession opened by the parent app, and its end writes the session', async () => {
  const backend = new MemoryBackend();
  const app = express();
  app.use(phpSession({ backend, ...quiet }));
  const sub = express();
  sub.get('/inc', increment);
  app.use('/sub', sub);
  await assertCounts(`${await listen(app)}/sub/inc`);
  assert.equal(backend.writes, 4);
});

test('a wrapper of res.end installed before the middleware (as compression does) still runs, after the session is written', async () => {
  const backend = new MemoryBackend();
  const app = express();
  /** @type {number[]} */
  const storedAtEnd = [];
  app.use((req, res, next) => {
    const end = res.end;
    res.end = function (...args) {
      const id = req.phpSession?.id;
      storedAtEnd.push(id ? backend.sessions.get(id)?.data.get('n') ?? 0 : -1);
      return end.apply(this, args);
    };
    next();
  });
  app.use(phpSession({ backend, ...quiet }));
  app.get('/inc', increment);
  await assertCounts(`${await listen(app)}/inc`);
  // Ours wraps theirs (it came later), so the session is stored when theirs runs.
  assert.deepEqual(storedAtEnd, [1, 2, 3, 4]);
});

test('a wrapper of res.end installed after the middleware (inside the handler) runs first, and the session is still written', async () => {
  const backend = new MemoryBackend();
  const app = express();
  app.use(phpSession({ backend, ...quiet }));
  let wrapped = 0;
  app.get('/inc', (req, res) => {
    const end = res.end;
    res.end = function (...args) {
      wrapped++;
      return end.apply(this, args);
    };
    increment(req, res);
  });
  await assertCounts(`${await listen(app)}/inc`);
  assert.equal(wrapped, 4);
});

test('req.phpSession assigned by app code is an ordinary property of that request only', async () => {
  const backend = new MemoryBackend();
  const app = express();
  app.use(phpSession({ backend, ...quiet }));
  app.get('/replace', (req, res) => {
    const real = req.phpSession;
    // @ts-expect-error app code replacing the property with something else
    req.phpSession = 'replaced';
    res.json({ seen: req.phpSession, own: Object.prototype.hasOwnProperty.call(req, 'phpSession'), realId: real.id });
  });
  app.get('/inc', increment);
  const base = await listen(app);
  const body = await (await get(`${base}/replace`)).json();
  assert.equal(body.seen, 'replaced');
  assert.equal(body.own, true);
  assert.equal(typeof body.realId, 'string');
  await assertCounts(`${base}/inc`);
});

test('a property name the request prototype already has is left alone: the session becomes an own property', async () => {
  const backend = new MemoryBackend();
  const taken = 'sessctlTestTakenName';
  Object.defineProperty(http.IncomingMessage.prototype, taken, { configurable: true, get: () => 'theirs' });
  after(() => delete (/** @type {any} */ (http.IncomingMessage.prototype))[taken]);
  const app = express();
  app.get('/before', (req, res) => res.json({ v: /** @type {any} */ (req)[taken] }));
  app.use(phpSession({ backend, ...quiet, property: taken }));
  app.get('/inc', (req, res) => {
    const s = /** @type {any} */ (req)[taken];
    s.set('n', (s.get('n') ?? 0) + 1);
    res.json({ n: s.get('n') });
  });
  const base = await listen(app);
  await assertCounts(`${base}/inc`);
  // Their accessor is untouched for requests the middleware never saw.
  assert.deepEqual(await (await get(`${base}/before`)).json(), { v: 'theirs' });
});

test('two middlewares (two names, two backends) on one request both write before the response goes out', async () => {
  const a = new MemoryBackend();
  const b = new MemoryBackend();
  const app = express();
  app.use(phpSession({ backend: a, ...quiet }));
  app.use(phpSession({ backend: b, ...quiet, name: 'OTHERSESSID', property: 'otherSession' }));
  app.get('/inc', (req, res) => {
    const other = /** @type {import('sessctl/middleware').PhpSession} */ (/** @type {any} */ (req).otherSession);
    other.set('m', (other.get('m') ?? 0) + 10);
    increment(req, res);
  });
  const base = await listen(app);
  const first = await get(`${base}/inc`);
  const cookie = first.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
  assert.deepEqual(await first.json(), { n: 1 });
  assert.deepEqual(await (await get(`${base}/inc`, cookie)).json(), { n: 2 });
  const [[, bs]] = [...b.sessions];
  assert.equal(bs.data.get('m'), 20);
  assert.equal(a.writes + b.writes, 4);
});

test('a session that cannot be written turns the response into a 500 (nothing was sent yet), through the shared hook', async () => {
  const backend = new MemoryBackend();
  failSaves(backend, 'disk full (test)');
  /** @type {Error[]} */
  const reported = [];
  const app = express();
  app.use(phpSession({ backend, logger: null, onError: (err) => reported.push(err) }));
  app.get('/inc', increment);
  const res = await get(`${await listen(app)}/inc`);
  assert.equal(res.status, 500);
  assert.equal(await res.text(), 'Session could not be saved');
  assert.match(reported[0]?.message ?? '', /disk full/);
});

test('responses of requests without a session are untouched by the shared hook', async () => {
  const app = express();
  app.get('/plain', (req, res) => {
    res.end('plain', () => undefined);
  });
  const res = await get(`${await listen(app)}/plain`);
  assert.equal(await res.text(), 'plain');
});

test('a session that is no longer active lets go of the response, so req.phpSession does not keep the response alive (V8 promoted it whole)', async (t) => {
  v8.setFlagsFromString('--expose-gc');
  const collect = /** @type {() => void} */ (vm.runInNewContext('gc'));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sessctl-hooks-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  /** @type {Array<[string, import('sessctl').SessionBackend, Record<string, unknown>, (s: import('sessctl/middleware').PhpSession) => unknown]>} */
  const cases = [
    ['files, written and released at once', new FileSessionStore({ savePath: dir }), {}, (s) => s.set('n', 1)],
    ['the promise path (a backend without saveAndCloseNow)', new MemoryBackend(), {}, (s) => s.set('n', 1)],
    ['destroyed', new MemoryBackend(), {}, (s) => s.destroy()],
    ['read and close', new MemoryBackend(), { readAndClose: true }, () => undefined],
  ];
  for (const [label, backend, options, act] of cases) {
    /** @type {import('sessctl/middleware').PhpSession | undefined} */
    let kept;
    /** @type {WeakRef<object> | undefined} */
    let response;
    /** @type {Promise<void> | undefined} */
    let socketClosed;
    const app = express();
    app.use(phpSession({ backend, logger: null, ...options }));
    app.get('/', async (req, res) => {
      kept = req.phpSession;
      response = new WeakRef(res);
      socketClosed = new Promise((resolve) => req.socket.once('close', () => resolve()));
      await act(kept);
      res.end('ok');
    });
    const url = await listen(app);
    const body = await new Promise((resolve, reject) => {
      http.get(url, { agent: false, headers: { connection: 'close' } }, (res) => {
        let text = '';
        res.on('data', (d) => (text += d)).on('end', () => resolve(text));
      }).on('error', reject);
    });
    assert.equal(body, 'ok', label);
    await socketClosed; // the server is done with the request: only what we hold can keep the response
    // deref() keeps its target alive until the current job ends: collect first, look after.
    for (let i = 0; i < 5; i++) {
      collect();
      await new Promise((r) => setImmediate(r));
      if (response?.deref() === undefined) break;
    }
    assert.equal(response?.deref(), undefined, `${label}: the response must be collectable while its session is still held`);
    assert.notEqual(kept?.status, 'active', label);
    if (label.startsWith('files') || label.startsWith('the promise')) assert.equal(kept?.get('n'), 1, `${label}: the data stays readable`);
  }
});

/**
 * A raw keep-alive connection: requests are written as given (pipelined when several are
 * written at once) and the responses read back one by one.
 * @param {string} url
 */
async function rawConnection(url) {
  const { port } = new URL(url);
  const socket = net.connect(Number(port), '127.0.0.1');
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let buffered = '';
  /** @type {(() => void) | null} */
  let wake = null;
  socket.setEncoding('utf8').on('data', (d) => {
    buffered += d;
    wake?.();
  });
  return {
    socket,
    /** @param {string} p @param {string} cookie */
    request: (p, cookie) => `GET ${p} HTTP/1.1\r\nHost: x\r\nCookie: ${cookie}\r\n\r\n`,
    /** @param {string} text */
    write: (text) => socket.write(text),
    /** The next whole response's status and body (Content-Length framed). */
    async response() {
      for (;;) {
        const head = buffered.indexOf('\r\n\r\n');
        const length = head >= 0 ? Number(/content-length: (\d+)/i.exec(buffered.slice(0, head))?.[1] ?? 0) : -1;
        if (head >= 0 && buffered.length >= head + 4 + length) {
          const status = Number(buffered.slice(9, 12));
          const body = buffered.slice(head + 4, head + 4 + length);
          buffered = buffered.slice(head + 4 + length);
          return { status, body };
        }
        await new Promise((r) => (wake = () => r(undefined)));
      }
    },
  };
}

test("a client that goes away releases unwritten exactly the sessions of that socket's requests still running, pipelined ones included", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sessctl-socket-close-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const backend = new FileSessionStore({ savePath: dir });
  const [done, gone, queued] = [await backend.createId(), await backend.createId(), await backend.createId()];
  for (const id of [done, gone, queued]) await backend.update(id, (d) => void d.set('n', 0));
  /** @type {string[]} */
  const aborted = [];
  /** @type {Array<() => void>} */
  const abortSeen = [];
  /** @type {Array<() => void>} */
  const entered = [];
  let releaseHandlers = () => {};
  const handlersMayEnd = new Promise((r) => (releaseHandlers = () => r(undefined)));
  const app = express();
  app.use(phpSession({ backend, logger: null, onError: (err, info) => info.phase === 'abort' && (aborted.push(String(info.id)), abortSeen.shift()?.()) }));
  app.get('/inc', increment);
  app.get('/wait', async (req, res) => {
    req.phpSession.set('n', 'half-way');
    entered.shift()?.();
    await handlersMayEnd;
    res.end('late');
  });
  const url = await listen(app);
  t.after(releaseHandlers);

  // Two finished requests on one keep-alive connection, then two pipelined ones that wait.
  const conn = await rawConnection(url);
  for (const n of [1, 2]) {
    conn.write(conn.request('/inc', `PHPSESSID=${done}`));
    assert.deepEqual(await conn.response(), { status: 200, body: JSON.stringify({ n }) });
  }
  const bothEntered = Promise.all([new Promise((r) => entered.push(() => r(undefined))), new Promise((r) => entered.push(() => r(undefined)))]);
  const bothAborted = Promise.all([new Promise((r) => abortSeen.push(() => r(undefined))), new Promise((r) => abortSeen.push(() => r(undefined)))]);
  conn.write(conn.request('/wait', `PHPSESSID=${gone}`) + conn.request('/wait', `PHPSESSID=${queued}`));
  await bothEntered;
  conn.socket.destroy();
  await bothAborted;
  assert.deepEqual(aborted.sort(), [gone, queued].sort());

  // Both locks are free and nothing half-way was written; the finished requests' writes stand.
  for (const [id, n] of [[gone, 1], [queued, 1], [done, 3]]) {
    assert.deepEqual(await (await get(`${url}/inc`, `PHPSESSID=${id}`)).json(), { n }, String(id));
  }
});

test('a handler that destroys its response releases the session unwritten (the socket closes with it)', async () => {
  const backend = new MemoryBackend();
  /** @type {string[]} */
  const phases = [];
  let reported = () => {};
  const abortReported = new Promise((r) => (reported = () => r(undefined)));
  const app = express();
  app.use(phpSession({ backend, logger: null, onError: (err, info) => (phases.push(info.phase), info.phase === 'abort' && reported()) }));
  app.get('/inc', increment);
  app.get('/destroy', (req, res) => {
    req.phpSession.set('n', 'never stored');
    res.destroy();
  });
  const url = await listen(app);
  const first = await get(`${url}/inc`);
  const cookie = cookieOf(first);
  await assert.rejects(get(`${url}/destroy`, cookie));
  await abortReported;
  assert.deepEqual(phases, ['abort']);
  assert.deepEqual(await (await get(`${url}/inc`, cookie)).json(), { n: 2 }, 'unlocked, and the destroyed request wrote nothing');
});
