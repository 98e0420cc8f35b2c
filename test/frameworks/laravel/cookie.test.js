// The Laravel session cookie against Laravel's own Encrypter and EncryptCookies middleware
// (Debian's php-laravel-framework 8.83), driven by fixtures/laravel/cookie.php.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { ConfigError } from 'sessctl';
import { LaravelEncrypter, LaravelDecryptError, decryptLaravelCookie, encryptLaravelCookie, parseAppKey } from 'sessctl/laravel';
import { hasLaravel, needLaravel } from '../../helpers/env.js';
import { phpLines } from '../../helpers/php-lines.js';

const script = fileURLToPath(new URL('../../../fixtures/laravel/cookie.php', import.meta.url));
let php;
before(() => {
  if (hasLaravel) php = phpLines(script);
});
after(() => php?.close());

const CIPHERS = { 'AES-256-CBC': 32, 'AES-128-CBC': 16, 'AES-256-GCM': 32, 'AES-128-GCM': 16 };
const NAME = 'laravel_session';
const setCookieValue = (header) => header.slice(header.indexOf('=') + 1, header.indexOf(';'));
const flip = (s, i) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);

for (const [cipher, size] of Object.entries(CIPHERS)) {
  test(`${cipher}: what Laravel encrypts Node decrypts, and the other way round`, needLaravel(), async () => {
    const raw = randomBytes(size);
    const node = new LaravelEncrypter({ key: `base64:${raw.toString('base64')}`, cipher });
    for (const plaintext of [Buffer.alloc(0), Buffer.from('a:1:{s:6:"_token";s:3:"abc";}'), randomBytes(1000)]) {
      const { payload } = await php.ask({ op: 'encrypt', key: raw.toString('base64'), cipher, plaintext: plaintext.toString('base64') });
      assert.deepEqual(node.decrypt(payload).plaintext, plaintext);
      const back = await php.ask({ op: 'decrypt', key: raw.toString('base64'), cipher, payload: node.encrypt(plaintext) });
      assert.equal(back.error, undefined, back.message);
      assert.deepEqual(Buffer.from(back.plaintext, 'base64'), plaintext);
    }
  });

  test(`${cipher}: the session cookie through EncryptCookies, both ways; tampering refused by both`, needLaravel(), async () => {
    const raw = randomBytes(size);
    const key = `base64:${raw.toString('base64')}`;
    const id = randomBytes(30).toString('base64').replace(/[^A-Za-z0-9]/g, '').padEnd(40, 'x').slice(0, 40);
    const res = await php.ask({ op: 'request', key: raw.toString('base64'), cipher, name: NAME, cookie: null, set: id });
    const value = setCookieValue(res.setCookie);
    assert.match(value, /%3D$|[A-Za-z0-9]$/); // URL-encoded as the browser will hold it
    assert.equal(decryptLaravelCookie(value, { name: NAME, key, cipher }), id);
    assert.equal(decryptLaravelCookie(decodeURIComponent(value), { name: NAME, key, cipher }), id);

    const ours = encryptLaravelCookie(id, { name: NAME, key, cipher });
    const seen = await php.ask({ op: 'request', key: raw.toString('base64'), cipher, name: NAME, cookie: decodeURIComponent(ours), set: null });
    assert.equal(seen.seen, id);

    // tampered payloads: every field, and a valid cookie presented under another name
    const json = JSON.parse(Buffer.from(decodeURIComponent(ours), 'base64').toString());
    const forged = [
      { ...json, value: flip(json.value, 3) },
      { ...json, iv: flip(json.iv, 2) },
      json.mac ? { ...json, mac: flip(json.mac, 5) } : { ...json, tag: flip(json.tag, 1) },
    ].map((j) => Buffer.from(JSON.stringify(j)).toString('base64'));
    for (const bad of [...forged, 'not-a-cookie', '', ours.slice(0, -6)]) {
      assert.throws(() => decryptLaravelCookie(bad, { name: NAME, key, cipher }), LaravelDecryptError);
      const p = await php.ask({ op: 'request', key: raw.toString('base64'), cipher, name: NAME, cookie: decodeURIComponent(bad), set: null });
      assert.equal(p.seen, null, `Laravel accepted ${bad}`);
    }
    const other = encryptLaravelCookie(id, { name: 'XSRF-TOKEN', key, cipher });
    assert.throws(() => decryptLaravelCookie(other, { name: NAME, key, cipher }), /EDECRYPT|not a payload/);
    assert.equal((await php.ask({ op: 'request', key: raw.toString('base64'), cipher, name: NAME, cookie: decodeURIComponent(other), set: null })).seen, null);
  });
}

test('another key is refused; previous keys (APP_PREVIOUS_KEYS) are accepted for decryption only', needLaravel(), async () => {
  const oldKey = randomBytes(32);
  const newKey = randomBytes(32);
  const id = 'A'.repeat(40);
  const res = await php.ask({ op: 'request', key: oldKey.toString('base64'), cipher: 'AES-256-CBC', name: NAME, cookie: null, set: id });
  const value = setCookieValue(res.setCookie);
  assert.throws(() => decryptLaravelCookie(value, { name: NAME, key: `base64:${newKey.toString('base64')}` }), LaravelDecryptError);
  const rotated = { name: NAME, key: `base64:${newKey.toString('base64')}`, previousKeys: `base64:${randomBytes(32).toString('base64')}, base64:${oldKey.toString('base64')}` };
  assert.equal(decryptLaravelCookie(value, rotated), id);
  // a cookie Node issues uses the current key: Laravel with the new key reads it
  const issued = encryptLaravelCookie(id, rotated);
  assert.equal((await php.ask({ op: 'request', key: newKey.toString('base64'), cipher: 'AES-256-CBC', name: NAME, cookie: decodeURIComponent(issued), set: null })).seen, id);
});

test('keys: base64: or raw; a key of the wrong length or an unknown cipher is a ConfigError, as Laravel refuses it', () => {
  assert.equal(parseAppKey('base64:' + Buffer.alloc(32, 7).toString('base64')).length, 32);
  assert.equal(parseAppKey('0123456789abcdef0123456789abcdef').length, 32);
  assert.throws(() => new LaravelEncrypter({ key: 'short' }), ConfigError);
  assert.throws(() => new LaravelEncrypter({ key: Buffer.alloc(32), cipher: 'AES-128-CBC' }), ConfigError);
  assert.throws(() => new LaravelEncrypter({ key: Buffer.alloc(32), cipher: 'des' }), ConfigError);
  assert.throws(() => new LaravelEncrypter({ key: '' }), ConfigError);
  assert.equal(new LaravelEncrypter({ key: Buffer.alloc(16), cipher: 'aes-128-gcm' }).cipher, 'aes-128-gcm');
});
