// gc --system: phpsessionclean's discovery (each SAPI's php.ini + conf.d, read by that PHP)
// plus every FPM pool's php_value/php_admin_value, over a fake /etc/php tree written here;
// sessions written by real PHP; each save path collected once with its longest lifetime.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { needPhp, runPhp } from '../helpers/env.js';
import { BIN, sessctl, tempDir, removeDir, makeDirsFor } from '../helpers/cli.js';
import { phpWriteSessions } from '../helpers/php-sessions.js';

const root = tempDir('system');
after(() => removeDir(root));
const version = needPhp().skip ? '8.2' : runPhp(['-r', 'echo PHP_MAJOR_VERSION . "." . PHP_MINOR_VERSION;']).toString();
const put = (rel, text) => {
  mkdirSync(join(root, rel, '..'), { recursive: true });
  writeFileSync(join(root, rel), text);
};
const dir = (name) => {
  mkdirSync(join(root, name), { recursive: true });
  return join(root, name);
};
const s1 = dir('sessions'); // named by cli (600 s), fpm (conf.d: 3600 s) and pool "legacy" (86400 s)
const s2 = dir('apache-sessions'); // an older PHP with no binary here: "1;…", 100 s
const s3 = dir('www-sessions'); // only pool "www": 7200 s via php_value

put(`etc/php/${version}/cli/php.ini`, `[Session]\nsession.save_path = "${s1}"\nsession.gc_maxlifetime = 600\n`);
put(`etc/php/${version}/fpm/php.ini`, `[Session]\nsession.save_path = "${s1}"\nsession.gc_maxlifetime = 1440\n`);
put(`etc/php/${version}/fpm/conf.d/20-lifetime.ini`, 'session.gc_maxlifetime = 3600\n');
put(
  `etc/php/${version}/fpm/pool.d/www.conf`,
  `[www]\nuser = www-data\nlisten = /run/php/$pool.sock\nphp_admin_value[session.save_path] = "${join(root, 'www')}-sessions"\nphp_value[session.gc_maxlifetime] = 7200\n` +
    `[api]\nphp_admin_value[session.save_handler] = redis\nphp_admin_value[session.save_path] = "tcp://127.0.0.1:6379?auth=secret"\n` +
    `[legacy]\nphp_value[session.save_path] = ${s1}\nphp_admin_value[session.gc_maxlifetime] = 86400\nphp_value[session.gc_maxlifetime] = 5\n` +
    `[gone]\nphp_admin_value[session.save_path] = ${join(root, 'no-such-dir')}\n`,
);
put('etc/php/7.4/apache2/php.ini', `session.save_path = "1;${s2}"\nsession.gc_maxlifetime = 100\n`);

const id = (tag, n) => `${tag}${String(n).padStart(3, '0')}abcdefghijklmnopqrstuvwx`.slice(0, 26);
function sessionsAged(savePath, tag, ages) {
  const ids = ages.map((_, n) => id(tag, n));
  const sp = savePath.split(';');
  if (sp.length > 1) makeDirsFor(sp[1], Number(sp[0]), ids);
  phpWriteSessions({ savePath }, Object.fromEntries(ids.map((i) => [i, "['user' => 1]"])));
  const base = sp.at(-1);
  const depth = sp.length > 1 ? Number(sp[0]) : 0;
  const paths = ids.map((i) => join(base, ...i.slice(0, depth).split(''), `sess_${i}`));
  const now = Date.now() / 1000;
  paths.forEach((p, n) => utimesSync(p, now - ages[n], now - ages[n]));
  return paths;
}

test('--dry-run shows every configuration, what is skipped and why, and the longest lifetime per save path', needPhp(), () => {
  const r = sessctl(['gc', '--system', '--system-root', root, '--dry-run']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`${version} fpm pool www +files "${s3}" maxlifetime 7200s`));
  assert.match(r.stdout, new RegExp(`${version} fpm +files "${s1}" maxlifetime 3600s .*read by php`), 'conf.d read by the php binary itself');
  assert.match(r.stdout, /7\.4 apache2 +files .* maxlifetime 100s .*read by sessctl/);
  assert.match(r.stdout, /fpm pool api: redis: Redis expires its own keys/);
  assert.doesNotMatch(r.stdout, /secret/, 'a password in a Redis save path is never printed');
  assert.match(r.stdout, /fpm pool gone: .*no-such-dir does not exist/);
  assert.match(r.stdout, new RegExp(`${s1} with maxlifetime 86400s \\(the longest of: ${version} cli 600s, ${version} fpm 3600s, ${version} fpm pool legacy 86400s\\)`));
  assert.equal((r.stdout.match(new RegExp(`^gc ${s1} `, 'gm')) ?? []).length, 1, 'a save path named three times is collected once');
});

test('collects each save path with its longest lifetime; writes the metrics file', needPhp(), () => {
  const [s1young, s1old] = sessionsAged(s1, 'a', [7200, 100000]); // 2 h is within the longest (1 d) lifetime
  const [s2young, s2old] = sessionsAged(`1;${s2}`, 'b', [10, 500]);
  const [s3young, s3old] = sessionsAged(s3, 'c', [3600, 10800]);
  const metrics = join(root, 'sessctl_gc.prom');
  const r = sessctl(['gc', '--system', '--system-root', root, '--json', '--metrics-file', metrics]);
  assert.equal(r.code, 0, r.stderr);
  for (const p of [s1young, s2young, s3young]) assert.ok(existsSync(p), `${p} kept`);
  for (const p of [s1old, s2old, s3old]) assert.ok(!existsSync(p), `${p} deleted`);
  const j = JSON.parse(r.stdout);
  assert.deepEqual(j.results.map((x) => [x.target.path, x.report.deleted]).sort(), [[s1, 1], [s2, 1], [s3, 1]].sort());
  const text = readFileSync(metrics, 'utf8');
  assert.match(text, new RegExp(`^sessctl_gc_deleted\\{save_path="${s3}"\\} 1$`, 'm'));
  assert.match(text, /^sessctl_gc_success 1$/m);
  assert.match(text, /^# TYPE sessctl_gc_last_success_timestamp_seconds gauge$/m);
  const lastSuccess = Number(/^sessctl_gc_last_success_timestamp_seconds (\S+)$/m.exec(text)[1]);
  assert.ok(Math.abs(lastSuccess - Date.now() / 1000) < 600);
});

test('flags that --system decides itself are refused', () => {
  const r = sessctl(['gc', '--system', '--save-path', '/tmp', '--maxlifetime', '1h']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--system finds the save paths and lifetimes itself: drop --save-path, --maxlifetime/);
});

test('as root, a save path another user owns is collected by a gc acting as that user', needPhp(), (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root');
  const nobody = spawnSync(process.execPath, [BIN, '--version'], { cwd: '/', uid: 65534, gid: 65534 });
  if (nobody.status !== 0) return t.skip(`user nobody cannot run ${BIN} (the checkout is not readable to others)`);
  const other = join(root, 'other-root');
  const owned = join(other, 'pool-sessions');
  mkdirSync(owned, { recursive: true });
  chmodSync(root, 0o755);
  chmodSync(other, 0o755);
  put(`other-root/etc/php/${version}/fpm/pool.d/tenant.conf`, `[tenant]\nphp_admin_value[session.save_path] = ${owned}\nphp_admin_value[session.gc_maxlifetime] = 60\n`);
  const [young, old] = sessionsAged(owned, 'o', [10, 600]);
  for (const p of [owned, young, old]) chownSync(p, 65534, 65534);
  const r = sessctl(['gc', '--system', '--system-root', other, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const [result] = JSON.parse(r.stdout).results;
  assert.equal(result.report.deleted, 1);
  assert.equal(result.actedAs.uid, 65534);
  assert.equal(result.actedAs.switched, true);
  assert.ok(existsSync(young) && !existsSync(old));
  const dry = sessctl(['gc', '--system', '--system-root', other, '--dry-run']);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, new RegExp(`^gc ${owned} \\(maxlifetime 60s\\)`, 'm'), 'the child lists and sums up itself');
});
