// Bad input: every case is a clear error naming the file, and nothing on disk changes
// (bytes and mtime compared before/after). Checks that root would skip (owner, permissions)
// run in a child process as uid 65534.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync, execFileSync } from 'node:child_process';
import { FileSessionStore, createSessionDirs, parseSavePath } from 'sessctl/files';
import { tryLockFd } from 'sessctl/files';
import { DecodeError, SessionFileError, InvalidSessionIdError } from 'sessctl';

const DIST = import.meta.resolve('sessctl/files');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sessctl-store-bad-'));
fs.chmodSync(tmp, 0o755); // the unprivileged child must be able to reach it
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const past = new Date('2021-06-07T08:09:10Z');
let n = 0;
const freshDir = (mode = 0o755) => {
  const d = path.join(tmp, `d${n++}`);
  fs.mkdirSync(d);
  fs.chmodSync(d, mode);
  return d;
};
const snapshot = (file) => {
  const st = fs.lstatSync(file);
  return { bytes: st.isFile() ? fs.readFileSync(file).toString('hex') : null, mtimeMs: st.mtimeMs, ino: st.ino, mode: st.mode, uid: st.uid };
};
const ID = 'badinputsession00000000001';
const isRoot = process.getuid() === 0;

async function allOps(store, id) {
  const out = {};
  for (const [name, op] of Object.entries({
    open: () => store.open(id),
    read: () => store.read(id),
    update: () => store.update(id, (d) => { d.set('x', 1); }),
    destroy: () => store.destroy(id),
    touch: () => store.touch(id),
  })) {
    try { await op(); out[name] = 'no error'; } catch (e) { out[name] = e; }
  }
  return out;
}

test('a symlinked session file: O_NOFOLLOW refusal for every operation, target untouched', async () => {
  const dir = freshDir();
  const victim = path.join(dir, 'victim.txt');
  fs.writeFileSync(victim, 'precious');
  fs.utimesSync(victim, past, past);
  const store = new FileSessionStore({ savePath: dir });
  fs.symlinkSync(victim, store.pathOf(ID));
  const before = snapshot(victim);
  const results = await allOps(store, ID);
  for (const [op, e] of Object.entries(results)) {
    assert.ok(e instanceof SessionFileError && e.code === 'ESYMLINK', `${op}: ${e}`);
    assert.match(e.message, /symbolic link/);
    assert.ok(e.message.includes(store.pathOf(ID)), op);
  }
  assert.deepEqual(snapshot(victim), before);
  assert.ok(fs.lstatSync(store.pathOf(ID)).isSymbolicLink());
  assert.equal(await store.exists(ID), false, 'a symlink is not a session');
});

test('a corrupt session file: DecodeError naming the file, file untouched, lock released', async () => {
  const dir = freshDir();
  for (const handler of /** @type {const} */ (['php', 'php_serialize', 'php_binary'])) {
    const store = new FileSessionStore({ savePath: dir, serializeHandler: handler });
    const id = `corrupt${handler.replace('_', '')}0000000000000`;
    const file = store.pathOf(id);
    fs.writeFileSync(file, 'a|s:100:"short";\x00garbage');
    fs.utimesSync(file, past, past);
    const before = snapshot(file);
    for (const op of [() => store.open(id), () => store.read(id), () => store.update(id, () => {})]) {
      await assert.rejects(op(), (e) => e instanceof DecodeError && e.source === file && e.message.includes(file) && typeof e.offset === 'number');
    }
    assert.deepEqual(snapshot(file), before, handler);
    const fd = fs.openSync(file, 'r');
    assert.equal(tryLockFd(fd, true), true, 'no lock left behind');
    fs.closeSync(fd);
  }
});

test('ids with ../, / or NUL never reach the file system', async () => {
  const parent = freshDir();
  const dir = path.join(parent, 'sessions');
  fs.mkdirSync(dir);
  const store = new FileSessionStore({ savePath: dir });
  for (const id of ['../escape000000000000000', '..', 'a/../../b', 'a\0b', '%2e%2e', ' ']) {
    const results = await allOps(store, id);
    for (const [op, e] of Object.entries(results)) assert.ok(e instanceof InvalidSessionIdError, `${op} ${JSON.stringify(id)}: ${e}`);
    assert.equal(await store.exists(id), false);
  }
  assert.deepEqual(fs.readdirSync(parent), ['sessions']);
  assert.deepEqual(fs.readdirSync(dir), []);
});

test('not a regular file (FIFO, directory): clear error, no hang', async () => {
  const dir = freshDir();
  const store = new FileSessionStore({ savePath: dir });
  execFileSync('mkfifo', [store.pathOf(ID)]);
  for (const op of [() => store.open(ID), () => store.read(ID)]) {
    await assert.rejects(op(), (e) => e instanceof SessionFileError && /not a regular file/.test(e.message));
  }
  const id2 = 'directoryinsteadoffile0001';
  fs.mkdirSync(store.pathOf(id2));
  await assert.rejects(store.open(id2), (e) => e instanceof SessionFileError && /directory|regular/.test(e.message));
  await assert.rejects(store.read(id2), (e) => e instanceof SessionFileError);
  assert.ok(fs.statSync(store.pathOf(id2)).isDirectory());
});

test('a missing depth directory says how to create the tree; an oversized file is refused', async () => {
  const dir = freshDir();
  const store = new FileSessionStore({ savePath: `2;${dir}` });
  await assert.rejects(store.open(ID), (e) => e instanceof SessionFileError && /sessctl mkdirs/.test(e.message) && e.message.includes(store.pathOf(ID)));
  assert.deepEqual(fs.readdirSync(dir), []);
  const small = new FileSessionStore({ savePath: dir, maxBytes: 100 });
  const file = small.pathOf(ID);
  fs.writeFileSync(file, `a|s:200:"${'x'.repeat(200)}";`);
  const before = snapshot(file);
  await assert.rejects(small.open(ID), (e) => e instanceof SessionFileError && e.code === 'ETOOBIG');
  await assert.rejects(small.read(ID), (/** @type {any} */ e) => e.code === 'ETOOBIG');
  assert.deepEqual(snapshot(file), before);
});

test('as root, a file owned by another uid is accepted (PHP skips its owner check for root)', { skip: !isRoot && 'not root' }, async () => {
  const dir = freshDir();
  const store = new FileSessionStore({ savePath: dir });
  fs.writeFileSync(store.pathOf(ID), 'a|i:1;');
  fs.chownSync(store.pathOf(ID), 4242, 4242);
  assert.equal((await store.read(ID)).get('a'), 1);
});

test('unprivileged (uid 65534): foreign owner refused, unreadable directory reported, nothing changed', { skip: !isRoot && 'needs root to drop privileges' }, async () => {
  const base = freshDir(0o777);
  const sp = parseSavePath(`1;${base}`);
  await createSessionDirs(sp, { bitsPerCharacter: 4 }); // inherits 0777
  const store = new FileSessionStore({ savePath: sp });
  const foreign = 'b0000000000000000000000001'; // owned by uid 4242, world-writable: only the owner check stops us
  const ours = 'c0000000000000000000000001';    // owned by 65534: the control, must work
  const rootOwned = 'd0000000000000000000000001'; // owned by root: PHP accepts these
  const hidden = 'a0000000000000000000000001';  // in a directory 65534 cannot enter
  for (const [id, uid] of /** @type {[string, number][]} */ ([[foreign, 4242], [ours, 65534], [rootOwned, 0], [hidden, 0]])) {
    fs.writeFileSync(store.pathOf(id), 'k|i:1;');
    fs.chmodSync(store.pathOf(id), 0o666);
    fs.chownSync(store.pathOf(id), uid, uid);
    fs.utimesSync(store.pathOf(id), past, past);
  }
  fs.chmodSync(path.join(base, 'a'), 0o700);
  const before = { foreign: snapshot(store.pathOf(foreign)), hidden: snapshot(store.pathOf(hidden)) };
  const script = `
    const { FileSessionStore } = await import(${JSON.stringify(DIST)});
    const store = new FileSessionStore({ savePath: ${JSON.stringify(sp.raw)}, lockTimeoutMs: 2000 });
    const r = {};
    const attempt = async (name, fn) => { try { r[name] = { ok: await fn() }; } catch (e) { r[name] = { code: e.code, message: e.message }; } };
    await attempt('openForeign', async () => { const h = await store.open(${JSON.stringify(foreign)}); await h.close(); return 'opened'; });
    await attempt('readForeign', () => store.read(${JSON.stringify(foreign)}).then(() => 'read'));
    await attempt('updateForeign', () => store.update(${JSON.stringify(foreign)}, (d) => { d.set('k', 2); }).then(() => 'updated'));
    await attempt('openHidden', () => store.open(${JSON.stringify(hidden)}).then(() => 'opened'));
    await attempt('readHidden', () => store.read(${JSON.stringify(hidden)}).then(() => 'read'));
    await attempt('updateOurs', () => store.update(${JSON.stringify(ours)}, (d) => { d.set('k', 2); }).then(() => 'updated'));
    await attempt('readRootOwned', () => store.read(${JSON.stringify(rootOwned)}).then((d) => d.get('k')));
    const errors = [];
    const ids = [];
    for await (const id of store.ids({ onError: (e) => errors.push(e.code + ' ' + e.message) })) ids.push(id);
    r.walk = { ids: ids.sort(), errors };
    console.log(JSON.stringify(r));`;
  const res = spawnSync(process.execPath, ['--input-type=module', '-e', script], { uid: 65534, gid: 65534, encoding: 'utf8', cwd: tmp });
  assert.equal(res.status, 0, res.stderr);
  const r = JSON.parse(res.stdout);
  for (const k of ['openForeign', 'readForeign', 'updateForeign']) {
    assert.equal(r[k].code, 'EOWNER', `${k}: ${JSON.stringify(r[k])}`);
    assert.match(r[k].message, /owned by uid 4242/);
  }
  for (const k of ['openHidden', 'readHidden']) {
    assert.equal(r[k].code, 'EACCES', `${k}: ${JSON.stringify(r[k])}`);
    assert.ok(r[k].message.includes(store.pathOf(hidden)));
  }
  assert.deepEqual(r.updateOurs, { ok: 'updated' });
  assert.deepEqual(r.readRootOwned, { ok: 1 });
  assert.deepEqual(r.walk.ids, [foreign, ours, rootOwned].sort());
  assert.equal(r.walk.errors.length, 1);
  assert.match(r.walk.errors[0], new RegExp(`ESESSIONDIR ${path.join(base, 'a')}: cannot read directory: EACCES`));
  assert.deepEqual(snapshot(store.pathOf(foreign)), before.foreign);
  assert.deepEqual(snapshot(store.pathOf(hidden)), before.hidden);
  assert.equal(fs.readFileSync(store.pathOf(ours), 'utf8'), 'k|i:2;');
});
