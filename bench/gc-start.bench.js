#!/usr/bin/env node
// gc at session start: what a collection costs and what it does to requests.
// 1. collectGarbage() (one worker thread, sessctl gc's code) on depth-2 trees of 10,000 and
//    100,000 sessions: the first collection (half of them expired; `find -delete` on a twin
//    tree as the yardstick) and the next one (nothing expired: the steady state, a walk and
//    an lstat per file).
// 2. Request latency through withPhpSession on the 100,000-session tree, the server in its
//    own process and 4 clients in this one: twice with gc off (the difference is the bench's
//    noise), then at gcProbability 1 / gcDivisor 100, requests split by whether they
//    overlapped a collection. SESSCTL_BENCH_REQUESTS sets the requests per phase (3000).
import { closeSync, futimesSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileSessionStore } from 'sessctl/files';
import { withPhpSession } from 'sessctl/middleware';

const HEX = '0123456789abcdef';
const MAXLIFETIME = 1440;
const REQUESTS = Number(process.env.SESSCTL_BENCH_REQUESTS || 3000);
const CLIENTS = 4;

if (process.argv[2] === '--serve') serve(process.argv[3], Number(process.argv[4]), Number(process.argv[5]));
else main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});

/** The server process: one file store, the middleware, and a log of its collections. */
function serve(savePath, gcProbability, gcDivisor) {
  const collections = [];
  class LoggedStore extends FileSessionStore {
    async collectGarbage(options) {
      const c = { start: Date.now(), end: null, deleted: null };
      collections.push(c);
      const report = await super.collectGarbage(options);
      Object.assign(c, { end: Date.now(), deleted: report.deleted });
      return report;
    }
  }
  const backend = new LoggedStore({ savePath, gcMaxlifetime: MAXLIFETIME });
  const app = withPhpSession({ backend, gcProbability, gcDivisor, logger: null }, (req, res, session) => {
    if (req.url === '/collections') {
      res.setHeader('content-type', 'application/json');
      return res.end(JSON.stringify(collections));
    }
    session.set('n', (session.get('n') ?? 0) + 1);
    res.end(String(session.get('n')));
  });
  const server = createServer(app).listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
  process.stdin.on('end', () => process.exit(0)).resume();
}

function buildTree(root, n) {
  for (const a of HEX) for (const b of HEX) mkdirSync(join(root, a, b), { recursive: true });
  const expiredAt = Date.now() / 1000 - 2 * MAXLIFETIME;
  for (let i = 0; i < n; i++) {
    const id = randomBytes(16).toString('hex');
    const fd = openSync(join(root, id[0], id[1], `sess_${id}`), 'w', 0o600);
    writeSync(fd, `user|s:5:"alice";n|i:${i};cart|a:1:{i:0;s:3:"abc";}`);
    if (i % 2 === 1) futimesSync(fd, expiredAt, expiredAt);
    closeSync(fd);
  }
}

const secs = (ms) => `${(ms / 1000).toFixed(2)} s`;
const q = (s, p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return 'no requests';
  return `n=${String(s.length).padStart(5)}  p50 ${q(s, 0.5).toFixed(2)} ms  p90 ${q(s, 0.9).toFixed(2)} ms  p99 ${q(s, 0.99).toFixed(2)} ms  max ${s.at(-1).toFixed(2)} ms`;
}

async function startServer(savePath, p, d) {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--serve', savePath, String(p), String(d)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    child.stdout.once('data', (d) => resolve(Number(String(d).trim())));
    child.once('exit', (c) => reject(new Error(`server exited (${c})`)));
  });
  const stop = () => new Promise((r) => {
    child.once('exit', r);
    child.stdin.end();
  });
  return { url: `http://127.0.0.1:${port}`, stop };
}

/** CLIENTS clients, each with its own session, REQUESTS requests in all; [start, end] per request. */
async function load(url) {
  const out = [];
  let left = REQUESTS;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      let cookie;
      while (left-- > 0) {
        const start = Date.now();
        const t0 = performance.now();
        const res = await fetch(url, { headers: cookie ? { cookie } : {} });
        await res.text();
        out.push({ start, end: Date.now(), ms: performance.now() - t0 });
        cookie ??= res.headers.getSetCookie()[0]?.split(';')[0];
      }
    }),
  );
  return out;
}

async function main() {
  const base = mkdtempSync('/tmp/sessctl-bench-gcstart-');
  try {
    console.log(`load average at start: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    console.log('collectGarbage() (one worker thread) on depth-2 trees, half of the sessions expired:');
    for (const n of [10_000, 100_000]) {
      const dir = join(base, `t${n}`);
      const twin = join(base, `f${n}`);
      buildTree(dir, n);
      buildTree(twin, n);
      const store = new FileSessionStore({ savePath: `2;${dir}`, gcMaxlifetime: MAXLIFETIME });
      let t0 = performance.now();
      const first = await store.collectGarbage();
      const firstMs = performance.now() - t0;
      t0 = performance.now();
      const next = await store.collectGarbage();
      const nextMs = performance.now() - t0;
      t0 = performance.now();
      spawnSync('find', [twin, '-name', 'sess_*', '-type', 'f', '-mmin', `+${MAXLIFETIME / 60}`, '-delete']);
      const findMs = performance.now() - t0;
      if (first.deleted !== n / 2 || next.deleted !== 0 || first.errors + next.errors > 0) throw new Error(`unexpected reports ${JSON.stringify({ first, next })}`);
      console.log(`  ${n.toLocaleString('en-US').padStart(7)} sessions: first ${secs(firstMs)} (deleted ${first.deleted.toLocaleString('en-US')}), next ${secs(nextMs)} (scanned ${next.scanned.toLocaleString('en-US')}, nothing expired); find -delete on a twin tree ${secs(findMs)}`);
      rmSync(dir, { recursive: true, force: true });
      rmSync(twin, { recursive: true, force: true });
    }

    const dir = join(base, 'serve');
    buildTree(dir, 100_000);
    const savePath = `2;${dir}`;
    console.log(`request latency, ${REQUESTS} requests per phase from ${CLIENTS} clients, 100,000-session tree (50,000 expired):`);
    for (const label of ['gc off (1st run)', 'gc off (2nd run)']) {
      const server = await startServer(savePath, 0, 1);
      const reqs = await load(server.url);
      await server.stop();
      console.log(`  ${label.padEnd(34)} ${stats(reqs.map((r) => r.ms))}`);
    }
    const server = await startServer(savePath, 1, 100);
    const reqs = await load(server.url);
    const collections = await (await fetch(`${server.url}/collections`)).json();
    await server.stop();
    const during = (r) => collections.some((c) => r.start <= (c.end ?? Infinity) && r.end >= c.start);
    console.log(`  ${'gc 1/100, all requests'.padEnd(34)} ${stats(reqs.map((r) => r.ms))}`);
    console.log(`  ${'gc 1/100, during a collection'.padEnd(34)} ${stats(reqs.filter(during).map((r) => r.ms))}`);
    console.log(`  ${'gc 1/100, outside collections'.padEnd(34)} ${stats(reqs.filter((r) => !during(r)).map((r) => r.ms))}`);
    const shown = collections.map((c) => (c.end === null ? 'one still running at the end' : `${secs(c.end - c.start)}: ${c.deleted} deleted`));
    console.log(`  collections: ${collections.length} (${shown.join(', ')})`);
    console.log(`load average at end: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}
