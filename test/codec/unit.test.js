// Unit tests of the codec (src/codec): tags, boundaries, floats, references, sessions,
// refusals, toPlain/fromPlain, class mapping, prototype safety. No PHP needed here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { unserialize, serialize, decodeSession, encodeSession, detectHandler, toPlain, fromPlain, formatPhpFloat, SERIALIZE_HANDLERS, Decoder, Encoder, ClassRegistry, PhpArray, PhpFloat, PhpObject, PhpEnum, PhpSerializable, PhpReference } from 'sessctl';
import { DecodeError, EncodeError, ConfigError } from 'sessctl';
import { DecodeError as RootDecodeError } from 'sessctl';

const bin = (s) => Buffer.from(s, 'latin1');
const str = (b) => Buffer.from(b).toString('latin1');
const roundTrip = (s) => str(serialize(unserialize(bin(s))));

test('scalars decode to the documented JS types', () => {
  assert.equal(unserialize('N;'), null);
  assert.equal(unserialize('b:0;'), false);
  assert.equal(unserialize('b:1;'), true);
  assert.equal(unserialize('i:-12;'), -12);
  assert.equal(unserialize('i:+5;'), 5);
  assert.equal(unserialize('i:9007199254740991;'), 9007199254740991);
  assert.equal(unserialize('i:9007199254740992;'), 9007199254740992n);
  assert.equal(unserialize('i:9223372036854775807;'), 9223372036854775807n);
  assert.equal(unserialize('i:-9223372036854775808;'), -9223372036854775808n);
  assert.equal(unserialize('s:5:"hello";'), 'hello');
  assert.equal(unserialize(Buffer.from('s:2:"é";')), 'é');
  const f = unserialize('d:1;');
  assert.ok(f instanceof PhpFloat);
  assert.equal(f.value, 1);
  assert.equal(f.text, undefined);
  assert.equal(unserialize('S:3:"\\61bc";'), 'abc');
});

test('each tag round-trips byte for byte', () => {
  for (const s of [
    'N;', 'b:0;', 'b:1;', 'i:0;', 'i:-1;', 'i:9223372036854775807;', 'i:-9223372036854775808;',
    'd:0.1;', 'd:-0;', 'd:INF;', 'd:-INF;', 'd:NAN;', 'd:1.0E+25;', 'd:0.10000000000000001;',
    's:0:"";', 's:3:"a\x00b";', 's:4:"\xff\xfe\xfd\xfc";', 's:3:"\xef\xbb\xbf";',
    'a:0:{}', 'a:2:{i:0;s:1:"a";s:1:"k";a:1:{i:5;N;}}', 'a:1:{i:-3;b:1;}',
    'O:8:"stdClass":0:{}', 'O:3:"Foo":3:{s:1:"a";i:1;s:6:"\x00*\x00pro";i:2;s:8:"\x00Foo\x00pri";i:3;}',
    'C:11:"ArrayObject":21:{x:i:0;a:0:{};m:a:0:{}}', 'E:7:"Suit:Hx";', 'O:6:"A\\B\\Cd":1:{s:1:"0";i:1;}',
    'O:8:"stdClass":1:{i:0;i:1;}',
  ]) {
    assert.equal(roundTrip(s), s, s);
  }
});

test('a leading BOM and invalid UTF-8 are kept exactly', () => {
  assert.equal(unserialize(bin('s:3:"\xef\xbb\xbf";')), '\ufeff');
  const b = unserialize(bin('s:2:"\xc3\x28";'));
  assert.ok(Buffer.isBuffer(b));
  assert.deepEqual([...b], [0xc3, 0x28]);
  // a non-UTF-8 array key survives as a surrogate-escaped string
  const a = unserialize(bin('a:1:{s:2:"\xe9t";i:1;}'));
  assert.equal(str(serialize(a)), 'a:1:{s:2:"\xe9t";i:1;}');
});

test('array keys: canonical numeric strings become ints, object property names stay as read', () => {
  const a = unserialize('a:4:{s:1:"5";i:1;s:2:"05";i:2;s:2:"-0";i:3;s:2:"-7";i:4;}');
  assert.deepEqual([...a.keys()], [5, '05', '-0', -7]);
  const big = unserialize('a:1:{s:19:"9223372036854775807";i:1;}');
  assert.deepEqual([...big.keys()], [9223372036854775807n]);
  const over = unserialize('a:1:{s:19:"9223372036854775808";i:1;}');
  assert.deepEqual([...over.keys()], ['9223372036854775808']);
  const o = unserialize('O:8:"stdClass":1:{s:1:"5";i:1;}');
  assert.deepEqual([...o.props.keys()], ['5']);
  assert.equal(roundTrip('O:8:"stdClass":1:{s:1:"5";i:1;}'), 'O:8:"stdClass":1:{s:1:"5";i:1;}');
  // duplicate keys: the later value wins, as in PHP
  assert.deepEqual([...unserialize('a:2:{i:0;i:1;i:0;i:2;}')], [[0, 2]]);
});

test('formatPhpFloat matches PHP 8 serialize() text at every boundary', () => {
  /** @type {[number, string][]} */
  const table = [
    [1e-5, '1.0E-5'], [1e-4, '0.0001'], [9.999999999999999e-5, '9.999999999999999E-5'], [2.5e-7, '2.5E-7'],
    [1e16, '10000000000000000'], [1e17, '1.0E+17'], [99999999999999980, '99999999999999980'],
    [1.2345678901234568e17, '1.2345678901234568E+17'], [-1e25, '-1.0E+25'], [1, '1'], [-0, '-0'], [0, '0'],
    [0.1, '0.1'], [0.30000000000000004, '0.30000000000000004'], [5e-324, '5.0E-324'],
    [1.7976931348623157e308, '1.7976931348623157E+308'], [Infinity, 'INF'], [-Infinity, '-INF'], [NaN, 'NAN'],
    [-1.5e-10, '-1.5E-10'], [123.456, '123.456'], [-1e16, '-10000000000000000'],
  ];
  for (const [n, text] of table) assert.equal(formatPhpFloat(n), text, String(n));
});

test('float text PHP 8 would not write is kept and written back verbatim', () => {
  for (const s of ['d:0.10000000000000001;', 'd:1.0;', 'd:5.;', 'd:.5;', 'd:1e5;', 'd:-.5e-3;', 'd:+1;']) {
    assert.equal(roundTrip(s), s);
  }
  assert.equal(unserialize('d:0.10000000000000001;').text, '0.10000000000000001');
  // a PhpFloat whose text does not match its value is written from the value
  assert.equal(str(serialize(new PhpFloat(2, 'garbage'))), 'd:2;');
  assert.equal(str(serialize(new PhpFloat(2, '3'))), 'd:2;');
});

test('JS numbers: integers → i:, others → d:, -0 → d:-0', () => {
  assert.equal(str(serialize(5)), 'i:5;');
  assert.equal(str(serialize(-0)), 'd:-0;');
  assert.equal(str(serialize(1.5)), 'd:1.5;');
  assert.equal(str(serialize(NaN)), 'd:NAN;');
  assert.equal(str(serialize(-Infinity)), 'd:-INF;');
  assert.equal(str(serialize(2 ** 60)), 'i:1152921504606846976;');
  assert.equal(str(serialize(1e20)), 'd:1.0E+20;');
  assert.equal(str(serialize(2n ** 63n - 1n)), 'i:9223372036854775807;');
  assert.throws(() => serialize(2n ** 63n), EncodeError);
});

test('r: is object identity; R: shares one PhpReference box', () => {
  const v = unserialize('a:3:{i:0;O:8:"stdClass":0:{}i:1;r:2;i:2;R:2;}');
  const [a, b, c] = [v.get(0), v.get(1), v.get(2)];
  assert.ok(a instanceof PhpReference, 'slot 2 was boxed retroactively');
  assert.equal(a, c);
  assert.equal(b, a.value);
  assert.equal(roundTrip('a:3:{i:0;O:8:"stdClass":0:{}i:1;r:2;i:2;R:2;}'), 'a:3:{i:0;O:8:"stdClass":0:{}i:1;r:2;i:2;R:2;}');
  const e = unserialize('a:2:{i:0;E:3:"S:A";i:1;r:2;}');
  assert.equal(e.get(0), e.get(1));
  assert.equal(roundTrip('a:2:{i:0;E:3:"S:A";i:1;r:2;}'), 'a:2:{i:0;E:3:"S:A";i:1;r:2;}');
  const s = unserialize('a:2:{i:0;i:5;i:1;R:2;}');
  assert.ok(s.get(0) instanceof PhpReference);
  assert.equal(s.get(0), s.get(1));
  assert.equal(s.get(0).value, 5);
});

test('cycles decode and re-encode (no infinite loop)', () => {
  const self = unserialize('O:8:"stdClass":1:{s:4:"self";r:1;}');
  assert.equal(self.props.get('self'), self);
  assert.equal(roundTrip('O:8:"stdClass":1:{s:4:"self";r:1;}'), 'O:8:"stdClass":1:{s:4:"self";r:1;}');
  const arr = unserialize('a:1:{i:0;a:1:{i:0;R:2;}}');
  const box = arr.get(0);
  assert.ok(box instanceof PhpReference);
  assert.equal(/** @type {PhpArray} */ (box.value).get(0), box, 'the inner array holds the box that holds it');
  assert.equal(roundTrip('a:1:{i:0;a:1:{i:0;R:2;}}'), 'a:1:{i:0;a:1:{i:0;R:2;}}');
  // the top-level value referring to itself
  assert.equal(roundTrip('a:1:{i:0;R:1;}'), 'a:1:{i:0;R:1;}');
  // toPlain keeps the cycle as JS identity
  const p = /** @type {any} */ (toPlain(self));
  assert.equal(p.self, p);
});

test('encoder mirrors PHP slots: object via box then plain → r:, plain then box → R:', () => {
  const o = new PhpObject('stdClass');
  const box = new PhpReference(o);
  assert.equal(str(serialize(PhpArray.of(o, o, box))), 'a:3:{i:0;O:8:"stdClass":0:{}i:1;r:2;i:2;R:2;}');
  assert.equal(str(serialize(PhpArray.of(box, o, box))), 'a:3:{i:0;O:8:"stdClass":0:{}i:1;r:2;i:2;R:2;}');
  const sb = new PhpReference(1);
  assert.equal(str(serialize(PhpArray.of('x', sb, 'y', sb))), 'a:4:{i:0;s:1:"x";i:1;i:1;i:2;s:1:"y";i:3;R:3;}');
  // an array that contains itself without a reference cannot be written
  const loop = new PhpArray();
  loop.set(0, loop);
  assert.throws(() => serialize(loop), EncodeError);
  const plainLoop = [];
  plainLoop.push(plainLoop);
  assert.throws(() => serialize(plainLoop), /contains itself/);
});

test('bad r:/R: targets are DecodeErrors', () => {
  for (const s of ['a:1:{i:0;r:0;}', 'a:1:{i:0;R:2;}', 'a:1:{i:0;r:1;}', 'a:2:{i:0;i:5;i:1;r:2;}', 'a:3:{i:0;O:8:"stdClass":0:{}i:1;R:2;i:2;r:3;}', 'r:1;']) {
    assert.throws(() => unserialize(s), DecodeError, s);
  }
});

test('php session format: one slot table across keys, refs between keys', () => {
  const s = decodeSession('a|i:1;b|R:1;', 'php');
  assert.ok(s.get('a') instanceof PhpReference);
  assert.equal(s.get('a'), s.get('b'));
  assert.equal(str(encodeSession(s, 'php')), 'a|i:1;b|R:1;');
  const src = 'a|O:8:"stdClass":0:{}b|r:1;c|a:2:{i:0;i:1;i:1;r:1;}';
  const t = decodeSession(src, 'php');
  assert.equal(t.get('a'), t.get('b'));
  assert.equal(str(encodeSession(t, 'php')), src);
  // a top-level key that looks numeric stays the string PHP stores
  const n = decodeSession('5|i:1;', 'php');
  assert.deepEqual([...n.keys()], ['5']);
  assert.equal(str(encodeSession(n, 'php')), '5|i:1;');
  assert.deepEqual([...decodeSession('|i:1;', 'php')], [['', 1]]);
  assert.equal(decodeSession('', 'php').size, 0);
  assert.equal(decodeSession(Buffer.alloc(0), 'php_binary').size, 0);
  assert.equal(decodeSession('', 'php_serialize').size, 0);
});

test('php_binary and php_serialize formats', () => {
  const b = decodeSession(bin('\x01ai:1;\x81bR:1;'), 'php_binary');
  assert.equal(b.get('a'), b.get('b'));
  assert.equal(str(encodeSession(b, 'php_binary')), '\x01ai:1;\x01bR:1;');
  const ps = decodeSession('a:2:{s:1:"a";i:1;i:7;s:1:"x";}', 'php_serialize');
  assert.deepEqual([...ps.keys()], ['a', 7]);
  assert.equal(str(encodeSession(ps, 'php_serialize')), 'a:2:{s:1:"a";i:1;i:7;s:1:"x";}');
  assert.equal(str(encodeSession({ user: { name: 'x' } }, 'php_serialize')), 'a:1:{s:4:"user";a:1:{s:4:"name";s:1:"x";}}');
  assert.equal(str(encodeSession(new Map([['k', 1]]), 'php')), 'k|i:1;');
  assert.deepEqual(SERIALIZE_HANDLERS, ['php', 'php_serialize', 'php_binary', 'igbinary', 'msgpack']);
});

test('session data PHP refuses is a DecodeError with the offset', () => {
  /** @type {[string, import('sessctl').SerializeHandler, number][]} */
  const bad = [
    ['a|i:1;junk', 'php', 6], ['a|i:1;b', 'php', 6], ['ai:1;', 'php', 0], ['a|', 'php', 2], ['a|i:1;b|', 'php', 8],
    ['a|i:1;b|R:2;', 'php', 8], ['a|i:1;;', 'php', 6],
    ['\x01ai:1;junk', 'php_binary', 6], ['\x01a', 'php_binary', 0], ['\x05abc', 'php_binary', 0],
    ['a:0:{}x', 'php_serialize', 6], ['i:5;', 'php_serialize', 0],
  ];
  for (const [s, h, offset] of bad) {
    assert.throws(() => decodeSession(bin(s), h), (e) => e instanceof DecodeError && e.offset === offset, `${h} ${JSON.stringify(s)}`);
  }
  // @ts-expect-error 'nope' is not a serialize handler: checks the runtime refuses it
  assert.throws(() => decodeSession('x', 'nope'), ConfigError);
  assert.throws(
    () => decodeSession('a|i:1;junk', 'php', { source: '/tmp/sess_abc' }),
    (e) => e instanceof RootDecodeError && e.message === "/tmp/sess_abc: expected '|' after a session key name at byte offset 6",
  );
});

test('encodeSession refuses what PHP would mangle, naming the key', () => {
  assert.throws(() => encodeSession({ 'a|b': 1 }, 'php'), (e) => e instanceof EncodeError && /"a\|b"/.test(e.message));
  assert.throws(() => encodeSession({ ['k'.repeat(128)]: 1 }, 'php_binary'), (e) => e instanceof EncodeError && /128 bytes/.test(e.message));
  assert.doesNotThrow(() => encodeSession({ ['k'.repeat(127)]: 1 }, 'php_binary'));
  assert.doesNotThrow(() => encodeSession({ 'a|b': 1 }, 'php_binary'));
  const intKeys = new PhpArray([[5, 'x']]);
  assert.throws(() => encodeSession(intKeys, 'php'), /int/);
  assert.throws(() => encodeSession(intKeys, 'php_binary'), /int/);
  assert.equal(str(encodeSession(intKeys, 'php_serialize')), 'a:1:{i:5;s:1:"x";}');
  assert.throws(() => encodeSession({ f: () => 1 }, 'php'), (e) => e instanceof EncodeError && /\$_SESSION\["f"\]/.test(e.message));
  // @ts-expect-error a list is not a session (string keys): checks the runtime refuses it
  assert.throws(() => encodeSession([1, 2], 'php'), EncodeError);
});

test('detectHandler guesses the format', () => {
  assert.equal(detectHandler('a|i:1;'), 'php');
  assert.equal(detectHandler('a:1:{s:1:"a";i:1;}'), 'php_serialize');
  assert.equal(detectHandler(bin('\x01ai:1;')), 'php_binary');
  assert.equal(detectHandler('garbage'), null);
  assert.equal(detectHandler(''), null);
});

test('hostile input: only DecodeErrors, with offsets and what was expected', () => {
  const cases = [
    ['', 0], ['i', 0], ['i:12', 4], ['s:5:"ab', 5], ['s:10:"abc";', 6], ['s:2:"abc";', 7], ['s:-1:"";', 2],
    ['i:1;xyz', 4], ['q:1;', 0], ['i:abc;', 2], ['i:9223372036854775808;', 2], ['b:2;', 2], ['d:1.2.3;', 2],
    ['a:2:{i:0;i:1;}', 13], ['a:1:{i:0;', 9], ['a:0:{', 5], ['a:1:{d:1.5;i:1;}', 5], ['O:9:"stdClass":0:{}', 14],
    ['a:99999999:{}', 2], ['s:99999999999999999999:"";', 2], ['O:3:"a-b":0:{}', 6], ['O:0:"":0:{}', 5],
    ['E:6:"NoCase";', 5], ['C:3:"Foo":5:{ab}', 13], ['a:1:{i:0;N;N;}', 11],
  ];
  for (const [s, offset] of cases) {
    assert.throws(() => unserialize(bin(s)), (e) => e instanceof DecodeError && e.offset === offset && /at byte offset \d+$/.test(e.message), JSON.stringify(s));
  }
  assert.throws(() => unserialize('i:12'), { message: "unexpected end of data, expected ';' after int at byte offset 4" });
  // a JS string with a char above U+00FF is not bytes
  assert.throws(() => unserialize('s:1:"€";'), DecodeError);
});

test('depth: 4096 nested arrays work, 4097 fail; maxDepth 100000 never overflows the stack', () => {
  const nest = (d) => 'a:1:{i:0;'.repeat(d) + 'N;' + '}'.repeat(d);
  const ok = nest(4096);
  assert.equal(str(serialize(unserialize(ok))), ok);
  assert.throws(() => unserialize(nest(4097)), (e) => e instanceof DecodeError && /maxDepth/.test(e.message));
  assert.throws(() => unserialize(nest(11), { maxDepth: 10 }), DecodeError);
  const deep = nest(100000);
  let v;
  try {
    v = unserialize(deep, { maxDepth: 100000 });
  } catch (e) {
    assert.ok(e instanceof DecodeError, `got ${e.name}`);
  }
  if (v !== undefined) {
    assert.equal(serialize(v).length, deep.length);
    assert.equal(typeof toPlain(v), 'object');
  }
  const objs = 'O:8:"stdClass":1:{s:1:"a";'.repeat(4097) + 'N;' + '}'.repeat(4097);
  assert.throws(() => unserialize(objs), DecodeError);
});

test('__proto__ and constructor are ordinary keys, never prototypes', () => {
  const a = unserialize('a:3:{s:9:"__proto__";a:1:{s:5:"admin";b:1;}s:11:"constructor";i:1;s:9:"prototype";i:2;}');
  assert.deepEqual([...a.keys()], ['__proto__', 'constructor', 'prototype']);
  const p = /** @type {any} */ (toPlain(a));
  assert.equal(Object.getPrototypeOf(p), null);
  assert.ok(Object.prototype.hasOwnProperty.call(p, '__proto__'));
  assert.equal(p.__proto__.admin, true);
  assert.equal({}.admin, undefined);
  const o = toPlain(unserialize('O:8:"stdClass":1:{s:9:"__proto__";s:1:"x";}'));
  assert.equal(Object.getOwnPropertyDescriptor(o, '__proto__').value, 'x');
  assert.equal({}.x, undefined);
  const enc = JSON.parse('{"__proto__": {"admin": true}}');
  assert.equal(str(serialize(enc)), 'a:1:{s:9:"__proto__";a:1:{s:5:"admin";b:1;}}');
});

test('toPlain mapping and options', () => {
  const v = unserialize(
    bin('a:8:{s:1:"l";a:2:{i:0;i:1;i:1;d:2.5;}s:1:"m";a:1:{i:1;s:1:"x";}s:1:"o";O:4:"User":3:{s:4:"name";s:3:"bob";s:6:"\x00*\x00age";i:3;s:10:"\x00User\x00pass";s:1:"p";}s:1:"e";E:3:"S:A";s:1:"b";s:2:"\xff\x00";s:1:"g";i:9223372036854775807;s:1:"n";d:NAN;s:1:"c";C:3:"Foo":2:{xy}}'),
  );
  const p = /** @type {any} */ (toPlain(v));
  assert.deepEqual(p.l, [1, 2.5]);
  assert.equal(Object.getPrototypeOf(p.m), null);
  assert.equal(p.m[1], 'x');
  assert.equal(p.o.__class, 'User');
  assert.equal(p.o.name, 'bob');
  assert.equal(p.o.age, 3);
  assert.equal(p.o.pass, 'p');
  assert.equal(p.e.__class, 'S');
  assert.equal(p.e.__case, 'A');
  assert.ok(Buffer.isBuffer(p.b));
  assert.equal(p.g, 9223372036854775807n);
  assert.ok(Number.isNaN(p.n));
  assert.equal(p.c.__class, 'Foo');
  assert.equal(/** @type {any} */ (toPlain(v, { bigint: 'string' })).g, '9223372036854775807');
  assert.equal(/** @type {any} */ (toPlain(v, { binary: 'base64' })).b, '/wA=');
  assert.equal(/** @type {any} */ (toPlain(v, { binary: 'latin1' })).b, '\xff\x00');
  assert.equal(/** @type {any} */ (toPlain(v, { classKey: '@type' })).o['@type'], 'User');
  const j = /** @type {any} */ (toPlain(v, { json: true }));
  assert.equal(j.g, '9223372036854775807');
  assert.equal(j.n, 'NAN');
  assert.equal(j.b, '\\xff\x00');
  assert.doesNotThrow(() => JSON.stringify(j));
  // shared and cyclic: identity normally, { __ref } in JSON mode
  const cyc = unserialize('a:2:{i:0;O:8:"stdClass":1:{s:4:"self";r:2;}i:1;r:2;}');
  const pc = /** @type {any} */ (toPlain(cyc));
  assert.equal(pc[0], pc[1]);
  assert.equal(pc[0].self, pc[0]);
  const jc = /** @type {any} */ (toPlain(cyc, { json: true }));
  assert.deepEqual({ ...jc[1] }, { __ref: '$[0]' });
  assert.equal(JSON.parse(JSON.stringify(jc))[0].self.__ref, '$[0]');
  // the documented one-liner
  assert.equal(/** @type {any} */ (toPlain(decodeSession('user|a:1:{s:4:"name";s:3:"ann";}', 'php'))).user.name, 'ann');
});

test('fromPlain / serialize of plain JS', () => {
  assert.equal(
    str(serialize({ s: 'x', i: 1, f: 1.5, t: true, n: null, u: undefined, l: [1, 'a'], m: new Map(/** @type {[number | string, string][]} */ ([[1, 'one'], ['2', 'two']])), b: Buffer.from([0xff]), big: 10n, '7': 'seven', '07': 'x' })),
    'a:12:{i:7;s:5:"seven";s:1:"s";s:1:"x";s:1:"i";i:1;s:1:"f";d:1.5;s:1:"t";b:1;s:1:"n";N;s:1:"u";N;s:1:"l";a:2:{i:0;i:1;i:1;s:1:"a";}s:1:"m";a:2:{i:1;s:3:"one";i:2;s:3:"two";}s:1:"b";s:1:"\xff";s:3:"big";i:10;s:2:"07";s:1:"x";}',
  );
  const v = fromPlain({ a: [1, 2.5], b: 'x' });
  assert.ok(v instanceof PhpArray);
  assert.ok(v.get('a').get(1) instanceof PhpFloat);
  assert.throws(() => serialize(() => 1), EncodeError);
  assert.throws(() => serialize(Symbol('x')), EncodeError);
  assert.throws(() => serialize(new Date()), /Date/);
  assert.throws(() => serialize(new (class Foo {})()), /Foo/);
  assert.throws(() => serialize({ a: { b: [() => 1] } }), (e) => e instanceof EncodeError && /value\["a"\]\["b"\]\[0\]/.test(e.message));
  assert.throws(() => serialize(new Map(/** @type {[number | string, string][]} */ ([[1, 'a'], ['1', 'b']]))), /collide/);
  assert.throws(() => serialize(new Map([[1.5, 'a']])), EncodeError);
  assert.throws(() => serialize('\ud800'), EncodeError);
  assert.ok(serialize({ a: 1 }) instanceof Uint8Array);
});

test('ClassRegistry: decode without running constructors, encode back the same bytes', () => {
  let constructed = 0;
  class User {
    constructor() {
      constructed++;
    }
    /** @this {User & { name: string }} */
    greet() {
      return `hi ${this.name}`;
    }
  }
  const classes = new ClassRegistry().register('App\\User', User);
  const src = 'a:2:{i:0;O:8:"App\\User":2:{s:4:"name";s:3:"ann";s:12:"\x00App\\User\x00pw";s:1:"x";}i:1;r:2;}';
  const v = unserialize(bin(src), { classes });
  /** @type {User & { name: string, pw: string }} */
  const u = v.get(0);
  assert.ok(u instanceof User);
  assert.equal(constructed, 0);
  assert.equal(u.greet(), 'hi ann');
  assert.equal(u.pw, 'x');
  assert.equal(v.get(1), u);
  assert.equal(str(serialize(v, { classes })), src);
  // without the registry the same bytes stay PhpObjects, and an instance is refused
  assert.ok(unserialize(bin(src)).get(0) instanceof PhpObject);
  assert.throws(() => serialize(u), EncodeError);
  // hooks
  class Point {}
  const reg = new ClassRegistry().register({
    phpClass: 'Point',
    jsClass: Point,
    fromPhp: (/** @type {Point & { xy: number[] }} */ p, props) => {
      p.xy = [props.get('x'), props.get('y')];
    },
    toPhp: (/** @type {Point & { xy: number[] }} */ p) => ({ x: p.xy[0], y: p.xy[1] }),
  });
  const pt = unserialize('O:5:"Point":2:{s:1:"x";i:1;s:1:"y";i:2;}', { classes: reg });
  assert.deepEqual(pt.xy, [1, 2]);
  assert.equal(str(new Encoder({ classes: reg }).serialize(pt)), 'O:5:"Point":2:{s:1:"x";i:1;s:1:"y";i:2;}');
  const fresh = Object.assign(new Point(), { xy: [3, 4] });
  assert.equal(str(serialize([fresh], { classes: reg })), 'a:1:{i:0;O:5:"Point":2:{s:1:"x";i:3;s:1:"y";i:4;}}');
  assert.throws(() => new ClassRegistry().register('bad name', Point), TypeError);
});

test('Decoder/Encoder hold their options', () => {
  const d = new Decoder({ maxDepth: 1, source: 'redis:k' });
  assert.throws(() => d.unserialize('a:1:{i:0;a:0:{}}'), (e) => e instanceof DecodeError && e.message.startsWith('redis:k: '));
  assert.equal(d.decodeSession('a|i:1;', 'php').get('a'), 1);
  const e = new Encoder();
  assert.equal(str(e.encodeSession({ a: 1 }, 'php')), 'a|i:1;');
  assert.equal(str(e.serialize(PhpArray.of(new PhpEnum('S', 'A'), new PhpSerializable('Foo', Buffer.from('xy'))))), 'a:2:{i:0;E:3:"S:A";i:1;C:3:"Foo":2:{xy}}');
});
