// Point 12b of the hardening issue: PHP's own regression inputs as a conformance suite. The
// literal unserialize() / session_decode() inputs of php-src's tests (ext/standard/tests/serialize,
// ext/session/tests, Zend/tests/enum, ext/spl/tests) were extracted by
// fixtures/php-src-inputs/extract.php into inputs.json, and real PHP 8.2's verdict on each was
// recorded by verdicts.php (verdicts.json). Every input goes through our decoder: it never
// crashes (only DecodeError), and where it disagrees with PHP — accepting what PHP refuses,
// refusing what PHP accepts, or writing back other bytes than PHP's serialize()/session_encode()
// — the input is in ALLOWED below with the reason, which docs/codec-php-differences.md explains.
// An allowed input that stops disagreeing fails the test too (the list stays exact).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unserialize, serialize, decodeSession, encodeSession, toPlain, DecodeError, PhpArray, PhpReference } from 'sessctl';

const DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'php-src-inputs');
const { inputs } = JSON.parse(readFileSync(join(DIR, 'inputs.json'), 'utf8'));
const { verdicts } = JSON.parse(readFileSync(join(DIR, 'verdicts.json'), 'utf8'));

/** The reasons, as docs/codec-php-differences.md names them. */
const WHY = {
  classNotLoaded: 'class not loaded (PHP skips and drops a Serializable payload; we keep it and read its slots as the class would)',
  enumNotLoaded: 'enum not loaded (PHP refuses an enum it does not have; we cannot know which enums the application has)',
  intPropsNotLoaded: 'int property key of a class PHP does not have (its __PHP_Incomplete_Class turns it into a name; we keep it as read)',
  builtinLogic: "PHP runs built-in class code (SPL, Exception, DateInterval, SplFileObject…) that checks, normalises or refuses; we run no class code",
  splReserialized: "PHP writes its SPL objects back in their __serialize() (O:) form; we keep the C: payload as read (the references resolve to the same values: checked)",
  incompleteMagic: '__PHP_Incomplete_Class_Name is a property PHP treats specially; we keep it as data',
  floatText: 'a float spelled other than PHP writes it is written back as spelled (byte-exact round trip)',
  trailing: 'PHP 8.2 unserialize() ignores bytes after the value; we refuse them',
  duplicateKeySlot: "PHP's slot is the storage place, so R: to a value that a duplicate key overwrote reads the new value; we give the value the slot was made for",
};

const last = (v) => [...v.values()].pop();
const plainOf = (v) => toPlain(v instanceof PhpReference ? v.value : v);

/**
 * [file, input, reason, optional check of our decoded value]
 * @type {Array<[string, string | null, string, ((value: any) => void)?]>}
 */
const ALLOWED = [
  ['ext/standard/tests/serialize/005.phpt', 'C:10:"TestNANew2":0:{}', WHY.classNotLoaded],
  ['ext/standard/tests/serialize/__serialize_003.phpt', 'C:4:"Test":7:{payload}', WHY.classNotLoaded],
  ['ext/standard/tests/serialize/bug70172.phpt', 'a:2:{i:0;i:1;i:1;C:3:"obj":4:{R:2;}}', WHY.classNotLoaded],
  ['ext/standard/tests/serialize/bug70172_2.phpt', 'a:2:{i:0;O:4:"obj2":1:{s:4:"ryat";C:3:"obj":4:{r:2;}}i:1;a:1:{i:0;a:1:{i:0;R:4;}}}', WHY.classNotLoaded],
  ['ext/standard/tests/serialize/bug70219_1.phpt', 'a:2:{i:0;C:3:"obj":4:{r:2;}i:1;C:3:"obj":4:{r:2;}}', WHY.classNotLoaded],
  ['ext/standard/tests/serialize/bug70513.phpt', 'a:1:{i:0;C:3:"GMP":83:{s:1:"1";a:3:{s:2:"aa";s:2:"hi";s:2:"bb";s:2:"hi";i:0;O:3:"obj":1:{s:4:"ryat";R:2;}}}}', WHY.classNotLoaded],
  ['ext/standard/tests/serialize/bug81111.phpt', 'C:13:"MySplFileInfo":0:{}', WHY.classNotLoaded],
  ['ext/standard/tests/serialize/serialization_objects_009.phpt', 'C:1:"C":6:{dasdas}', WHY.classNotLoaded],
  ['Zend/tests/enum/unserialize-const.phpt', 'E:7:"Foo:Baz";', WHY.enumNotLoaded],
  ['Zend/tests/enum/unserialize-non-enum.phpt', 'E:7:"Foo:Bar";', WHY.enumNotLoaded],
  ['Zend/tests/enum/unserialize.phpt', 'E:8:"Foo:Quux";', WHY.enumNotLoaded],
  ['ext/standard/tests/serialize/bug72663.phpt', 'O:5:"Test2":1:{i:0;R:1;}', WHY.intPropsNotLoaded],
  ['ext/standard/tests/serialize/__serialize_007.phpt', 'O:13:"ArrayIterator":2:{i:0;i:0;s:1:"x";R:2;}', WHY.builtinLogic],
  ['ext/standard/tests/serialize/bug67072.phpt', 'O:13:"SplFileObject":1:{s:9:"*filename";s:15:"/home/flag/flag";}', WHY.builtinLogic],
  ['ext/standard/tests/serialize/bug69152.phpt', 'O:9:"exception":1:{s:16:"\0Exception\0trace";s:4:"ryat";}', WHY.builtinLogic],
  ['ext/standard/tests/serialize/bug69425.phpt', 'a:2:{i:0;O:12:"DateInterval":1:{s:1:"y";R:1;}i:1;i:2;}', WHY.builtinLogic],
  ['ext/standard/tests/serialize/bug69793.phpt', null, WHY.builtinLogic],
  ['ext/standard/tests/serialize/bug70963.phpt', 'a:2:{i:0;O:9:"exception":1:{s:16:"\0Exception\0trace";s:4:"test";}i:1;R:3;}', WHY.builtinLogic],
  ['ext/standard/tests/serialize/unserialize_abstract_class.phpt', 'O:23:"RecursiveFilterIterator":0:{}', WHY.builtinLogic],
  ['ext/spl/tests/bug70155.phpt', null, WHY.builtinLogic],
  ['ext/spl/tests/unserialize_errors.phpt', null, WHY.builtinLogic],
  ['ext/standard/tests/serialize/bug72785.phpt', 'C:11:"ArrayObject":37:{x:i:0;a:1:{i:0;O:1:"A":0:{}};m:a:0:{}}', WHY.splReserialized],
  ['ext/spl/tests/bug74669.phpt', 'C:11:"ArrayObject":41:{x:i:33554432;O:8:"stdClass":0:{};m:a:0:{}}', WHY.splReserialized],
  ['ext/spl/tests/bug70166.phpt', null, WHY.splReserialized, (v) => assert.deepEqual(plainOf(last(v)), [])], // R:5: the members array
  ['ext/spl/tests/bug70168.phpt', null, WHY.splReserialized, (v) => assert.equal(plainOf(last(v)), 1)], // R:3: the count
  ['ext/spl/tests/bug70169.phpt', null, WHY.splReserialized, (v) => assert.equal(plainOf(last(v)), 1)], // R:3: the flags
  ['ext/standard/tests/serialize/bug69152.phpt', 'O:4:"test":1:{s:27:"__PHP_Incomplete_Class_Name";R:1;}', WHY.incompleteMagic],
  ['ext/standard/tests/serialize/bug74300.phpt', 'd:2e+2;', WHY.floatText],
  ['ext/standard/tests/serialize/typed_property_ref_overwrite.phpt', 'O:4:"Test":2:{s:4:"prop";R:1;s:4:"prop";N;}}', WHY.trailing],
  ['ext/standard/tests/serialize/typed_property_ref_overwrite2.phpt', null, WHY.duplicateKeySlot],
];

function allowed(c, bytes) {
  return ALLOWED.find(([file, input]) => file === c.file && (input === null || Buffer.from(input, 'latin1').equals(bytes)));
}

test('the suite holds php-src\'s inputs and PHP 8.2\'s verdicts on them', () => {
  assert.ok(inputs.length >= 180, `${inputs.length} inputs`);
  assert.equal(verdicts.length, inputs.length);
  for (const needed of ['ext/spl/tests/bug70166.phpt', 'ext/spl/tests/bug70168.phpt', 'ext/spl/tests/bug70169.phpt', 'ext/standard/tests/serialize/bug72731.phpt']) {
    assert.ok(inputs.some((c) => c.file === needed), needed);
  }
});

test('our decoder on every php-src input: no crash, and every disagreement with PHP is an allowed one', () => {
  const disagreements = [];
  const usedAllowances = new Set();
  inputs.forEach((c, i) => {
    const v = verdicts[i];
    const bytes = c.b64 !== undefined ? Buffer.from(c.b64, 'base64') : Buffer.from(c.input, 'utf8');
    const handler = v.handler ?? c.handler;
    let value;
    let ours;
    let err;
    try {
      if (c.fn === 'unserialize') {
        value = unserialize(bytes);
        ours = serialize(value);
      } else {
        value = decodeSession(bytes, handler);
        ours = encodeSession(value, handler);
      }
    } catch (e) {
      if (!(e instanceof DecodeError)) throw new Error(`${c.file}:${c.line}: crashed on ${JSON.stringify(bytes.toString('latin1'))}: ${e.stack}`);
      err = e;
    }
    // PHP's session_encode() gives false for an empty session, and PHP then stores ''.
    const php = v.out === null ? (v.accepts && c.fn === 'session_decode' ? Buffer.alloc(0) : null) : Buffer.from(v.out, 'base64');
    let d = null;
    if (v.accepts && err) d = `PHP accepts, we refuse (${err.message})`;
    else if (!v.accepts && !err) d = `PHP refuses${v.thrown ? ` (${v.thrown})` : ''}, we accept`;
    else if (v.accepts && !ours.equals(php)) d = `PHP writes back ${JSON.stringify(php.toString('latin1'))}, we ${JSON.stringify(ours.toString('latin1'))}`;
    const allowance = allowed(c, bytes);
    if (d === null) return;
    if (allowance === undefined) {
      disagreements.push(`${c.file}:${c.line} ${c.fn} ${JSON.stringify(bytes.toString('latin1'))}: ${d}`);
      return;
    }
    if (allowance[3] !== undefined) {
      // allowed for the bytes written back only: the value must be there, and be PHP's
      if (err !== undefined) {
        disagreements.push(`${c.file}:${c.line} ${c.fn} ${JSON.stringify(bytes.toString('latin1'))}: ${d}`);
        return;
      }
      allowance[3](value);
    }
    usedAllowances.add(allowance);
  });
  assert.deepEqual(disagreements, []);
  const stale = ALLOWED.filter((a) => !usedAllowances.has(a)).map(([file, input]) => `${file} ${input ?? '(any input)'}`);
  assert.deepEqual(stale, [], 'allowed disagreements that no longer disagree');
});

test('the known disagreements this suite found are fixed: C: slots, int property names, R: to the top level', () => {
  // bug70166/70168/70169: the R: after an SPL payload resolves into it (PHP's values)
  assert.deepEqual(toPlain(unserialize('a:2:{i:0;C:11:"ArrayObject":21:{x:i:1;a:0:{};m:a:0:{}}i:1;R:5;}').get(1).value), []);
  assert.equal(unserialize('a:2:{i:0;C:19:"SplDoublyLinkedList":4:{i:1;}i:1;R:3;}').get(1).value, 1);
  // stdClass: i:0 and s:1:"0" are one property
  assert.equal(serialize(unserialize('O:8:"stdClass":2:{i:0;i:1;s:1:"0";i:2;}')).toString(), 'O:8:"stdClass":1:{s:1:"0";i:2;}');
  // R:1 to the top-level array: PHP holds (and writes back) null there
  const r = unserialize('a:1:{i:0;R:1;}');
  assert.ok(r instanceof PhpArray);
  assert.equal(r.get(0), null);
});
