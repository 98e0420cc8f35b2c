// The admin library called from Node: durations, ini parsing, settings order, gc's
// strictly-greater rule and re-check under the lock, the file source.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, chmodSync, existsSync, utimesSync, symlinkSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDuration, parseDurationMs, formatDuration, parseIni, resolveSettings, listSessions, destroySessions } from 'sessctl/admin';
import { gcFiles, FileAdminSource } from 'sessctl/files';
import { ConfigError } from 'sessctl';

const tmp = (tag) => mkdtempSync(join(tmpdir(), `sessctl-admin-${tag}-`));

test('parseDuration: units, combinations, bare seconds; bad input is a ConfigError', () => {
  assert.equal(parseDuration('90s'), 90);
  assert.equal(parseDuration('24m'), 1440);
  assert.equal(parseDuration('2h'), 7200);
  assert.equal(parseDuration('7d'), 604800);
  assert.equal(parseDuration('1h30m'), 5400);
  assert.equal(parseDuration('1440'), 1440);
  for (const bad of ['', 'soon', '5x', '-1s', '1h 2m', '1.5']) assert.throws(() => parseDuration(bad), ConfigError, bad);
  assert.equal(parseDurationMs('250ms'), 250);
  assert.equal(parseDurationMs('1s500ms'), 1500);
  assert.equal(parseDurationMs('10s'), 10000);
  assert.equal(parseDurationMs('2m'), 120000);
  assert.equal(parseDurationMs('3'), 3000, 'bare numbers are seconds, as everywhere');
  for (const bad of ['', '5x', '-1ms', '1 ms', 'ms', '1.5']) assert.throws(() => parseDurationMs(bad, '--lock-timeout'), (/** @type {any} */ e) => e instanceof ConfigError && e.message.startsWith('--lock-timeout'), bad);
  assert.equal(formatDuration(3661), '1h 1m');
  assert.equal(formatDuration(-90), '-1m 30s');
});

test('parseIni: quotes, comments, sections, bare constants, ${ENV}; conditional sections skipped', () => {
  const ini = parseIni(
    [
      '; comment',
      '[Session]',
      'session.save_path = "2;/var/lib/php;sessions" ; trailing comment',
      "a = 'raw ${HOME} ; not a comment'",
      'b = On',
      'c = off',
      'd = ${SESS_TEST_DIR}/x',
      'e = "q\\"uote"',
      '[HOST=example.com]',
      'session.save_path = /nope',
    ].join('\n'),
    'test.ini',
    { SESS_TEST_DIR: '/env' },
  );
  assert.equal(ini.get('session.save_path').value, '2;/var/lib/php;sessions');
  assert.equal(ini.get('session.save_path').line, 3);
  assert.equal(ini.get('a').value, 'raw ${HOME} ; not a comment');
  assert.equal(ini.get('b').value, '1');
  assert.equal(ini.get('c').value, '');
  assert.equal(ini.get('d').value, '/env/x');
  assert.equal(ini.get('e').value, 'q"uote');
  assert.throws(() => parseIni('x = "open', 'bad.ini'), /bad\.ini:1: unterminated/);
});

test('resolveSettings: the php binary fills only what flags, env and php.ini left open', async () => {
  const dir = tmp('settings');
  try {
    const fakePhp = join(dir, 'php');
    writeFileSync(fakePhp, `#!/bin/sh\necho '{"session.save_path":{"local_value":"1;/from/php"},"session.gc_maxlifetime":{"local_value":"60"},"session.serialize_handler":{"local_value":"php_serialize"},"session.sid_bits_per_character":{"local_value":"5"}}'\n`);
    chmodSync(fakePhp, 0o755);
    const ini = join(dir, 'php.ini');
    writeFileSync(ini, 'session.serialize_handler = php_binary\n');
    const r = await resolveSettings({ flags: {}, phpIni: ini, php: fakePhp, env: { SESSCTL_MAXLIFETIME: '2h' } });
    assert.deepEqual(r.values, { saveHandler: 'files', savePath: '1;/from/php', serializeHandler: 'php_binary', maxlifetime: 7200, gcProbability: 1, gcDivisor: 100, sidLength: 32, sidBitsPerCharacter: 5 });
    assert.deepEqual([r.sources.savePath.kind, r.sources.serializeHandler.kind, r.sources.maxlifetime.kind, r.sources.saveHandler.kind], ['php', 'php.ini', 'env', 'default']);
    const none = await resolveSettings({ php: join(dir, 'no-such-php'), env: {} });
    assert.deepEqual(none.values, { saveHandler: 'files', savePath: '/tmp', serializeHandler: 'php', maxlifetime: 1440, gcProbability: 1, gcDivisor: 100, sidLength: 32, sidBitsPerCharacter: 4 });
    assert.equal((await resolveSettings({ php: false, env: { TMPDIR: '/var/tmp/' } })).values.savePath, '/var/tmp');
    await assert.rejects(resolveSettings({ flags: { maxlifetime: 'later' }, php: false, env: {} }), ConfigError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('gc: now - mtime > maxlifetime, strictly; symlinks untouched; report counts', async () => {
  const dir = tmp('gc');
  try {
    const T = 2_000_000_000;
    const files = { exact: T - 1440, older: T - 1441, young: T - 10 };
    for (const [name, t] of Object.entries(files)) {
      writeFileSync(join(dir, `sess_${name}`), 'a|i:1;');
      utimesSync(join(dir, `sess_${name}`), t, t);
    }
    writeFileSync(join(dir, 'target'), 'x');
    utimesSync(join(dir, 'target'), T - 9999, T - 9999);
    symlinkSync(join(dir, 'target'), join(dir, 'sess_link'));
    writeFileSync(join(dir, 'other'), 'x');
    utimesSync(join(dir, 'other'), T - 9999, T - 9999);
    for (const jobs of [1, 2]) {
      const r = await gcFiles(dir, { maxlifetime: 1440, now: T, jobs, dryRun: jobs === 1 });
      assert.equal(r.scanned, 3);
      assert.equal(r.expired, 1);
      assert.equal(r.deleted, 1);
    }
    assert.ok(existsSync(join(dir, 'sess_exact')));
    assert.ok(!existsSync(join(dir, 'sess_older')));
    assert.ok(existsSync(join(dir, 'sess_young')));
    assert.ok(existsSync(join(dir, 'sess_link')) && existsSync(join(dir, 'target')) && existsSync(join(dir, 'other')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('FileAdminSource: list streams entries, destroy re-checks the age under the lock', async () => {
  const dir = tmp('source');
  try {
    const src = new FileAdminSource(dir);
    const old = 'oldoldoldoldoldoldold01';
    writeFileSync(join(dir, `sess_${old}`), 'x|s:1:"y";');
    utimesSync(join(dir, `sess_${old}`), 1000, 1000);
    writeFileSync(join(dir, 'sess_bad.id'), 'x');
    /** @type {import('sessctl/admin').AdminSettings} */
    const settings = { saveHandler: 'files', savePath: dir, serializeHandler: 'php', maxlifetime: 1440 };
    const rows = [];
    for await (const r of listSessions(src, settings, {})) rows.push(r);
    assert.deepEqual(rows.map((r) => [r.id, r.keys, r.handler]), [[old, 1, 'php']]);
    // Bulk destroy: matched at scan time, but touched before the lock → kept.
    const report = await destroySessions(src, {
      olderThan: 3600,
      allMatching: true,
      onResult: () => {},
      now: Math.floor(Date.now() / 1000),
    });
    assert.equal(report.destroyed, 1);
    assert.ok(!existsSync(join(dir, `sess_${old}`)));
    await assert.rejects(destroySessions(src, { olderThan: 3600 }), /--all-matching/);
    assert.equal(readFileSync(join(dir, 'sess_bad.id'), 'utf8'), 'x');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
