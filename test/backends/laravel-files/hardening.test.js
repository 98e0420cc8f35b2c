// Laravel's sessions directory gets the file-I/O checks of PHP's files handler (the shared
// file-io module): a symlink named like a session id is never followed — refused by every
// operation on it, skipped by the listings, ids() and gc — and a FIFO or a directory there is
// no session (no hang, a clear error). What is behind the symlink is never touched.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { LaravelFileSessionStore, LaravelFileAdminSource } from 'sessctl/laravel-files';
import { SessionFileError } from 'sessctl';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sessctl-laravel-harden-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const past = new Date('2021-06-07T08:09:10Z');
let n = 0;
const freshDir = () => {
  const d = path.join(tmp, `d${n++}`);
  fs.mkdirSync(d);
  return d;
};
/** @param {string} c */
const id = (c) => c.repeat(40);
/** @param {string} dir @param {number} [maxBytes] */
const adminOf = (dir, maxBytes) => new LaravelFileAdminSource({ saveHandler: 'laravel-files', savePath: dir, serializeHandler: 'php_serialize', maxlifetime: 7200, maxBytes });
/** @param {string} file */
const snapshot = (file) => {
  const st = fs.statSync(file);
  return { bytes: fs.readFileSync(file).toString('hex'), mtimeMs: st.mtimeMs, ino: st.ino };
};

/** @param {unknown} e @param {string} code */
const isFileError = (e, code) => e instanceof SessionFileError && e.code === code;

test('a symlink named like a session id: every store and admin operation refuses it (ESYMLINK); listings, ids() and gc skip it; the target is untouched', async () => {
  const dir = freshDir();
  const outside = freshDir();
  const victim = path.join(outside, 'precious');
  fs.writeFileSync(victim, 'a:1:{s:1:"x";i:1;}');
  fs.utimesSync(victim, past, past);
  const store = new LaravelFileSessionStore({ path: dir });
  const LINK = id('L');
  fs.symlinkSync(victim, store.pathOf(LINK));
  const REAL = id('R');
  await store.update(REAL, (d) => void d.set('user', 7));
  const before = snapshot(victim);

  for (const [name, op] of Object.entries({
    open: () => store.open(LINK),
    read: () => store.read(LINK),
    update: () => store.update(LINK, (d) => void d.set('x', 2)),
    destroy: () => store.destroy(LINK),
    touch: () => store.touch(LINK),
  })) {
    await assert.rejects(op(), (/** @type {any} */ e) => isFileError(e, 'ESYMLINK') && e.message.includes(store.pathOf(LINK)), name);
  }
  assert.equal(await store.exists(LINK), false, 'a symlink is not a session');
  const ids = [];
  for await (const i of store.ids()) ids.push(i);
  assert.deepEqual(ids, [REAL]);

  const admin = adminOf(dir);
  await assert.rejects(admin.read(LINK), { code: 'ESYMLINK' });
  await assert.rejects(admin.lockedRead(LINK, 100), { code: 'ESYMLINK' });
  await assert.rejects(admin.destroy(LINK, { lockTimeoutMs: 100 }), { code: 'ESYMLINK' });
  await assert.rejects(admin.rewrite(LINK, () => Buffer.from('a:0:{}'), { lockTimeoutMs: 100 }), { code: 'ESYMLINK' });
  const listed = [];
  for await (const e of admin.entries({ withData: true })) listed.push(e.id);
  assert.deepEqual(listed, [REAL]);

  // Everything is "expired" for maxlifetime 1 two seconds on: gc deletes the real session only.
  const report = await admin.gc({ maxlifetime: 1, now: Math.floor(Date.now() / 1000) + 2 });
  assert.equal(report.scanned, 1);
  assert.equal(report.deleted, 1);
  assert.equal(report.errors, 0);
  assert.equal(fs.existsSync(store.pathOf(REAL)), false);
  assert.ok(fs.lstatSync(store.pathOf(LINK)).isSymbolicLink(), 'the symlink itself is left');
  assert.deepEqual(snapshot(victim), before, 'the file behind the symlink is untouched');
});

test('a FIFO or a directory named like a session id: a clear error, no hang; listings and ids() skip them', async () => {
  const dir = freshDir();
  const store = new LaravelFileSessionStore({ path: dir });
  const FIFO = id('F');
  const DIR = id('D');
  execFileSync('mkfifo', [store.pathOf(FIFO)]);
  fs.mkdirSync(store.pathOf(DIR));
  for (const op of [() => store.open(FIFO), () => store.read(FIFO), () => store.destroy(FIFO)]) {
    await assert.rejects(op(), (/** @type {any} */ e) => isFileError(e, 'ENOTFILE') && /not a regular file/.test(e.message));
  }
  await assert.rejects(store.open(DIR), (/** @type {any} */ e) => e instanceof SessionFileError && /directory|regular/.test(e.message));
  await assert.rejects(store.read(DIR), (/** @type {any} */ e) => e instanceof SessionFileError);
  assert.equal(await store.exists(FIFO), false);
  assert.equal(await store.exists(DIR), false);

  const admin = adminOf(dir);
  await assert.rejects(admin.read(FIFO), { code: 'ENOTFILE' });
  const listed = [];
  for await (const e of admin.entries({ withData: true })) listed.push(e.id);
  const ids = [];
  for await (const i of store.ids()) ids.push(i);
  assert.deepEqual([listed, ids], [[], []]);
  const report = await admin.gc({ maxlifetime: 1, now: Math.floor(Date.now() / 1000) + 2 });
  assert.deepEqual([report.scanned, report.deleted, report.errors], [0, 0, 0]);
  assert.ok(fs.lstatSync(store.pathOf(FIFO)).isFIFO());
  assert.ok(fs.statSync(store.pathOf(DIR)).isDirectory());
});

test('maxBytes: a file above it is refused by the store (ETOOBIG) and listed as tooBig, unread', async () => {
  const dir = freshDir();
  const store = new LaravelFileSessionStore({ path: dir, maxBytes: 100 });
  const BIG = id('B');
  fs.writeFileSync(store.pathOf(BIG), `a:1:{s:1:"x";s:200:"${'x'.repeat(200)}";}`);
  const before = snapshot(store.pathOf(BIG));
  await assert.rejects(store.open(BIG), { code: 'ETOOBIG' });
  await assert.rejects(store.read(BIG), { code: 'ETOOBIG' });
  const admin = adminOf(dir, 100);
  const listed = [];
  for await (const e of admin.entries({ withData: true })) listed.push([e.id, e.tooBig, e.bytes]);
  assert.deepEqual(listed, [[BIG, true, undefined]]);
  assert.deepEqual(snapshot(store.pathOf(BIG)), before);
});
