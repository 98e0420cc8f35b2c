import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { PhpArray } from 'sessctl';

test('the package entry point loads', () => {
  const a = new PhpArray();
  a.set('5', 'x');
  assert.deepEqual([...a.keys()], [5]);
});

test('sessctl --help lists the commands', () => {
  const r = spawnSync(process.execPath, ['bin/sessctl.js', '--help'], { encoding: 'utf8' });
  assert.equal(r.status, 0);
  for (const c of ['list', 'inspect', 'gc', 'destroy']) assert.match(r.stdout, new RegExp(c));
});
