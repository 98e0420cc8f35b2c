// The middleware table of docs/conformance-and-performance.md, in one command: each stack
// serves GET /inc (increment the session counter) to 50 keep-alive clients, first each on its
// own session, then all on 5 shared sessions; req/s, server CPU ms per request (the server
// process and its children, from /proc), p50/p99 latency, and lost updates (the counters read
// back afterwards against the answers the clients got). Stacks run one after another.
//   BENCH_SECONDS (default 8) per window, BENCH_CLIENTS (default 50), BENCH_STACKS (labels
//   to run: substrings separated by |; default all), BENCH_ROUNDS (default 2: every stack runs
//   once per round, every other round in reverse order, so a slow spell of the machine
//   touches all stacks alike; the figures are the means over the rounds, and the files/bare
//   ratio is also printed per round), BENCH_WARMUP (default 2: seconds of load on every
//   server before its first measured window, so that no stack is measured while its code is
//   still being compiled), BENCH_PAIRS (default 20; 0: none) and BENCH_PAIR_SECONDS (default 1.5):
//   the paired ratios below.
// The paired ratios: the speed of this machine drifts by ±20 % over tens of seconds (it is a
// shared VM), more than the gap the targets are about, and the table's windows of one stack
// lie minutes apart from those of another. So each ratio that has a target is measured again
// with both servers up at once and the load switched between them every BENCH_PAIR_SECONDS,
// BENCH_PAIRS times (order alternating): each pair of adjacent windows sees the same machine,
// and the median of the pairs' ratios is printed with their spread.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startRedis } from '../test/helpers/redis-server.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 50);
const SHARED = 5;
const TICK_MS = 1000 / 100; // USER_HZ

function cpuTicks(pid) {
  let total = 0;
  const visit = (p) => {
    try {
      const f = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1].split(' ');
      total += Number(f[11]) + Number(f[12]); // utime, stime
      for (const t of readdirSync(`/proc/${p}/task`)) {
        for (const c of readFileSync(`/proc/${p}/task/${t}/children`, 'utf8').split(' ').filter(Boolean)) visit(c);
      }
    } catch {
      /* gone */
    }
  };
  visit(pid);
  return total;
}

function request(agent, port, cookie) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/inc', agent, headers: cookie ? { cookie } : {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => {
        const set = res.headers['set-cookie']?.[0]?.split(';')[0];
        resolve({ status: res.statusCode, n: Number(body), cookie: set });
      });
    });
    req.on('error', reject);
  });
}

const WARMUP = Number(process.env.BENCH_WARMUP ?? 2);

/**
 * The load: every client asks for /inc on its session, one request after another, until
 * `seconds` have passed. `each(cookie, answer, ms)` sees every request (answer null when it
 * failed). Returns the seconds it took.
 */
async function drive(agents, port, cookieOf, seconds, each) {
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  await Promise.all(
    agents.map(async (agent, i) => {
      const cookie = cookieOf(i);
      while (performance.now() < deadline) {
        const started = performance.now();
        let answer = null;
        try {
          answer = await request(agent, port, cookie);
        } catch {
          // counted by `each` as a failure
        }
        each(cookie, answer, performance.now() - started);
      }
    }),
  );
  return (performance.now() - t0) / 1000;
}

async function window(port, pid, shared, seconds = SECONDS) {
  const agents = Array.from({ length: CLIENTS }, () => new http.Agent({ keepAlive: true, maxSockets: 1 }));
  // Sessions are made by the server (strict mode): one first request per session.
  const cookies = [];
  for (let i = 0; i < (shared ? SHARED : CLIENTS); i++) cookies.push((await request(agents[i], port)).cookie);
  const ok = new Map(cookies.map((c) => [c, 1]));
  const lat = [];
  let errors = 0;
  const cpu0 = cpuTicks(pid);
  const secs = await drive(agents, port, (i) => cookies[i % cookies.length], seconds, (cookie, r, ms) => {
    if (r?.status === 200) ok.set(cookie, ok.get(cookie) + 1);
    else errors++;
    lat.push(ms);
  });
  const cpuMs = (cpuTicks(pid) - cpu0) * TICK_MS;
  let lost = 0;
  for (const [cookie, answered] of ok) {
    const r = await request(agents[0], port, cookie);
    lost += Math.max(0, answered + 1 - r.n);
  }
  for (const a of agents) a.destroy();
  lat.sort((a, b) => a - b);
  const total = lat.length;
  return { rps: total / secs, cpuPerReq: cpuMs / total, p50: lat[Math.floor(total * 0.5)], p99: lat[Math.floor(total * 0.99)], lost, answered: [...ok.values()].reduce((a, b) => a + b, 0), errors };
}

async function startServer(cmd, args, env = {}) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('READY')) resolve(child);
    });
    child.on('exit', (c) => reject(new Error(`${cmd} exited (${c})`)));
  });
}

async function waitListening(port) {
  for (;;) {
    try {
      await new Promise((resolve, reject) => http.get({ host: '127.0.0.1', port, path: '/inc' }, (r) => (r.resume(), resolve())).on('error', reject));
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50)); // polling a server's start-up in a bench, not a test
    }
  }
}

const redis = await startRedis();
const stacks = [
  ['bare Express, in-memory counter', 'node', 'bare'],
  ['floor: Express + the file protocol by hand (open, flock, fstat, read, write, close; no session code)', 'node', 'raw-probe'],
  ['phpSession + MemorySessionStore (the middleware without storage)', 'node', 'memory-probe'],
  ['phpSession + FileSessionStore', 'node', 'files'],
  ['express-session + session-file-store', 'node', 'session-file-store'],
  ["PHP's own server (4 workers), files", 'php', 'files'],
  ['phpSession + RedisSessionStore, locking', 'node', 'redis'],
  ['express-session + connect-redis (no lock)', 'node', 'connect-redis'],
  ['PHP + phpredis, locking', 'php', 'redis'],
  ['express-session + PhpSessionStore, files', 'node', 'store-files'],
  ['express-session + PhpSessionStore, files, 2-step', 'node', 'store-files-2step'],
  ['express-session + PhpSessionStore, Redis', 'node', 'store-redis'],
  ['express-session + PhpSessionStore, Redis, 2-step', 'node', 'store-redis-2step'],
].filter(([label]) => !process.env.BENCH_STACKS || process.env.BENCH_STACKS.split('|').some((w) => label.includes(w)));
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 2));
const runs = new Map(); // label → [{ own, shared }] per round
const paired = []; // { what, target, ratio, low, high, cpuA, cpuB }

/** One stack's server, started: its port, its process, and stop(). */
async function startStack(kind, stack) {
  const dir = mkdtempSync(join(tmpdir(), 'sessctl-mw-'));
  const port = await freePort();
  let child;
  if (kind === 'node') {
    child = await startServer(process.execPath, [join(HERE, 'middleware-server.js'), stack, String(port), dir, redis.url]);
  } else {
    const ini =
      stack === 'files'
        ? ['-d', `session.save_path=${dir}`]
        : ['-d', 'session.save_handler=redis', '-d', `session.save_path=${redis.url}`, '-d', 'redis.session.locking_enabled=1', '-d', 'redis.session.lock_retries=-1', '-d', 'redis.session.lock_wait_time=2000'];
    child = spawn('php', [...ini, '-d', 'session.use_strict_mode=1', '-S', `127.0.0.1:${port}`, join(HERE, 'middleware-counter.php')], {
      stdio: 'ignore',
      env: { ...process.env, PHP_CLI_SERVER_WORKERS: '4' },
      detached: true, // its own process group: the workers are stopped with the master
    });
    await waitListening(port);
  }
  const stop = () => {
    try {
      process.kill(-child.pid, 'SIGKILL'); // PHP's server workers outlive a killed master
    } catch {
      child.kill('SIGKILL'); // not a group leader (the Node stacks)
    }
    rmSync(dir, { recursive: true, force: true });
  };
  return { port, pid: child.pid, stop };
}

async function runStack(label, kind, stack) {
  const server = await startStack(kind, stack);
  try {
    if (WARMUP > 0) await window(server.port, server.pid, false, WARMUP);
    const own = await window(server.port, server.pid, false);
    const shared = await window(server.port, server.pid, true);
    return { own, shared };
  } finally {
    server.stop();
  }
}

const PAIRS = Number(process.env.BENCH_PAIRS ?? 20);
const PAIR_SECONDS = Number(process.env.BENCH_PAIR_SECONDS ?? 1.5);

/** A started server with its clients kept between windows, each on its own session. */
async function loadedServer(kind, stack) {
  const server = await startStack(kind, stack);
  const agents = Array.from({ length: CLIENTS }, () => new http.Agent({ keepAlive: true, maxSockets: 1 }));
  const cookies = [];
  for (const agent of agents) cookies.push((await request(agent, server.port)).cookie);
  const run = async (seconds) => {
    let n = 0;
    const cpu0 = cpuTicks(server.pid);
    const secs = await drive(agents, server.port, (i) => cookies[i], seconds, (cookie, r) => {
      if (r?.status === 200) n++;
    });
    return { rps: n / secs, cpuPerReq: ((cpuTicks(server.pid) - cpu0) * TICK_MS) / n };
  };
  const stop = () => {
    for (const a of agents) a.destroy();
    server.stop();
  };
  return { run, stop };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** `a` over `b` in req/s, from PAIRS pairs of adjacent windows: median and spread of the pairs, CPU medians. */
async function pairedRatio([, kindA, stackA], [, kindB, stackB]) {
  const a = await loadedServer(kindA, stackA);
  const b = await loadedServer(kindB, stackB);
  try {
    if (WARMUP > 0) {
      await a.run(WARMUP);
      await b.run(WARMUP);
    }
    const ratios = [], cpuA = [], cpuB = [];
    for (let i = 0; i < PAIRS; i++) {
      let x, y;
      if (i % 2) {
        x = await a.run(PAIR_SECONDS);
        y = await b.run(PAIR_SECONDS);
      } else {
        y = await b.run(PAIR_SECONDS);
        x = await a.run(PAIR_SECONDS);
      }
      ratios.push(x.rps / y.rps);
      cpuA.push(x.cpuPerReq);
      cpuB.push(y.cpuPerReq);
    }
    ratios.sort((p, q) => p - q);
    return { ratio: median(ratios), low: ratios[Math.floor(ratios.length / 4)], high: ratios[Math.ceil((3 * ratios.length) / 4) - 1], cpuA: median(cpuA), cpuB: median(cpuB) };
  } finally {
    a.stop();
    b.stop();
  }
}

const line = (label, own, shared) =>
  `${label.padEnd(50)} own: ${own.rps.toFixed(0).padStart(5)} req/s, ${own.cpuPerReq.toFixed(2)} CPU ms/req, p99 ${own.p99.toFixed(1)} ms, lost ${own.lost} | ` +
  `5 shared: ${shared.rps.toFixed(0).padStart(5)} req/s, p99 ${shared.p99.toFixed(1)} ms, lost ${shared.lost}/${shared.answered} (${((100 * shared.lost) / shared.answered).toFixed(0)} %)`;

try {
  for (let round = 1; round <= ROUNDS; round++) {
    console.log(`round ${round} of ${ROUNDS}`);
    for (const [label, kind, stack] of round % 2 === 1 ? stacks : [...stacks].reverse()) {
      const r = await runStack(label, kind, stack);
      if (!runs.has(label)) runs.set(label, []);
      runs.get(label).push(r);
      console.log('  ' + line(label.slice(0, 48), r.own, r.shared));
    }
  }
  if (PAIRS > 0) {
    const find = (l) => stacks.find(([label]) => label.startsWith(l));
    for (const [what, a, b, target] of [
      ['phpSession + files / bare Express', 'phpSession + File', 'bare Express', 'target ≥ 0.6×'],
      ['the floor (file protocol by hand) / bare Express', 'floor:', 'bare Express', ''],
      ['phpSession + Redis locking / connect-redis', 'phpSession + Redis', 'express-session + connect-redis', 'target ≥ 1.0×'],
    ]) {
      if (find(a) && find(b)) paired.push({ what, target, ...(await pairedRatio(find(a), find(b))) });
    }
  }
} finally {
  await redis.stop();
}

// Means over the rounds (lost updates: summed).
const mean = (xs, f) => xs.reduce((a, x) => a + f(x), 0) / xs.length;
const combine = (ws) => ({
  rps: mean(ws, (w) => w.rps),
  cpuPerReq: mean(ws, (w) => w.cpuPerReq),
  p50: mean(ws, (w) => w.p50),
  p99: mean(ws, (w) => w.p99),
  lost: ws.reduce((a, w) => a + w.lost, 0),
  answered: ws.reduce((a, w) => a + w.answered, 0),
});
const rows = [...runs].map(([label, rs]) => ({ label, own: combine(rs.map((r) => r.own)), shared: combine(rs.map((r) => r.shared)) }));
console.log(`\nmeans over ${ROUNDS} round(s):`);
for (const r of rows) console.log(line(r.label.slice(0, 48), r.own, r.shared));
const by = (l) => rows.find((r) => r.label === l) ?? rows.find((r) => r.label.startsWith(l));
const ratio = (what, a, b, target = '') => {
  if (by(a) && by(b)) console.log(`  ${what.padEnd(58)}${(by(a).own.rps / by(b).own.rps).toFixed(2)}×${target}`);
};
const perRound = (a, b) => {
  const ra = runs.get(by(a)?.label), rb = runs.get(by(b)?.label);
  return ra && rb ? ra.map((r, i) => (r.own.rps / rb[i].own.rps).toFixed(2)).join(', ') : '';
};
console.log('\nratios (req/s, own sessions):');
ratio('phpSession + files / bare Express', 'phpSession + File', 'bare Express', ' (target ≥ 0.6×)');
if (by('phpSession + File') && by('bare Express')) console.log(`  ${'  the same, round by round'.padEnd(58)}${perRound('phpSession + File', 'bare Express')}`);
ratio('the floor (file protocol by hand) / bare Express', 'floor:', 'bare Express');
if (by('phpSession + File') && by('bare Express')) {
  console.log(`  ${'session CPU per request over bare Express, files'.padEnd(58)}${(by('phpSession + File').own.cpuPerReq - by('bare Express').own.cpuPerReq).toFixed(2)} ms (target ≤ 0.17)`);
}
ratio('phpSession + Redis locking / connect-redis', 'phpSession + Redis', 'express-session + connect', ' (target ≥ 1.0×)');
ratio('PhpSessionStore files / phpSession files', 'express-session + PhpSessionStore, files', 'phpSession + File');
ratio('PhpSessionStore files 2-step / phpSession files', 'express-session + PhpSessionStore, files, 2-step', 'phpSession + File');
ratio('PhpSessionStore Redis / phpSession Redis', 'express-session + PhpSessionStore, Redis', 'phpSession + Redis');
ratio('PhpSessionStore Redis 2-step / phpSession Redis', 'express-session + PhpSessionStore, Redis, 2-step', 'phpSession + Redis');
for (const l of ['phpSession + File', 'phpSession + Redis', 'express-session + PhpSessionStore, files', 'express-session + PhpSessionStore, Redis']) {
  const r = by(l);
  if (r) console.log(`  ${l}: p99 5 shared / p99 own:${' '.repeat(Math.max(1, 42 - l.length))}${(r.shared.p99 / r.own.p99).toFixed(1)}× (target ≤ 3×)`);
}
if (paired.length > 0) {
  console.log(`\npaired ratios (req/s, own sessions; both servers up, load switched every ${PAIR_SECONDS} s, ${PAIRS} pairs; median [quartiles]):`);
  for (const p of paired) {
    console.log(
      `  ${p.what.padEnd(58)}${p.ratio.toFixed(2)}× [${p.low.toFixed(2)}–${p.high.toFixed(2)}]${p.target ? ` (${p.target})` : ''}; CPU ms/req ${p.cpuA.toFixed(3)} vs ${p.cpuB.toFixed(3)}, difference ${(p.cpuA - p.cpuB).toFixed(3)}`,
    );
  }
}
