// Read+write round trips per second through MemcachedSessionStore (open → read → modify → save →
// close), php-memcached locking on and off, against PHP's own php-memcached handler doing the
// same (session_id / session_start / modify / session_write_close, timed inside PHP) on the same
// memcached; then the client alone (GET+SET pairs) against memjs, the npm binary-protocol client
// it was measured against (alternating blocks, medians). Usage: npm run bench -- memcached   (env: BENCH_ITER, default 5000)
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import { MemcachedSessionStore } from 'sessctl/memcached';
import { nodeRoundTrips, phpRoundTrips } from './session-roundtrip.js';

const ITER = Number(process.env.BENCH_ITER ?? 5000);
const PHP = process.env.PHP_BINARY || 'php';
const MEMCACHED = process.env.MEMCACHED_SERVER || 'memcached';

const has = (cmd, args) => spawnSync(cmd, args).status === 0;
if (!has(MEMCACHED, ['-V']) || !has(PHP, ['-r', 'exit(extension_loaded("memcached") ? 0 : 1);'])) {
  console.log('memcached or php-memcached missing: skipping the Memcached benchmark');
  process.exit(0);
}

const port = await new Promise((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => resolve(p));
  });
});
const server = spawn(MEMCACHED, ['-p', String(port), '-l', '127.0.0.1', '-U', '0', ...(process.getuid?.() === 0 ? ['-u', 'root'] : [])], { stdio: 'ignore' });
const savePath = `127.0.0.1:${port}`;

async function waitUp() {
  const probe = new MemcachedSessionStore({ savePath, connectTimeoutMs: 200, commandTimeoutMs: 200 });
  for (let i = 0; i < 100; i++) {
    try {
      await probe.ping();
      await probe.close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error('memcached did not start');
}

const nodeRun = (locking) =>
  nodeRoundTrips(new MemcachedSessionStore({ savePath, locking }), locking ? 'benchnodelocked00000000000000001' : 'benchnodeplain000000000000000001', ITER);
const phpRun = (locking) =>
  phpRoundTrips(
    ['-d', 'session.save_handler=memcached', '-d', `session.save_path=${savePath}`, '-d', `memcached.sess_locking=${locking ? 1 : 0}`],
    locking ? 'benchphplocked000000000000000001' : 'benchphpplain0000000000000000001',
    ITER,
  );

/**
 * GET + SET pairs of a 150-byte value per second: sessctl's client (through the store) and memjs,
 * in alternating blocks of 300 pairs (30 each), the median block of each — on a busy machine a
 * single long run measures the neighbours more than the client.
 */
async function clientComparison() {
  let lib;
  try {
    lib = createRequire(import.meta.url)('memjs');
  } catch {
    lib = null;
  }
  const value = Buffer.alloc(150, 'x');
  const store = new MemcachedSessionStore({ savePath });
  const id = 'benchclient000000000000000000001';
  const client = lib?.Client.create(savePath, { logger: { log() {} } });
  const block = async (get, set) => {
    const t = process.hrtime.bigint();
    for (let i = 0; i < 300; i++) {
      await get();
      await set();
    }
    return 300 / (Number(process.hrtime.bigint() - t) / 1e9);
  };
  const ours = [];
  const theirs = [];
  for (let r = 0; r < 30; r++) {
    ours.push(await block(() => store.readBytes(id), () => store.writeRaw(id, value)));
    if (client) theirs.push(await block(() => client.get('benchclient'), () => client.set('benchclient', value, { expires: 60 })));
  }
  await store.close();
  client?.close();
  const median = (a) => (a.length ? a.sort((x, y) => x - y)[a.length >> 1] : null);
  return { ours: median(ours), memjs: median(theirs) };
}

try {
  await waitUp();
  const versions = spawnSync(PHP, ['-r', 'echo PHP_VERSION, " php-memcached ", phpversion("memcached");'], { encoding: 'utf8' }).stdout;
  console.log(`memcached ${spawnSync(MEMCACHED, ['-V'], { encoding: 'utf8' }).stdout.trim()}, ${PHP} ${versions}, node ${process.version}, ${ITER} round trips each, one client, loopback`);
  console.log('\nsessions (open/read → modify → save → close)');
  console.log('locking  node (ops/s)  php (ops/s)  node/php');
  for (const locking of [false, true]) {
    const node = await nodeRun(locking);
    const php = phpRun(locking);
    console.log(`${(locking ? 'on' : 'off').padEnd(7)}  ${node.toFixed(0).padStart(12)}  ${php.toFixed(0).padStart(11)}  ${(node / php).toFixed(2).padStart(8)}`);
  }
  console.log('\nclient alone: GET + SET pairs per second (binary protocol; median of 30 alternating blocks)');
  const c = await clientComparison();
  console.log(`sessctl's client  ${c.ours.toFixed(0).padStart(8)}`);
  console.log(`memjs             ${c.memjs === null ? '  (not installed)' : c.memjs.toFixed(0).padStart(8)}`);
} finally {
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
}
