// igbinary shares arrays (PHP's copy-on-write arrays are written once, then referred back to),
// and a few hundred bytes can nest 2^40 copies. `inspect` draws a shared array once, then
// names where it was drawn, as it does for a shared object: the tree stays as long as the data.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { igbinarySerialize, PhpArray } from 'sessctl';
import { sessctl, saveDirWith } from './run-cli.js';

const ID = 'sharedarrays0123456789abcdef';
const LEVELS = 16;
let nested = PhpArray.of('x');
for (let i = 0; i < LEVELS; i++) nested = PhpArray.of(nested, nested);
const cart = PhpArray.of('apple', 'pear');
const session = saveDirWith(ID, igbinarySerialize(new Map(/** @type {Array<[string, any]>} */ ([['cart', cart], ['saved', cart], ['nested', nested], ['empty1', new PhpArray()], ['empty2', new PhpArray()]]))));
after(() => session.remove());

test('inspect draws an igbinary-shared array once, then says where it is', () => {
  const r = sessctl(['inspect', ID, '--save-path', session.dir, '--serialize-handler', 'igbinary', '--no-php']);
  assert.equal(r.code, 0, r.stderr.slice(0, 500));
  const lines = r.stdout.split('\n');
  assert.ok(lines.length < 4 * LEVELS + 20, `${lines.length} lines`);
  assert.ok(lines.some((l) => /saved: \*shared\* array\(2\) \(the same array as cart above\)/.test(l)), r.stdout.slice(0, 2000));
  assert.ok(lines.some((l) => /\[1\]: \*shared\* array\(2\) \(the same array as nested → \[0\] above\)/.test(l)));
  // empty arrays (igbinary shares every [] after the first) are drawn as they are
  assert.ok(lines.some((l) => /empty2: array\(0\) \[\]/.test(l)));
  assert.match(r.stdout, /"x"/);
  // deep down the path to the first drawing is cut in the middle: 3 first levels … 8 last ones
  const deep = lines.find((l) => /the same array as nested → \[0\] → \[0\] .*levels/.test(l));
  assert.ok(deep, r.stdout.slice(-3000));
  assert.match(deep, /nested → \[0\] → \[0\] → … \d+ levels … → (\[0\] → ){7}\[0\] above\)$/);
});

const FLOATS_ID = 'floats0123456789abcdef';
const floats = saveDirWith(FLOATS_ID, igbinarySerialize(new Map([['neg', -0], ['nan', NaN], ['inf', -Infinity], ['big', 1e20], ['half', 0.5]])));
after(() => floats.remove());

test('inspect writes floats as PHP does (var_dump): -0, NAN, -INF, 1.0E+20', () => {
  const r = sessctl(['inspect', FLOATS_ID, '--save-path', floats.dir, '--serialize-handler', 'igbinary', '--no-php']);
  assert.equal(r.code, 0, r.stderr.slice(0, 500));
  for (const want of ['neg: float(-0)', 'nan: float(NAN)', 'inf: float(-INF)', 'big: float(1.0E+20)', 'half: float(0.5)']) assert.ok(r.stdout.includes(want), `${want} in\n${r.stdout}`);
});
