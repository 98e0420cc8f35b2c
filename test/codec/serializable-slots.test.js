// Point 12 of the hardening issue: PHP numbers r:/R: slots inside a `C:` (Serializable)
// payload that holds serialize() output, so the slots after it (and references into it)
// count those values. The corpus in fixtures/serializable-slots/ was written by real PHP 8.2
// with classes whose serialize() calls serialize() on nested arrays and objects, and kept only
// where PHP reads the bytes and writes them back identically; it also holds hand-made payloads
// of PHP's own Serializable classes (ArrayObject, SplObjectStorage, SplDoublyLinkedList…),
// which PHP parses itself, with PHP's verdict and what the reference after them resolves to.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unserialize, serialize, toPlain, DecodeError, PhpArray, PhpObject, PhpSerializable, PhpReference } from 'sessctl';
import { describe as describeValue, descriptionDifference } from '../../fixtures/corpus.js';
import { needPhp, runPhp } from '../helpers/env.js';

const DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'serializable-slots');
const corpus = JSON.parse(readFileSync(join(DIR, 'corpus.json'), 'utf8'));

/** As the generator's mask(): a `C:` object's payload bytes are not compared (PHP describes them by a fresh serialize()). */
function mask(d) {
  if (!Array.isArray(d)) return d;
  if (d[0] === 'c') return ['c', d[1], d[2], null];
  return d.map(mask);
}

test('the corpus has what it is for: payloads with nested values, references past and into them', () => {
  assert.ok(corpus.records.length >= 300);
  let past = 0;
  for (const r of corpus.records) {
    const s = Buffer.from(r.b64, 'base64').toString('latin1');
    const payloadEnd = s.lastIndexOf('}}');
    if (/[rR]:\d+;/.test(s.slice(payloadEnd))) past++;
  }
  assert.ok(past >= 200, `${past} records reference a slot after a payload`);
});

test('every record decodes as PHP reads it (references resolved to the same values) and re-encodes byte for byte', () => {
  const failures = [];
  for (const [i, r] of corpus.records.entries()) {
    const bytes = Buffer.from(r.b64, 'base64');
    try {
      const v = unserialize(bytes);
      const d = descriptionDifference(r.desc, mask(describeValue(v)));
      if (d) failures.push(`record ${i}: ${d}`);
      const again = serialize(v);
      if (!again.equals(bytes)) failures.push(`record ${i}: re-encoded bytes differ`);
    } catch (e) {
      failures.push(`record ${i}: threw ${e.message}`);
    }
  }
  assert.deepEqual(failures.slice(0, 5), [], `${failures.length} of ${corpus.records.length} records differ`);
});

test("PHP's own Serializable classes: accepted and refused as PHP does, the reference after them resolved as PHP does", () => {
  const failures = [];
  for (const c of corpus.spl) {
    let v;
    try {
      v = unserialize(c.input);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      if (c.accepts) failures.push(`${c.input}: PHP accepts, we refuse: ${e.message}`);
      continue;
    }
    if (!c.accepts) {
      failures.push(`${c.input}: PHP refuses, we accept`);
      continue;
    }
    let last = v.get(1);
    if (last instanceof PhpReference) last = last.value;
    if (c.last.class !== undefined) {
      if (!(last instanceof PhpObject) || last.className !== c.last.class) failures.push(`${c.input}: PHP resolves to a ${c.last.class}, we to ${describeValue(last)[0]}`);
    } else {
      const ours = JSON.stringify(last instanceof PhpArray ? toPlain(last) : toPlain(last));
      if (ours !== c.last.json.replace(/\{\}/g, '[]')) failures.push(`${c.input}: PHP resolves to ${c.last.json}, we to ${ours}`);
    }
  }
  assert.deepEqual(failures, []);
  // the example: r:3 is the int flag inside the ArrayObject payload, not the stdClass after it
  assert.throws(() => unserialize('a:3:{i:0;C:11:"ArrayObject":21:{x:i:0;a:0:{};m:a:0:{}}i:1;O:8:"stdClass":0:{}i:2;r:3;}'), DecodeError);
});

test('an object inside a payload referenced after it is one object; the encoder writes r:/R: into the payload', () => {
  const bytes = 'a:5:{i:0;O:8:"stdClass":0:{}i:1;C:3:"Foo":75:{a:2:{i:0;a:3:{i:0;i:1;i:1;i:2;i:2;O:8:"stdClass":1:{s:1:"x";i:1;}}i:1;r:2;}}i:2;r:8;i:3;r:2;i:4;s:4:"tail";}';
  const v = unserialize(bytes);
  assert.ok(v.get(1) instanceof PhpSerializable);
  assert.equal(v.get(2).props.get('x'), 1);
  assert.equal(v.get(3), v.get(0));
  assert.equal(serialize(v).toString('latin1'), bytes);
  // a PhpSerializable given new bytes is counted again (here: 2 slots instead of 5)
  v.get(1).data = Buffer.from('a:1:{i:0;i:9;}');
  assert.equal(serialize(v).toString('latin1'), 'a:5:{i:0;O:8:"stdClass":0:{}i:1;C:3:"Foo":14:{a:1:{i:0;i:9;}}i:2;O:8:"stdClass":1:{s:1:"x";i:1;}i:3;r:2;i:4;s:4:"tail";}');
  // A class that keeps such bytes as they are (its unserialize() does not unserialize them):
  // when a reference after the payload then fails, the data is read with that payload opaque…
  const fallback = unserialize('a:3:{i:0;C:3:"Raw":4:{i:5;}i:1;O:8:"stdClass":0:{}i:2;r:3;}');
  assert.equal(fallback.get(2), fallback.get(1));
  // …and where both readings are valid, rawPayloadClasses says which one PHP makes.
  const ambiguous = 'a:3:{i:0;C:3:"Raw":19:{O:8:"stdClass":0:{}}i:1;O:8:"stdClass":1:{s:1:"a";i:1;}i:2;r:3;}';
  const counted = unserialize(ambiguous);
  assert.equal(counted.get(2).props.size, 0, 'r:3 is the object inside the payload');
  const raw = unserialize(ambiguous, { rawPayloadClasses: ['raw'] });
  assert.equal(raw.get(2), raw.get(1), 'r:3 is the object after it');
  assert.equal(serialize(raw, { rawPayloadClasses: ['RAW'] }).toString('latin1'), ambiguous);
  assert.equal(serialize(counted).toString('latin1'), ambiguous);
});

test('the corpus is what the generator writes (regenerated with real PHP)', needPhp(), () => {
  const tmp = mkdtempSync(join(tmpdir(), 'sessctl-slots-'));
  try {
    const out = join(tmp, 'corpus.json');
    runPhp([join(DIR, 'gen.php'), out]);
    const fresh = JSON.parse(readFileSync(out, 'utf8'));
    assert.deepEqual(fresh.records, corpus.records);
    assert.deepEqual(fresh.spl, corpus.spl);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
