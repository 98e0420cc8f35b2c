// Read+write round trips per second through RedisSessionStore (open → read → modify → save →
// close), with phpredis locking on and off, against PHP's own phpredis handler doing the same
// (session_id / session_start / modify / session_write_close, timed inside PHP) on the same
// redis-server. Usage: npm run bench -- redis   (env: BENCH_ITER, default 5000)
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RedisSessionStore } from 'sessctl/redis';
import { nodeRoundTrips, phpRoundTrips } from './session-roundtrip.js';

const ITER = Number(process.env.BENCH_ITER ?? 5000);
const PHP = process.env.PHP_BINARY || 'php';
const REDIS = process.env.REDIS_SERVER || 'redis-server';

function has(cmd, args) {
  return spawnSync(cmd, args).status === 0;
}
if (!has(REDIS, ['--version']) || !has(PHP, ['-r', 'exit(extension_loaded("redis") ? 0 : 1);'])) {
  console.log('redis-server or php-redis missing: skipping the Redis benchmark');
  process.exit(0);
}

const port = await new Promise((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => resolve(p));
  });
});
const dir = mkdtempSync(join(tmpdir(), 'sessctl-redis-bench-'));
const server = spawn(REDIS, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
const url = `tcp://127.0.0.1:${port}`;

async function waitUp() {
  const probe = new RedisSessionStore({ savePath: url, connectTimeoutMs: 200, commandTimeoutMs: 200 });
  for (let i = 0; i < 100; i++) {
    try {
      await probe.exists('probe');
      await probe.close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error('redis-server did not start');
}

const nodeRun = (locking) =>
  nodeRoundTrips(new RedisSessionStore({ savePath: url, locking }), locking ? 'benchnodelocked00000000000000001' : 'benchnodeplain000000000000000001', ITER);
const phpRun = (locking) =>
  phpRoundTrips(
    ['-d', 'session.save_handler=redis', '-d', `session.save_path="${url}"`, '-d', `redis.session.locking_enabled=${locking ? 1 : 0}`, '-d', 'redis.session.lock_expire=30'],
    locking ? 'benchphplocked000000000000000001' : 'benchphpplain0000000000000000001',
    ITER,
  );

try {
  await waitUp();
  console.log(`redis-server ${spawnSync(REDIS, ['--version'], { encoding: 'utf8' }).stdout.match(/v=(\S+)/)?.[1]}, ${PHP} ${spawnSync(PHP, ['-r', 'echo PHP_VERSION, " phpredis ", phpversion("redis");'], { encoding: 'utf8' }).stdout}, node ${process.version}, ${ITER} round trips each (open/read → modify → save → close), one client, loopback`);
  console.log('');
  console.log('locking  node (ops/s)  php (ops/s)  node/php');
  for (const locking of [false, true]) {
    const node = await nodeRun(locking);
    const php = phpRun(locking);
    console.log(`${(locking ? 'on' : 'off').padEnd(7)}  ${node.toFixed(0).padStart(12)}  ${php.toFixed(0).padStart(11)}  ${(node / php).toFixed(2).padStart(8)}`);
  }
} finally {
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
}
