// The --where language: parsing (errors at the column), evaluation over the plain view.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseWhere, evaluateWhere, WhereSyntaxError } from 'sessctl/admin';
import { ConfigError } from 'sessctl';

const session = {
  user: { id: 42, email: 'ann@example.com', roles: ['admin', 'dev'] },
  login_web_59ba36addc2b2f9401580f014c7f58ea4e30989d: 42,
  cart: { items: Array.from({ length: 12 }, (_, i) => ({ sku: `s${i}`, qty: i })) },
  sid: '42',
  flag: true,
  nothing: null,
  'odd key': 'x',
  big: '9223372036854775807',
};
const holds = (expr, /** @type {object} */ s = session) => evaluateWhere(parseWhere(expr), s);
/** The expression against a session holding only `x`. */
const where = (expr, x) => holds(expr, { x });

test('the issue\'s examples', () => {
  assert.equal(holds('user.id == 42'), true);
  assert.equal(holds('user.id == 43'), false);
  assert.equal(holds('login_web_* exists'), true);
  assert.equal(holds('login_api_* exists'), false);
  assert.equal(holds('cart.items.length > 10'), true);
  assert.equal(holds('cart.items.length > 12'), false);
  assert.equal(holds('user.email ~ /@example\\.com$/'), true);
  assert.equal(holds('user.email ~ /@EXAMPLE\\.com$/'), false);
  assert.equal(holds('user.email ~ /@EXAMPLE\\.com$/i'), true);
});

test('comparisons: numbers and numeric strings alike, strings, booleans, null, ordering', () => {
  assert.equal(holds('sid == 42'), true, 'a numeric string equals the number');
  assert.equal(holds('user.id == "42"'), true);
  assert.equal(holds('user.id != 42'), false);
  assert.equal(holds('user.id >= 42 and user.id <= 42 and user.id < 43 and user.id > 41'), true);
  assert.equal(holds("user.email == 'ann@example.com'"), true);
  assert.equal(holds("user.email < 'b'"), true);
  assert.equal(holds('flag == true'), true);
  assert.equal(holds('flag == 1'), false, 'a boolean is not a number');
  assert.equal(holds('nothing == null'), true);
  assert.equal(holds('nothing exists'), true);
  assert.equal(holds('user == 1'), false, 'an array is not a number');
  assert.equal(holds('missing != 1'), false, 'a test on a path that reaches nothing is false');
  assert.equal(holds('not missing == 1'), true);
});

test('ints beyond 2^53 compare exactly, as PHP compares two ints (snowflake ids are not rounded into each other)', () => {
  // The plain view gives an int beyond 2^53 as its decimal string; PHP's 1541815603606036481 == 1541815603606036480 is false.
  const s = { user: { id: '1541815603606036481' }, max: '9223372036854775807', small: 42, f: 9007199254740992 };
  const where = (expr) => evaluateWhere(parseWhere(expr), s);
  assert.equal(where('user.id == 1541815603606036480'), false, 'the neighbouring id does not match');
  assert.equal(where('user.id == 1541815603606036481'), true);
  assert.equal(where('user.id == "1541815603606036480"'), false, 'two integer strings compare as ints too');
  assert.equal(where('user.id != 1541815603606036480'), true);
  assert.equal(where('user.id > 1541815603606036480 and user.id < 1541815603606036482'), true);
  assert.equal(where('max == 9223372036854775806'), false);
  assert.equal(where('max > 9223372036854775806'), true);
  assert.equal(where('small < 9223372036854775807'), true);
  assert.equal(where('max == 9223372036854775808'), true, 'a literal beyond 64 bits is a float for PHP, and so is the comparison');
  assert.equal(where('f == 9007199254740993'), true, 'a float compares as a float, as in PHP');
});

test('numeric strings are PHP 8\'s: a sign and a trailing dot are numeric, only PHP\'s whitespace is skipped', () => {
  assert.equal(where('x == 42', '+42'), true, 'PHP: "+42" == 42');
  assert.equal(where('x == 42', '42.'), true, 'PHP: "42." == 42');
  assert.equal(where('x == 42', ' \t\n42\r\v\f'), true);
  assert.equal(where('x == 42', '\u00a042'), false, 'PHP: "\xc2\xa042" == 42 is false (U+00A0 is no PHP whitespace)');
  assert.equal(where('x == 42', '\u200342'), false);
  assert.equal(where('x < 50', '+4.2e1'), true);
});

test('paths: wildcards (any match), indexes, quoted keys, length', () => {
  assert.equal(holds('user.roles.* == "admin"'), true);
  assert.equal(holds('user.roles[1] == "dev"'), true);
  assert.equal(holds('cart.items.*.qty > 10'), true);
  assert.equal(holds('cart.items.*.qty > 11'), false);
  assert.equal(holds('cart.items[3].sku == "s3"'), true);
  assert.equal(holds('"odd key" == "x"'), true);
  assert.equal(holds('user.email.length == 15'), true);
  assert.equal(holds('user.length == 3'), true, 'length of a map: its number of keys');
  assert.equal(holds('u?er.id == 42'), true);
  assert.equal(holds('* exists'), true);
});

test('and / or / not, precedence and parentheses', () => {
  assert.equal(holds('user.id == 1 or user.id == 42 and flag == true'), true);
  assert.equal(holds('(user.id == 1 or user.id == 42) and flag == false'), false);
  assert.equal(holds('not not flag == true'), true);
  assert.equal(holds('not (user.id == 42)'), false);
  assert.equal(holds('notes exists'), false, '"notes" is a key, not the keyword');
});

test('a long generated chain (user.id == 1 or user.id == 2 or …, 20,000 terms) is evaluated, not a stack overflow', () => {
  const ors = Array.from({ length: 20000 }, (_, i) => `a == ${i + 1}`).join(' or ');
  assert.equal(evaluateWhere(parseWhere(ors), { a: 20000 }), true);
  assert.equal(evaluateWhere(parseWhere(ors), { a: 0 }), false);
  const ands = Array.from({ length: 20000 }, () => 'a == 1').join(' and ');
  assert.equal(evaluateWhere(parseWhere(ands), { a: 1 }), true);
  assert.equal(evaluateWhere(parseWhere(`${ands} and a == 2`), { a: 1 }), false);
  assert.equal(evaluateWhere(parseWhere(`(${ors}) and not (${ands})`), { a: 2 }), true, 'chains inside parentheses and not');
});

test('regexes run in linear time on hostile content: /^(a+)+$/ against "aaaa…b" ends; i folds case outside escapes', () => {
  const hostile = { x: 'a'.repeat(5000) + 'b', y: 'a'.repeat(5000), name: 'Ann Smith' };
  const where = (expr) => evaluateWhere(parseWhere(expr), hostile);
  assert.equal(where('x ~ /^(a+)+$/'), false);
  assert.equal(where('y ~ /^(a+)+$/'), true);
  assert.equal(where('x ~ /^(a|a)*$/'), false);
  assert.equal(where('name ~ /^ann\\Ws/i'), true, '\\W keeps its meaning under i');
  assert.equal(where('name ~ /^ANN [A-Z]/i'), true);
  assert.equal(where('name ~ /^ANN/'), false);
  assert.equal(evaluateWhere(parseWhere('a*a*a*a*a*a*a*b exists'), { ['a'.repeat(3000)]: 1 }), false, 'a glob is linear too');
});

test('errors: a ConfigError naming the column, with a caret under it', () => {
  /** @type {[string, number, RegExp][]} */
  const cases = [
    ['user.id = 42', 9, /expected an operator/],
    ['user.id ==', 11, /expected a value/],
    ['(user.id == 1', 14, /expected '\)'/],
    ['user.id == 1 extra', 14, /expected 'and', 'or' or the end/],
    ['x ~ /(/', 5, /invalid regular expression/],
    ['x ~ /a/g', 8, /only i, m and s/],
    ['x ~ /a/u', 8, /only i, m and s/],
    ['x ~ /(a)\\1/', 5, /backreferences, lookahead\/lookbehind.* not supported/],
    ['x ~ /^[0-9a-f]{40}$/', 5, /repetition counts above 16 .* not supported/],
    ['x ~ /(?<=a)b/', 5, /not supported/],
    ['x ~ "a"', 5, /expected a \/regular expression\//],
    ['and == 1', 1, /found the keyword "and"/],
    ['x == "open', 6, /unterminated string/],
    ['', 1, /empty/],
  ];
  for (const [expr, column, what] of cases) {
    assert.throws(() => parseWhere(expr), (err) => {
      assert.ok(err instanceof WhereSyntaxError && err instanceof ConfigError, expr);
      assert.equal(err.column, column, expr);
      assert.match(err.message, what);
      assert.match(err.message, new RegExp(`at column ${column}$`));
      const [line, caret] = err.detail.split('\n');
      assert.equal(line, `  ${expr}`);
      assert.equal(caret.indexOf('^'), column + 1);
      return true;
    });
  }
});

test('never JavaScript: what looks like code is a path, prototype keys are own keys only', () => {
  assert.equal(holds('constructor.constructor exists'), false);
  assert.equal(holds('__proto__ exists'), false);
  assert.equal(holds('user.toString exists'), false);
  assert.throws(() => parseWhere('process.exit()'), WhereSyntaxError);
  assert.throws(() => parseWhere('user.id == 42; process.exit(1)'), WhereSyntaxError);
  assert.throws(() => parseWhere('('.repeat(200) + 'a exists' + ')'.repeat(200)), /nested more than 100 levels/);
});

test('a numeric string that overflows to INF compares equal to INF, as in PHP 8 ("1e999" == 1e400)', () => {
  assert.equal(where('x == 1e400', '1e999'), true, 'PHP: "1e999" == INF');
  assert.equal(where('x >= 1e400', '1e999'), true);
  assert.equal(where('x <= 1e400', '1e999'), true);
  assert.equal(where('x != 1e400', '1e999'), false);
  assert.equal(where('x == -1e400', '-1e999'), true);
  assert.equal(where('x == 1e400', '-1e999'), false);
  assert.equal(where('x < 1e400', '-1e999'), true);
});

test('strings order byte-wise over UTF-8, as PHP\'s strcmp (code points, not JS\'s UTF-16 units)', () => {
  assert.equal(where('x < "\u{1F600}"', '\uFF61'), true, 'PHP: "\\u{FF61}" < "\\u{1F600}" (EF BD A1 < F0 9F 98 80)');
  assert.equal(where('x > "\uFF61"', '\u{1F600}'), true);
  assert.equal(where('x >= "\u{1F600}"', '\uFF61'), false);
  assert.equal(where('x < "b"', 'a'), true);
});

test('two integer strings beyond 64 bits that round to one double compare as strings, as in PHP 8', () => {
  assert.equal(where('x == "9223372036854775809"', '9223372036854775808'), false, 'PHP: "9223372036854775808" == "9223372036854775809" is false');
  assert.equal(where('x != "9223372036854775809"', '9223372036854775808'), true);
  assert.equal(where('x < "9223372036854775809"', '9223372036854775808'), true);
  assert.equal(where('x == "9223372036854775808"', '9223372036854775808'), true);
  assert.equal(where('x == 9223372036854775809', '9223372036854775808'), true, 'a number literal is a float: PHP compares as floats');
});

test('!= holds for an array or object against a number or string, as PHP\'s != and as it already did against null', () => {
  assert.equal(where('x != 42', [1, 2]), true, 'PHP: [1, 2] != 42');
  assert.equal(where('x != "abc"', { a: 1 }), true, 'PHP: ["a" => 1] != "abc"');
  assert.equal(where('x != null', [1]), true);
  assert.equal(where('x == 42', [1, 2]), false);
  assert.equal(where('x < 42', [1, 2]), false);
});

test('an [index] beyond 2^53 names that exact key (it was rounded to its neighbour)', () => {
  // PHP: $a = [9007199254740993 => 'x']; the plain view keys it "9007199254740993".
  const s = { a: { '9007199254740993': 'x' }, b: ['y'] };
  assert.equal(evaluateWhere(parseWhere('a[9007199254740993] == "x"'), s), true);
  assert.equal(evaluateWhere(parseWhere('a[9007199254740992] exists'), s), false);
  assert.equal(evaluateWhere(parseWhere('b[-0] == "y" and b[000] == "y"'), s), true);
});

test('two numeric strings compare as PHP 8\'s smart string comparison: overflowed alike or to one infinity, as strings', () => {
  assert.equal(where('x == "18446744073709551616"', '18446744073709551616.5'), false, 'PHP: 20 integer digits overflow, equal doubles: compared as strings');
  assert.equal(where('x == "2e400"', '1e400'), false, 'PHP: "1e400" == "2e400" is false (both INF: compared as strings)');
  assert.equal(where('x == 2e400', '1e400'), true, 'against a number it is INF == INF');
  assert.equal(where('x == "9223372036854775808"', '+9223372036854775807'), false, 'PHP: an int string never equals an overflowed one');
  assert.equal(where('x < "9223372036854775808"', '+9223372036854775807'), true);
  assert.equal(where('x == "42.0"', '0042'), true);
});
