// Laravel's own Store, FileSessionHandler, EncryptedStore and EncryptCookies (Debian's
// php-laravel-framework 8.83, driven by fixtures/laravel/session.php) against the
// laravel-files backend and sessctl/laravel: from the encrypted cookie alone plus APP_KEY.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { toPlain } from 'sessctl';
import { LaravelFileSessionStore, LaravelFileAdminSource } from 'sessctl/laravel-files';
import { LaravelSessions, LaravelEncrypter, laravelPayloadCipher } from 'sessctl/laravel';
import { hasLaravel, needLaravel } from '../../helpers/env.js';
import { phpLines } from '../../helpers/php-lines.js';
import { asSent, checkNodeChangeSeenByLaravel, checkNodeIssuedCookie, cookieOf } from '../../helpers/laravel-cookie.js';

const script = fileURLToPath(new URL('../../../fixtures/laravel/session.php', import.meta.url));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sessctl-laravel-'));
const rawKey = randomBytes(32);
const APP_KEY = `base64:${rawKey.toString('base64')}`;
const NAME = 'laravel_session';
let php;
before(() => {
  if (hasLaravel) php = phpLines(script);
});
after(async () => {
  await php?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

let n = 0;
function app({ encrypt = false } = {}) {
  const dir = path.join(tmp, `app${n++}`);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, '.gitignore'), '*\n!.gitignore\n');
  const payloadCipher = encrypt ? laravelPayloadCipher(new LaravelEncrypter({ key: APP_KEY })) : undefined;
  const store = new LaravelFileSessionStore({ path: dir, lifetime: 120, payloadCipher });
  const sessions = new LaravelSessions({ store, key: APP_KEY, cookieName: NAME });
  const request = (cookie, ops = []) => php.ask({ op: 'request', key: rawKey.toString('base64'), name: NAME, cookie, driver: 'file', path: dir, encrypt, ops });
  return { dir, store, sessions, request };
}

for (const encrypt of [false, true]) {
  test(`${encrypt ? 'encrypt => true: ' : ''}Laravel writes; Node reads it from the cookie alone; Node changes it; Laravel reads the change`, needLaravel(), async () => {
    const { sessions, request } = app({ encrypt });
    const first = await request(null, [['put', 'cart', ['sku-1', 'sku-2']], ['login', 'web', 42], ['flash', 'status', 'Saved!'], ['previousUrl', 'http://app.test/cart']]);
    assert.equal(first.error, undefined, first.message);
    const cookie = cookieOf(first.setCookie);

    const s = await sessions.read(cookie);
    assert.equal(s.userId(), 42);
    assert.equal(s.token, first.token);
    assert.equal(s.previousUrl, 'http://app.test/cart');
    assert.deepEqual(toPlain(s.get('cart')), ['sku-1', 'sku-2']);
    // Laravel aged the flash at the end of the request: visible to the next one
    assert.deepEqual(s.flashKeys, { new: [], old: ['status'] });
    assert.equal(s.get('status'), 'Saved!');
    assert.deepEqual(toPlain(s.data, { json: true, prototype: 'object' }), first.all);

    const second = await checkNodeChangeSeenByLaravel({ sessions, request }, cookie, first.id);
    assert.equal(second.all.status, undefined, 'Laravel dropped the flash after one more request');
  });
}

test('Node issues a session and its cookie; Laravel adopts both; a tampered cookie gets a fresh session from Laravel and an error from Node', needLaravel(), async () => {
  await checkNodeIssuedCookie(app());
});

test('locking: a Node handle holds LOCK_EX, so Laravel\'s shared-lock read waits for it and then sees Node\'s write', needLaravel(), async () => {
  const { store, request } = app();
  const first = await request(null, [['put', 'v', 'laravel']]);
  const h = await store.open(first.id);
  assert.deepEqual(await php.ask({ op: 'probe', file: store.pathOf(first.id) }), { shared: false });
  let closed = false;
  const laravel = request(asSent(new LaravelSessions({ store, key: APP_KEY }).cookieFor(first.id)), []).then((r) => {
    assert.equal(closed, true, 'Laravel read the session while Node held it');
    return r;
  });
  h.data.set('v', 'node');
  await h.save();
  closed = true;
  await h.close();
  assert.equal((await laravel).all.v, 'node');
  assert.deepEqual(await php.ask({ op: 'probe', file: store.pathOf(first.id) }), { shared: true });
});

test('concurrent Laravel and Node writers: every read decodes (no torn file); updates are last-writer-wins, as Laravel promises', needLaravel(), async () => {
  const { store, request } = app();
  const { id } = await request(null, [['put', 'php', 0], ['put', 'node', 0]]);
  const N = 300;
  const laravelSide = php.ask({ op: 'increments', driver: 'file', path: store.path, id, n: N, key: 'php' });
  let nodeErrors = 0;
  for (let i = 0; i < N; i++) {
    await store.update(id, (d) => void d.set('node', d.get('node') + 1)).catch(() => nodeErrors++);
  }
  const { undecodable } = await laravelSide;
  assert.equal(undecodable, 0);
  assert.equal(nodeErrors, 0);
  const end = await store.read(id);
  const lost = 2 * N - end.get('php') - end.get('node');
  // Laravel holds no lock from read to write, so some increments are overwritten; report how many.
  process.stderr.write(`laravel-files: ${N} Laravel + ${N} Node increments, ${lost} lost to Laravel's last-writer-wins\n`);
  assert.ok(end.get('php') <= N && end.get('node') <= N && end.get('php') > 0 && end.get('node') > 0);
});

test('lifetime: a session idle longer than SESSION_LIFETIME reads as empty for both; gc deletes it and keeps the rest', needLaravel(), async () => {
  const { dir, store, request } = app();
  const old = await request(null, [['put', 'x', 1]]);
  const young = await request(null, [['put', 'x', 2]]);
  const past = new Date(Date.now() - 121 * 60_000);
  fs.utimesSync(store.pathOf(old.id), past, past);
  assert.equal(await store.read(old.id), null);
  const h = await store.open(old.id);
  assert.equal(h.isNew, true);
  assert.equal(h.data.size, 0);
  await h.close();
  const relaunched = await request(asSent(new LaravelSessions({ store, key: APP_KEY }).cookieFor(old.id)), []);
  assert.equal(relaunched.all.x, undefined);
  fs.utimesSync(store.pathOf(old.id), past, past);
  const admin = new LaravelFileAdminSource({ saveHandler: 'laravel-files', savePath: dir, serializeHandler: 'php_serialize', maxlifetime: 7200 });
  const report = await admin.gc({ maxlifetime: 7200 });
  assert.equal(report.deleted, 1);
  assert.equal(fs.existsSync(store.pathOf(old.id)), false);
  assert.equal((await store.read(young.id)).get('x'), 2);
  assert.ok(fs.existsSync(path.join(dir, '.gitignore')));
});
