// The security token as Symfony's ContextListener stores it (serialize($token) under
// `_security_<firewall>`), made by Symfony's own classes (Debian's php-symfony-security-core 5.4:
// UsernamePasswordToken, RememberMeToken, PreAuthenticatedToken, SwitchUserToken, InMemoryUser;
// php-symfony-security-http's PostAuthenticationToken)
// inside a Symfony Session (fixtures/symfony/session.php, files handler), read by
// SymfonySessionView.securityToken(); and hostile or truncated token strings.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DecodeError, PhpArray, serialize } from 'sessctl';
import { FileSessionStore } from 'sessctl/files';
import { SymfonySessionView } from 'sessctl/symfony';
import { hasSymfonySecurity, needSymfonySecurity, needSymfonySecurityHttp } from '../../helpers/env.js';
import { phpLines } from '../../helpers/php-lines.js';

const script = fileURLToPath(new URL('../../../fixtures/symfony/session.php', import.meta.url));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sessctl-sf-token-'));
const php = hasSymfonySecurity ? phpLines(script) : undefined;
after(async () => {
  await php?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});
const store = new FileSessionStore({ savePath: dir });
const TOKEN_NS = 'Symfony\\Component\\Security\\Core\\Authentication\\Token\\';
const IN_MEMORY_USER = 'Symfony\\Component\\Security\\Core\\User\\InMemoryUser';

/** @param {any[][]} ops */
async function symfony(ops, id = null) {
  const answer = /** @type {any} */ (await php?.ask({ op: 'request', handler: 'files', savePath: dir, id, ops }));
  assert.equal(answer.error, undefined, `${answer.error}: ${answer.message}`);
  return answer;
}
/** @param {string} id */
const view = async (id) => new SymfonySessionView(/** @type {PhpArray} */ (await store.read(id)));

const IDENTIFIERS = ['alice', `o'brien "the boss"`, 'josé 😀 用户', 's:5:"admin";}', 'Ünïcødé@example.com', '\u00e9\u0000nul'];
const HTTP_TOKEN_NS = 'Symfony\\Component\\Security\\Http\\Authenticator\\Token\\';
for (const tokenClass of ['UsernamePasswordToken', 'RememberMeToken', 'PreAuthenticatedToken', 'SwitchUserToken', 'PostAuthenticationToken']) {
  const ns = tokenClass === 'PostAuthenticationToken' ? HTTP_TOKEN_NS : TOKEN_NS;
  const needs = tokenClass === 'PostAuthenticationToken' ? needSymfonySecurityHttp() : needSymfonySecurity();
  test(`${tokenClass} with an InMemoryUser: Node gets the class, the user identifier (quotes, unicode, NUL) and the roles`, needs, async () => {
    for (const identifier of IDENTIFIERS) {
      const { id } = await symfony([['login', 'main', tokenClass, identifier, ['ROLE_USER', 'ROLE_EDITOR']]]);
      const back = await symfony([['token', 'main']], id);
      assert.deepEqual(back.got, [ns + tokenClass, identifier, IN_MEMORY_USER], 'PHP reads its own token back');
      const token = (await view(id)).securityToken('main');
      assert.deepEqual(token, {
        tokenClass: ns + tokenClass,
        userIdentifier: identifier,
        userClass: IN_MEMORY_USER,
        // RememberMeToken takes the user's roles; the others the roles given
        roles: ['ROLE_USER', 'ROLE_EDITOR'],
      });
    }
  });
}

test('a token under another firewall, and no token at all', needSymfonySecurity(), async () => {
  const { id } = await symfony([['login', 'admin_area', 'UsernamePasswordToken', 'root', ['ROLE_ADMIN']]]);
  const s = await view(id);
  assert.equal(s.securityToken('main'), null);
  assert.equal(s.securityToken('admin_area')?.userIdentifier, 'root');
});

test('a token Node hands back unchanged is still Symfony\'s token (Node writes the attribute as it read it)', needSymfonySecurity(), async () => {
  const { id } = await symfony([['login', 'main', 'UsernamePasswordToken', 'josé 😀', ['ROLE_USER']]]);
  await store.update(id, (d) => void new SymfonySessionView(d).set('seen_by_node', true));
  const back = await symfony([['token', 'main']], id);
  assert.deepEqual(back.got, [TOKEN_NS + 'UsernamePasswordToken', 'josé 😀', IN_MEMORY_USER]);
});

/** A session whose `_security_main` holds exactly these bytes. */
function withRawToken(/** @type {Buffer} */ bytes) {
  const d = new PhpArray();
  const attrs = new PhpArray();
  // as the codec gives it back: a string when the bytes are UTF-8, else the bytes
  attrs.set('_security_main', Buffer.from(bytes.toString('utf8'), 'utf8').equals(bytes) ? bytes.toString('utf8') : bytes);
  d.set('_sf2_attributes', attrs);
  return new SymfonySessionView(d);
}

test('hostile, truncated or foreign token strings: a DecodeError naming the attribute, never a deep throw, nothing instantiated', async () => {
  const real = Buffer.from(
    'O:74:"Symfony\\Component\\Security\\Core\\Authentication\\Token\\UsernamePasswordToken":3:{i:0;N;i:1;s:4:"main";i:2;a:5:{i:0;s:5:"alice";i:1;b:1;i:2;N;i:3;a:0:{}i:4;a:1:{i:0;s:9:"ROLE_USER";}}}',
  );
  assert.equal(withRawToken(real).securityToken()?.userIdentifier, 'alice');
  const bad = [
    real.subarray(0, real.length - 3), // truncated
    real.subarray(0, 40),
    Buffer.from('garbage'),
    Buffer.from(''),
    Buffer.from('b:1;'), // not an object
    Buffer.from('a:1:{i:0;s:5:"alice";}'),
    Buffer.from('s:999999999:"x";'),
    Buffer.from('a:1:{i:0;'.repeat(5000) + 'N;' + '}'.repeat(5000)), // nesting bomb
    Buffer.from('O:8:"stdClass":1:{s:1:"a";O:8:"stdClass":1:{s:1:"b";O:8:"stdClass":1:{s:1:"c";' + 'a:1:{i:0;'.repeat(200) + 'N;' + '}'.repeat(203)),
    Buffer.from([0xff, 0xfe, 0x4f, 0x3a]), // not UTF-8, not serialize()
  ];
  for (const bytes of bad) {
    assert.throws(
      () => withRawToken(bytes).securityToken(),
      (/** @type {any} */ e) => e instanceof DecodeError && e.message.includes('_security_main'),
      JSON.stringify(bytes.toString('latin1').slice(0, 60)),
    );
  }
  // An object that is no token we know: its class, no user; a user that is no user: no identifier.
  const foreign = withRawToken(Buffer.from('O:9:"App\\Token":1:{s:4:"user";O:8:"App\\Evil":1:{s:3:"cmd";s:6:"rm -rf";}}')).securityToken();
  assert.deepEqual(foreign, { tokenClass: 'App\\Token', userIdentifier: undefined, userClass: undefined, roles: [] });
  // Names that would pollute a plain object land in Maps: nothing leaks into Object.prototype.
  const proto = Buffer.from(
    'O:9:"__proto__":1:{s:9:"__proto__";a:5:{i:0;O:11:"constructor":1:{s:8:"username";s:3:"bob";}i:1;b:1;i:2;N;i:3;a:1:{s:9:"__proto__";s:1:"x";}i:4;a:0:{}}}',
  );
  assert.equal(withRawToken(proto).securityToken()?.userIdentifier, 'bob');
  assert.equal(/** @type {any} */ ({}).username, undefined);
  assert.equal(/** @type {any} */ ({}).x, undefined);
  // A non-string attribute under the firewall's key
  const d = new PhpArray();
  d.set('_sf2_attributes', new PhpArray([['_security_main', 42]]));
  assert.throws(() => new SymfonySessionView(d).securityToken(), DecodeError);
});

test('a pre-PHP-7.4 token (Serializable, C:) is read the same way, as Symfony 5.4 still reads it', needSymfonySecurity(), async () => {
  const inner = serialize(new PhpArray([[0, null], [1, 'main'], [2, new PhpArray([[0, 'carol'], [1, true], [2, null], [3, new PhpArray()], [4, new PhpArray([[0, 'ROLE_USER']])]])]]));
  const cls = TOKEN_NS + 'UsernamePasswordToken';
  const legacy = `C:${Buffer.byteLength(cls)}:"${cls}":${inner.length}:{${inner.toString('latin1')}}`;
  const { id } = await symfony([['setRaw', '_security_main', Buffer.from(legacy, 'latin1').toString('base64')]]);
  const back = await symfony([['token', 'main']], id);
  assert.equal(back.got?.[1], 'carol', 'Symfony reads the C: form');
  assert.deepEqual((await view(id)).securityToken(), { tokenClass: cls, userIdentifier: 'carol', userClass: undefined, roles: ['ROLE_USER'] });
});
