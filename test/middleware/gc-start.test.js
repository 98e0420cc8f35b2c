// gc at session start (gcProbability / gcDivisor) through the middleware: 2,000 requests on a
// depth-2 files tree written by real PHP, with old sessions, fresh ones and old ones held by
// PHP and by Node; then the guarantees one at a time (one collection per process, failures
// reported to the app and never to the client, PHP's draw at its edges).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import session from 'express-session';
import { ConfigError } from 'sessctl';
import { FileSessionStore, createSessionDirs, parseSavePath } from 'sessctl/files';
import { MemorySessionStore } from 'sessctl/memory';
import { createPhpSessionStore, phpSession, withPhpSession } from 'sessctl/middleware';
import { MemoryBackend } from '../helpers/memory-backend.js';
import { needPhp, phpUntilReleased, runPhp } from '../helpers/env.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sessctl-gc-start-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const hexId = () => randomBytes(16).toString('hex');
const age = (file, seconds) => {
  const t = Date.now() / 1000 - seconds;
  fs.utimesSync(file, t, t);
};

async function listen(handler) {
  const server = http.createServer(handler);
  await /** @type {Promise<void>} */ (new Promise((r) => server.listen(0, '127.0.0.1', r)));
  const url = `http://127.0.0.1:${/** @type {import('node:net').AddressInfo} */ (server.address()).port}`;
  const close = () => new Promise((r) => {
    server.close(r);
    server.closeAllConnections();
  });
  return { url, close };
}

// PHP as a site runs it (its own gc off, as Debian ships it); any warning is a failure.
const PHP_SETUP = `set_error_handler(function ($n, $m) { fwrite(STDERR, "$m\\n"); exit(3); }); ini_set('session.save_path', $argv[1]); ini_set('session.use_strict_mode', '0'); ini_set('session.gc_probability', '0'); ini_set('session.use_cookies', '0'); ini_set('session.cache_limiter', '');`;

/** Writes sessions with real PHP, one process for all of them. */
function phpWriteSessions(savePath, ids, kind) {
  const code = `${PHP_SETUP} foreach (json_decode(stream_get_contents(STDIN)) as $id) { session_id($id); session_start(); $_SESSION['kind'] = $argv[2]; $_SESSION['id'] = $id; session_write_close(); }`;
  runPhp(['-r', code, '--', savePath, kind], { input: JSON.stringify(ids) });
}

/** PHP holding session `id` (flock LOCK_EX) until release() — a stdin hand-shake, no sleep. */
function phpHolding(savePath, id) {
  const code = `${PHP_SETUP} session_id($argv[2]); session_start(); echo "HOLDING\\n"; fgets(STDIN); session_abort();`;
  return phpUntilReleased(['-r', code, '--', savePath, id]);
}

/** A file store that records its collections: how many ran, how many at once, when. */
class ObservedFileStore extends FileSessionStore {
  running = 0;
  maxRunning = 0;
  runs = [];
  async collectGarbage(options) {
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    const run = { start: performance.now(), end: Infinity, report: null };
    const p = super.collectGarbage(options);
    run.done = p.then(() => undefined, () => undefined);
    this.runs.push(run);
    try {
      run.report = await p;
      return run.report;
    } finally {
      run.end = performance.now();
      this.running--;
    }
  }
}

function quantile(sorted, q) {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}
const fmt = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return `n=${s.length} p50=${quantile(s, 0.5).toFixed(2)} ms p90=${quantile(s, 0.9).toFixed(2)} ms p99=${quantile(s, 0.99).toFixed(2)} ms max=${(s.at(-1) ?? NaN).toFixed(2)} ms`;
};

test('2,000 requests at gcProbability 1 / gcDivisor 100 on a depth-2 tree: the old sessions go, fresh and held ones stay, one collection at a time', needPhp(), async (t) => {
  const dir = path.join(tmp, 'tree');
  fs.mkdirSync(dir);
  const savePath = `2;${dir}`;
  await createSessionDirs(parseSavePath(savePath), { bitsPerCharacter: 4 });
  const OLD = 3000;
  const oldIds = Array.from({ length: OLD }, hexId);
  const freshIds = Array.from({ length: 300 }, hexId);
  const [phpHeld, nodeHeld] = [hexId(), hexId()];
  phpWriteSessions(savePath, [...oldIds, phpHeld, nodeHeld], 'old');
  phpWriteSessions(savePath, freshIds, 'fresh');

  const backend = new ObservedFileStore({ savePath, gcMaxlifetime: 1440 });
  for (const id of [...oldIds, phpHeld, nodeHeld]) age(backend.pathOf(id), 3600);
  const php = phpHolding(savePath, phpHeld);
  await php.ready;
  const nodeHandle = await backend.open(nodeHeld);
  for (const id of [phpHeld, nodeHeld]) age(backend.pathOf(id), 3600); // old while held

  const problems = [];
  const gcReports = [];
  const app = express();
  app.use(phpSession({ backend, gcProbability: 1, gcDivisor: 100, logger: null, onError: (err, info) => problems.push(`${info.phase}: ${err.message}`), onGc: (r) => gcReports.push(r) }));
  app.get('/inc', (req, res) => {
    const s = req.phpSession;
    s.set('n', (s.get('n') ?? 0) + 1);
    res.json({ id: s.id, n: s.get('n') });
  });
  const server = await listen(app);

  // 8 clients × 250 requests; each keeps its session, and every 25th request is a new visitor.
  const CLIENTS = 8;
  const PER_CLIENT = 250;
  const latencies = [];
  const visitors = [];
  const clients = await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      let cookie;
      let mine;
      let count = 0;
      for (let i = 0; i < PER_CLIENT; i++) {
        const visitor = i % 25 === 24;
        const start = performance.now();
        const res = await fetch(`${server.url}/inc`, { headers: !visitor && cookie ? { cookie } : {} });
        const body = await res.json();
        latencies.push({ start, end: performance.now() });
        assert.equal(res.status, 200);
        if (visitor) {
          assert.equal(body.n, 1);
          visitors.push(body.id);
          continue;
        }
        count++;
        if (!cookie) {
          cookie = `PHPSESSID=${body.id}`;
          mine = body.id;
        }
        assert.equal(body.id, mine);
        assert.equal(body.n, count, 'no lost update while collections run');
      }
      return { id: mine, count };
    }),
  );
  assert.equal(latencies.length, CLIENTS * PER_CLIENT);
  await server.close(); // every response has closed: every drawn collection has started
  await Promise.all(backend.runs.map((r) => r.done));
  await new Promise((r) => setImmediate(r)); // the middleware's hooks run in the promise jobs after

  try {
    assert.ok(backend.runs.length >= 1, 'at 1/100 over 2,000 session starts a collection ran');
    assert.equal(backend.maxRunning, 1, 'never two collections at once');
    assert.deepEqual(problems, []);
    assert.equal(gcReports.length, backend.runs.length, 'onGc saw every collection');
    for (const r of gcReports) {
      assert.equal(r.errors, 0);
      assert.equal(r.skippedLocked, 2, 'the sessions PHP and Node hold are skipped by every collection');
    }
    assert.equal(gcReports.reduce((sum, r) => sum + r.deleted, 0), OLD, 'each old session deleted exactly once');
    for (const id of oldIds) assert.equal(fs.existsSync(backend.pathOf(id)), false, `old ${id} collected`);
    for (const id of [...freshIds, ...visitors, phpHeld, nodeHeld]) assert.ok(fs.existsSync(backend.pathOf(id)), `${id} kept`);
    for (const { id, count } of clients) assert.equal((await backend.read(id)).get('n'), count);
    for (const id of freshIds.slice(0, 20)) assert.equal((await backend.read(id)).get('kind'), 'fresh');
  } finally {
    php.release();
    await nodeHandle.close();
  }
  assert.equal((await php.done).code, 0);
  const last = await backend.collectGarbage();
  assert.equal(last.deleted, 2, 'released, the two held old sessions go on the next collection');

  // Latency of requests that overlapped a collection vs the others (reported, not asserted:
  // bench/gc-start.bench.js measures it; tests never assert timings).
  const overlaps = (l) => backend.runs.some((r) => l.start < r.end && l.end > r.start);
  const during = latencies.filter(overlaps).map((l) => l.end - l.start);
  const outside = latencies.filter((l) => !overlaps(l)).map((l) => l.end - l.start);
  t.diagnostic(`collections: ${backend.runs.length}, durations ${backend.runs.map((r) => (r.end - r.start).toFixed(0)).join(', ')} ms`);
  t.diagnostic(`requests during a collection: ${fmt(during)}`);
  t.diagnostic(`requests outside collections: ${fmt(outside)}`);
});

test('a collection runs in a worker thread: the old files go while this thread is blocked', async () => {
  const dir = path.join(tmp, 'worker');
  fs.mkdirSync(dir);
  const store = new FileSessionStore({ savePath: `1;${dir}`, gcMaxlifetime: 60 });
  await createSessionDirs(store.savePath, { bitsPerCharacter: 4 });
  const ids = Array.from({ length: 200 }, hexId);
  for (const id of ids) {
    await store.update(id, (d) => void d.set('x', 1));
    age(store.pathOf(id), 600);
  }
  const { gcFiles } = await import('sessctl/files');
  const collecting = gcFiles(store.savePath, { maxlifetime: 60, jobs: 1, background: true }); // what collectGarbage runs
  // Block this thread until the files are gone: only another thread can delete them. The
  // deadline only turns a broken build's hang into a failure.
  const deadline = Date.now() + 60_000;
  while (ids.some((id) => fs.existsSync(store.pathOf(id))) && Date.now() < deadline);
  assert.equal(ids.filter((id) => fs.existsSync(store.pathOf(id))).length, 0, 'deleted while the main thread was busy');
  assert.equal((await collecting).deleted, ids.length);
});

/** A memory store whose collections wait until the test lets each one finish. */
function gatedStore(settings = {}) {
  const store = new MemorySessionStore(settings);
  const pending = [];
  let waiter = null;
  store.collectGarbage = () =>
    new Promise((resolve, reject) => {
      pending.push({ resolve, reject });
      waiter?.();
    });
  const nextCall = () => new Promise((r) => (waiter = r));
  return { store, pending, nextCall };
}

/** An app whose responses signal when they have closed (after the middleware's own hook). */
function appWithCloseSignal(options) {
  const app = express();
  app.use(phpSession({ logger: null, ...options }));
  let closed = 0;
  let waiting = [];
  app.get('/', (req, res) => {
    res.on('close', () => {
      closed++;
      waiting = waiting.filter((w) => (closed >= w.n ? (w.resolve(), false) : true));
    });
    res.json({ id: req.phpSession.id });
  });
  const closedCount = (n) => new Promise((resolve) => (closed >= n ? resolve() : waiting.push({ n, resolve })));
  return { app, closedCount };
}

const emptyReport = { savePath: 'memory', maxlifetime: 1440, dryRun: false, scanned: 0, expired: 0, deleted: 0, skippedLocked: 0, skippedTouched: 0, vanished: 0, bytesFreed: 0, errors: 0, errorSamples: [], durationMs: 0 };

test('one collection per process at a time: draws while one runs are dropped; the next one after it ends starts', async () => {
  const { store, pending, nextCall } = gatedStore();
  const reports = [];
  const { app, closedCount } = appWithCloseSignal({ backend: store, gcProbability: 1, gcDivisor: 1, onGc: (r) => reports.push(r) });
  const server = await listen(app);
  try {
    const first = nextCall();
    await fetch(server.url).then((r) => r.json());
    await first;
    for (let i = 0; i < 5; i++) await fetch(server.url).then((r) => r.json());
    await closedCount(6);
    assert.equal(pending.length, 1, 'five draws while one collection runs start nothing');
    pending[0].resolve({ ...emptyReport, deleted: 3 });
    const second = nextCall();
    await fetch(server.url).then((r) => r.json());
    await second;
    assert.equal(pending.length, 2);
    assert.deepEqual(reports.map((r) => r.deleted), [3]);
    pending[1].resolve(emptyReport);
  } finally {
    await server.close();
  }
});

test('a failing collection goes to onError and the logger (phase gc), never to the client; errors inside a report too', async () => {
  const { store, pending, nextCall } = gatedStore();
  const seen = [];
  const warnings = [];
  const done = [];
  const { app } = appWithCloseSignal({
    backend: store,
    gcProbability: 5,
    gcDivisor: 5,
    logger: { warn: (m) => warnings.push(m) },
    onError: (err, info) => {
      seen.push({ err, phase: info.phase, url: info.req.url });
      done.shift()?.();
    },
  });
  const server = await listen(app);
  try {
    let call = nextCall();
    let reported = new Promise((r) => done.push(r));
    const res = await fetch(`${server.url}/?a`);
    assert.equal(res.status, 200);
    await call;
    pending[0].reject(new Error('disk on fire'));
    await reported;
    assert.equal(seen[0].phase, 'gc');
    assert.equal(seen[0].url, '/?a');
    assert.equal(seen[0].err.message, 'disk on fire');
    assert.match(warnings[0], /^sessctl phpSession \(gc\): disk on fire$/);

    call = nextCall();
    reported = new Promise((r) => done.push(r));
    assert.equal((await fetch(`${server.url}/?b`)).status, 200);
    await call;
    pending[1].resolve({ ...emptyReport, errors: 2, errorSamples: [{ path: '/s/sess_x', message: 'EACCES' }] });
    await reported;
    assert.equal(seen[1].err.code, 'EGC');
    assert.equal(seen[1].err.message, 'gc of memory: 2 error(s) (first: /s/sess_x: EACCES)');
  } finally {
    await server.close();
  }
});

test("PHP's draw at its edges: probability 0 never collects, probability ≥ divisor always; read_and_close draws too; defaults come from the backend", async () => {
  /** @type {Array<[import('sessctl').SessionSettings, Record<string, unknown>, number]>} */
  const cases = [
    [{ gcProbability: 0 }, {}, 0],
    [{}, { gcProbability: 0, gcDivisor: 1 }, 0],
    [{ gcProbability: 7, gcDivisor: 7 }, {}, 4],
    [{}, { gcProbability: 9, gcDivisor: 2 }, 4],
    [{ gcProbability: 1, gcDivisor: 1 }, { readAndClose: true }, 4],
  ];
  for (const [settings, options, expected] of cases) {
    const store = new MemorySessionStore(settings);
    let calls = 0;
    const finished = [];
    store.collectGarbage = async () => {
      calls++;
      return emptyReport;
    };
    const { app, closedCount } = appWithCloseSignal({ backend: store, ...options, onGc: () => finished.shift()?.() });
    const server = await listen(app);
    try {
      for (let i = 0; i < 4; i++) {
        const gcDone = new Promise((r) => finished.push(r));
        await fetch(server.url).then((r) => r.json());
        await closedCount(i + 1);
        if (expected) await gcDone; // each collection ends before the next request: none is dropped
      }
      assert.equal(calls, expected, JSON.stringify({ settings, options }));
    } finally {
      await server.close();
    }
  }
});

test('a backend with nothing to collect (no collectGarbage, as Redis) takes the settings and is left alone', async () => {
  const backend = new MemoryBackend();
  const problems = [];
  const server = await listen(withPhpSession({ backend, gcProbability: 1, gcDivisor: 1, logger: null, onError: (e) => problems.push(e) }, (req, res) => res.end('ok')));
  try {
    for (let i = 0; i < 3; i++) assert.equal(await (await fetch(server.url)).text(), 'ok');
  } finally {
    await server.close();
  }
  assert.deepEqual(problems, []);
});

test('the gc settings are validated as php.ini ranges, naming the option', () => {
  const backend = new MemorySessionStore();
  /** @type {Array<Record<string, unknown>>} */
  const bads = [{ gcProbability: -1 }, { gcDivisor: 0 }, { gcProbability: 1.5 }, { gcDivisor: '100' }];
  for (const bad of bads) {
    assert.throws(() => phpSession(/** @type {any} */ ({ backend, ...bad })), (e) => e instanceof ConfigError && /^phpSession: gc(Probability|Divisor) \(session\.gc_(probability|divisor)\)/.test(e.message), JSON.stringify(bad));
  }
});

test('the express-session Store draws at get() and collects in the background; a failure goes to its logger', async () => {
  const dir = path.join(tmp, 'express');
  fs.mkdirSync(dir);
  const backend = new FileSessionStore({ savePath: dir, gcMaxlifetime: 60, gcProbability: 1, gcDivisor: 1 });
  const [old, fresh] = [hexId(), hexId()];
  for (const id of [old, fresh]) await backend.update(id, (d) => void d.set('id', id));
  age(backend.pathOf(old), 600);
  const PhpSessionStore = createPhpSessionStore(session);
  let collected;
  const report = new Promise((r) => (collected = r));
  const store = new PhpSessionStore({ backend, onGc: collected });
  assert.equal((await store.get(fresh)).id, fresh);
  assert.equal((await report).deleted, 1);
  assert.equal(fs.existsSync(backend.pathOf(old)), false);
  assert.ok(fs.existsSync(backend.pathOf(fresh)));

  const { store: failing, pending, nextCall } = gatedStore({ gcProbability: 1, gcDivisor: 1 });
  let warned;
  const warning = new Promise((r) => (warned = r));
  const withLogger = new PhpSessionStore({ backend: failing, logger: { warn: warned } });
  const called = nextCall();
  assert.equal(await withLogger.get(fresh), null);
  await called;
  pending[0].reject(new Error('no space'));
  assert.equal(await warning, 'sessctl PhpSessionStore: collecting expired sessions failed: no space');
  assert.throws(() => new PhpSessionStore({ backend, gcDivisor: 0 }), /^ConfigError: PhpSessionStore: gcDivisor/);
});
