// examples/symfony-express as a user runs it: `node run.js` (the Symfony app under php -S and
// the Express app), then one visitor's cookie jar across both ports: log in on Symfony (a real
// security token under _security_main), Node sees the user; Node counts visits and adds flash
// messages, Symfony shows them (or Node reads them first); log out on Symfony, Node sees nobody.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { needSymfonySecurity } from '../helpers/env.js';
import { freePort, Jar } from '../helpers/php-server.js';
import { runExample } from '../helpers/example-run.js';

const sessionId = (html) => /Session id: <code>([^<]+)<\/code>/.exec(html)?.[1];
const flashes = (html) => [...html.matchAll(/<p class="flash">([^<]*)<\/p>/g)].map((m) => m[1]);

test('examples/symfony-express: one login, one session, flash messages across Symfony and Node', needSymfonySecurity(), async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sessctl-symfony-example-'));
  const [symfonyPort, nodePort] = [await freePort(), await freePort()];
  const symfony = `http://127.0.0.1:${symfonyPort}`;
  const node = `http://127.0.0.1:${nodePort}`;
  const ex = await runExample('symfony-express', {
    env: { SYMFONY_PORT: String(symfonyPort), NODE_PORT: String(nodePort), SESSION_DIR: dir },
    ready: /^Node side: .*$/m,
  });
  const file = (id) => join(dir, `sess_${id}`);
  const jar = new Jar();
  const text = async (res, status = 200) => {
    assert.equal(res.status, status);
    return res.text();
  };
  const nodeState = async (cookie) => (await jar.fetch(`${node}/state`, { cookie })).json();
  try {
    assert.match(ex.output(), new RegExp(`Symfony side: ${symfony}/`));

    // 1. a first visit on Node starts the session; Symfony (strict mode) takes it
    let page = await text(await jar.fetch(`${node}/`));
    const anon = sessionId(page);
    assert.equal(jar.sid, anon);
    assert.match(page, /Not logged in/);
    page = await text(await jar.fetch(`${symfony}/`));
    assert.equal(sessionId(page), anon);
    assert.match(page, /Not logged in/);

    // 2. log in on Symfony: a wrong password is a flash message; the right one migrates the session
    assert.equal((await jar.fetch(`${symfony}/login`, { method: 'POST', form: { name: 'ann', password: 'nope' } })).status, 303);
    assert.deepEqual(flashes(await text(await jar.fetch(`${symfony}/`))), ['Wrong name or password.']);
    assert.equal((await jar.fetch(`${symfony}/login`, { method: 'POST', form: { name: 'ann', password: 'secret' } })).status, 303);
    const sid = jar.sid;
    assert.notEqual(sid, anon, 'migrate(true): a new id at login');
    assert.equal(existsSync(file(anon)), false, '…and the old session deleted');

    // 3. Node sees the user in Symfony's security token, and peeks at the flash without taking it
    assert.deepEqual(await nodeState(), { id: sid, user: 'ann', visits: 0, flashes: ['Welcome, ann.'] });
    assert.match(await text(await jar.fetch(`${node}/`)), /Logged in as <b>ann<\/b> \(logged in on the Symfony side, UsernamePasswordToken\)/);
    page = await text(await jar.fetch(`${symfony}/`));
    assert.match(page, /Logged in as <b>ann<\/b>/);
    assert.deepEqual(flashes(page), ['Welcome, ann.'], 'Node only peeked');

    // 4. Node counts visits and adds flash messages; Symfony shows both messages once
    for (let i = 0; i < 2; i++) assert.equal((await jar.fetch(`${node}/visit`, { method: 'POST' })).status, 303);
    assert.deepEqual((await nodeState()).flashes, ['Node counted visit 1.', 'Node counted visit 2.']);
    page = await text(await jar.fetch(`${symfony}/`));
    assert.equal(sessionId(page), sid);
    assert.match(page, /Visits counted by Node: <b>2<\/b>/);
    assert.deepEqual(flashes(page), ['Node counted visit 1.', 'Node counted visit 2.']);
    assert.match(page, /Logged in as <b>ann<\/b>/, "Node's writes kept Symfony's login");
    assert.deepEqual(flashes(await text(await jar.fetch(`${symfony}/`))), []);

    // 5. Node takes a flash message (FlashBag::get): Symfony no longer shows it
    await jar.fetch(`${node}/visit`, { method: 'POST' });
    assert.match(await text(await jar.fetch(`${node}/flashes`, { method: 'POST' })), /<li>Node counted visit 3\.<\/li>/);
    page = await text(await jar.fetch(`${symfony}/`));
    assert.deepEqual(flashes(page), []);
    assert.match(page, /Visits counted by Node: <b>3<\/b>/);
    const state = await (await jar.fetch(`${symfony}/state`)).json();
    assert.deepEqual([state.id, state.user, state.attributes.node_visits], [sid, 'ann', 3]);

    // 6. log out on Symfony (invalidate): Node sees nobody, and the logged-in id is dead on both sides
    assert.equal((await jar.fetch(`${symfony}/logout`, { method: 'POST' })).status, 303);
    page = await text(await jar.fetch(`${symfony}/`));
    assert.match(page, /Not logged in/);
    assert.deepEqual(flashes(page), ['Logged out.']);
    const after = jar.sid;
    assert.notEqual(after, sid);
    assert.equal(existsSync(file(sid)), false, 'invalidate() deleted the logged-in session');
    assert.deepEqual(await nodeState(), { id: after, user: null, visits: 0, flashes: [] });
    const replayed = await nodeState(`PHPSESSID=${sid}`);
    assert.notEqual(replayed.id, sid, 'strict mode: Node does not revive the id');
    assert.equal(replayed.user, null);
    assert.equal(existsSync(file(sid)), false);
  } finally {
    const { code } = await ex.stop();
    assert.equal(code, 0, ex.output());
    rmSync(dir, { recursive: true, force: true });
  }
  for (const url of [symfony, node]) await assert.rejects(fetch(`${url}/`), `${url} is closed`);
});
