// The shared login as a person's browser lives it: headless Debian chromium (playwright-core)
// clicks through examples/php-express — PHP's built-in server and the Express app on two
// ports of one host. The browser alone decides which cookie it keeps and sends, so each step
// checks its jar (one PHPSESSID, the attributes the docs promise) and the raw Set-Cookie lines.
//   1. the middleware's defaults, on 127.0.0.1: the whole flow, and the pages' screenshots
//   2. cookie: { secure: true } behind plain HTTP on a named host: Chromium drops Node's cookie
//   3. a stale PHPSESSID at a longer path: both sides take it first, the login is lost alike
//   4. both sides secure behind a TLS-terminating proxy (what the docs advise): the whole flow
// SESSCTL_SCREENSHOTS=1 writes the screenshots of (1) to docs/images/ (docs/example.md).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import { FileSessionStore } from 'sessctl/files';
import { createApp } from '../../examples/php-express/node/app.js';
import { needPhp, needChromium } from '../helpers/env.js';
import { startPhpServer, freePort, root } from '../helpers/php-server.js';
import { launchChromium, Visitor } from '../helpers/browser.js';
import { selfSignedCert, startTlsProxy } from '../helpers/tls-proxy.js';
import { sharedLoginFlow, sessionCookie, cookieLine, pageId, logIn, SHOTS } from './browser-flow.js';

// Not loopback, so Chromium applies its insecure-origin rules to plain HTTP (it treats
// 127.0.0.1 and localhost as secure contexts and keeps Secure cookies there).
const HOST = 'shop.test';

const need = { ...needPhp(), ...needChromium() };

/**
 * The example on one session directory: PHP and Node, reached directly or through TLS proxies.
 * @param {{ host?: string, tls?: { key: any, cert: any }, ini?: Record<string, string>, sessionOptions?: any }} options
 */
async function startExample({ host = '127.0.0.1', tls, ini, sessionOptions }) {
  const dir = mkdtempSync(join(tmpdir(), 'sessctl-browser-'));
  const errors = [];
  const proxies = tls ? [await startTlsProxy(tls), await startTlsProxy(tls)] : [];
  const phpPort = tls ? undefined : await freePort();
  const phpUrl = tls ? `https://${host}:${proxies[0].port}` : `http://${host}:${phpPort}`;
  const backend = new FileSessionStore({ savePath: dir, lockTimeoutMs: 10000 });
  const app = createApp({ backend, phpUrl, sessionOptions: { logger: null, onError: (e, i) => errors.push([i.phase, e]), ...sessionOptions } });
  const server = http.createServer(app);
  await /** @type {Promise<void>} */ (new Promise((r) => server.listen(0, '127.0.0.1', r)));
  const nodePort = /** @type {import('node:net').AddressInfo} */ (server.address()).port;
  const nodeDirect = `http://127.0.0.1:${nodePort}`;
  const nodeUrl = tls ? `https://${host}:${proxies[1].port}` : `http://${host}:${nodePort}`;
  const php = await startPhpServer(dir, { port: phpPort, ini, env: { NODE_URL: nodeUrl } });
  proxies[0]?.setUpstream(php.url);
  proxies[1]?.setUpstream(nodeDirect);
  return {
    dir,
    phpUrl,
    nodeUrl,
    nodeDirect,
    errors,
    files: () => readdirSync(dir).filter((f) => f.startsWith('sess_')),
    async stop() {
      await Promise.all(proxies.map((p) => p.stop()));
      await php.stop();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe('the shared login in headless Chromium (examples/php-express)', need, () => {
  let browser, certDir, tls;

  before(async () => {
    if (need.skip) return;
    browser = await launchChromium({ hosts: [HOST] });
    certDir = mkdtempSync(join(tmpdir(), 'sessctl-cert-'));
    tls = selfSignedCert(certDir, HOST);
  });
  after(async () => {
    await browser?.close();
    if (certDir) rmSync(certDir, { recursive: true, force: true });
  });

  test("the middleware's defaults on 127.0.0.1: one login, one cart, one PHPSESSID across both ports", async () => {
    // cookie: undefined = the middleware's own defaults, not the example's explicit copy of them
    const ex = await startExample({ sessionOptions: { cookie: undefined } });
    try {
      const shots = await sharedLoginFlow(browser, ex, { host: '127.0.0.1', secure: false });
      for (const [name, png] of Object.entries(shots)) {
        assert.equal(png.subarray(1, 4).toString(), 'PNG', `${name} is a PNG`);
        if (process.env.SESSCTL_SCREENSHOTS === '1') writeFileSync(join(root, SHOTS[name]), png);
      }
      assert.deepEqual(ex.errors, []);
    } finally {
      await ex.stop();
    }
  });

  test('cookie: { secure: true } behind plain HTTP: the browser drops the cookie Node sends', async () => {
    const ex = await startExample({ host: HOST, sessionOptions: { cookie: { secure: true } } });
    const v = await Visitor.open(browser);
    try {
      // a first visit on the Node side: Node starts a session, the browser refuses its cookie
      await v.goto(`${ex.nodeUrl}/`);
      const first = await pageId(v);
      assert.deepEqual(await v.setCookies(), [{ url: `${ex.nodeUrl}/`, status: 200, setCookie: [cookieLine(first, { secure: true })] }]);
      assert.deepEqual(await v.jar(), [], 'Chromium kept no cookie: a Secure one over http:// is dropped');

      // so every request starts yet another session, and what Node stores is lost to the visitor
      await v.follow('button', 'Add to cart (Node)');
      const second = await pageId(v);
      assert.notEqual(second, first);
      assert.doesNotMatch(await v.bodyText(), /node-sticker/, 'the cart went into a session the browser cannot name');
      assert.deepEqual(await v.jar(), []);
      // one orphan session per request: the first page, the cart, the page after the redirect
      // (and whatever the browser's own /favicon.ico requests made, when they arrived)
      const files = ex.files();
      assert.ok(files.length >= 3 && files.includes(`sess_${first}`) && files.includes(`sess_${second}`), files.join());

      // the same Secure cookie on 127.0.0.1 is kept: Chromium counts loopback as a secure
      // context, so a test on localhost would not show the problem
      const local = await Visitor.open(browser);
      await local.goto(`${ex.nodeDirect}/`);
      assert.equal((await sessionCookie(local, { host: '127.0.0.1', secure: true })).value, await pageId(local));
      await local.close();

      // the PHP side (cookie_secure off) still issues a cookie the browser keeps, and Node reads it
      await v.follow('link', 'PHP side');
      await logIn(v);
      const sid = (await sessionCookie(v, { host: HOST, secure: false })).value;
      await v.follow('link', 'Node side');
      assert.match(await v.bodyText(), /Logged in as ann/);
      assert.equal(await pageId(v), sid);
      assert.deepEqual(ex.errors, []);
    } finally {
      await v.close();
      await ex.stop();
    }
  });

  test('a stale PHPSESSID with a longer path shadows the login, on PHP and on Node alike', async () => {
    // Browsers send the longest-path cookie first and both sides take the first PHPSESSID, so
    // a cookie left at /cart (Node's route) or /cart.php (PHP's) wins there over the login's
    // cookie at /; strict mode refuses its dead id and the new session's cookie at / replaces
    // the login's. Both sides must do the same: the visitor is logged out by either button.
    const ex = await startExample({});
    try {
      for (const [side, button, path] of [
        ['nodeUrl', 'Add to cart (Node)', '/cart'],
        ['phpUrl', 'Add to cart (PHP)', '/cart.php'],
      ]) {
        const stale = 'stale0123456789abcdefghijklmnopq';
        const v = await Visitor.open(browser, {
          cookies: [{ name: 'PHPSESSID', value: stale, domain: '127.0.0.1', path, httpOnly: true, sameSite: 'Lax' }],
        });
        await v.goto(`${ex.phpUrl}/`);
        await logIn(v);
        const sid = await pageId(v);
        if (side === 'nodeUrl') await v.follow('link', 'Node side');
        assert.match(await v.bodyText(), /Logged in as ann/);
        await v.follow('button', button);
        const text = await v.bodyText();
        assert.match(text, /Not logged in/, `${button} with a stale cookie at ${path}`);
        assert.match(text, /(node-sticker|php-mug) × 1/, 'the item went into the new session');
        const jar = (await v.jar()).filter((c) => c.name === 'PHPSESSID').map((c) => [c.path, c.value]);
        assert.deepEqual(jar.sort(), [[path, stale], ['/', await pageId(v)]].sort(), 'the stale cookie stays; the login cookie was replaced');
        assert.ok(ex.files().includes(`sess_${sid}`), 'the logged-in session still exists, unreachable by this browser');
        assert.ok(!ex.files().includes(`sess_${stale}`), 'strict mode did not adopt the stale id');
        await v.close();
      }
      assert.deepEqual(ex.errors, []);
    } finally {
      await ex.stop();
    }
  });

  test('both sides secure behind a TLS-terminating proxy: the whole flow, the cookie Secure', async () => {
    const ex = await startExample({
      host: HOST,
      tls,
      ini: { 'session.cookie_secure': '1' },
      sessionOptions: { cookie: { secure: true } },
    });
    try {
      await sharedLoginFlow(browser, ex, { host: HOST, secure: true, contextOptions: { ignoreHTTPSErrors: true } });
      assert.deepEqual(ex.errors, []);
    } finally {
      await ex.stop();
    }
  });
});

