// Point 6 of the hardening issue: over-long digit runs and `S:` strings. A digit run longer
// than any 64-bit int is refused without converting it (the refusal names a short excerpt,
// never the run), leading zeros are read as PHP reads them, and `S:` strings decode in one
// linear pass. Correctness only: no timings here (the commit message has the figures).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { unserialize, serialize, DecodeError } from 'sessctl';
import { needPhp, runPhp } from '../helpers/env.js';

const latin1 = (s) => Buffer.from(s, 'latin1');

function refusal(input) {
  try {
    unserialize(input);
  } catch (e) {
    assert.ok(e instanceof DecodeError, `DecodeError expected, got ${e}`);
    return e;
  }
  assert.fail('expected a DecodeError');
}

test('a 4,000,000-digit int is refused at the digits, with a short message', () => {
  const digits = '9'.repeat(4_000_000);
  for (const [input, offset] of /** @type {[string, number][]} */ ([
    [`i:${digits};`, 2],
    [`i:-${digits};`, 2],
    [`i:+${digits};`, 2],
    [`a:1:{i:${digits};i:1;}`, 7],
    [`a:1:{i:0;i:${digits};}`, 11],
  ])) {
    const e = refusal(latin1(input));
    assert.equal(e.offset, offset, input.slice(0, 12));
    assert.match(e.message, /overflows a 64-bit int/);
    assert.ok(e.message.length < 200, `message is ${e.message.length} chars`);
  }
});

test('20 significant digits are refused; 19 are range-checked; leading zeros do not count', () => {
  assert.equal(refusal('i:10000000000000000000;').offset, 2);
  assert.equal(refusal('i:9223372036854775808;').offset, 2);
  assert.equal(unserialize('i:9223372036854775807;'), 9223372036854775807n);
  assert.equal(unserialize('i:-9223372036854775808;'), -9223372036854775808n);
  assert.equal(unserialize('i:0000000000000000000000001;'), 1);
  assert.equal(unserialize(`i:${'0'.repeat(4_000_000)}1;`), 1);
  assert.equal(unserialize('i:00009223372036854775807;'), 9223372036854775807n);
  assert.equal(unserialize('i:+5;'), 5);
  assert.equal(unserialize('i:-0;'), 0);
});

test('lengths and counts with leading zeros are read (PHP reads them); too-large ones are refused', () => {
  assert.equal(unserialize('s:0000000000000003:"abc";'), 'abc');
  assert.equal(unserialize('S:0000000000000003:"abc";'), 'abc');
  assert.deepEqual([...unserialize('a:00000000000000001:{i:0;i:1;}')], [[0, 1]]);
  const e = refusal(latin1(`s:${'9'.repeat(1_000_000)}:"x";`));
  assert.equal(e.offset, 2);
  assert.ok(e.message.length < 200);
});

test('S: strings: escapes in either case, runs of any length, errors at the backslash', () => {
  assert.equal(unserialize('S:3:"a\\41b";'), 'aAb');
  assert.equal(unserialize('S:2:"\\4a\\4A";'), 'JJ');
  assert.deepEqual(unserialize('S:2:"\\ff\\00";'), Buffer.from([0xff, 0]));
  assert.equal(unserialize('S:2:"\\c3\\a9";'), 'é');
  const long = 'x'.repeat(300) + '\\5c' + 'y'.repeat(300);
  assert.equal(unserialize(`S:601:"${long}";`), 'x'.repeat(300) + '\\' + 'y'.repeat(300));
  assert.equal(refusal('S:3:"a\\4gb";').offset, 6);
  assert.equal(refusal('S:3:"ab\\4";').offset, 7);
  assert.equal(refusal('S:5:"abc";').offset, 10);
  // the declared length bounds the search: a later backslash is not part of this string
  assert.equal(refusal(`a:2:{i:0;S:80:"${'z'.repeat(79)}";i:1;S:1:"\\41";}`).offset, 95);
});

test('a 1 MB S: string with escapes decodes to the bytes PHP reads', needPhp(), () => {
  const parts = [];
  let n = 0;
  for (let i = 0; n < 1 << 20; i++) {
    const run = 'abcdefghijklmnopqrstuvwxyz'.slice(0, i % 27) + (i % 5 === 0 ? '\u00e9' : '');
    parts.push(run, `\\${(i * 37 % 256).toString(16).padStart(2, '0')}`);
    n += Buffer.byteLength(run) + 1;
  }
  const input = Buffer.from(`S:${n}:"${parts.join('')}";`, 'utf8');
  const expected = runPhp(['-r', 'echo serialize(unserialize(stream_get_contents(STDIN)));'], { input });
  assert.ok(expected.length > n, 'php decoded it');
  assert.deepEqual(serialize(unserialize(input)), expected);
});

test('ints with leading zeros and signs decode as PHP decodes them', needPhp(), () => {
  const inputs = ['i:0000000000000000000000001;', 'i:+5;', 'i:-0;', 'i:-00000000000000000000009223372036854775808;', 'a:1:{i:000000000000000000000001;i:1;}', 'a:1:{i:+7;s:1:"x";}'];
  const out = runPhp(['-r', 'foreach (json_decode(stream_get_contents(STDIN)) as $s) echo serialize(unserialize($s)), "\\n";'], { input: JSON.stringify(inputs) }).toString().trim().split('\n');
  assert.deepEqual(inputs.map((s) => serialize(unserialize(s)).toString('latin1')), out);
});
