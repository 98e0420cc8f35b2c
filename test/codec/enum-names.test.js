// Point 4 of the hardening issue, decoder side: an `E:` payload must be `Class:Case` where
// the class part is a name PHP can resolve (zend_is_valid_class_name: [0-9A-Za-z_\\\x80-\xff],
// non-empty; class_alias() can give a class any such name) and the case part an identifier a
// case can be declared with (not `class`). Real PHP 8.2 judges: every payload below that PHP
// refuses even with the enum (and aliases) defined, we refuse, at the offending byte. Payloads
// naming an enum or a case PHP does not have are accepted here (we cannot know what PHP has loaded).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { unserialize, serialize, DecodeError, PhpEnum } from 'sessctl';
import { needPhp, runPhp } from '../helpers/env.js';

// [payload (latin1 bytes), the byte of the payload we refuse at, or null when we accept]
/** @type {[string, number | null][]} */
const CASES = [
  ['Suit:Hearts', null],
  ['\\Suit:Hearts', null],
  ['suit:Hearts', null],
  ['Suit:_x', null],
  ['Suit:list', null],
  ['Suit:\xc3\xb1', null], // ñ
  ['Suit:Hea\xc2\x9brts', null], // U+009B inside: bytes PHP's lexer takes in a name (printing must escape it)
  ['NS\\Inner:X', null],
  ['1A:Hearts', null], // class_alias('Suit', '1A')
  ['A\\\\B:Hearts', null], // class_alias('Suit', 'A\\\\B')
  ['Suit:', 5],
  [':Hearts', 0],
  ['SuitHearts', 0],
  ['Suit:Hearts:', 11],
  ['Suit::Hearts', 5],
  ['Suit:Hea rts', 8],
  ['Suit:Hearts ', 11],
  [' Suit:Hearts', 0],
  ['Su-it:Hearts', 2],
  ['Suit:1x', 5],
  ['Suit:\\Hearts', 5],
  ['Suit:\x1b[2J', 5],
  ['Suit:Hea\x9b2J', null], // a lone byte 0x9b is a name byte for PHP too
  ['Suit\x1b:Hearts', 4],
  ['Suit:class', 5],
  ['Suit:CLASS', 5],
  ['Suit:Hearts\x00', 11],
];
const wrap = (payload) => `E:${payload.length}:"${payload}";`;

test('E: payloads: what PHP refuses whatever it has loaded, we refuse at the offending byte', () => {
  for (const [payload, at] of CASES) {
    const input = Buffer.from(wrap(payload), 'latin1');
    if (at === null) {
      const v = unserialize(input);
      assert.ok(v instanceof PhpEnum, payload);
      assert.deepEqual(serialize(v), input, payload);
      continue;
    }
    assert.throws(
      () => unserialize(input),
      (e) => e instanceof DecodeError && e.offset === 2 + String(payload.length).length + 2 + at,
      JSON.stringify(payload),
    );
  }
  // inside an array, the offset is still the byte's own
  assert.throws(() => unserialize('a:1:{i:0;E:9:"Suit:1abc";}'), (e) => e instanceof DecodeError && e.offset === 19);
});

test('the same payloads against real PHP 8.2 (enum, namespaced enum and aliases defined)', needPhp(), () => {
  const script = String.raw`
namespace NS { enum Inner { case X; } }
namespace {
eval("enum Suit { case Hearts; case _x; case list; case \xc3\xb1; case Hea\xc2\x9brts; case Hea\x9b2J; }");
class_alias('Suit', '1A');
class_alias('Suit', 'A\\\\B');
foreach (json_decode(stream_get_contents(STDIN)) as $b64) {
  $s = base64_decode($b64);
  $v = @unserialize($s);
  echo $v === false ? 'refused' : base64_encode(serialize($v)), "\n";
}
}`;
  const inputs = CASES.map(([p]) => Buffer.from(wrap(p), 'latin1').toString('base64'));
  const verdicts = runPhp(['-r', script], { input: JSON.stringify(inputs) }).toString().trim().split('\n');
  assert.equal(verdicts.length, CASES.length);
  CASES.forEach(([payload, at], i) => {
    const phpAccepts = verdicts[i] !== 'refused';
    assert.equal(at === null, phpAccepts, `${JSON.stringify(payload)}: PHP ${verdicts[i]}`);
    if (phpAccepts) {
      // PHP writes the declared spelling of the class (`\Suit`, `suit`, an alias → `Suit`); we keep what was read.
      const php = Buffer.from(verdicts[i], 'base64').toString('latin1');
      const ours = serialize(unserialize(Buffer.from(wrap(payload), 'latin1'))).toString('latin1');
      const caseOf = (s) => s.slice(s.indexOf(':', s.indexOf('"')) + 1);
      assert.equal(caseOf(ours), caseOf(php), payload);
    }
  });
});

test('an enum or case PHP does not have is accepted (PHP checks that against what it has loaded)', () => {
  for (const payload of ['Nope:X', 'Suit:hearts', 'stdClass:X']) assert.ok(unserialize(wrap(payload)) instanceof PhpEnum);
});

test('serialize refuses an enum name PHP could not read (it would destroy the session)', async () => {
  const { EncodeError } = await import('sessctl');
  for (const [cls, cs] of [['Suit', 'a b'], ['Suit', ''], ['', 'X'], ['Su-it', 'X'], ['Suit', 'class'], ['Suit', '1x'], ['Suit', 'A:B']]) {
    assert.throws(() => serialize(new PhpEnum(cls, cs)), EncodeError, `${cls}:${cs}`);
  }
  assert.equal(serialize(new PhpEnum('App\\Suit', 'Ñ_1')).toString(), 'E:13:"App\\Suit:Ñ_1";');
});
