// First hour, point 3: sessions written with another serialize handler than the configured
// one are told apart from corrupt ones, by list, stats, inspect and validate.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { needPhp } from '../helpers/env.js';
import { sessctl, tempDir, removeDir, phpWriteSession, makeId, writeRaw } from '../helpers/cli.js';

const dir = tempDir('mixed');
after(() => removeDir(dir));
const common = ['--save-path', dir, '--no-php'];

test('php_serialize sessions under the php handler: "written with php_serialize", not "corrupt"', needPhp(), () => {
  const phpIds = [1, 2].map((n) => makeId('p', n));
  const serIds = [1, 2, 3].map((n) => makeId('s', n));
  for (const id of phpIds) phpWriteSession(dir, 'php', id);
  for (const id of serIds) phpWriteSession(dir, 'php_serialize', id);
  const corruptId = makeId('c', 1);
  // Truncated php-handler data: no handler decodes it; its real fault is at byte 22.
  writeRaw(join(dir, `sess_${corruptId}`), 'user|s:5:"alice";n|i:4');

  const rows = sessctl(['list', '--ndjson', ...common]).stdout.trim().split('\n').map((l) => JSON.parse(l));
  const byId = new Map(rows.map((r) => [r.id, r]));
  for (const id of serIds) {
    assert.equal(byId.get(id).decodesWith, 'php_serialize');
    assert.equal(byId.get(id).handler, 'php');
  }
  assert.equal(byId.get(corruptId).decodesWith, undefined);
  assert.ok(byId.get(corruptId).error);
  const table = sessctl(['list', ...common]);
  assert.equal((table.stdout.match(/php_serialize!/g) ?? []).length, 3);
  assert.equal((table.stdout.match(/ corrupt\n/g) ?? []).length, 1, 'only the truly corrupt one');
  assert.match(table.stderr, /3 sessions \(handler php_serialize!\) are not corrupt but written with php_serialize, not the configured php/);

  const stats = JSON.parse(sessctl(['stats', '--json', ...common]).stdout);
  assert.equal(stats.corrupt, 1);
  assert.equal(stats.otherHandler, 3);
  assert.equal(stats.configuredHandler, 'php');
  assert.equal(stats.handlers.php_serialize, 3);
  const statsText = sessctl(['stats', ...common]).stdout;
  assert.match(statsText, /corrupt\s+1/);
  assert.match(statsText, /other handler\s+3/);
  assert.match(statsText, /stored as\s+/);

  const ins = sessctl(['inspect', serIds[0], ...common]);
  assert.equal(ins.code, 1);
  assert.match(ins.stderr, /it is not corrupt: it decodes with php_serialize, not the configured php/);
  assert.equal(sessctl(['inspect', serIds[0], ...common, '--serialize-handler', 'auto']).code, 0);

  // auto: a truly corrupt session gets the offset of its real error, not "offset 0".
  const bad = sessctl(['inspect', corruptId, ...common, '--serialize-handler', 'auto']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /at byte offset 22 \(handler php\)/);
  assert.doesNotMatch(bad.stderr, /not corrupt/);

  const v = sessctl(['validate', ...common]);
  assert.equal(v.code, 1);
  assert.equal((v.stdout.match(/not corrupt: it decodes with php_serialize/g) ?? []).length, 3);
  const vj = JSON.parse(sessctl(['validate', '--json', ...common]).stdout);
  assert.equal(vj.problems.filter((p) => p.decodesWith === 'php_serialize').length, 3);
});

test('list --no-decode leaves the handler column empty', needPhp(), () => {
  const rows = JSON.parse(sessctl(['list', '--no-decode', '--json', ...common]).stdout);
  assert.ok(rows.length > 0);
  for (const r of rows) assert.equal(r.handler, null);
});
