// Point 7 of the hardening issue, codec side: every walk over a decoded value handles the
// decoder's own maximum depth (4,096) — serialize, toPlain (plain and JSON mode), fromPlain
// (plain and JSON mode) — without overflowing the JS stack.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { unserialize, serialize, toPlain, fromPlain, EncodeError, PhpArray, PhpObject } from 'sessctl';

const DEPTH = 4096;
const deepArray = 'a:1:{i:0;'.repeat(DEPTH) + 'N;' + '}'.repeat(DEPTH);
const deepObject = 'O:8:"stdClass":1:{s:1:"a";'.repeat(DEPTH) + 'N;' + '}'.repeat(DEPTH);

function depthOf(v, step) {
  let d = 0;
  for (let x = v; x !== null && x !== undefined; x = step(x)) d++;
  return d;
}

for (const [name, bytes, step] of /** @type {[string, string, (x: any) => any][]} */ ([
  ['arrays', deepArray, (x) => (x instanceof PhpArray ? x.get(0) : Array.isArray(x) ? x[0] : x instanceof Map ? x.get(0) : undefined)],
  ['objects', deepObject, (x) => (x instanceof PhpObject ? x.props.get('a') : x instanceof Map ? x.get('a') : typeof x === 'object' ? x.a : undefined)],
])) {
  test(`${name} ${DEPTH} deep: decode, serialize, toPlain and fromPlain (plain and JSON)`, () => {
    const v = unserialize(bytes);
    assert.equal(depthOf(v, step), DEPTH);
    assert.equal(serialize(v).toString('latin1'), bytes);
    for (const options of /** @type {import('sessctl').PlainOptions[]} */ ([{}, { json: true }, { cycles: 'throw' }])) {
      const plain = toPlain(v, options);
      assert.equal(depthOf(plain, step), DEPTH);
    }
    const plain = toPlain(v);
    for (const options of [{}, { json: true }]) {
      const back = fromPlain(plain, options);
      assert.equal(depthOf(back, step), DEPTH, JSON.stringify(options));
    }
  });
}

test(`plain JS ${DEPTH} deep is written by serialize and fromPlain (plain and JSON mode)`, () => {
  let list = null;
  let obj = null;
  for (let i = 0; i < DEPTH; i++) {
    list = [list];
    obj = { a: obj };
  }
  assert.equal(serialize(list).toString('latin1'), deepArray);
  assert.equal(serialize(fromPlain(list, { json: true })).toString('latin1'), deepArray);
  assert.equal(serialize(fromPlain(list)).toString('latin1'), deepArray);
  const objBytes = 'a:1:{s:1:"a";'.repeat(DEPTH) + 'N;' + '}'.repeat(DEPTH);
  assert.equal(serialize(obj).toString('latin1'), objBytes);
  assert.equal(serialize(fromPlain(obj, { json: true })).toString('latin1'), objBytes);
});

test('fromPlain in JSON mode still refuses nesting beyond 4096 levels, by name', () => {
  let list = null;
  for (let i = 0; i < DEPTH + 2; i++) list = [list];
  assert.throws(() => fromPlain(list, { json: true }), (e) => e instanceof EncodeError && /nested deeper than 4096/.test(e.message));
});
