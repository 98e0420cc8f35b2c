// sessctl gc against PHP-written sessions: expiry, a session held open by a running PHP
// process, symlinks, depth 2, --dry-run, --json, --quiet, exit codes.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, symlinkSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { needPhp } from '../helpers/env.js';
import { sessctl, tempDir, removeDir, phpWriteSession, phpHoldSession, makeDirsFor, ageFile, makeId } from '../helpers/cli.js';

const ESC = /\x1b\[/;

describe('gc at depth 2 with a session held by PHP', needPhp(), () => {
  const dir = tempDir('gc');
  const outside = tempDir('gc-outside');
  const holders = [];
  after(() => {
    for (const h of holders) h.kill('SIGKILL');
    removeDir(dir);
    removeDir(outside);
  });
  const savePath = `2;${dir}`;
  const old = [makeId('old', 1), makeId('old', 2), makeId('old', 3)];
  const fresh = [makeId('new', 1), makeId('new', 2)];
  const held = makeId('held', 1);
  makeDirsFor(dir, 2, [...old, ...fresh, held]);
  const paths = {};
  for (const id of [...old, ...fresh, held]) paths[id] = phpWriteSession(savePath, 'php', id);
  for (const id of [...old, held]) ageFile(paths[id], 3600);
  // A symlink named like an expired session, pointing at a file outside: never followed.
  const victim = join(outside, 'precious');
  writeFileSync(victim, 'keep me');
  ageFile(victim, 7200);
  const link = join(dir, 'l', 'n', 'sess_lnk0001abcdefghijklmnopq');
  makeDirsFor(dir, 2, ['lnk0001abcdefghijklmnopq']);
  symlinkSync(victim, link);
  const common = ['--save-path', savePath, '--no-php', '--maxlifetime', '1440'];

  test('--dry-run lists the expired files and deletes nothing', async () => {
    const r = sessctl(['gc', ...common, '--dry-run']);
    assert.equal(r.code, 0, r.stderr);
    for (const id of [...old, held]) assert.match(r.stdout, new RegExp(`sess_${id}`));
    for (const id of fresh) assert.doesNotMatch(r.stdout, new RegExp(id));
    assert.match(r.stdout, /would delete 4/);
    for (const id of [...old, ...fresh, held]) assert.ok(existsSync(paths[id]));
  });

  test('deletes expired sessions, skips and counts the one PHP holds, keeps fresh ones and symlinks', async () => {
    holders.push(await phpHoldSession(savePath, held, 20));
    const r = sessctl(['gc', ...common, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(report.scanned, 6, 'the symlink is not a session file');
    assert.equal(report.expired, 4);
    assert.equal(report.deleted, 3);
    assert.equal(report.skippedLocked, 1);
    assert.equal(report.errors, 0);
    assert.ok(report.bytesFreed > 0);
    assert.equal(report.dryRun, false);
    for (const k of ['skippedTouched', 'vanished', 'durationMs', 'maxlifetime', 'savePath']) assert.ok(k in report, k);
    for (const id of old) assert.ok(!existsSync(paths[id]), `${id} deleted`);
    for (const id of fresh) assert.ok(existsSync(paths[id]), `${id} kept`);
    assert.ok(existsSync(paths[held]), 'held session kept');
    assert.ok(existsSync(link), 'symlink left alone');
    assert.equal(readFileSync(victim, 'utf8'), 'keep me');
    // PHP lets go of its lock when it has exited: wait for that, not for a while.
    const holder = holders.pop();
    const exited = holder.exitCode !== null || holder.signalCode !== null ? Promise.resolve() : new Promise((r) => holder.once('exit', r));
    holder.kill('SIGKILL');
    await exited;
  });

  test('once PHP has let go, the next run deletes it; the summary is one line without escapes', async () => {
    ageFile(paths[held], 3600);
    const r = sessctl(['gc', ...common]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 1);
    assert.match(lines[0], /scanned 3, deleted 1 \(.* freed\), skipped 0 locked, 0 touched, 0 errors, [\d.]+ s/);
    assert.doesNotMatch(r.stdout + r.stderr, ESC);
    assert.ok(!existsSync(paths[held]));
  });

  test('--quiet prints nothing when all is well', () => {
    const r = sessctl(['gc', ...common, '--quiet']);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, '');
    for (const id of fresh) assert.ok(existsSync(paths[id]));
  });
});

test('gc on a save path that is a file: one line, exit 2 (a configuration error)', needPhp(), () => {
  if (process.getuid?.() === 0) {
    // root reads everything: use a save path that is a file instead.
    const dir = tempDir('gc-err');
    try {
      writeFileSync(join(dir, 'f'), '');
      const r = sessctl(['gc', '--save-path', `1;${join(dir, 'f')}`, '--no-php']);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /the save path is not a directory \(ENOTDIR\)/);
      assert.match(r.stderr, /^sessctl: .*f/m);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    } finally {
      removeDir(dir);
    }
  }
});

test('usage errors exit 2 with one line on stderr', () => {
  for (const args of [['gc', '--maxlifetime', 'soon', '--save-path', '/tmp', '--no-php'], ['gc', '--jobs', '0', '--save-path', '/tmp', '--no-php'], ['gc', '--bogus'], ['nope']]) {
    const r = sessctl(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^sessctl: /);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});

test('gc refuses maxlifetime 0 (it would delete every session not in use), from the flag, the environment or php.ini', () => {
  const dir = tempDir('gc-zero');
  try {
    const file = join(dir, 'sess_zero00000000000000000000');
    writeFileSync(file, 'a|i:1;');
    ageFile(file, 3600);
    const ini = join(dir, 'php.ini');
    writeFileSync(ini, `session.save_path = "${dir}"\nsession.gc_maxlifetime = 0\n`);
    for (const r of [
      sessctl(['gc', '--save-path', dir, '--maxlifetime', '0', '--no-php']),
      sessctl(['gc', '--save-path', dir, '--no-php'], { env: { SESSCTL_MAXLIFETIME: '0' } }),
      sessctl(['gc', '--php-ini', ini]),
      sessctl(['gc', '--save-path', dir, '--maxlifetime', '0', '--dry-run', '--no-php']),
    ]) {
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stderr, /maxlifetime 0 is not in 1\.\.2147483647/);
    }
    assert.ok(existsSync(file));
  } finally {
    removeDir(dir);
  }
});
