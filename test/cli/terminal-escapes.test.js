// Point 4 of the hardening issue, CLI side: nothing from a session or a file name reaches
// the terminal as a control character. Every name, key, value, path and message is escaped
// visibly (C0, DEL, C1 such as U+009B CSI, lone surrogates / the codec's U+DC80+byte, bidi
// overrides); JSON output escapes them as \uXXXX and still parses back to the same strings.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, utimesSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, sessctl, saveDirWith } from './run-cli.js';

/** Anything a terminal acts on: C0 but \n, DEL, C1, bidi overrides/isolates, lone surrogates (or U+FFFD they became). */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\ufffd]/u;

const s = (str) => `s:${str.length}:"${str}";`;
const named = (tag, name) => `${tag}:${name.length}:"${name}"`;
// Built as latin1 text, one char per byte: UTF-8 sequences are spelled out as their bytes.
const C1_CSI = '\xc2\x9b'; // U+009B in UTF-8
const RLO = '\xe2\x80\xae'; // U+202E
const parts = [
  `title\x1b]0;pwned\x07|${s('x')}`, // a session key with an OSC title sequence
  `k${C1_CSI}2J|${s(`clear\x1b[2J${C1_CSI}2J\x7f${RLO}end`)}`,
  `bin|${s('\x1b[31m\x9b\xff')}`, // invalid UTF-8: a Buffer, shown byte by byte
  `obj|${named('O', `Evil${C1_CSI}Class`)}:3:{${s(`\x00Cl${C1_CSI}ass\x00p`)}i:1;${s('\x00X\x1b[8mY\x00q')}i:2;${s(`pro\x9bp`)}i:3;}`,
  `enum|${named('E', `Suit:Hea${C1_CSI}rts${C1_CSI}2J`)};`,
  `ser|${named('C', `S${C1_CSI}er\x9b`)}:2:{\x1b]}`,
  `arr|a:2:{${s('\x1b[2J')}i:1;${s(`${RLO}gnp.exe`)}i:2;}`,
];
const ID = 'escapes0123456789abcdefghij';
const session = saveDirWith(ID, Buffer.from(parts.join(''), 'latin1'));
after(() => session.remove());
const inspect = (...extra) => sessctl(['inspect', ID, '--save-path', session.dir, '--serialize-handler', 'php', '--no-php', ...extra]);

test('inspect escapes keys, values, class, property and enum names', () => {
  const r = inspect();
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout, CONTROL);
  for (const shown of [
    '"title\\x1b]0;pwned\\x07": string(1) "x"',
    '"k\\u009b2J": string(20) "clear\\x1b[2J\\u009b2J\\x7f\\u202eend"',
    'bin: binary(7) "\\x1b[31m\\x9b\\xff"',
    'object("Evil\\u009bClass")',
    'private("Cl\\u009bass") p: int(1)',
    'private("X\\x1b[8mY") q: int(2)',
    '"pro\\x9bp": int(3)',
    'enum(Suit::"Hea\\u009brts\\u009b2J")',
    'serializable("S\\u009ber\\x9b") binary(2) "\\x1b]"',
    '"\\x1b[2J": int(1)',
    '"\\u202egnp.exe": int(2)',
  ]) {
    assert.ok(r.stdout.includes(shown), `missing ${shown}\n${r.stdout}`);
  }
});

test('inspect --json escapes C1, DEL and bidi controls as \\u escapes; the JSON reads back to the same text', () => {
  const r = inspect('--json');
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout, CONTROL);
  assert.ok(r.stdout.includes('"k\\u009b2J"'));
  const v = JSON.parse(r.stdout);
  assert.equal(v['title\x1b]0;pwned\x07'], 'x');
  assert.equal(v['k\u009b2J'], 'clear\x1b[2J\u009b2J\x7f\u202eend');
  assert.equal(v.obj.__class, 'Evil\u009bClass');
  assert.equal(v.enum.__case, 'Hea\u009brts\u009b2J');
});

test('a decode error quoting crafted bytes and the file path is escaped on stderr', () => {
  const id = 'badfloat0123456789abcdefghij';
  writeFileSync(join(session.dir, `sess_${id}`), Buffer.from(`k|d:1${C1_CSI}\x1b[2J;`, 'latin1'));
  const r = sessctl(['inspect', id, '--save-path', session.dir, '--serialize-handler', 'php', '--no-php']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /invalid float/);
  assert.doesNotMatch(r.stderr.split('\n')[0], CONTROL);
  assert.ok(r.stderr.includes('\\u009b'), r.stderr);
});

test('gc --dry-run and its errors print crafted file names escaped', () => {
  const name = `sess_\x1b]2;pwned\x07\x1b[2J${'\u009b'}x`;
  const file = join(session.dir, name);
  writeFileSync(file, 'k|i:1;');
  const old = new Date(Date.now() - 3600_000);
  utimesSync(file, old, old);
  const r = sessctl(['gc', '--dry-run', '--save-path', session.dir, '--maxlifetime', '60', '--no-php']);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout, CONTROL);
  assert.doesNotMatch(r.stderr, CONTROL);
  assert.ok(r.stdout.includes('sess_\\x1b]2;pwned\\x07\\x1b[2J\\u009bx'), r.stdout);
  const j = sessctl(['gc', '--dry-run', '--json', '--save-path', session.dir, '--maxlifetime', '60', '--no-php']);
  assert.equal(j.code, 0, j.stderr);
  assert.doesNotMatch(j.stdout, CONTROL);
  JSON.parse(j.stdout);
});

test('inspect --raw: the stored bytes through a pipe, escaped on a terminal', () => {
  const piped = sessctl(['inspect', ID, '--save-path', session.dir, '--no-php', '--raw'], { encoding: 'latin1' });
  assert.equal(piped.code, 0, piped.stderr);
  assert.equal(piped.stdout, parts.join(''), 'byte for byte through a pipe');
  // `script` gives the command a terminal (util-linux, in every Debian install)
  const cmd = [process.execPath, 'bin/sessctl.js', 'inspect', ID, '--save-path', session.dir, '--no-php', '--raw'].map((a) => `'${a}'`).join(' ');
  const tty = spawnSync('script', ['-qec', cmd, '/dev/null'], { cwd: ROOT, encoding: 'latin1' });
  assert.equal(tty.status, 0, tty.stderr);
  const shown = tty.stdout.replace(/\r\n/g, '\n');
  assert.ok(!CONTROL.test(shown.replace(/\n/g, '')), JSON.stringify(shown));
  assert.match(shown, /title\\x1b\]0;pwned\\x07\|/);
});

test("commander's own errors quote what was typed escaped; U+2028 in a name is escaped", () => {
  for (const args of [['list', '--x\x1b[31m\x07'], ['li\x1b[31m'], ['list', '--sort', 'x\x1b[31m'], ['list', '--serialize-handler', 'x\x1b]0;t\x07']]) {
    const r = sessctl(args);
    assert.equal(r.code, 2);
    assert.ok(!CONTROL.test(r.stderr.replace(/\n/g, '')), JSON.stringify(r.stderr));
    assert.match(r.stderr, /\\x1b/);
  }
  const id = 'linesep0123456789abcdefghij';
  const ls = saveDirWith(id, Buffer.from(`a\u2028b|${s('x')}`, 'utf8'));
  try {
    const r = sessctl(['inspect', id, '--save-path', ls.dir, '--no-php']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /a\\u2028b/);
    assert.ok(!r.stdout.includes('\u2028'));
  } finally {
    ls.remove();
  }
});

test('a long key or property name is shortened like a long string (--full shows it whole)', () => {
  const id = 'longkey0123456789abcdefghij';
  const key = 'k'.repeat(5000);
  const ls = saveDirWith(id, Buffer.from(`${key}|${s('v')}o|O:8:"stdClass":1:{${s('p'.repeat(3000))}i:1;}`, 'utf8'));
  try {
    const short = sessctl(['inspect', id, '--save-path', ls.dir, '--no-php']);
    assert.equal(short.code, 0, short.stderr);
    assert.ok(short.stdout.length < 2000, `${short.stdout.length} characters`);
    assert.match(short.stdout, /k{120}… \(\+4880 chars, --full to show\)/);
    assert.match(short.stdout, /p{120}… \(\+2880 chars, --full to show\)/);
    const full = sessctl(['inspect', id, '--save-path', ls.dir, '--no-php', '--full']);
    assert.ok(full.stdout.includes(key));
  } finally {
    ls.remove();
  }
});
