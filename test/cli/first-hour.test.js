// First hour, point 4: gc --help's crontab line, EACCES on every file, convert's exact mtimes.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { needPhp } from '../helpers/env.js';
import { BIN, ROOT, sessctl, tempDir, removeDir, phpWriteSession, makeId } from '../helpers/cli.js';

const dir = tempDir('firsthour');
after(() => removeDir(dir));

test('gc --help shows the crontab line apart from the shell examples', () => {
  const r = sessctl(['gc', '--help']);
  assert.equal(r.code, 0);
  assert.doesNotMatch(r.stdout, /\$ \*\/30/);
  assert.match(r.stdout, /crontab line, not a command[^\n]*\):\n {2}09,39 \* \* \* \* {2}root {2}\/usr\/local\/bin\/sessctl gc --system/);
});

test("gc --help's crontab line names sessctl by its absolute path, as README.md and systemd/sessctl.cron do", () => {
  // cron runs with PATH=/usr/bin:/bin: a bare `sessctl` there is "command not found" at every run.
  const line = sessctl(['gc', '--help']).stdout.split('\n').find((l) => /^\s*09,39 /.test(l));
  assert.ok(line, 'a crontab line');
  assert.match(line, /\broot\s+\/\S+\/sessctl gc /);
});

test("set --help quotes its JSON example, so it can be pasted into any shell (zsh: `[]` is a bad glob)", () => {
  const r = sessctl(['set', '--help']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /cart\.items '\[\]'/);
  assert.doesNotMatch(r.stdout, /cart\.items \[\]/);
});

test('convert keeps each mtime to the nanosecond', needPhp(), () => {
  const save = join(dir, 'ns');
  spawnSync('mkdir', [save]);
  const ids = [1, 2, 3].map((n) => makeId('n', n));
  const paths = ids.map((id) => phpWriteSession(save, 'php', id));
  // Times with every nanosecond digit set, so that a millisecond or microsecond round shows.
  paths.forEach((p, i) => spawnSync('touch', ['-m', '-d', `@1700000000.12345678${i + 1}`, p]));
  const before = paths.map((p) => statSync(p, { bigint: true }).mtimeNs);
  assert.equal(before[0] % 1000n, 781n, 'the file system keeps nanoseconds');
  const r = sessctl(['convert', '--to', 'php_serialize', '--save-path', save, '--no-php']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /converted 3/);
  assert.deepEqual(paths.map((p) => statSync(p, { bigint: true }).mtimeNs), before);
});

test('EACCES on every file: a few lines, one hint to run as PHP\'s user, the rest counted', needPhp(), (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root to run sessctl as another user');
  const save = join(dir, 'eacces');
  spawnSync('mkdir', [save]);
  for (let n = 0; n < 8; n++) phpWriteSession(save, 'php', makeId('e', n));
  chmodSync(dir, 0o755);
  chmodSync(save, 0o755); // the directory can be listed, the 0600 root-owned files not read
  const asNobody = (args) => spawnSync(process.execPath, [BIN, ...args], { cwd: '/', uid: 65534, gid: 65534, encoding: 'utf8', env: { PATH: process.env.PATH } });
  if (asNobody(['--version']).status !== 0) return t.skip(`user nobody cannot run ${ROOT}'s sessctl (the checkout is not readable to others)`);
  const r = asNobody(['list', '--save-path', save, '--no-php']);
  assert.equal(r.status, 1, r.stderr);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.filter((l) => /EACCES/.test(l) && !/more permission errors/.test(l)).length, 3, r.stderr);
  assert.equal(lines.filter((l) => /hint: permission denied — run sessctl as the user PHP runs as/.test(l)).length, 1);
  assert.match(lines.at(-1), /… and 5 more permission errors \(EACCES\/EPERM\) not shown/);
  // Eight sessions it could not read are not "no sessions".
  assert.doesNotMatch(r.stderr, /no sessions in/);
  assert.match(r.stderr, /none of the sessions in .* could be read \(8 errors\)/);
});
