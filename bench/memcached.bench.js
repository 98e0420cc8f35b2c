// Read+write round trips per second through MemcachedSessionStore (open → read → modify → save →
// close), php-memcached locking on and off, against PHP's own php-memcached handler doing the
// same (session_id / session_start / modify / session_write_close, timed inside PHP) on the same
// memcached; then the client alone (GET+SET pairs) against memjs, the npm binary-protocol client
// it was measured against. Usage: npm run bench -- memcached   (env: BENCH_ITER, default 5000)
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import { MemcachedSessionStore } from 'sessctl/memcached';
import { PhpArray } from 'sessctl';

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

const seed = () => {
  const d = new PhpArray();
  d.set('user_id', 12345);
  d.set('name', 'Jane Example');
  d.set('roles', PhpArray.of('editor', 'viewer'));
  d.set('csrf', 'a'.repeat(40));
  d.set('n', 0);
  return d;
};

async function nodeRun(locking) {
  const store = new MemcachedSessionStore({ savePath, locking });
  const id = locking ? 'benchnodelocked00000000000000001' : 'benchnodeplain000000000000000001';
  await store.update(id, () => seed());
  for (let i = 0; i < 200; i++) await store.update(id, (d) => void d.set('n', i));
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < ITER; i++) {
    const h = await store.open(id);
    h.data.set('n', i);
    await h.save();
    await h.close();
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  await store.close();
  return ITER / seconds;
}

function phpRun(locking) {
  const id = locking ? 'benchphplocked000000000000000001' : 'benchphpplain0000000000000000001';
  const code = `
    session_id($argv[1]); session_start();
    $_SESSION = ['user_id' => 12345, 'name' => 'Jane Example', 'roles' => ['editor', 'viewer'], 'csrf' => str_repeat('a', 40), 'n' => 0];
    session_write_close();
    $iter = (int)$argv[2];
    for ($i = 0; $i < 200; $i++) { session_id($argv[1]); session_start(); $_SESSION['n'] = $i; session_write_close(); }
    $t = hrtime(true);
    for ($i = 0; $i < $iter; $i++) { session_id($argv[1]); session_start(); $_SESSION['n'] = $i; session_write_close(); }
    echo $iter / ((hrtime(true) - $t) / 1e9);`;
  const r = spawnSync(PHP, ['-d', 'session.save_handler=memcached', '-d', `session.save_path=${savePath}`, '-d', 'session.use_cookies=0', '-d', 'session.cache_limiter=', '-d', `memcached.sess_locking=${locking ? 1 : 0}`, '-r', code, id, String(ITER)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`php failed: ${r.stderr}${r.stdout}`);
  return Number(r.stdout);
}

/** GET + SET of a 150-byte value, one after the other, ITER times. */
async function clientPairs(get, set) {
  const value = Buffer.alloc(150, 'x');
  await set('benchkey', value);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < ITER; i++) {
    await get('benchkey');
    await set('benchkey', value);
  }
  return ITER / (Number(process.hrtime.bigint() - t0) / 1e9);
}

async function ours() {
  const store = new MemcachedSessionStore({ savePath });
  const id = 'benchclient000000000000000000001';
  const rate = await clientPairs(() => store.readBytes(id), (_k, v) => store.writeRaw(id, v));
  await store.close();
  return rate;
}

async function memjs() {
  let lib;
  try {
    lib = createRequire(import.meta.url)('memjs');
  } catch {
    return null;
  }
  const client = lib.Client.create(savePath, { logger: { log() {} } });
  const rate = await clientPairs((k) => client.get(k), (k, v) => client.set(k, v, { expires: 60 }));
  client.close();
  return rate;
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
  console.log('\nclient alone: GET + SET pairs per second (binary protocol)');
  console.log(`sessctl's client  ${(await ours()).toFixed(0).padStart(8)}`);
  const m = await memjs();
  console.log(`memjs             ${m === null ? '  (not installed)' : m.toFixed(0).padStart(8)}`);
} finally {
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
}
