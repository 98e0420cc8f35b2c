// --framework apps: the .env reader (checked against vlucas/phpdotenv itself, which Laravel
// uses), and each app's .env → the AdminSourceSettings the agreed interface names, for every
// driver (those whose backends live on other branches are checked here by their settings).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { needLaravel, runPhp } from '../helpers/env.js';
import { readApp, parseDotenv, laravelSlug, resolveSettings } from 'sessctl/admin';

const DOTENV_SAMPLE = [
  '# a comment',
  'PLAIN=value',
  'export EXPORTED=yes',
  '  SPACED  =  trimmed  ',
  "SINGLE='lit ${PLAIN} \\n'",
  'DOUBLE="a \\"quoted\\" ${PLAIN} \\$PLAIN \\\\ tab\\tend"',
  'INTERP=${PLAIN}-x',
  'UNKNOWN=${NOPE_NOT_SET}',
  'HASH=abc#not a value',
  'AFTER="x" # comment',
  'EMPTY=',
  'MULTI="line one',
  'line two"',
  'DOTTED.NAME=1',
  'PLAIN=redefined',
  'LATER=${PLAIN}',
  '',
].join('\n');

test('the Laravel flavour parses as phpdotenv (Dotenv::parse) does', needLaravel(), () => {
  const php = runPhp(['-r', 'require "Dotenv/autoload.php"; echo json_encode(Dotenv\\Dotenv::parse(stream_get_contents(STDIN)));'], { input: DOTENV_SAMPLE });
  const expected = JSON.parse(php.toString());
  const ours = Object.fromEntries(parseDotenv(DOTENV_SAMPLE, { flavour: 'laravel', file: '.env', env: {} }));
  assert.deepEqual(ours, expected);
});

test('dotenv: the process environment wins, also inside ${}; errors name the file and line; no command is run', () => {
  const m = parseDotenv('A=file\nB=${A}\n', { flavour: 'laravel', file: '.env', env: { A: 'process' } });
  assert.equal(m.get('B'), 'process');
  assert.throws(() => parseDotenv('OK=1\nBAD=two words\n', { flavour: 'laravel', file: '/x/.env', env: {} }), /\/x\/\.env:2: .*space/);
  assert.throws(() => parseDotenv('Q="open\n', { flavour: 'laravel', file: '.env', env: {} }), /\.env:1: .*never closed/);
  assert.throws(() => parseDotenv('X="\\q"\n', { flavour: 'laravel', file: '.env', env: {} }), /escape/);
  assert.throws(() => parseDotenv('X=$(id)\n', { flavour: 'symfony', file: '.env', env: {} }), /command substitution/);
  const sf = parseDotenv('A=1\nB=$A-${A}-${NONE:-dflt}-${NONE}\nC=x#y\nD=x #y\n', { flavour: 'symfony', file: '.env', env: {} });
  assert.deepEqual(Object.fromEntries(sf), { A: '1', B: '1-1-dflt-', C: 'x#y', D: 'x' });
});

test("laravelSlug is Str::slug(…, '_')", () => {
  assert.equal(laravelSlug('Laravel'), 'laravel');
  assert.equal(laravelSlug('Acme Shop'), 'acme_shop');
  assert.equal(laravelSlug('  Café-Déjà  vu! '), 'cafe_deja_vu');
  assert.equal(laravelSlug('me@home'), 'me_at_home');
});

/** Writes an app directory with these files; returns its path. */
function appWith(/** @type {Record<string, string>} */ files) {
  const dir = mkdtempSync(join(tmpdir(), 'sessctl-app-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

/** The settings an admin source gets for the app (no php asked, no SESSCTL_* from the test's environment). */
async function settingsFor(/** @type {string} */ framework, /** @type {string} */ dir, /** @type {Record<string, string>} */ env = {}, /** @type {string | undefined} */ sessionHandler = undefined) {
  const app = readApp({ framework, app: dir, env, sessionHandler });
  const { values } = await resolveSettings({ app, env, php: false });
  return { saveHandler: values.saveHandler, savePath: values.savePath, serializeHandler: values.serializeHandler, maxlifetime: values.maxlifetime, ini: values.ini };
}

/** @type {[string, Record<string, string>, Record<string, string>, object][]} */
const LARAVEL = [
  ['file (defaults)', { '.env': 'APP_NAME=Laravel\n' }, {}, { saveHandler: 'laravel-files', savePath: '<app>/storage/framework/sessions', serializeHandler: 'php_serialize', maxlifetime: 7200, ini: undefined }],
  [
    'redis, default connection, prefixes from APP_NAME',
    { '.env': 'APP_NAME="Acme Shop"\nSESSION_DRIVER=redis\nSESSION_LIFETIME=30\nREDIS_HOST=10.0.0.5\nREDIS_PASSWORD=p@ss\nREDIS_DB=3\n' },
    {},
    { saveHandler: 'laravel-redis', savePath: 'redis://:p%40ss@10.0.0.5:6379/3', serializeHandler: 'php_serialize', maxlifetime: 1800, ini: { 'laravel.prefix': 'acme_shop_database_acme_shop_cache:' } },
  ],
  [
    'redis, SESSION_CONNECTION=cache, REDIS_PREFIX and CACHE_PREFIX set, password null',
    { '.env': 'SESSION_DRIVER=redis\nSESSION_CONNECTION=cache\nREDIS_PREFIX=\nCACHE_PREFIX=app\nREDIS_PASSWORD=null\n' },
    {},
    { saveHandler: 'laravel-redis', savePath: 'redis://127.0.0.1:6379/1', serializeHandler: 'php_serialize', maxlifetime: 7200, ini: { 'laravel.prefix': 'app:' } },
  ],
  ['redis from REDIS_URL', { '.env': 'SESSION_DRIVER=redis\nREDIS_URL=rediss://u:pw@cache.internal:6380\n' }, {}, { saveHandler: 'laravel-redis', savePath: 'rediss://u:pw@cache.internal:6380/0', serializeHandler: 'php_serialize', maxlifetime: 7200, ini: { 'laravel.prefix': 'laravel_database_laravel_cache:' } }],
  ['redis, prefixes "0" are none (PHP empty())', { '.env': 'SESSION_DRIVER=redis\nREDIS_PREFIX=0\nCACHE_PREFIX=0\n' }, {}, { saveHandler: 'laravel-redis', savePath: 'redis://127.0.0.1:6379/0', serializeHandler: 'php_serialize', maxlifetime: 7200, ini: { 'laravel.prefix': '' } }],
  ['memcached', { '.env': 'SESSION_DRIVER=memcached\nMEMCACHED_HOST=10.0.0.7\nCACHE_PREFIX=\n' }, {}, { saveHandler: 'laravel-memcached', savePath: '10.0.0.7:11211', serializeHandler: 'php_serialize', maxlifetime: 7200, ini: { 'laravel.prefix': '' } }],
  ['database, sqlite default file', { '.env': 'SESSION_DRIVER=database\nDB_CONNECTION=sqlite\n' }, {}, { saveHandler: 'laravel-database', savePath: 'sqlite:<app>/database/database.sqlite', serializeHandler: 'php_serialize', maxlifetime: 7200, ini: { 'laravel.table': 'sessions' } }],
  ['database, sqlite relative DB_DATABASE', { '.env': 'SESSION_DRIVER=database\nDB_CONNECTION=sqlite\nDB_DATABASE=var/app.db\n' }, {}, { saveHandler: 'laravel-database', savePath: 'sqlite:<app>/var/app.db', serializeHandler: 'php_serialize', maxlifetime: 7200, ini: { 'laravel.table': 'sessions' } }],
  [
    'database, pgsql from DB_*',
    { '.env': 'SESSION_DRIVER=database\nDB_CONNECTION=pgsql\nDB_HOST=db\nDB_DATABASE=shop\nDB_USERNAME=shop\nDB_PASSWORD="s3cr3t#x"\n' },
    {},
    { saveHandler: 'laravel-database', savePath: 'postgresql://shop:s3cr3t%23x@db:5432/shop', serializeHandler: 'php_serialize', maxlifetime: 7200, ini: { 'laravel.table': 'sessions' } },
  ],
  ['database, DATABASE_URL wins over DB_CONNECTION', { '.env': 'SESSION_DRIVER=database\nDATABASE_URL=postgres://a:b@h:5433/d\n' }, {}, { saveHandler: 'laravel-database', savePath: 'postgresql://a:b@h:5433/d', serializeHandler: 'php_serialize', maxlifetime: 7200, ini: { 'laravel.table': 'sessions' } }],
  ['the process environment wins over .env', { '.env': 'SESSION_DRIVER=redis\nSESSION_LIFETIME=5\n' }, { SESSION_DRIVER: 'file' }, { saveHandler: 'laravel-files', savePath: '<app>/storage/framework/sessions', serializeHandler: 'php_serialize', maxlifetime: 300, ini: undefined }],
  ['APP_ENV in the process: .env.<APP_ENV> instead of .env', { '.env': 'SESSION_LIFETIME=5\n', '.env.staging': 'SESSION_LIFETIME=9\n' }, { APP_ENV: 'staging' }, { saveHandler: 'laravel-files', savePath: '<app>/storage/framework/sessions', serializeHandler: 'php_serialize', maxlifetime: 540, ini: undefined }],
];

for (const [name, files, env, want] of LARAVEL) {
  test(`Laravel .env → settings: ${name}`, async () => {
    const dir = appWith(files);
    try {
      const got = await settingsFor('laravel', dir, env);
      assert.deepEqual(JSON.parse(JSON.stringify(got).replaceAll(dir, '<app>')), JSON.parse(JSON.stringify(want)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('Laravel: cookie and array drivers are refused as not stored server-side; mysql is named as unsupported', () => {
  for (const driver of ['cookie', 'array']) {
    const dir = appWith({ '.env': `SESSION_DRIVER=${driver}\n` });
    assert.throws(() => readApp({ framework: 'laravel', app: dir, env: {} }), /not stored server-side/);
    rmSync(dir, { recursive: true, force: true });
  }
  const dir = appWith({ '.env': 'SESSION_DRIVER=database\n' });
  assert.throws(() => readApp({ framework: 'laravel', app: dir, env: {} }), /mysql database is not supported/);
  rmSync(dir, { recursive: true, force: true });
});

test('Laravel: the summary says whether APP_KEY is set, never what it is', () => {
  const dir = appWith({ '.env': 'APP_KEY=base64:c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=\nAPP_PREVIOUS_KEYS=a,b\n' });
  const app = readApp({ framework: 'laravel', app: dir, env: {} });
  assert.equal(app.summary.appKey, 'set (not shown)');
  assert.ok(!JSON.stringify(app).includes('c2VjcmV0'));
  rmSync(dir, { recursive: true, force: true });
});

/** @type {[string, Record<string, string>, Record<string, string>, string | undefined, object][]} */
const SYMFONY = [
  [
    'DATABASE_URL sqlite under %kernel.project_dir%',
    { '.env': 'APP_ENV=dev\nDATABASE_URL="sqlite:///%kernel.project_dir%/var/data.db"\n' },
    {},
    undefined,
    { saveHandler: 'symfony-pdo', savePath: 'sqlite:<app>/var/data.db', serializeHandler: 'php', maxlifetime: 1440, ini: { 'symfony.table': 'sessions', 'symfony.lock_mode': 'transactional' } },
  ],
  [
    '.env.local and .env.<env>.local override .env, in order',
    { '.env': 'APP_ENV=prod\nDATABASE_URL=postgresql://a@h/one\n', '.env.local': 'DATABASE_URL=postgresql://a@h/two\n', '.env.prod': 'DATABASE_URL=postgresql://a@h/three\n', '.env.prod.local': 'DATABASE_URL=postgresql://a@h/four\n' },
    {},
    undefined,
    { saveHandler: 'symfony-pdo', savePath: 'postgresql://a@h/four', serializeHandler: 'php', maxlifetime: 1440, ini: { 'symfony.table': 'sessions', 'symfony.lock_mode': 'transactional' } },
  ],
  [
    'APP_ENV=test skips .env.local',
    { '.env': 'APP_ENV=test\nDATABASE_URL=postgresql://a@h/one\n', '.env.local': 'DATABASE_URL=postgresql://a@h/two\n' },
    {},
    undefined,
    { saveHandler: 'symfony-pdo', savePath: 'postgresql://a@h/one', serializeHandler: 'php', maxlifetime: 1440, ini: { 'symfony.table': 'sessions', 'symfony.lock_mode': 'transactional' } },
  ],
  ['REDIS_URL', { '.env': 'REDIS_URL=redis://:pw@10.0.0.9:6379/2\n' }, {}, undefined, { saveHandler: 'symfony-redis', savePath: 'redis://:pw@10.0.0.9:6379/2', serializeHandler: 'php', maxlifetime: 1440, ini: { 'symfony.prefix': 'sf_s' } }],
  ['both set, --session-handler redis', { '.env': 'REDIS_URL=redis://r:6379\nDATABASE_URL=postgresql://a@h/d\n' }, {}, 'redis', { saveHandler: 'symfony-redis', savePath: 'redis://r:6379', serializeHandler: 'php', maxlifetime: 1440, ini: { 'symfony.prefix': 'sf_s' } }],
  ['native: var/sessions/<APP_ENV>', { '.env': 'APP_ENV=prod\n', 'var/sessions/prod/.keep': '' }, {}, undefined, { saveHandler: 'files', savePath: '<app>/var/sessions/prod', serializeHandler: 'php', maxlifetime: 1440, ini: undefined }],
  ['native chosen over DATABASE_URL; APP_ENV from the process', { '.env': 'APP_ENV=prod\nDATABASE_URL=postgresql://a@h/d\n', 'var/cache/dev/sessions/.keep': '' }, { APP_ENV: 'dev' }, 'native', { saveHandler: 'files', savePath: '<app>/var/cache/dev/sessions', serializeHandler: 'php', maxlifetime: 1440, ini: undefined }],
];

for (const [name, files, env, handler, want] of SYMFONY) {
  test(`Symfony .env files → settings: ${name}`, async () => {
    const dir = appWith(files);
    try {
      const got = await settingsFor('symfony', dir, env, handler);
      assert.deepEqual(JSON.parse(JSON.stringify(got).replaceAll(dir, '<app>')), JSON.parse(JSON.stringify(want)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('Symfony: both URLs without --session-handler is a question, not a guess; mysql is refused', () => {
  const dir = appWith({ '.env': 'REDIS_URL=redis://r\nDATABASE_URL=mysql://a@h/d\n' });
  assert.throws(() => readApp({ framework: 'symfony', app: dir, env: {} }), /--session-handler pdo, redis or native/);
  assert.throws(() => readApp({ framework: 'symfony', app: dir, env: {}, sessionHandler: 'pdo' }), /mysql database is not supported/);
  assert.throws(() => readApp({ framework: 'laravel', app: dir, env: {}, sessionHandler: 'pdo' }), /SESSION_DRIVER/);
  rmSync(dir, { recursive: true, force: true });
});

test("Laravel SESSION_ENCRYPT: on when PHP finds config('session.encrypt') truthy; the flag wins; the cipher opens what Laravel's EncryptedStore seals", () => {
  const dir = mkdtempSync(join(tmpdir(), 'sessctl-encrypt-'));
  try {
    const key = `base64:${Buffer.alloc(32, 7).toString('base64')}`;
    writeFileSync(join(dir, '.env'), `APP_KEY=${key}\n`);
    const on = (/** @type {string | undefined} */ value, /** @type {boolean | undefined} */ encrypt = undefined) => readApp({ framework: 'laravel', app: dir, env: value === undefined ? {} : { SESSION_ENCRYPT: value }, encrypt }).payloadCipher !== undefined;
    for (const v of ['true', '(true)', '1', 'yes']) assert.equal(on(v), true, v);
    for (const v of [undefined, 'false', '0', '', 'null', 'empty']) assert.equal(on(v), false, String(v));
    assert.equal(on('true', false), false);
    assert.equal(on(undefined, true), true);
    const app = readApp({ framework: 'laravel', app: dir, env: { SESSION_ENCRYPT: 'true' } });
    assert.ok(!JSON.stringify(app).includes(key.slice(7)));
    const cipher = /** @type {NonNullable<typeof app.payloadCipher>} */ (app.payloadCipher)();
    const sealed = cipher.seal(Buffer.from('a:1:{s:1:"n";i:1;}'));
    assert.match(Buffer.from(sealed).toString(), /^eyJ/); // Encrypter's base64 JSON
    assert.equal(Buffer.from(cipher.open(sealed, 'here')).toString(), 'a:1:{s:1:"n";i:1;}');
    assert.throws(() => readApp({ framework: 'laravel', app: dir, env: { SESSION_ENCRYPT: 'true', APP_KEY: '' } }).payloadCipher?.(), /APP_KEY is not set/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
