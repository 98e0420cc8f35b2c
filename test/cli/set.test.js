// set / unset: one value changed under the lock; the bytes are exactly what PHP writes when it
// makes the same change itself; mtime / TTL kept; a session PHP holds is waited for.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { needPhp, needRedis, hasRedisServer, hasPhpRedis, runPhp } from '../helpers/env.js';
import { startRedis } from '../helpers/redis-server.js';
import { sessctl, tempDir, removeDir } from '../helpers/cli.js';
import { phpIni, phpWriteSessions, phpReadSession, phpHold } from '../helpers/php-sessions.js';

const SESSION = "['user' => ['id' => 42, 'name' => 'ann'], 'cart' => ['items' => [1, 2, 3], 'total' => 9.5], 'flags' => ['beta' => false], 'r1' => &$x, 'r2' => &$x, 'n' => null, 'obj' => (object)['5' => 1, 'x' => 2]]";
// PHP makes a change itself: the bytes sessctl writes must be these.
function phpChanges(ini, id, statement) {
  runPhp([...phpIni(ini), '-r', `session_id(${JSON.stringify(id)}); session_start(); ${statement} session_write_close();`]);
}

/** @type {[string[], string][]} */
const CHANGES = [
  // [sessctl args after the id, the same change in PHP]
  [['set', 'cart.items', '[]'], "$_SESSION['cart']['items'] = [];"],
  [['set', 'flags.beta', 'true'], "$_SESSION['flags']['beta'] = true;"],
  [['set', 'user.email', '"ann@example.com"'], "$_SESSION['user']['email'] = 'ann@example.com';"],
  [['set', 'r1', '{"a": [1, 2.5, null]}'], "$_SESSION['r1'] = ['a' => [1, 2.5, null]];"],
  [['set', 'new.deep.key', '7'], "$_SESSION['new']['deep']['key'] = 7;"],
  // JSON as PHP's json_decode() reads it: the spelling of a number decides int or float
  [['set', 'big', '9007199254740993'], "$_SESSION['big'] = json_decode('9007199254740993', true);"],
  [['set', 'f', '1.0'], "$_SESSION['f'] = json_decode('1.0', true);"],
  [['set', 'o', '{"b": 1, "2": 2, "a": {"x": 1e2, "y": -0, "z": 99999999999999999999, "b": 1, "b": 3}}'], "$_SESSION['o'] = json_decode('{\"b\": 1, \"2\": 2, \"a\": {\"x\": 1e2, \"y\": -0, \"z\": 99999999999999999999, \"b\": 1, \"b\": 3}}', true);"],
  [['unset', 'cart'], "unset($_SESSION['cart']);"],
  [['unset', 'user.name'], "unset($_SESSION['user']['name']);"],
  // a stdClass property named by digits: PHP keeps the name a string (s:1:"5")
  [['set', 'obj[5]', '6'], "$_SESSION['obj']->{'5'} = 6;"],
  [['set', 'obj.7', '"n"'], "$_SESSION['obj']->{'7'} = 'n';"],
  [['unset', 'obj.5'], "unset($_SESSION['obj']->{'5'});"],
];

function suite(name, setup) {
  describe(`set/unset on ${name}`, setup.need, () => {
    let t;
    before(async () => {
      t = await setup.make();
    });
    after(async () => t && (await t.stop()));
    const cli = (...args) => sessctl([...args, ...t.flags, '--no-php']);

    CHANGES.forEach(([args, php], i) => {
      test(`${args.join(' ')}: the same bytes PHP writes for ${php}`, () => {
        const ours = `set${i}ours000000000000000000000`.slice(0, 26);
        const theirs = `set${i}php0000000000000000000000`.slice(0, 26);
        phpWriteSessions(t.ini, { [ours]: SESSION, [theirs]: SESSION });
        const before = t.stamp(ours);
        const r = cli(args[0], ours, ...args.slice(1));
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /: changed \(php, \d+ → \d+ bytes\)/);
        phpChanges(t.ini, theirs, php);
        assert.equal(t.raw(ours), t.raw(theirs));
        assert.deepEqual(t.stamp(ours), before, 'mtime / TTL kept');
      });
    });

    test('--dry-run shows before and after and changes nothing; unchanged values are not written', () => {
      const id = 'setdry000000000000000000000';
      phpWriteSessions(t.ini, { [id]: SESSION });
      const bytes = t.raw(id);
      const r = cli('set', id, 'cart.items', '[]', '--dry-run', '--json');
      assert.equal(r.code, 0, r.stderr);
      const j = JSON.parse(r.stdout);
      assert.equal(j.outcome, 'would-change');
      assert.deepEqual(j.before, [1, 2, 3]);
      assert.deepEqual(j.after, []);
      assert.equal(t.raw(id), bytes);
      const same = JSON.parse(cli('set', id, 'user.id', '42', '--json').stdout);
      assert.equal(same.outcome, 'unchanged');
      assert.equal(JSON.parse(cli('unset', id, 'no.such.key', '--json').stdout).outcome, 'unchanged');
    });

    test('a session PHP holds: waits up to --lock-timeout, then fails (exit 1) and writes nothing; after release it works', async () => {
      const id = 'setheld00000000000000000000';
      phpWriteSessions(t.ini, { [id]: SESSION });
      const php = phpHold(t.ini, id);
      await php.ready;
      try {
        // sub-second waits are accepted (250ms)
        const r = cli('set', id, 'flags.beta', 'true', '--lock-timeout', '250ms');
        assert.equal(r.code, 1);
        assert.match(r.stderr, /lock/);
        // as given (files), or in whole lock retries (Redis: phpredis's retries × wait)
        assert.match(r.stderr, /within 2[5-9]\d ms/, 'a sub-second wait, as asked');
      } finally {
        php.release();
        await php.done;
      }
      assert.equal(phpReadSession(t.ini, id).flags.beta, false);
      assert.equal(cli('set', id, 'flags.beta', 'true').code, 0);
      assert.equal(phpReadSession(t.ini, id).flags.beta, true);
    });

    test('bad input: missing session (exit 1), path through a scalar, wildcard, bad JSON (exit 2)', () => {
      const id = 'setbad000000000000000000000';
      phpWriteSessions(t.ini, { [id]: SESSION });
      const missing = cli('set', 'nosuchsession0000000000000', 'a', '1');
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /no such session/);
      const scalar = cli('set', id, 'user.id.x', '1');
      assert.equal(scalar.code, 2);
      assert.match(scalar.stderr, /user\.id is a number, not an array/);
      const wild = cli('set', id, 'user.*', '1');
      assert.equal(wild.code, 2);
      assert.match(wild.stderr, /wildcard/);
      const json = cli('set', id, 'user.id', 'forty-two');
      assert.equal(json.code, 2);
      assert.match(json.stderr, /is not JSON/);
    });
  });
}

suite('files', {
  need: needPhp(),
  make: async () => {
    const dir = tempDir('set');
    const path = (id) => join(dir, `sess_${id}`);
    return {
      ini: { savePath: dir },
      flags: ['--save-path', dir],
      raw: (id) => readFileSync(path(id), 'latin1'),
      stamp: (id) => statSync(path(id), { bigint: true }).mtimeNs,
      stop: async () => removeDir(dir),
      dir,
    };
  },
});

suite('redis', {
  need: needRedis(),
  make: async () => {
    if (!(hasRedisServer && hasPhpRedis)) return null;
    const redis = await startRedis();
    const key = (id) => `PHPREDIS_SESSION:${id}`;
    const cmd = (...a) => runPhp(['-r', `$r = new Redis(); $r->connect('127.0.0.1', ${redis.port}); echo json_encode($r->rawCommand(...array_slice($argv, 1)));`, ...a]).toString();
    return {
      ini: { saveHandler: 'redis', savePath: redis.url },
      flags: ['--save-handler', 'redis', '--save-path', redis.url],
      raw: (id) => JSON.parse(cmd('GET', key(id))),
      // The TTL is whole seconds and counts down; sessctl keeps the remaining TTL (PTTL never grows).
      stamp: (id) => Number(JSON.parse(cmd('TTL', key(id)))) > 1000,
      stop: () => redis.stop(),
    };
  },
});

test('a session not in PHP\'s canonical form is refused, left as it is', needPhp(), () => {
  const dir = tempDir('set-canon');
  try {
    const id = 'setcanon0000000000000000000';
    writeFileSync(join(dir, `sess_${id}`), 'a|i:007;b|i:1;');
    const r = sessctl(['set', id, 'b', '2', '--save-path', dir, '--no-php']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not what PHP's php handler would write for the same data/);
    assert.equal(readFileSync(join(dir, `sess_${id}`), 'latin1'), 'a|i:007;b|i:1;');
  } finally {
    removeDir(dir);
  }
});
