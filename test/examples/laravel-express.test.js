// examples/laravel-express as a user runs it: `node run.js` (the Laravel app under php -S and
// the Express app), then one visitor's cookie jar across both ports: log in on Laravel, Node
// sees the user and the CSRF token; Node counts a visit and flashes a message, Laravel shows
// them; log out on Laravel, Node sees nobody.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { needLaravel } from '../helpers/env.js';
import { freePort, Jar } from '../helpers/php-server.js';
import { runExample } from '../helpers/example-run.js';

const sessionId = (html) => /Session id: <code>([^<]+)<\/code>/.exec(html)?.[1];
const csrf = (html) => /name="_token" value="([^"]+)"/.exec(html)?.[1];
const flash = (html) => /<p class="flash">([^<]*)<\/p>/.exec(html)?.[1];

test('examples/laravel-express: one login, one session, one CSRF token for Laravel and Node', needLaravel(), async () => {
  const storage = mkdtempSync(join(tmpdir(), 'sessctl-laravel-example-'));
  const [laravelPort, nodePort] = [await freePort(), await freePort()];
  const laravel = `http://127.0.0.1:${laravelPort}`;
  const node = `http://127.0.0.1:${nodePort}`;
  const ex = await runExample('laravel-express', {
    env: { LARAVEL_PORT: String(laravelPort), NODE_PORT: String(nodePort), LARAVEL_STORAGE: storage, APP_KEY: '' },
    ready: /^Node side: .*$/m,
  });
  const file = (id) => join(storage, 'framework', 'sessions', id);
  const jar = new Jar();
  const text = async (res, status = 200) => {
    assert.equal(res.status, status, `${res.url || ''} → ${res.status}`);
    return res.text();
  };
  try {
    assert.match(ex.output(), new RegExp(`Laravel side: ${laravel}/`));
    assert.doesNotMatch(ex.output(), /base64:/, 'the generated APP_KEY is not printed');

    // Node without a Laravel cookie: no session
    assert.match(await text(await jar.fetch(`${node}/`)), /No Laravel session/);

    // 1. the login page: Laravel starts a session (encrypted laravel_session cookie, XSRF-TOKEN)
    let page = await text(await jar.fetch(`${laravel}/`));
    const anon = sessionId(page);
    const token = csrf(page);
    assert.match(anon, /^[A-Za-z0-9]{40}$/);
    assert.ok(token && jar.cookies.has('laravel_session') && jar.cookies.has('XSRF-TOKEN'));
    assert.ok(!decodeURIComponent(jar.cookies.get('laravel_session')).includes(anon), 'the cookie is encrypted');

    // Node decrypts the cookie with the same APP_KEY: the same session, nobody logged in
    let state = await (await jar.fetch(`${node}/state`)).json();
    assert.deepEqual(state, { id: anon, user: null, token, visits: 0 });

    // 2. VerifyCsrfToken refuses a login without the token; with it, Auth::login
    assert.equal((await jar.fetch(`${laravel}/login`, { method: 'POST', form: { name: 'ann', password: 'secret' } })).status, 419);
    let res = await jar.fetch(`${laravel}/login`, { method: 'POST', form: { _token: token, name: 'ann', password: 'wrong' } });
    assert.equal(res.status, 302);
    assert.equal(flash(await text(await jar.fetch(`${laravel}/`))), 'Wrong name or password.');
    res = await jar.fetch(`${laravel}/login`, { method: 'POST', form: { _token: token, name: 'ann', password: 'secret' } });
    assert.equal(res.status, 302);
    page = await text(await jar.fetch(`${laravel}/`));
    const sid = sessionId(page);
    assert.notEqual(sid, anon, 'Auth::login migrated the session to a new id');
    assert.equal(existsSync(file(anon)), false, '…and deleted the old one');
    assert.match(page, /Logged in as <b>ann<\/b> \(user id 1\)/);
    assert.equal(flash(page), 'Welcome, ann.');

    // 3. Node sees the user of the 'web' guard and the CSRF token (kept across the login)
    state = await (await jar.fetch(`${node}/state`)).json();
    assert.deepEqual(state, { id: sid, user: 1, token, visits: 0 });
    page = await text(await jar.fetch(`${node}/`));
    assert.match(page, /Logged in as <b>ann<\/b> \(user id 1, logged in on the Laravel side\)/);
    assert.match(page, new RegExp(`CSRF token: <code>${token}</code>`));

    // 4. Node changes the session — with the session's CSRF token only
    assert.equal((await jar.fetch(`${node}/visit`, { method: 'POST', form: { _token: 'forged' } })).status, 419);
    res = await jar.fetch(`${node}/visit`, { method: 'POST', form: { _token: token } });
    assert.equal(res.status, 303);
    assert.match(await text(await jar.fetch(`${node}/`)), /Flash message waiting for the Laravel page: <i>Node counted visit 1\.<\/i>/);
    assert.equal((await jar.fetch(`${node}/visit`, { method: 'POST', form: { _token: token } })).status, 303);

    // 5. Laravel shows Node's counter and its flash message, once (as a flash from Laravel)
    page = await text(await jar.fetch(`${laravel}/`));
    assert.equal(sessionId(page), sid);
    assert.match(page, /Visits counted by Node: <b>2<\/b>/);
    assert.equal(flash(page), 'Node counted visit 2.');
    assert.match(page, /Logged in as <b>ann<\/b>/, "Node's writes kept Laravel's login");
    page = await text(await jar.fetch(`${laravel}/`));
    assert.equal(flash(page), undefined, 'the flash message is gone after one Laravel page');
    assert.match(page, /Visits counted by Node: <b>2<\/b>/);
    const laravelState = await (await jar.fetch(`${laravel}/state`)).json();
    assert.deepEqual([laravelState.id, laravelState.user, laravelState.session.node], [sid, 1, { visits: 2 }]);

    // 6. log out on Laravel: a new session, the logged-in one deleted; Node sees nobody
    const loggedIn = jar.cookies.get('laravel_session');
    res = await jar.fetch(`${laravel}/logout`, { method: 'POST', form: { _token: token } });
    assert.equal(res.status, 302);
    page = await text(await jar.fetch(`${laravel}/`));
    assert.match(page, /Not logged in/);
    assert.equal(flash(page), 'Logged out.');
    const after = sessionId(page);
    assert.notEqual(after, sid);
    assert.equal(existsSync(file(sid)), false, 'invalidate() deleted the logged-in session');
    state = await (await jar.fetch(`${node}/state`)).json();
    assert.equal(state.id, after);
    assert.equal(state.user, null);
    assert.notEqual(state.token, token, 'regenerateToken() gave the new session a new CSRF token');
    assert.match(await text(await jar.fetch(`${node}/`)), /Not logged in/);

    // the logged-in cookie, replayed: its session is gone on both sides. Node refuses to change
    // it without creating it again; Laravel (no strict mode) adopts the id of any cookie it can
    // decrypt, as a new empty session.
    const replay = `laravel_session=${loggedIn}`;
    assert.deepEqual(await (await jar.fetch(`${node}/state`, { cookie: replay })).json(), { id: null, user: null });
    assert.equal((await jar.fetch(`${node}/visit`, { method: 'POST', form: { _token: token }, cookie: replay })).status, 401);
    assert.equal(existsSync(file(sid)), false, 'a refused Node request wrote nothing');
    page = await text(await jar.fetch(`${laravel}/`, { cookie: replay }));
    assert.match(page, /Not logged in/);
    assert.equal(sessionId(page), sid);
    assert.equal(existsSync(file(sid)), true);
  } finally {
    const { code } = await ex.stop();
    assert.equal(code, 0, ex.output());
    rmSync(storage, { recursive: true, force: true });
  }
  // Ctrl-C stopped both sides
  for (const url of [laravel, node]) await assert.rejects(fetch(`${url}/`), `${url} is closed`);
});
