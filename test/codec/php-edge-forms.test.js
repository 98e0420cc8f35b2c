// Forms at the edges of PHP's grammar and value model, found by differential fuzzing against
// PHP 8.2: what PHP accepts we read and write back as PHP does; what it refuses we refuse;
// values built in JS encode as PHP would write the same values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import {
  DecodeError,
  EncodeError,
  PhpArray,
  PhpEnum,
  PhpObject,
  PhpSerializable,
  encodeSession,
  fromPlain,
  igbinarySerialize,
  igbinaryUnserialize,
  msgpackPack,
  msgpackUnpack,
  serialize,
  unserialize,
} from 'sessctl';
import { needPhp, phpPerInput, runPhp } from '../helpers/env.js';
import { needPhpExtension } from './binary-env.js';

/** PHP's serialize(unserialize(s)) for each input (null where unserialize() refuses it). */
function phpRoundTrips(inputs, prelude = '') {
  return phpPerInput(inputs, "$v = @unserialize($s); echo $v === false ? '-' : base64_encode(serialize($v));", prelude);
}

function ours(s) {
  try {
    return serialize(unserialize(s)).toString('latin1');
  } catch (err) {
    assert.ok(err instanceof DecodeError, `${s}: ${err}`);
    return null;
  }
}

test("an object's property count and a Serializable's length are read as PHP's parse_iv2 reads them", needPhp(), () => {
  const inputs = [
    'O:8:"stdClass"::{}',
    'O:8:"stdClass":-0:{}',
    'O:8:"stdClass":+0:{}',
    'O:8:"stdClass":+:{}',
    'O:8:"stdClass":-:{}',
    'O:8:"stdClass":00:{}',
    'O:8:"stdClass":+1:{s:1:"a";i:1;}',
    'O:8:"stdClass":-1:{}',
    'O:8:"stdClass": 1:{s:1:"a";i:1;}',
    'O:8:"stdClass":99999999999999999999:{}',
    'C:3:"Ser"::{}',
    'C:3:"Ser":-0:{}',
    'C:3:"Ser":+2:{ab}',
    'C:3:"Ser":02:{ab}',
    'C:3:"Ser":-2:{ab}',
    'a:+1:{i:0;i:1;}',
    'a:01:{i:0;i:1;}',
    'a:1:{s:1:"x";O:8:"stdClass"::{}}',
  ];
  const php = phpRoundTrips(inputs, 'class Ser implements Serializable { public $d; function serialize() { return $this->d; } function unserialize($s) { $this->d = $s; } }');
  assert.deepEqual(inputs.map(ours), php);
});

test('O: and C: class names that start with a backslash are refused, as PHP refuses them; E: takes them', needPhp(), () => {
  const inputs = ['O:2:"\\A":0:{}', 'O:1:"\\":0:{}', 'O:9:"\\stdClass":0:{}', 'C:2:"\\A":0:{}', 'O:3:"A\\B":0:{}', 'O:2:"A\\":0:{}', 'O:2:"1A":0:{}'];
  assert.deepEqual(inputs.map(ours), phpRoundTrips(inputs));
  // PHP reads `E:6:"\A\E:X";` when the enum A\E exists; we keep enums as spelled without classes
  assert.equal(ours('E:6:"\\A\\E:X";'), 'E:6:"\\A\\E:X";');
  assert.throws(() => unserialize('a:1:{i:0;O:2:"\\A":0:{}}'), (e) => e instanceof DecodeError && e.offset === 14 && /class name starts with a backslash/.test(e.message));
  // and values built in JS with such a name are not written (PHP would destroy the session)
  assert.throws(() => serialize(new PhpObject('\\A', new PhpArray())), EncodeError);
  assert.throws(() => serialize(new PhpSerializable('\\A', Buffer.from('x'))), EncodeError);
  assert.throws(() => serialize(new PhpObject('A"B', new PhpArray())), EncodeError);
  assert.equal(serialize(new PhpObject('A\\B', new PhpArray())).toString(), 'O:3:"A\\B":0:{}');
});

test('int keys beyond 2^53: PHP holds them, and so do we — decoded, built in JS, re-encoded', needPhpExtension('msgpack'), () => {
  const code = `$a = [9007199254740992 => 1, -9007199254740992 => 2, PHP_INT_MAX => 3, PHP_INT_MIN => 4, 9007199254740993 => 5];
    echo base64_encode(serialize($a)), "\\n", base64_encode(msgpack_pack($a)), "\\n", base64_encode(igbinary_serialize($a)), "\\n";`;
  const [text, mp, ig] = runPhp(['-r', code]).toString().trim().split('\n').map((b) => Buffer.from(b, 'base64'));
  assert.deepEqual(serialize(unserialize(text)), text);
  assert.deepEqual(msgpackPack(msgpackUnpack(mp)), mp);
  assert.deepEqual(igbinarySerialize(igbinaryUnserialize(ig)), ig);
  for (const decoded of [unserialize(text), msgpackUnpack(mp), igbinaryUnserialize(ig)]) {
    assert.deepEqual([...decoded.keys()], [2n ** 53n, -(2n ** 53n), 2n ** 63n - 1n, -(2n ** 63n), 2n ** 53n + 1n]);
  }
  // the same keys set from JS numbers (exact integers beyond 2^53) — PhpArray, Map, msgpack
  const built = new PhpArray();
  built.set(2 ** 53, 1).set(-(2 ** 53), 2).set(2n ** 63n - 1n, 3).set(-(2 ** 63), 4).set(2n ** 53n + 1n, 5);
  assert.deepEqual(serialize(built), text);
  assert.deepEqual(msgpackPack(built), mp);
  assert.equal(built.get(2 ** 53), 1);
  assert.equal(built.get('9007199254740992'), 1);
  assert.equal(serialize(new Map([[2 ** 60, 1]])).toString(), 'a:1:{i:1152921504606846976;i:1;}');
  assert.throws(() => new PhpArray().set(2 ** 63, 1), RangeError);
  assert.throws(() => serialize(new Map([[2 ** 64, 1]])), EncodeError);
});

test('two PhpEnum instances of one case are one object, as PHP enum cases are: the second is r:', needPhp(), () => {
  const php = runPhp(['-n', '-r', 'enum Suit { case Hearts; case Spades; } $h = Suit::Hearts; echo serialize([Suit::Hearts, Suit::Spades, Suit::Hearts, [Suit::Hearts]]), "\\n"; $_SESSION = ["a" => Suit::Hearts, "b" => Suit::Hearts]; echo "a|", serialize(Suit::Hearts), "b|r:1;";'])
    .toString()
    .split('\n');
  const value = [new PhpEnum('Suit', 'Hearts'), new PhpEnum('Suit', 'Spades'), new PhpEnum('Suit', 'Hearts'), [new PhpEnum('Suit', 'Hearts')]];
  assert.equal(serialize(value).toString(), php[0]);
  assert.equal(encodeSession(new Map([['a', new PhpEnum('Suit', 'Hearts')], ['b', new PhpEnum('Suit', 'Hearts')]]), 'php').toString(), php[1]);
  // PHP's session_encode() writes the same for that session
  const session = runPhp(['-n', '-d', 'session.save_path=/tmp', '-r', 'enum Suit { case Hearts; } session_start(); $_SESSION["a"] = Suit::Hearts; $_SESSION["b"] = Suit::Hearts; echo session_encode(); session_abort();']).toString();
  assert.equal(session, php[1]);
});

test('a stdClass built in JS with a numeric property name is written with the name, as PHP writes it', needPhp(), () => {
  const o = new PhpObject('stdClass', new PhpArray());
  o.props.set('0', 1).set('a', 2).set('-5', 3);
  const php = runPhp(['-n', '-r', 'echo serialize((object)["0" => 1, "a" => 2, "-5" => 3]);']).toString();
  assert.equal(serialize(o).toString(), php);
  assert.equal(serialize(unserialize(php)).toString(), php);
  // the int 0 and the string "0" would be one property in PHP: refused rather than guessed
  const both = unserialize('O:8:"stdClass":1:{s:1:"0";i:1;}'); // the decoder keeps the name as read
  both.props.set(0, 2);
  assert.throws(() => serialize(both), (e) => e instanceof EncodeError && /property "0" is given twice/.test(e.message));
  // other classes keep int keys (their __serialize() data is an array): as before
  const foo = new PhpObject('Foo', new PhpArray([[0, 'x']]));
  assert.equal(serialize(foo).toString(), 'O:3:"Foo":1:{i:0;s:1:"x";}');
});

test('a value that only looks like a Buffer, Map or PhpArray, or whose own code throws, is an EncodeError', () => {
  const forged = [Buffer.from('ab'), new Uint8Array(2), new Map(), new PhpArray()].map((proto) => Object.setPrototypeOf({}, proto));
  const encoders = [
    (v) => serialize(v),
    (v) => serialize([v]),
    (v) => encodeSession({ k: v }, 'php'),
    (v) => encodeSession({ k: v }, 'php_serialize'),
    (v) => igbinarySerialize([v]),
    (v) => msgpackPack([v]),
    (v) => fromPlain({ k: v }, { json: true }),
  ];
  for (const v of forged) {
    for (const encode of encoders) assert.throws(() => encode(v), (e) => e instanceof EncodeError && e.code === 'EENCODE', `${encode} of ${Object.getPrototypeOf(v).constructor.name}`);
  }
  const boom = new Error('getter failed');
  const throwing = {
    get x() {
      throw boom;
    },
  };
  assert.throws(() => serialize(throwing), (e) => e instanceof EncodeError && e.cause === boom && /getter failed/.test(e.message));
  assert.throws(() => encodeSession(throwing, 'php_serialize'), (e) => e instanceof EncodeError && e.cause === boom);
});

test('C: payloads nested inside one another: PHP numbering after the nest, and a refusal (never a RangeError) past the limit', needPhp(), () => {
  const nest = (n, inner) => {
    let s = inner;
    for (let i = 0; i < n; i++) s = `C:3:"Ser":${Buffer.byteLength(s)}:{${s}}`;
    return s;
  };
  const withRef = `a:2:{i:0;${nest(65, 'a:1:{i:0;a:0:{}}')}i:1;R:68;}`;
  const php = phpRoundTrips([withRef, nest(200, 'a:0:{}')], 'class Ser implements Serializable { public $d; function serialize() { return serialize($this->d); } function unserialize($s) { $this->d = unserialize($s); } }');
  assert.deepEqual([ours(withRef), ours(nest(200, 'a:0:{}'))], php);
  assert.throws(() => unserialize(nest(300, 'a:0:{}')), (e) => e instanceof DecodeError && e.name === 'DecodeError' && /nested more than 256 deep/.test(e.message));
});

test('C: payload nests on a small stack (a worker thread) are refused with a DecodeError too', async () => {
  const code = `
    const { parentPort } = require('node:worker_threads');
    import(${JSON.stringify(new URL('../../dist/index.js', import.meta.url).href)}).then((S) => {
      let s = 'a:0:{}';
      for (let i = 0; i < 250; i++) s = 'C:3:"Ser":' + Buffer.byteLength(s) + ':{' + s + '}';
      try { S.unserialize(s); parentPort.postMessage('decoded'); }
      catch (e) { parentPort.postMessage(e.constructor.name + ' ' + e.name + ' ' + e.message); }
    });`;
  const worker = new Worker(code, { eval: true, resourceLimits: { stackSizeMb: 0.4 } });
  const answer = await new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  await worker.terminate();
  assert.match(answer, /^(decoded|\w+ DecodeError .*nested too deep for the stack)/);
});
