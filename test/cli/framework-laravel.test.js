// `sessctl --framework laravel --app DIR` on a Laravel app directory written here (.env +
// storage/framework/sessions) holding sessions written by Laravel's own Store and cookies
// encrypted by its EncryptCookies (fixtures/laravel/session.php): list, inspect by id and by
// cookie, a tampered cookie refused, `auth.user` in --where (list, destroy), gc by lifetime.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hasLaravel, needLaravel } from '../helpers/env.js';
import { phpLines } from '../helpers/php-lines.js';
import { sessctl, tempDir, removeDir, ageFile } from '../helpers/cli.js';

const script = fileURLToPath(new URL('../../fixtures/laravel/session.php', import.meta.url));
const rawKey = randomBytes(32);
const KEY = `base64:${rawKey.toString('base64')}`;
const COOKIE = 'acme_shop_session'; // slug("Acme Shop", '_') . '_session'
const REDIS_PASSWORD = 'hunter2-redis';

const app = tempDir('laravel-app');
const sessions = join(app, 'storage', 'framework', 'sessions');
/** @type {ReturnType<typeof phpLines> | undefined} */
let php;
/** @type {Record<string, { id: string, setCookie: string, error?: string, message?: string }>} */
const s = {};

const laravel = (/** @type {unknown[][]} */ ops) =>
  /** @type {Promise<{ id: string, setCookie: string, error?: string, message?: string }>} */ (php.ask({ op: 'request', key: rawKey.toString('base64'), name: COOKIE, cookie: null, driver: 'file', path: sessions, lifetime: 60, ops }));
const cli = (/** @type {string[]} */ ...args) => sessctl(['--framework', 'laravel', '--app', app, ...args, '--no-php']);
/** The cookie value as the browser holds it (URL-encoded). */
const cookieOf = (/** @type {string} */ setCookie) => setCookie.slice(setCookie.indexOf('=') + 1, setCookie.indexOf(';'));
const ids = (/** @type {{ stdout: string }} */ r) => r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l).id).sort();

before(async () => {
  mkdirSync(sessions, { recursive: true });
  writeFileSync(join(app, '.env'), [`APP_NAME="Acme Shop"`, `APP_KEY=${KEY}`, 'SESSION_DRIVER=file', 'SESSION_LIFETIME=60 # minutes', `REDIS_PASSWORD=${REDIS_PASSWORD}`, ''].join('\n'));
  if (!hasLaravel) return;
  php = phpLines(script);
  s.ann = await laravel([['login', 'web', 42], ['put', 'cart', ['book']]]);
  s.annPhone = await laravel([['login', 'web', '42']]);
  s.bob = await laravel([['login', 'web', 7]]);
  s.guest = await laravel([['put', 'visits', 3]]);
  s.admin42 = await laravel([['login', 'admin', 42]]);
  // Laravel's password confirmation keeps a real `auth` key: its entries keep their meaning.
  s.confirmed = await laravel([['login', 'web', 42], ['put', 'auth.password_confirmed_at', 1700000000]]);
  for (const [name, r] of Object.entries(s)) assert.equal(r.error, undefined, `${name}: ${r.message}`);
});
after(async () => {
  await php?.close();
  removeDir(app);
});

test('list: every session Laravel wrote, from the app directory alone', needLaravel(), () => {
  const r = cli('list', '--ndjson');
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(ids(r), Object.values(s).map((x) => x.id).sort());
  for (const line of r.stdout.trim().split('\n')) assert.equal(JSON.parse(line).handler, 'php_serialize');
});

test('inspect by id: the decoded session with the derived auth', needLaravel(), () => {
  const r = cli('inspect', s.ann.id, '--json');
  assert.equal(r.code, 0, r.stderr);
  const plain = JSON.parse(r.stdout);
  assert.deepEqual(plain.cart, ['book']);
  assert.deepEqual(plain.auth, { web: 42, user: 42 });
  const tree = cli('inspect', s.ann.id);
  assert.equal(tree.code, 0, tree.stderr);
  assert.match(tree.stdout, /logged in: 42 \(web\)/);
});

test('inspect --cookie: the encrypted cookie (URL-encoded or not) leads to its session', needLaravel(), () => {
  const value = cookieOf(s.bob.setCookie);
  for (const v of [value, decodeURIComponent(value)]) {
    const r = cli('inspect', '--cookie', v, '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).auth.user, 7);
  }
  const raw = cli('inspect', '--cookie', value, '--raw');
  assert.equal(raw.code, 0);
  assert.match(raw.stdout, /^a:\d+:\{/);
});

test('a tampered cookie, or one for another app key: exit 1, a clear message, nothing of its content', needLaravel(), () => {
  const value = decodeURIComponent(cookieOf(s.bob.setCookie));
  const json = JSON.parse(Buffer.from(value, 'base64').toString());
  json.value = Buffer.from(Buffer.from(json.value, 'base64').map((b, i) => (i === 3 ? b ^ 1 : b))).toString('base64');
  const tampered = Buffer.from(JSON.stringify(json)).toString('base64');
  for (const bad of [tampered, value.slice(0, -4) + 'AAA=']) {
    const r = cli('inspect', '--cookie', bad);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /not a payload this APP_KEY encrypted/);
    assert.ok(!r.stderr.includes(bad.slice(0, 20)) && !r.stderr.includes(s.bob.id), r.stderr);
  }
  const other = sessctl(['--framework', 'laravel', '--app', app, 'inspect', '--cookie', value, '--no-php'], { env: { APP_KEY: `base64:${randomBytes(32).toString('base64')}` } });
  assert.equal(other.code, 1);
  assert.match(other.stderr, /not a payload this APP_KEY encrypted/);
});

test('a rotated key: the cookie encrypted with the old key is read through APP_PREVIOUS_KEYS', needLaravel(), () => {
  const env = { APP_KEY: `base64:${randomBytes(32).toString('base64')}`, APP_PREVIOUS_KEYS: KEY };
  const r = sessctl(['--framework', 'laravel', '--app', app, 'inspect', '--cookie', cookieOf(s.bob.setCookie), '--json', '--no-php'], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).auth.user, 7);
});

test("--where 'auth.user == 42': the web guard's user, string or number; a real auth key keeps its meaning", needLaravel(), () => {
  assert.deepEqual(ids(cli('list', '--where', 'auth.user == 42', '--ndjson')), [s.ann.id, s.annPhone.id, s.confirmed.id].sort());
  assert.deepEqual(ids(cli('list', '--where', 'auth.admin == 42', '--ndjson')), [s.admin42.id]);
  assert.deepEqual(ids(cli('list', '--where', 'auth.password_confirmed_at exists', '--ndjson')), [s.confirmed.id]);
  assert.deepEqual(ids(cli('list', '--where', 'not auth exists', '--ndjson')), [s.guest.id]);
});

test('destroy --where auth.user == 42 --all-matching logs user 42 out everywhere, nobody else', needLaravel(), () => {
  const dry = cli('destroy', '--where', 'auth.user == 42', '--all-matching', '--dry-run', '--json');
  assert.equal(dry.code, 0, dry.stderr);
  assert.equal(JSON.parse(dry.stdout).destroyed, 3);
  const r = cli('destroy', '--where', 'auth.user == 42', '--all-matching', '--json');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).destroyed, 3);
  for (const x of [s.ann, s.annPhone, s.confirmed]) assert.ok(!existsSync(join(sessions, x.id)));
  for (const x of [s.bob, s.guest, s.admin42]) assert.ok(existsSync(join(sessions, x.id)));
});

test('gc: SESSION_LIFETIME minutes, as FileSessionHandler::gc', needLaravel(), () => {
  ageFile(join(sessions, s.guest.id), 61 * 60);
  ageFile(join(sessions, s.bob.id), 59 * 60);
  const r = cli('gc', '--json');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).deleted, 1);
  assert.ok(!existsSync(join(sessions, s.guest.id)));
  assert.ok(existsSync(join(sessions, s.bob.id)));
});

test('config: the app settings with their sources; APP_KEY and passwords never printed', () => {
  for (const extra of [[], ['--json']]) {
    const r = cli('config', ...extra);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!r.stdout.includes(rawKey.toString('base64')) && !r.stdout.includes(REDIS_PASSWORD), r.stdout);
    assert.match(r.stdout, /laravel-files/);
    assert.match(r.stdout, /3600/);
    assert.match(r.stdout, new RegExp(COOKIE));
  }
  const redis = sessctl(['config', '--framework', 'laravel', '--app', app, '--no-php'], { env: { SESSION_DRIVER: 'redis' } });
  assert.equal(redis.code, 0, redis.stderr);
  assert.ok(!redis.stdout.includes(REDIS_PASSWORD), redis.stdout);
  assert.match(redis.stdout, /redis:\/\/:\*\*\*@127\.0\.0\.1:6379\/0/);
  assert.match(redis.stdout, /acme_shop_database_acme_shop_cache:/);
});

test('a driver that keeps nothing on the server, --app without --framework: exit 2 with a clear message', () => {
  const cookie = sessctl(['list', '--framework', 'laravel', '--app', app, '--no-php'], { env: { SESSION_DRIVER: 'cookie' } });
  assert.equal(cookie.code, 2);
  assert.match(cookie.stderr, /not stored server-side/);
  const lone = sessctl(['list', '--app', app, '--no-php']);
  assert.equal(lone.code, 2);
  assert.match(lone.stderr, /--app needs --framework/);
});
