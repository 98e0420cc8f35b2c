// PHP's session lock is flock(2): we block on PHP's lock, PHP blocks on ours, waiting
// never parks a thread-pool thread, and a missing flock addon is a loud error.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { lockFd, tryLockFd, unlockFd, assertLockingAvailable } from 'sessctl/files';
import { LockTimeoutError } from 'sessctl';
import { lockingAddonName, FileSessionStore } from 'sessctl/files';
import { needPhp, PHP } from '../../helpers/env.js';

const HELPER = fileURLToPath(new URL('../../php/store/session.php', import.meta.url));
const NO_ADDON = fileURLToPath(new URL('../../php/store/no-flock-addon.cjs', import.meta.url));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sessctl-store-lock-'));
const children = new Set();
after(() => {
  for (const c of children) c.kill('SIGKILL');
  fs.rmSync(tmp, { recursive: true, force: true });
});

/**
 * Starts PHP holding the session lock of `id` until release(): `locked` resolves once PHP has
 * it — explicit hand-shakes both ways, so no outcome depends on how fast PHP runs.
 */
function phpHold(id) {
  const child = spawn(PHP, [HELPER, JSON.stringify({ ini: { 'session.save_path': tmp }, action: 'hold', id })]);
  children.add(child);
  const release = () => child.stdin.end('go\n');
  const exited = new Promise((resolve) => child.on('exit', (code) => { children.delete(child); resolve(code); }));
  const locked = new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => { if (String(d).includes('locked')) resolve(); });
    child.on('exit', (code) => reject(new Error(`php hold exited ${code} before locking`)));
  });
  return { child, locked, exited, release };
}

/**
 * Resolves once the kernel shows a process blocked in flock() on `file` (a `->` line in
 * /proc/locks for its inode): the signal that PHP is waiting on our lock.
 */
async function flockWaiterOn(file) {
  const ino = fs.statSync(file).ino;
  const waiting = new RegExp(`^\\d+: -> FLOCK\\s.*:${ino} `, 'm');
  while (!waiting.test(fs.readFileSync('/proc/locks', 'utf8'))) await new Promise((r) => setImmediate(r));
}

test('the flock addon loads from its prebuilt binary (no install script needed)', () => {
  assertLockingAvailable();
  assert.equal(lockingAddonName(), 'fs-ext-extra-prebuilt');
  const req = createRequire(import.meta.url);
  assert.equal(req('fs-ext-extra-prebuilt').getNativeModuleSource(), 'prebuilt');
});

test('no flock addon → a loud ENOLOCK error at store construction, never unlocked mode', () => {
  const script = `
    import { FileSessionStore } from ${JSON.stringify(import.meta.resolve('sessctl/files'))};
    try { new FileSessionStore({ savePath: ${JSON.stringify(tmp)} }); console.log('CONSTRUCTED'); }
    catch (e) { console.log(e.code + ' ' + e.message); }`;
  const r = spawnSync(process.execPath, ['--require', NO_ADDON, '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^ENOLOCK .*flock addon could not be loaded/);
  assert.match(r.stdout, /fs-ext-extra-prebuilt: Cannot find module/);
  assert.match(r.stdout, /fs-ext: Cannot find module/);
});

test('tryLockFd / lockFd between two open file descriptions of the same file', async () => {
  const file = path.join(tmp, 'plain-lock');
  fs.writeFileSync(file, '');
  const a = fs.openSync(file, 'r+');
  const b = fs.openSync(file, 'r+');
  try {
    assert.equal(tryLockFd(a, true), true);
    assert.equal(tryLockFd(b, true), false);
    assert.equal(tryLockFd(b, false), false);
    await assert.rejects(lockFd(b, { exclusive: true, timeoutMs: 50, target: file }), (e) => e instanceof LockTimeoutError && e.message.includes(file));
    setTimeout(() => unlockFd(a), 30);
    await lockFd(b, { exclusive: false, timeoutMs: 5000, target: file });
    assert.equal(tryLockFd(a, false), true, 'shared locks coexist');
    assert.equal(tryLockFd(a, true), false, 'no exclusive while another shares');
  } finally {
    fs.closeSync(a);
    fs.closeSync(b);
  }
});

test('we wait on a lock PHP holds, and time out with LockTimeoutError', needPhp(), async () => {
  const id = 'lockwaitphpholds0000000001';
  const hold = phpHold(id);
  await hold.locked;
  const file = path.join(tmp, `sess_${id}`);
  const fd = fs.openSync(file, 'r+');
  try {
    await assert.rejects(lockFd(fd, { exclusive: true, timeoutMs: 100, target: file }), LockTimeoutError);
    let phpDone = false;
    hold.exited.then(() => { phpDone = true; });
    const locking = lockFd(fd, { exclusive: true, timeoutMs: 60000, target: file });
    hold.release();
    await locking;
    // flock is released by PHP's session_write_close just before it exits.
    await hold.exited;
    assert.equal(phpDone, true);
  } finally {
    fs.closeSync(fd);
  }
});

test('PHP waits on a lock we hold: it sees what we wrote under the lock', needPhp(), async () => {
  const id = 'phpwaitsonus00000000000001';
  const file = path.join(tmp, `sess_${id}`);
  fs.writeFileSync(file, 'total|i:1;');
  const fd = fs.openSync(file, 'r+');
  await lockFd(fd, { exclusive: true, timeoutMs: 1000, target: file });
  const child = spawn(PHP, [HELPER, JSON.stringify({ ini: { 'session.save_path': tmp }, action: 'loop', id, tag: 'php', n: 1 })]);
  children.add(child);
  let exited = false;
  const done = new Promise((resolve) => child.on('exit', (code) => { exited = true; children.delete(child); resolve(code); }));
  await flockWaiterOn(file);
  assert.equal(exited, false, 'PHP must still be blocked in session_start');
  const data = Buffer.from('total|i:41;');
  fs.writeSync(fd, data, 0, data.length, 0);
  fs.ftruncateSync(fd, data.length);
  fs.closeSync(fd); // releases the lock
  assert.equal(await done, 0);
  assert.equal(fs.readFileSync(file, 'utf8'), 'total|i:42;php|i:1;');
});

test('6 store.open() calls waiting on PHP-held locks do not starve the thread pool: readFile completes while they wait', needPhp(), async () => {
  const holds = [];
  for (let i = 0; i < 6; i++) holds.push(phpHold(`starvationcheck00000000000${i}`));
  await Promise.all(holds.map((h) => h.locked));
  const events = [];
  const store = new FileSessionStore({ savePath: tmp, lockTimeoutMs: 20000 });
  const handles = [];
  try {
    const waits = holds.map((_, i) => store.open(`starvationcheck00000000000${i}`).then((h) => { handles.push(h); events.push(`lock${i}`); }));
    // The six opens are queued (each waiter's first flock attempt is synchronous); PHP holds
    // every lock until released below, so the readFile must not need any of them.
    const other = path.join(tmp, 'unrelated.txt');
    fs.writeFileSync(other, 'hello');
    const text = await fs.promises.readFile(other, 'utf8');
    events.push('readFile');
    assert.equal(text, 'hello');
    assert.deepEqual(events, ['readFile'], 'readFile finished before any PHP lock was released');
    for (const h of holds) h.release();
    await Promise.all(waits);
    assert.equal(events.length, 7);
  } finally {
    for (const h of handles) await h.close();
    await Promise.all(holds.map((h) => h.exited));
  }
});

test('control: a blocking flock parked in the thread pool DOES starve readFile (why we poll)', needPhp(), async () => {
  // Run in a child with the default pool of 4 so the outcome does not depend on this process.
  const holds = [];
  for (let i = 0; i < 6; i++) holds.push(phpHold(`starvationctrl000000000000${i}`));
  await Promise.all(holds.map((h) => h.locked));
  const files = holds.map((_, i) => path.join(tmp, `sess_starvationctrl000000000000${i}`));
  const other = path.join(tmp, 'unrelated2.txt');
  fs.writeFileSync(other, 'x');
  const script = `
    const fs = require('fs'); const ext = require('fs-ext-extra-prebuilt');
    const events = []; let n = 0;
    for (const f of ${JSON.stringify(files)}) { const fd = fs.openSync(f, 'r+'); ext.flock(fd, 'ex', () => { events.push('lock'); if (++n === 6) done(); }); }
    // Queued behind the six blocking flocks on the pool's FIFO queue; "asked" tells the test to release PHP.
    setImmediate(() => { fs.promises.readFile(${JSON.stringify(other)}).then(() => events.push('readFile')); console.log('asked'); });
    function done() { setTimeout(() => { console.log(JSON.stringify(events)); process.exit(0); }, 100); }`;
  const env = { ...process.env };
  delete env.UV_THREADPOOL_SIZE;
  const child = spawn(process.execPath, ['-e', script], { env, cwd: path.dirname(NO_ADDON) });
  children.add(child);
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
    if (out.startsWith('asked\n')) for (const h of holds) h.release();
  });
  await new Promise((resolve) => child.on('exit', resolve));
  out = out.slice('asked\n'.length);
  children.delete(child);
  await Promise.all(holds.map((h) => h.exited));
  const events = JSON.parse(out);
  assert.notEqual(events[0], 'readFile', `readFile had to wait for a PHP lock to be released: ${out}`);
});
