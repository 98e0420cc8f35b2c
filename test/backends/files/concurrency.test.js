// No lost update: PHP processes and Node workers increment counters in the same session at
// the same time; every increment survives. A naive unlocked writer in the same harness does
// lose updates, which shows the harness can catch the failure.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { FileSessionStore, createSessionDirs, parseSavePath } from 'sessctl/files';
import { needPhp, PHP } from '../../helpers/env.js';

const HELPER = fileURLToPath(new URL('../../php/store/session.php', import.meta.url));
const DIST = { files: import.meta.resolve('sessctl/files'), root: import.meta.resolve('sessctl') };
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sessctl-store-conc-'));
const running = new Set();
after(async () => {
  for (const r of running) r.kill?.('SIGKILL') ?? r.terminate?.();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const PHP_PROCS = 3;
const NODE_WORKERS = 3;
const N = 60; // increments per process / worker

/**
 * `done` resolves with null on success, or PHP's complaint when `tolerate` (the naive control);
 * `ready` once PHP waits at the start barrier (it prints "ready").
 */
function phpLoop(savePath, id, tag, n, goFile, tolerate) {
  const child = spawn(PHP, [HELPER, JSON.stringify({ ini: { 'session.save_path': savePath }, action: 'loop', id, tag, n, sleepUs: 200, goFile })]);
  const ready = new Promise((resolve) => child.stdout.once('data', () => resolve(undefined)));
  const done = new Promise((resolve, reject) => {
    running.add(child);
    let err = '';
    child.stderr.on('data', (d) => { err += d; });
    child.on('exit', (code) => {
      running.delete(child);
      // The helper turns every PHP warning into exit 1, "Failed to decode session object" included.
      if (code === 0) resolve(null);
      else if (tolerate) resolve(err.trim());
      else reject(new Error(`php ${tag} exited ${code}: ${err}`));
    });
  });
  return { ready, done };
}

// Each increment: open (lock), read, +1, write, close (unlock) — or, naive: read, +1, write, no lock.
const WORKER = `
const { workerData: w, parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
(async () => {
  const { FileSessionStore } = await import(w.dist.files);
  const { decodeSession, encodeSession, PhpArray } = await import(w.dist.root);
  const store = new FileSessionStore({ savePath: w.savePath, lockTimeoutMs: 60000 });
  const file = store.pathOf(w.id);
  // Start barrier (see race()): everyone begins at once.
  parentPort.postMessage('ready');
  await new Promise((r) => parentPort.once('message', r));
  for (let i = 0; i < w.n; i++) {
    if (!w.naive) {
      const h = await store.open(w.id);
      h.data.set(w.tag, (h.data.get(w.tag) ?? 0) + 1);
      h.data.set('total', (h.data.get('total') ?? 0) + 1);
      await h.save();
      await h.close();
    } else {
      let data;
      try { data = decodeSession(fs.readFileSync(file), 'php'); } catch { data = new PhpArray(); }
      data.set(w.tag, (data.get(w.tag) ?? 0) + 1);
      data.set('total', (data.get('total') ?? 0) + 1);
      await sleep(2); // the window in which PHP's updates get overwritten
      const bytes = encodeSession(data, 'php');
      const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
      fs.writeSync(fd, bytes, 0, bytes.length, 0);
      fs.ftruncateSync(fd, bytes.length);
      fs.closeSync(fd);
    }
  }
  parentPort.postMessage('done');
})().catch((e) => { parentPort.postMessage('error: ' + (e && e.stack || e)); });
`;

/** Starts a worker; `ready` resolves once it waits at the barrier, `done` when it has finished. */
function nodeWorker(savePath, id, tag, n, naive, go) {
  let onReady;
  const ready = new Promise((r) => { onReady = r; });
  const done = new Promise((resolve, reject) => {
    const worker = new Worker(WORKER, { eval: true, workerData: { dist: DIST, savePath, id, tag, n, naive } });
    running.add(worker);
    worker.on('message', (m) => {
      if (m === 'ready') { onReady(); go.then(() => worker.postMessage('go')); }
      else if (m === 'done') resolve();
      else reject(new Error(m));
    });
    worker.on('error', reject);
    worker.on('exit', () => running.delete(worker));
  });
  return { ready, done };
}

async function race(depth, naive) {
  const base = path.join(tmp, `d${depth}-${naive ? 'naive' : 'locked'}`);
  fs.mkdirSync(base);
  const savePath = `${depth};${base}`;
  await createSessionDirs(parseSavePath(savePath), { bitsPerCharacter: 4 });
  const id = naive ? 'f00dfacefeed00000000000000000001' : 'c0ffee0000000000000000000000000' + depth;
  const goFile = path.join(tmp, `go-${depth}-${naive}`);
  /** @type {(value?: unknown) => void} */
  let release;
  const go = new Promise((r) => { release = r; });
  const jobs = [];
  const phps = Array.from({ length: PHP_PROCS }, (_, i) => phpLoop(savePath, id, `php${i}`, N, goFile, naive));
  jobs.push(...phps.map((p) => p.done));
  const workers = [];
  for (let i = 0; i < NODE_WORKERS; i++) workers.push(nodeWorker(savePath, id, `node${i}`, N, naive, go));
  jobs.push(...workers.map((w) => w.done));
  // Every PHP process and every worker says it waits at the barrier; then all go at once.
  await Promise.all([...workers.map((w) => w.ready), ...phps.map((p) => p.ready)]);
  const started = Date.now();
  fs.writeFileSync(goFile, '');
  release();
  const outcomes = await Promise.all(jobs);
  const phpFailures = outcomes.filter((o) => typeof o === 'string');
  const ms = Date.now() - started;
  const store = new FileSessionStore({ savePath });
  let data = null;
  try { data = await store.read(id); } catch { /* a naive writer may leave garbage */ }
  return { data, ms, expected: (PHP_PROCS + NODE_WORKERS) * N, phpFailures };
}

test('locked: 3 PHP processes + 3 Node workers, every increment survives (depth 0 and 1)', needPhp(), async (t) => {
  for (const depth of [0, 1]) {
    const { data, ms, expected } = await race(depth, false);
    t.diagnostic(`depth ${depth}: ${expected} increments in ${ms} ms (${Math.round(expected / (ms / 1000))}/s)`);
    assert.equal(data.get('total'), expected);
    for (let i = 0; i < PHP_PROCS; i++) assert.equal(data.get(`php${i}`), N, `php${i}`);
    for (let i = 0; i < NODE_WORKERS; i++) assert.equal(data.get(`node${i}`), N, `node${i}`);
  }
});

test('control: a naive unlocked Node writer in the same harness loses updates', needPhp(), async (t) => {
  const { data, expected, phpFailures } = await race(0, true);
  const total = data?.get('total') ?? 0;
  t.diagnostic(`naive: ${total} of ${expected} increments survived`);
  // Often worse than lost updates: PHP reads a half-written file, cannot decode it and
  // destroys the session (its remaining increments never happen; they count as lost).
  for (const f of phpFailures) t.diagnostic(`PHP: ${f}`);
  assert.ok(expected - total > 0, `lost ${expected - total}`);
});
