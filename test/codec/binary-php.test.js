// Interop with live PHP (php-igbinary, php-msgpack): bytes we encode are read by PHP's own
// igbinary_unserialize()/msgpack_unpack()/session_decode()/session_start(), and PHP must get
// exactly the value it expects; where PHP would write the same value the same way, our bytes
// must also be PHP's bytes. Then every corpus value, changed in Node, is read back by PHP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  decodeSession,
  encodeSession,
  igbinarySerialize,
  igbinaryUnserialize,
  msgpackPack,
  msgpackUnpack,
  PhpArray,
  PhpFloat,
  PhpObject,
  PhpEnum,
  PhpReference,
  PhpSerializable,
} from 'sessctl';
import { runPhp } from '../helpers/env.js';
import { FIXTURES_DIR, descriptionDifference } from '../../fixtures/corpus.js';
import { FORMATS, needPhpExtension } from './binary-env.js';
import { describeAsPhpSees } from './binary-describe.js';

const encode = { igbinary: igbinarySerialize, msgpack: msgpackPack };
const decode = { igbinary: igbinaryUnserialize, msgpack: msgpackUnpack };
const b64 = (bytes) => Buffer.from(bytes).toString('base64');

/** Runs the checks through fixtures/igbinary/php-check.php; returns PHP's verdicts by name. */
function askPhp(checks) {
  const out = runPhp([join(FIXTURES_DIR, 'igbinary', 'php-check.php')], { input: JSON.stringify(checks) });
  return new Map(JSON.parse(out.toString('utf8')).map((v) => [v.name, v]));
}

function props(entries) {
  const a = new PhpArray();
  for (const [k, v] of entries) Map.prototype.set.call(a, k, v);
  return a;
}

/** [name, value, PHP code for the value PHP must read, whether PHP writes exactly our bytes for it]. */
function modelValues(format) {
  const node = new PhpObject('FixtureNode', props([['value', 'self'], ['next', null]]));
  node.props.set('next', node);
  const shared = PhpArray.of(1, 2);
  const obj = new PhpObject('stdClass', props([['p', 1]]));
  const arrBox = new PhpReference(PhpArray.of(1, 2));
  const child = new PhpObject('FixtureChild', props([
    ['pub', 'base-public'], ['\0*\0prot', 'base-protected'], ['\0FixtureBase\0priv', 'base-private'], ['\0FixtureBase\0onlyInBase', 42],
    ['extra', 'e'], ['\0FixtureChild\0priv', 'child-private'], ['\0*\0childProt', PhpArray.of('c', new PhpFloat(2))],
  ]));
  /** @type {Array<[string, any, string, boolean]>} */
  const values = [
    ['ints at every width', [0, 1, -1, 31, 32, -32, -33, 127, 128, -128, -129, 255, 256, -256, 65535, 65536, -65536, 4294967295, 4294967296, -4294967296, 2 ** 53 - 1, 2n ** 53n + 1n, 9223372036854775807n, -9223372036854775808n],
      'return [0, 1, -1, 31, 32, -32, -33, 127, 128, -128, -129, 255, 256, -256, 65535, 65536, -65536, 4294967295, 4294967296, -4294967296, 2 ** 53 - 1, 2 ** 53 + 1, PHP_INT_MAX, PHP_INT_MIN];', true],
    ['floats', PhpArray.of(new PhpFloat(-0), new PhpFloat(Infinity), new PhpFloat(-Infinity), new PhpFloat(NaN), new PhpFloat(0.1), new PhpFloat(1e17), new PhpFloat(1), new PhpFloat(5e-324), 2.5),
      'return [-0.0, INF, -INF, NAN, 0.1, 1e17, 1.0, 5e-324, 2.5];', true],
    ['strings, UTF-8 and not', ['', 'é', '日本語', Buffer.from([0xff, 0xfe]), 'x'.repeat(300), Buffer.from('caf\xe9', 'latin1'), 'é'],
      'return ["", "é", "日本語", "\\xff\\xfe", str_repeat("x", 300), "caf\\xe9", "é"];', true],
    ['keys', new Map(/** @type {Array<[any, string]>} */ ([[5, 'a'], ['05', 'b'], [-1, 'c'], ['', 'd'], ['__proto__', 'e'], ['\udcff', 'binary key'], ['9223372036854775807', 'max']])),
      'return [5 => "a", "05" => "b", -1 => "c", "" => "d", "__proto__" => "e", "\\xff" => "binary key", PHP_INT_MAX => "max"];', true],
    ['plain JS values', { a: 1, list: [1.5, 'x', null, true], nested: { k: new Map([[1, 'one']]) }, big: 2n ** 62n, buf: Buffer.from([0xff]) },
      'return ["a" => 1, "list" => [1.5, "x", null, true], "nested" => ["k" => [1 => "one"]], "big" => 2 ** 62, "buf" => "\\xff"];', true],
    ['visibility and inheritance', child, 'return new FixtureChild("e", ["c", 2.0]);', true],
    // msgpack-php's reader hands Serializable::unserialize() the data and one NUL byte more (msgpack_unpack.c: length + 1)
    format === 'igbinary'
      ? ['Serializable', PhpArray.of(new PhpSerializable('FixtureLegacy', Buffer.from('bin\0\xff}', 'latin1'))), 'return [new FixtureLegacy("bin\\0\\xff}")];', true]
      : ['Serializable', PhpArray.of(new PhpSerializable('FixtureLegacy', Buffer.from('bin\0\xff}', 'latin1'))), 'return [new FixtureLegacy("bin\\0\\xff}\\0")];', false],
    ['__serialize', new PhpObject('FixtureCustom', props([['a', 1], ['secret', 's'], [7, 'int-key']])), 'return new FixtureCustom(1, "s");', format === 'igbinary'],
    ['object identity and cycles', PhpArray.of(node, node), '$n = new FixtureNode("self"); $n->next = $n; return [$n, $n];', true],
    ['an object twice, then a referenced array twice', PhpArray.of(obj, obj, arrBox, arrBox),
      '$o = new stdClass; $o->p = 1; $a = [1, 2]; return [$o, $o, &$a, &$a];', true],
    ['a shared array', PhpArray.of(shared, shared), '$s = [1, 2]; return [$s, $s];', true],
    ['uninitialised typed properties', new PhpObject('FixtureTyped', props([['label', null], ['tags', new PhpArray()]])), 'return new FixtureTyped();', format === 'msgpack'],
    ['a string of 70000 bytes', 'x'.repeat(70000), 'return str_repeat("x", 70000);', true],
    ['70000 ints', Array.from({ length: 70000 }, (_, i) => i), 'return range(0, 69999);', true],
    ['a map of 70000 entries', Object.fromEntries(Array.from({ length: 70000 }, (_, i) => [`k${i}`, i])),
      '$a = []; for ($i = 0; $i < 70000; $i++) $a["k$i"] = $i; return $a;', true],
    ['70000 distinct strings, then one again', [...Array.from({ length: 70000 }, (_, i) => `s${i}`), 's69999'],
      '$a = []; for ($i = 0; $i < 70000; $i++) $a[] = "s$i"; $a[] = "s69999"; return $a;', true],
  ];
  const objects = Array.from({ length: 300 }, () => new PhpObject('stdClass'));
  values.push(['300 objects, then the last again', [...objects, objects[299]], '$a = []; for ($i = 0; $i < 300; $i++) $a[] = new stdClass; $a[] = $a[299]; return $a;', true]);
  if (format === 'igbinary') {
    const hearts = new PhpEnum('FixtureSuit', 'Hearts');
    const box = new PhpReference(5);
    const objBox = new PhpReference(obj);
    values.push(
      ['enum cases (one singleton)', PhpArray.of(hearts, hearts, new PhpEnum('FixtureSuit', 'Hearts'), new PhpEnum('FixtureStatus', 'Banned')),
        'return [FixtureSuit::Hearts, FixtureSuit::Hearts, FixtureSuit::Hearts, FixtureStatus::Banned];', true],
      ['references to an int, an array, an object', PhpArray.of(box, box, arrBox, arrBox, obj, objBox, objBox),
        '$x = 5; $a = [1, 2]; $o = new stdClass; $o->p = 1; $o2 = $o; return [&$x, &$x, &$a, &$a, $o2, &$o, &$o];', true],
    );
  }
  return values;
}

function typicalSession() {
  const user = new PhpObject('App\\Model\\User', props([['id', 42], ['email', 'ann@example.com'], ['\0*\0roles', PhpArray.of('ROLE_USER')], ['\0App\\Model\\User\0passwordHash', null]]));
  return {
    csrf_token: 'f3a1c2e4b5d6a7980123456789abcdef',
    user,
    cart: { items: [{ sku: 'A-1', qty: 2, price: new PhpFloat(19.99) }], total: new PhpFloat(39.98) },
    flash: { success: ['Saved!'], error: [] },
    last_seen: 1700000000,
    __proto__key: { constructor: 'c' },
  };
}
const TYPICAL_PHP = 'return ["csrf_token" => "f3a1c2e4b5d6a7980123456789abcdef", "user" => new App\\Model\\User(42, "ann@example.com", ["ROLE_USER"], null), '
  + '"cart" => ["items" => [["sku" => "A-1", "qty" => 2, "price" => 19.99]], "total" => 39.98], "flash" => ["success" => ["Saved!"], "error" => []], '
  + '"last_seen" => 1700000000, "__proto__key" => ["constructor" => "c"]];';

for (const format of FORMATS) {
  test(`${format}: PHP reads the values we encode as exactly what it expects, and writes them with the same bytes`, needPhpExtension(format), () => {
    const values = modelValues(format);
    const checks = values.map(([name, value, expect]) => ({ name, format, kind: 'value', b64: b64(encode[format](value)), expect }));
    const verdicts = askPhp(checks);
    const bad = [];
    values.forEach(([name, value, , sameBytes], i) => {
      const v = verdicts.get(name);
      if (!v) return bad.push(`${name}: no verdict`);
      if (!v.ok) return bad.push(`${name}: ${v.accepted ? descriptionDifference(v.expected, v.actual) : 'PHP refused the bytes'}`);
      if (sameBytes && v.phpB64 !== checks[i].b64) bad.push(`${name}: PHP writes other bytes for it:\n  php  ${Buffer.from(v.phpB64, 'base64').toString('hex').slice(0, 160)}\n  ours ${Buffer.from(checks[i].b64, 'base64').toString('hex').slice(0, 160)}`);
      // and our decoder reads PHP's bytes back into the value we started from
      const back = describeAsPhpSees(decode[format](Buffer.from(v.phpB64, 'base64')));
      const d = descriptionDifference(v.expected, back);
      if (d) bad.push(`${name}: decoding PHP's bytes: ${d}`);
      void value;
    });
    assert.equal(bad.length, 0, `${bad.length} of ${values.length} differ:\n${bad.join('\n')}`);
  });

  test(`${format}: sessions we encode are read by session_decode() and session_start() as PHP wrote them`, needPhpExtension(format), () => {
    const dir = mkdtempSync(join(tmpdir(), `sessctl-${format}-php-`));
    try {
      const a = new PhpReference(PhpArray.of(1, 2));
      const n = new PhpReference(5);
      const refs = { a, n, b: a, m: n };
      const refsPhp = format === 'igbinary'
        ? '$s = ["a" => [1, 2], "n" => 5]; $s["b"] = &$s["a"]; $s["m"] = &$s["n"]; return $s;'
        : '$s = ["a" => [1, 2], "n" => 5]; $s["b"] = &$s["a"]; $s["m"] = 5; return $s;'; // msgpack keeps no reference to an int
      /** @type {Array<[string, any, string]>} */
      const sessions = [['typical', typicalSession(), TYPICAL_PHP], ['references across keys', refs, refsPhp], ['empty', {}, 'return [];']];
      const checks = [];
      for (const [name, s, expect] of sessions) {
        const bytes = encodeSession(s, format);
        const id = `${format}${checks.length}`;
        checks.push({ name, format, kind: 'session', b64: b64(bytes), expect });
        writeFileSync(join(dir, `sess_${id}`), bytes);
        checks.push({ name: `${name} (file)`, format, kind: 'files', dir, id, expect });
      }
      const verdicts = askPhp(checks);
      for (const c of checks) {
        const v = verdicts.get(c.name);
        assert.ok(v?.accepted, `${c.name}: PHP refused the session`);
        assert.ok(v.ok, `${c.name}: ${descriptionDifference(v.expected, v.actual)}`);
        if (c.kind === 'session') assert.equal(Buffer.from(v.phpB64, 'base64').toString('hex'), Buffer.from(c.b64, 'base64').toString('hex'), `${c.name}: session_encode() writes other bytes`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test(`${format}: every corpus value, changed in Node and encoded again, is read by PHP as we hold it`, needPhpExtension(format), () => {
    const corpus = JSON.parse(readFileSync(join(FIXTURES_DIR, format, 'corpus.json'), 'utf8')).cases
      .filter((c) => c.phpReads && (format === 'igbinary' || c.phpRoundtrip) && c.roundtrip);
    const ours = new Map();
    const checks = [];
    for (const c of corpus) {
      const bytes = Buffer.from(c.b64, 'base64');
      const v = c.kind === 'session' ? decodeSession(bytes, format) : decode[format](bytes);
      if (!(v instanceof PhpArray)) continue;
      v.set('sessctl_changed', new PhpFloat(0.5)); // what a request does: one more key
      ours.set(c.name, v);
      checks.push({ name: c.name, format, kind: c.kind, b64: b64(c.kind === 'session' ? encodeSession(v, format) : encode[format](v)) });
    }
    assert.ok(checks.length >= 50, `only ${checks.length} cases`);
    const verdicts = askPhp(checks);
    const bad = [];
    for (const c of checks) {
      const v = verdicts.get(c.name);
      if (!v?.accepted) bad.push(`${c.name}: PHP refused the bytes`);
      else {
        const d = descriptionDifference(describeAsPhpSees(ours.get(c.name)), v.actual);
        if (d) bad.push(`${c.name}: ${d}`);
      }
    }
    assert.equal(bad.length, 0, `${bad.length} of ${checks.length} differ:\n${bad.slice(0, 6).join('\n')}`);
  });
}
