// The codec against real PHP 8.2: what PHP writes round-trips byte for byte through us, and
// what we write from plain JS is what PHP reads (compared in PHP with var_export).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { unserialize, serialize, decodeSession, encodeSession, formatPhpFloat, toPlain, PhpArray, PhpReference, PhpObject } from 'sessctl';
import { needPhp, hasPhp, runPhp } from '../helpers/env.js';

const tmp = fs.mkdtempSync(join(os.tmpdir(), 'sessctl-codec-php-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

/**
 * @param {string} code
 * @param {{ args?: string[], input?: string, ini?: Record<string, string> }} [options]
 */
function php(code, { args = [], input, ini = {} } = {}) {
  const file = join(tmp, `s${Math.random().toString(36).slice(2)}.php`);
  fs.writeFileSync(file, `<?php\n${code}`);
  const iniArgs = Object.entries({ 'session.save_path': tmp, 'session.use_cookies': '0', 'session.use_strict_mode': '0', ...ini }).flatMap(([k, v]) => ['-d', `${k}=${v}`]);
  return runPhp([...iniArgs, file, ...args], { input });
}

const FLOATS = [
  '1e-5', '1e-4', '0.0001', '9.999999999999999e-5', '0.00012345', '2.5e-7', '1e-7', '5e-324', '1e16', '1e17', '99999999999999980.0',
  '1.2345678901234568E+17', '-1e25', '1.0', '-0.0', '0.0', '0.1', '0.30000000000000004', '1e15', '1e21', '1e22', '1.5e300',
  '1.7976931348623157e308', '123.456', '-1.5e-10', 'INF', '-INF', 'NAN', '2**53 + 0.0', '1/3', '-2/3', '100.0', '1e100',
];

const PHP_VALUES = String.raw`
enum Suit: string { case Hearts = 'H'; case Spades = 'S'; }
enum Plain { case A; case B; }
class P { private $pri = 1; protected $pro = 2; public $pub = 3; }
class C extends P { private $pri = 'child'; public $more = [1, 2]; }
class Old implements Serializable { public $d = 'x'; function serialize() { return "raw\x00data{};"; } function unserialize($s) {} }
class Modern { public $a = 1; function __serialize(): array { return ['a' => $this->a, 'x' => [1.5, null]]; } function __unserialize(array $d): void {} }
class Node { public $next; public $val; }
$out = [];
$add = function ($name, $v) use (&$out) { $out[] = [$name, base64_encode(@serialize($v))]; };
foreach ([${FLOATS.join(', ')}] as $i => $f) $add("float#$i", $f);
$add('floats-in-array', [0.1, -0.0, 1e17, 1e-5, NAN, INF]);
$add('ints', [0, -1, PHP_INT_MAX, PHP_INT_MIN, 2**53 + 1, -(2**53) - 1, 9007199254740992]);
$add('strings', ['', 'plain', "h\u{e9}llo", "\u{1F600}", "\xEF\xBB\xBFbom", "\xff\xfe\x00bin", "a\x00b", "\xc3\x28", str_repeat('x', 300), str_repeat("\u{e9}", 200)]);
$add('binary-keys', ["\xe9t\xe9" => 1, "ok" => 2, "\x00" => 3, '05' => 4, '-0' => 5, '5' => 6, -7 => 8]);
$o = new stdClass; $add('obj-obj-ref', [$o, $o, &$o]);
$o2 = new stdClass; $add('ref-first', [&$o2, $o2, &$o2]);
$add('enums', [Suit::Hearts, Suit::Hearts, Plain::A, Suit::Spades, Plain::A]);
$a = []; $a[0] = &$a; $add('array-self-ref', $a);
$self = new stdClass; $self->self = $self; $self->list = [$self]; $add('object-cycle', $self);
$x = 1; $add('scalar-refs', [&$x, [&$x, 'y'], &$x]);
$s = 'str'; $y = [&$s, &$s]; $add('string-refs', $y);
$n1 = new Node; $n2 = new Node; $n1->next = $n2; $n2->next = $n1; $n1->val = 1.5; $n2->val = &$n1->val; $add('linked-cycle', [$n1, $n2]);
$add('visibility', new C);
$add('serializable', [new Old, new Old]);
$old = new Old; $add('serializable-shared', [$old, $old]);
$add('__serialize', [new Modern, new Modern]);
$add('datetime', new DateTimeImmutable('2024-01-02 03:04:05.678901', new DateTimeZone('Europe/Paris')));
$add('arrayobject', new ArrayObject([1, 'a' => 2]));
$st = new SplObjectStorage; $k = new stdClass; $st[$k] = 'data'; $add('splobjectstorage', [$st, $k]);
$add('incomplete', unserialize('O:7:"Missing":1:{s:1:"a";i:1;}'));
$add('numeric-props', (object) ['a', 'b', 'x' => 1]);
$add('nested', ['user' => ['id' => 7, 'roles' => ['admin'], 'meta' => new stdClass], 'list' => [[[[]]]], 'bool' => [true, false, null]]);
$deep = null; for ($i = 0; $i < 4000; $i++) $deep = [$deep]; $add('deep-4000', $deep);
echo json_encode($out);
`;

const PHP_SESSION = String.raw`
class U { public $name = 'ann'; protected $roles = ['a']; private $pw = "\xff"; }
session_start();
$_SESSION['user'] = new U;
$_SESSION['same'] = $_SESSION['user'];
$_SESSION['count'] = 3;
$_SESSION['alias'] = &$_SESSION['count'];
$_SESSION['float'] = 0.1;
$_SESSION['list'] = [1, 2.5, 'x', null, true];
$_SESSION['5'] = 'numeric-looking key';
$_SESSION['bin'] = "\x80\x81";
$_SESSION[''] = 'empty key';
$_SESSION['cyc'] = [];
$_SESSION['cyc']['me'] = &$_SESSION['cyc'];
$_SESSION['utf8 ключ'] = 'значение';
echo base64_encode(session_encode());
`;

const PHP_SESSION_REFS = String.raw`
session_start();
$_SESSION['a'] = 1; $_SESSION['b'] = &$_SESSION['a'];
echo base64_encode(session_encode());
`;

test('PHP 8 float text: formatPhpFloat agrees with serialize() at every boundary', needPhp(), () => {
  const out = JSON.parse(php(`echo json_encode(array_map(fn($f) => [serialize($f), bin2hex(pack('E', $f))], [${FLOATS.join(', ')}]));`).toString());
  for (const [ser, hex] of out) {
    const n = Buffer.from(hex, 'hex').readDoubleBE(0);
    assert.equal(`d:${formatPhpFloat(n)};`, ser, `${n}`);
    assert.equal(serialize(unserialize(ser)).toString('latin1'), ser);
  }
});

test('values PHP serialized round-trip byte for byte', needPhp(), () => {
  const cases = JSON.parse(php(PHP_VALUES).toString());
  assert.ok(cases.length > 40);
  for (const [name, b64] of cases) {
    const bytes = Buffer.from(b64, 'base64');
    const v = unserialize(bytes);
    const out = serialize(v);
    assert.equal(Buffer.compare(out, bytes), 0, `${name}:\n  php: ${bytes.toString('latin1').slice(0, 300)}\n  us:  ${out.toString('latin1').slice(0, 300)}`);
  }
});

test('decoded PHP values have the documented shape', needPhp(), () => {
  const cases = new Map(JSON.parse(php(PHP_VALUES).toString()).map(([n, b]) => [n, unserialize(Buffer.from(b, 'base64'))]));
  const ref = cases.get('obj-obj-ref');
  assert.ok(ref.get(0) instanceof PhpReference);
  assert.equal(ref.get(0).value, ref.get(1));
  const cyc = cases.get('object-cycle');
  assert.equal(cyc.props.get('self'), cyc);
  assert.equal(cyc.props.get('list').get(0), cyc);
  const vis = cases.get('visibility');
  assert.ok(vis instanceof PhpObject);
  assert.deepEqual([...vis.props.keys()], ['\0P\0pri', '\0*\0pro', 'pub', '\0C\0pri', 'more']);
  const enums = cases.get('enums');
  assert.equal(enums.get(0), enums.get(1));
  assert.equal(enums.get(2), enums.get(4));
  const ints = cases.get('ints');
  assert.equal(ints.get(2), 9223372036854775807n);
  assert.equal(ints.get(6), 9007199254740992n);
  const strings = cases.get('strings');
  assert.equal(strings.get(4), '\ufeffbom');
  assert.ok(Buffer.isBuffer(strings.get(5)));
});

for (const handler of /** @type {const} */ (['php', 'php_serialize', 'php_binary'])) {
  test(`sessions PHP encoded with ${handler} round-trip byte for byte`, needPhp(), () => {
    for (const code of [PHP_SESSION, PHP_SESSION_REFS]) {
      const bytes = Buffer.from(php(code, { ini: { 'session.serialize_handler': handler } }).toString(), 'base64');
      const session = decodeSession(bytes, handler);
      const out = encodeSession(session, handler);
      assert.equal(Buffer.compare(out, bytes), 0, `php: ${bytes.toString('latin1')}\nus:  ${out.toString('latin1')}`);
    }
    const refs = decodeSession(Buffer.from(php(PHP_SESSION_REFS, { ini: { 'session.serialize_handler': handler } }).toString(), 'base64'), handler);
    assert.equal(refs.get('a'), refs.get('b'));
    assert.ok(refs.get('a') instanceof PhpReference);
  });
}

/** Asks PHP to unserialize each of our encodings and compare it with a PHP expression. */
function phpAgrees(checks) {
  const input = JSON.stringify(checks.map(([name, bytes, expr]) => [name, Buffer.from(bytes).toString('base64'), expr]));
  const out = php(
    String.raw`
$r = [];
foreach (json_decode(file_get_contents('php://stdin')) as [$name, $b64, $expr]) {
  $got = unserialize(base64_decode($b64));
  $want = eval("return $expr;");
  $r[] = [$name, var_export($got, true) === var_export($want, true) && serialize($got) === serialize($want), var_export($got, true)];
}
echo json_encode($r, JSON_INVALID_UTF8_SUBSTITUTE);`,
    { input },
  );
  for (const [name, ok, got] of JSON.parse(out.toString())) assert.ok(ok, `${name}: PHP read ${got}`);
}

test('what we encode from plain JS is what PHP expects', needPhp(), () => {
  const cyc = new PhpArray();
  const box = new PhpReference(cyc);
  cyc.set('me', box);
  phpAgrees([
    ['scalars', serialize([null, true, false, 0, -5, 1.5, -0, 'é', '', 2n ** 62n]), "[null, true, false, 0, -5, 1.5, -0.0, 'é', '', 2**62]"],
    ['floats', serialize([0.1, 1e17, 1e-5, 1e16, 0.0001, Infinity, -Infinity, 2.5e-7, 1.5e17, 1e20]), '[0.1, 100000000000000000, 1e-5, 10000000000000000, 0.0001, INF, -INF, 2.5e-7, 150000000000000000, 1e20]'],
    ['object as array', serialize({ name: 'ann', '5': 'five', '05': 'zero-five', '-3': 'neg', nested: { list: [1, 2] } }), "[5 => 'five', 'name' => 'ann', '05' => 'zero-five', -3 => 'neg', 'nested' => ['list' => [1, 2]]]"],
    ['map', serialize(new Map(/** @type {[string | number, unknown][]} */ ([['a', 1], [7, 'x'], ['8', 'y']]))), "['a' => 1, 7 => 'x', 8 => 'y']"],
    ['binary', serialize(Buffer.from([0xff, 0x00, 0x80])), '"\\xff\\x00\\x80"'],
    ['emoji + bom', serialize('\ufeff😀'), '"\\u{FEFF}\\u{1F600}"'],
    ['object', serialize(new PhpObject('stdClass', new PhpArray([['a', 1]]))), "(object) ['a' => 1]"],
    ['magic keys', serialize(JSON.parse('{"__proto__": 1, "constructor": 2}')), "['__proto__' => 1, 'constructor' => 2]"],
    ['big ints', serialize([2 ** 60, -(2n ** 63n), 2n ** 63n - 1n]), '[2**60, PHP_INT_MIN, PHP_INT_MAX]'],
  ]);
  // a reference cycle PHP can read back: compare by serializing again in PHP
  const out = php(`echo serialize(unserialize(base64_decode('${serialize(cyc).toString('base64')}')));`);
  assert.equal(out.toString('latin1'), serialize(cyc).toString('latin1'));
});

test('PHP session_decode() reads our session encodings', needPhp(), () => {
  const session = { user: { name: 'ann', roles: ['a', 'b'] }, n: 1.5, '5': 'five', bin: Buffer.from([0xff]), u: 'ü' };
  for (const handler of /** @type {const} */ (['php', 'php_binary', 'php_serialize'])) {
    const bytes = encodeSession(session, handler);
    const out = php(
      String.raw`session_start(); $ok = session_decode(base64_decode($argv[1])); echo json_encode([$ok, base64_encode(session_encode()), bin2hex($_SESSION['bin']), $_SESSION['user']['name'] ?? null]);`,
      { args: [bytes.toString('base64')], ini: { 'session.serialize_handler': handler } },
    );
    const [ok, reencoded, binHex, name] = JSON.parse(out.toString());
    assert.equal(ok, true, handler);
    assert.equal(Buffer.from(reencoded, 'base64').toString('latin1'), bytes.toString('latin1'), handler);
    assert.equal(binHex, 'ff');
    assert.equal(name, 'ann');
  }
});

test('toPlain of a PHP session gives plain values', needPhp(), () => {
  const bytes = Buffer.from(php(PHP_SESSION, { ini: { 'session.serialize_handler': 'php' } }).toString(), 'base64');
  const p = /** @type {any} */ (toPlain(decodeSession(bytes, 'php')));
  assert.equal(p.user.name, 'ann');
  assert.equal(p.user.__class, 'U');
  assert.deepEqual(p.user.roles, ['a']);
  assert.equal(p.same, p.user);
  assert.equal(p.alias, 3);
  assert.equal(p.cyc.me, p.cyc);
  assert.equal(p['utf8 ключ'], 'значение');
  assert.ok(!hasPhp || p.float === 0.1);
});
