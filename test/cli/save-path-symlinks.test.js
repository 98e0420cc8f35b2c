// The save path's own components are resolved like systemd's chase(): a symlink on the way is
// followed only when root (or the process's own euid) owns it. A tenant's symlink — as the
// save path itself or as a directory above it — is refused by every command and by the
// library, before anything in its target is read, deleted or created; whom the CLI acts as is
// decided by the real directory trusted links lead to.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { FileSessionStore, FileAdminSource, createSessionDirs, parseSavePath, gcFiles } from 'sessctl/files';
import { sessctl, tempDir, removeDir, ROOT } from '../helpers/cli.js';
import { STRICT } from '../helpers/env.js';

const isRoot = process.getuid?.() === 0;
const rootOnly = isRoot ? {} : STRICT ? {} : { skip: '!!! needs root: SKIPPED (CI runs as root)' };
const TENANT = 65534; // nobody: a uid that is neither root nor us, without creating a user
const ID = 'rootsession0123456789abcd';
const DATA = 'root|s:8:"R00TDATA";';
const env = { SESSCTL_PHP_BINARY: '/nonexistent' };
const tmp = tempDir('sp-links');
fs.chmodSync(tmp, 0o755);
after(() => removeDir(tmp));

/** Root's private save path holding one expired session. */
function rootSavePath(name) {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir, { mode: 0o700 });
  const file = path.join(dir, `sess_${ID}`);
  fs.writeFileSync(file, DATA, { mode: 0o600 });
  const old = new Date('2001-01-01T00:00:00Z');
  fs.utimesSync(file, old, old);
  return { dir, file };
}

/** A directory the tenant owns, with a symlink the tenant owns in it. */
function tenantLink(name, target) {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir);
  fs.chownSync(dir, TENANT, TENANT);
  const link = path.join(dir, 'link');
  fs.symlinkSync(target, link);
  fs.lchownSync(link, TENANT, TENANT);
  return link;
}

/** Nothing in root's save path was read, deleted or created. */
function untouched({ dir, file }) {
  assert.deepEqual(fs.readdirSync(dir), [`sess_${ID}`]);
  assert.equal(fs.readFileSync(file, 'utf8'), DATA);
}

const COMMANDS = [
  ['inspect', ID],
  ['gc', '--maxlifetime', '60'],
  ['destroy', ID],
  ['set', ID, 'root', '"x"'],
  ['list'],
  ['stats'],
];

function assertRefused(r, link) {
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, new RegExp(`${link.replaceAll('/', '\\/')} is a symlink owned by uid ${TENANT}; not followed`));
  assert.doesNotMatch(r.stdout, /R00TDATA/);
}

/** Every command (with each of `extras`) and mkdirs on `savePath` are refused, naming `link`. */
function everyCommandRefuses(savePath, link, extras) {
  for (const args of COMMANDS) {
    for (const extra of extras) {
      const r = sessctl([...args, '--save-path', savePath, '--no-php', '--json', ...extra], { env });
      assertRefused(r, link);
    }
  }
  const mk = sessctl(['mkdirs', '--save-path', `1;${savePath}`, '--bits', '4', '--no-php'], { env });
  assertRefused(mk, link);
}

test('a tenant-owned symlink as the save path is refused by every command (exit 2), and its target is untouched', rootOnly, () => {
  const sp = rootSavePath('last');
  const link = tenantLink('tenant-last', sp.dir);
  everyCommandRefuses(link, link, [[], ['--as-root']]);
  untouched(sp);
});

test('a tenant-owned symlink as a directory above the save path is refused the same way', rootOnly, () => {
  const sp = rootSavePath('middle');
  const link = tenantLink('tenant-middle', tmp);
  everyCommandRefuses(path.join(link, 'middle'), link, [[]]);
  untouched(sp);
});

test('gc --system refuses a configured save path that leads through a tenant symlink', rootOnly, () => {
  const sp = rootSavePath('system');
  const link = tenantLink('tenant-system', sp.dir);
  const sys = path.join(tmp, 'sysroot');
  fs.mkdirSync(path.join(sys, 'etc/php/8.2/cli'), { recursive: true });
  fs.writeFileSync(path.join(sys, 'etc/php/8.2/cli/php.ini'), `session.save_path = "${link}"\nsession.gc_maxlifetime = 60\n`);
  const r = sessctl(['gc', '--system', '--system-root', sys, '--no-php'], { env });
  assert.notEqual(r.code, 0, r.stdout);
  assert.match(r.stderr, /is a symlink owned by uid 65534; not followed/);
  untouched(sp);
});

test("root's own symlinks are followed, in a chain, relative or absolute, and the real directory's owner is acted as", rootOnly, () => {
  const sp = rootSavePath('chain');
  // chain-c -> chain-b -> (relative) chain -> the real directory
  fs.symlinkSync('chain', path.join(tmp, 'chain-b'));
  fs.symlinkSync(path.join(tmp, 'chain-b'), path.join(tmp, 'chain-c'));
  const r = sessctl(['inspect', ID, '--save-path', path.join(tmp, 'chain-c'), '--no-php', '--json'], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /R00TDATA/);
  const st = sessctl(['stats', '--save-path', path.join(tmp, 'chain-c'), '--no-php', '--json'], { env });
  assert.equal(st.code, 0, st.stderr);
  assert.match(JSON.parse(st.stdout).actedAs.reason, /belongs to root/);
  untouched(sp);

  // A root-owned link to a directory the tenant owns: the CLI becomes the tenant (the real owner).
  const owned = path.join(tmp, 'tenant-owned');
  fs.mkdirSync(owned, { mode: 0o730 });
  fs.chownSync(owned, TENANT, TENANT);
  fs.symlinkSync(owned, path.join(tmp, 'to-tenant'));
  const s = sessctl(['stats', '--save-path', path.join(tmp, 'to-tenant'), '--no-php', '--json'], { env });
  assert.equal(s.code, 0, s.stderr);
  assert.deepEqual({ uid: JSON.parse(s.stdout).actedAs.uid, switched: JSON.parse(s.stdout).actedAs.switched }, { uid: TENANT, switched: true });

  // One tenant link anywhere in a chain of root's is enough to refuse.
  const bad = tenantLink('tenant-chain', sp.dir);
  fs.symlinkSync(bad, path.join(tmp, 'chain-d'));
  assertRefused(sessctl(['list', '--save-path', path.join(tmp, 'chain-d'), '--no-php'], { env }), bad);
});

test('a symlink loop is a clean error (exit 2), not a hang', rootOnly, () => {
  fs.symlinkSync(path.join(tmp, 'loop-b'), path.join(tmp, 'loop-a'));
  fs.symlinkSync(path.join(tmp, 'loop-a'), path.join(tmp, 'loop-b'));
  const r = sessctl(['list', '--save-path', path.join(tmp, 'loop-a'), '--no-php'], { env });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /too many levels of symbolic links/);
});

test('the library refuses too: FileSessionStore, FileAdminSource, createSessionDirs, gcFiles', rootOnly, async () => {
  const sp = rootSavePath('library');
  const link = tenantLink('tenant-library', sp.dir);
  const refused = { code: 'ESYMLINK', message: new RegExp(`${link} is a symlink owned by uid ${TENANT}`) };
  const store = new FileSessionStore({ savePath: link });
  await assert.rejects(store.read(ID), refused);
  await assert.rejects(store.open(ID), refused);
  await assert.rejects(store.exists(ID), refused);
  await assert.rejects(store.destroy(ID), refused);
  await assert.rejects(store.update(ID, (d) => d.set('root', 'x')), refused);
  await assert.rejects(async () => {
    for await (const id of store.ids()) assert.fail(`listed ${id}`);
  }, refused);
  await assert.rejects(new FileAdminSource(link).check(), refused);
  await assert.rejects(createSessionDirs(parseSavePath(`1;${link}`), { bitsPerCharacter: 4 }), refused);
  const report = await gcFiles(parseSavePath(link), { maxlifetime: 60, jobs: 1 });
  assert.equal(report.deleted, 0);
  untouched(sp);

  // A link root owns is followed by the library as well.
  fs.symlinkSync(sp.dir, path.join(tmp, 'library-root-link'));
  const ok = new FileSessionStore({ savePath: path.join(tmp, 'library-root-link') });
  assert.equal((await ok.read(ID)).get('root'), 'R00TDATA');
});

test('as a non-root user, symlinks of root and of that user are followed, others are not', rootOnly, () => {
  const dir = path.join(tmp, 'nonroot');
  fs.mkdirSync(dir, { mode: 0o755 });
  fs.chownSync(dir, TENANT, TENANT);
  fs.writeFileSync(path.join(dir, `sess_${ID}`), DATA);
  fs.chownSync(path.join(dir, `sess_${ID}`), TENANT, TENANT);
  fs.symlinkSync(dir, path.join(tmp, 'nonroot-by-root'));
  const own = tenantLink('nonroot-own', dir); // owned by the user the process runs as
  const other = path.join(tmp, 'nonroot-other');
  fs.symlinkSync(dir, other);
  fs.lchownSync(other, 4242, 4242);
  const script = `
    import { FileSessionStore } from 'sessctl/files';
    const out = {};
    for (const p of process.argv.slice(1)) {
      try { out[p] = (await new FileSessionStore({ savePath: p }).read(${JSON.stringify(ID)})).get('root'); }
      catch (e) { out[p] = e.code; }
    }
    console.log(JSON.stringify(out));`;
  const paths = [path.join(tmp, 'nonroot-by-root'), own, other];
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, ...paths], { cwd: ROOT, uid: TENANT, gid: TENANT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { [paths[0]]: 'R00TDATA', [paths[1]]: 'R00TDATA', [paths[2]]: 'ESYMLINK' });
});

test('a store keeps its directory open between operations, but a save path swapped since is chased again', rootOnly, async () => {
  const { dir } = rootSavePath('kept');
  const store = new FileSessionStore({ savePath: dir });
  try {
    assert.equal((await store.read(ID)).get('root'), 'R00TDATA');
    // the tenant gets the path: the directory moved away, a link of theirs in its place
    const elsewhere = rootSavePath('kept-elsewhere');
    fs.renameSync(dir, `${dir}-moved`);
    fs.symlinkSync(elsewhere.dir, dir);
    fs.lchownSync(dir, TENANT, TENANT);
    await assert.rejects(store.read(ID), (/** @type {any} */ e) => e.code === 'ESYMLINK');
    assert.ok(!store.openExistingNow(ID), 'no handle through the tenant link (the promise path then reports it)');
    await assert.rejects(store.open(ID), (/** @type {any} */ e) => e.code === 'ESYMLINK');
    // a new real directory at the path: that one is used, not the kept one
    fs.unlinkSync(dir);
    fs.mkdirSync(dir, { mode: 0o700 });
    fs.writeFileSync(path.join(dir, `sess_${ID}`), 'root|s:3:"new";');
    assert.equal((await store.read(ID)).get('root'), 'new');
  } finally {
    await store.close();
  }
});

// A save path with no symlink on its way is opened by path on each request, in one openat2
// that refuses a symlink at every level (what PHP does, minus the symlinks); one reached through
// a trusted link goes through the kept directory. Either way the same refusals hold.
test('a symlink-free save path is opened by path (openat2, no symlink at any level); a linked one through the kept directory', rootOnly, async (t) => {
  const { directPath } = await import('../../dist/backends/shared/file-io/pinned-dir.js');
  const { NATIVE_AT } = await import('../../dist/backends/shared/file-io/native-at.js');
  const direct = NATIVE_AT?.openpath != null;
  if (!direct && !STRICT) t.diagnostic('!!! the native helper (with openat2) is not built: only the pinned way is checked');
  const parent = path.join(tmp, 'by-path');
  fs.mkdirSync(parent);
  const dir = path.join(parent, 'sessions');
  fs.mkdirSync(dir, { mode: 0o700 });
  fs.writeFileSync(path.join(dir, `sess_${ID}`), DATA, { mode: 0o600 });
  const store = new FileSessionStore({ savePath: dir });
  const linked = path.join(tmp, 'by-root-link');
  fs.symlinkSync(dir, linked);
  const viaLink = new FileSessionStore({ savePath: linked });
  try {
    assert.equal((await store.read(ID)).get('root'), 'R00TDATA');
    assert.equal(directPath(dir), STRICT || direct ? dir : null, 'opened by path from now on');
    const h = store.openExistingNow(ID);
    assert.ok(h, 'the synchronous open works by path');
    h.saveAndCloseNow(h.data);
    assert.equal((await viaLink.read(ID)).get('root'), 'R00TDATA');
    assert.equal(directPath(linked), null, "a path through root's link keeps to the pinned directory");

    // A directory above the session directory becomes a tenant's link to a copy elsewhere.
    const elsewhere = rootSavePath('by-path-elsewhere');
    fs.writeFileSync(elsewhere.file, 'root|s:5:"OTHER";');
    fs.renameSync(parent, `${parent}-moved`);
    fs.mkdirSync(parent);
    fs.chownSync(parent, TENANT, TENANT);
    fs.symlinkSync(elsewhere.dir, path.join(parent, 'sessions'));
    fs.lchownSync(path.join(parent, 'sessions'), TENANT, TENANT);
    await assert.rejects(store.read(ID), (/** @type {any} */ e) => e.code === 'ESYMLINK');
    assert.ok(!store.openExistingNow(ID), 'no handle through the tenant link');
    await assert.rejects(store.open(ID), (/** @type {any} */ e) => e.code === 'ESYMLINK');
    assert.equal(fs.readFileSync(elsewhere.file, 'utf8'), 'root|s:5:"OTHER";', 'nothing behind the link was touched');
    assert.deepEqual(fs.readdirSync(elsewhere.dir), [`sess_${ID}`]);
  } finally {
    await store.close();
    await viaLink.close();
  }
});
