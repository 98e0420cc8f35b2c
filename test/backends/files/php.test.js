// Real PHP is the judge: sessions PHP's session_start() wrote (depth 0/1/2, every serialize
// handler, sid bits 4/5/6) are found, read and decoded by us; sessions we write are read by
// PHP's session_start() without a decode failure and with the values we put in.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileSessionStore, createSessionDirs, parseSavePath } from 'sessctl/files';
import { PhpArray, PhpFloat, PhpObject, toPlain } from 'sessctl';
import { needPhp, runPhp } from '../../helpers/env.js';

const HELPER = fileURLToPath(new URL('../../php/store/session.php', import.meta.url));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sessctl-store-php-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const php = (cfg) => JSON.parse(runPhp([HELPER, JSON.stringify(cfg)]).toString());

/** @type {import('sessctl').SerializeHandler[]} */
const HANDLERS = ['php', 'php_serialize', 'php_binary'];
const PHP_VALUES = `
  $_SESSION['int'] = 42; $_SESSION['neg'] = -7; $_SESSION['str'] = "h\\u{e9}llo | ; \\"q\\"";
  $_SESSION['float'] = 1.5; $_SESSION['whole'] = 2.0; $_SESSION['yes'] = true; $_SESSION['nil'] = null;
  $_SESSION['list'] = [1, 'two', [3]]; $_SESSION['map'] = ['a' => ['b' => 'c'], 5 => 'five'];
  $o = new stdClass; $o->p = 'v'; $_SESSION['obj'] = $o; $_SESSION['same'] = $o;
`;

function checkPhpValues(d, label) {
  assert.equal(d.get('int'), 42, label);
  assert.equal(d.get('neg'), -7, label);
  assert.equal(d.get('str'), 'héllo | ; "q"', label);
  assert.ok(d.get('float') instanceof PhpFloat && d.get('float').value === 1.5, label);
  assert.ok(d.get('whole') instanceof PhpFloat && d.get('whole').value === 2, label);
  assert.equal(d.get('yes'), true, label);
  assert.equal(d.get('nil'), null, label);
  assert.deepEqual(toPlain(d.get('list')), [1, 'two', [3]], label);
  assert.equal(d.get('map').get('a').get('b'), 'c', label);
  assert.equal(d.get('map').get(5), 'five', label);
  assert.ok(d.get('obj') instanceof PhpObject && d.get('obj').className === 'stdClass', label);
  assert.equal(d.get('obj').get('p'), 'v', label);
  assert.equal(d.get('same'), d.get('obj'), `${label}: r: keeps object identity`);
}

test('sessions made by PHP\'s session_start() at depth 0/1/2, every handler, sid bits 4/5/6: found, read, decoded', needPhp(), async () => {
  let n = 0;
  for (const depth of [0, 1, 2]) {
    for (const bits of /** @type {const} */ ([4, 5, 6])) {
      const base = path.join(tmp, `from-php-${depth}-${bits}`);
      fs.mkdirSync(base);
      const savePath = `${depth};${base}`;
      await createSessionDirs(parseSavePath(savePath), { bitsPerCharacter: bits });
      const made = new Map();
      for (const handler of HANDLERS) {
        const ini = { 'session.save_path': savePath, 'session.serialize_handler': handler, 'session.sid_bits_per_character': bits, 'session.sid_length': 26 };
        const { id } = php({ ini, action: 'create', php: PHP_VALUES });
        made.set(id, handler);
        n++;
      }
      const found = [];
      for await (const id of new FileSessionStore({ savePath }).ids()) found.push(id);
      assert.deepEqual(found.sort(), [...made.keys()].sort());
      for (const [id, handler] of made) {
        const store = new FileSessionStore({ savePath, serializeHandler: handler });
        const label = `depth ${depth} bits ${bits} ${handler} ${id}`;
        checkPhpValues(await store.read(id), label);
        const h = await store.open(id);
        checkPhpValues(h.data, label);
        assert.equal(h.isNew, false);
        // Saving what we read gives back PHP's bytes exactly (lazy write sees no change).
        const before = fs.readFileSync(h.path);
        await h.save();
        await h.close();
        assert.deepEqual(fs.readFileSync(h.path), before, label);
      }
    }
  }
  assert.equal(n, 27);
});

test('sessions we create are picked up by PHP\'s session_start() (depth 0/1/2, every handler)', needPhp(), async () => {
  for (const depth of [0, 1, 2]) {
    const base = path.join(tmp, `from-node-${depth}`);
    fs.mkdirSync(base);
    const savePath = `${depth};${base}`;
    await createSessionDirs(parseSavePath(savePath), { bitsPerCharacter: 5 });
    for (const handler of HANDLERS) {
      const store = new FileSessionStore({ savePath, serializeHandler: handler, sidBitsPerCharacter: 5, sidLength: 30 });
      const id = await store.createId();
      await store.update(id, (d) => {
        d.set('user', 'zoë');
        d.set('n', 3);
        d.set('ratio', new PhpFloat(0.25));
        d.set('flags', PhpArray.of(true, false, null));
        const cart = new PhpArray();
        cart.set('sku-1', 2);
        cart.set(10, 'ten');
        d.set('cart', cart);
        const o = new PhpObject('stdClass');
        o.props.set('x', 1);
        d.set('obj', o);
      });
      const ini = { 'session.save_path': savePath, 'session.serialize_handler': handler };
      const { data, serialized } = php({ ini, action: 'read', id });
      assert.deepEqual(data, { user: 'zoë', n: 3, ratio: 0.25, flags: [true, false, null], cart: { 'sku-1': 2, 10: 'ten' }, obj: { x: 1 } }, `${handler} depth ${depth}`);
      assert.match(serialized, /O:8:"stdClass":1:\{s:1:"x";i:1;\}/);
      // PHP then changes it (under its lock) and we read PHP's change.
      php({ ini, action: 'loop', id, tag: 'n', n: 2 });
      const back = await store.read(id);
      assert.equal(back.get('n'), 5);
      assert.equal(back.get('total'), 2);
      assert.equal(back.get('user'), 'zoë');
    }
  }
});

test('a file mode from save_path is used for files we create, as PHP does', needPhp(), async () => {
  const base = path.join(tmp, 'mode');
  fs.mkdirSync(base);
  const savePath = `0;0640;${base}`;
  const store = new FileSessionStore({ savePath });
  await store.update('modecheckbynode00000000001', (d) => { d.set('a', 1); });
  php({ ini: { 'session.save_path': savePath }, action: 'create', id: 'modecheckbyphp000000000001', set: { a: 1 } });
  const ours = fs.statSync(store.pathOf('modecheckbynode00000000001')).mode & 0o7777;
  const theirs = fs.statSync(store.pathOf('modecheckbyphp000000000001')).mode & 0o7777;
  assert.equal(ours, theirs);
  assert.equal(ours, 0o640 & ~process.umask());
});
