// The igbinary and msgpack corpora that real PHP wrote (fixtures/igbinary/corpus.json,
// fixtures/msgpack/corpus.json, made by their gen-corpus.php): every value and session decodes
// to what PHP itself reads back from the same bytes, and encodes back to PHP's exact bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeSession, encodeSession, igbinarySerialize, igbinaryUnserialize, msgpackPack, msgpackUnpack, PhpArray, PhpFloat, PhpReference } from 'sessctl';
import { runPhp } from '../helpers/env.js';
import { FIXTURES_DIR, descriptionDifference, firstDifference } from '../../fixtures/corpus.js';
import { FORMATS, needPhpExtension } from './binary-env.js';
import { describeAsPhpSees } from './binary-describe.js';

const corpusFile = (format) => join(FIXTURES_DIR, format, 'corpus.json');
const load = (format) => JSON.parse(readFileSync(corpusFile(format), 'utf8')).cases.map((c) => ({ ...c, bytes: Buffer.from(c.b64, 'base64') }));
const codec = {
  igbinary: { decode: igbinaryUnserialize, encode: igbinarySerialize },
  msgpack: { decode: msgpackUnpack, encode: msgpackPack },
};

function decodeCase(format, c) {
  return c.kind === 'session' ? decodeSession(c.bytes, format) : codec[format].decode(c.bytes);
}

function checkAll(cases, fn) {
  assert.ok(cases.length > 0, 'no cases selected: the corpus is missing or changed shape');
  const failures = [];
  for (const c of cases) {
    try {
      const problem = fn(c);
      if (problem) failures.push(`${c.name}: ${problem}`);
    } catch (err) {
      failures.push(`${c.name}: threw ${err?.name}: ${err?.message}`);
    }
  }
  assert.equal(failures.length, 0, `${failures.length} of ${cases.length} cases fail:\n\n${failures.slice(0, 6).join('\n\n')}`);
}

for (const format of FORMATS) {
  const corpus = load(format);

  test(`${format}: the corpus covers sessions, values and the hand-made cases`, () => {
    assert.ok(corpus.filter((c) => c.kind === 'session').length >= 60);
    assert.ok(corpus.filter((c) => c.kind === 'value').length >= 80);
    assert.ok(corpus.filter((c) => c.name.startsWith('edge/')).length >= 25);
  });

  test(`${format}: the committed corpus is exactly what fixtures/${format}/gen-corpus.php generates`, needPhpExtension(format), () => {
    const dir = mkdtempSync(join(tmpdir(), `sessctl-${format}-corpus-`));
    try {
      const out = join(dir, 'corpus.json');
      runPhp([join(FIXTURES_DIR, format, 'gen-corpus.php'), out]);
      const diff = firstDifference(readFileSync(corpusFile(format)), readFileSync(out));
      assert.equal(diff, null, `fixtures/${format}/corpus.json is stale (run \`php fixtures/${format}/gen-corpus.php\`): ${diff}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test(`${format}: encoding what we decoded gives back PHP's bytes`, () => {
    checkAll(
      corpus.filter((c) => c.roundtrip),
      (c) => firstDifference(c.bytes, c.kind === 'session' ? encodeSession(decodeCase(format, c), format) : codec[format].encode(decodeCase(format, c))),
    );
  });

  // msgpack: PHP's reader numbers the {nil: 2|5} maps it reads, unlike its writer, and so binds
  // some repeated references to the wrong value; where PHP does not read back what it wrote
  // (phpRoundtrip false) its description is not the value that was written.
  const comparable = corpus.filter((c) => c.phpReads && (format === 'igbinary' || c.phpRoundtrip));

  test(`${format}: we decode what PHP reads from the same bytes (types, float bits, references, identity)`, () => {
    assert.ok(comparable.length >= (format === 'igbinary' ? 150 : 95), `only ${comparable.length} comparable cases`);
    checkAll(comparable, (c) => descriptionDifference(c.desc, describeAsPhpSees(decodeCase(format, c))));
  });
}

test('msgpack: what PHP cannot read back is still decoded and re-encoded byte for byte', () => {
  const corpus = load('msgpack');
  const unreadable = corpus.filter((c) => !c.phpReads);
  const misread = corpus.filter((c) => c.phpReads && !c.phpRoundtrip);
  // enum cases (msgpack_unpack: "Cannot instantiate enum"), and repeated references PHP's reader misnumbers
  assert.ok(unreadable.length > 10 && misread.length > 5, `${unreadable.length} unreadable, ${misread.length} misread`);
  assert.ok(unreadable.every((c) => c.roundtrip));
});

test('the comparison tells apart what it must (shared references, float bits, a lone reference is a value)', () => {
  const c = load('igbinary').find((x) => x.name === 'edge/references');
  const v = decodeCase('igbinary', c);
  assert.equal(descriptionDifference(c.desc, describeAsPhpSees(v)), null);
  const broken = new PhpArray([...v]);
  broken.set(1, broken.get(1).value); // the second holder of the int reference now holds a plain 1
  assert.notEqual(descriptionDifference(c.desc, describeAsPhpSees(broken)), null);
  const floats = load('igbinary').find((x) => x.name === 'edge/floats');
  const f = decodeCase('igbinary', floats);
  f.set(1, new PhpFloat(0));
  assert.notEqual(descriptionDifference(floats.desc, describeAsPhpSees(f)), null, '-0 is not 0');
  assert.deepEqual(describeAsPhpSees(PhpArray.of(new PhpReference('x'))), describeAsPhpSees(PhpArray.of('x')));
});
