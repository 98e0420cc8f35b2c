// `sessctl set`'s JSON is read as PHP's json_decode($text, true) reads it; PHP 8.2 is the judge:
// the same value (compared through serialize()) or, where PHP fails, a refusal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serialize } from 'sessctl';
import { parsePhpJson } from '../../dist/admin/php-json.js';
import { needPhp, phpPerInput } from '../helpers/env.js';

const INPUTS = [
  '0',
  '-0',
  '-0.0',
  '1.0',
  '1e2',
  '1E-2',
  '2.5',
  '9007199254740993',
  '-9007199254740993',
  '9223372036854775807',
  '9223372036854775808',
  '-9223372036854775808',
  '-9223372036854775809',
  '99999999999999999999',
  '0.1',
  '1.7976931348623157e308',
  '"text"',
  '"\\u00e9\\ud83d\\ude00\\/\\n"',
  '[]',
  '{}',
  '[1, [2, [3]], {"a": null}]',
  '{"b": 1, "2": 2, "a": 3}',
  '{"a": 1, "a": 2, "b": 3}',
  '{"05": 1, "5": 2, "-5": 3, "": 4, "__proto__": 5}',
  ' \t\n true ',
  'false',
  'null',
  // refused by PHP
  '01',
  '1.',
  '.5',
  '+1',
  'NaN',
  "'a'",
  '"\\ud800"',
  '"\\udc00x"',
  '[1,]',
  '{"a" 1}',
  '"a\tb"',
  '1 2',
  '',
  '[' .repeat(513) + ']'.repeat(513),
];

test("JSON read as PHP's json_decode(…, true) reads it", needPhp(), () => {
  const php = phpPerInput(INPUTS, '$v = json_decode($s, true); echo json_last_error() ? "-" : base64_encode(serialize($v));');
  const ours = INPUTS.map((text) => {
    try {
      return serialize(parsePhpJson(text)).toString('latin1');
    } catch (err) {
      assert.equal(err.code, 'ECONFIG', `${text}: ${err}`);
      assert.match(err.message, /at offset \d+/);
      return null;
    }
  });
  assert.deepEqual(ours, php);
});

test('512 levels are read, one more is refused; __proto__ is an ordinary key', () => {
  assert.doesNotThrow(() => parsePhpJson('['.repeat(512) + ']'.repeat(512)));
  assert.throws(() => parsePhpJson('['.repeat(513) + ']'.repeat(513)), /nesting deeper than 512/);
  const v = /** @type {any} */ (parsePhpJson('{"__proto__": {"polluted": 1}}'));
  assert.equal(v.get('__proto__').get('polluted'), 1);
  assert.equal({}.polluted, undefined);
});
