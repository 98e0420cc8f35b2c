// First hour, point 1: mkdirs follows session.sid_bits_per_character from php.ini / php, so
// the tree it makes is the one PHP writes into; validate names the directories PHP lacks.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { needPhp, runPhp } from '../helpers/env.js';
import { sessctl, tempDir, removeDir } from '../helpers/cli.js';

const dir = tempDir('sidbits');
after(() => removeDir(dir));

// What Debian's php.ini says about ids, plus a depth-2 save path.
function debianIni(name) {
  const save = join(dir, name);
  mkdirSync(save);
  const ini = join(dir, `${name}.ini`);
  writeFileSync(ini, `[Session]\nsession.save_path = "2;${save}"\nsession.sid_length = 26\nsession.sid_bits_per_character = 5\nsession.use_strict_mode = 1\n`);
  return { save, ini };
}

// PHP with that php.ini starts `n` new sessions; returns how many it failed to write.
function phpWrites(ini, n) {
  const code = `$failed = 0; for ($i = 0; $i < ${n}; $i++) { session_id(''); @session_start(); $_SESSION['i'] = $i; if (!@session_write_close()) $failed++; } echo $failed;`;
  return Number(runPhp(['-c', ini, '-d', 'error_reporting=0', '-r', code]).toString());
}

test('config shows sid_length and sid_bits_per_character, from php.ini and from the php binary', needPhp(), () => {
  const { ini } = debianIni('config');
  const fromIni = sessctl(['config', '--php-ini', ini, '--no-php', '--json']);
  assert.equal(fromIni.code, 0, fromIni.stderr);
  const j = JSON.parse(fromIni.stdout);
  assert.equal(j.values.sidLength, 26);
  assert.equal(j.values.sidBitsPerCharacter, 5);
  assert.equal(j.sources.sidBitsPerCharacter.kind, 'php.ini');
  // PHPRC makes the php binary itself load that php.ini: asked, it says 5 too.
  const fromPhp = sessctl(['config', '--json'], { env: { PHPRC: ini, PHP_INI_SCAN_DIR: '' } });
  const p = JSON.parse(fromPhp.stdout);
  assert.equal(p.values.sidBitsPerCharacter, 5);
  assert.equal(p.sources.sidBitsPerCharacter.kind, 'php');
  const text = sessctl(['config', '--php-ini', ini, '--no-php']).stdout;
  assert.match(text, /session\.sid_length\s+26/);
  assert.match(text, /session\.sid_bits_per_character\s+5/);
  const bad = sessctl(['config', '--no-php'], { env: { SESSCTL_SID_BITS_PER_CHARACTER: '7' } });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /session\.sid_bits_per_character \(from env SESSCTL_SID_BITS_PER_CHARACTER\): 7 is invalid/);
});

test('mkdirs makes 32 directories a level for Debian\'s 5 bits, and PHP then writes every session', needPhp(), () => {
  const { save, ini } = debianIni('mkdirs');
  const r = sessctl(['mkdirs', '--php-ini', ini, '--no-php']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /32 per level \(session\.sid_bits_per_character 5, from php\.ini/);
  assert.equal(readdirSync(save).length, 32);
  assert.equal(phpWrites(ini, 50), 0);
  const v = sessctl(['validate', '--php-ini', ini, '--no-php', '--json']);
  assert.equal(v.code, 0, v.stdout);
  const report = JSON.parse(v.stdout);
  assert.equal(report.checked, 50);
  assert.equal(report.missingDirectories, 0);
});

test('validate reports a 16-a-level tree PHP (5 bits) cannot write into, and PHP indeed fails', needPhp(), () => {
  const { save, ini } = debianIni('short');
  assert.equal(sessctl(['mkdirs', '--php-ini', ini, '--no-php', '--bits', '4']).code, 0);
  const v = sessctl(['validate', '--php-ini', ini, '--no-php']);
  assert.equal(v.code, 1);
  assert.match(v.stdout, /784 directories PHP needs for ids of sid_bits_per_character 5 are missing/);
  assert.ok(v.stdout.includes(join(save, '0', 'g')), v.stdout);
  const json = JSON.parse(sessctl(['validate', '--php-ini', ini, '--no-php', '--json']).stdout);
  assert.equal(json.missingDirectories, (32 - 16) + (32 * 32 - 16 * 16)); // level 1 g..v, and level 2 under all 32
  assert.ok(phpWrites(ini, 50) > 0, 'PHP fails to write some of 50 sessions into the 4-bit tree');
});

test('validate says what stands where a tree directory should be: a symlink (never followed) or a file, to be removed', () => {
  const save = tempDir('not-dirs');
  try {
    assert.equal(sessctl(['mkdirs', '--save-path', `1;${save}`, '--no-php', '--bits', '4']).code, 0);
    const elsewhere = tempDir('not-dirs-target');
    rmSync(join(save, '3'), { recursive: true });
    symlinkSync(elsewhere, join(save, '3'));
    rmSync(join(save, '7'), { recursive: true });
    writeFileSync(join(save, '7'), '');
    const v = sessctl(['validate', '--save-path', `1;${save}`, '--no-php', '--serialize-handler', 'php']);
    assert.equal(v.code, 1, v.stderr);
    assert.match(v.stdout, /2 directories PHP needs .* are missing/);
    assert.ok(v.stdout.includes(`${join(save, '3')} — a symlink (never followed): remove it, then run sessctl mkdirs`), v.stdout);
    assert.ok(v.stdout.includes(`${join(save, '7')} — a file: remove it, then run sessctl mkdirs`), v.stdout);
    const json = JSON.parse(sessctl(['validate', '--save-path', `1;${save}`, '--no-php', '--serialize-handler', 'php', '--json']).stdout);
    assert.deepEqual(json.notDirectories, [
      { path: join(save, '3'), is: 'symlink' },
      { path: join(save, '7'), is: 'file' },
    ]);
    removeDir(elsewhere);
  } finally {
    removeDir(save);
  }
});
