// Progress: on a terminal a line with count, rate and elapsed time; nothing on a pipe (cron).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, ROOT, sessctl, tempDir, removeDir, makeId } from '../helpers/cli.js';

const dir = tempDir('progress');
after(() => removeDir(dir));
for (let n = 0; n < 600; n++) writeFileSync(join(dir, `sess_${makeId('p', n)}`), `n|i:${n};`);
const hasScript = spawnSync('script', ['--version']).status === 0;

/** Runs sessctl on a pseudo-terminal (util-linux script), returning what the terminal got. */
function onTerminal(args) {
  const cmd = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, SESSCTL_PROGRESS_DELAY_MS: '0', NO_COLOR: '1' } });
  return r.stdout;
}

test('on a pipe: no progress line, no control characters', () => {
  for (const args of [['stats'], ['gc', '--dry-run', '--maxlifetime', '1d'], ['validate'], ['list', '--json']]) {
    const r = sessctl([...args, '--save-path', dir, '--no-php'], { env: { SESSCTL_PROGRESS_DELAY_MS: '0' } });
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /[\r\x1b]/, args.join(' '));
  }
});

test('on a terminal: count, rate and elapsed time', { skip: hasScript ? false : 'script(1) (util-linux) is not installed' }, () => {
  const stats = onTerminal(['stats', '--save-path', dir, '--no-php']);
  assert.match(stats, /checked \d{3}(,\d{3})* sessions · [\d,]+\/s · \d+s/);
  assert.match(stats, /sessions +600/);
  const quiet = onTerminal(['gc', '--quiet', '--maxlifetime', '1d', '--save-path', dir, '--no-php']);
  assert.doesNotMatch(quiet, /sessions ·/, '--quiet draws no progress');
});
