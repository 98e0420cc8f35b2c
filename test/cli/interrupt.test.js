// Ctrl-C (SIGINT) in the middle of the long-running writing commands: gc stops where it is
// and says so (the counts so far, exit 1). The
// signal is sent once the command has shown it is at work (its first output line), never
// after a sleep.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { BIN, ROOT } from '../helpers/cli.js';
import { freshDirs } from '../helpers/fresh-dirs.js';

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
