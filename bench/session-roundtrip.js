// Shared by the Redis and Memcached benchmarks: the same session, the same loop (open/read →
// modify → save → close) in Node and in PHP, each timed inside its own runtime.
import { spawnSync } from 'node:child_process';
import { PhpArray } from 'sessctl';

const PHP = process.env.PHP_BINARY || 'php';

function seed() {
  const d = new PhpArray();
  d.set('user_id', 12345);
  d.set('name', 'Jane Example');
  d.set('roles', PhpArray.of('editor', 'viewer'));
  d.set('csrf', 'a'.repeat(40));
  d.set('n', 0);
  return d;
}

/** Round trips per second through a SessionBackend (200 warm-up rounds first); closes the store. */
export async function nodeRoundTrips(store, id, iter) {
  await store.update(id, () => seed());
  for (let i = 0; i < 200; i++) await store.update(id, (d) => void d.set('n', i));
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iter; i++) {
    const h = await store.open(id);
    h.data.set('n', i);
    await h.save();
    await h.close();
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  await store.close();
  return iter / seconds;
}

/** The same loop in PHP with the given `-d` settings. */
export function phpRoundTrips(iniArgs, id, iter) {
  const code = `
    session_id($argv[1]); session_start();
    $_SESSION = ['user_id' => 12345, 'name' => 'Jane Example', 'roles' => ['editor', 'viewer'], 'csrf' => str_repeat('a', 40), 'n' => 0];
    session_write_close();
    $iter = (int)$argv[2];
    for ($i = 0; $i < 200; $i++) { session_id($argv[1]); session_start(); $_SESSION['n'] = $i; session_write_close(); }
    $t = hrtime(true);
    for ($i = 0; $i < $iter; $i++) { session_id($argv[1]); session_start(); $_SESSION['n'] = $i; session_write_close(); }
    echo $iter / ((hrtime(true) - $t) / 1e9);`;
  const r = spawnSync(PHP, ['-d', 'session.use_cookies=0', '-d', 'session.cache_limiter=', ...iniArgs, '-r', code, id, String(iter)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`php failed: ${r.stderr}${r.stdout}`);
  return Number(r.stdout);
}
