// A missing save path, or one that is a file, is one message and exit 2 for every command.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sessctl, tempDir, removeDir } from '../helpers/cli.js';

const dir = tempDir('checkpath');
after(() => removeDir(dir));
const file = join(dir, 'a-file');
writeFileSync(file, '');
const id = 'abcdefghijklmnopqrstuvwxyz';
const COMMANDS = [['list'], ['list', '--no-decode'], ['stats'], ['gc'], ['gc', '--dry-run'], ['validate'], ['convert', '--to', 'php_serialize'], ['inspect', id], ['destroy', id], ['destroy', '--older-than', '1h', '--all-matching'], ['set', id, 'a', '1'], ['unset', id, 'a']];

for (const [savePath, message] of /** @type {[string, RegExp][]} */ ([
  [join(dir, 'missing'), /: the save path does not exist$/],
  [file, /: the save path is not a directory \(ENOTDIR\)$/],
])) {
  test(`${message.source}: every command says so once and exits 2`, () => {
    for (const args of COMMANDS) {
      const r = sessctl([...args, '--save-path', savePath, '--no-php']);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stdout, '', args.join(' '));
      const lines = r.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.match(lines[0], message);
      assert.ok(lines[0].startsWith(`sessctl: ${savePath}`), lines[0]);
    }
  });
}

test('mkdirs: a missing save path, or a file, is exit 2 with the same message (it was exit 1, "save path is not usable")', () => {
  for (const [savePath, message] of /** @type {[string, RegExp][]} */ ([
    [join(dir, 'missing'), /: the save path does not exist \(mkdirs makes the levels below it: create it first/],
    [file, /: the save path is not a directory \(ENOTDIR\)$/],
  ])) {
    const r = sessctl(['mkdirs', '--save-path', `2;${savePath}`, '--no-php', '--bits', '4']);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
    assert.match(r.stderr.trimEnd(), message);
  }
});

test('an unreachable Redis server is the same kind of error (exit 2, one line)', () => {
  const r = sessctl(['list', '--save-handler', 'redis', '--save-path', 'tcp://127.0.0.1:1', '--no-php']);
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stderr.trimEnd().split('\n').length, 1);
  assert.match(r.stderr, /ECONNREFUSED/);
});
