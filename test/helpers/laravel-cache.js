// The interop tests of Laravel's cache-based session drivers (redis, memcached), written once:
// Laravel's own SessionManager / CacheManager / Store (fixtures/laravel/session.php) on one side,
// a sessctl store + sessctl/laravel on the other, against a real server the caller starts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { toPlain, LockTimeoutError } from 'sessctl';
import express from 'express';
import { LaravelSessions, LaravelEncrypter, laravelPayloadCipher, laravelSession } from 'sessctl/laravel';
import { hasLaravel } from './env.js';
import { phpLines } from './php-lines.js';
import { sessctl } from './cli.js';
import { asSent, checkNodeChangeSeenByLaravel, checkNodeIssuedCookie, cookieOf } from './laravel-cookie.js';

const script = fileURLToPath(new URL('../../fixtures/laravel/session.php', import.meta.url));

/**
 * @typedef {import('sessctl').SessionBackend & { readStored(id: string): Promise<unknown> }} CacheStore
 * @param {{
 *   driver: 'redis' | 'memcached',
 *   available: boolean,
 *   testOptions: object,
 *   server(): Record<string, unknown>,
 *   makeStore(cachePrefix: string, options: object): CacheStore,
 *   checkStored(store: CacheStore, id: string, encrypted: boolean): Promise<void>,
 *   savePath(): string,
 *   keyPrefix(cachePrefix: string): string,
 * }} d
 */
export function laravelCacheInterop(d) {
  const rawKey = randomBytes(32);
  const APP_KEY = `base64:${rawKey.toString('base64')}`;
  const NAME = 'laravel_session';
  /** @type {ReturnType<typeof phpLines> | undefined} */
  let php;
  /** @type {CacheStore[]} */
  const stores = [];
  before(() => {
    if (d.available && hasLaravel) php = phpLines(script);
  });
  after(async () => {
    for (const s of stores) await s.close?.();
    await php?.close();
  });

  let n = 0;
  function app({ encrypt = false } = {}) {
    const cachePrefix = `app${n++}_${process.pid}_cache`;
    const payloadCipher = encrypt ? laravelPayloadCipher(new LaravelEncrypter({ key: APP_KEY })) : undefined;
    const store = d.makeStore(cachePrefix, { lifetime: 120, payloadCipher, lockPollMs: 5 });
    stores.push(store);
    const sessions = new LaravelSessions({ store, key: APP_KEY, cookieName: NAME });
    const conf = { driver: d.driver, cachePrefix, ...d.server() };
    const cli = (/** @type {string[]} */ ...args) =>
      sessctl([...args, '--save-handler', `laravel-${d.driver}`, '--save-path', d.savePath(), '--ini', `laravel.prefix=${d.keyPrefix(cachePrefix)}`, '--serialize-handler', 'php_serialize', '--no-php'], {
        env: { SESSCTL_MAXLIFETIME: '7200' },
      });
    /** @returns {Promise<any>} */
    const ask = (/** @type {object} */ q) => /** @type {any} */ (php).ask({ ...conf, ...q });
    const request = (/** @type {string | null} */ cookie, ops = /** @type {unknown[][]} */ ([])) => ask({ op: 'request', key: rawKey.toString('base64'), name: NAME, cookie, encrypt, ops });
    return { store, sessions, request, ask, cli };
  }

  for (const encrypt of [false, true]) {
    test(`laravel-${d.driver}: ${encrypt ? 'encrypt => true: ' : ''}Laravel writes; Node reads it from the cookie alone; Node changes it; Laravel reads the change`, d.testOptions, async () => {
      const { store, sessions, request } = app({ encrypt });
      const big = 'x'.repeat(3000); // php-memcached compresses strings from 2000 bytes
      const first = await request(null, [['put', 'cart', ['sku-1', 'sku-2']], ['login', 'web', 42], ['flash', 'status', 'Saved!'], ['put', 'big', big]]);
      assert.equal(first.error, undefined, first.message);
      const cookie = cookieOf(first.setCookie);
      await d.checkStored(store, first.id, encrypt);

      const s = await sessions.read(cookie);
      assert.ok(s);
      assert.equal(s.userId(), 42);
      assert.equal(s.token, first.token);
      assert.deepEqual(toPlain(s.get('cart')), ['sku-1', 'sku-2']);
      assert.equal(s.get('big'), big);
      assert.deepEqual(s.flashKeys, { new: [], old: ['status'] });
      assert.deepEqual(toPlain(s.data, { json: true, prototype: 'object' }), first.all);

      const second = await checkNodeChangeSeenByLaravel({ sessions, request }, cookie, first.id);
      assert.equal(second.all.big, big);
    });
  }

  test(`laravel-${d.driver}: Node issues a session and its cookie, Laravel adopts both; a tampered cookie is refused by Node and gets a fresh session from Laravel`, d.testOptions, async () => {
    await checkNodeIssuedCookie(app());
  });

  test(`laravel-${d.driver}: the session block lock — a blocking Laravel request holding it keeps Node out; a Node handle holding it makes a blocking Laravel request wait, which then sees Node's write`, d.testOptions, async () => {
    const { store, request, ask } = app();
    const { id } = await request(null, [['put', 'v', 'laravel'], ['put', 'n', 0]]);
    assert.deepEqual(await ask({ op: 'hold', id }), { held: true });
    await assert.rejects(store.open(id, { lockTimeoutMs: 100 }), LockTimeoutError);
    assert.deepEqual(await ask({ op: 'release' }), { released: true });

    const h = await store.open(id);
    let closed = false;
    const laravel = ask({ op: 'increments', id, n: 1, key: 'n', block: true }).then((r) => {
      assert.equal(closed, true, 'the blocking Laravel request ran while Node held the session');
      return r;
    });
    h.data.set('v', 'node');
    await h.save();
    closed = true;
    await h.close();
    assert.deepEqual(await laravel, { undecodable: 0 });
    const end = await store.read(id);
    assert.equal(end?.get('v'), 'node');
    assert.equal(end?.get('n'), 1);
  });

  test(`laravel-${d.driver}: the CLI lists, inspects and destroys the sessions Laravel wrote (lock keys left out); gc has nothing to delete`, d.testOptions, async () => {
    const { request, ask, cli } = app();
    const a = await request(null, [['put', 'who', 'a'], ['login', 'web', 1]]);
    const b = await request(null, [['put', 'who', 'b'], ['put', 'nested', { x: [1, 2] }]]);
    assert.deepEqual(await ask({ op: 'hold', id: a.id }), { held: true }); // a lock key under the same prefix
    try {
      const list = cli('list', '--json');
      assert.equal(list.code, 0, list.stderr);
      const rows = JSON.parse(list.stdout);
      assert.deepEqual(rows.map((/** @type {{ id: string }} */ r) => r.id).sort(), [a.id, b.id].sort());
      for (const r of rows) assert.ok(r.expiresInSeconds > 7100 && r.expiresInSeconds <= 7200, String(r.expiresInSeconds));
      const where = cli('list', '--json', '--where', `who == 'b'`);
      assert.deepEqual(JSON.parse(where.stdout).map((/** @type {{ id: string }} */ r) => r.id), [b.id]);
    } finally {
      await ask({ op: 'release' });
    }
    const inspect = cli('inspect', b.id, '--json');
    assert.equal(inspect.code, 0, inspect.stderr);
    assert.deepEqual(JSON.parse(inspect.stdout), b.all);
    const bad = cli('inspect', 'x'.repeat(39));
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /40 letters and digits/);

    const destroyed = cli('destroy', a.id);
    assert.equal(destroyed.code, 0, destroyed.stderr);
    assert.equal((await request(null, [])).all.who, undefined);
    const gone = cli('inspect', a.id, '--json');
    assert.notEqual(gone.code, 0);
    const gc = cli('gc');
    assert.equal(gc.code, 0, gc.stderr);
    assert.match(gc.stdout + gc.stderr, /nothing to delete/);
  });

  test(`laravel-${d.driver}: laravelSession({ write: true }) in Express: concurrent requests and blocking Laravel requests on one session lose no update`, d.testOptions, async () => {
    const { store, request, ask } = app();
    const login = await request(null, [['login', 'web', 42], ['put', 'php', 0]]);
    const web = express();
    web.post('/visit', laravelSession({ store, key: APP_KEY, write: true }), (req, res) => {
      const s = /** @type {import('sessctl/laravel').LaravelRequest} */ (req).laravelSession;
      if (!s) return void res.status(401).end();
      s.put('node.visits', Number(s.get('node.visits') ?? 0) + 1);
      res.end(String(s.userId()));
    });
    /** @type {import('node:http').Server} */
    const server = await new Promise((resolve) => {
      const srv = web.listen(0, '127.0.0.1', () => resolve(srv));
    });
    try {
      const base = `http://127.0.0.1:${/** @type {import('node:net').AddressInfo} */ (server.address()).port}`;
      const cookie = login.setCookie.split(';')[0];
      const laravel = ask({ op: 'increments', id: login.id, n: 40, key: 'php', block: true });
      const replies = await Promise.all(Array.from({ length: 40 }, () => fetch(`${base}/visit`, { method: 'POST', headers: { cookie } }).then((r) => r.text())));
      assert.deepEqual(new Set(replies), new Set(['42']));
      assert.deepEqual(await laravel, { undecodable: 0 });
      const end = await store.read(login.id);
      assert.equal(end?.get('php'), 40);
      assert.deepEqual(toPlain(end?.get('node'), { json: true, prototype: 'object' }), { visits: 40 });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  const N = 150;
  /** Two Node loops (so Node also races Node) of N/2 increments each, every one under the lock. */
  const nodeIncrements = (/** @type {CacheStore} */ store, /** @type {string} */ id) =>
    Promise.all([0, 1].map(async () => {
      for (let i = 0; i < N / 2; i++) await store.update(id, (data) => void data.set('node', Number(data.get('node')) + 1));
    }));

  test(`laravel-${d.driver}: ${N} blocking Laravel requests and ${N} locked Node updates on one session lose no increment`, d.testOptions, async () => {
    const { store, request, ask } = app();
    const { id } = await request(null, [['put', 'php', 0], ['put', 'node', 0]]);
    const laravel = ask({ op: 'increments', id, n: N, key: 'php', block: true });
    await nodeIncrements(store, id);
    assert.deepEqual(await laravel, { undecodable: 0 });
    const end = await store.read(id);
    assert.equal(end?.get('php'), N);
    assert.equal(end?.get('node'), N);
  });

  test(`laravel-${d.driver}: non-blocking Laravel requests take no lock: Node's updates stay whole, some increments are lost to Laravel's last-writer-wins (measured)`, d.testOptions, async () => {
    const { store, request, ask } = app();
    const { id } = await request(null, [['put', 'php', 0], ['put', 'node', 0]]);
    const laravel = ask({ op: 'increments', id, n: N, key: 'php', block: false });
    await nodeIncrements(store, id);
    assert.deepEqual(await laravel, { undecodable: 0 });
    const end = await store.read(id);
    const php = Number(end?.get('php'));
    const node = Number(end?.get('node'));
    process.stderr.write(`laravel-${d.driver}: ${N} non-blocking Laravel + ${N} locked Node increments: ${2 * N - php - node} lost (Laravel ${N - php}, Node ${N - node})\n`);
    assert.ok(php > 0 && php <= N && node > 0 && node <= N);
  });
}
