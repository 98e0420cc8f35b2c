// Point 11 of the hardening issue: storing plain JS never stores less than it was given.
// PHP's `$_SESSION['cart'] = []` reads in Node as `[]`; `cart[sku] = 1` on it must be written
// as PHP would hold it (the list elements, then those keys), through serialize, fromPlain and
// fromPlain's JSON mode (what the middleware's set() uses). Whatever PHP cannot hold is an
// EncodeError naming the path, never a silent drop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { unserialize, serialize, toPlain, fromPlain, encodeSession, EncodeError, PhpArray } from 'sessctl';
import { needPhp, runPhp } from '../helpers/env.js';

const bytes = (/** @type {unknown} */ v) => serialize(v).toString('latin1');
/** @type {[string, (v: unknown) => string][]} */
const modes = [['serialize', (v) => bytes(v)], ['fromPlain', (v) => bytes(fromPlain(v))], ['fromPlain json', (v) => bytes(fromPlain(v, { json: true }))]];

test('the cart: an empty PHP array read as [] keeps the keys set on it', () => {
  const session = /** @type {any} */ (toPlain(unserialize('a:1:{s:4:"cart";a:0:{}}'), { prototype: 'object', classKey: null }));
  const cart = session.cart ?? {};
  assert.ok(Array.isArray(cart));
  cart['sku-123'] = 1;
  cart['sku-9'] = 2;
  for (const [name, write] of modes) assert.equal(write(session), 'a:1:{s:4:"cart";a:2:{s:7:"sku-123";i:1;s:5:"sku-9";i:2;}}', name);
  assert.equal(encodeSession({ cart }, 'php').toString(), 'cart|a:2:{s:7:"sku-123";i:1;s:5:"sku-9";i:2;}');
});

test('list elements first, then the other own keys with PHP\'s key rule', () => {
  /** @type {any} an array with extra own keys, as plain JS allows */
  const a = [10, 20];
  a.x = 'x';
  a['-1'] = 'neg';
  a['05'] = 'zero-five';
  a['4294967295'] = 'not an index';
  a.u = undefined;
  const expected = 'a:7:{i:0;i:10;i:1;i:20;s:1:"x";s:1:"x";i:-1;s:3:"neg";s:2:"05";s:9:"zero-five";i:4294967295;s:12:"not an index";s:1:"u";N;}';
  assert.equal(bytes(a), expected);
  assert.equal(bytes(fromPlain(a)), expected);
  // JSON mode leaves `undefined` out of object-like keys, as it does for objects
  assert.equal(bytes(fromPlain(a, { json: true })), expected.replace('a:7:', 'a:6:').replace('s:1:"u";N;', ''));
});

test('the same assignments in PHP give the same bytes', needPhp(), () => {
  const php = runPhp(['-r', `$a = [10, 20]; $a['x'] = 'x'; $a['-1'] = 'neg'; $a['05'] = 'zero-five'; $a['4294967295'] = 'not an index'; $c = []; $c['sku-123'] = 1; echo serialize([$a, $c]);`]).toString('latin1');
  /** @type {any} an array with extra own keys, as plain JS allows */
  const a = [10, 20];
  a.x = 'x';
  a['-1'] = 'neg';
  a['05'] = 'zero-five';
  a['4294967295'] = 'not an index';
  const c = [];
  c['sku-123'] = 1;
  for (const [name, write] of modes) assert.equal(write([a, c]), php, name);
});

test('holes hold nothing: they are written as null so positions stay (documented)', () => {
  // eslint-disable-next-line no-sparse-arrays
  const sparse = [1, , 3];
  for (const [name, write] of modes) assert.equal(write(sparse), 'a:3:{i:0;i:1;i:1;N;i:2;i:3;}', name);
});

test('what PHP cannot hold is refused by path (serialize, fromPlain, sessions)', () => {
  const sym = Symbol('meta');
  const withSymbol = { a: 1, [sym]: 2 };
  const hidden = Object.defineProperty({ a: 1 }, 'secret', { value: 2, enumerable: false });
  const arrSymbol = Object.assign([1], { [sym]: 2 });
  const mapWithProp = Object.assign(new Map([['a', 1]]), { extra: 2 });
  for (const [value, re] of /** @type {[unknown, RegExp][]} */ ([
    [{ nested: [withSymbol] }, /symbol key.*at value\["nested"\]\[0\]/],
    [{ nested: hidden }, /"secret" is not enumerable.*at value\["nested"\]/],
    [arrSymbol, /symbol key/],
    [{ m: mapWithProp }, /Map with own properties.*at value\["m"\]/],
    [new Map([[{}, 1]]), /array keys must be strings or integers/],
    [new Map(/** @type {[number | string, string][]} */ ([[1, 'a'], ['1', 'b']])), /collide/],
    [new Map([[1.5, 'a']]), /not an integer/],
  ])) {
    assert.throws(() => serialize(value), (e) => e instanceof EncodeError && re.test(e.message), String(re));
    assert.throws(() => fromPlain(value), (e) => e instanceof EncodeError && re.test(e.message), String(re));
  }
  assert.throws(() => encodeSession(withSymbol, 'php'), (e) => e instanceof EncodeError && /\$_SESSION: .*symbol key/.test(e.message));
  assert.throws(() => encodeSession(hidden, 'php_serialize'), (e) => e instanceof EncodeError && /not enumerable/.test(e.message));
});

test('JSON mode: symbol keys and non-enumerables are ignored as JSON has it; Map keys that would merge or have no form are refused', () => {
  const sym = Symbol('meta');
  assert.equal(bytes(fromPlain({ a: 1, [sym]: 2 }, { json: true })), 'a:1:{s:1:"a";i:1;}');
  assert.equal(bytes(fromPlain(Object.defineProperty({ a: 1 }, 's', { value: 2 }), { json: true })), 'a:1:{s:1:"a";i:1;}');
  for (const [m, re] of /** @type {[unknown, RegExp][]} */ ([
    [new Map([[{}, 1], [{}, 2]]), /Map key that is an object.*at value/],
    [new Map(/** @type {[boolean | string, number][]} */ ([[true, 1], ['true', 2]])), /two Map keys are both "true"/],
    [{ list: [new Map([[sym, 1]])] }, /symbol.*at value\["list"\]\[0\]/],
    [new Map(/** @type {[number | string, string][]} */ ([[1, 'a'], ['1', 'b']])), /collide/],
  ])) {
    assert.throws(() => fromPlain(m, { json: true }), (e) => e instanceof EncodeError && re.test(e.message), String(re));
  }
  // a -0 key is the key 0: a Map cannot tell them apart either
  assert.equal(bytes(fromPlain(new Map([[-0, 'z']]), { json: true })), 'a:1:{i:0;s:1:"z";}');
  assert.equal(bytes(new Map([[-0, 'z']])), 'a:1:{i:0;s:1:"z";}');
});

test('a PhpArray read back from the written bytes has every key (round trip through PHP bytes)', () => {
  /** @type {any} an array with extra own keys, as plain JS allows */
  const a = ['a'];
  a.k = 'v';
  const back = unserialize(serialize(a));
  assert.ok(back instanceof PhpArray);
  assert.deepEqual([...back], [[0, 'a'], ['k', 'v']]);
  assert.deepEqual(toPlain(back), Object.assign(Object.create(null), { 0: 'a', k: 'v' }));
});
