// Byte-exact conformance of the codec against the corpus that real PHP wrote
// (fixtures/corpus, made by fixtures/gen-corpus.php): decoding then encoding every session
// and every serialize() value must give back PHP's exact bytes, and every bad input must be
// refused with a DecodeError at the right offset.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeSession, encodeSession, unserialize, serialize, DecodeError } from 'sessctl';
import { needPhp, runPhp } from '../helpers/env.js';
import { CORPUS_DIR, FIXTURES_DIR, loadCorpus, loadBadInputs, readTree, firstDifference } from '../../fixtures/corpus.js';

const corpus = loadCorpus();
const SESSION_FORMATS = ['php', 'php_serialize', 'php_binary'];

function reencode(c) {
  const bytes = c.bytes();
  if (c.format === 'serialize') return serialize(unserialize(bytes));
  return encodeSession(decodeSession(bytes, c.format), c.format);
}

/** Runs fn on every case, collects failures, and fails once with the first few explained. */
function checkAll(cases, fn) {
  assert.ok(cases.length > 0, 'no cases selected: the corpus is missing or the manifest changed shape');
  const failures = [];
  for (const c of cases) {
    try {
      const problem = fn(c);
      if (problem) failures.push(`${c.file}: ${problem}`);
    } catch (err) {
      failures.push(`${c.file}: threw ${err?.name}: ${err?.message}`);
    }
  }
  if (failures.length) {
    assert.fail(`${failures.length} of ${cases.length} cases fail:\n\n${failures.slice(0, 8).join('\n\n')}${failures.length > 8 ? '\n\n…' : ''}`);
  }
}

test('the corpus covers every session format and plain serialize()', () => {
  for (const f of [...SESSION_FORMATS, 'serialize']) {
    assert.ok(corpus.filter((c) => c.format === f).length >= 100, `fewer than 100 ${f} cases`);
  }
});

test('the committed corpus is exactly what fixtures/gen-corpus.php generates', needPhp(), () => {
  const dir = mkdtempSync(join(tmpdir(), 'sessctl-corpus-'));
  try {
    runPhp([join(FIXTURES_DIR, 'gen-corpus.php'), dir]);
    const fresh = readTree(dir);
    const committed = readTree(CORPUS_DIR);
    assert.deepEqual([...committed.keys()].sort(), [...fresh.keys()].sort(), 'the set of corpus files differs: run `php fixtures/gen-corpus.php`');
    for (const [file, bytes] of fresh) {
      const diff = firstDifference(bytes, committed.get(file));
      assert.equal(diff, null, `fixtures/corpus/${file} is stale (run \`php fixtures/gen-corpus.php\`): ${diff}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

for (const format of SESSION_FORMATS) {
  test(`encodeSession(decodeSession(b, '${format}'), '${format}') gives back PHP's bytes`, () => {
    checkAll(
      corpus.filter((c) => c.format === format && c.roundtrip),
      (c) => firstDifference(c.bytes(), reencode(c)),
    );
  });
}

test('serialize(unserialize(b)) gives back the bytes of every serialize() value', () => {
  checkAll(
    corpus.filter((c) => c.format === 'serialize' && c.roundtrip),
    (c) => firstDifference(c.bytes(), reencode(c)),
  );
});

test('texts PHP reads but never writes (i:+5, S:, "5" keys) decode without error', () => {
  checkAll(
    corpus.filter((c) => !c.roundtrip),
    (c) => {
      unserialize(c.bytes());
      return null;
    },
  );
});

test('encoding returns a Uint8Array and decoding accepts a latin1 string as well', () => {
  const c = corpus.find((x) => x.file === 'edge/typical.php');
  assert.ok(c, 'edge/typical.php is in the corpus');
  const bytes = c.bytes();
  const out = encodeSession(decodeSession(bytes.toString('latin1'), 'php'), 'php');
  assert.ok(out instanceof Uint8Array);
  assert.equal(firstDifference(bytes, out), null);
});

const bad = loadBadInputs();

test('every bad input is refused with a DecodeError at the expected byte offset', () => {
  assert.ok(bad.length >= 30);
  const failures = [];
  for (const b of bad) {
    let err;
    try {
      if (b.format === 'serialize') unserialize(b.bytes);
      else decodeSession(b.bytes, b.format);
    } catch (e) {
      err = e;
    }
    const what = `${b.name} (${b.format}, ${JSON.stringify(b.bytes.toString('latin1').slice(0, 40))}; ${b.why}; PHP ${b.phpAccepts ? 'accepts it' : 'refuses it too'})`;
    if (!err) failures.push(`${what}: no error`);
    else if (!(err instanceof DecodeError)) failures.push(`${what}: threw ${err.name}: ${err.message}`);
    else if (err.offset !== b.offset) failures.push(`${what}: offset ${err.offset}, expected ${b.offset} (${err.message})`);
  }
  assert.equal(failures.length, 0, `${failures.length} of ${bad.length} bad inputs:\n${failures.join('\n')}`);
});

test('a DecodeError message names the offset', () => {
  assert.throws(() => unserialize('a:1:{i:0;'), (e) => e instanceof DecodeError && /offset 9/.test(e.message));
});
