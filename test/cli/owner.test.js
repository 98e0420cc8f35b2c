// As root, the CLI becomes the files save path's owner before touching the tree (as systemd's
// User=www-data would), says so in --json, and stays root only when asked (--as-root) or when
// root owns the save path.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { sessctl, tempDir, removeDir } from '../helpers/cli.js';
import { STRICT } from '../helpers/env.js';

const isRoot = process.getuid?.() === 0;
const rootOnly = isRoot ? {} : STRICT ? {} : { skip: '!!! needs root: SKIPPED (CI runs as root)' };
const tmp = tempDir('owner');
fs.chmodSync(tmp, 0o755);
after(() => removeDir(tmp));
const OWNER = 4242;
const ID = 'ownertest0000000000000000000001';
const env = { SESSCTL_PHP_BINARY: '/nonexistent' };

function ownedTree(name) {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir, { mode: 0o730 });
  fs.chownSync(dir, OWNER, OWNER);
  const file = path.join(dir, `sess_${ID}`);
  fs.writeFileSync(file, 'a|i:1;', { mode: 0o600 });
  fs.chownSync(file, OWNER, OWNER);
  const old = new Date('2001-01-01T00:00:00Z');
  fs.utimesSync(file, old, old);
  return { dir, file };
}

test('gc as root over a tree another user owns runs as that user and says so', rootOnly, () => {
  assert.ok(isRoot, 'this test must run as root in CI');
  const { dir, file } = ownedTree('gc');
  const r = sessctl(['gc', '--save-path', dir, '--maxlifetime', '60', '--json'], { env });
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.deepEqual({ uid: report.actedAs.uid, gid: report.actedAs.gid, switched: report.actedAs.switched }, { uid: OWNER, gid: OWNER, switched: true });
  assert.equal(report.deleted, 1);
  assert.equal(fs.existsSync(file), false);
});

test('mkdirs as root creates directories owned by the save path owner, who PHP runs as', rootOnly, () => {
  const dir = path.join(tmp, 'mk');
  fs.mkdirSync(dir, { mode: 0o730 });
  fs.chownSync(dir, OWNER, OWNER);
  const r = sessctl(['mkdirs', '--save-path', `1;${dir}`, '--bits', '4', '--json'], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).actedAs.uid, OWNER);
  const st = fs.statSync(path.join(dir, 'a'));
  assert.equal(st.uid, OWNER);
  assert.equal(st.gid, OWNER);
});

test('--as-root stays root; a root-owned save path keeps root', rootOnly, () => {
  const { dir } = ownedTree('asroot');
  const r = sessctl(['stats', '--save-path', dir, '--json', '--as-root'], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).actedAs.uid, 0);
  assert.match(JSON.parse(r.stdout).actedAs.reason, /--as-root/);
  const rootDir = path.join(tmp, 'rootowned');
  fs.mkdirSync(rootDir);
  const r2 = sessctl(['stats', '--save-path', rootDir, '--json'], { env });
  assert.equal(JSON.parse(r2.stdout).actedAs.uid, 0);
  assert.match(JSON.parse(r2.stdout).actedAs.reason, /belongs to root/);
});
