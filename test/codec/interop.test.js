// Interop with real PHP in both directions:
//  (a) PHP wrote the corpus (fixtures/corpus): what we decode must be what PHP itself reads
//      back from the same bytes (types, float bits, references, object identity);
//  (b) we encode values (plain JS and the lossless model) and sessions, and PHP's own
//      unserialize()/session_decode()/session_start() must read exactly what it expects.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeSession, encodeSession, unserialize, serialize, toPlain, PhpArray, PhpFloat, PhpObject, PhpEnum, PhpReference, PhpSerializable, EncodeError } from 'sessctl';
import { needPhp, runPhp } from '../helpers/env.js';
import { FIXTURES_DIR, loadCorpus, describe, descriptionDifference } from '../../fixtures/corpus.js';

const corpus = loadCorpus();

function decodeCase(c) {
  return c.format === 'serialize' ? unserialize(c.bytes()) : decodeSession(c.bytes(), c.format);
}

// (a) ---------------------------------------------------------------------------------------

for (const group of ['sessions/', 'values/', 'edge/']) {
  test(`we decode ${group} exactly as PHP reads them (types, floats, references, identity)`, () => {
    const cases = corpus.filter((c) => c.file.startsWith(group));
    assert.ok(cases.length > 10);
    const failures = [];
    for (const c of cases) {
      try {
        const d = descriptionDifference(c.desc, describe(decodeCase(c)));
        if (d) failures.push(`${c.file}: ${d}`);
      } catch (err) {
        failures.push(`${c.file}: threw ${err?.name}: ${err?.message}`);
      }
    }
    assert.equal(failures.length, 0, `${failures.length} of ${cases.length} differ:\n${failures.slice(0, 8).join('\n')}`);
  });
}

test('the description walker tells apart what it must (a failing comparison fails)', () => {
  const c = corpus.find((x) => x.file === 'edge/references.ser');
  const ours = describe(decodeCase(c));
  assert.equal(descriptionDifference(c.desc, ours), null);
  // The same values without the reference must not compare equal.
  const plain = PhpArray.of('shared', 'shared');
  assert.notEqual(descriptionDifference(c.desc, describe(plain)), null);
  assert.notEqual(descriptionDifference(['d', '8000000000000000'], describe(new PhpFloat(0))), null);
});

test('toPlain gives the everyday JS view of what PHP wrote, with no prototype pollution', () => {
  const c = corpus.find((x) => x.file === 'edge/typical.php');
  const plain = /** @type {any} */ (toPlain(decodeSession(c.bytes(), 'php')));
  assert.equal(plain.csrf_token, 'f3a1c2e4b5d6a7980123456789abcdef');
  assert.deepEqual(JSON.parse(JSON.stringify(plain.flash)), { success: ['Saved!'], error: [] });
  assert.equal(plain.cart.items[0].price, 19.99);
  assert.equal(plain.cart.total, 39.98);
  assert.equal(plain.last_seen, 1700000000);
  assert.equal(plain.user.__class, 'App\\Model\\User');
  const keys = corpus.find((x) => x.file === 'edge/js-magic-keys.php');
  const magic = /** @type {any} */ (toPlain(decodeSession(keys.bytes(), 'php')));
  assert.equal({}.admin, undefined, 'Object.prototype untouched');
  assert.ok(Object.prototype.hasOwnProperty.call(magic, '__proto__'), '__proto__ kept as an own key');
  assert.equal(magic.__proto__.admin, true);
  assert.equal(magic.constructor, 'c');
});

/** toPlain's objects have a null prototype; JSON.parse's have Object.prototype. (Keeps -0, unlike a JSON round trip.) */
function withPlainPrototypes(v) {
  if (Array.isArray(v)) return v.map(withPlainPrototypes);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, withPlainPrototypes(x)]));
  return v;
}

test("toPlain(v, { json: true }) equals PHP's json_encode() of the same value", needPhp(), () => {
  const cases = corpus.filter((c) => c.format === 'php_serialize' || c.format === 'serialize');
  const phpJson = JSON.parse(runPhp([join(FIXTURES_DIR, 'php-json.php')], { input: JSON.stringify(cases.map((c) => c.bytes().toString('base64'))) }).toString('utf8'));
  let compared = 0;
  const failures = [];
  cases.forEach((c, i) => {
    if (phpJson[i] === null) return; // no faithful JSON form in PHP
    compared++;
    const ours = withPlainPrototypes(toPlain(decodeCase(c), { json: true }));
    try {
      assert.deepStrictEqual(ours, JSON.parse(phpJson[i]));
    } catch {
      failures.push(`${c.file}: PHP ${phpJson[i].slice(0, 200)}\n  ours ${JSON.stringify(ours).slice(0, 200)}`);
    }
  });
  assert.ok(compared >= 100, `only ${compared} JSON-representable cases`);
  assert.equal(failures.length, 0, `${failures.length} of ${compared} differ:\n${failures.slice(0, 5).join('\n')}`);
});

// (b) ---------------------------------------------------------------------------------------

/** Sends the checks to fixtures/php-check.php; returns PHP's verdicts by name. */
function askPhp(checks) {
  const out = runPhp([join(FIXTURES_DIR, 'php-check.php')], { input: JSON.stringify(checks) });
  return new Map(JSON.parse(out.toString('utf8')).map((v) => [v.name, v]));
}

function assertPhpAgrees(checks) {
  const verdicts = askPhp(checks);
  const bad = [];
  for (const c of checks) {
    const v = verdicts.get(c.name);
    if (!v) bad.push(`${c.name}: no verdict`);
    else if (!v.ok) bad.push(`${c.name}: ${v.accepted ? descriptionDifference(v.expected, v.actual) : 'PHP refused the bytes'}`);
  }
  assert.equal(bad.length, 0, `PHP disagrees on ${bad.length} of ${checks.length}:\n${bad.join('\n')}`);
}

const b64 = (bytes) => Buffer.from(bytes).toString('base64');

function props(entries) {
  const a = new PhpArray();
  for (const [k, v] of entries) a.set(k, v);
  return a;
}

function modelValues() {
  const shared = new PhpReference('shared');
  const node = new PhpObject('FixtureNode', props([['value', 'self'], ['next', null]]));
  node.props.set('next', node);
  const same = new PhpObject('stdClass', props([['k', 1]]));
  const suit = new PhpEnum('FixtureSuit', 'Hearts');
  return [
    ['floats', PhpArray.of(new PhpFloat(-0), new PhpFloat(Infinity), new PhpFloat(-Infinity), new PhpFloat(NaN), new PhpFloat(0.1), new PhpFloat(1e17), new PhpFloat(1), new PhpFloat(5e-324), new PhpFloat(1e-5)),
      'return [-0.0, INF, -INF, NAN, 0.1, 1e17, 1.0, 5e-324, 1e-5];'],
    ['int64', PhpArray.of(2n ** 63n - 1n, -(2n ** 63n), 2n ** 53n + 1n, -1), 'return [PHP_INT_MAX, PHP_INT_MIN, 2**53 + 1, -1];'],
    ['every-visibility', new PhpObject('FixtureChild', props([
      ['pub', 'P'], ['\0*\0prot', 'PR'], ['\0FixtureBase\0priv', 'BASE'], ['\0FixtureBase\0onlyInBase', 7],
      ['extra', 'E'], ['\0FixtureChild\0priv', 'CHILD'], ['\0*\0childProt', null],
    ])), `$o = new FixtureChild('E');
      (function () { $this->pub = 'P'; $this->prot = 'PR'; $this->priv = 'BASE'; $this->onlyInBase = 7; })->bindTo($o, FixtureBase::class)();
      (function () { $this->priv = 'CHILD'; })->bindTo($o, FixtureChild::class)();
      return $o;`],
    ['namespaced', new PhpObject('App\\Model\\User', props([['id', 3], ['email', 'a@b.c'], ['\0*\0roles', PhpArray.of('R')], ['\0App\\Model\\User\0passwordHash', null]])),
      "return new App\\Model\\User(3, 'a@b.c', ['R']);"],
    ['custom-serialize', new PhpObject('FixtureCustom', props([['a', 'A'], ['secret', 'S'], [7, 'int-key']])), "return new FixtureCustom('A', 'S');"],
    ['serializable', new PhpSerializable('FixtureLegacy', Buffer.from('raw;"}{payload')), "return new FixtureLegacy('raw;\"}{payload');"],
    ['enums', PhpArray.of(suit, suit, new PhpEnum('FixtureStatus', 'Banned'), new PhpEnum('FixturePriority', 'High')),
      'return [FixtureSuit::Hearts, FixtureSuit::Hearts, FixtureStatus::Banned, FixturePriority::High];'],
    ['references', props([['a', shared], ['b', shared], ['c', PhpArray.of(shared)]]), "$v = 'shared'; return ['a' => &$v, 'b' => &$v, 'c' => [&$v]];"],
    ['same-object-twice', PhpArray.of(same, same, props([['again', same]])), '$o = new stdClass; $o->k = 1; return [$o, $o, ["again" => $o]];'],
    ['object-cycle', node, "$n = new FixtureNode('self'); $n->next = $n; return $n;"],
    ['unknown-class', new PhpObject('NoSuchClassHere', props([['a', 1]])), 'return unserialize(\'O:15:"NoSuchClassHere":1:{s:1:"a";i:1;}\');'],
    ['binary-string', Buffer.from([0, 0xff, 0xfe, 0x22, 0x3b, 0x7c]), 'return "\\0\\xff\\xfe\\";|";'],
  ];
}

function plainValues() {
  return [
    ['plain-nested', { a: 1, b: 'ü', c: [1, 2, 3], d: { e: null, f: true, g: false }, h: [], i: {} },
      "return ['a' => 1, 'b' => 'ü', 'c' => [1, 2, 3], 'd' => ['e' => null, 'f' => true, 'g' => false], 'h' => [], 'i' => []];"],
    ['plain-unicode', ['日本語', '😀👍🏽', '\uFEFFbom', 'a\0b', 'x|y;"z"'], 'return ["日本語", "😀👍🏽", "\\u{FEFF}bom", "a\\0b", \'x|y;"z"\'];'],
    ['plain-numbers', [0, -1, 1.5, 0.1, -2.5e-7, 2 ** 53 - 1, 2n ** 62n, -(2n ** 63n), 1e300],
      'return [0, -1, 1.5, 0.1, -2.5e-7, 2**53 - 1, 2**62, PHP_INT_MIN, 1e300];'],
    ['plain-buffer', { bytes: Buffer.from([1, 2, 0xff, 0]) }, 'return ["bytes" => "\\x01\\x02\\xff\\x00"];'],
    ['plain-numeric-keys', { 5: 'five', '-1': 'minus one', '05': 'string key' }, "return [5 => 'five', -1 => 'minus one', '05' => 'string key'];"],
    ['plain-magic-keys', JSON.parse('{"__proto__":{"x":1},"constructor":"c"}'), "return ['__proto__' => ['x' => 1], 'constructor' => 'c'];"],
  ];
}

test('PHP unserialize() reads what we serialize() from the value model', needPhp(), () => {
  assertPhpAgrees(modelValues().map(([name, value, expect]) => ({ name, format: 'serialize', b64: b64(serialize(value)), expect })));
});

test('PHP unserialize() reads what we serialize() from plain JS values', needPhp(), () => {
  assertPhpAgrees(plainValues().map(([name, value, expect]) => ({ name, format: 'serialize', b64: b64(serialize(value)), expect })));
});

function typicalSession() {
  const user = new PhpObject('App\\Model\\User', props([['id', 42], ['email', 'alice@example.com'], ['\0*\0roles', PhpArray.of('ROLE_USER')], ['\0App\\Model\\User\0passwordHash', 'h']]));
  const shared = new PhpReference(PhpArray.of(1, 2));
  return props([
    ['user', user],
    ['again', user],
    ['csrf', 'f3a1c2'],
    ['cart', props([['items', PhpArray.of(props([['sku', 'A-1'], ['price', new PhpFloat(19.99)]]))], ['total', new PhpFloat(39.98)]])],
    ['ref1', shared],
    ['ref2', shared],
    ['bytes', Buffer.from([0xff, 0x00, 0x7c])],
    ['status', new PhpEnum('FixtureStatus', 'Active')],
    ['__proto__', 'not a prototype'],
  ]);
}
const TYPICAL_PHP = `$u = new App\\Model\\User(42, 'alice@example.com', ['ROLE_USER'], 'h'); $r = [1, 2];
  return ['user' => $u, 'again' => $u, 'csrf' => 'f3a1c2', 'cart' => ['items' => [['sku' => 'A-1', 'price' => 19.99]], 'total' => 39.98],
    'ref1' => &$r, 'ref2' => &$r, 'bytes' => "\\xff\\x00|", 'status' => FixtureStatus::Active, '__proto__' => 'not a prototype'];`;

test('PHP session_decode() reads the sessions we encode, in all three formats', needPhp(), () => {
  const checks = [];
  for (const format of /** @type {const} */ (['php', 'php_serialize', 'php_binary'])) {
    checks.push({ name: `typical/${format}`, format, b64: b64(encodeSession(typicalSession(), format)), expect: TYPICAL_PHP });
    checks.push({ name: `empty/${format}`, format, b64: b64(encodeSession(new PhpArray(), format)), expect: 'return [];' });
    checks.push({ name: `plain/${format}`, format, b64: b64(encodeSession({ n: 1, s: 'ü|;', l: [true, null] }, format)), expect: "return ['n' => 1, 's' => 'ü|;', 'l' => [true, null]];" });
  }
  assertPhpAgrees(checks);
});

test("PHP's files handler (session_start) reads sess_<id> files we encode", needPhp(), () => {
  const dir = mkdtempSync(join(tmpdir(), 'sessctl-interop-'));
  try {
    const checks = /** @type {const} */ (['php', 'php_serialize', 'php_binary']).map((handler, i) => {
      const id = `interop${i}abcdefghijklmnopqrstuv`;
      writeFileSync(join(dir, `sess_${id}`), encodeSession(typicalSession(), handler), { mode: 0o600 });
      return { name: `files/${handler}`, format: 'files', dir, id, handler, expect: TYPICAL_PHP };
    });
    assertPhpAgrees(checks);
    for (const c of checks) assert.ok(existsSync(join(dir, `sess_${c.id}`)), `PHP kept ${c.name}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sessions PHP would mangle are refused by our encoder (EncodeError), as PHP fails or drops data', needPhp(), () => {
  // What PHP does with the same sessions, so this test documents real behaviour.
  const php = runPhp(['-r', `ob_start(); require '${join(FIXTURES_DIR, 'lib.php')}';
    $d = sys_get_temp_dir() . '/sessctl-refuse-' . getmypid(); @mkdir($d);
    $r = [fixture_session_encode($d, 'php', ['a|b' => 1]), fixture_session_encode($d, 'php', [5 => 'x', 'k' => 1]),
      fixture_session_encode($d, 'php_binary', [str_repeat('k', 128) => 1, 'k' => 1])];
    array_map('unlink', glob("$d/sess_*") ?: []); @rmdir($d); ob_end_clean(); echo json_encode($r);`]).toString();
  const [pipe, intKey, longKey] = JSON.parse(php);
  assert.equal(pipe, null, 'PHP refuses a "|" in a key with the php handler');
  assert.equal(intKey, 'k|i:1;', 'PHP silently skips int keys with the php handler');
  assert.equal(longKey, '\x01ki:1;', 'PHP silently drops keys over 127 bytes with php_binary');
  assert.throws(() => encodeSession(props([['a|b', 1]]), 'php'), EncodeError);
  assert.throws(() => encodeSession(props([[5, 'x'], ['k', 1]]), 'php'), EncodeError);
  assert.throws(() => encodeSession(props([['k'.repeat(128), 1]]), 'php_binary'), EncodeError);
  // The formats that can hold them do.
  assert.equal(Buffer.from(encodeSession(props([['a|b', 1]]), 'php_binary')).toString('latin1'), '\x03a|bi:1;');
  assert.equal(Buffer.from(encodeSession(props([[5, 'x']]), 'php_serialize')).toString('latin1'), 'a:1:{i:5;s:1:"x";}');
});
