// Shared test helpers: locating real PHP / redis-server, and the CI rule that a
// missing one is a failure (SESSCTL_CI_STRICT=1, set by .ci/run) instead of a skip.
import { spawnSync } from 'node:child_process';

export const STRICT = process.env.SESSCTL_CI_STRICT === '1';

function has(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.status === 0;
}

export const PHP = process.env.PHP_BINARY || 'php';
export const hasPhp = has(PHP, ['-v']);
export const hasPhpRedis = hasPhp && has(PHP, ['-r', 'exit(extension_loaded("redis") ? 0 : 1);']);
export const REDIS_SERVER = process.env.REDIS_SERVER || 'redis-server';
export const hasRedisServer = has(REDIS_SERVER, ['--version']);
export const MEMCACHED_SERVER = process.env.MEMCACHED_SERVER || 'memcached';
export const hasMemcachedServer = has(MEMCACHED_SERVER, ['-V']);
export const hasPhpMemcached = hasPhp && has(PHP, ['-r', 'exit(extension_loaded("memcached") ? 0 : 1);']);

/**
 * Options for `test()`/`describe()` that skip loudly when a tool is missing locally,
 * and fail in CI. Usage: `test('x', needPhp(), async () => …)`.
 */
function need(ok, what) {
  if (ok) return {};
  const msg = `${what} is not installed: SKIPPING tests that need it (install it, CI requires it)`;
  if (STRICT) throw new Error(`${what} is required in CI (SESSCTL_CI_STRICT=1) but was not found`);
  process.stderr.write(`\n!!! ${msg}\n`);
  return { skip: msg };
}
export const needPhp = () => need(hasPhp, 'php (php-cli)');
export const needPhpRedis = () => need(hasPhpRedis, 'php with the redis extension (php-redis)');
export const needRedis = () => need(hasRedisServer && hasPhpRedis, 'redis-server and php-redis');
export const needMemcached = () => need(hasMemcachedServer && hasPhpMemcached, 'memcached and php-memcached');

/** Runs a PHP snippet or script; returns stdout as a Buffer, throws with stderr on failure. */
export function runPhp(args, { input, env } = {}) {
  const r = spawnSync(PHP, args, { input, env: { ...process.env, ...env }, maxBuffer: 1 << 28 });
  if (r.status !== 0) {
    throw new Error(`php ${args.join(' ')} failed (${r.status}): ${r.stderr?.toString()}${r.stdout?.toString().slice(0, 2000)}`);
  }
  return r.stdout;
}
