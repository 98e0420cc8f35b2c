// --quiet on every command that changes or counts, `actedAs` in their JSON reports, and what
// `list` says when nothing matches its filters.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { sessctl, tempDir, removeDir } from '../helpers/cli.js';

const dir = tempDir('quiet');
after(() => removeDir(dir));
const ID = 'quiet0000000000000000000000';
writeFileSync(join(dir, `sess_${ID}`), 'a|i:1;');
const cli = (...args) => sessctl([...args, '--save-path', dir, '--no-php']);

test('--quiet: stats, set, unset and mkdirs print nothing on success, and still do their work', () => {
  const metrics = join(dir, 'stats.prom');
  for (const r of [
    cli('stats', '--quiet', '--metrics-file', metrics),
    cli('set', ID, 'b', '2', '--quiet'),
    cli('unset', ID, 'a', '-q'),
    sessctl(['mkdirs', '--save-path', `1;${dir}`, '--no-php', '--quiet']),
  ]) {
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
  }
  assert.match(readFileSync(metrics, 'utf8'), /^sessctl_sessions\{source=".*"\} 1$/m);
  assert.equal(readFileSync(join(dir, `sess_${ID}`), 'latin1'), 'b|i:2;');
  assert.ok(existsSync(join(dir, 'f')));
  // errors are still printed
  const bad = cli('set', 'nosuch00000000000000000000', 'a', '1', '--quiet');
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /no such session/);
});

test('JSON reports say who the command acted as: set, unset, destroy --ndjson (its last line), migrate', () => {
  const set = JSON.parse(cli('set', ID, 'c', '3', '--json').stdout);
  assert.equal(set.outcome, 'changed');
  assert.equal(typeof set.actedAs, 'object');
  assert.equal(typeof set.actedAs.switched, 'boolean');
  assert.ok('actedAs' in JSON.parse(cli('unset', ID, 'c', '--json').stdout));
  const lines = cli('destroy', ID, '--ndjson').stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines[0].outcome, 'destroyed');
  assert.equal(typeof lines.at(-1).report.actedAs.switched, 'boolean');
  const target = tempDir('quiet-to');
  try {
    writeFileSync(join(dir, `sess_${ID}`), 'a|i:1;');
    const r = cli('migrate', '--to-save-handler', 'files', '--to-save-path', target, '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(typeof JSON.parse(r.stdout).actedAs.switched, 'boolean');
  } finally {
    removeDir(target);
  }
});

test('list: "no sessions match" when filters select none, "no sessions in" when there are none', () => {
  writeFileSync(join(dir, `sess_${ID}`), 'a|i:1;');
  const none = cli('list', '--where', 'zz == 1');
  assert.equal(none.code, 0);
  assert.match(none.stderr, /no sessions match in /);
  assert.match(cli('list', '--older-than', '30d').stderr, /no sessions match in /);
  const empty = tempDir('quiet-empty');
  try {
    assert.match(sessctl(['list', '--save-path', empty, '--no-php']).stderr, /no sessions in /);
  } finally {
    removeDir(empty);
  }
});
