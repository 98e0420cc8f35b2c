// gc with the native helper (openat, fstatat, unlinkat on the pinned directories) and without it
// (names through /proc; SESSCTL_NO_NATIVE=1): the same counts, the same files left, nothing
// outside the tree touched, at depth 0 and 2, on this thread and in worker threads — and the
// worker threads print no warning about descriptors Node did not open.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { freshDirs } from '../../helpers/fresh-dirs.js';
import { gcMixedTree, inChild } from '../../helpers/gc-scenarios.js';
import { needNativeHelper } from '../../helpers/env.js';
import { NATIVE_AT_UNAVAILABLE } from '../../../dist/backends/shared/file-io/native-at.js';

const fresh = freshDirs('sessctl-gc-native-');

const need = needNativeHelper(NATIVE_AT_UNAVAILABLE);

for (const depth of [0, 2]) {
  for (const jobs of [1, 2]) {
    test(`depth ${depth}, ${jobs === 1 ? 'one walker on this thread' : 'two worker threads'}: the same outcome with and without the native helper`, need, () => {
      const runs = [{}, { SESSCTL_NO_NATIVE: '1' }].map((env) => inChild('gcMixedTree', [fresh(), { depth, jobs }], env));
      const [native, proc] = runs.map((r) => r.value);
      for (const r of runs) assert.equal(r.stderr, '', 'no warning (a worker tracking descriptors would warn at each close)');
      assert.equal(native.native, true);
      assert.equal(proc.native, false);
      assert.deepEqual(native.counts, proc.counts);
      assert.deepEqual(native.left, proc.left);
      assert.deepEqual(native.outside, proc.outside);
      // And what that outcome is: 120 expired, one of them held locked; nothing else looked at.
      assert.deepEqual(native.counts, { scanned: 240, expired: 120, deleted: 119, skippedLocked: 1, skippedTouched: 0, vanished: 0, bytesFreed: native.counts.bytesFreed, errors: 0 });
      assert.ok(native.left.some((/** @type {string} */ l) => /sess_link.* \(symlink\)$/.test(l)) && native.left.some((/** @type {string} */ l) => /sess_fifo.* \(other\)$/.test(l)));
      assert.ok(native.outside.every((/** @type {string} */ l) => l.endsWith('/') || l.endsWith(' outside|b:1;')), native.outside.join('\n'));
    });
  }
}

test('a dry run at depth 2 deletes nothing and counts the same either way', need, () => {
  const [native, proc] = [{}, { SESSCTL_NO_NATIVE: '1' }].map((env) => inChild('gcMixedTree', [fresh(), { depth: 2, jobs: 1, dryRun: true }], env).value);
  assert.deepEqual(native.counts, proc.counts);
  assert.equal(native.counts.deleted, 119);
  assert.equal(native.left.filter((/** @type {string} */ l) => / n\|i:\d+;$/.test(l)).length, 240);
  assert.deepEqual(native.left, proc.left);
});

test('in this process too (worker threads and all): the counts are those of the child runs', need, async () => {
  const here = await gcMixedTree(fresh(), { depth: 2, jobs: 2 });
  const child = inChild('gcMixedTree', [fresh(), { depth: 2, jobs: 2 }], { SESSCTL_NO_NATIVE: '1' }).value;
  assert.equal(here.native, true);
  assert.deepEqual(here.counts, child.counts);
  assert.deepEqual(here.left, child.left);
});
