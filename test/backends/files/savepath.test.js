// save_path parsing, id rules, id generation, file paths, the walk and the dir tree,
// checked against PHP's own session module where PHP is the judge.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSavePath, phpTemporaryDirectory, walkSessionFiles, createSessionDirs } from 'sessctl/files';
import { isValidSessionId, assertValidSessionId, SID_ALPHABET, generateSessionId, sessionIdFromBytes, ConfigError, InvalidSessionIdError, SessionFileError } from 'sessctl';
import { sessionFilePath, sessionIdFromFileName } from 'sessctl/files';
import { needPhp, runPhp } from '../../helpers/env.js';

const HELPER = fileURLToPath(new URL('../../php/store/session.php', import.meta.url));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sessctl-store-sp-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const php = (cfg) => JSON.parse(runPhp([HELPER, JSON.stringify(cfg)]).toString());

describe('parseSavePath', () => {
  test('the three forms, and a path containing ";"', () => {
    assert.deepEqual(parseSavePath('/var/lib/php/sessions'), { depth: 0, mode: 0o600, path: '/var/lib/php/sessions', raw: '/var/lib/php/sessions' });
    assert.deepEqual(parseSavePath('2;/x'), { depth: 2, mode: 0o600, path: '/x', raw: '2;/x' });
    assert.deepEqual(parseSavePath('1;0640;/x'), { depth: 1, mode: 0o640, path: '/x', raw: '1;0640;/x' });
    assert.equal(parseSavePath('0;0644;/a;b;c').path, '/a;b;c');
    // Two parts: the first is the depth even when it looks like a path (PHP does the same).
    assert.deepEqual(parseSavePath('/a;b'), { depth: 0, mode: 0o600, path: 'b', raw: '/a;b' });
  });
  test('strtol rules: non-numeric depth is 0, a digit prefix counts, MODE is octal', () => {
    assert.equal(parseSavePath('abc;/x').depth, 0);
    assert.equal(parseSavePath('2abc;/x').depth, 2);
    assert.equal(parseSavePath(' +3;/x').depth, 3);
    assert.equal(parseSavePath('0;8888;/x').mode, 0);
    assert.equal(parseSavePath('0;;/x').mode, 0);
    assert.equal(parseSavePath('0;0x1ff;/x').mode, 0);
    assert.equal(parseSavePath('0;777;/x').mode, 0o777);
    assert.equal(parseSavePath('0;07777;/x').mode, 0o7777);
  });
  test('bad depth or mode → ConfigError naming the part', () => {
    for (const [sp, part] of [['-1;/x', 'depth "-1"'], ['99999999999999999999;/x', 'depth "99999999999999999999"'], ['256;/x', 'depth "256"'],
      ['0;77777;/x', 'mode "77777"'], ['0;-1;/x', 'mode "-1"'], ['0;10000;/x', 'mode "10000"'], ['0;0600;', 'directory part']]) {
      assert.throws(() => parseSavePath(sp), (e) => e instanceof ConfigError && e.message.includes(part), sp);
    }
  });
  test('empty → PHP\'s temporary directory ($TMPDIR without trailing slash, else /tmp)', () => {
    assert.equal(phpTemporaryDirectory({ TMPDIR: '/var/tmp/' }), '/var/tmp');
    assert.equal(phpTemporaryDirectory({}), '/tmp');
    assert.equal(phpTemporaryDirectory({ TMPDIR: '' }), '/tmp');
    assert.equal(parseSavePath('', { env: { TMPDIR: '/var/tmp/' } }).path, '/var/tmp');
  });
  test('empty save path and TMPDIR: PHP agrees (sys_get_temp_dir)', needPhp(), () => {
    for (const TMPDIR of ['/var/tmp/', undefined]) {
      const env = { ...process.env };
      if (TMPDIR) env.TMPDIR = TMPDIR; else delete env.TMPDIR;
      const out = runPhp(['-r', 'echo sys_get_temp_dir();'], { env: TMPDIR ? { TMPDIR } : { TMPDIR: '' } }).toString();
      assert.equal(parseSavePath('', { env: TMPDIR ? { TMPDIR } : {} }).path, out);
    }
  });
  test('PHP puts the session file where sessionFilePath says, with the mode from save_path', needPhp(), () => {
    const base = path.join(tmp, 'where');
    fs.mkdirSync(path.join(base, 'a', 'b'), { recursive: true });
    fs.mkdirSync(path.join(base, 'x;y'), { recursive: true });
    const cases = [base, `1;${base}`, `2;${base}`, `1;0640;${base}`, `abc;${base}`, `0;0644;${base}/x;y`, `2abc;0604;${base}`];
    let n = 0;
    for (const savePath of cases) {
      const id = `ab${String(n++).padStart(3, '0')}qwertyuiopasdfghjklz`;
      php({ ini: { 'session.save_path': savePath }, action: 'create', id, set: { n } });
      const sp = parseSavePath(savePath);
      const file = sessionFilePath(sp, id);
      const st = fs.statSync(file);
      assert.equal(st.mode & 0o7777, sp.mode & ~process.umask(), savePath);
    }
    for (const bad of [`0;77777;${base}`, `-1;${base}`]) {
      assert.throws(() => php({ ini: { 'session.save_path': bad }, action: 'create', id: 'abcdefabcdefabcdefabcdef' }), /failed/);
      assert.throws(() => parseSavePath(bad), ConfigError);
    }
  });
});

describe('session ids', () => {
  test('PHP\'s character set and length rules, and longer than the depth', () => {
    for (const id of ['a', 'abc,-XYZ09', 'x'.repeat(256)]) assert.ok(isValidSessionId(id), id);
    for (const id of ['', 'x'.repeat(257), '../etc', 'a/b', 'a.b', 'a b', 'ä', 'a\0b', 'a_b']) assert.ok(!isValidSessionId(id), JSON.stringify(id));
    assert.ok(!isValidSessionId('ab', 2));
    assert.ok(isValidSessionId('abc', 2));
    assert.throws(() => assertValidSessionId('../../etc/passwd'), InvalidSessionIdError);
    assert.throws(() => sessionFilePath(parseSavePath('/x'), '../x'), InvalidSessionIdError);
    assert.throws(() => sessionFilePath(parseSavePath('3;/x'), 'abc'), /longer than the save path depth 3/);
  });
  test('sessionFilePath / sessionIdFromFileName', () => {
    assert.equal(sessionFilePath(parseSavePath('/s'), 'abcdef'), '/s/sess_abcdef');
    assert.equal(sessionFilePath(parseSavePath('2;/s'), 'abcdef'), '/s/a/b/sess_abcdef');
    assert.equal(sessionFilePath(parseSavePath('5;/s'), 'abcdef'), '/s/a/b/c/d/e/sess_abcdef');
    assert.equal(sessionIdFromFileName('sess_abc'), 'abc');
    assert.equal(sessionIdFromFileName('sess_'), null);
    assert.equal(sessionIdFromFileName('sess_a.b'), null);
    assert.equal(sessionIdFromFileName('abc'), null);
  });
  test('bin_to_readable: LSB-first bit packing over the alphabet', () => {
    assert.equal(SID_ALPHABET.length, 64);
    // 0x21 = 0010 0001 → low nibble 1, high nibble 2
    assert.equal(sessionIdFromBytes(Uint8Array.of(0x21, 0xff), 4, 4), '12ff');
    // 5 bits: 0b11111 from byte 0, then 3 bits of byte 0 + 2 bits of byte 1
    assert.equal(sessionIdFromBytes(Uint8Array.of(0xff, 0x00), 3, 5), 'v70');
    // 6 bits over 3 bytes of 0xff → 4 × '-'
    assert.equal(sessionIdFromBytes(Uint8Array.of(0xff, 0xff, 0xff), 4, 6), '----');
    assert.equal(sessionIdFromBytes(Uint8Array.of(0b11000001, 0b00001001), 2, 6), '1D'); // 000001, then 11 + 1001<<2 = 39
  });
  test('generateSessionId: lengths 22..256, bits 4/5/6, only the first 2^bits characters', () => {
    for (const bits of /** @type {const} */ ([4, 5, 6])) {
      const allowed = new Set(SID_ALPHABET.slice(0, 1 << bits));
      const seen = new Set();
      for (const length of [22, 32, 100, 256]) {
        const id = generateSessionId({ length, bitsPerCharacter: bits });
        assert.equal(id.length, length);
        for (const c of id) { assert.ok(allowed.has(c), `${c} with ${bits} bits`); seen.add(c); }
      }
      assert.ok(seen.size > (1 << bits) * 0.8, 'uses (nearly) the whole alphabet');
    }
    assert.equal(generateSessionId().length, 32);
    assert.throws(() => generateSessionId({ length: 21 }), ConfigError);
    assert.throws(() => generateSessionId({ length: 257 }), ConfigError);
    // @ts-expect-error 7 bits per character is not a PHP setting: checks the runtime refuses it
    assert.throws(() => generateSessionId({ bitsPerCharacter: 7 }), ConfigError);
  });
  test('PHP\'s own ids use the same alphabet subset as ours', needPhp(), () => {
    for (const bits of [4, 5, 6]) {
      const out = runPhp(['-r', `ini_set("session.sid_bits_per_character", "${bits}"); ini_set("session.sid_length", "200"); echo session_create_id();`]).toString();
      const allowed = SID_ALPHABET.slice(0, 1 << bits);
      assert.equal(out.length, 200);
      assert.ok([...out].every((c) => allowed.includes(c)), `${bits}: ${out}`);
    }
  });
});

describe('createSessionDirs + walkSessionFiles', () => {
  test('builds the tree like mod_files.sh, idempotently, with the save path\'s mode', async () => {
    const base = path.join(tmp, 'tree');
    fs.mkdirSync(base);
    fs.chmodSync(base, 0o1733);
    const sp = parseSavePath(`2;${base}`);
    assert.deepEqual(await createSessionDirs(sp, { bitsPerCharacter: 4 }), { created: 16 + 256, existing: 0 });
    assert.equal(fs.statSync(path.join(base, 'f', '0')).mode & 0o7777, 0o1733);
    assert.deepEqual(await createSessionDirs(sp, { bitsPerCharacter: 4 }), { created: 0, existing: 272 });
    assert.deepEqual(await createSessionDirs(sp, { bitsPerCharacter: 5 }), { created: 1024 + 32 - 272, existing: 272 });
    assert.ok(fs.existsSync(path.join(base, 'v', 'v')));
    assert.ok(!fs.existsSync(path.join(base, 'w')));
    const sp1 = parseSavePath(`1;${base}/one`);
    fs.mkdirSync(sp1.path, { mode: 0o700 });
    assert.deepEqual(await createSessionDirs(sp1, { bitsPerCharacter: 6, mode: 0o750 }), { created: 64, existing: 0 });
    assert.equal(fs.statSync(path.join(sp1.path, '-')).mode & 0o7777, 0o750);
    assert.ok(fs.statSync(path.join(sp1.path, 'Z')).isDirectory());
    await assert.rejects(createSessionDirs(parseSavePath(`4;${base}/one`), { bitsPerCharacter: 6, maxDirectories: 1000 }), ConfigError);
    fs.writeFileSync(path.join(base, 'file'), '');
    await assert.rejects(createSessionDirs(parseSavePath(`1;${base}/file`), { bitsPerCharacter: 4 }), SessionFileError);
  });

  test('the walk yields only regular sess_<valid id> files in their own directory', async () => {
    const base = path.join(tmp, 'walk');
    const sp = parseSavePath(`1;${base}`);
    fs.mkdirSync(base);
    await createSessionDirs(sp, { bitsPerCharacter: 5 });
    const good = ['abcdef', 'a1', 'bzzzzz'];
    for (const id of good) fs.writeFileSync(sessionFilePath(sp, id), 'x|i:1;');
    fs.writeFileSync(path.join(base, 'a', 'sess_bmisplaced'), '');      // wrong directory
    fs.writeFileSync(path.join(base, 'a', 'sess_a.bad'), '');           // invalid id
    fs.writeFileSync(path.join(base, 'a', 'other_file'), '');
    fs.mkdirSync(path.join(base, 'a', 'sess_adir'));                    // not a file
    fs.symlinkSync(sessionFilePath(sp, 'abcdef'), path.join(base, 'a', 'sess_alink'));  // symlink
    fs.writeFileSync(path.join(base, 'sess_atoplevel'), '');            // wrong level
    fs.mkdirSync(path.join(base, 'zz'));                                // not a tree dir
    fs.writeFileSync(path.join(base, 'zz', 'sess_zzz'), '');
    fs.symlinkSync(path.join(base, 'a'), path.join(base, 'A'));          // symlinked tree dir
    const found = [];
    for await (const e of walkSessionFiles(sp)) found.push(e);
    assert.deepEqual(found.map((e) => e.id).sort(), good.sort());
    for (const e of found) assert.equal(e.path, sessionFilePath(sp, e.id));
  });

  test('the walk can be aborted, and a missing save path is a clear error', async () => {
    const sp = parseSavePath(path.join(tmp, 'nope'));
    await assert.rejects(async () => { for await (const _ of walkSessionFiles(sp)); }, SessionFileError);
    const base = path.join(tmp, 'many');
    fs.mkdirSync(base);
    for (let i = 0; i < 50; i++) fs.writeFileSync(path.join(base, `sess_id${i}`), '');
    const ac = new AbortController();
    let n = 0;
    await assert.rejects(async () => {
      for await (const _ of walkSessionFiles(parseSavePath(base), { signal: ac.signal })) if (++n === 5) ac.abort();
    }, { name: 'AbortError' });
    assert.equal(n, 5);
  });

  test('PHP at depth 0, 1, 2 with sid bits 4/5/6: the walk finds every session PHP made', needPhp(), async () => {
    for (const depth of [0, 1, 2]) {
      for (const bits of /** @type {const} */ ([4, 5, 6])) {
        const base = path.join(tmp, `php-d${depth}-b${bits}`);
        fs.mkdirSync(base);
        const sp = parseSavePath(`${depth};${base}`);
        await createSessionDirs(sp, { bitsPerCharacter: bits });
        const ids = [];
        for (let i = 0; i < 3; i++) {
          ids.push(php({ ini: { 'session.save_path': sp.raw, 'session.sid_bits_per_character': bits, 'session.sid_length': 22 + i }, action: 'create', set: { i } }).id);
        }
        const found = [];
        for await (const e of walkSessionFiles(sp)) found.push(e.id);
        assert.deepEqual(found.sort(), ids.sort(), `depth ${depth} bits ${bits}`);
      }
    }
  });
});
