// Fuzzing the igbinary and msgpack decoders with a deterministic PRNG, on mutations of the
// PHP-written corpora: every input either decodes or fails with a DecodeError (never a
// TypeError/RangeError, a stack overflow or a hang), and whatever decodes re-encodes without
// throwing, to bytes that decode and re-encode to themselves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeSession, encodeSession, igbinarySerialize, igbinaryUnserialize, msgpackPack, msgpackUnpack, DecodeError } from 'sessctl';
import { FIXTURES_DIR } from '../../fixtures/corpus.js';
import { prng } from '../helpers/prng.js';
import { FORMATS } from './binary-env.js';

const corpus = Object.fromEntries(
  FORMATS.map((f) => [f, JSON.parse(readFileSync(join(FIXTURES_DIR, f, 'corpus.json'), 'utf8')).cases.map((c) => ({ kind: c.kind, bytes: Buffer.from(c.b64, 'base64') }))]),
);
// Short inputs mutate into more distinct shapes per round than the big ones do.
const samples = Object.fromEntries(FORMATS.map((f) => [f, corpus[f].filter((c) => c.bytes.length <= 600)]));

const codec = {
  igbinary: { decode: igbinaryUnserialize, encode: igbinarySerialize },
  msgpack: { decode: msgpackUnpack, encode: msgpackPack },
};

// Type bytes and lengths at their edges.
const INTERESTING = [0x00, 0x01, 0x06, 0x0e, 0x11, 0x14, 0x17, 0x1a, 0x1d, 0x22, 0x25, 0x26, 0x27, 0x7f, 0x80, 0x81, 0x82, 0x90, 0x91, 0xc0, 0xc1, 0xca, 0xcb, 0xcf, 0xd3, 0xd9, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xff];

function mutate(rand, input) {
  const b = [...input];
  const n = 1 + Math.floor(rand() * 3);
  for (let k = 0; k < n; k++) {
    const at = Math.floor(rand() * (b.length + 1));
    switch (Math.floor(rand() * 7)) {
      case 0:
        if (b.length) b[at % b.length] = Math.floor(rand() * 256);
        break;
      case 1:
        if (b.length) b[at % b.length] = INTERESTING[Math.floor(rand() * INTERESTING.length)];
        break;
      case 2: // a length or count field grown
        b.splice(at, 0, ...Array.from({ length: 1 + Math.floor(rand() * 4) }, () => (rand() < 0.5 ? 0xff : Math.floor(rand() * 256))));
        break;
      case 3:
        b.splice(at, 1 + Math.floor(rand() * 4));
        break;
      case 4:
        b.splice(at, 0, ...b.slice(at, at + 1 + Math.floor(rand() * 12)));
        break;
      case 5: // a small number (back-reference ids, string ids, marker numbers) shifted
        if (b.length) b[at % b.length] = (b[at % b.length] + (rand() < 0.5 ? 1 : -1)) & 0xff;
        break;
      default:
        b.length = at;
    }
  }
  return Buffer.from(b);
}

function check(format, bytes, kind) {
  const session = kind === 'session';
  let v;
  try {
    v = session ? decodeSession(bytes, format) : codec[format].decode(bytes);
  } catch (e) {
    if (!(e instanceof DecodeError)) assert.fail(`${format} ${kind} ${bytes.toString('hex')} threw ${e?.name}: ${e?.message}`);
    return 'refused';
  }
  const encode = (x) => (session ? encodeSession(x, format) : codec[format].encode(x));
  const decode = (b) => (session ? decodeSession(b, format) : codec[format].decode(b));
  let out;
  try {
    out = encode(v);
  } catch (e) {
    assert.fail(`re-encoding what decoded from ${format} ${kind} ${bytes.toString('hex')} threw ${e?.name}: ${e?.message}`);
  }
  const again = encode(decode(out));
  assert.equal(again.toString('hex'), out.toString('hex'), `not stable: ${format} ${kind} ${bytes.toString('hex')}`);
  return 'decoded';
}

for (const format of FORMATS) {
  test(`${format}: truncation at every offset is a DecodeError`, () => {
    for (const c of samples[format].slice(0, 40)) {
      for (let i = 0; i < c.bytes.length; i++) {
        const cut = c.bytes.subarray(0, i);
        // an empty session is a valid (empty) session
        if (!(c.kind === 'session' && i === 0)) assert.equal(check(format, cut, c.kind), 'refused', `${c.bytes.toString('hex')} cut at ${i}`);
      }
    }
  });

  test(`${format}: thousands of mutated PHP-written inputs: only DecodeErrors, and what decodes re-encodes stably`, () => {
    const rand = prng(format === 'igbinary' ? 0x16b1 : 0x3e5a);
    const stats = { refused: 0, decoded: 0 };
    const list = samples[format];
    for (let round = 0; round < 8000; round++) {
      const c = list[round % list.length];
      const m = mutate(rand, c.bytes);
      stats[check(format, m, c.kind)]++;
      check(format, m, c.kind === 'session' ? 'value' : 'session');
      // and through the other format's decoder
      check(format === 'igbinary' ? 'msgpack' : 'igbinary', m, c.kind);
    }
    assert.ok(stats.refused > 1000, JSON.stringify(stats));
    assert.ok(stats.decoded > 300, JSON.stringify(stats));
  });

  test(`${format}: random bytes: only DecodeErrors`, () => {
    const rand = prng(format === 'igbinary' ? 7 : 11);
    for (let k = 0; k < 4000; k++) {
      const raw = Buffer.alloc(Math.floor(rand() * 40));
      for (let i = 0; i < raw.length; i++) raw[i] = rand() < 0.3 ? INTERESTING[Math.floor(rand() * INTERESTING.length)] : Math.floor(rand() * 256);
      if (format === 'igbinary' && raw.length >= 4 && rand() < 0.7) raw.set([0, 0, 0, 2]);
      check(format, raw, 'value');
      check(format, raw, 'session');
    }
  });
}

test('huge declared counts and lengths are refused before anything is allocated', () => {
  const ig = ['1613ffffffff', '16ffffffff', '13ffffffff61', '26ffffffffffffffff61', '260000000100000000', '1d0161', '19ffffffff', '1702616214ffffffff', '17026162' + '1fffffffff'];
  for (const h of ig) assert.throws(() => igbinaryUnserialize(Buffer.from('00000002' + h, 'hex')), DecodeError, h);
  const mp = ['ddffffffff', 'dfffffffff', 'dbffffffff', 'c6ffffffff', 'c9ffffffff01', 'dcffff', 'deffff01', '9f', '8f'];
  for (const h of mp) assert.throws(() => msgpackUnpack(Buffer.from(h, 'hex')), DecodeError, h);
  // a count just within the input still decodes nothing it cannot hold
  assert.throws(() => igbinaryUnserialize(Buffer.concat([Buffer.from('0000000215ffff', 'hex'), Buffer.alloc(70000, 0)])), DecodeError);
});
