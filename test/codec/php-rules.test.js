// Two of PHP's decoding rules the conformance suite (point 12b) found the decoder missing:
// integer property keys of plain objects, and `R:` to the top-level value of unserialize().
// Real PHP 8.2 judges: for each input, what PHP's serialize(unserialize(input)) writes is what
// we write after decoding it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { unserialize, serialize, decodeSession, PhpObject, PhpReference } from 'sessctl';
import { needPhp, phpPerInput } from '../helpers/env.js';

const INPUTS = [
  // stdClass (and an incomplete class) keep properties by name: i:0 is the property "0"
  'O:8:"stdClass":2:{i:0;i:1;s:1:"0";i:2;}',
  'O:8:"stdClass":2:{s:1:"0";i:1;i:0;i:2;}',
  'O:8:"stdClass":1:{i:0;i:1;}',
  'O:8:"stdClass":2:{i:1;i:1;s:1:"a";i:2;}',
  'O:8:"stdClass":1:{i:-5;i:1;}',
  'O:8:"stdClass":1:{i:9223372036854775807;i:1;}',
  'a:1:{i:0;O:8:"stdClass":3:{s:1:"a";i:1;i:0;i:2;s:1:"0";i:3;}}',
  // R: to the top-level value
  'a:1:{i:0;R:1;}',
  'a:2:{i:0;i:5;i:1;R:1;}',
  'a:1:{i:0;a:1:{i:0;R:1;}}',
  'a:2:{s:1:"x";a:1:{i:0;a:1:{i:0;R:1;}}s:1:"y";i:1;}',
  'a:2:{i:0;R:1;i:1;R:1;}',
  'O:8:"stdClass":1:{s:1:"a";R:1;}',
  'O:8:"stdClass":1:{s:1:"a";a:1:{i:0;R:1;}}',
  'a:1:{i:0;a:1:{i:0;R:2;}}',
  'a:2:{i:0;O:4:"test":1:{s:4:"ryat";R:1;}i:1;i:2;}',
  'a:2:{i:0;O:1:"A":1:{s:1:"p";a:1:{i:0;O:1:"B":1:{s:1:"q";R:1;}}}i:1;i:2;}',
  'a:3:{i:0;O:1:"A":1:{s:1:"p";R:1;}i:1;r:2;i:2;i:5;}',
];

test("PHP's rules for int property names and R: to the top-level value", needPhp(), () => {
  const php = phpPerInput(INPUTS, 'echo base64_encode(serialize(unserialize($s)));');
  assert.deepEqual(INPUTS.map((s) => serialize(unserialize(s)).toString('latin1')), php);
});

test('an int property key of stdClass is the property of that name', () => {
  const o = unserialize('O:8:"stdClass":2:{i:0;i:1;s:1:"0";i:2;}');
  assert.ok(o instanceof PhpObject);
  assert.deepEqual([...o.props], [['0', 2]]);
  // class names match in any case (PHP writes back its declared spelling; we keep the one read)
  assert.equal(serialize(unserialize('O:8:"STDCLASS":1:{i:7;s:1:"x";}')).toString(), 'O:8:"STDCLASS":1:{s:1:"7";s:1:"x";}');
  // other classes keep int keys as read (a class with __unserialize() gets an array), but
  // `i:0;` and `s:1:"0";` are still one key there: the later value, in the first one's place
  const f = unserialize('O:3:"Foo":3:{i:0;i:1;s:1:"a";i:2;s:1:"0";i:3;}');
  assert.deepEqual([...f.props], [[0, 3], ['a', 2]]);
  assert.equal(serialize(unserialize('O:3:"Foo":2:{i:0;s:1:"a";i:1;s:1:"b";}')).toString(), 'O:3:"Foo":2:{i:0;s:1:"a";i:1;s:1:"b";}');
});

test('R: to the top-level value: a lone one holds what PHP holds there; two or more stay one reference', () => {
  assert.deepEqual([...unserialize('a:1:{i:0;R:1;}')], [[0, null]]);
  const two = unserialize('a:2:{i:0;R:1;i:1;R:1;}');
  assert.ok(two.get(0) instanceof PhpReference);
  assert.equal(two.get(0), two.get(1));
  assert.equal(two.get(0).value, two);
  const o = unserialize('O:8:"stdClass":1:{s:1:"a";R:1;}');
  assert.equal(o.props.get('a'), o);
  // in a `php` session the slot is a session variable, a real reference: kept as written
  const s = decodeSession('a|a:1:{i:0;R:1;}', 'php');
  assert.ok(s.get('a') instanceof PhpReference);
});
