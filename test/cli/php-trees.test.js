// list / inspect / stats / validate against trees that real PHP wrote: depth 0, 1 and 2,
// all three serialize handlers.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { needPhp } from '../helpers/env.js';
import { sessctl, tempDir, removeDir, phpWriteSession, makeDirsFor, makeId } from '../helpers/cli.js';

const HANDLERS = ['php', 'php_serialize', 'php_binary'];
const ESC = /\x1b\[/;

for (const depth of [0, 1, 2]) {
  describe(`a PHP-written tree at depth ${depth}`, needPhp(), () => {
    const dir = tempDir(`trees${depth}`);
    after(() => removeDir(dir));
    const savePath = depth ? `${depth};${dir}` : dir;
    const ids = {};
    for (const h of HANDLERS) ids[h] = makeId(h.replace(/_/g, ''), depth);
    // The whole tree PHP needs (validate reports a partial one), as an operator makes it.
    if (depth) assert.equal(sessctl(['mkdirs', '--save-path', savePath, '--bits', '4', '--no-php']).code, 0);
    makeDirsFor(dir, depth, Object.values(ids));
    for (const h of HANDLERS) phpWriteSession(savePath, h, ids[h]);

    test('list --json finds every session, with the handler detected (auto) and its keys', () => {
      const r = sessctl(['list', '--save-path', savePath, '--serialize-handler', 'auto', '--no-php', '--json', '--sort', 'id']);
      assert.equal(r.code, 0, r.stderr);
      const rows = JSON.parse(r.stdout);
      assert.equal(rows.length, 3);
      for (const h of HANDLERS) {
        const row = rows.find((x) => x.id === ids[h]);
        assert.ok(row, `row for ${h}`);
        assert.equal(row.handler, h);
        assert.equal(row.keys, 7);
        assert.ok(row.size > 50);
        assert.ok(row.ageSeconds >= 0 && row.expiresInSeconds <= 1440);
        assert.ok(row.location.endsWith(join(dir, ...ids[h].slice(0, depth).split(''), `sess_${ids[h]}`)), row.location);
      }
      assert.deepEqual(rows.map((x) => x.id), [...Object.values(ids)].sort());
    });

    test('list --ndjson streams one object a line; the table has no escapes when not a TTY', () => {
      const r = sessctl(['list', '--save-path', savePath, '--serialize-handler', 'auto', '--no-php', '--ndjson']);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trim().split('\n');
      assert.equal(lines.length, 3);
      for (const l of lines) assert.equal(typeof JSON.parse(l).id, 'string');
      const t = sessctl(['list', '--save-path', savePath, '--serialize-handler', 'auto', '--no-php']);
      assert.equal(t.code, 0);
      assert.doesNotMatch(t.stdout, ESC);
      assert.match(t.stdout, /^ID\s+SIZE\s+MODIFIED\s+AGE\s+EXPIRES IN\s+HANDLER\s+KEYS/);
      assert.equal(t.stdout.trim().split('\n').length, 4);
    });

    for (const h of HANDLERS) {
      test(`inspect shows the ${h} session as a tree, and --json as the plain view`, () => {
        const args = ['inspect', ids[h], '--save-path', savePath, '--serialize-handler', h, '--no-php'];
        const r = sessctl(args);
        assert.equal(r.code, 0, r.stderr);
        assert.doesNotMatch(r.stdout, ESC);
        assert.match(r.stdout, /user: string\(5\) "alice"/);
        assert.match(r.stdout, /obj: object\(Foo\)#1 \(4\)/);
        assert.match(r.stdout, /protected b: string\(1\) "x"/);
        assert.match(r.stdout, /private\(Foo\) c: array\(1\)/);
        assert.match(r.stdout, /self: \*RECURSION\*/);
        assert.match(r.stdout, /r1: &1 string\(6\) "shared"/);
        assert.match(r.stdout, /r2: &1 → the same reference/);
        assert.match(r.stdout, /bin: binary\(2\) "\\x00\\xff"/);
        const j = sessctl([...args, '--json']);
        assert.equal(j.code, 0, j.stderr);
        const plain = JSON.parse(j.stdout);
        assert.equal(plain.user, 'alice');
        assert.equal(plain.n, 42);
        assert.deepEqual(plain.list, [1, 'two', null, true, 1.5]);
        assert.equal(plain.r1, 'shared');
      });
    }

    test('the wrong handler makes inspect fail with the offset (exit 1); validate lists those PHP would destroy', () => {
      const r = sessctl(['inspect', ids.php_serialize, '--save-path', savePath, '--serialize-handler', 'php', '--no-php']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^sessctl: .*sess_.*byte offset \d+/);
      // Not corrupt: written with another handler, which inspect names (no hexdump of a "fault").
      assert.match(r.stderr, /it is not corrupt: it decodes with php_serialize, not the configured php/);
      const v = sessctl(['validate', '--save-path', savePath, '--serialize-handler', 'php', '--no-php', '--json']);
      assert.equal(v.code, 1);
      const report = JSON.parse(v.stdout);
      assert.equal(report.checked, 3);
      // php_serialize's "a:7:{…" is not php format; php_binary's length byte is neither.
      assert.deepEqual(report.problems.map((p) => p.id).sort(), [ids.php_binary, ids.php_serialize].sort());
      for (const p of report.problems) assert.equal(typeof p.offset, 'number');
      const ok = sessctl(['validate', '--save-path', savePath, '--serialize-handler', 'auto', '--no-php']);
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
      assert.match(ok.stdout, /checked 3, 0 PHP would fail/);
    });

    test('stats counts sessions per handler and draws histograms', () => {
      const r = sessctl(['stats', '--save-path', savePath, '--serialize-handler', 'auto', '--no-php', '--json']);
      assert.equal(r.code, 0, r.stderr);
      const s = JSON.parse(r.stdout);
      assert.equal(s.count, 3);
      assert.deepEqual(s.handlers, { php: 1, php_serialize: 1, php_binary: 1 });
      assert.equal(s.corrupt, 0);
      assert.equal(s.age.reduce((a, b) => a + b.count, 0), 3);
      const t = sessctl(['stats', '--save-path', savePath, '--serialize-handler', 'php', '--no-php']);
      assert.equal(t.code, 0);
      assert.match(t.stdout, /corrupt\s+0/);
      assert.match(t.stdout, /other handler\s+2/, 'php_serialize and php_binary sessions are not corrupt, only not php');
      assert.match(t.stdout, /█/);
      assert.doesNotMatch(t.stdout, ESC);
    });
  });
}

test('FORCE_COLOR colours the tree; NO_COLOR wins over it', needPhp(), () => {
  const dir = tempDir('color');
  try {
    const id = makeId('color');
    phpWriteSession(dir, 'php', id);
    const base = ['inspect', id, '--save-path', dir, '--no-php'];
    const colored = sessctl(base, { env: { FORCE_COLOR: '1' } });
    assert.equal(colored.code, 0, colored.stderr);
    assert.match(colored.stdout, ESC);
    assert.doesNotMatch(sessctl(base, { env: { FORCE_COLOR: '1', NO_COLOR: '1' } }).stdout, ESC);
  } finally {
    removeDir(dir);
  }
});
