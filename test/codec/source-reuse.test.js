// Source reuse: a decoded array that nobody changed is re-encoded by copying its source bytes.
// Every test here compares against the same data decoded with { keepSource: false }, which
// the encoder walks value by value (the path the PHP interop tests check): reuse must never
// change a single output byte, only the time it takes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { unserialize, serialize, decodeSession, encodeSession, PhpArray, PhpFloat, PhpObject, PhpReference } from 'sessctl';
import { spanOf } from '../../dist/codec/source-span.js';
import { loadCorpus } from '../../fixtures/corpus.js';
import { prng } from '../helpers/prng.js';

const bin = (s) => Buffer.from(s, 'latin1');
const NO_SOURCE = { keepSource: false };

function decodeAs(format, bytes, options) {
  return format === 'serialize' ? unserialize(bytes, options) : decodeSession(bytes, format, options);
}
function encodeAs(format, value) {
  return format === 'serialize' ? serialize(value) : encodeSession(value, format);
}

/** Every PhpArray in a decoded value (objects' props and references included), outermost first. */
function arraysIn(root) {
  const out = [];
  const seen = new Set();
  const todo = [root];
  while (todo.length > 0) {
    let v = todo.shift();
    if (v instanceof PhpReference) v = v.value;
    if (v === null || typeof v !== 'object' || seen.has(v)) continue;
    seen.add(v);
    if (v instanceof PhpArray) {
      out.push(v);
      todo.push(...v.values());
    } else if (v instanceof PhpObject) todo.push(v.props);
  }
  return out;
}

test('the PHP corpus re-encodes to the same bytes with and without source reuse, and reuse happens', () => {
  let withSpans = 0;
  for (const c of loadCorpus()) {
    if (!c.roundtrip) continue;
    const bytes = c.bytes();
    const reused = decodeAs(c.format, bytes);
    const walked = decodeAs(c.format, bytes, NO_SOURCE);
    assert.ok(arraysIn(walked).every((a) => spanOf(a) === null), `${c.file}: keepSource false leaves no span`);
    if (arraysIn(reused).some((a) => spanOf(a) !== null)) withSpans++;
    assert.deepEqual(encodeAs(c.format, reused), bytes, c.file);
    assert.deepEqual(encodeAs(c.format, walked), bytes, c.file);
  }
  assert.ok(withSpans >= 150, `many corpus cases hold a reusable array (${withSpans})`);
});

test('the copy comes from the decoded text, not from the caller\'s buffer', () => {
  const text = 'user|a:2:{s:4:"name";s:3:"ann";s:5:"roles";a:1:{i:0;s:5:"admin";}}n|i:3;';
  const buf = bin(text);
  const session = decodeSession(buf, 'php');
  assert.notEqual(spanOf(session.get('user')), null);
  buf.fill(0x41); // the caller reuses its buffer
  assert.equal(encodeSession(session, 'php').toString('latin1'), text);
});

test('bytes the encoder would write differently never get a span (nor do the arrays around them)', () => {
  const cases = [
    ['duplicate keys', 'a:1:{i:9;a:2:{i:0;i:1;i:0;i:2;}}', 'a:1:{i:9;a:1:{i:0;i:2;}}'],
    ['int with leading zeros', 'a:1:{i:9;a:1:{i:0;i:007;}}', 'a:1:{i:9;a:1:{i:0;i:7;}}'],
    ['minus zero int', 'a:1:{i:9;a:1:{i:0;i:-0;}}', 'a:1:{i:9;a:1:{i:0;i:0;}}'],
    ['plus sign int', 'a:1:{i:9;a:1:{i:0;i:+5;}}', 'a:1:{i:9;a:1:{i:0;i:5;}}'],
    ['string length with a leading zero', 'a:1:{i:9;a:1:{i:0;s:05:"hello";}}', 'a:1:{i:9;a:1:{i:0;s:5:"hello";}}'],
    ['count with a leading zero', 'a:1:{i:9;a:01:{i:0;i:1;}}', 'a:1:{i:9;a:1:{i:0;i:1;}}'],
    ['numeric string key', 'a:1:{i:9;a:1:{s:1:"5";i:1;}}', 'a:1:{i:9;a:1:{i:5;i:1;}}'],
    ['int key with leading zeros', 'a:1:{i:9;a:1:{i:007;i:1;}}', 'a:1:{i:9;a:1:{i:7;i:1;}}'],
    ['escaped S: string', 'a:1:{i:9;a:1:{i:0;S:5:"\\68ello";}}', 'a:1:{i:9;a:1:{i:0;s:5:"hello";}}'],
    ['string key with a leading-zero length', 'a:1:{i:9;a:1:{s:01:"x";i:1;}}', 'a:1:{i:9;a:1:{s:1:"x";i:1;}}'],
  ];
  for (const [why, input, canonical] of cases) {
    const v = unserialize(bin(input));
    assert.ok(arraysIn(v).every((a) => spanOf(a) === null), `${why}: no span`);
    assert.equal(serialize(v).toString('latin1'), canonical, why);
    assert.deepEqual(serialize(v), serialize(unserialize(bin(input), NO_SOURCE)), why);
  }
});

test('values with identity or bytes that change in place keep their arrays from being copied', () => {
  const cases = [
    ['object', 'a:2:{i:0;a:1:{i:0;i:1;}i:1;a:1:{i:0;O:8:"stdClass":0:{}}}'],
    ['enum', 'a:2:{i:0;a:1:{i:0;i:1;}i:1;a:1:{i:0;E:7:"Suit:Up";}}'],
    ['Serializable', 'a:2:{i:0;a:1:{i:0;i:1;}i:1;a:1:{i:0;C:3:"Foo":2:{ab}}}'],
    ['binary string', 'a:2:{i:0;a:1:{i:0;i:1;}i:1;a:1:{i:0;s:2:"\xff\xfe";}}'],
    ['old float text', 'a:2:{i:0;a:1:{i:0;i:1;}i:1;a:1:{i:0;d:0.10000000000000001;}}'],
  ];
  for (const [why, input] of cases) {
    const v = unserialize(bin(input));
    assert.equal(spanOf(v), null, `${why}: the outer array is walked`);
    assert.equal(spanOf(v.get(1)), null, `${why}: the array holding it is walked`);
    assert.notEqual(spanOf(v.get(0)), null, `${why}: its clean sibling is still copied`);
    assert.equal(serialize(v).toString('latin1'), input, why);
  }
  // An input with r:/R: gets no spans at all (slot numbers inside a copy could be wrong).
  const refs = unserialize(bin('a:3:{i:0;a:1:{i:0;i:1;}i:1;a:0:{}i:2;R:3;}'));
  assert.ok(arraysIn(refs).every((a) => spanOf(a) === null));
  assert.equal(serialize(refs).toString('latin1'), 'a:3:{i:0;a:1:{i:0;i:1;}i:1;a:0:{}i:2;R:3;}');
});

// A nested session; path names the array changed, 0..4 levels deep.
const NESTED =
  'a:3:{s:4:"user";a:2:{s:2:"id";i:7;s:5:"prefs";a:2:{s:5:"theme";s:4:"dark";s:4:"deep";a:1:{s:1:"x";a:1:{s:1:"y";d:1.5;}}}}s:4:"cart";a:1:{i:0;a:2:{s:3:"sku";s:1:"A";s:5:"price";d:9.99;}}s:1:"n";i:1;}';
const PATHS = [[], ['user'], ['user', 'prefs'], ['user', 'prefs', 'deep'], ['user', 'prefs', 'deep', 'x'], ['cart', 0]];
const at = (root, path) => path.reduce((a, k) => a.get(k), root);
const CHANGES = {
  set: (a) => a.set('new', 'value'),
  'set existing': (a) => a.set([...a.keys()][0], 42),
  delete: (a) => a.delete([...a.keys()][0]),
  clear: (a) => a.clear(),
  push: (a) => a.push(true),
};

test('a change at any depth, through any PhpArray method, is written (the arrays around it are walked again)', () => {
  for (const path of PATHS) {
    for (const [name, change] of Object.entries(CHANGES)) {
      const reused = unserialize(bin(NESTED));
      const walked = unserialize(bin(NESTED), NO_SOURCE);
      change(at(reused, path));
      change(at(walked, path));
      const label = `${name} at [${path.join('][')}]`;
      assert.notEqual(serialize(reused).toString('latin1'), NESTED, label);
      assert.deepEqual(serialize(reused), serialize(walked), label);
      for (let i = 0; i <= path.length; i++) assert.equal(spanOf(at(reused, path.slice(0, i))), null, `${label}: ancestor ${i} walked`);
    }
  }
});

test('an unchanged sibling is still copied after a change next to it', () => {
  const v = unserialize(bin(NESTED));
  v.get('user').set('id', 8);
  assert.equal(spanOf(v.get('user')), null);
  assert.notEqual(spanOf(v.get('cart')), null);
  assert.equal(serialize(v).toString('latin1'), NESTED.replace('s:2:"id";i:7;', 's:2:"id";i:8;'));
});

test('a float changed in place (readonly only by type) is noticed', () => {
  for (const change of [(f) => (f.value = 2.25), (f) => (f.value = -0), (f) => (f.text = '1.50')]) {
    const v = unserialize(bin(NESTED));
    const f = at(v, ['user', 'prefs', 'deep', 'x']).get('y');
    assert.ok(f instanceof PhpFloat);
    change(f);
    const w = unserialize(bin(NESTED), NO_SOURCE);
    change(at(w, ['user', 'prefs', 'deep', 'x']).get('y'));
    assert.deepEqual(serialize(v), serialize(w));
    assert.notEqual(serialize(v).toString('latin1'), NESTED);
  }
});

test('an array moved elsewhere and changed there is written changed in both places', () => {
  const a = unserialize(bin(NESTED));
  const b = decodeSession(bin('k|a:1:{i:0;i:1;}'), 'php');
  const prefs = at(a, ['user', 'prefs']);
  b.set('moved', prefs);
  prefs.set('theme', 'light');
  assert.match(serialize(a).toString('latin1'), /s:5:"theme";s:5:"light"/);
  assert.match(encodeSession(b, 'php').toString('latin1'), /moved\|a:2:\{s:5:"theme";s:5:"light"/);
});

test('slot numbers after a copied array count the values inside it', () => {
  const session = decodeSession(bin('a|a:2:{i:0;i:1;i:1;i:2;}b|i:5;'), 'php');
  assert.notEqual(spanOf(session.get('a')), null);
  const obj = new PhpObject('stdClass');
  session.set('o1', obj);
  session.set('o2', obj);
  const expected = 'a|a:2:{i:0;i:1;i:1;i:2;}b|i:5;o1|O:8:"stdClass":0:{}o2|r:5;';
  assert.equal(encodeSession(session, 'php').toString('latin1'), expected);
  const walked = decodeSession(bin('a|a:2:{i:0;i:1;i:1;i:2;}b|i:5;'), 'php', NO_SOURCE);
  walked.set('o1', obj);
  walked.set('o2', obj);
  assert.equal(encodeSession(walked, 'php').toString('latin1'), expected);
});

test('new PhpArray(entries) and PhpArray.of still work (set() runs before the private fields exist)', () => {
  const a = new PhpArray([['5', 'five'], ['x', 1]]);
  assert.deepEqual([...a.keys()], [5, 'x']);
  assert.equal(serialize(a).toString('latin1'), 'a:2:{i:5;s:4:"five";s:1:"x";i:1;}');
  assert.equal(serialize(PhpArray.of(1, 2)).toString('latin1'), 'a:2:{i:0;i:1;i:1;i:2;}');
});

// Non-canonical spellings sprinkled into the corpus at random: whatever decodes must encode
// exactly as it does without reuse.
/** @type {[RegExp, string][]} */
const MUTATIONS = [
  [/i:(\d)/g, 'i:0$1'],
  [/i:0;/g, 'i:-0;'],
  [/i:(\d)/g, 'i:+$1'],
  [/s:(\d+):"/g, 's:0$1:"'],
  [/a:(\d+):\{/g, 'a:0$1:{'],
  [/a:(\d+):\{i:0;/g, 'a:$1:{s:1:"0";'],
  [/\{i:0;/g, '{i:1;'], // may duplicate a key
  [/d:([0-9.]+);/g, 'd:$10;'],
];

test('fuzz: random non-canonical spellings re-encode exactly as without reuse', () => {
  const rand = prng(20261122);
  const corpus = loadCorpus().filter((c) => c.roundtrip);
  let decoded = 0;
  for (let n = 0; n < 3000; n++) {
    const c = corpus[Math.floor(rand() * corpus.length)];
    let text = c.bytes().toString('latin1');
    for (let m = 1 + Math.floor(rand() * 3); m > 0; m--) {
      const [re, to] = MUTATIONS[Math.floor(rand() * MUTATIONS.length)];
      const hits = [...text.matchAll(re)];
      if (hits.length === 0) continue;
      const hit = hits[Math.floor(rand() * hits.length)];
      const one = new RegExp(re.source);
      text = text.slice(0, hit.index) + hit[0].replace(one, to) + text.slice(hit.index + hit[0].length);
    }
    let reused;
    let walked;
    try {
      reused = decodeAs(c.format, bin(text));
      walked = decodeAs(c.format, bin(text), NO_SOURCE);
    } catch (e) {
      assert.equal(e.name, 'DecodeError');
      continue;
    }
    decoded++;
    assert.deepEqual(encodeAs(c.format, reused), encodeAs(c.format, walked), `${c.file} mutated: ${JSON.stringify(text.slice(0, 200))}`);
  }
  assert.ok(decoded > 1000, `enough mutated inputs decode (${decoded})`);
});
