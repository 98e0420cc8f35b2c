// The shared-login flow one visitor clicks through in examples/php-express, with the checks
// made at each step. Used by browser.test.js for each cookie configuration; written against
// the pages' visible text and the browser's jar only, so another example with the same pages
// (PHP side, Node side) can run it too.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Visitor } from '../helpers/browser.js';

/** Where SESSCTL_SCREENSHOTS=1 puts the screenshots shown in docs/example.md. */
export const SHOTS = { php: 'docs/images/example-php.png', node: 'docs/images/example-node.png' };

/** The Set-Cookie line both sides must send for a session id (PHP's attribute order). */
export function cookieLine(id, { secure }) {
  return `PHPSESSID=${id}; path=/; ${secure ? 'secure; ' : ''}HttpOnly; SameSite=Lax`;
}

/** PHP's logout (setcookie with expires=1) and the middleware's destroy send this. */
export function expiredCookieLine({ secure }) {
  return `PHPSESSID=deleted; expires=Thu, 01 Jan 1970 00:00:01 GMT; Max-Age=0; path=/; ${secure ? 'secure; ' : ''}HttpOnly; SameSite=Lax`;
}

/** Logs in as ann on the PHP page the visitor is on. */
export async function logIn(v) {
  await v.page.locator('input[name=name]').fill('ann');
  await v.follow('button', 'Log in (PHP)');
}

/** The session id the page shows. */
export async function pageId(v) {
  return (await v.page.locator('code').first().textContent()).trim();
}

/**
 * Asserts the visitor's browser holds exactly one PHPSESSID, with the promised attributes:
 * host-only for `host` (no port: cookies are per host), path /, a browser-session cookie,
 * HttpOnly (and invisible to the page's script), SameSite=Lax, Secure as configured.
 */
export async function sessionCookie(v, { host, secure }) {
  const jar = (await v.jar()).filter((c) => c.name === 'PHPSESSID');
  assert.equal(jar.length, 1, `one PHPSESSID in the jar: ${JSON.stringify(jar)}`);
  const c = jar[0];
  const { domain, path, session, expires, httpOnly, sameSite } = c;
  assert.deepEqual(
    { domain, path, session, expires, httpOnly, sameSite, secure: c.secure },
    { domain: host, path: '/', session: true, expires: -1, httpOnly: true, sameSite: 'Lax', secure },
    'the PHPSESSID cookie Chromium keeps',
  );
  assert.doesNotMatch(await v.documentCookie(), /PHPSESSID/, 'HttpOnly: the page script cannot read it');
  return c;
}

/** Login on PHP, cart on both sides, the pre-login id dead, logout on PHP seen by Node. */
export async function sharedLoginFlow(browser, ex, { host, secure, contextOptions = {} }) {
  const { phpUrl, nodeUrl } = ex;
  const port = (url) => Number(new URL(url).port);
  const expectSent = async (v, expected, what) =>
    assert.deepEqual((await v.setCookies()).map(({ url, setCookie }) => [url, setCookie]), expected, what);
  const v = await Visitor.open(browser, contextOptions);
  try {
    // 1. a first visit, on the Node side: Node starts the session and sends the cookie
    await v.goto(`${nodeUrl}/`);
    const anon = await pageId(v);
    assert.match(anon, /^[a-v0-9]{32}$/);
    await expectSent(v, [[`${nodeUrl}/`, [cookieLine(anon, { secure })]]], 'Node sends the PHP-format cookie');
    assert.equal((await sessionCookie(v, { host, secure })).value, anon);

    // 2. the PHP side gets the same cookie (another port, same host) and takes Node's session
    await v.follow('link', 'PHP side');
    assert.equal(await pageId(v), anon, 'PHP (strict mode) accepted the session Node started');
    assert.match(await v.bodyText(), /Not logged in/);
    await expectSent(v, [], 'PHP had no reason to send a cookie');

    // 3. log in on PHP: session_regenerate_id(true) — a new id, the old session deleted
    await logIn(v);
    const sid = await pageId(v);
    assert.notEqual(sid, anon);
    assert.match(await v.bodyText(), /Logged in as ann\./);
    await expectSent(v, [[`${phpUrl}/login.php`, [cookieLine(sid, { secure })]]], 'PHP sends the new id once, same attributes as Node');
    const cookie = await sessionCookie(v, { host, secure });
    assert.equal(cookie.value, sid);
    assert.equal(cookie.sourcePort, port(phpUrl), 'the cookie was set by the PHP port…');
    assert.equal(existsSync(join(ex.dir, `sess_${anon}`)), false, 'the pre-login session is gone');
    await v.follow('button', 'Add to cart (PHP)');

    // 4. the Node side: same user, same cart, same id — the PHP port's cookie sent to Node's port
    await v.follow('link', 'Node side');
    assert.equal(await pageId(v), sid, '…and sent to the Node port');
    let text = await v.bodyText();
    assert.match(text, /Logged in as ann \(logged in on the PHP side\)/);
    assert.match(text, /php-mug × 1/);
    await v.follow('button', 'Add to cart (Node)');
    text = await v.bodyText();
    assert.match(text, /node-sticker × 1/);
    const node = await v.page.screenshot({ fullPage: true });

    // 5. back on PHP: Node's change is there
    await v.follow('link', 'PHP side');
    text = await v.bodyText();
    assert.match(text, /php-mug × 1/);
    assert.match(text, /node-sticker × 1/);
    assert.equal(await pageId(v), sid);
    const php = await v.page.screenshot({ fullPage: true });
    await expectSent(v, [], 'nobody re-sent the cookie while the session went on');
    assert.equal((await sessionCookie(v, { host, secure })).value, sid);

    // 6. a browser still holding the pre-login id gets nothing from it, on either side
    await replayDeadId(browser, ex, anon, { host, secure, contextOptions });

    // 7. log out on PHP: the cookie expired, then a fresh anonymous session from the redirect
    await v.follow('button', 'Log out (PHP)');
    const after = await pageId(v);
    assert.notEqual(after, sid);
    assert.match(await v.bodyText(), /Not logged in/);
    await expectSent(
      v,
      [
        [`${phpUrl}/logout.php`, [expiredCookieLine({ secure })]],
        [`${phpUrl}/`, [cookieLine(after, { secure })]],
      ],
      'PHP expires the cookie, then starts a new session',
    );
    assert.equal((await sessionCookie(v, { host, secure })).value, after);
    assert.equal(existsSync(join(ex.dir, `sess_${sid}`)), false, 'the logged-in session is gone');

    // 8. the Node side sees the logout, and the logged-in id is dead there too
    await v.follow('link', 'Node side');
    assert.equal(await pageId(v), after);
    text = await v.bodyText();
    assert.match(text, /Not logged in/);
    assert.doesNotMatch(text, /php-mug|node-sticker/);
    await replayDeadId(browser, ex, sid, { host, secure, contextOptions });
    return { php, node };
  } finally {
    await v.close();
  }
}

/** A second browser that kept `dead` (as a stolen or stale cookie): both sides refuse it. */
async function replayDeadId(browser, ex, dead, { host, secure, contextOptions }) {
  const url = ex.nodeUrl;
  const cookies = [{ name: 'PHPSESSID', value: dead, url, httpOnly: true, secure, sameSite: 'Lax' }];
  const v = await Visitor.open(browser, { ...contextOptions, cookies });
  try {
    for (const side of [ex.nodeUrl, ex.phpUrl]) {
      await v.goto(`${side}/`);
      const id = await pageId(v);
      assert.notEqual(id, dead, `${side} refused the dead id (strict mode)`);
      assert.match(await v.bodyText(), /Not logged in/);
      assert.equal((await sessionCookie(v, { host, secure })).value, id, 'the dead id was replaced in the jar');
    }
    assert.equal(existsSync(join(ex.dir, `sess_${dead}`)), false, 'strict mode did not recreate it');
  } finally {
    await v.close();
  }
}
