// `sessctl --framework symfony --app DIR` on Symfony app directories written here: native files
// (var/sessions/<APP_ENV>) and PdoSessionHandler through DATABASE_URL (SQLite under
// %kernel.project_dir%, and a PostgreSQL server started here), with sessions written by Symfony's
// own Session (fixtures/symfony/session.php) holding real security tokens (Security Core 5.4).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SymfonyPdoSessionStore } from 'sessctl/symfony-pdo';
import { hasPdoPgsql, hasPhpRedis, hasRedisServer, hasSymfony, hasSymfonySecurity, needPdo, needRedis, needSymfonySecurity, runPhp } from '../helpers/env.js';
import { startRedis } from '../helpers/redis-server.js';
import { phpLines } from '../helpers/php-lines.js';
import { hasPostgres, startPostgres } from '../helpers/postgres.js';
import { sessctl, tempDir, removeDir } from '../helpers/cli.js';

const script = fileURLToPath(new URL('../../fixtures/symfony/session.php', import.meta.url));
/** @type {{ url?: string, dsn?: string, stop?: () => Promise<void> }} */
const pg = {};
/** @type {{ port?: number, stop?: () => Promise<void> }} */
const redis = {};
/** @type {Record<string, ReturnType<typeof phpLines>>} */
const phps = {};
const dirs = /** @type {string[]} */ ([]);

/** serialize() of the token a `main` firewall keeps for `user` (UsernamePasswordToken over an InMemoryUser). */
function token(/** @type {string} */ user) {
  const code = `require "Symfony/Component/Security/Core/autoload.php";
    use Symfony\\Component\\Security\\Core\\Authentication\\Token\\UsernamePasswordToken;
    use Symfony\\Component\\Security\\Core\\User\\InMemoryUser;
    echo json_encode(serialize(new UsernamePasswordToken(new InMemoryUser($argv[1], null, ["ROLE_USER"]), "main", ["ROLE_USER"])));`;
  return JSON.parse(runPhp(['-r', code, '--', user]).toString());
}

before(async () => {
  if (hasPostgres && hasPdoPgsql) Object.assign(pg, await startPostgres());
  if (hasRedisServer && hasPhpRedis && hasSymfonySecurity) Object.assign(redis, await startRedis());
});
after(async () => {
  for (const p of Object.values(phps)) await p.close();
  await pg.stop?.();
  await redis.stop?.();
  for (const d of dirs) removeDir(d);
});

const SETUPS = {
  'native files': {
    need: () => needSymfonySecurity(),
    make: async (/** @type {string} */ app) => {
      const dir = path.join(app, 'var', 'sessions', 'prod');
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(app, '.env'), 'APP_ENV=dev\n');
      fs.writeFileSync(path.join(app, '.env.local'), 'APP_ENV=prod # the deployed environment\n');
      return { php: { handler: 'files', savePath: dir }, where: (/** @type {string} */ id) => fs.existsSync(path.join(dir, `sess_${id}`)) };
    },
  },
  'pdo sqlite': {
    need: () => ({ ...needSymfonySecurity(), ...needPdo('sqlite') }),
    make: async (/** @type {string} */ app) => {
      const file = path.join(app, 'var', 'data.db');
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, '');
      fs.writeFileSync(path.join(app, '.env'), 'DATABASE_URL="sqlite:///%kernel.project_dir%/var/data.db"\n');
      const store = new SymfonyPdoSessionStore({ url: `sqlite:${file}` });
      await store.createTable();
      return { php: { handler: 'pdo', dsn: `sqlite:${file}`, table: 'sessions' }, where: async (/** @type {string} */ id) => (await store.read(id)) !== null, store };
    },
  },
  'pdo postgresql': {
    need: () => ({ ...needSymfonySecurity(), ...needPdo('pgsql', hasPostgres) }),
    make: async (/** @type {string} */ app) => {
      fs.writeFileSync(path.join(app, '.env'), 'DATABASE_URL=postgresql://app:app@db.invalid:5432/app\n');
      // The deployment overrides the committed .env, as Symfony's .env.local is meant to.
      fs.writeFileSync(path.join(app, '.env.local'), `DATABASE_URL=${pg.url}\n`);
      const store = new SymfonyPdoSessionStore({ url: /** @type {string} */ (pg.url) });
      await store.createTable();
      return { php: { handler: 'pdo', dsn: pg.dsn, user: 'postgres', table: 'sessions' }, where: async (/** @type {string} */ id) => (await store.read(id)) !== null, store };
    },
  },
  redis: {
    need: () => ({ ...needSymfonySecurity(), ...needRedis() }),
    make: async (/** @type {string} */ app) => {
      // RedisSessionHandler with its default prefix (sf_s) on the connection REDIS_URL names.
      fs.writeFileSync(path.join(app, '.env'), `REDIS_URL=redis://127.0.0.1:${redis.port}\n`);
      const php = { handler: 'redis', port: redis.port, gcMaxlifetime: 1440 };
      const sf = (phps.redis ??= phpLines(script));
      // What Symfony finds under an id: a session it does not know starts empty.
      const where = async (/** @type {string} */ id) => {
        const r = /** @type {any} */ (await sf.ask({ op: 'request', ...php, id, ops: [] }));
        return Object.keys(r.attributes).length > 0;
      };
      return { php, where, expiresItself: true };
    },
  },
};

for (const [name, setup] of Object.entries(SETUPS)) {
  describe(`Symfony app on ${name}`, setup.need(), () => {
    /** @type {any} */
    let ctx;
    const cli = (/** @type {string[]} */ ...args) => sessctl(['--framework', 'symfony', '--app', ctx.app, ...args, '--no-php']);
    const ids = (/** @type {{ stdout: string, stderr: string, code: number | null }} */ r) => {
      assert.equal(r.code, 0, r.stderr);
      return r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l).id).sort();
    };
    before(async () => {
      if (!hasSymfony || !hasSymfonySecurity) return;
      const app = tempDir('symfony-app');
      dirs.push(app);
      const made = await setup.make(app);
      const php = (phps[name] ??= phpLines(script));
      const ask = async (/** @type {unknown[][]} */ ops) => {
        const r = /** @type {any} */ (await php.ask({ op: 'request', ...made.php, id: null, ops }));
        assert.equal(r.error, undefined, r.message);
        return r.id;
      };
      ctx = { app, ...made, ask };
      ctx.ann = await ask([['set', '_security_main', token('ann')], ['set', 'cart', ['book']]]);
      ctx.bob = await ask([['set', '_security_main', token('bob')]]);
      ctx.guest = await ask([['set', 'visits', 3]]);
    });
    after(async () => ctx?.store?.close());

    test('list, and inspect --cookie (the id, URL-encoded or not) with the security token user as auth.user', () => {
      assert.deepEqual(ids(cli('list', '--ndjson')), [ctx.ann, ctx.bob, ctx.guest].sort());
      for (const cookie of [ctx.ann, encodeURIComponent(ctx.ann).replace(/[a-z]/g, (c) => `%${c.charCodeAt(0).toString(16)}`)]) {
        const r = cli('inspect', '--cookie', cookie, '--json');
        assert.equal(r.code, 0, r.stderr);
        const plain = JSON.parse(r.stdout);
        assert.deepEqual(plain.auth, { main: 'ann', user: 'ann' });
        assert.deepEqual(plain._sf2_attributes.cart, ['book']);
      }
      const bad = cli('inspect', '--cookie', '../../etc/passwd');
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /invalid session id/);
    });

    test("destroy --where 'auth.user == \"ann\"' --all-matching: ann is logged out everywhere, nobody else", async () => {
      assert.deepEqual(ids(cli('list', '--where', 'auth.user == "ann"', '--ndjson')), [ctx.ann]);
      const r = cli('destroy', '--where', 'auth.user == "ann"', '--all-matching', '--json');
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).destroyed, 1);
      assert.equal(await ctx.where(ctx.ann), false);
      assert.equal(await ctx.where(ctx.bob), true);
      assert.equal(await ctx.where(ctx.guest), true);
    });

    test('gc: files and PDO by age; Redis expires the keys itself, so there is nothing to delete', () => {
      const r = cli('gc', '--json');
      assert.equal(r.code, 0, r.stderr);
      const report = JSON.parse(r.stdout);
      assert.equal(report.deleted, 0); // nothing here is older than gc_maxlifetime
      if (ctx.expiresItself) assert.match(report.notes.join('\n'), /nothing to delete .*Redis expires the keys/);
      assert.deepEqual(ids(cli('list', '--ndjson')), [ctx.bob, ctx.guest].sort());
    });

    test('config names where each setting came from', () => {
      const r = cli('config', '--json');
      assert.equal(r.code, 0, r.stderr);
      const { values, sources, app } = JSON.parse(r.stdout);
      assert.equal(values.saveHandler, { 'native files': 'files', redis: 'symfony-redis' }[name] ?? 'symfony-pdo');
      assert.equal(sources.saveHandler.kind, 'app');
      assert.equal(app.framework, 'symfony');
    });
  });
}
