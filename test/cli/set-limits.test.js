// set refuses a change PHP could not read back (PHP would destroy the session): a path nested
// past PHP's unserialize_max_depth (4096). Nothing is written.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sessctl, tempDir, removeDir } from '../helpers/cli.js';

const dir = tempDir('set-limits');
after(() => removeDir(dir));
const ID = 'setlimits000000000000000000';
const file = join(dir, `sess_${ID}`);

test('a path nested deeper than PHP reads is refused, exit 2, the session left as it was', () => {
  writeFileSync(file, 'a|i:1;');
  const deep = Array.from({ length: 5000 }, () => 'x').join('.');
  const r = sessctl(['set', ID, deep, '1', '--save-path', dir, '--no-php']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /PHP cannot read .*maxDepth \(4096\).*nothing written/);
  assert.equal(readFileSync(file, 'latin1'), 'a|i:1;');
  // within the limit it is written
  const ok = sessctl(['set', ID, Array.from({ length: 100 }, () => 'b').join('.'), '1', '--save-path', dir, '--no-php']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.notEqual(readFileSync(file, 'latin1'), 'a|i:1;');
});
