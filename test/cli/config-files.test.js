// The CLI over hostile configuration files, run as root as an admin would: a FIFO as `.env`,
// as `--php-ini` or in a scan directory, /dev/zero, an oversized file, a tenant's `.env` symlink
// to a root-only secret — each a prompt one-line error, exit 2, nothing of the file shown; a
// root-owned symlink in conf.d (Debian's layout) still read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, lchownSync, mkdirSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, ROOT } from '../helpers/cli.js';
import { freshDirs } from '../helpers/fresh-dirs.js';

const needRoot = { skip: process.geteuid?.() === 0 ? false : 'needs root (chown to another user)' };
const TENANT = 65534;
const SECRET = 'TOPSECRETDRV';
const fresh = freshDirs('sessctl-config-files-');
const mkfifo = (path) => execFileSync('mkfifo', [path]);

/**
 * sessctl with a time limit — a safety net only, so that a regression fails this test instead of
 * hanging the suite: every case here must end on its own, and a kill is asserted against.
 */
function sessctl(args, env = {}) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SESSCTL_') && k !== 'PHP_INI_SCAN_DIR'));
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...clean, ...env }, encoding: 'utf8', timeout: 30_000, killSignal: 'SIGKILL' });
  assert.equal(r.signal, null, `sessctl ${args.join(' ')} did not end by itself (killed by the safety net)`);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Exit 2 with exactly one line on stderr matching `re`, and nothing on stdout. */
function refused(r, re) {
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, re);
  assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
}

/** A Laravel app directory owned by the tenant (storage/framework/sessions as a real app has). */
function tenantApp() {
  const app = fresh();
  mkdirSync(join(app, 'storage', 'framework', 'sessions'), { recursive: true });
  chownSync(app, TENANT, TENANT);
  return app;
}
const laravel = (app, ...args) => sessctl(['--framework', 'laravel', '--app', app, ...args, '--no-php']);

test('a FIFO as .env: exit 2 at once, no hang', needRoot, () => {
  const app = tenantApp();
  mkfifo(join(app, '.env'));
  refused(laravel(app, 'config'), /^sessctl: dotenv file .*\/\.env: is not a regular file \(a FIFO\); not read\n$/);
});

test("a tenant's .env symlink to a root-only secret: refused, the secret appears nowhere", needRoot, () => {
  const app = tenantApp();
  const secret = join(fresh(), 'secret.env');
  writeFileSync(secret, `SESSION_DRIVER=${SECRET}\n`, { mode: 0o600 });
  symlinkSync(secret, join(app, '.env'));
  lchownSync(join(app, '.env'), TENANT, TENANT);
  for (const args of [['config'], ['config', '--json'], ['list']]) {
    const r = laravel(app, ...args);
    refused(r, /^sessctl: dotenv file .*\/\.env: is a symlink owned by uid 65534; not followed\n$/);
    assert.ok(!`${r.stdout}${r.stderr}`.includes(SECRET), 'the secret is shown');
  }
});

test("a .env of a third user's in the tenant's app: refused, not shown", needRoot, () => {
  const app = tenantApp();
  writeFileSync(join(app, '.env'), `SESSION_DRIVER=${SECRET}\n`, { mode: 0o600 });
  chownSync(join(app, '.env'), 123, 123);
  const r = laravel(app, 'config');
  refused(r, /^sessctl: dotenv file .*\/\.env: belongs to uid 123, neither root nor the owner of the directory it configures \(uid 65534\); not read\n$/);
  assert.ok(!r.stderr.includes(SECRET));
});

test("the app owner's own .env is read as before", needRoot, () => {
  const app = tenantApp();
  writeFileSync(join(app, '.env'), 'SESSION_DRIVER=file\nSESSION_LIFETIME=30\n');
  chownSync(join(app, '.env'), TENANT, TENANT);
  const r = laravel(app, 'config');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /1800/);
});

test('/dev/zero: behind a tenant symlink as .env, and as --php-ini: refused without reading it', needRoot, () => {
  const app = tenantApp();
  symlinkSync('/dev/zero', join(app, '.env'));
  lchownSync(join(app, '.env'), TENANT, TENANT);
  refused(laravel(app, 'config'), /\.env: is a symlink owned by uid 65534; not followed\n$/);
  refused(sessctl(['config', '--php-ini', '/dev/zero', '--no-php']), /^sessctl: --php-ini \/dev\/zero: is not a regular file \(a character device\); not read\n$/);
});

test('a FIFO as --php-ini, and in the scan directory (conf.d, PHP_INI_SCAN_DIR): exit 2 at once', () => {
  const d = fresh();
  mkfifo(join(d, 'fifo.ini'));
  refused(sessctl(['config', '--php-ini', join(d, 'fifo.ini'), '--no-php']), /^sessctl: --php-ini .*fifo\.ini: is not a regular file \(a FIFO\); not read\n$/);
  writeFileSync(join(d, 'php.ini'), 'session.gc_maxlifetime = 600\n');
  mkdirSync(join(d, 'conf.d'));
  mkfifo(join(d, 'conf.d', '50-fifo.ini'));
  const fifoInScanDir = /^sessctl: php\.ini scan directory file .*50-fifo\.ini: is not a regular file \(a FIFO\); not read\n$/;
  refused(sessctl(['config', '--php-ini', join(d, 'php.ini'), '--no-php']), fifoInScanDir);
  const other = fresh();
  refused(sessctl(['config', '--php-ini', join(d, 'php.ini'), '--no-php'], { PHP_INI_SCAN_DIR: `${other}:${join(d, 'conf.d')}` }), fifoInScanDir);
});

test('an --php-ini over the 8 MiB cap: refused', () => {
  const f = join(fresh(), 'big.ini');
  writeFileSync(f, '');
  truncateSync(f, 8 * 1024 * 1024 + 1);
  refused(sessctl(['config', '--php-ini', f, '--no-php']), /^sessctl: --php-ini .*big\.ini: is larger than 8 MiB, the limit for a configuration file; not read\n$/);
});

test("Debian's layout: a root-owned conf.d symlink to mods-available is still read; a tenant's is refused", needRoot, () => {
  const etc = fresh();
  mkdirSync(join(etc, 'mods-available'));
  mkdirSync(join(etc, '8.2', 'cli', 'conf.d'), { recursive: true });
  writeFileSync(join(etc, '8.2', 'cli', 'php.ini'), 'session.gc_maxlifetime = 600\n');
  writeFileSync(join(etc, 'mods-available', 'lifetime.ini'), 'session.gc_maxlifetime = 4321\n');
  symlinkSync('../../../mods-available/lifetime.ini', join(etc, '8.2', 'cli', 'conf.d', '20-lifetime.ini'));
  const ini = join(etc, '8.2', 'cli', 'php.ini');
  const r = sessctl(['config', '--php-ini', ini, '--no-php']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /session\.gc_maxlifetime +4321 +from php\.ini: .*20-lifetime\.ini:1/);
  lchownSync(join(etc, '8.2', 'cli', 'conf.d', '20-lifetime.ini'), TENANT, TENANT);
  refused(sessctl(['config', '--php-ini', ini, '--no-php']), /20-lifetime\.ini: is a symlink owned by uid 65534; not followed\n$/);
});
