// sessctl migrate against real PHP: a 10,000-session files tree PHP wrote moves to Redis, PHP
// (save_handler=redis) then reads every session identically and each TTL is the session's
// remaining lifetime (±2 s); a report makes the run resumable; --dry-run writes nothing;
// Redis → files and files → Memcached with php → igbinary on the way.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { needMemcached, needRedis, runPhp } from '../helpers/env.js';
import { BIN, removeDir, sessctl, tempDir } from '../helpers/cli.js';
import { iniArgs } from '../helpers/php-run.js';
import { useRedisServer } from '../helpers/redis-server.js';
import { useMemcached } from '../helpers/memcached-server.js';

const { server: redis, store: redisStore } = useRedisServer();
const mc = useMemcached(1);
const dirs = [];
after(() => dirs.forEach(removeDir));
const MAXLIFETIME = 1440;

/** PHP writes `n` sessions into `dir`, then ages each by 0…(maxlifetime + 200) s (some expired). */
function phpWritesTree(dir, n, prefix) {
  runPhp([...iniArgs({ 'session.save_path': dir, 'session.use_strict_mode': '0', 'session.use_cookies': '0' }), '-r', `
    mt_srand(7);
    [$n, $prefix, $max] = [(int)$argv[1], $argv[2], (int)$argv[3]];
    for ($i = 0; $i < $n; $i++) {
      $id = sprintf('%s%06d%s', $prefix, $i, 'abcdefghijklmnopqrstu');
      session_id($id); session_start();
      $_SESSION['i'] = $i; $_SESSION['user'] = "user$i"; $_SESSION['f'] = $i / 7; $_SESSION['list'] = [1, 'two', null, ['x' => $i % 3 === 0]];
      session_write_close();
      touch(session_save_path() . "/sess_$id", time() - mt_rand(0, $max + 200));
    }`, '--', String(n), prefix, String(MAXLIFETIME)]);
}

/** `id md5(serialize($_SESSION))` for each id, as PHP reads it with the given ini (read_and_close: nothing written). */
function phpReadsAll(ini, ids) {
  const out = runPhp([...iniArgs({ 'session.use_strict_mode': '0', 'session.use_cookies': '0', ...ini }), '-r', `
    foreach (explode("\\n", stream_get_contents(STDIN)) as $id) { if ($id === '') continue;
      session_id($id); session_start(['read_and_close' => true]); echo $id, ' ', md5(serialize($_SESSION)), "\\n"; $_SESSION = []; }`], { input: ids.join('\n') });
  return new Map(out.toString().trim().split('\n').map((l) => /** @type {[string, string]} */ (l.split(' '))));
}

function mtimesOf(dir, ids) {
  return new Map(ids.map((id) => [id, statSync(join(dir, `sess_${id}`)).mtimeMs]));
}

test('10,000 PHP file sessions → Redis: PHP reads every one identically; TTL = remaining lifetime ±2 s; resumable; dry run writes nothing', needRedis(), async (t) => {
  const dir = tempDir('migrate');
  dirs.push(dir);
  phpWritesTree(dir, 10000, 'mig');
  const ids = Array.from({ length: 10000 }, (_, i) => `mig${String(i).padStart(6, '0')}abcdefghijklmnopqrstu`);
  const mtimes = mtimesOf(dir, ids);
  // compared below: sessions that cannot run out during the test; and some long expired
  const live = ids.filter((id) => mtimes.get(id) + MAXLIFETIME * 1000 > Date.now() + 300_000);
  const dead = ids.filter((id) => mtimes.get(id) + MAXLIFETIME * 1000 < Date.now() - 5000);
  const args = ['migrate', '--save-path', dir, '--maxlifetime', String(MAXLIFETIME), '--no-php', '--to-save-handler', 'redis', '--to-save-path', redis.url];

  const dry = sessctl([...args, '--dry-run', '--json']);
  assert.equal(dry.code, 0, dry.stderr);
  assert.equal(JSON.parse(dry.stdout).moved + JSON.parse(dry.stdout).expired, 10000);
  assert.equal(await redisStore().readBytes(ids[0]), null, 'a dry run writes nothing');

  const report = join(dir, '..', `${dir.split('/').pop()}-report.jsonl`);
  dirs.push(report);
  const started = Date.now();
  const r = sessctl([...args, '--verify', '--report', report, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const rep = JSON.parse(r.stdout);
  t.diagnostic(`migrated ${rep.moved} sessions (${rep.expired} expired) in ${Date.now() - started} ms, verified ${rep.verified}`);
  assert.equal(rep.failed, 0);
  assert.equal(rep.moved + rep.expired + rep.vanished, 10000);
  assert.equal(rep.verified, rep.moved);
  assert.equal(rep.mismatched, 0);
  assert.equal(readFileSync(report, 'utf8').trim().split('\n').length, 10000);

  // PHP on Redis reads exactly what PHP on files read, for every live session; expired ones did not move.
  const onFiles = phpReadsAll({ 'session.save_path': dir }, live);
  const onRedis = phpReadsAll({ 'session.save_handler': 'redis', 'session.save_path': redis.url }, live);
  for (const id of live) assert.equal(onRedis.get(id), onFiles.get(id), id);
  for (const id of dead.slice(0, 50)) assert.equal(await redisStore().readBytes(id), null, id);

  // TTLs: what each session had left.
  let checked = 0;
  for await (const info of redisStore().sessions()) {
    if (!mtimes.has(info.id)) continue;
    const left = (mtimes.get(info.id) + MAXLIFETIME * 1000 - Date.now()) / 1000; // TTLs are read page by page
    assert.ok(Math.abs(info.ttlSeconds - left) <= 2, `${info.id}: TTL ${info.ttlSeconds}, left ${left}`);
    checked++;
  }
  assert.ok(checked >= live.length && checked <= rep.moved, `${checked} TTLs checked`); // the shortest-lived ones may have expired since

  // Again with the same report: nothing is touched twice.
  const again = sessctl([...args, '--report', report, '--json']);
  assert.equal(again.code, 0, again.stderr);
  const rep2 = JSON.parse(again.stdout);
  assert.equal(rep2.doneBefore, rep.moved);
  assert.equal(rep2.moved, 0);
});

test('Redis → files keeps each remaining lifetime as mtime; the copy already there is left unless --overwrite', needRedis(), async () => {
  const url = `${redis.url}?prefix=r2f:`;
  const s = redisStore({ savePath: url, gcMaxlifetime: 1000 });
  const ids = ['r2f000000000000000000000000000a', 'r2f000000000000000000000000000b'];
  const written = Date.now();
  for (const id of ids) await s.update(id, (d) => void d.set('from', 'redis'));
  const dir = tempDir('migrate-files');
  dirs.push(dir);
  const args = ['migrate', '--save-handler', 'redis', '--save-path', url, '--maxlifetime', '1000', '--no-php', '--to-save-handler', 'files', '--to-save-path', dir, '--json'];
  const r = sessctl(args);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).moved, 2);
  const migrated = Date.now();
  for (const id of ids) {
    // The TTL was full when written: the mtime is the write time (whole seconds), however long the CLI took.
    const mtimeMs = statSync(join(dir, `sess_${id}`)).mtimeMs;
    assert.ok(mtimeMs >= written - 2000 && mtimeMs <= migrated + 1000, `mtime ${mtimeMs} between the write (${written}) and the migration (${migrated})`);
    assert.equal(phpReadsAll({ 'session.save_path': dir }, [id]).get(id), phpReadsAll({ 'session.save_handler': 'redis', 'session.save_path': url }, [id]).get(id));
  }
  await s.update(ids[0], (d) => void d.set('from', 'redis again'));
  const second = JSON.parse(sessctl(args).stdout);
  assert.equal(second.exists, 2);
  assert.match(readFileSync(join(dir, `sess_${ids[0]}`), 'latin1'), /"redis"/);
  JSON.parse(sessctl([...args, '--overwrite']).stdout);
  assert.match(readFileSync(join(dir, `sess_${ids[0]}`), 'latin1'), /redis again/);
});

test('files (php) → Memcached with igbinary: PHP with save_handler=memcached and serialize_handler=igbinary reads every session', needMemcached(), async () => {
  const dir = tempDir('migrate-mc');
  dirs.push(dir);
  phpWritesTree(dir, 200, 'mcm');
  const ids = Array.from({ length: 200 }, (_, i) => `mcm${String(i).padStart(6, '0')}abcdefghijklmnopqrstu`);
  const mtimes = mtimesOf(dir, ids);
  const live = ids.filter((id) => mtimes.get(id) + MAXLIFETIME * 1000 > Date.now() + 300_000);
  const r = sessctl(['migrate', '--save-path', dir, '--maxlifetime', String(MAXLIFETIME), '--no-php', '--to-save-handler', 'memcached', '--to-save-path', mc.savePath, '--to-serialize-handler', 'igbinary', '--verify', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const rep = JSON.parse(r.stdout);
  assert.ok(rep.moved >= live.length);
  assert.equal(rep.mismatched, 0);
  const onFiles = phpReadsAll({ 'session.save_path': dir }, live);
  const onMc = phpReadsAll({ 'session.save_handler': 'memcached', 'session.save_path': mc.savePath, 'session.serialize_handler': 'igbinary' }, live);
  for (const id of live) assert.equal(onMc.get(id), onFiles.get(id), id);
  // the TTL is what was left (memcached's metadump gives the absolute expiry)
  const list = JSON.parse(sessctl(['list', '--json', '--save-handler', 'memcached', '--save-path', mc.savePath, '--maxlifetime', String(MAXLIFETIME), '--serialize-handler', 'igbinary', '--no-php']).stdout);
  const listedAt = Date.now();
  for (const row of list) {
    const left = (mtimes.get(row.id) + MAXLIFETIME * 1000 - listedAt) / 1000;
    assert.ok(Math.abs(row.expiresInSeconds - left) <= 2, `${row.id}: ${row.expiresInSeconds} vs ${left}`);
  }
});

/** A temporary directory with `from/` holding one `sess_<id>` file per id, and an empty `to/`. */
function fromAndTo(/** @type {string} */ prefix, /** @type {string[]} */ ids) {
  const dir = tempDir(prefix);
  const from = join(dir, 'from');
  const to = join(dir, 'to');
  for (const d of [from, to]) mkdirSync(d);
  for (const id of ids) writeFileSync(join(from, `sess_${id}`), 'a|i:1;');
  return { dir, from, to };
}

test('a report line "exists" settles the session for a re-run, but not for a re-run with --overwrite', () => {
  const id = 'existsabcdefghijklmnopqrstu';
  const { dir, from, to } = fromAndTo('migrate-report-exists', [id]);
  writeFileSync(join(to, `sess_${id}`), 'a|i:2;');
  try {
    const report = join(dir, 'report.jsonl');
    const run = (/** @type {string[]} */ ...extra) => {
      const r = sessctl(['migrate', '--save-path', from, '--to-save-handler', 'files', '--to-save-path', to, '--report', report, '--no-php', '--json', ...extra]);
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout);
    };
    assert.equal(run().exists, 1);
    assert.equal(run().doneBefore, 1);
    assert.equal(readFileSync(join(to, `sess_${id}`), 'utf8'), 'a|i:2;');
    const over = run('--overwrite');
    assert.deepEqual([over.moved, over.doneBefore], [1, 0]);
    assert.equal(readFileSync(join(to, `sess_${id}`), 'utf8'), 'a|i:1;');
    // moved is settled for every later run, --overwrite or not
    assert.equal(run('--overwrite').doneBefore, 1);
  } finally {
    removeDir(dir);
  }
});

test('a files target that cannot take a session (file size limit: EFBIG) keeps no empty file for it, and says nothing was stored', () => {
  const small = Array.from({ length: 3 }, (_, i) => `small${i}abcdefghijklmnopqrstu`);
  const { dir, from, to } = fromAndTo('migrate-target-full', small);
  const big = 'bigabcdefghijklmnopqrstuvwx';
  writeFileSync(join(from, `sess_${big}`), `a|s:3000:"${'x'.repeat(3000)}";`);
  try {
    // 4 blocks of 512 bytes: every small session fits, the big one cannot be written.
    const r = spawnSync('sh', ['-c', 'ulimit -f 4 && exec "$0" "$@"', process.execPath, BIN, 'migrate', '--save-path', from, '--to-save-handler', 'files', '--to-save-path', to, '--no-php', '--json'], { encoding: 'utf8' });
    assert.equal(r.status, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /Unhandled|at .*node:/, 'no stack trace');
    const rep = JSON.parse(r.stdout);
    assert.deepEqual([rep.moved, rep.failed], [3, 1]);
    assert.match(r.stderr, /write failed \(EFBIG\): nothing stored \(the file created for it was removed\)/);
    assert.doesNotMatch(r.stderr, /put back/);
    assert.deepEqual(readdirSync(to).sort(), small.map((id) => `sess_${id}`).sort());
    // Run again without the limit: the session moves, nothing was half-done.
    const again = sessctl(['migrate', '--save-path', from, '--to-save-handler', 'files', '--to-save-path', to, '--no-php', '--json']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(JSON.parse(again.stdout).moved, 1);
    assert.equal(readFileSync(join(to, `sess_${big}`), 'utf8'), readFileSync(join(from, `sess_${big}`), 'utf8'));
  } finally {
    removeDir(dir);
  }
});

test('--report must be a regular file: a FIFO is refused at once (no hang), a symlink is not followed', () => {
  const { dir, from, to } = fromAndTo('migrate-report', ['report0000000000000000000']);
  try {
    const fifo = join(dir, 'report.fifo');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    const args = (report) => ['migrate', '--save-path', from, '--to-save-handler', 'files', '--to-save-path', to, '--report', report, '--no-php'];
    const r = sessctl(args(fifo));
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--report .*report\.fifo: is not a regular file/);
    const target = join(dir, 'victim');
    writeFileSync(target, 'keep me\n');
    const link = join(dir, 'report.link');
    symlinkSync(target, link);
    const l = sessctl(args(link));
    assert.equal(l.code, 2, l.stderr);
    assert.match(l.stderr, /is a symbolic link/);
    assert.equal(readFileSync(target, 'utf8'), 'keep me\n');
    // a plain file works, and a second run skips what the first moved
    const ok = sessctl(args(join(dir, 'report.jsonl')));
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(readFileSync(join(dir, 'report.jsonl'), 'utf8'), /"outcome":"moved"/);
  } finally {
    removeDir(dir);
  }
});

test('a report file that cannot be written (file size limit: EFBIG) is one error line and exit 1, not a crash; every session still moves', () => {
  const ids = Array.from({ length: 200 }, (_, i) => `rfull${String(i).padStart(4, '0')}abcdefghijklmnopq`);
  const { dir, from, to } = fromAndTo('migrate-report-full', ids);
  try {
    const report = join(dir, 'report.jsonl');
    // POSIX sh counts ulimit -f in 512-byte blocks: the report stops at 4 KiB, about 100 lines of 200.
    const r = spawnSync('sh', ['-c', 'ulimit -f 8 && exec "$0" "$@"', process.execPath, BIN, 'migrate', '--save-path', from, '--to-save-handler', 'files', '--to-save-path', to, '--report', report, '--no-php', '--json'], { encoding: 'utf8' });
    assert.equal(r.status, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /Unhandled|at .*node:/, 'no stack trace');
    assert.match(r.stderr, /^sessctl: --report .*report\.jsonl: cannot write it \(EFBIG\)/m);
    const rep = JSON.parse(r.stdout);
    assert.equal(rep.moved, 200);
    assert.equal(rep.failed, 0);
    assert.match(rep.reportFileError, /EFBIG/);
    assert.ok(readFileSync(report, 'utf8').split('\n').length < 200, 'the limit did cut the report short');
    for (const id of ids) assert.equal(readFileSync(join(to, `sess_${id}`), 'utf8'), 'a|i:1;');
  } finally {
    removeDir(dir);
  }
});

test('a target that stops answering mid-run: migrate gives up after 10 sessions in a row cannot reach it, and a run again resumes', needRedis(), async () => {
  const { startRedis } = await import('../helpers/redis-server.js');
  const { migrateSessions } = await import('sessctl/admin');
  const { FileAdminSource } = await import('sessctl/files');
  const { RedisAdminSource } = await import('../../dist/backends/redis/admin-source.js');
  const server = await startRedis();
  const dir = tempDir('migrate-unreachable');
  // Short timeouts only where the server is stopped: against a live one on a loaded machine
  // they could fail a session that is merely slow.
  const url = `tcp://127.0.0.1:${server.port}?timeout=0.2&read_timeout=0.2`;
  const patient = `tcp://127.0.0.1:${server.port}`;
  const from = { saveHandler: 'files', savePath: dir, serializeHandler: 'php', maxlifetime: 3600, maxBytes: 1 << 20 };
  const target = new RedisAdminSource({ saveHandler: 'redis', savePath: url, serializeHandler: 'php', maxlifetime: 3600, maxBytes: 1 << 20 });
  const source = new FileAdminSource(dir);
  try {
    const ids = Array.from({ length: 40 }, (_, i) => `unreach${String(i).padStart(19, '0')}`);
    for (const id of ids) writeFileSync(join(dir, `sess_${id}`), 'n|i:1;');
    // Stopped, not killed: the connection stays open, but nothing ever answers.
    process.kill(server.pid, 'SIGSTOP');
    let stopped;
    try {
      stopped = await migrateSessions(source, /** @type {any} */ (from), target, { jobs: 2, lockTimeoutMs: 1000 });
    } finally {
      process.kill(server.pid, 'SIGCONT');
    }
    assert.match(String(stopped.gaveUp), /^stopped after 1\d sessions in a row could not reach a server \(last: .*no answer within 200 ms/);
    assert.ok(stopped.failed >= 10 && stopped.checked < ids.length, `gave up early: ${stopped.checked} of ${ids.length} checked`);
    assert.equal(stopped.moved, 0);
    // Answering again: the next run (a new process, so new connections) moves the sessions. Only
    // the locks of the writes that were in flight (at most one per job) may still stand, as a
    // request PHP abandoned leaves its lock until it expires: those wait, and fail, as PHP's would.
    const fresh = new RedisAdminSource({ saveHandler: 'redis', savePath: patient, serializeHandler: 'php', maxlifetime: 3600, maxBytes: 1 << 20 });
    /** @type {string[]} */
    const failures = [];
    const again = await migrateSessions(source, /** @type {any} */ (from), fresh, { jobs: 2, lockTimeoutMs: 300, onResult: (r) => void (r.outcome === 'failed' && failures.push(String(r.message))) }).finally(() => fresh.close());
    assert.equal(again.gaveUp, undefined);
    assert.ok(again.failed <= 2, JSON.stringify(again));
    for (const m of failures) assert.match(m, /_LOCK: lock not acquired/);
    assert.equal(again.moved + again.exists + again.failed, ids.length, JSON.stringify(again));
  } finally {
    await target.close();
    await source.close();
    removeDir(dir);
    await server.stop();
  }
});
