// destroy, convert, mkdirs, config, help: driven through bin/sessctl.js, checked with real PHP.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { needPhp, runPhp } from '../helpers/env.js';
import { sessctl, tempDir, removeDir, phpWriteSession, phpHoldSession, ageFile, makeId, writeRaw } from '../helpers/cli.js';

describe('destroy', needPhp(), () => {
  const dir = tempDir('destroy');
  const holders = [];
  after(() => {
    for (const h of holders) h.kill('SIGKILL');
    removeDir(dir);
  });
  const common = ['--save-path', dir, '--no-php'];
  const ids = [1, 2, 3, 4].map((n) => makeId('d', n));
  const paths = ids.map((id) => phpWriteSession(dir, 'php', id));
  ageFile(paths[2], 7200);
  ageFile(paths[3], 7200);

  test('destroys the named session; a missing one fails (exit 1); a bad id is a usage error (exit 2)', () => {
    const r = sessctl(['destroy', ids[0], ...common]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!existsSync(paths[0]));
    const missing = sessctl(['destroy', ids[0], ...common]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no such session/);
    const bad = sessctl(['destroy', ids[1], '../../etc/passwd', ...common]);
    assert.equal(bad.code, 2);
    assert.ok(existsSync(paths[1]), 'nothing is destroyed when one id is invalid');
    assert.match(bad.stderr, /invalid session id/);
  });

  test('an age filter alone is refused: bulk destroy needs --all-matching', () => {
    const r = sessctl(['destroy', '--older-than', '1h', ...common]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--all-matching/);
    assert.ok(existsSync(paths[2]) && existsSync(paths[3]));
  });

  test('--older-than with --all-matching destroys only the old ones; a held one times out (exit 1)', async () => {
    holders.push(await phpHoldSession(dir, ids[3], 20));
    const dry = sessctl(['destroy', '--older-than', '1h', '--all-matching', '--dry-run', '--json', ...common]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(JSON.parse(dry.stdout).destroyed, 2);
    assert.ok(existsSync(paths[2]));
    // PHP's session_start() does not change the mtime, so the held one still matches.
    const r = sessctl(['destroy', '--older-than', '1h', '--all-matching', '--lock-timeout', '1s', '--json', ...common]);
    assert.equal(r.code, 1);
    const report = JSON.parse(r.stdout);
    assert.equal(report.destroyed, 1);
    assert.equal(report.failed, 1);
    assert.match(report.failures[0].message, /lock not acquired/);
    assert.ok(!existsSync(paths[2]));
    assert.ok(existsSync(paths[3]), 'the session PHP holds is not destroyed');
    assert.ok(existsSync(paths[1]), 'the fresh one is kept');
  });
});

describe('convert', needPhp(), () => {
  const dir = tempDir('convert');
  after(() => removeDir(dir));
  const common = ['--save-path', `1;${dir}`, '--no-php'];
  const a = makeId('ca', 1);
  const b = makeId('cb', 1);
  for (const id of [a, b]) mkdirSync(join(dir, id[0]), { recursive: true });
  const pa = phpWriteSession(`1;${dir}`, 'php', a);
  const pb = phpWriteSession(`1;${dir}`, 'php', b);
  ageFile(pa, 600);

  test('php → php_serialize: in place (same inode), mtime kept, PHP reads the same data back', () => {
    const before = readFileSync(pa);
    const ino = statSync(pa).ino;
    const mtime = statSync(pa).mtimeMs;
    const dry = sessctl(['convert', '--to', 'php_serialize', '--serialize-handler', 'php', '--dry-run', ...common]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /would convert 2/);
    assert.deepEqual(readFileSync(pa), before);
    const r = sessctl(['convert', '--to', 'php_serialize', '--serialize-handler', 'php', ...common]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /converted 2/);
    assert.match(r.stderr, /session.serialize_handler = php_serialize/);
    assert.equal(statSync(pa).ino, ino);
    assert.equal(Math.floor(statSync(pa).mtimeMs / 1000), Math.floor(mtime / 1000));
    assert.match(readFileSync(pa, 'latin1'), /^a:7:\{/);
    const dump = (handler, id) =>
      runPhp(['-r', `class Foo { public $a; protected $b; private $c; public $self; } ini_set('session.save_path', $argv[1]); ini_set('session.serialize_handler', $argv[2]); session_id($argv[3]); session_start(); echo json_encode([$_SESSION['user'], $_SESSION['list'], $_SESSION['r1'], $_SESSION['obj']->self === $_SESSION['obj']]);`, '--', `1;${dir}`, handler, id]).toString();
    assert.equal(dump('php_serialize', a), '["alice",[1,"two",null,true,1.5],"shared",true]');
    // Running it again changes nothing.
    const again = sessctl(['convert', '--to', 'php_serialize', '--serialize-handler', 'auto', ...common]);
    assert.equal(again.code, 0);
    assert.match(again.stdout, /converted 0, unchanged 2/);
  });

  test('refuses a session the target cannot hold (int keys for php) and leaves it as it is', () => {
    const c = makeId('cc', 1);
    mkdirSync(join(dir, 'c'), { recursive: true });
    const pc = join(dir, 'c', `sess_${c}`);
    writeFileSync(pc, 'a:2:{i:5;s:1:"x";s:1:"k";i:1;}');
    const r = sessctl(['convert', '--to', 'php', '--serialize-handler', 'php_serialize', ...common, '--json']);
    assert.equal(r.code, 1);
    const report = JSON.parse(r.stdout);
    assert.equal(report.refused, 1);
    assert.equal(report.converted, 2);
    assert.equal(report.results.find((x) => x.outcome === 'refused').id, c);
    assert.equal(readFileSync(pc, 'latin1'), 'a:2:{i:5;s:1:"x";s:1:"k";i:1;}');
    assert.ok(existsSync(pb));
  });
});

test('mkdirs creates the depth-2 tree for 5 bits per character, idempotently', () => {
  const dir = tempDir('mkdirs');
  try {
    const r = sessctl(['mkdirs', '--save-path', `2;${dir}`, '--bits', '5', '--no-php', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const { actedAs, ...result } = JSON.parse(r.stdout);
    assert.deepEqual(result, { path: dir, depth: 2, created: 32 + 32 * 32, existing: 0, bits: 5 });
    assert.equal(actedAs.uid, process.geteuid());
    assert.equal(readdirSync(dir).length, 32);
    assert.equal(readdirSync(join(dir, 'v')).length, 32);
    const again = sessctl(['mkdirs', '--save-path', `2;${dir}`, '--bits', '5', '--no-php']);
    assert.equal(again.code, 0);
    assert.match(again.stdout, /created 0 directories \(1056 already there\)/);
    const flat = sessctl(['mkdirs', '--save-path', dir, '--no-php']);
    assert.equal(flat.code, 2);
    assert.match(flat.stderr, /depth 0/);
    assert.equal(sessctl(['mkdirs', '--save-path', `2;${dir}`, '--bits', '7', '--no-php']).code, 2);
  } finally {
    removeDir(dir);
  }
});

test('config: flag > env > php.ini (+ conf.d) > php > default, with --json sources', () => {
  const dir = tempDir('config');
  try {
    const ini = join(dir, 'php.ini');
    writeFileSync(ini, '[PHP]\n; comment\nsession.save_path = "2;/srv/sess" ; trailing\nsession.serialize_handler = php_binary\nsession.gc_maxlifetime = 100\n[PATH=/x]\nsession.gc_maxlifetime = 5\n');
    mkdirSync(join(dir, 'conf.d'));
    writeFileSync(join(dir, 'conf.d', '20-s.ini'), "session.gc_maxlifetime = '7200'\n");
    const r = sessctl(['config', '--php-ini', ini, '--no-php', '--json', '--serialize-handler', 'php'], { env: { SESSCTL_SAVE_PATH: '/env/path' } });
    assert.equal(r.code, 0, r.stderr);
    const { values, sources } = JSON.parse(r.stdout);
    assert.deepEqual(values, { saveHandler: 'files', savePath: '/env/path', serializeHandler: 'php', maxlifetime: 7200, gcProbability: 1, gcDivisor: 100, sidLength: 32, sidBitsPerCharacter: 4 });
    assert.equal(sources.serializeHandler.kind, 'flag');
    assert.equal(sources.savePath.kind, 'env');
    assert.equal(sources.maxlifetime.kind, 'php.ini');
    assert.match(sources.maxlifetime.detail, /conf\.d\/20-s\.ini:1$/);
    assert.equal(sources.saveHandler.kind, 'default');
    const text = sessctl(['config', '--php-ini', ini, '--no-php']);
    assert.match(text.stdout, /session\.save_path\s+"2;\/srv\/sess" → \/srv\/sess \(depth 2, mode 0600\)\s+from php\.ini: .*php\.ini:3/);
    const missing = sessctl(['config', '--php-ini', join(dir, 'nope.ini'), '--no-php']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^sessctl: --php-ini .*nope\.ini: cannot read it/);
    const badEnv = sessctl(['list', '--no-php'], { env: { SESSCTL_SERIALIZE_HANDLER: 'json' } });
    assert.equal(badEnv.code, 2);
    assert.match(badEnv.stderr, /SESSCTL_SERIALIZE_HANDLER.*unknown serialize handler "json"/);
  } finally {
    removeDir(dir);
  }
});

test('config asks the php binary for what is still missing', needPhp(), () => {
  const r = sessctl(['config', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const { values, sources } = JSON.parse(r.stdout);
  const php = JSON.parse(runPhp(['-r', 'echo json_encode(ini_get_all("session"));']).toString());
  assert.equal(sources.savePath.kind, 'php');
  assert.equal(values.maxlifetime, Number(php['session.gc_maxlifetime'].local_value));
});

test('every command has --help with an example; corrupt files give the offset and a hexdump', () => {
  for (const cmd of ['list', 'inspect', 'gc', 'destroy', 'stats', 'validate', 'convert', 'mkdirs', 'config']) {
    const r = sessctl([cmd, '--help']);
    assert.equal(r.code, 0, cmd);
    assert.match(r.stdout, /Examples:\n  \$ sessctl /, cmd);
    // the options that may come before the command name are listed too
    assert.match(r.stdout, /Global Options:[\s\S]*--framework <name>[\s\S]*--app <path>/, cmd);
  }
  const dir = tempDir('corrupt');
  try {
    const id = makeId('bad');
    writeRaw(join(dir, `sess_${id}`), 'user|s:50:"short";');
    const r = sessctl(['inspect', id, '--save-path', dir, '--no-php']);
    assert.equal(r.code, 1);
    const [first, ...rest] = r.stderr.split('\n');
    assert.match(first, /^sessctl: .*sess_bad.*byte offset \d+/);
    assert.match(rest.join('\n'), /00000000  75 73 65 72 7c/);
    const raw = sessctl(['inspect', id, '--save-path', dir, '--no-php', '--raw']);
    assert.equal(raw.code, 0);
    assert.equal(raw.stdout, 'user|s:50:"short";');
    const debug = sessctl(['inspect', 'nosuchsession00000000000', '--save-path', dir, '--no-php', '--debug']);
    assert.equal(debug.code, 1);
    assert.match(debug.stderr, /no such session[\s\S]*\n\s+at /);
  } finally {
    removeDir(dir);
  }
});

test('list: --older-than / --newer-than / --sort / --limit; bad durations are usage errors', () => {
  const dir = tempDir('listf');
  try {
    const ages = { a: 30, b: 4000, c: 90000 };
    for (const [p, age] of Object.entries(ages)) {
      const path = join(dir, `sess_${makeId(p)}`);
      writeFileSync(path, 'k|s:' + age.toString().length + ':"' + age + '";');
      ageFile(path, age);
    }
    const ids = (args) => JSON.parse(sessctl(['list', '--save-path', dir, '--no-php', '--json', ...args]).stdout).map((r) => r.id[0]);
    assert.deepEqual(ids(['--older-than', '1h', '--sort', 'id']), ['b', 'c']);
    assert.deepEqual(ids(['--newer-than', '2h', '--sort', 'id']), ['a', 'b']);
    assert.deepEqual(ids(['--sort', 'age', '--reverse', '--limit', '2']), ['c', 'b']);
    assert.deepEqual(ids(['--sort', 'size']), ['a', 'b', 'c']);
    const nd = sessctl(['list', '--save-path', dir, '--no-php', '--ndjson', '--limit', '1']);
    assert.equal(nd.stdout.trim().split('\n').length, 1);
    for (const bad of [['--older-than', 'yesterday'], ['--limit', '-1'], ['--sort', 'name']]) {
      const r = sessctl(['list', '--save-path', dir, '--no-php', ...bad]);
      assert.equal(r.code, 2, bad.join(' '));
      assert.match(r.stderr, /^sessctl: /);
    }
  } finally {
    removeDir(dir);
  }
});
