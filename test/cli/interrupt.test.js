// Ctrl-C (SIGINT) in the middle of the long-running writing commands: gc and migrate stop
// where they are, say so (the counts so far, exit 1), and a run again finishes the job. The
// signal is sent once the command has shown it is at work (its first output line), never
// after a sleep.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { BIN, ROOT } from '../helpers/cli.js';
import { freshDirs } from '../helpers/fresh-dirs.js';
import { needRedis } from '../helpers/env.js';
import { startRedis, rawCommand } from '../helpers/redis-server.js';

const fresh = freshDirs('sessctl-interrupt-');

/** `n` sessions `sess_<id>` (ids 26 digits) in `dir`, `ageSeconds` old; every `corruptEvery`th one does not decode. */
function sessions(dir, n, { ageSeconds = 0, corruptEvery = 0 } = {}) {
  const when = new Date(Date.now() - ageSeconds * 1000);
  for (let i = 0; i < n; i++) {
    const file = path.join(dir, `sess_${String(i).padStart(26, '0')}`);
    fs.writeFileSync(file, corruptEvery && i % corruptEvery === 0 ? 'n|i:1' : `n|i:${i};`);
    if (ageSeconds) fs.utimesSync(file, when, when);
  }
}

/**
 * Runs sessctl and sends it SIGINT as soon as a line appears on `stream` (stdout or stderr).
 * @param {string[]} args
 * @param {'stdout' | 'stderr' | 'never'} stream
 * @returns {Promise<{ code: number | null, signal: string | null, stdout: string, stderr: string, sent: boolean }>}
 */
function interruptAtFirstLine(args, stream) {
  return new Promise((resolve) => {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SESSCTL_')));
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: clean, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = { stdout: '', stderr: '' };
    let sent = false;
    for (const name of /** @type {const} */ (['stdout', 'stderr'])) {
      child[name].setEncoding('utf8');
      child[name].on('data', (/** @type {string} */ d) => {
        out[name] += d;
        if (name === stream && !sent && out[name].includes('\n')) sent = child.kill('SIGINT');
      });
    }
    child.on('close', (code, signal) => resolve({ code, signal, ...out, sent }));
  });
}

test('gc --jobs 1: Ctrl-C stops it (the one-job walk runs where the signal can reach it), exit 1 with the counts so far', async () => {
  const dir = fresh();
  const n = 40_000;
  sessions(dir, n, { ageSeconds: 3600 });
  // A dry run prints each file it would delete, from the first one on.
  const r = await interruptAtFirstLine(['gc', '--save-path', dir, '--maxlifetime', '60', '--jobs', '1', '--dry-run', '--no-php'], 'stdout');
  assert.ok(r.sent, 'SIGINT sent');
  assert.equal(r.signal, null, r.stderr);
  assert.match(r.stderr, /interrupted; the counts are up to that point/);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /scanned [\d,]+, would delete/);
  assert.equal(fs.readdirSync(dir).length, n, 'a dry run deletes nothing');
});

test('migrate files → files: Ctrl-C stops it before the end; the sessions moved are whole; a run again with the report finishes', async () => {
  const from = fresh();
  const to = fresh();
  const report = path.join(fresh(), 'migrate.jsonl');
  const n = 20_000;
  // Every 50th does not decode: its "failed" line on stderr says the run is at work.
  sessions(from, n, { corruptEvery: 50 });
  const args = ['migrate', '--save-path', from, '--to-save-handler', 'files', '--to-save-path', to, '--report', report, '--maxlifetime', '86400', '--no-php'];
  const r = await interruptAtFirstLine(args, 'stderr');
  assert.ok(r.sent, 'SIGINT sent');
  assert.equal(r.signal, null, r.stderr);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /interrupted; run again with the same --report to go on/);
  const checked = Number(/checked ([\d,]+)/.exec(r.stdout)?.[1].replace(/,/g, ''));
  assert.ok(checked < n, `stopped before the end (checked ${checked} of ${n}): ${r.stdout}`);
  for (const name of fs.readdirSync(to)) {
    assert.equal(fs.readFileSync(path.join(to, name), 'utf8'), fs.readFileSync(path.join(from, name), 'utf8'), name);
  }
  const again = await interruptAtFirstLine([...args, '--quiet'], 'never');
  assert.equal(again.code, 1, 'the sessions that do not decode fail again');
  assert.equal(fs.readdirSync(to).length, n - n / 50);
});

test('migrate files → Redis: Ctrl-C ends with the counts so far and how to go on, not "This operation was aborted"; a run again finishes', needRedis(), async () => {
  const redis = await startRedis();
  try {
    const from = fresh();
    const report = path.join(fresh(), 'migrate.jsonl');
    const n = 5_000;
    sessions(from, n, { corruptEvery: 50 });
    const args = ['migrate', '--save-path', from, '--to-save-handler', 'redis', '--to-save-path', redis.url, '--report', report, '--maxlifetime', '86400', '--no-php'];
    const r = await interruptAtFirstLine(args, 'stderr');
    assert.ok(r.sent, 'SIGINT sent');
    assert.equal(r.signal, null, r.stderr);
    assert.equal(r.code, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /aborted/);
    assert.match(r.stderr, /interrupted; run again with the same --report to go on/);
    assert.match(r.stdout, /^migrate .* checked [\d,]+, moved [\d,]+/m);
    assert.equal(await rawCommand(redis.port, 'EVAL "return #redis.call(\'keys\',\'*_LOCK\')" 0'), ':0', 'no lock left behind');
    const again = await interruptAtFirstLine([...args, '--quiet'], 'never');
    assert.equal(again.code, 1, 'the sessions that do not decode fail again');
    assert.equal(await rawCommand(redis.port, 'DBSIZE'), `:${n - n / 50}`);
  } finally {
    await redis.stop();
  }
});
