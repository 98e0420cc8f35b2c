// The file-I/O guarantees: no symlink followed at any level below the save path, a kill at
// any moment leaves a decodable session, a full disk puts the previous session back, and
// mkdirs never hands a planted target to the save path's owner.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { FileSessionStore, FileAdminSource, createSessionDirs, parseSavePath, gcFiles } from 'sessctl/files';
import { decodeSession } from 'sessctl';
import { freshDirs } from '../../helpers/fresh-dirs.js';
import { gcSwapMidRun, inChild } from '../../helpers/gc-scenarios.js';
import { NATIVE_AT } from '../../../dist/backends/shared/file-io/native-at.js';
import { prng } from '../../helpers/prng.js';
import { onTmpfs } from '../../helpers/tmpfs.js';

const fresh = freshDirs('sessctl-harden-');
const ID = 'abcdefghijklmnopqrstuvwxyz0123';
const isRoot = process.getuid?.() === 0;

test('a directory symlink at depth ≥ 1 is never followed: open, read, destroy, touch, admin read/destroy, gc', async () => {
  const dir = fresh();
  const elsewhere = fresh();
  const victim = path.join(elsewhere, `sess_${ID}`);
  fs.writeFileSync(victim, 'secret|s:1:"x";', { mode: 0o600 });
  const old = new Date('2000-01-01T00:00:00Z');
  fs.utimesSync(victim, old, old);
  fs.symlinkSync(elsewhere, path.join(dir, 'a')); // s1/a -> /elsewhere
  const store = new FileSessionStore({ savePath: `1;${dir}` });
  for (const op of [() => store.open(ID), () => store.read(ID), () => store.destroy(ID), () => store.touch(ID)]) {
    await assert.rejects(op(), (/** @type {any} */ e) => e.code === 'ESYMLINK' && e.message.includes(path.join(dir, 'a')));
  }
  const admin = new FileAdminSource({ savePath: `1;${dir}` });
  await assert.rejects(admin.read(ID), { code: 'ESYMLINK' });
  await assert.rejects(admin.destroy(ID, { lockTimeoutMs: 100 }), { code: 'ESYMLINK' });
  const seen = [];
  for await (const e of admin.entries({ withData: true })) seen.push(e.id);
  assert.deepEqual(seen, []);
  const report = await gcFiles(`1;${dir}`, { maxlifetime: 1, jobs: 1 });
  assert.equal(report.deleted, 0);
  assert.equal(fs.readFileSync(victim, 'utf8'), 'secret|s:1:"x";', 'the file behind the symlink is untouched');
});

// gc decides which files look expired by an lstat of each name: through the pinned directory
// with the native helper, by plain path without it (cheaper than through /proc). Either way
// only the pinned directory is ever opened, re-checked and unlinked. Swap the directory being
// collected for a symlink mid-run: without the helper every later plain lstat then sees the
// symlink's target, expired, and none of it may go; half of what is left in the pinned
// directory is made fresh, and the check on the locked descriptor must keep those (with the
// helper the lstat itself already sees them fresh). Run here (with the helper when it is
// built) and in a child without it.
const checkSwap = (/** @type {any} */ r, /** @type {boolean} */ native) => {
  assert.equal(r.native, native, native ? 'the native helper was in use' : 'the /proc fallback was in use');
  assert.ok(r.swapped, 'the swap happened mid-run');
  assert.ok(r.touched.length > 0);
  assert.deepEqual(r.outside, r.names, 'nothing behind the symlink was deleted');
  assert.ok(r.outsideIntact, 'nothing behind the symlink was changed');
  assert.deepEqual(r.left, r.touched, 'in the pinned directory only the touched files stay');
  assert.equal(r.counts.skippedTouched, native ? 0 : r.touched.length);
  assert.equal(r.counts.deleted, r.names.length - r.touched.length);
  assert.equal(r.counts.errors, 0);
};

test('gc: a directory swapped for a symlink mid-run redirects no open or unlink; the pinned one is re-checked', { skip: process.platform !== 'linux' && 'needs /proc' }, async () => {
  checkSwap(await gcSwapMidRun(fresh()), NATIVE_AT !== null);
});

test('gc: the same through /proc, without the native helper (SESSCTL_NO_NATIVE=1, in a child)', { skip: process.platform !== 'linux' && 'needs /proc' }, () => {
  const { value, stderr } = inChild('gcSwapMidRun', [fresh()], { SESSCTL_NO_NATIVE: '1' });
  assert.equal(stderr, '');
  checkSwap(value, false);
});

test('mkdirs: an entry of the tree that is a symlink is refused and its target keeps owner and mode', async () => {
  const dir = fresh();
  const target = path.join(fresh(), 'target');
  fs.mkdirSync(target, { mode: 0o700 });
  fs.symlinkSync(target, path.join(dir, '0'));
  await assert.rejects(createSessionDirs(parseSavePath(`1;${dir}`), { bitsPerCharacter: 4, mode: 0o777 }), (/** @type {any} */ e) => /symlink/.test(e.message));
  assert.equal(fs.statSync(target).mode & 0o777, 0o700);
});

test('mkdirs as root over a save path another user owns: new directories belong to that user, with the save path mode', { skip: !isRoot && 'needs root' }, async () => {
  const dir = fresh();
  fs.chownSync(dir, 4242, 4242);
  fs.chmodSync(dir, 0o730);
  const r = await createSessionDirs(parseSavePath(`2;${dir}`), { bitsPerCharacter: 4 });
  assert.equal(r.created, 16 + 256);
  const st = fs.statSync(path.join(dir, 'f', 'a'));
  assert.equal(st.uid, 4242);
  assert.equal(st.gid, 4242);
  assert.equal(st.mode & 0o7777, 0o730);
});

// A child that rewrites one session for ever, alternating a 3,000-byte and a 1-byte value (both
// within one page, which the kernel copies without stopping for a kill: see docs/files.md),
// printing a line after each save. The parent kills it after a random number of lines (an
// explicit signal, not a timer), then checks that the file decodes.
const WRITER = `
const { FileSessionStore } = await import(process.argv[1]);
const store = new FileSessionStore({ savePath: process.argv[2] });
const big = 'x'.repeat(3000);
for (let i = 0; ; i++) {
  await store.update(process.argv[3], (d) => void d.set('v', i % 2 ? big : 'y'));
  process.stdout.write('.');
}`;

test('SIGKILL at any moment of a save leaves a session PHP can decode (200 kills)', async () => {
  const dir = fresh();
  const file = path.join(dir, `sess_${ID}`);
  const rand = prng(42);
  const dist = import.meta.resolve('sessctl/files');
  let kinds = new Set();
  for (let k = 0; k < 200; k++) {
    const child = spawn(process.execPath, ['--input-type=module', '-e', WRITER, dist, dir, ID], { stdio: ['ignore', 'pipe', 'inherit'] });
    const want = 1 + Math.floor(rand() * 6);
    await new Promise((resolve) => {
      let seen = 0;
      child.stdout.on('data', (d) => {
        seen += d.length;
        if (seen >= want) {
          child.kill('SIGKILL');
          resolve();
        }
      });
    });
    await new Promise((resolve) => child.on('exit', resolve));
    const bytes = fs.readFileSync(file);
    const data = decodeSession(bytes, 'php'); // throws if a kill left a mix
    kinds.add(bytes.length === 0 ? 'empty' : data.get('v') === 'y' ? 'short' : 'long');
  }
  assert.ok(kinds.has('short') && kinds.has('long'), [...kinds].join(','));
});

test('a full disk (ENOSPC) puts the previous session back and reports EWRITE', async (t) => {
  await onTmpfs(t, fresh(), 'size=64k', async (mnt) => {
    const store = new FileSessionStore({ savePath: mnt });
    await store.update(ID, (d) => void d.set('cart', 'three items'));
    const before = fs.readFileSync(path.join(mnt, `sess_${ID}`));
    await assert.rejects(
      store.update(ID, (d) => void d.set('cart', 'z'.repeat(200_000))),
      (/** @type {any} */ e) => e.code === 'EWRITE' && /ENOSPC/.test(e.message) && /put back/.test(e.message),
    );
    assert.deepEqual(fs.readFileSync(path.join(mnt, `sess_${ID}`)), before);
    assert.equal((await store.read(ID)).get('cart'), 'three items');
    await store.close(); // the store keeps its directory open between requests: let go, to unmount
  });
});
