// `sessctl --framework laravel --app DIR` on every Laravel session driver that keeps sessions on
// a server: redis, memcached, database (SQLite by DB_CONNECTION + DB_DATABASE, PostgreSQL by DB_*
// and by DATABASE_URL), and `encrypt => true` (SESSION_ENCRYPT) on every driver. Each app
// directory holds only a `.env`; the servers are started here; the sessions and cookies are
// written by Laravel's own Store / EncryptedStore and EncryptCookies (fixtures/laravel/*.php).
// For each: config (no secrets), list, inspect by id and by cookie, --where auth.user, gc as the
// driver means it, destroy --where --all-matching (and Laravel then finds those sessions empty).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LaravelDatabaseSessionStore } from 'sessctl/laravel-database';
import { hasLaravel, hasMemcachedServer, hasPdoPgsql, hasPhpMemcached, hasPhpRedis, hasRedisServer, needLaravel, needLaravelMemcached, needLaravelRedis, needPdo } from '../helpers/env.js';
import { phpLines } from '../helpers/php-lines.js';
import { startRedis } from '../helpers/redis-server.js';
import { startMemcached } from '../helpers/memcached-server.js';
import { hasPostgres, startPostgres } from '../helpers/postgres.js';
import { sessctl, tempDir, removeDir, ageFile } from '../helpers/cli.js';

const cacheScript = fileURLToPath(new URL('../../fixtures/laravel/session.php', import.meta.url));
const dbScript = fileURLToPath(new URL('../../fixtures/laravel/database.php', import.meta.url));
const rawKey = randomBytes(32);
const KEY = `base64:${rawKey.toString('base64')}`;
const OTHER_KEY = `base64:${randomBytes(32).toString('base64')}`;
const COOKIE = 'acme_shop_session'; // slug("Acme Shop", '_') . '_session'
const PG_PASSWORD = 'pg-Secret-9';
const LOGIN_WEB = /^login_web_[0-9a-f]{40}$/;

/** @type {{ redis?: any, memcached?: any, pg?: any }} */
const servers = {};
/** @type {string[]} */
const dirs = [];
/** @type {Record<string, ReturnType<typeof phpLines>>} */
const phps = {};
const php = (/** @type {string} */ script) => (phps[script] ??= phpLines(script));

before(async () => {
  if (!hasLaravel) return;
  if (hasRedisServer && hasPhpRedis) servers.redis = await startRedis();
  if (hasMemcachedServer && hasPhpMemcached) servers.memcached = await startMemcached();
  if (hasPostgres && hasPdoPgsql) servers.pg = await startPostgres();
});
after(async () => {
  for (const p of Object.values(phps)) await p.close();
  await servers.redis?.stop();
  await servers.memcached?.stop();
  await servers.pg?.stop();
  for (const d of dirs) removeDir(d);
});

const ENV_BASE = ['APP_NAME="Acme Shop"', `APP_KEY=${KEY}`, 'SESSION_LIFETIME=60'];

/**
 * @typedef {{
 *   env: string[],
 *   script: string,
 *   php: Record<string, unknown>,
 *   age?: (id: string, seconds: number) => Promise<void>,
 *   close?: () => Promise<void>,
 * }} Made
 * @typedef {{ need: () => object, encrypt?: boolean, gc: 'lifetime' | 'expiry', saveHandler: string, make: (app: string) => Promise<Made> }} Setup
 */

/** A database app: the sessions table made by Laravel's own migration; `age` moves last_activity back. */
async function databaseApp(/** @type {string} */ url, /** @type {Record<string, unknown>} */ db, /** @type {string[]} */ env) {
  const q = { db, table: 'sessions', lifetime: 60 };
  const made = /** @type {any} */ (await php(dbScript).ask({ op: 'migrate', ...q }));
  assert.equal(made.error, undefined, made.message);
  const store = new LaravelDatabaseSessionStore({ url, table: 'sessions' });
  return {
    env,
    script: dbScript,
    php: q,
    age: async (/** @type {string} */ id, /** @type {number} */ seconds) => {
      await store.sessions.withConn((c) => c.query('UPDATE sessions SET last_activity = ? WHERE id = ?', [Math.floor(Date.now() / 1000) - seconds, id]));
    },
    close: () => store.close(),
  };
}

/** @type {Record<string, Setup>} */
const SETUPS = {
  redis: {
    need: needLaravelRedis,
    gc: 'expiry',
    saveHandler: 'laravel-redis',
    make: async () => ({
      env: ['SESSION_DRIVER=redis', 'REDIS_HOST=127.0.0.1', `REDIS_PORT=${servers.redis.port}`],
      script: cacheScript,
      // The skeleton's prefixes for APP_NAME "Acme Shop": CACHE_PREFIX and REDIS_PREFIX from its slug.
      php: { driver: 'redis', redisPort: servers.redis.port, cachePrefix: 'acme_shop_cache', redisPrefix: 'acme_shop_database_', lifetime: 60 },
    }),
  },
  memcached: {
    need: needLaravelMemcached,
    gc: 'expiry',
    saveHandler: 'laravel-memcached',
    make: async () => ({
      env: ['SESSION_DRIVER=memcached', 'MEMCACHED_HOST=127.0.0.1', `MEMCACHED_PORT=${servers.memcached.port}`],
      script: cacheScript,
      php: { driver: 'memcached', memcachedPort: servers.memcached.port, cachePrefix: 'acme_shop_cache', lifetime: 60 },
    }),
  },
  'database sqlite': {
    need: () => ({ ...needLaravel(), ...needPdo('sqlite') }),
    gc: 'lifetime',
    saveHandler: 'laravel-database',
    make: async (app) => {
      mkdirSync(join(app, 'database'));
      const file = join(app, 'database', 'sessions.sqlite');
      writeFileSync(file, '');
      return databaseApp(`sqlite:${file}`, { driver: 'sqlite', database: file }, ['SESSION_DRIVER=database', 'DB_CONNECTION=sqlite', `DB_DATABASE=${file}`]);
    },
  },
  'database pgsql (DB_*)': {
    need: () => ({ ...needLaravel(), ...needPdo('pgsql', hasPostgres) }),
    gc: 'lifetime',
    saveHandler: 'laravel-database',
    make: async () => {
      const { port } = servers.pg;
      // One database server for two apps: each its own database.
      const db = `app_${randomBytes(4).toString('hex')}`;
      const admin = new LaravelDatabaseSessionStore({ url: servers.pg.url });
      await admin.sessions.withConn((c) => c.query(`CREATE DATABASE ${db}`, []));
      await admin.close();
      // The server trusts loopback: the password is only there to be kept out of the output.
      const env = ['SESSION_DRIVER=database', 'DB_CONNECTION=pgsql', 'DB_HOST=127.0.0.1', `DB_PORT=${port}`, `DB_DATABASE=${db}`, 'DB_USERNAME=postgres', `DB_PASSWORD=${PG_PASSWORD}`];
      return databaseApp(`postgresql://postgres@127.0.0.1:${port}/${db}`, { driver: 'pgsql', host: '127.0.0.1', port, database: db, username: 'postgres' }, env);
    },
  },
  'database pgsql (DATABASE_URL)': {
    need: () => ({ ...needLaravel(), ...needPdo('pgsql', hasPostgres) }),
    gc: 'lifetime',
    saveHandler: 'laravel-database',
    make: async () => {
      const { port } = servers.pg;
      const env = ['SESSION_DRIVER=database', 'DB_CONNECTION=pgsql', `DATABASE_URL=postgres://postgres:${PG_PASSWORD}@127.0.0.1:${port}/postgres`];
      return databaseApp(`postgresql://postgres@127.0.0.1:${port}/postgres`, { driver: 'pgsql', host: '127.0.0.1', port, database: 'postgres', username: 'postgres' }, env);
    },
  },
  'redis, SESSION_ENCRYPT=true': {
    need: needLaravelRedis,
    encrypt: true,
    gc: 'expiry',
    saveHandler: 'laravel-redis',
    make: async () => ({
      env: ['SESSION_DRIVER=redis', 'SESSION_ENCRYPT=true', 'CACHE_PREFIX=sealed', `REDIS_URL=redis://127.0.0.1:${servers.redis.port}`],
      script: cacheScript,
      php: { driver: 'redis', redisPort: servers.redis.port, cachePrefix: 'sealed', redisPrefix: 'acme_shop_database_', lifetime: 60 },
    }),
  },
  'memcached, SESSION_ENCRYPT=true': {
    need: needLaravelMemcached,
    encrypt: true,
    gc: 'expiry',
    saveHandler: 'laravel-memcached',
    make: async () => ({
      env: ['SESSION_DRIVER=memcached', 'SESSION_ENCRYPT=true', 'CACHE_PREFIX=sealed', `MEMCACHED_PORT=${servers.memcached.port}`],
      script: cacheScript,
      php: { driver: 'memcached', memcachedPort: servers.memcached.port, cachePrefix: 'sealed', lifetime: 60 },
    }),
  },
  'file, SESSION_ENCRYPT=true': {
    need: needLaravel,
    encrypt: true,
    gc: 'lifetime',
    saveHandler: 'laravel-files',
    make: async (app) => {
      const dir = join(app, 'storage', 'framework', 'sessions');
      mkdirSync(dir, { recursive: true });
      return {
        env: ['SESSION_DRIVER=file', 'SESSION_ENCRYPT=true'],
        script: cacheScript,
        php: { driver: 'file', path: dir, lifetime: 60 },
        age: async (id, seconds) => ageFile(join(dir, id), seconds),
      };
    },
  },
  'database sqlite, SESSION_ENCRYPT=true': {
    need: () => ({ ...needLaravel(), ...needPdo('sqlite') }),
    encrypt: true,
    gc: 'lifetime',
    saveHandler: 'laravel-database',
    make: async (app) => {
      // A relative DB_DATABASE is the app directory's (Laravel runs from it).
      mkdirSync(join(app, 'database'));
      const file = join(app, 'database', 'database.sqlite');
      writeFileSync(file, '');
      return databaseApp(`sqlite:${file}`, { driver: 'sqlite', database: file }, ['SESSION_DRIVER=database', 'SESSION_ENCRYPT=true', 'DB_CONNECTION=sqlite', 'DB_DATABASE=database/database.sqlite']);
    },
  },
};

for (const [name, setup] of Object.entries(SETUPS)) {
  describe(`Laravel app, ${name}`, setup.need(), () => {
    const app = tempDir('laravel-drivers');
    dirs.push(app);
    /** @type {Made} */
    let made;
    /** @type {Record<string, { id: string, setCookie: string, all: Record<string, unknown> }>} */
    const s = {};
    const cli = (/** @type {string[]} */ ...args) => sessctl(['--framework', 'laravel', '--app', app, ...args, '--no-php']);
    const ids = (/** @type {{ stdout: string, stderr: string, code: number | null }} */ r) => {
      assert.equal(r.code, 0, r.stderr);
      return r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l).id).sort();
    };
    const cookieOf = (/** @type {string} */ setCookie) => setCookie.slice(setCookie.indexOf('=') + 1, setCookie.indexOf(';'));
    /** One Laravel request: the session cookie as PHP's $_COOKIE holds it (or none), then ops. */
    const laravel = async (/** @type {string | null} */ cookie, /** @type {unknown[][]} */ ops) => {
      const r = /** @type {any} */ (await php(made.script).ask({ op: 'request', key: rawKey.toString('base64'), name: COOKIE, cookie: cookie === null ? null : decodeURIComponent(cookie), encrypt: setup.encrypt ?? false, ...made.php, ops }));
      assert.equal(r.error, undefined, r.message);
      return r;
    };
    const loggedIn = (/** @type {{ all: Record<string, unknown> }} */ r) => Object.keys(r.all).find((k) => LOGIN_WEB.test(k));

    before(async () => {
      if (!hasLaravel) return;
      made = await setup.make(app);
      writeFileSync(join(app, '.env'), [...ENV_BASE, ...made.env, ''].join('\n'));
      s.ann = await laravel(null, [['login', 'web', 42], ['put', 'cart', ['book']]]);
      s.annPhone = await laravel(null, [['login', 'web', '42']]);
      s.bob = await laravel(null, [['login', 'web', 7]]);
      s.guest = await laravel(null, [['put', 'visits', 3]]);
    });
    after(async () => made?.close?.());

    test('config: the driver mapped from .env; APP_KEY and passwords never printed', () => {
      for (const extra of [[], ['--json']]) {
        const r = cli('config', ...extra);
        assert.equal(r.code, 0, r.stderr);
        for (const secret of [rawKey.toString('base64'), PG_PASSWORD]) assert.ok(!r.stdout.includes(secret), r.stdout);
      }
      const { values, app: summary } = JSON.parse(cli('config', '--json').stdout);
      assert.equal(values.saveHandler, setup.saveHandler);
      assert.equal(values.maxlifetime, 3600);
      assert.equal(values.payloadCipher, undefined);
      assert.match(summary.encrypt, setup.encrypt ? /^on \(\.env SESSION_ENCRYPT\)/ : /^off/);
    });

    test('list, inspect by id and by the encrypted cookie', () => {
      assert.deepEqual(ids(cli('list', '--ndjson')), Object.values(s).map((x) => x.id).sort());
      const byId = cli('inspect', s.ann.id, '--json');
      assert.equal(byId.code, 0, byId.stderr);
      const plain = JSON.parse(byId.stdout);
      assert.deepEqual(plain.cart, ['book']);
      assert.deepEqual(plain.auth, { web: 42, user: 42 });
      const byCookie = cli('inspect', '--cookie', cookieOf(s.bob.setCookie), '--json');
      assert.equal(byCookie.code, 0, byCookie.stderr);
      assert.equal(JSON.parse(byCookie.stdout).auth.user, 7);
      const raw = cli('inspect', s.guest.id, '--raw');
      assert.equal(raw.code, 0, raw.stderr);
      assert.match(raw.stdout, /^a:\d+:\{/); // serialize($attributes), whatever the driver wraps it in
    });

    test("list --where 'auth.user == 42': the web guard's user, number or string", () => {
      assert.deepEqual(ids(cli('list', '--where', 'auth.user == 42', '--ndjson')), [s.ann.id, s.annPhone.id].sort());
    });

    test(setup.gc === 'lifetime' ? 'gc: sessions idle longer than SESSION_LIFETIME go, the rest stay' : 'gc: nothing to delete, the store expires sessions itself', async () => {
      if (setup.gc === 'lifetime') {
        await made.age?.(s.guest.id, 61 * 60);
        await made.age?.(s.bob.id, 59 * 60);
      }
      const r = cli('gc', '--json');
      assert.equal(r.code, 0, r.stderr);
      const report = JSON.parse(r.stdout);
      assert.equal(report.deleted, setup.gc === 'lifetime' ? 1 : 0);
      if (setup.gc === 'expiry') {
        assert.match(report.notes.join('\n'), /(Redis|memcached) expires it/);
        const text = cli('gc');
        assert.match(text.stdout + text.stderr, /nothing to delete/);
      }
      const left = ids(cli('list', '--ndjson'));
      assert.equal(left.includes(s.guest.id), setup.gc === 'expiry');
      assert.ok(left.includes(s.bob.id));
      if (setup.gc === 'lifetime') delete s.guest;
    });

    test('destroy --where auth.user == 42 --all-matching: only that user is logged out, and Laravel finds nothing of those sessions', async () => {
      const r = cli('destroy', '--where', 'auth.user == 42', '--all-matching', '--json');
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).destroyed, 2);
      assert.deepEqual(ids(cli('list', '--ndjson')), Object.values(s).filter((x) => x !== s.ann && x !== s.annPhone).map((x) => x.id).sort());
      const again = await laravel(cookieOf(s.ann.setCookie), []);
      assert.equal(again.all.cart, undefined);
      assert.equal(loggedIn(again), undefined);
      const bob = await laravel(cookieOf(s.bob.setCookie), []);
      assert.equal(bob.all[/** @type {string} */ (loggedIn(bob))], 7);
    });

    if (setup.encrypt) {
      test('encrypt => true: set writes encrypted again, and Laravel reads the change', async () => {
        const r = cli('set', s.bob.id, 'from_cli', '"hello"');
        assert.equal(r.code, 0, r.stderr);
        const seen = await laravel(cookieOf(s.bob.setCookie), []);
        assert.equal(seen.all.from_cli, 'hello');
        assert.equal(seen.all[/** @type {string} */ (loggedIn(seen))], 7);
      });

      test('encrypt => true with another APP_KEY: a clear error per session, no crash, no key', () => {
        const other = (/** @type {string[]} */ ...args) => sessctl(['--framework', 'laravel', '--app', app, ...args, '--no-php'], { env: { APP_KEY: OTHER_KEY } });
        for (const r of [other('inspect', s.bob.id), other('list', '--where', 'auth.user == 7'), other('inspect', s.bob.id, '--json')]) {
          assert.notEqual(r.code, 0);
          assert.match(r.stderr, /not a payload this APP_KEY encrypted/);
          assert.doesNotMatch(r.stderr, /\n\s+at /); // no stack trace
          for (const k of [KEY, OTHER_KEY]) assert.ok(!(r.stdout + r.stderr).includes(k.slice(7)), r.stderr);
        }
        // What needs no decryption works with any key: listing ids, and gc (it judges ages only).
        const listed = other('list', '--no-decode', '--ndjson');
        assert.equal(listed.code, 0, listed.stderr);
        assert.ok(ids(listed).includes(s.bob.id));
        const gc = other('gc', '--dry-run', '--json');
        assert.equal(gc.code, 0, gc.stderr);
        assert.equal(JSON.parse(gc.stdout).errors, 0);
      });

      if (setup.saveHandler === 'laravel-files') {
        test('encrypt => true: migrate into the database driver keeps the sessions encrypted, and Laravel reads them there', needPdo('sqlite'), async () => {
          const file = join(app, 'moved.sqlite');
          writeFileSync(file, '');
          const db = { db: { driver: 'sqlite', database: file }, table: 'sessions', lifetime: 60 };
          const made = /** @type {any} */ (await php(dbScript).ask({ op: 'migrate', ...db }));
          assert.equal(made.error, undefined, made.message);
          const live = ids(cli('list', '--ndjson'));
          const r = cli('migrate', '--to-save-handler', 'laravel-database', '--to-save-path', `sqlite:${file}`, '--to-ini', 'laravel.table=sessions', '--json');
          assert.equal(r.code, 0, r.stderr);
          assert.equal(JSON.parse(r.stdout).moved, live.length);
          assert.ok(live.includes(s.bob.id));
          const store = new LaravelDatabaseSessionStore({ url: `sqlite:${file}`, table: 'sessions' });
          try {
            const rows = /** @type {any} */ (await store.sessions.withConn((c) => c.query('SELECT payload FROM sessions WHERE id = ?', [s.bob.id])));
            assert.doesNotMatch(JSON.stringify(rows), /login_web_/); // stored encrypted
          } finally {
            await store.close();
          }
          const seen = /** @type {any} */ (await php(dbScript).ask({ op: 'request', key: rawKey.toString('base64'), name: COOKIE, cookie: decodeURIComponent(cookieOf(s.bob.setCookie)), encrypt: true, ...db, ops: [] }));
          assert.equal(seen.error, undefined, seen.message);
          assert.equal(seen.id, s.bob.id);
          assert.equal(seen.all[/** @type {string} */ (loggedIn(seen))], 7);
        });
      }

      test('--no-session-encrypt: the stored payloads are shown as what they are (undecodable), not guessed at', () => {
        const r = sessctl(['--framework', 'laravel', '--app', app, '--no-session-encrypt', 'inspect', s.bob.id, '--json', '--no-php']);
        assert.notEqual(r.code, 0);
        assert.doesNotMatch(r.stderr, /\n\s+at /);
        const on = sessctl(['--framework', 'laravel', '--app', app, 'config', '--json', '--no-php'], { env: { SESSION_ENCRYPT: 'false' } });
        assert.match(JSON.parse(on.stdout).app.encrypt, /^off/);
      });
    }
  });
}

test('--session-encrypt is for Laravel apps only, and needs --framework', () => {
  const app = tempDir('laravel-encrypt-flag');
  dirs.push(app);
  const sf = sessctl(['--framework', 'symfony', '--app', app, '--session-encrypt', 'config', '--no-php']);
  assert.equal(sf.code, 2);
  assert.match(sf.stderr, /--session-encrypt is for Laravel/);
  const lone = sessctl(['--session-encrypt', 'config', '--no-php']);
  assert.equal(lone.code, 2);
  assert.match(lone.stderr, /--session-encrypt needs --framework/);
  writeFileSync(join(app, '.env'), 'SESSION_DRIVER=file\n');
  const nokey = sessctl(['--framework', 'laravel', '--app', app, '--session-encrypt', 'list', '--no-php']);
  assert.equal(nokey.code, 2);
  assert.match(nokey.stderr, /APP_KEY is not set/);
  const shown = sessctl(['--framework', 'laravel', '--app', app, '--session-encrypt', 'config', '--json', '--no-php']);
  assert.equal(shown.code, 0, shown.stderr);
  assert.equal(JSON.parse(shown.stdout).app.encrypt, 'on (--session-encrypt): APP_KEY is not set, the sessions cannot be read');
  const flag = sessctl(['--framework', 'laravel', '--app', app, '--session-encrypt', 'config', '--json', '--no-php'], { env: { APP_KEY: KEY } });
  assert.equal(flag.code, 0, flag.stderr);
  assert.equal(JSON.parse(flag.stdout).app.encrypt, 'on (--session-encrypt)');
});

test('--cipher: an app whose config/app.php says AES-128-CBC (a 16-byte APP_KEY) is read with it, sessions and cookie; a bad name is a usage error', async () => {
  const { LaravelEncrypter, laravelPayloadCipher, encryptLaravelCookie } = await import('sessctl/laravel');
  const app = tempDir('laravel-cipher');
  dirs.push(app);
  const key128 = `base64:${randomBytes(16).toString('base64')}`;
  writeFileSync(join(app, '.env'), `APP_NAME="Acme Shop"\nAPP_KEY=${key128}\nSESSION_DRIVER=file\nSESSION_ENCRYPT=true\n`);
  const store = join(app, 'storage', 'framework', 'sessions');
  mkdirSync(store, { recursive: true });
  const id = 'C'.repeat(20) + 'abcdefghij0123456789';
  const encrypter = new LaravelEncrypter({ key: key128, cipher: 'AES-128-CBC' });
  writeFileSync(join(store, id), laravelPayloadCipher(encrypter).seal(Buffer.from('a:1:{s:4:"cart";i:3;}')));
  const cookie = encryptLaravelCookie(id, { name: COOKIE, encrypter }); // URL-encoded, as Set-Cookie carries it
  const run = (/** @type {string[]} */ ...args) => sessctl(['--framework', 'laravel', '--app', app, ...args, '--no-php']);

  const shown = run('--cipher', 'AES-128-CBC', 'inspect', id, '--json');
  assert.equal(shown.code, 0, shown.stderr);
  assert.equal(JSON.parse(shown.stdout).cart, 3);
  const byCookie = run('--cipher', 'aes-128-cbc', 'inspect', '--cookie', cookie, '--json');
  assert.equal(byCookie.code, 0, byCookie.stderr);
  assert.equal(JSON.parse(byCookie.stdout).cart, 3);
  assert.match(JSON.parse(run('--cipher', 'AES-128-CBC', 'config', '--json').stdout).app.cipher, /^AES-128-CBC \(--cipher\)/);

  // Without it, Laravel's default AES-256-CBC: the 16-byte key is refused as Laravel refuses it.
  const without = run('inspect', id);
  assert.equal(without.code, 2);
  assert.match(without.stderr, /APP_KEY is 16 bytes; AES-256-CBC needs 32/);
  for (const [args, message] of /** @type {[string[], RegExp][]} */ ([
    [['--cipher', 'AES-512-XYZ', 'inspect', id], /cipher "AES-512-XYZ" is not one Laravel supports/],
  ])) {
    const r = run(...args);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, message);
    assert.ok(!(r.stdout + r.stderr).includes(key128.slice(7)), 'the key is never printed');
  }
  const sf = sessctl(['--framework', 'symfony', '--app', app, '--cipher', 'AES-128-CBC', 'config', '--no-php']);
  assert.equal(sf.code, 2);
  assert.match(sf.stderr, /--cipher is for Laravel/);
  const lone = sessctl(['--cipher', 'AES-128-CBC', 'config', '--no-php']);
  assert.equal(lone.code, 2);
  assert.match(lone.stderr, /--cipher needs --framework/);
});
