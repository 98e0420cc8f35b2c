// readConfigFile, the one reader of configuration files (php.ini and its scan directories,
// dotenv files, FPM pool files): FIFOs and devices refused without blocking, a size cap, symlinks
// followed only when root or this user owns them, the owner check for dotenv files read as root.
// On real files; the checks about other users need root (chown to 65534).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, lchownSync, mkdirSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readConfigFile, ConfigFileUnreadableError, CONFIG_FILE_MAX_BYTES } from '../../dist/admin/config-file.js';
import { ConfigError } from '../../dist/errors.js';
import { discoverSystemSessions, loadPhpIni, readApp } from 'sessctl/admin';
import { freshDirs } from '../helpers/fresh-dirs.js';

const isRoot = process.geteuid?.() === 0;
const needRoot = { skip: isRoot ? false : 'needs root (chown to another user)' };
const TENANT = 65534;
const fresh = freshDirs('sessctl-config-file-');
const mkfifo = (path) => execFileSync('mkfifo', [path]);
/** A symlink at `path` to `target`, owned by `uid`. */
const linkOwnedBy = (target, path, uid) => {
  symlinkSync(target, path);
  lchownSync(path, uid, uid);
};

test('a regular file is read whole, as UTF-8', () => {
  const f = join(fresh(), 'a.ini');
  writeFileSync(f, 'session.name = "héllo"\n');
  assert.equal(readConfigFile(f, '--php-ini'), 'session.name = "héllo"\n');
});

test('a FIFO is refused at once, without waiting for a writer', () => {
  const f = join(fresh(), 'fifo.ini');
  mkfifo(f);
  assert.throws(() => readConfigFile(f, '--php-ini'), (err) => err instanceof ConfigError && err.message === `--php-ini ${f}: is not a regular file (a FIFO); not read`);
});

test('a device (/dev/zero) and a directory are refused, unread', () => {
  assert.throws(() => readConfigFile('/dev/zero', '--php-ini'), /^ConfigError: --php-ini \/dev\/zero: is not a regular file \(a character device\); not read$/);
  assert.throws(() => readConfigFile(fresh(), '--php-ini'), /is not a regular file \(a directory\)/);
});

test('a file over the cap is refused (a sparse file: nothing is read), one at the cap is read', () => {
  const d = fresh();
  const big = join(d, 'big.ini');
  writeFileSync(big, '');
  truncateSync(big, CONFIG_FILE_MAX_BYTES + 1);
  assert.throws(() => readConfigFile(big, '--php-ini'), new RegExp(`^ConfigError: --php-ini ${big}: is larger than 8 MiB, the limit for a configuration file; not read$`));
  const atCap = join(d, 'cap.ini');
  writeFileSync(atCap, '');
  truncateSync(atCap, CONFIG_FILE_MAX_BYTES);
  assert.equal(readConfigFile(atCap, '--php-ini').length, CONFIG_FILE_MAX_BYTES);
});

test('a missing file: ConfigFileUnreadableError with its errno (what the scan directories skip, as PHP does)', () => {
  const f = join(fresh(), 'nope.ini');
  assert.throws(() => readConfigFile(f, '--php-ini'), (/** @type {any} */ err) => err instanceof ConfigFileUnreadableError && err.errno === 'ENOENT' && err.message === `--php-ini ${f}: cannot read it (ENOENT)`);
});

test('a path with a control character is named on one line, escaped', () => {
  const d = fresh();
  mkfifo(join(d, 'a\nb'));
  assert.throws(() => readConfigFile(join(d, 'a\nb'), '--php-ini'), (/** @type {Error} */ err) => !err.message.includes('\n') && err.message.includes('a\\nb'));
});

test('symlinks: root\'s are followed (Debian\'s conf.d → mods-available), relative and with `..`', needRoot, () => {
  const d = fresh();
  mkdirSync(join(d, 'mods-available'));
  mkdirSync(join(d, '8.2', 'cli', 'conf.d'), { recursive: true });
  writeFileSync(join(d, 'mods-available', 'redis.ini'), 'extension=redis.so\n');
  symlinkSync('../../../mods-available/redis.ini', join(d, '8.2', 'cli', 'conf.d', '20-redis.ini'));
  assert.equal(readConfigFile(join(d, '8.2', 'cli', 'conf.d', '20-redis.ini'), 'ini'), 'extension=redis.so\n');
});

test("a symlink another user owns is not followed: as the last component or on the way", needRoot, () => {
  const d = fresh();
  writeFileSync(join(d, 'secret'), 'SESSION_DRIVER=TOPSECRETDRV\n', { mode: 0o600 });
  linkOwnedBy(join(d, 'secret'), join(d, 'link'), TENANT);
  assert.throws(() => readConfigFile(join(d, 'link'), '.env'), (/** @type {Error} */ err) => err.message === `.env ${join(d, 'link')}: is a symlink owned by uid ${TENANT}; not followed` && !err.message.includes('TOPSECRET'));
  linkOwnedBy(d, join(d, 'dirlink'), TENANT);
  assert.throws(() => readConfigFile(join(d, 'dirlink', 'secret'), '.env'), new RegExp(`${join(d, 'dirlink')} \\(on the way\\) is a symlink owned by uid ${TENANT}; not followed$`));
});

test('a symlink to /dev/zero owned by another user is refused without opening it', needRoot, () => {
  const d = fresh();
  linkOwnedBy('/dev/zero', join(d, '.env'), TENANT);
  assert.throws(() => readConfigFile(join(d, '.env'), '.env'), /is a symlink owned by uid 65534; not followed/);
});

test('owners (as root): a file of neither root nor the directory\'s owner is refused; theirs are read', needRoot, () => {
  const d = fresh();
  const f = join(d, '.env');
  writeFileSync(f, 'A=1\n');
  chownSync(f, 123, 123);
  assert.throws(() => readConfigFile(f, 'dotenv file', { owners: [0, TENANT] }), new RegExp(`${f}: belongs to uid 123, neither root nor the owner of the directory it configures \\(uid ${TENANT}\\); not read$`));
  chownSync(f, TENANT, TENANT);
  assert.equal(readConfigFile(f, 'dotenv file', { owners: [0, TENANT] }), 'A=1\n');
  chownSync(f, 0, 0);
  assert.equal(readConfigFile(f, 'dotenv file', { owners: [0, TENANT] }), 'A=1\n');
});

test('loadPhpIni: a FIFO in the scan directory is an error; a missing link target is skipped as PHP does', () => {
  const d = fresh();
  writeFileSync(join(d, 'php.ini'), 'session.gc_maxlifetime = 5\n');
  mkdirSync(join(d, 'conf.d'));
  symlinkSync(join(d, 'gone.ini'), join(d, 'conf.d', '10-gone.ini'));
  assert.equal(loadPhpIni(join(d, 'php.ini'), {}).get('session.gc_maxlifetime')?.value, '5');
  mkfifo(join(d, 'conf.d', '20-fifo.ini'));
  assert.throws(() => loadPhpIni(join(d, 'php.ini'), {}), /^ConfigError: php\.ini scan directory file .*20-fifo\.ini: is not a regular file \(a FIFO\); not read$/);
});

test('Symfony: .env.local (and the other dotenv files) go through the same checks', needRoot, () => {
  const app = fresh();
  chownSync(app, TENANT, TENANT);
  writeFileSync(join(app, '.env'), 'APP_ENV=prod\n');
  mkfifo(join(app, '.env.local'));
  assert.throws(() => readApp({ framework: 'symfony', app, env: {} }), /\.env\.local: is not a regular file \(a FIFO\); not read$/);
  rmSync(join(app, '.env.local'));
  const outside = fresh();
  writeFileSync(join(outside, 'secret'), 'REDIS_URL=redis://:TOPSECRET@h\n', { mode: 0o600 });
  linkOwnedBy(join(outside, 'secret'), join(app, '.env.prod.local'), TENANT);
  assert.throws(() => readApp({ framework: 'symfony', app, env: {} }), (/** @type {Error} */ err) => /\.env\.prod\.local: is a symlink owned by uid 65534; not followed$/.test(err.message) && !err.message.includes('TOPSECRET'));
});

test('gc --system: an FPM pool file behind another user\'s symlink is a problem, the rest is still read', needRoot, async () => {
  const root = fresh();
  const put = (rel, text) => {
    mkdirSync(join(root, rel, '..'), { recursive: true });
    writeFileSync(join(root, rel), text);
  };
  put('etc/php/8.2/fpm/php.ini', 'session.gc_maxlifetime = 1440\n');
  put('etc/php/8.2/fpm/pool.d/www.conf', '[www]\nphp_value[session.gc_maxlifetime] = 7200\n');
  writeFileSync(join(root, 'secret.conf'), '[x]\nphp_value[session.save_path] = /TOPSECRET\n', { mode: 0o600 });
  linkOwnedBy(join(root, 'secret.conf'), join(root, 'etc/php/8.2/fpm/pool.d/tenant.conf'), TENANT);
  const d = await discoverSystemSessions({ root, noPhp: true, env: {} });
  assert.deepEqual(d.configs.map((c) => c.name), ['8.2 fpm', '8.2 fpm pool www']);
  assert.equal(d.problems.length, 1);
  assert.match(d.problems[0], /^FPM pool file .*tenant\.conf: is a symlink owned by uid 65534; not followed$/);
});
