// igbinary and msgpack: fixed bytes that PHP 8.2 (php-igbinary 3.2.13, php-msgpack 2.2.0) wrote,
// decoded into the value model and encoded back byte for byte; sessions; detectHandler; the
// value mapping (shared arrays, references, gaps, NaN payloads); refusals. No PHP needed:
// test/codec/binary-php.test.js checks the same against live PHP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  igbinarySerialize,
  igbinaryUnserialize,
  msgpackPack,
  msgpackUnpack,
  decodeSession,
  encodeSession,
  detectHandler,
  serialize,
  unserialize,
  PhpArray,
  PhpFloat,
  PhpObject,
  PhpEnum,
  PhpReference,
  PhpSerializable,
  ClassRegistry,
  DecodeError,
  EncodeError,
} from 'sessctl';

const hex = (s) => Buffer.from(s, 'hex');

// Written by fixtures' classes.php objects and the values named (see the generator in the commit log).
const PHP_WROTE = [
  ["empty arrays share one (back-reference)", "0000000214020600140006010101", "929090"],
  ["the same array twice", "00000002140206001402060006010601060206010101", "92920102920102"],
  ["a reference to an int, twice", "00000002140206002506050601250101", "920505"],
  ["an object twice, and its class name as a string", "00000002140306001708737464436c61737314000601220106020e00", "9381c0a8737464436c61737382c0040002a8737464436c617373"],
  ["an uninitialised typed property", "00000002170554797065641402001101790601", "82c0a55479706564a17901"],
  ["a referenced array, a copy, the reference again", "00000002140306002514010600060106011401060006010602250101", "9382c0010001910182c0020002"],
  ["an object, then a reference to it", "00000002140206001708737464436c61737314000601252201", "9281c0a8737464436c61737382c0050002"],
  ["an emptied array is its own", "000000021403060014000601140006020101", "93909090"],
  ["__serialize, Serializable, __sleep, enums", "0000000214060600170d46697874757265437573746f6d14031101610601110673656372657411017306071107696e742d6b65790601170d466978747572654c65676163791d037061790602170d46697874757265536c65657079140211046b6570740e07110b002a006b65707450726f7411026b700603170b4669787475726553756974271106486561727473060422040605170d46697874757265537461747573271106416374697665", "9382c0ad46697874757265437573746f6dc083a16101a6736563726574a17307a7696e742d6b657982c003ad466978747572654c6567616379a370617983c0ad46697874757265536c65657079a46b657074a46b657074ab002a006b65707450726f74a26b70"],
  ["ints and floats at the edges", "00000002141006000c800000000000000006010c7ff800000000000006020c7ff000000000000006030cfff000000000000006040c7e37e43c8800759c0605207fffffffffffffff060621800000000000000006070701060806ff0609080100060a09ffff060b0a00010000060c0affffffff060d200000000100000000060e210000000100000000060f200020000000000001", "dc0010cb8000000000000000cb7ff8000000000000cb7ff0000000000000cbfff0000000000000cb7e37e43c8800759ccf7fffffffffffffffd38000000000000000ffccffcd0100d2ffff0001ce00010000ceffffffffcf0000000100000000d3ffffffff00000000cf0020000000000001"],
  ["binary and UTF-8 strings, repeated", "00000002140506001102fffe06011102c3a906020e0006030e0111026bff0601", "8500a2fffe01a2c3a902a2fffe03a2c3a9a26bff01"],
  ["an array holding a reference to itself", "000000021401110473656c662514010e00250101", "81a473656c6682c001a473656c6682c0020002"],
  ["visibility", "00000002170c466978747572654368696c6414071103707562110b626173652d7075626c69631107002a0070726f74110e626173652d70726f74656374656411110046697874757265426173650070726976110c626173652d707269766174651117004669787475726542617365006f6e6c79496e42617365062a11056578747261110165111200466978747572654368696c640070726976110d6368696c642d70726976617465110c002a006368696c6450726f74110163", "88c0ac466978747572654368696c64a3707562ab626173652d7075626c6963a7002a0070726f74ae626173652d70726f746563746564b10046697874757265426173650070726976ac626173652d70726976617465b7004669787475726542617365006f6e6c79496e426173652aa56578747261a165b200466978747572654368696c640070726976ad6368696c642d70726976617465ac002a006368696c6450726f74a163"],
];

test('what PHP wrote decodes and encodes back to the same bytes (igbinary and msgpack)', () => {
  for (const [name, ig, mp] of PHP_WROTE) {
    assert.equal(igbinarySerialize(igbinaryUnserialize(hex(ig))).toString('hex'), ig, `igbinary: ${name}`);
    assert.equal(msgpackPack(msgpackUnpack(hex(mp))).toString('hex'), mp, `msgpack: ${name}`);
  }
});

const find = (name) => PHP_WROTE.find((c) => c[0] === name);

test('igbinary: the value model of what PHP wrote', () => {
  const [a, b] = igbinaryUnserialize(hex(find('empty arrays share one (back-reference)')[1])).values();
  assert.ok(a instanceof PhpArray && a === b, 'a back-referenced array is the same PhpArray');
  const [e1, e2, e3] = igbinaryUnserialize(hex(find('an emptied array is its own')[1])).values();
  assert.ok(e1 !== e2 && e1 === e3);

  const refs = igbinaryUnserialize(hex(find('a reference to an int, twice')[1]));
  assert.ok(refs.get(0) instanceof PhpReference && refs.get(0) === refs.get(1));
  assert.equal(refs.get(0).value, 5);

  const mixed = igbinaryUnserialize(hex(find('a referenced array, a copy, the reference again')[1]));
  assert.ok(mixed.get(0) === mixed.get(2) && mixed.get(0) instanceof PhpReference);
  assert.ok(mixed.get(1) instanceof PhpArray && mixed.get(1) !== mixed.get(0).value, 'the copy is an array of its own');

  const objs = igbinaryUnserialize(hex(find('an object, then a reference to it')[1]));
  assert.ok(objs.get(0) instanceof PhpObject && objs.get(1) instanceof PhpReference && objs.get(1).value === objs.get(0));

  const typed = igbinaryUnserialize(hex(find('an uninitialised typed property')[1]));
  assert.deepEqual([...typed.props.keys()], ['y'], 'the entry without a value is not a property');

  const [custom, legacy, sleepy, hearts, hearts2, active] = igbinaryUnserialize(hex(find('__serialize, Serializable, __sleep, enums')[1])).values();
  assert.deepEqual([...custom.props.keys()], ['a', 'secret', 7]);
  assert.ok(legacy instanceof PhpSerializable && Buffer.from(legacy.data).toString() === 'pay');
  assert.deepEqual([...sleepy.props.keys()], ['kept', '\0*\0keptProt']);
  assert.ok(hearts instanceof PhpEnum && hearts === hearts2 && hearts.caseName === 'Hearts');
  assert.equal(active.className, 'FixtureStatus');

  const nums = [...igbinaryUnserialize(hex(find('ints and floats at the edges')[1])).values()];
  assert.ok(Object.is(nums[0].value, -0) && Number.isNaN(nums[1].value) && nums[2].value === Infinity);
  assert.equal(nums[5], 9223372036854775807n);
  assert.equal(nums[6], -9223372036854775808n);
  assert.equal(nums[15], 9007199254740993n);

  const strs = igbinaryUnserialize(hex(find('binary and UTF-8 strings, repeated')[1]));
  assert.ok(Buffer.isBuffer(strs.get(0)) && strs.get(0) === strs.get(2), 'a repeated binary string is one Buffer');
  assert.equal(strs.get(1), 'é');
  assert.ok(strs.has('k\udcff'), 'a key that is not UTF-8 is surrogate-escaped, as serialize() does');
});

test('msgpack: the value model of what PHP wrote', () => {
  const mixed = msgpackUnpack(hex(find('a referenced array, a copy, the reference again')[2]));
  assert.ok(mixed.get(0) instanceof PhpReference && mixed.get(0) === mixed.get(2));
  assert.ok(mixed.get(1) instanceof PhpArray);
  // msgpack-php keeps no reference to a scalar: both are plain 5s
  assert.deepEqual([...msgpackUnpack(hex(find('a reference to an int, twice')[2])).values()], [5, 5]);
  const [o, again, name] = msgpackUnpack(hex(find('an object twice, and its class name as a string')[2])).values();
  assert.ok(o instanceof PhpObject && o === again && name === 'stdClass');
  const [custom, legacy, sleepy] = msgpackUnpack(hex(find('__serialize, Serializable, __sleep, enums')[2])).values();
  assert.deepEqual([...custom.props.keys()], ['a', 'secret', 7]);
  assert.ok(legacy instanceof PhpSerializable);
  assert.deepEqual([...sleepy.props.keys()], ['kept', '\0*\0keptProt']);
  const self = msgpackUnpack(hex(find('an array holding a reference to itself')[2]));
  const box = self.get('self');
  assert.ok(box instanceof PhpReference && /** @type {PhpArray} */ (box.value).get('self') === box);
});

test('msgpack: a referenced empty array is written [] and still one reference', () => {
  // PHP: $e = []; msgpack_pack([&$e, &$e]) — the first has no marker, the second refers to it
  const v = msgpackUnpack(hex('929082c0020002'));
  assert.ok(v.get(0) instanceof PhpReference && v.get(0) === v.get(1));
  assert.equal(msgpackPack(v).toString('hex'), '929082c0020002');
});

test('NaN payloads PHP wrote come back bit for bit', () => {
  const snan = igbinaryUnserialize(hex('000000020c7ff0000000000001'));
  assert.ok(snan instanceof PhpFloat && Number.isNaN(snan.value));
  assert.equal(igbinarySerialize(snan).toString('hex'), '000000020c7ff0000000000001');
  assert.equal(msgpackPack(msgpackUnpack(hex('cbfff8000000000000'))).toString('hex'), 'cbfff8000000000000');
  assert.equal(msgpackPack(new PhpFloat(NaN)).toString('hex'), 'cb7ff8000000000000');
  assert.equal(serialize(snan).toString(), 'd:NAN;');
});

test('plain JS values encode as PHP writes the same PHP values', () => {
  // PHP: igbinary_serialize(['a' => 1, 'list' => [1.5, 'x', null, true], 'n' => -300, 'big' => PHP_INT_MAX])
  assert.equal(
    igbinarySerialize({ a: 1, list: [1.5, 'x', null, true], n: -300, big: 9223372036854775807n }).toString('hex'),
    '0000000214041101610601110'.concat('46c69737414040600', '0c3ff8000000000000', '060111017806020006030511016e09012c1103626967207fffffffffffffff'),
  );
  assert.equal(msgpackPack({ a: 1, list: [1.5, 'x', null, true], n: -300, big: 9223372036854775807n }).toString('hex'), '84a16101a46c69737494cb3ff8000000000000a178c0c3a16ed1fed4a3626967cf7fffffffffffffff');
  assert.equal(msgpackPack(new Map([[1, 'a'], [0, 'b']])).toString('hex'), '820' + '1a161' + '00a162');
  assert.equal(msgpackPack(PhpArray.of('a', 'b')).toString('hex'), '92a161a162');
  assert.equal(msgpackPack('x'.repeat(40)).subarray(0, 2).toString('hex'), 'd928');
  assert.equal(msgpackPack('x'.repeat(40), { useStr8: false }).subarray(0, 3).toString('hex'), 'da0028');
  assert.equal(igbinarySerialize(['ab', 'ab'], { compactStrings: false }).toString('hex'), '00000002140206001102616206011102616' + '2');
});

test('sessions: the whole $_SESSION array, as session_encode() writes it', () => {
  // PHP: $_SESSION = []; session_encode() with each handler
  assert.equal(encodeSession({}, 'igbinary').toString('hex'), '000000021400');
  assert.equal(encodeSession({}, 'msgpack').toString('hex'), '90');
  // PHP: $_SESSION['a'] = 1; $x = [1]; $_SESSION['b'] = $x; $_SESSION['c'] = $x; $_SESSION['d'] = &$_SESSION['a'];
  const ig = hex('00000002140411016125060111016214010600060111016301021101642501' + '01');
  const s = decodeSession(ig, 'igbinary');
  assert.ok(s.get('a') instanceof PhpReference && s.get('a') === s.get('d'));
  assert.ok(s.get('b') === s.get('c'));
  assert.equal(encodeSession(s, 'igbinary').toString('hex'), ig.toString('hex'));
  // the same session with msgpack: the reference to the int is not kept
  const mp = hex('85c001a16101a1629201' + '02a1639201' + '02a16401');
  const m = decodeSession(mp, 'msgpack');
  assert.deepEqual([...m.keys()], ['a', 'b', 'c', 'd']);
  assert.equal(encodeSession(m, 'msgpack').toString('hex'), mp.toString('hex'));
  // the same values, built in JS
  assert.equal(encodeSession({ a: 1, b: [1, 2], c: [1, 2], d: 1 }, 'msgpack').toString('hex'), mp.toString('hex'));
});

test('sessions: int keys are dropped on read and refused on write, as PHP loses them', () => {
  // PHP's session_encode() writes $_SESSION[5]; its session_decode() skips it.
  const s = decodeSession(hex('00000002140206051101781101' + '6b110176'), 'igbinary');
  assert.deepEqual([...s.entries()], [['k', 'v']]);
  assert.deepEqual([...decodeSession(hex('83c00105a178a16ba176'), 'msgpack').entries()], [['k', 'v']]);
  for (const h of /** @type {const} */ (['igbinary', 'msgpack'])) {
    assert.throws(() => encodeSession(new PhpArray([[5, 'x']]), h), (e) => e instanceof EncodeError && /int/.test(e.message));
    // @ts-expect-error a list is not a session (string keys): checks the runtime refuses it
    assert.throws(() => encodeSession([1], h), EncodeError);
    assert.deepEqual([...decodeSession('', h)], []);
  }
});

test('detectHandler recognises igbinary and msgpack sessions, and still the others', () => {
  assert.equal(detectHandler(encodeSession({ a: 1, b: 'x' }, 'igbinary')), 'igbinary');
  assert.equal(detectHandler(encodeSession({}, 'igbinary')), 'igbinary');
  assert.equal(detectHandler(encodeSession({ a: 1, b: 'x' }, 'msgpack')), 'msgpack');
  assert.equal(detectHandler(encodeSession({}, 'msgpack')), 'msgpack');
  assert.equal(detectHandler(Buffer.from('a|i:1;')), 'php');
  assert.equal(detectHandler(Buffer.from('a:1:{s:1:"a";i:1;}')), 'php_serialize');
  assert.equal(detectHandler(Buffer.from('\x01ai:1;', 'latin1')), 'php_binary');
  assert.equal(detectHandler(msgpackPack([1, 2])), null, 'a msgpack list is no session');
  assert.equal(detectHandler(hex('00000002140111016b')), null, 'cut igbinary');
  assert.equal(detectHandler(hex('81a16b')), null, 'cut msgpack');
});

test('malformed, truncated and trailing input: a DecodeError with the offset and source', () => {
  /** @type {[typeof igbinaryUnserialize, string, number][]} */
  const bad = [
    [igbinaryUnserialize, '', 0], [igbinaryUnserialize, '00000002', 0], [igbinaryUnserialize, '0000000306', 0],
    [igbinaryUnserialize, '000000020601ff', 6], [igbinaryUnserialize, '0000000214020600', 8],
    [igbinaryUnserialize, '0000000211056162', 4], [igbinaryUnserialize, '00000002160fffffff', 4],
    [igbinaryUnserialize, '000000020e00', 4], [igbinaryUnserialize, '0000000201', 5], [igbinaryUnserialize, '000000022201', 4],
    [igbinaryUnserialize, '000000022080000000000000' + '00', 4],
    [igbinaryUnserialize, '00000002ff', 4], [igbinaryUnserialize, '00000002140114', 6],
    [msgpackUnpack, '', 0], [msgpackUnpack, '92', 0], [msgpackUnpack, '0101', 1], [msgpackUnpack, 'c1', 0],
    [msgpackUnpack, 'dcffff', 0], [msgpackUnpack, 'dbffffffff61', 0], [msgpackUnpack, '9182c0020002', 5],
    [msgpackUnpack, '81c006', 2], [msgpackUnpack, '81c0a178a17801', 4], [msgpackUnpack, '8192a161', 1],
    [msgpackUnpack, '81c001', 0], [msgpackUnpack, '83c0a178a17801c0a161', 7],
  ];
  for (const [fn, input, offset] of bad) {
    assert.throws(
      () => fn(hex(input), { source: 'sess_x' }),
      (e) => e instanceof DecodeError && e.offset === offset && e.source === 'sess_x',
      `${fn.name} ${input}: expected a DecodeError at ${offset}`,
    );
  }
  assert.throws(() => decodeSession(hex('00000002140011'), 'igbinary'), DecodeError, 'trailing bytes after a session');
  assert.throws(() => decodeSession(hex('000000020601'), 'igbinary'), DecodeError, 'a session that is not an array');
  assert.throws(() => decodeSession(hex('9001'), 'msgpack'), DecodeError);
  assert.throws(() => decodeSession(hex('81c0a8737464436c617373'), 'msgpack'), DecodeError, 'an object is no session');
});

test('hostile input: depth, huge counts, __proto__ keys, and no class instantiated without a registry', () => {
  const nested = (n) => Buffer.concat([hex('00000002'), Buffer.from('14010600'.repeat(n), 'hex'), hex('00')]);
  assert.throws(() => igbinaryUnserialize(nested(5000)), /maxDepth \(4096\)/);
  assert.equal(igbinarySerialize(igbinaryUnserialize(nested(4096))).toString('hex'), nested(4096).toString('hex'));
  assert.throws(() => igbinaryUnserialize(nested(10), { maxDepth: 5 }), DecodeError);
  assert.throws(() => msgpackUnpack(Buffer.concat([Buffer.alloc(5000, 0x91), hex('01')])), /maxDepth/);
  assert.equal(msgpackPack(msgpackUnpack(Buffer.concat([Buffer.alloc(4096, 0x91), hex('01')]))).length, 4097);
  // a list holding a reference to itself ({nil: 2, 0: 1}): a cycle through a PhpReference
  const selfRef = msgpackUnpack(hex('9182c0020001'));
  assert.ok(selfRef.get(0) instanceof PhpReference && selfRef.get(0).value === selfRef);
  const protoKeys = igbinarySerialize({ ['__proto__']: { admin: true }, constructor: 1 });
  const v = igbinaryUnserialize(protoKeys);
  assert.equal(v.get('__proto__').get('admin'), true);
  assert.equal({}.admin, undefined);
  const m = msgpackUnpack(msgpackPack(new Map([['__proto__', 1]])));
  assert.equal(m.get('__proto__'), 1);

  class User {}
  const bytes = igbinarySerialize(new PhpObject('User', new PhpArray([['name', 'ann']])));
  assert.ok(igbinaryUnserialize(bytes) instanceof PhpObject, 'no registry: a PhpObject');
  const classes = new ClassRegistry().register('User', User);
  /** @type {User & { name: string }} */
  const u = igbinaryUnserialize(bytes, { classes });
  assert.ok(u instanceof User && u.name === 'ann');
  assert.equal(igbinarySerialize(u, { classes }).toString('hex'), bytes.toString('hex'));
  /** @type {User & { name: string }} */
  const mu = msgpackUnpack(msgpackPack(new PhpObject('User', new PhpArray([['name', 'ann']]))), { classes });
  assert.ok(mu instanceof User && mu.name === 'ann');
});

test('the encoders refuse what PHP cannot hold, naming where', () => {
  const cyclic = new PhpArray();
  cyclic.set('me', cyclic);
  assert.throws(() => msgpackPack(cyclic), (e) => e instanceof EncodeError && /contains itself/.test(e.message)); // msgpack_pack() crashes PHP on one
  for (const enc of [igbinarySerialize, msgpackPack]) {
    assert.throws(() => enc({ a: { b: () => 1 } }), (e) => e instanceof EncodeError && /\["a"\]\["b"\]/.test(e.message));
    assert.throws(() => enc(2n ** 64n), EncodeError);
    assert.throws(() => enc([new PhpReference(new PhpReference(1))]), EncodeError);
    assert.throws(() => enc(new Date()), /Date/);
  }
  assert.throws(() => msgpackPack(new PhpEnum('Suit', 'Hearts')), /enum/);
  // a cycle through a reference is fine
  const box = new PhpReference(null);
  const a = new PhpArray([['self', box]]);
  box.value = a;
  assert.equal(igbinaryUnserialize(igbinarySerialize(a)).get('self').value.get('self') instanceof PhpReference, true);
});

test('igbinary: an array holding itself without a reference, as PHP writes one', () => {
  // PHP: function f() { $a = ['k' => 1]; $a['me'] = &$a; return $a; } igbinary_serialize(f());
  // the `&` has refcount 1 once $a is gone, so igbinary writes a plain back-reference into the array
  const bytes = '00000002140211016b060111026d6514020e0006010e010101';
  const v = igbinaryUnserialize(hex(bytes));
  const inner = v.get('me');
  assert.ok(inner instanceof PhpArray && inner.get('me') === inner);
  assert.equal(igbinarySerialize(v).toString('hex'), bytes);
  // built in JS: written as PHP writes the same array (the outermost array twice, then a back-reference)
  const cyclic = new PhpArray([['me', null]]);
  cyclic.set('me', cyclic);
  assert.equal(igbinarySerialize(cyclic).toString('hex'), '00000002140111026d651401' + '0e000101');
  assert.throws(() => serialize(v), EncodeError, 'serialize() refuses it, as before');
});

test('decoded binary-handler values also encode with the other handlers', () => {
  const [, ig] = find('__serialize, Serializable, __sleep, enums');
  const v = igbinaryUnserialize(hex(ig));
  assert.deepEqual(unserialize(serialize(v)).size, v.size);
  const s = decodeSession(encodeSession({ user: { id: 7, roles: ['a', 'b'] }, n: 1.5 }, 'igbinary'), 'igbinary');
  assert.equal(encodeSession(s, 'php').toString(), 'user|a:2:{s:2:"id";i:7;s:5:"roles";a:2:{i:0;s:1:"a";i:1;s:1:"b";}}n|d:1.5;');
});

test('igbinary: the old format version 1 header is read (and written back as version 2)', () => {
  // PHP's igbinary_unserialize() accepts 00 00 00 01 with the same layout
  assert.deepEqual([...igbinaryUnserialize(hex('0000000114010600080005')).values()], [5]);
  assert.equal(igbinarySerialize(igbinaryUnserialize(hex('00000001140106000605'))).toString('hex'), '00000002140106000605');
});

test('sessions through a ClassRegistry and the Decoder/Encoder classes', async () => {
  const { Decoder, Encoder } = await import('sessctl');
  class User {}
  const classes = new ClassRegistry().register('App\\Model\\User', User);
  for (const h of /** @type {const} */ (['igbinary', 'msgpack'])) {
    const bytes = encodeSession({ user: new PhpObject('App\\Model\\User', new PhpArray([['id', 7], ['\0*\0roles', PhpArray.of('a')]])), n: 1 }, h);
    const s = new Decoder({ classes }).decodeSession(bytes, h);
    const user = s.get('user');
    assert.ok(user instanceof User && /** @type {any} */ (user).id === 7 && /** @type {any} */ (user).roles.get(0) === 'a', h);
    assert.equal(new Encoder({ classes }).encodeSession(s, h).toString('hex'), bytes.toString('hex'), `${h}: the mapped instance is written back as it was read`);
  }
});
