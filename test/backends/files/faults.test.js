// Writes that fail half-way and runs that were killed half-way: what is left must be a session
// PHP reads (the old one, or an empty one), with its lifetime as it was, and a run again must
// finish what an interrupted one began. The file size limit (`ulimit -f`, EFBIG) stands in for
// a full disk: it needs no mount, and fails a write at a byte offset we choose.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { createSessionDirs, parseSavePath } from 'sessctl/files';
import { decodeSession } from 'sessctl';
import { BIN } from '../../helpers/cli.js';
import { freshDirs } from '../../helpers/fresh-dirs.js';

const fresh = freshDirs('sessctl-faults-');
const ID = 'abcdefghijklmnopqrstuvwxyz0123';

/**
 * Runs node with `args` under a file size limit of 4 KiB (POSIX sh counts `ulimit -f` in
 * 512-byte blocks): a write past 4,096 bytes fails with EFBIG (Node ignores SIGXFSZ).
 * @param {string[]} args
 */
function underSizeLimit(args) {
  return spawnSync('sh', ['-c', 'ulimit -f 8 && exec "$0" "$@"', process.execPath, ...args], { encoding: 'utf8' });
}

test('a write that fails and whose restore fails too leaves an empty session, not the first 4 KiB of the old one', () => {
  const dir = fresh();
  const file = path.join(dir, `sess_${ID}`);
  // 6,000 bytes already there (written without the limit): the restore of those fails at 4,096 too.
  fs.writeFileSync(file, `v|s:5988:"${'o'.repeat(5988)}";`);
  const writer = `
    const { FileSessionStore } = await import(process.argv[1]);
    const store = new FileSessionStore({ savePath: process.argv[2] });
    try {
      await store.update(process.argv[3], (d) => void d.set('v', 'n'.repeat(7000)));
      console.log(JSON.stringify({ ok: true }));
    } catch (e) {
      console.log(JSON.stringify({ code: e.code, message: e.message }));
    }`;
  const r = underSizeLimit(['--input-type=module', '-e', writer, import.meta.resolve('sessctl/files'), dir, ID]);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.code, 'EWRITE', r.stdout);
  assert.match(out.message, /EFBIG/);
  assert.match(out.message, /could NOT be put back; the session is now empty/);
  const bytes = fs.readFileSync(file);
  assert.equal(bytes.length, 0, `left ${bytes.length} bytes`);
  assert.equal(decodeSession(bytes, 'php').size, 0);
});

test('sessctl set whose write fails (file size limit) puts the session back with its mtime: an expired session stays expired', () => {
  const dir = fresh();
  const file = path.join(dir, `sess_${ID}`);
  fs.writeFileSync(file, 'cart|s:3:"abc";');
  const old = new Date('2020-01-02T03:04:05.678Z');
  fs.utimesSync(file, old, old);
  const before = fs.statSync(file, { bigint: true });
  const r = underSizeLimit([BIN, 'set', ID, 'cart', JSON.stringify('x'.repeat(9000)), '--save-path', dir, '--no-php']);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /write failed \(EFBIG\): the previous session was put back unchanged/);
  assert.equal(fs.readFileSync(file, 'utf8'), 'cart|s:3:"abc";');
  assert.equal(fs.statSync(file, { bigint: true }).mtimeNs, before.mtimeNs);
});

test('mkdirs finishes a directory an interrupted run left private (between its mkdir and its chmod); a private one with content is left alone', async () => {
  const dir = fresh();
  fs.chmodSync(dir, 0o1733); // Debian's session directory mode
  // What a run killed right after mkdir(…, 0700) leaves: an empty directory, ours, still 0700.
  fs.mkdirSync(path.join(dir, 'a'), { mode: 0o700 });
  fs.mkdirSync(path.join(dir, 'b'), { mode: 0o700 });
  fs.writeFileSync(path.join(dir, 'b', 'keep'), 'not made by mkdirs');
  const r = await createSessionDirs(parseSavePath(`2;${dir}`), { bitsPerCharacter: 4 });
  const mode = (/** @type {string} */ p) => fs.statSync(path.join(dir, p)).mode & 0o7777;
  assert.equal(mode('a'), 0o1733, 'the half-made directory gets the save path mode');
  assert.equal(mode('a/0'), 0o1733, 'and its subdirectories are made');
  assert.equal(mode('b'), 0o700, 'a directory with content is not ours to change');
  assert.equal(mode('c'), 0o1733);
  assert.deepEqual(r, { created: 15 + 16 * 16, existing: 1 }, 'a, finished, counts as created; b already existed');
  const again = await createSessionDirs(parseSavePath(`2;${dir}`), { bitsPerCharacter: 4 });
  assert.deepEqual(again, { created: 0, existing: 16 + 16 * 16 });
});
