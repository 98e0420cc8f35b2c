// Shared test helpers: locating real PHP / redis-server, and the CI rule that a
// missing one is a failure (SESSCTL_CI_STRICT=1, set by .ci/run) instead of a skip.
import { spawn, spawnSync } from 'node:child_process';

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
/**
 * The optional native helper (native/, built by `npm run build` when a C compiler, Python and
 * Node's headers are there). `unavailable` is why it is not in use (NATIVE_AT_UNAVAILABLE), or
 * null when it is.
 * @param {string | null} unavailable
 */
export const needNativeHelper = (unavailable) => need(unavailable === null, `the native helper native/build/Release/sessctl_at.node (${unavailable}; \`npm run build\` builds it)`);

/**
 * Runs a PHP snippet or script; returns stdout as a Buffer, throws with stderr on failure.
 * @param {string[]} args
 * @param {{ input?: string | Buffer, env?: Record<string, string | undefined> }} [options]
 * @returns {Buffer}
 */
export function runPhp(args, { input, env } = {}) {
  const r = spawnSync(PHP, args, { input, env: { ...process.env, ...env }, maxBuffer: 1 << 28 });
  if (r.status !== 0) {
    throw new Error(`php ${args.join(' ')} failed (${r.status}): ${r.stderr?.toString()}${r.stdout?.toString().slice(0, 2000)}`);
  }
  return r.stdout;
}

/**
 * PHP as a judge over many inputs in one process: `body` runs once per input (`$s`) and echoes
 * one base64 string, or "-" when PHP refuses the input; `prelude` runs first (class
 * definitions). Returns the decoded answers (latin1 text), null for "-".
 */
export function phpPerInput(inputs, body, prelude = '') {
  const code = `${prelude} foreach (json_decode(stream_get_contents(STDIN)) as $s) { ${body} echo "\\n"; }`;
  return runPhp(['-n', '-d', 'display_errors=stderr', '-r', code], { input: JSON.stringify(inputs) })
    .toString()
    .trim()
    .split('\n')
    .map((line) => (line === '-' ? null : Buffer.from(line, 'base64').toString('latin1')));
}

// Debian's chromium, driven by playwright-core (no browser download). Checked on demand: only
// the browser tests pay for starting it.
export const CHROMIUM = process.env.CHROMIUM_BINARY || '/usr/bin/chromium';
export const needChromium = () => need(has(CHROMIUM, ['--version']), `chromium (${CHROMIUM}; Debian's chromium package)`);

/** Debian's php-laravel-framework / php-symfony-http-foundation (classes under /usr/share/php). */
export const hasLaravel = hasPhp && has(PHP, ['-r', 'exit(@include_once "Illuminate/Session/autoload.php" ? 0 : 1);']);
export const hasSymfony = hasPhp && has(PHP, ['-r', 'exit(@include_once "Symfony/Component/HttpFoundation/autoload.php" ? 0 : 1);']);
export const needLaravel = () => need(hasLaravel, 'Laravel (php-laravel-framework)');
export const needLaravelRedis = () => need(hasLaravel && hasRedisServer && hasPhpRedis, 'Laravel (php-laravel-framework), redis-server and php-redis');
export const needLaravelMemcached = () => need(hasLaravel && hasMemcachedServer && hasPhpMemcached, 'Laravel (php-laravel-framework), memcached and php-memcached');
export const needSymfony = () => need(hasSymfony, 'Symfony HttpFoundation (php-symfony-http-foundation)');
export const hasSymfonySecurity = hasSymfony && has(PHP, ['-r', 'exit(@include_once "Symfony/Component/Security/Core/autoload.php" ? 0 : 1);']);
export const needSymfonySecurity = () => need(hasSymfonySecurity, 'Symfony Security Core (php-symfony-security-core)');
export const hasSymfonySecurityHttp = hasSymfonySecurity && has(PHP, ['-r', 'exit(@include_once "Symfony/Component/Security/Http/autoload.php" ? 0 : 1);']);
export const needSymfonySecurityHttp = () => need(hasSymfonySecurityHttp, 'Symfony Security HTTP (php-symfony-security-http)');
export const hasPdoSqlite = hasPhp && has(PHP, ['-r', 'exit(extension_loaded("pdo_sqlite") ? 0 : 1);']);
export const hasPdoPgsql = hasPhp && has(PHP, ['-r', 'exit(extension_loaded("pdo_pgsql") ? 0 : 1);']);
export const needPdo = (driver, serverOk = true) => need((driver === 'sqlite' ? hasPdoSqlite : hasPdoPgsql) && serverOk, `php-${driver === 'sqlite' ? 'sqlite3' : 'pgsql'}${driver === 'pgsql' ? ' and postgresql' : ''}`);

/**
 * Starts PHP with `args`, a script that prints HOLDING once it holds what the test needs and
 * then waits on fgets(STDIN): `ready` resolves at HOLDING, `release()` lets it finish, `done`
 * gives its exit — an explicit hand-shake, so a test never depends on how fast PHP is.
 */
export function phpUntilReleased(args) {
  const child = spawn(PHP, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const ready = new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('HOLDING')) resolve();
    });
    child.on('exit', (c) => reject(new Error(`php exited (${c}) before holding the session: ${stderr}`)));
  });
  const done = new Promise((resolve) => child.on('exit', (c) => resolve({ code: c, stderr })));
  return { ready, done, release: () => child.stdin.end('go\n') };
}
