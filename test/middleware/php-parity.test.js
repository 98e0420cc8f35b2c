// The middleware and the express-session Store side by side with real PHP (php -S) on one
// session directory: the same request to both, the same answer expected (ids, cookies).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import express from 'express';
import { FileSessionStore } from 'sessctl/files';
import { phpSession } from 'sessctl/middleware';
import { needPhp, PHP } from '../helpers/env.js';
import { freshDirs } from '../helpers/fresh-dirs.js';
import { listen } from '../helpers/listen.js';
import { startServerProcess } from '../helpers/server-process.js';
import { phpAsync, phpHolding } from '../helpers/php-run.js';
import { PhpSessionStore, esApp, incRoutes } from '../helpers/express-store.js';

const dirs = freshDirs('sessctl-php-parity-');

// ini_set() from ?ini[name]=value, then session_start(); answers what PHP decided.
const SCRIPT = `<?php
foreach (($_GET['ini'] ?? []) as $k => $v) ini_set($k, $v);
$ok = @session_start();
header('Content-Type: application/json');
echo json_encode(['ok' => $ok, 'id' => session_id()]);
`;

/** @type {{ stop(): Promise<void>, port: number }} */
let php;
let savePath = '';
/** @type {any} */
let backend;

before(async () => {
  if (needPhp().skip) return;
  savePath = dirs();
  const docroot = join(dirs(), 'www');
  mkdirSync(docroot);
  writeFileSync(join(docroot, 's.php'), SCRIPT);
  php = await startServerProcess({
    name: 'php -S',
    command: PHP,
    args: (port) => ['-n', '-d', `session.save_path=${savePath}`, '-d', 'display_errors=0', '-S', `127.0.0.1:${port}`, '-t', docroot],
    ready: async (port) => (await fetch(`http://127.0.0.1:${port}/s.php`)).ok,
  });
  backend = new FileSessionStore({ savePath, gcProbability: 0 });
});
after(() => php?.stop());

/**
 * One request to PHP with these session.* settings.
 * @param {Record<string, string>} ini @param {{ cookie?: string, query?: string }} [req]
 */
async function askPhp(ini, { cookie, query = '' } = {}) {
  const q = new URLSearchParams(Object.entries(ini).map(([k, v]) => [`ini[${k}]`, v]));
  const res = await fetch(`http://127.0.0.1:${php.port}/s.php?${q}${query}`, { headers: cookie === undefined ? {} : { cookie } });
  const body = /** @type {any} */ (await res.json());
  return { ...body, setCookie: res.headers.getSetCookie() };
}

/** An Express app with phpSession(options) over the shared directory; `/` answers the id. */
async function nodeApp(/** @type {any} */ options) {
  const app = express();
  app.use(phpSession({ backend, logger: null, ...options }));
  app.get('/', (req, res) => res.json({ ok: true, id: req.phpSession.id }));
  return listen(app, { keepAliveTimeout: 1 });
}

async function askNode(/** @type {string} */ base, { cookie, query = '' } = /** @type {{ cookie?: string, query?: string }} */ ({})) {
  const res = await fetch(`${base}/?x=1${query}`, { headers: cookie === undefined ? {} : { cookie } });
  const body = res.status === 200 ? /** @type {any} */ (await res.json()) : { ok: false, id: '' };
  return { status: res.status, ...body, setCookie: res.headers.getSetCookie() };
}

/** A Set-Cookie value with its id (and date) replaced, for comparing PHP's and ours. */
const shape = (/** @type {string} */ c, /** @type {string} */ id) => c.replace(id, '<id>').replace(/expires=[^;]+/, 'expires=<date>');

describe('the middleware against PHP 8.2 on one save path', needPhp(), () => {
  test('an id PHP allows (251..256 characters) whose file name is too long: PHP fails its start, sessctl makes a new id (no 500)', async () => {
    const base = await nodeApp({ useStrictMode: true });
    const esBase = await listen(esApp(new PhpSessionStore({ backend, logger: null }), incRoutes), { keepAliveTimeout: 1 });
    for (const id of ['a'.repeat(251), 'b'.repeat(256)]) {
      assert.equal(backend.isValidId(id), false, `sess_ + ${id.length} characters is no file name`);
      const p = await askPhp({}, { cookie: `PHPSESSID=${id}` });
      assert.equal(p.ok, false, 'PHP cannot start a session under it either');
      const n = await askNode(base, { cookie: `PHPSESSID=${id}` });
      assert.equal(n.status, 200);
      assert.notEqual(n.id, id);
      assert.match(n.setCookie[0], new RegExp(`^PHPSESSID=${n.id};`));
      const es = await fetch(`${esBase}/inc`, { headers: { cookie: `PHPSESSID=${id}` } });
      assert.equal(es.status, 200, 'the express-session Store answers "no such session"');
      assert.equal(await es.text(), '1');
    }
    assert.equal(backend.isValidId('c'.repeat(250)), true);
  });

  test("session.cookie_path '' sends no path attribute, and a fractional lifetime is whole seconds in both expires and Max-Age", async () => {
    const p = await askPhp({ 'session.cookie_path': '' });
    const base = await nodeApp({ cookie: { path: '', httpOnly: false, sameSite: '' } });
    const n = await askNode(base);
    assert.deepEqual(n.setCookie.map((c) => shape(c, n.id)), p.setCookie.map((c) => shape(c, p.id)));
    assert.deepEqual(n.setCookie.map((c) => shape(c, n.id)), ['PHPSESSID=<id>']);

    const lifetimeBase = await nodeApp({ cookie: { lifetime: 10.9, httpOnly: false, sameSite: '' } });
    const from = Math.floor(Date.now() / 1000);
    const [cookie] = (await askNode(lifetimeBase)).setCookie;
    const to = Math.floor(Date.now() / 1000);
    assert.match(cookie, /; Max-Age=10; path=\/$/);
    const expires = Date.parse(/expires=([^;]+)/.exec(cookie)[1]) / 1000;
    assert.ok(expires >= from + 10 && expires <= to + 10, `expires ${expires} is now + 10 s (${from + 10}..${to + 10})`);
  });

  test('useOnlyCookies=false: an empty cookie is the id (a new one is made, the query is not read); of two ?PHPSESSID= the last wins', async () => {
    for (const id of ['querywins0123456789abcdef0123456', 'queryfirst123456789abcdef012345']) writeFileSync(join(savePath, `sess_${id}`), 'n|i:1;');
    const ini = { 'session.use_only_cookies': '0' };
    const base = await nodeApp({ useOnlyCookies: false, useStrictMode: false });

    const emptyCookie = { cookie: 'PHPSESSID=', query: '&PHPSESSID=querywins0123456789abcdef0123456' };
    const p1 = await askPhp(ini, emptyCookie);
    const n1 = await askNode(base, emptyCookie);
    assert.notEqual(p1.id, 'querywins0123456789abcdef0123456');
    assert.notEqual(n1.id, 'querywins0123456789abcdef0123456');
    assert.equal(n1.setCookie.length, 1);

    const twice = { query: '&PHPSESSID=queryfirst123456789abcdef012345&PHPSESSID=querywins0123456789abcdef0123456' };
    assert.equal((await askPhp(ini, twice)).id, 'querywins0123456789abcdef0123456');
    assert.equal((await askNode(base, twice)).id, 'querywins0123456789abcdef0123456');
    assert.ok(readdirSync(savePath).length > 0);
  });

  test('the Cookie header is read as PHP reads it: quotes, spaces around the name or after the value, a bare name, %XX', async () => {
    const id = 'cookieparse0123456789abcdef01';
    writeFileSync(join(savePath, `sess_${id}`), 'n|i:1;');
    const base = await nodeApp({ useStrictMode: true });
    const cases = [
      [`PHPSESSID="${id}"`, false], // quotes are part of the value: no valid id
      [`PHPSESSID=${id} ; x=1`, false], // nor is a trailing space
      [`PHPSESSID =${id}`, false], // a space after the name makes another name (PHPSESSID_)
      [`PHPSESSID; PHPSESSID=${id}`, false], // a bare name is the first cookie, empty
      [`x=1;  \tPHPSESSID=${id}`, true], // spaces and tabs before the name are skipped
      [`PHPSESSID=%63ookieparse0123456789abcdef01`, true], // raw-URL-decoded
      [`PHPSESSID=${id}; PHPSESSID=other0123456789abcdef0123`, true], // the first wins
    ];
    for (const [cookie, kept] of cases) {
      const p = await askPhp({ 'session.use_strict_mode': '1' }, { cookie: /** @type {string} */ (cookie) });
      const n = await askNode(base, { cookie: /** @type {string} */ (cookie) });
      assert.equal(p.id === id, kept, `PHP, ${cookie}`);
      assert.equal(n.id === id, kept, `sessctl, ${cookie}`);
    }
  });

  test('session names PHP refuses (numeric, or with a ".") are refused at once; names PHP takes are taken', async () => {
    const numeric = ['12', '-1', '+1', '1e5', '1E+5', '-1e5'];
    const taken = ['1e', '+-1', '1_0', 'a~b', 'SHOPSESS'];
    // What PHP says: session_name() refuses a numeric name...
    const verdicts = await phpAsync(
      { 'session.save_path': savePath },
      // (nothing is echoed before the end: session_name() refuses every change once output began)
      `$r = ''; foreach (array_slice($argv, 1) as $n) { @session_name($n); $r .= session_name() === $n ? '1' : '0'; session_name('PHPSESSID'); } echo $r;`,
      [...numeric, ...taken],
    );
    assert.equal(verdicts.stdout, '0'.repeat(numeric.length) + '1'.repeat(taken.length), verdicts.stderr);
    // ...and session_start() sends no cookie at all under a name with a '.' (nor finds one: `$_COOKIE['PHP_SESSID']`).
    assert.deepEqual((await askPhp({ 'session.name': 'PHP.SESSID' })).setCookie, []);
    const refused = [...numeric, 'PHP.SESSID'];
    for (const name of refused) assert.throws(() => phpSession({ backend, name }), { code: 'ECONFIG' }, name);
    for (const name of taken) assert.doesNotThrow(() => phpSession({ backend, name }), name);
  });

  test('a client gone while PHP held the lock: once it is had, it is released at once, unwritten, reported as abort', { timeout: 30_000 }, async () => {
    const id = 'gonewhilewaiting0123456789abcde';
    writeFileSync(join(savePath, `sess_${id}`), 'n|i:1;');
    const holder = phpHolding({ 'session.save_path': savePath }, id, '$_SESSION["n"] = 2;');
    await holder.ready;

    /** @type {string[]} */
    const phases = [];
    /** @type {() => void} */
    let reported = () => {};
    const abortReported = new Promise((r) => (reported = () => r(undefined)));
    /** @type {(socket: import('node:net').Socket) => void} */
    let arrived = () => {};
    /** @type {Promise<import('node:net').Socket>} */
    const inMiddleware = new Promise((r) => (arrived = r));
    const app = express();
    app.use((req, res, next) => (arrived(req.socket), next()));
    // maxLockHoldMs 0: nothing but the client's going away can end this hold.
    app.use(phpSession({ backend, logger: null, maxLockHoldMs: 0, onError: (err, info) => (phases.push(info.phase), reported()) }));
    app.get('/', (req) => {
      req.phpSession.set('n', 99);
      // never answers, like a handler waiting for an event the client's leaving cancels
    });
    const base = await listen(app, { keepAliveTimeout: 1 });

    const ac = new AbortController();
    const request = fetch(base, { headers: { cookie: `PHPSESSID=${id}` }, signal: ac.signal }).catch((e) => e.name);
    const socket = await inMiddleware;
    const closed = once(socket, 'close');
    ac.abort();
    assert.equal(await request, 'AbortError');
    await closed; // the server saw the client go while the middleware waited for PHP's lock
    holder.release();
    assert.equal((await holder.done).code, 0);
    // Before, nothing came: the hold lasted as long as the handler, which never ends (the timeout).
    await abortReported;
    assert.deepEqual(phases, ['abort']);

    // The lock is let go (unwritten): the session is PHP's.
    const other = new FileSessionStore({ savePath, gcProbability: 0 });
    const handle = await other.open(id, { lockTimeoutMs: 10_000 });
    await handle.close();
    assert.equal(readFileSync(join(savePath, `sess_${id}`), 'utf8'), 'n|i:2;');
  });
});
