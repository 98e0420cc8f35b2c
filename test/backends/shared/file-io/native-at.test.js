// The optional native helper (native/sessctl_at.c) on its own: openat, lstatat and unlinkat
// relative to a directory descriptor. Its name check is a security boundary — a name with a
// '/' (or '.', '..') would leave the pinned directory — so it is tested here byte by byte.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { NATIVE_AT, NATIVE_AT_UNAVAILABLE } from '../../../../dist/backends/shared/file-io/native-at.js';
import { needNativeHelper } from '../../../helpers/env.js';

const C = fs.constants;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sessctl-native-at-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
let n = 0;
/** A fresh directory and a descriptor of it (closed after the test). */
const freshDir = (t) => {
  const dir = path.join(tmp, `d${n++}`);
  fs.mkdirSync(dir);
  const fd = fs.openSync(dir, C.O_RDONLY | C.O_DIRECTORY);
  t.after(() => fs.closeSync(fd));
  return { dir, fd };
};
const openFds = () => fs.readdirSync('/proc/self/fd').length;
const at = () => /** @type {NonNullable<typeof NATIVE_AT>} */ (NATIVE_AT);

const need = needNativeHelper(NATIVE_AT_UNAVAILABLE);

test('a name that is not one entry of the directory is refused before any system call', need, (t) => {
  const { dir, fd } = freshDir(t);
  // Targets the refused names would reach if they went to the kernel: all must survive.
  fs.mkdirSync(path.join(dir, 'sub'));
  fs.writeFileSync(path.join(dir, 'sub', 'f'), 'inside');
  fs.writeFileSync(path.join(dir, '..', `outside-${n}`), 'outside');
  /** @type {[string, RegExp][]} */
  const bad = [
    ['sub/f', /name 'sub\/f' is not an entry of the directory/],
    [`../outside-${n}`, /is not an entry of the directory/],
    ['/etc/passwd', /is not an entry of the directory/],
    ['sub/', /is not an entry of the directory/],
    ['.', /name '\.' is not an entry/],
    ['..', /name '\.\.' is not an entry/],
    ['', /name is empty/],
    ['f\0x', /NUL byte/],
    ['x'.repeat(256), /256 bytes long, above the 255-byte limit/],
    ['é'.repeat(128), /256 bytes long/], // 128 characters, 256 bytes of UTF-8
  ];
  const before = openFds();
  for (const [name, message] of bad) {
    for (const call of [() => at().openat(fd, name, C.O_RDONLY), () => at().openat(fd, name, C.O_RDWR | C.O_CREAT, 0o600), () => at().lstatat(fd, name), () => at().unlinkat(fd, name)]) {
      assert.throws(call, (/** @type {any} */ e) => e instanceof TypeError && /** @type {any} */ (e).code === 'ERR_INVALID_ARG_VALUE' && message.test(e.message), JSON.stringify(name));
    }
  }
  assert.equal(openFds(), before, 'nothing was opened');
  assert.equal(fs.readFileSync(path.join(dir, 'sub', 'f'), 'utf8'), 'inside');
  assert.equal(fs.readFileSync(path.join(dir, '..', `outside-${n}`), 'utf8'), 'outside');
  assert.deepEqual(fs.readdirSync(dir), ['sub'], 'nothing was made');
  // At the limit: 255 bytes is a name like any other (absent here).
  assert.equal(at().lstatat(fd, 'x'.repeat(255)), undefined);
  assert.equal(at().lstatat(fd, `${'é'.repeat(127)}x`), undefined);
});

test('the arguments are checked: a descriptor is an integer ≥ 0, a name a string', need, (t) => {
  const { fd } = freshDir(t);
  for (const dirfd of [-1, 1.5, NaN, '3', null, 2 ** 31]) {
    assert.throws(() => at().lstatat(/** @type {any} */ (dirfd), 'x'), (/** @type {any} */ e) => e instanceof TypeError && /dirfd must be an integer/.test(e.message), String(dirfd));
  }
  assert.throws(() => at().openat(fd, /** @type {any} */ (42), C.O_RDONLY), (/** @type {any} */ e) => e.code === 'ERR_INVALID_ARG_TYPE' && /name must be a string/.test(e.message));
  assert.throws(() => at().openat(fd, 'x', /** @type {any} */ ('r')), /flags must be an integer/);
  assert.throws(() => at().openat(fd, 'x', C.O_RDONLY, 0o10000), /mode must be an integer/);
});

test('errors are shaped like Node fs errors: ENOENT, EBADF, ELOOP for a symlink opened with O_NOFOLLOW', need, (t) => {
  const { dir, fd } = freshDir(t);
  assert.throws(() => at().openat(fd, 'missing', C.O_RDONLY), (/** @type {any} */ e) => {
    const err = /** @type {NodeJS.ErrnoException} */ (e);
    assert.ok(err instanceof Error && !(err instanceof TypeError));
    assert.equal(err.code, 'ENOENT');
    assert.equal(err.errno, -2);
    assert.equal(err.syscall, 'openat');
    assert.equal(err.message, "ENOENT: no such file or directory, openat 'missing'");
    return true;
  });
  assert.equal(at().lstatat(fd, 'missing'), undefined, 'lstatat: undefined for ENOENT only');
  assert.throws(() => at().unlinkat(fd, 'missing'), { code: 'ENOENT', errno: -2, syscall: 'unlinkat' });

  fs.writeFileSync(path.join(tmp, `target-${n}`), 'target');
  fs.symlinkSync(path.join(tmp, `target-${n}`), path.join(dir, 'link'));
  assert.throws(() => at().openat(fd, 'link', C.O_RDONLY | C.O_NOFOLLOW), { code: 'ELOOP', syscall: 'openat' });
  fs.mkdirSync(path.join(tmp, `tdir-${n}`));
  fs.symlinkSync(path.join(tmp, `tdir-${n}`), path.join(dir, 'dirlink'));
  assert.throws(() => at().openat(fd, 'dirlink', C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW), { code: 'ENOTDIR' }, 'as open(2) says for a directory symlink');
  const st = at().lstatat(fd, 'link');
  assert.equal(/** @type {any} */ (st).mode & C.S_IFMT, C.S_IFLNK, 'lstatat does not follow');

  const closed = fs.openSync(dir, C.O_RDONLY);
  fs.closeSync(closed);
  assert.throws(() => at().lstatat(closed, 'x'), { code: 'EBADF', syscall: 'fstatat' });
  fs.mkdirSync(path.join(dir, 'sub'));
  assert.throws(() => at().unlinkat(fd, 'sub'), { code: 'EISDIR', syscall: 'unlinkat' }, 'files only');
});

test('lstatat gives what fs.lstatSync gives', need, (t) => {
  const { dir, fd } = freshDir(t);
  const file = path.join(dir, 'sess_x');
  fs.writeFileSync(file, 'a|i:1;', { mode: 0o640 });
  fs.utimesSync(file, new Date('2001-02-03T04:05:06.789Z'), new Date('2001-02-03T04:05:06.789Z'));
  const want = fs.lstatSync(file);
  const got = at().lstatat(fd, 'sess_x');
  assert.deepEqual(got, { dev: want.dev, ino: want.ino, mode: want.mode, uid: want.uid, size: want.size, mtimeMs: want.mtimeMs, nlink: want.nlink });
});

test('fstat gives what fs.fstatSync gives, and fails as it does', need, (t) => {
  const { dir } = freshDir(t);
  const file = path.join(dir, 'sess_y');
  fs.writeFileSync(file, 'n|i:42;', { mode: 0o600 });
  fs.linkSync(file, path.join(dir, 'second-name'));
  fs.utimesSync(file, new Date('2011-12-13T14:15:16.171Z'), new Date('2011-12-13T14:15:16.171Z'));
  const fd = fs.openSync(file, C.O_RDWR);
  t.after(() => fs.closeSync(fd));
  const want = fs.fstatSync(fd);
  assert.deepEqual(at().fstat(fd), { dev: want.dev, ino: want.ino, mode: want.mode, uid: want.uid, size: want.size, mtimeMs: want.mtimeMs, nlink: 2 });
  // The buffer it fills is shared: each result is an object of its own.
  fs.writeSync(fd, 'longer content');
  const first = at().fstat(fd);
  fs.ftruncateSync(fd, 3);
  assert.equal(at().fstat(fd).size, 3);
  assert.equal(first.size, 14);

  const closed = fs.openSync(file, C.O_RDONLY);
  fs.closeSync(closed);
  assert.throws(() => at().fstat(closed), (/** @type {any} */ e) => e.code === 'EBADF' && e.errno === -9 && e.syscall === 'fstat' && e.message === 'EBADF: bad file descriptor, fstat');
  for (const bad of [-1, 1.5, '3', null]) {
    assert.throws(() => at().fstat(/** @type {any} */ (bad)), (/** @type {any} */ e) => e instanceof TypeError && /fd must be an integer/.test(e.message), String(bad));
  }
});

test('openat opens and creates relative to the descriptor, always with O_CLOEXEC', need, (t) => {
  const { dir, fd } = freshDir(t);
  fs.writeFileSync(path.join(dir, 'a'), 'hello');
  const r = at().openat(fd, 'a', C.O_RDONLY);
  try {
    assert.equal(fs.readFileSync(r, 'utf8'), 'hello');
    const flags = Number.parseInt(/^flags:\s*(\d+)$/m.exec(fs.readFileSync(`/proc/self/fdinfo/${r}`, 'utf8'))?.[1] ?? '', 8);
    assert.equal(flags & 0o2000000, 0o2000000, 'O_CLOEXEC is set (fdinfo flags, octal)');
  } finally {
    fs.closeSync(r);
  }
  const w = at().openat(fd, 'new', C.O_RDWR | C.O_CREAT | C.O_EXCL, 0o600);
  fs.closeSync(w);
  assert.equal(fs.statSync(path.join(dir, 'new')).mode & 0o777, 0o600 & ~process.umask());
  assert.throws(() => at().openat(fd, 'new', C.O_RDWR | C.O_CREAT | C.O_EXCL, 0o600), { code: 'EEXIST' });
});

test('openpath (openat2 with RESOLVE_NO_SYMLINKS) opens an absolute path and refuses a symlink at any level', need, (t) => {
  const { dir } = freshDir(t);
  const openpath = /** @type {NonNullable<ReturnType<typeof at>['openpath']>} */ (at().openpath);
  assert.equal(typeof openpath, 'function', 'this build has openpath');
  fs.mkdirSync(path.join(dir, 'real'));
  fs.writeFileSync(path.join(dir, 'real', 'f'), 'hello');
  const r = openpath(path.join(dir, 'real', 'f'), C.O_RDONLY);
  try {
    assert.equal(fs.readFileSync(r, 'utf8'), 'hello');
    const flags = Number.parseInt(/^flags:\s*(\d+)$/m.exec(fs.readFileSync(`/proc/self/fdinfo/${r}`, 'utf8'))?.[1] ?? '', 8);
    assert.equal(flags & 0o2000000, 0o2000000, 'O_CLOEXEC is set');
  } finally {
    fs.closeSync(r);
  }
  fs.symlinkSync(path.join(dir, 'real'), path.join(dir, 'link'));
  fs.symlinkSync(path.join(dir, 'real', 'f'), path.join(dir, 'real', 'flink'));
  for (const p of [path.join(dir, 'link', 'f'), path.join(dir, 'real', 'flink')]) {
    assert.throws(() => openpath(p, C.O_RDONLY), (/** @type {any} */ e) => e.code === 'ELOOP' && e.syscall === 'openat2' && e.message.includes(p), p);
  }
  const before = openFds();
  for (const bad of ['relative/f', '', `${dir}/real/f\0x`, 'x'.repeat(5000)]) {
    assert.throws(() => openpath(bad, C.O_RDONLY), (/** @type {any} */ e) => e instanceof TypeError && /** @type {any} */ (e).code === 'ERR_INVALID_ARG_VALUE', JSON.stringify(bad.slice(0, 20)));
  }
  assert.throws(() => openpath(/** @type {any} */ (7), C.O_RDONLY), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.equal(openFds(), before, 'nothing was opened');
  const w = openpath(path.join(dir, 'real', 'new'), C.O_RDWR | C.O_CREAT | C.O_EXCL, 0o600);
  fs.closeSync(w);
  assert.equal(fs.statSync(path.join(dir, 'real', 'new')).mode & 0o777, 0o600 & ~process.umask());
  assert.throws(() => openpath(path.join(dir, 'real', 'new'), C.O_RDWR | C.O_CREAT | C.O_EXCL, 0o600), { code: 'EEXIST' });
  assert.throws(() => openpath(path.join(dir, 'nope', 'f'), C.O_RDONLY), { code: 'ENOENT' });
});

test('unlinkat removes exactly the named entry (a symlink, not its target)', need, (t) => {
  const { dir, fd } = freshDir(t);
  for (const name of ['a', 'b', 'c']) fs.writeFileSync(path.join(dir, name), name);
  const target = path.join(tmp, `kept-${n}`);
  fs.writeFileSync(target, 'kept');
  fs.symlinkSync(target, path.join(dir, 'link'));
  assert.equal(at().unlinkat(fd, 'b'), undefined);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['a', 'c', 'link']);
  at().unlinkat(fd, 'link');
  assert.deepEqual(fs.readdirSync(dir).sort(), ['a', 'c']);
  assert.equal(fs.readFileSync(target, 'utf8'), 'kept');
});

test('the descriptor is what counts: a directory renamed and replaced by a symlink is still the one written in', need, (t) => {
  const { dir, fd } = freshDir(t);
  const elsewhere = path.join(tmp, `elsewhere-${n}`);
  fs.mkdirSync(elsewhere);
  fs.writeFileSync(path.join(elsewhere, 'sess_x'), 'outside');
  fs.writeFileSync(path.join(dir, 'sess_x'), 'inside');
  const moved = `${dir}-moved`;
  fs.renameSync(dir, moved);
  fs.symlinkSync(elsewhere, dir);
  at().unlinkat(fd, 'sess_x');
  assert.deepEqual(fs.readdirSync(moved), []);
  assert.equal(fs.readFileSync(path.join(elsewhere, 'sess_x'), 'utf8'), 'outside');
});

test('SESSCTL_NO_NATIVE=1 turns the helper off (and says why); without it, it loads wherever it is built', () => {
  const mod = new URL('../../../../dist/backends/shared/file-io/native-at.js', import.meta.url).href;
  const show = `const m = await import(${JSON.stringify(mod)}); console.log(JSON.stringify([m.NATIVE_AT === null, m.NATIVE_AT_UNAVAILABLE]));`;
  const run = (/** @type {Record<string, string>} */ env) => {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', show], { env: { ...process.env, ...env }, encoding: 'utf8' });
    assert.equal(r.stderr, '');
    return JSON.parse(r.stdout);
  };
  assert.deepEqual(run({ SESSCTL_NO_NATIVE: '1' }), [true, 'turned off by SESSCTL_NO_NATIVE']);
  // '0' is not "off": the helper loads if it is built (whatever this process was started with).
  const built = process.platform === 'linux' && fs.existsSync(new URL('../../../../native/build/Release/sessctl_at.node', import.meta.url));
  const [off, why] = run({ SESSCTL_NO_NATIVE: '0' });
  if (built) assert.deepEqual([off, why], [false, null]);
  else assert.notEqual(why, 'turned off by SESSCTL_NO_NATIVE');
});
