// Point 7 of the hardening issue: `inspect` draws whatever the decoder accepts. The decoder
// takes nesting 4,096 deep (its default maxDepth); the tree renderer used to recurse and ran
// out of JS stack near depth 3,000.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { sessctl, saveDirWith } from './run-cli.js';

const DEPTH = 4096;
const ID = 'deepsession0123456789abcdef';
const deepArray = 'a:1:{i:0;'.repeat(DEPTH - 1) + 'a:0:{}' + '}'.repeat(DEPTH - 1);
const deepObject = 'O:8:"stdClass":1:{s:4:"next";'.repeat(DEPTH) + 's:3:"end";' + '}'.repeat(DEPTH);
const session = saveDirWith(ID, `arr|${deepArray}obj|${deepObject}`);
after(() => session.remove());
const args = ['inspect', ID, '--save-path', session.dir, '--serialize-handler', 'php', '--no-php'];

test(`inspect draws arrays and objects nested ${DEPTH} deep`, () => {
  const r = sessctl(args);
  assert.equal(r.code, 0, r.stderr.slice(0, 500));
  assert.equal(r.stderr, '');
  const lines = r.stdout.split('\n');
  // 4096 arrays, then 4096 objects with the string in the innermost one
  assert.equal(lines.filter((l) => /array\(\d+\)/.test(l)).length, DEPTH);
  assert.equal(lines.filter((l) => /object\(stdClass\)#\d+/.test(l)).length, DEPTH);
  const deepest = lines.find((l) => l.includes('next: string(3) "end"'));
  assert.ok(deepest, 'the innermost property is drawn');
  assert.equal(deepest.indexOf('└─'), 3 * DEPTH);
  
});

test(`inspect --json prints the same ${DEPTH}-deep session`, () => {
  const r = sessctl([...args, '--json']);
  assert.equal(r.code, 0, r.stderr.slice(0, 500));
  const parsed = JSON.parse(r.stdout);
  let v = parsed.arr;
  let depth = 1;
  while (Array.isArray(v) && v.length === 1) {
    v = v[0];
    depth++;
  }
  assert.equal(depth, DEPTH);
  assert.deepEqual(v, []);
  let o = parsed.obj;
  for (depth = 0; typeof o === 'object'; depth++) {
    assert.equal(o.__class, 'stdClass');
    o = o.next;
  }
  assert.equal(depth, DEPTH);
  assert.equal(o, 'end');
});
