// Fuzzing the decoder with a deterministic PRNG: mutated and truncated inputs must only ever
// fail with a DecodeError (never TypeError/RangeError or a hang), and whatever decodes must
// re-encode without throwing, to bytes that decode and re-encode to themselves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { unserialize, serialize, decodeSession, encodeSession } from 'sessctl';
import { DecodeError } from 'sessctl';
import { prng } from '../helpers/prng.js';

const bin = (s) => Buffer.from(s, 'latin1');

const VALUE_SAMPLES = [
  'a:3:{i:0;O:8:"stdClass":0:{}i:1;r:2;i:2;R:2;}',
  'a:2:{i:0;E:3:"S:A";i:1;r:2;}',
  'a:1:{i:0;a:1:{i:0;R:2;}}',
  'O:8:"stdClass":2:{s:4:"self";r:1;s:1:"n";d:0.10000000000000001;}',
  'O:4:"User":4:{s:4:"name";s:6:"h\xc3\xa9llo";s:6:"\x00*\x00age";i:42;s:10:"\x00User\x00pass";s:3:"\xff\xfe\x00";s:4:"tags";a:2:{i:0;s:1:"a";i:5;d:-1.0E+25;}}',
  'a:6:{s:1:"a";b:1;s:1:"b";N;s:1:"c";i:-9223372036854775808;s:1:"d";d:NAN;s:1:"e";C:3:"Foo":5:{hello}s:1:"f";s:0:"";}',
  'a:2:{i:0;i:5;i:1;R:2;}',
];
// Read-only forms (S:) and non-canonical text: decoded and fuzzed, not expected to round-trip.
const READ_ONLY_SAMPLES = ['a:2:{i:0;S:3:"\\61bc";S:1:"\\35";i:+7;}'];
/** @type {[string, import('sessctl').SerializeHandler][]} */
const SESSION_SAMPLES = [
  ['a|i:1;b|R:1;c|O:8:"stdClass":1:{s:1:"x";a:1:{i:0;R:1;}}d|r:2;', 'php'],
  ['user|a:2:{s:4:"name";s:3:"ann";s:5:"roles";a:2:{i:0;s:5:"admin";i:1;s:4:"edit";}}flash|a:0:{}', 'php'],
  ['\x01ai:1;\x04userO:8:"stdClass":1:{s:1:"n";R:1;}\x01bs:2:"\xc3\xa9";', 'php_binary'],
  ['a:3:{s:1:"a";i:1;i:7;a:1:{i:0;R:3;}s:1:"o";O:8:"stdClass":1:{s:1:"p";r:4;}}', 'php_serialize'],
];

const INTERESTING = [0x3a, 0x3b, 0x22, 0x7b, 0x7d, 0x7c, 0x30, 0x31, 0x39, 0x2d, 0x61, 0x4f, 0x52, 0x72, 0x00, 0xff, 0x80];

function mutate(rand, input) {
  const b = [...input];
  const n = 1 + Math.floor(rand() * 3);
  for (let k = 0; k < n; k++) {
    const at = Math.floor(rand() * (b.length + 1));
    switch (Math.floor(rand() * 6)) {
      case 0: // flip a byte
        if (b.length) b[at % b.length] = Math.floor(rand() * 256);
        break;
      case 1: // an interesting byte
        if (b.length) b[at % b.length] = INTERESTING[Math.floor(rand() * INTERESTING.length)];
        break;
      case 2: // insert digits (grows lengths/counts/slot numbers)
        b.splice(at, 0, ...String(Math.floor(rand() * 10 ** (1 + Math.floor(rand() * 20)))).split('').map((c) => c.charCodeAt(0)));
        break;
      case 3: // delete a run
        b.splice(at, 1 + Math.floor(rand() * 4));
        break;
      case 4: // duplicate a run
        b.splice(at, 0, ...b.slice(at, at + 1 + Math.floor(rand() * 8)));
        break;
      default: // truncate
        b.length = at;
    }
  }
  return Buffer.from(b);
}

/** Decodes; any failure must be a DecodeError; a success must re-encode stably. */
function check(bytes, handler) {
  let v;
  try {
    v = handler ? decodeSession(bytes, handler) : unserialize(bytes);
  } catch (e) {
    if (!(e instanceof DecodeError)) {
      assert.fail(`${handler ?? 'unserialize'} ${JSON.stringify(bytes.toString('latin1'))} threw ${e?.name}: ${e?.message}`);
    }
    return 'refused';
  }
  let out;
  try {
    out = handler ? encodeSession(v, handler) : serialize(v);
  } catch (e) {
    assert.fail(`re-encoding what decoded from ${JSON.stringify(bytes.toString('latin1'))} threw ${e?.name}: ${e?.message}`);
  }
  const again = handler ? encodeSession(decodeSession(out, handler), handler) : serialize(unserialize(out));
  assert.equal(Buffer.compare(again, out), 0, `not stable: ${JSON.stringify(bytes.toString('latin1'))}`);
  return 'decoded';
}

test('the samples themselves round-trip byte for byte', () => {
  for (const s of VALUE_SAMPLES) assert.equal(serialize(unserialize(bin(s))).toString('latin1'), s);
  for (const [s, h] of SESSION_SAMPLES) assert.equal(encodeSession(decodeSession(bin(s), h), h).toString('latin1'), s);
});

test('truncation at every offset is a DecodeError', () => {
  for (const s of VALUE_SAMPLES) {
    const b = bin(s);
    for (let i = 0; i < b.length; i++) assert.equal(check(b.subarray(0, i)), 'refused', `${s} cut at ${i}`);
  }
  for (const [s, h] of SESSION_SAMPLES) {
    const b = bin(s);
    // a php/php_binary session cut exactly between two keys is a valid shorter session
    for (let i = 1; i < b.length; i++) check(b.subarray(0, i), h);
  }
});

test('thousands of mutated inputs: only DecodeErrors, and what decodes re-encodes', () => {
  const rand = prng(0x5e55c71);
  const stats = { refused: 0, decoded: 0 };
  for (let round = 0; round < 12000; round++) {
    if (round % 2 === 0) {
      const all = [...VALUE_SAMPLES, ...READ_ONLY_SAMPLES];
      const s = all[(round >> 1) % all.length];
      stats[check(mutate(rand, bin(s)))]++;
    } else {
      const [s, h] = SESSION_SAMPLES[round % SESSION_SAMPLES.length];
      const m = mutate(rand, bin(s));
      stats[check(m, h)]++;
      // the same bytes through the other handlers too
      for (const other of ['php', 'php_binary', 'php_serialize']) if (other !== h) check(m, other);
    }
  }
  // both outcomes must actually happen, or the mutator is not exercising anything
  assert.ok(stats.refused > 1000, JSON.stringify(stats));
  assert.ok(stats.decoded > 100, JSON.stringify(stats));
});

test('random bytes and random grammar-shaped soup: only DecodeErrors', () => {
  const rand = prng(42);
  const tokens = ['a:', 'i:', 's:', 'd:', 'O:', 'C:', 'E:', 'r:', 'R:', 'N;', 'b:', '1', '0', '9', '-', ':', ';', '"', '{', '}', '|', 'x', '2:"ab"', '8:"stdClass"', 'S:'];
  for (let k = 0; k < 3000; k++) {
    let s = '';
    const len = Math.floor(rand() * 40);
    for (let i = 0; i < len; i++) s += tokens[Math.floor(rand() * tokens.length)];
    check(bin(s));
    check(bin(s), 'php');
    const raw = Buffer.alloc(Math.floor(rand() * 24));
    for (let i = 0; i < raw.length; i++) raw[i] = Math.floor(rand() * 256);
    check(raw);
    check(raw, 'php_binary');
  }
});

test('huge declared counts and lengths fail fast without allocating', () => {
  for (const s of ['a:2147483647:{', 'a:999999999999:{}', 's:2147483647:"', 'O:8:"stdClass":2147483647:{', 'C:3:"Foo":2147483647:{', 'r:99999999;', 'R:2147483647;']) {
    assert.throws(() => unserialize(s), DecodeError, s);
  }
  const many = 'a:100000:{' + 'i:0;N;'.repeat(10) + '}';
  assert.throws(() => unserialize(many), DecodeError);
});
