// Arrays igbinary shares (one array written once and referred back to) are written out in full
// at every place by msgpack, which cannot share an array: a few bytes of igbinary can name
// 2^40 copies. msgpackPack() / encodeSession(…, 'msgpack') refuse once more than 2^24 entries
// would be written again, instead of running for hours and taking all memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeSession, igbinarySerialize, igbinaryUnserialize, msgpackPack, msgpackUnpack, serialize, EncodeError, PhpArray } from 'sessctl';
import { needPhp, runPhp } from '../helpers/env.js';

const LIMIT = 1 << 24;

test('msgpack: an igbinary array shared past the limit is refused with an EncodeError', () => {
  const wide = Array.from({ length: 1 << 20 }, (_, i) => i);
  const places = Array.from({ length: LIMIT / (1 << 20) + 2 }, () => wide);
  const session = igbinaryUnserialize(igbinarySerialize({ places }));
  assert.throws(() => msgpackPack(session), (e) => e instanceof EncodeError && /shared arrays/.test(e.message));
  assert.throws(() => encodeSession(/** @type {any} */ (session), 'msgpack'), (e) => e instanceof EncodeError && /shared arrays/.test(e.message));
});

test('msgpack: a deeply shared igbinary array (2^40 copies in a few hundred bytes) is refused, not expanded', () => {
  // Each level holds the level below twice: written out in full, 2^41 entries.
  let a = PhpArray.of('x');
  for (let i = 0; i < 40; i++) a = PhpArray.of(a, a);
  const bytes = igbinarySerialize({ b: a });
  assert.ok(bytes.length < 400);
  const session = igbinaryUnserialize(bytes);
  assert.throws(() => encodeSession(/** @type {any} */ (session), 'msgpack'), EncodeError);
});

test('msgpack: sharing below the limit is written out in full, as msgpack-php writes it', () => {
  let a = PhpArray.of('x');
  for (let i = 0; i < 10; i++) a = PhpArray.of(a, a);
  const v = igbinaryUnserialize(igbinarySerialize(a));
  const packed = msgpackPack(v);
  assert.equal(packed.length, 2 ** 10 * 3 + (2 ** 10 - 1));
  assert.deepEqual(msgpackPack(msgpackUnpack(packed)), packed);
});

test('serialize() (php, php_serialize, php_binary): an igbinary array shared past the limit is refused with an EncodeError, not expanded for hours', () => {
  let a = PhpArray.of('x');
  for (let i = 0; i < 40; i++) a = PhpArray.of(a, a);
  const session = igbinaryUnserialize(igbinarySerialize({ b: a }));
  assert.throws(() => serialize(session), (e) => e instanceof EncodeError && /met more than once/.test(e.message));
  for (const handler of /** @type {const} */ (['php', 'php_serialize', 'php_binary'])) {
    assert.throws(() => encodeSession(/** @type {any} */ (session), handler), EncodeError, handler);
  }
});

test('serialize(): sharing below the limit is written out in full, byte for byte as PHP serializes the same array', needPhp(), () => {
  let a = PhpArray.of('x');
  for (let i = 0; i < 10; i++) a = PhpArray.of(a, a);
  const shared = igbinaryUnserialize(igbinarySerialize(a));
  const php = runPhp(['-r', '$a = ["x"]; for ($i = 0; $i < 10; $i++) $a = [$a, $a]; echo serialize($a);']);
  assert.deepEqual(serialize(shared), php);
});
