// list/destroy --where over sessions real PHP wrote, on files (depth 0 and 1) and Redis:
// "log user 42 out everywhere", with a session PHP holds open left alone.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { needPhp, needRedis, hasRedisServer, hasPhpRedis } from '../helpers/env.js';
import { startRedis } from '../helpers/redis-server.js';
import { sessctl, tempDir, removeDir, makeDirsFor } from '../helpers/cli.js';
import { phpWriteSessions, phpReadSession, phpHold } from '../helpers/php-sessions.js';

const id = (n) => `wh${String(n).padStart(4, '0')}abcdefghijklmnopqrstuv`;
// user 42 logged in three times (one with the id as a string, one on the php_serialize handler below),
// user 7 with a big cart, an anonymous visitor.
const SESSIONS = {
  [id(1)]: "['user' => ['id' => 42, 'email' => 'ann@example.com'], 'login_web_59ba36addc2b2f9401580f014c7f58ea4e30989d' => 42]",
  [id(2)]: "['user' => ['id' => '42', 'email' => 'ann@example.com']]",
  [id(3)]: "['user' => ['id' => 42, 'email' => 'ann@example.com'], 'note' => 'held']",
  [id(4)]: "['user' => ['id' => 7, 'email' => 'bob@other.org'], 'cart' => ['items' => range(1, 12)]]",
  [id(5)]: "['visits' => 3]",
};

function suite(name, setup) {
  describe(`--where on ${name}`, setup.need, () => {
    let target;
    before(async () => {
      target = await setup.make();
      phpWriteSessions(target.ini, SESSIONS);
    });
    after(async () => target && (await target.stop()));
    const cli = (...args) => sessctl([...args, ...target.flags, '--no-php']);

    test('list --where selects by content (--ndjson, --json, table)', () => {
      const ids = (expr) => cli('list', '--where', expr, '--ndjson').stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l).id).sort();
      assert.deepEqual(ids('user.id == 42'), [id(1), id(2), id(3)]);
      assert.deepEqual(ids('login_web_* exists'), [id(1)]);
      assert.deepEqual(ids('cart.items.length > 10'), [id(4)]);
      assert.deepEqual(ids('user.email ~ /@example\\.com$/ and not note exists'), [id(1), id(2)]);
      assert.deepEqual(ids('user exists or visits > 2').length, 5);
      const json = JSON.parse(cli('list', '--where', 'user.id == 7', '--json').stdout);
      assert.deepEqual(json.map((r) => r.id), [id(4)]);
      const table = cli('list', '--where', 'visits == 3');
      assert.equal(table.code, 0, table.stderr);
      assert.match(table.stdout, new RegExp(id(5)));
    });

    test('a bad expression: exit 2, the column and a caret, nothing listed', () => {
      const r = cli('list', '--where', 'user.id = 42');
      assert.equal(r.code, 2);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /^sessctl: --where: expected an operator .* at column 9\n {2}user\.id = 42\n {10}\^\n$/);
    });

    test('destroy --where: needs --all-matching; --dry-run; a session PHP holds is left, the rest destroyed', async () => {
      const refused = cli('destroy', '--where', 'user.id == 42');
      assert.equal(refused.code, 2);
      assert.match(refused.stderr, /--all-matching/);
      const dry = cli('destroy', '--where', 'user.id == 42', '--all-matching', '--dry-run', '--json');
      assert.equal(dry.code, 0, dry.stderr);
      assert.equal(JSON.parse(dry.stdout).destroyed, 3);
      assert.equal(phpReadSession(target.ini, id(1)).user.id, 42, 'a dry run destroys nothing');

      const php = phpHold(target.ini, id(3));
      await php.ready;
      try {
        const r = cli('destroy', '--where', 'user.id == 42', '--all-matching', '--lock-timeout', '1s', '--ndjson');
        assert.equal(r.code, 1, r.stderr);
        const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
        const report = lines.at(-1).report;
        assert.equal(report.destroyed, 2);
        assert.equal(report.failed, 1);
        assert.deepEqual(lines.filter((l) => l.outcome === 'failed').map((l) => l.id), [id(3)]);
      } finally {
        php.release();
        await php.done;
      }
      assert.deepEqual(phpReadSession(target.ini, id(1)), [], 'PHP finds user 42 logged out');
      assert.deepEqual(phpReadSession(target.ini, id(2)), []);
      assert.equal(phpReadSession(target.ini, id(3)).note, 'held', 'the session PHP held is kept');
      assert.equal(phpReadSession(target.ini, id(4)).user.id, 7, 'other users are kept');
    });
  });
}

suite('files (depth 1)', {
  need: needPhp(),
  make: async () => {
    const dir = tempDir('where');
    makeDirsFor(dir, 1, Object.keys(SESSIONS));
    return { ini: { savePath: `1;${dir}` }, flags: ['--save-path', `1;${dir}`], stop: async () => removeDir(dir) };
  },
});

suite('redis', {
  need: needRedis(),
  make: async () => {
    if (!(hasRedisServer && hasPhpRedis)) return null;
    const redis = await startRedis();
    return { ini: { saveHandler: 'redis', savePath: redis.url }, flags: ['--save-handler', 'redis', '--save-path', redis.url], stop: () => redis.stop() };
  },
});

test('sessions that do not decode are never matched, and counted', needPhp(), () => {
  const dir = tempDir('where-undecodable');
  try {
    mkdirSync(join(dir, 'x'), { recursive: true });
    phpWriteSessions({ savePath: dir, serializeHandler: 'php_serialize' }, { [id(9)]: "['user' => ['id' => 42]]" });
    const r = sessctl(['destroy', '--where', 'user.id == 42', '--all-matching', '--save-path', dir, '--no-php', '--json']);
    assert.equal(JSON.parse(r.stdout).destroyed, 0, 'not decodable with the configured php handler: not destroyed');
    const l = sessctl(['list', '--where', 'user.id == 42', '--save-path', dir, '--no-php']);
    assert.match(l.stderr, /1 session did not decode with php; --where could not look inside it/);
    const auto = sessctl(['list', '--where', 'user.id == 42', '--save-path', dir, '--no-php', '--serialize-handler', 'auto', '--ndjson']);
    assert.equal(JSON.parse(auto.stdout).id, id(9));
  } finally {
    removeDir(dir);
  }
});

test('destroy --where on a 64-bit id (a snowflake) destroys that user\'s session only, not the neighbouring id\'s', needPhp(), () => {
  const dir = tempDir('where-bigint');
  try {
    // Real PHP ints beyond 2^53: as doubles both ids would be 1541815603606036480.
    phpWriteSessions({ savePath: dir }, { [id(20)]: "['user' => ['id' => 1541815603606036480]]", [id(21)]: "['user' => ['id' => 1541815603606036481]]" });
    const r = sessctl(['destroy', '--where', 'user.id == 1541815603606036480', '--all-matching', '--save-path', dir, '--no-php', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).destroyed, 1);
    const left = sessctl(['list', '--save-path', dir, '--no-php', '--ndjson']).stdout.trim().split('\n').map((l) => JSON.parse(l).id);
    assert.deepEqual(left, [id(21)], 'user ...481 is still logged in');
  } finally {
    removeDir(dir);
  }
});

test('a bad expression with a tab, a newline or ESC in it: printed escaped on one line, the caret under the column it names', () => {
  const dir = tempDir('where-caret');
  try {
    const r = sessctl(['list', '--where', 'user.id\t=\t42', '--save-path', dir, '--no-php']);
    assert.equal(r.code, 2);
    // Column 9 is the '=': after "user.id\t", printed as the 8 characters `user.id\t`.
    assert.equal(r.stderr.split('\n').slice(1).join('\n'), '  user.id\\t=\\t42\n           ^\n');
    const s = sessctl(['set', 'abcdefabcdefabcdefabcdef02', 'n.\x1b[31mX\nY', '1', '--save-path', dir, '--no-php']);
    assert.equal(s.code, 2);
    assert.equal(s.stderr.split('\n').slice(1).join('\n'), '  n.\\x1b[31mX\\nY\n    ^\n', 'one line for the path, no raw newline or ESC');
  } finally {
    removeDir(dir);
  }
});
