// FileSessionStore / FileSessionHandle: the file protocol (in place, lazy write, locks,
// destroy, regenerate) and the one-shot helpers.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileSessionStore, createSessionDirs, parseSavePath } from 'sessctl/files';
import { PhpArray, encodeSession, LockTimeoutError, InvalidSessionIdError, SessctlError, ConfigError, SID_ALPHABET } from 'sessctl';
import { tryLockFd } from 'sessctl/files';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sessctl-store-file-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
let dirN = 0;
function freshDir() {
  const d = path.join(tmp, `d${dirN++}`);
  fs.mkdirSync(d);
  return d;
}
const ID = 'abcdefghijklmnopqrstuvwxyz0123';
const past = new Date('2020-01-02T03:04:05Z');
const isLocked = (file) => {
  const fd = fs.openSync(file, 'r');
  try { return !tryLockFd(fd, false); } finally { fs.closeSync(fd); }
};

test('open creates the file like PHP (0600 minus umask, empty), holds the lock until close', async () => {
  const store = new FileSessionStore({ savePath: freshDir() });
  const h = await store.open(ID);
  assert.equal(h.isNew, true);
  assert.equal(h.id, ID);
  assert.equal(h.data.size, 0);
  assert.equal(h.bytes.length, 0);
  const st = fs.statSync(h.path);
  assert.equal(st.mode & 0o777, 0o600 & ~process.umask());
  assert.equal(st.size, 0);
  assert.equal(isLocked(h.path), true);
  await h.close();
  assert.equal(isLocked(h.path), false);
  await h.close(); // idempotent
  const again = await store.open(ID);
  assert.equal(again.isNew, false);
  await again.close();
});

test('save writes in place: same inode, shorter data truncates, exact encoded bytes', async () => {
  const store = new FileSessionStore({ savePath: freshDir() });
  const h = await store.open(ID);
  const ino = fs.statSync(h.path).ino;
  h.data.set('long', 'x'.repeat(500));
  await h.save();
  assert.equal(fs.statSync(h.path).size > 500, true);
  const small = new PhpArray();
  small.set('n', 1);
  await h.save(small);
  assert.deepEqual(fs.readFileSync(h.path), Buffer.from(encodeSession(small, 'php')));
  assert.equal(fs.readFileSync(h.path, 'utf8'), 'n|i:1;');
  assert.equal(fs.statSync(h.path).ino, ino);
  await h.close();
  await assert.rejects(h.save(), (e) => e instanceof SessctlError && e.code === 'ECLOSED');
});

test('lazy write: unchanged bytes only touch the mtime; lazyWrite=false rewrites', async () => {
  const dir = freshDir();
  const store = new FileSessionStore({ savePath: dir });
  await store.update(ID, (d) => { d.set('a', 1); });
  const file = store.pathOf(ID);
  // An unlocked outside write after open() shows whether save() writes: a lazy save of
  // unchanged data must leave it there, an eager one must overwrite it.
  const h = await store.open(ID);
  fs.writeFileSync(file, 'a|i:9;');
  fs.utimesSync(file, past, past);
  await h.save();
  await h.close();
  assert.equal(fs.readFileSync(file, 'utf8'), 'a|i:9;', 'lazy: not written');
  assert.ok(fs.statSync(file).mtimeMs > past.getTime() + 1000, 'lazy: mtime moved');
  const h1 = await store.open(ID);
  h1.data.set('a', 10);
  await h1.save();
  await h1.close();
  assert.equal(fs.readFileSync(file, 'utf8'), 'a|i:10;', 'changed data is written');
  const eager = new FileSessionStore({ savePath: dir, lazyWrite: false });
  const h2 = await eager.open(ID);
  fs.writeFileSync(file, 'a|i:9;');
  await h2.save();
  await h2.close();
  assert.equal(fs.readFileSync(file, 'utf8'), 'a|i:10;', 'eager: written again');
});

test('one-shot helpers: read (no file created), update, touch, destroy, exists, ids, createId', async () => {
  const dir = freshDir();
  const store = new FileSessionStore({ savePath: `1;${dir}`, sidLength: 26, sidBitsPerCharacter: 5 });
  await createSessionDirs(store.savePath, { bitsPerCharacter: 5 });
  assert.equal(await store.read(ID), null);
  assert.equal(fs.existsSync(store.pathOf(ID)), false, 'read() creates nothing');
  assert.equal(await store.exists(ID), false);
  assert.equal(await store.touch(ID), false);
  assert.equal(await store.destroy(ID), false);
  assert.equal(fs.existsSync(store.pathOf(ID)), false);
  const written = await store.update(ID, (d) => { d.set('count', (d.get('count') ?? 0) + 1); });
  assert.equal(written.get('count'), 1);
  await store.update(ID, async (d) => { const n = new PhpArray(); n.set('count', d.get('count') + 1); return n; });
  assert.equal((await store.read(ID)).get('count'), 2);
  assert.equal(await store.exists(ID), true);
  fs.utimesSync(store.pathOf(ID), past, past);
  assert.equal(await store.touch(ID), true);
  assert.ok(fs.statSync(store.pathOf(ID)).mtimeMs > past.getTime() + 1000);
  const id2 = await store.createId();
  assert.equal(id2.length, 26);
  assert.ok([...id2].every((c) => SID_ALPHABET.slice(0, 32).includes(c)));
  await store.update(id2, (d) => { d.set('x', true); });
  const ids = [];
  for await (const id of store.ids()) ids.push(id);
  assert.deepEqual(ids.sort(), [ID, id2].sort());
  assert.equal(await store.destroy(ID), true);
  assert.equal(fs.existsSync(store.pathOf(ID)), false);
  assert.equal(await store.exists('../x'), false);
});

test('read takes a shared lock: it waits for an open handle, and times out clearly', async () => {
  const store = new FileSessionStore({ savePath: freshDir(), lockTimeoutMs: 100 });
  await store.update(ID, (d) => { d.set('v', 1); });
  const h = await store.open(ID);
  await assert.rejects(store.read(ID), (e) => e instanceof LockTimeoutError && e.message.includes(h.path) && e.timeoutMs === 100 && /within 100 ms/.test(e.message));
  await assert.rejects(store.open(ID), LockTimeoutError);
  await assert.rejects(store.open(ID, { lockTimeoutMs: 0 }), LockTimeoutError);
  h.data.set('v', 2);
  await h.save();
  const reading = store.read(ID);
  setTimeout(() => h.close(), 30);
  const slow = new FileSessionStore({ savePath: store.savePath, lockTimeoutMs: 5000 });
  assert.equal((await slow.read(ID)).get('v'), 2);
  await reading.catch(() => {});
});

test('destroy under the lock; a waiter whose file was destroyed gets a fresh session', async () => {
  const store = new FileSessionStore({ savePath: freshDir() });
  await store.update(ID, (d) => { d.set('old', 1); });
  const a = await store.open(ID);
  const waiting = store.open(ID); // opens the file at once (sync I/O), then waits for the lock
  await a.destroy();
  const b = await waiting;
  assert.equal(b.isNew, true, 'the destroyed inode is not reused');
  assert.equal(b.data.size, 0);
  b.data.set('new', 1);
  await b.save();
  await b.close();
  assert.equal(fs.readFileSync(store.pathOf(ID), 'utf8'), 'new|i:1;');
  await assert.rejects(a.save(), (/** @type {any} */ e) => e.code === 'ECLOSED');
});

test('regenerateId(deleteOld) like session_regenerate_id', async () => {
  const store = new FileSessionStore({ savePath: freshDir() });
  await store.update(ID, (d) => { d.set('u', 'alice'); });
  const h = await store.open(ID);
  h.data.set('step', 2);
  const newId = await h.regenerateId(false);
  assert.notEqual(newId, ID);
  assert.equal(h.id, newId);
  assert.equal(h.isNew, true);
  assert.equal(h.path, store.pathOf(newId));
  assert.equal(isLocked(store.pathOf(newId)), true, 'the new session is locked');
  assert.equal(isLocked(store.pathOf(ID)), false, 'the old lock is released');
  assert.equal(fs.readFileSync(store.pathOf(ID), 'utf8'), 'u|s:5:"alice";step|i:2;', 'old keeps the data (PHP writes it)');
  assert.equal(fs.readFileSync(store.pathOf(newId), 'utf8'), 'u|s:5:"alice";step|i:2;');
  const third = await h.regenerateId(true);
  assert.equal(fs.existsSync(store.pathOf(newId)), false, 'deleteOld removes the old file');
  assert.equal(fs.readFileSync(store.pathOf(third), 'utf8'), 'u|s:5:"alice";step|i:2;');
  await h.close();
});

test('start(): strict mode refuses unknown ids, invalid ids get a new one', async () => {
  const dir = freshDir();
  const lax = new FileSessionStore({ savePath: dir, useStrictMode: false });
  const strict = new FileSessionStore({ savePath: dir });
  assert.equal(strict.settings.useStrictMode, true, 'strict mode is the default');
  const h1 = await lax.start(ID);
  assert.equal(h1.id, ID);
  await h1.close();
  const unknown = 'unknownsession0000000000001';
  const h2 = await strict.start(unknown);
  assert.notEqual(h2.id, unknown);
  assert.equal(fs.existsSync(path.join(dir, `sess_${unknown}`)), false);
  await h2.close();
  const h3 = await strict.start(ID);
  assert.equal(h3.id, ID, 'an existing id is adopted');
  await h3.close();
  const h4 = await lax.start('../../etc');
  assert.match(h4.id, /^[0-9a-f]{32}$/);
  await h4.close();
  const h5 = await lax.start();
  assert.equal(h5.isNew, true);
  await h5.close();
});

test('invalid ids are refused before any path is built; bad options are ConfigErrors', async () => {
  const dir = freshDir();
  const store = new FileSessionStore({ savePath: `2;${dir}` });
  for (const op of [(id) => store.open(id), (id) => store.read(id), (id) => store.update(id, () => {}), (id) => store.destroy(id), (id) => store.touch(id)]) {
    for (const bad of ['../../etc/passwd', 'a/b', '', 'ab', 'x'.repeat(257)]) {
      await assert.rejects(op(bad), InvalidSessionIdError, bad);
    }
  }
  assert.deepEqual(fs.readdirSync(dir), []);
  assert.throws(() => new FileSessionStore({ savePath: '-1;/x' }), ConfigError);
  // @ts-expect-error 'json' is not a serialize handler: checks the runtime refuses it
  assert.throws(() => new FileSessionStore({ savePath: dir, serializeHandler: 'json' }), ConfigError);
  assert.throws(() => new FileSessionStore({ savePath: dir, sidLength: 10 }), ConfigError);
  // @ts-expect-error 3 bits per character is not a PHP setting: checks the runtime refuses it
  assert.throws(() => new FileSessionStore({ savePath: dir, sidBitsPerCharacter: 3 }), ConfigError);
  assert.throws(() => new FileSessionStore({ savePath: dir, lockTimeoutMs: -1 }), ConfigError);
  assert.equal(new FileSessionStore({ savePath: parseSavePath(`1;0640;${dir}`) }).fileMode, 0o640);
});

test('readAndClose: read, then the lock is released at once', async () => {
  const store = new FileSessionStore({ savePath: freshDir() });
  await store.update(ID, (d) => { d.set('z', 1); });
  const h = await store.open(ID, { readAndClose: true });
  assert.equal(h.data.get('z'), 1);
  assert.equal(h.isOpen, false);
  assert.equal(isLocked(h.path), false);
});
