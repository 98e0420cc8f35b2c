// A small tmpfs for a test that needs a real full disk (ENOSPC) or a lack of inodes. Mounting
// needs root: without it, or when the mount is refused, the test is skipped loudly — and fails
// in CI (SESSCTL_CI_STRICT=1), where it must run.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { STRICT } from './env.js';

/**
 * Runs `fn(dir)` on a tmpfs mounted at `dir` (`options`: mount -o, e.g. `size=64k,nr_inodes=20`),
 * unmounting it afterwards (the test fails if it cannot be unmounted: something kept it open).
 * @param {import('node:test').TestContext} t
 * @param {string} dir an empty directory
 * @param {string} options
 * @param {(dir: string) => Promise<void> | void} fn
 */
export async function onTmpfs(t, dir, options, fn) {
  if (process.getuid?.() !== 0) {
    if (STRICT) assert.fail('needs root (to mount a small tmpfs)');
    t.skip('!!! needs root to mount a small tmpfs: SKIPPED');
    return;
  }
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir]);
  if (m.status !== 0) {
    if (STRICT) assert.fail(`mount tmpfs failed: ${m.stderr}`);
    t.skip(`!!! cannot mount tmpfs: ${m.stderr}`);
    return;
  }
  try {
    await fn(dir);
  } finally {
    const u = spawnSync('umount', [dir]);
    assert.equal(u.status, 0, `umount: ${u.stderr}`);
  }
}
