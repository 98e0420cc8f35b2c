// Symfony's own Session + NativeSessionStorage + RedisSessionHandler (phpredis \Redis; Debian's
// php-symfony-http-foundation 5.4, driven by fixtures/symfony/session.php) against
// sessctl/symfony-redis and sessctl/symfony's bags, on a redis-server started here.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { PhpArray, toPlain } from 'sessctl';
import { SymfonyRedisSessionStore } from 'sessctl/symfony-redis';
import { SymfonySessionView } from 'sessctl/symfony';
import { openAdminSource } from '../../../dist/backends/index.js';
import { hasRedisServer, hasPhpRedis, hasSymfony, needRedis, needSymfony } from '../../helpers/env.js';
import { startRedis } from '../../helpers/redis-server.js';
import { phpLines } from '../../helpers/php-lines.js';

const script = fileURLToPath(new URL('../../../fixtures/symfony/session.php', import.meta.url));
const server = /** @type {{ port?: number, stop?: () => Promise<void> }} */ ({});
/** @type {ReturnType<typeof phpLines> | undefined} */
let php;
before(async () => {
  if (hasRedisServer && hasPhpRedis && hasSymfony) {
    Object.assign(server, await startRedis());
    php = phpLines(script);
  }
});
after(async () => {
  await php?.close();
  await server.stop?.();
});
const need = { ...needRedis(), ...needSymfony() };

/** @param {object} q */
async function symfony(q) {
  const answer = /** @type {any} */ (await php?.ask({ op: 'request', handler: 'redis', port: server.port, ...q }));
  assert.equal(answer.error, undefined, `${answer.error}: ${answer.message}`);
  return answer;
}
/** @param {import('sessctl/symfony-redis').SymfonyRedisStoreOptions} [options] */
const makeStore = (options = {}) => new SymfonyRedisSessionStore({ url: `redis://127.0.0.1:${server.port}`, ...options });
/** @param {SymfonyRedisSessionStore} store @param {string} id @returns {Promise<number>} */
const ttlOf = async (store, id) => {
  const loc = store.locate(id);
  return Number(await loc.target.send(['TTL', loc.key], loc.key));
};

test('Symfony writes attributes, flashes and metadata; Node reads them through the bags, changes them; Symfony reads the change', need, async () => {
  const store = makeStore();
  try {
    const first = await symfony({ id: null, ops: [['set', 'cart', ['a', 'b']], ['set', 'user_id', 42], ['addFlash', 'notice', 'Saved!']] });
    assert.notEqual(await store.readBytes(first.id), null, 'stored under sf_s + id');
    const s = new SymfonySessionView(/** @type {PhpArray} */ (await store.read(first.id)));
    assert.equal(s.get('user_id'), 42);
    assert.deepEqual(toPlain(s.get('cart')), ['a', 'b']);
    assert.deepEqual(s.peekFlashes('notice'), ['Saved!']);
    assert.deepEqual(s.metadata, { created: first.meta.c, lastUsed: first.meta.u, lifetime: first.meta.l });

    await store.update(first.id, (d) => {
      const v = new SymfonySessionView(d);
      v.set('from_node', { visits: 2 });
      assert.deepEqual(v.getFlashes('notice'), ['Saved!']);
      v.addFlash('warning', 'from node');
      v.touch(first.meta.u + 5);
    });
    const second = await symfony({ id: first.id, ops: [['getFlash', 'warning']] });
    assert.equal(second.id, first.id);
    assert.deepEqual(second.attributes.from_node, { visits: 2 });
    assert.equal(second.attributes.user_id, 42);
    assert.deepEqual(second.got, ['from node']);
    assert.deepEqual(Object.keys(second.flashes), []);
    assert.equal(second.meta.c, first.meta.c);
  } finally {
    await store.close();
  }
});

test('the TTL is what Symfony sets: its ttl option, else session.gc_maxlifetime; Node writes the same', need, async () => {
  const store = makeStore({ prefix: 'app_sess:', ttl: 777 });
  try {
    const withTtl = await symfony({ id: null, prefix: 'app_sess:', ttl: 777, gcMaxlifetime: 5000, ops: [['set', 'k', 1]] });
    const t1 = await ttlOf(store, withTtl.id);
    assert.ok(t1 > 700 && t1 <= 777, `TTL ${t1} is the ttl option`);
    const noTtl = await symfony({ id: null, prefix: 'app_sess:', gcMaxlifetime: 1234, ops: [['set', 'k', 1]] });
    const t2 = await ttlOf(store, noTtl.id);
    assert.ok(t2 > 1200 && t2 <= 1234, `TTL ${t2} is gc_maxlifetime`);
    await store.update(noTtl.id, (d) => void new SymfonySessionView(d).set('k', 2));
    const t3 = await ttlOf(store, noTtl.id);
    assert.ok(t3 > 700 && t3 <= 777, `Node wrote with its ttl (${t3})`);
    const gcOnly = makeStore({ prefix: 'app_sess:', gcMaxlifetime: 1500 });
    assert.equal(gcOnly.ttl, 1500);
    await gcOnly.close();
  } finally {
    await store.close();
  }
});

test('strict mode: Symfony adopts an id Node wrote and replaces an unknown one; Node treats an id Symfony wrote as existing', need, async () => {
  const store = makeStore();
  try {
    const h = await store.start(null);
    new SymfonySessionView(h.data).set('by', 'node');
    await h.saveAndClose?.();
    const adopted = await symfony({ id: h.id, strict: 1, ops: [] });
    assert.equal(adopted.id, h.id);
    assert.equal(adopted.attributes.by, 'node');
    const unknown = 'nodeneverwrotethis0123456789ab';
    const replaced = await symfony({ id: unknown, strict: 1, ops: [['set', 'x', 1]] });
    assert.notEqual(replaced.id, unknown);
    assert.equal(await store.exists(unknown), false);
    assert.equal(await store.exists(replaced.id), true);
    const again = await store.start(replaced.id);
    assert.equal(again.id, replaced.id);
    await again.close();
  } finally {
    await store.close();
  }
});

test('Node destroys (UNLINK) and an empty session is deleted rather than written, as AbstractSessionHandler::write(); Symfony then starts afresh', need, async () => {
  const store = makeStore();
  try {
    const first = await symfony({ id: null, ops: [['set', 'k', 'v']] });
    const h = await store.open(first.id);
    h.data = new PhpArray();
    await h.save(); // encodes to '' with the php handler: Symfony's write() destroys instead
    await h.close();
    assert.equal(await store.readBytes(first.id), null);
    const second = await symfony({ id: null, ops: [['set', 'k', 'v']] });
    assert.equal(await store.destroy(second.id), true);
    const third = await symfony({ id: second.id, ops: [] });
    assert.deepEqual(third.attributes, []);
  } finally {
    await store.close();
  }
});

test('the Node-side lock: Node writers exclude each other on <key>_LOCK; Symfony ignores it (it takes no lock)', need, async () => {
  const store = makeStore({ lockWaitTimeUs: 2000 });
  try {
    const first = await symfony({ id: null, ops: [['set', 'n', 0]] });
    const held = await store.open(first.id);
    await assert.rejects(store.open(first.id, { lockTimeoutMs: 30 }), { name: 'LockTimeoutError' });
    // Symfony is not held back by Node's lock: its write lands while Node holds it…
    await symfony({ id: first.id, ops: [['set', 'n', 5]] });
    // …and Node's later write of what it read before wins: last writer wins, as between two Symfony requests.
    const view = new SymfonySessionView(held.data);
    view.set('n', view.get('n') + 1);
    await held.saveAndClose?.();
    assert.equal(new SymfonySessionView(/** @type {PhpArray} */ (await store.read(first.id))).get('n'), 1);
  } finally {
    await store.close();
  }
});

test('sessctl admin source "symfony-redis" lists, reads and destroys Symfony\'s sessions (symfony.prefix)', need, async () => {
  const a = await symfony({ id: null, prefix: 'adm_', ops: [['set', 'who', 'alice']] });
  const source = await openAdminSource({ saveHandler: 'symfony-redis', savePath: `redis://127.0.0.1:${server.port}/0`, serializeHandler: 'php', maxlifetime: 1440, ini: { 'symfony.prefix': 'adm_' } });
  try {
    await source.check();
    assert.match(source.description, /redis:\/\/127\.0\.0\.1:\d+\/0 .*"adm_"/);
    const ids = [];
    for await (const e of source.entries()) ids.push(e.id);
    assert.deepEqual(ids, [a.id]);
    const entry = await source.read(a.id);
    assert.ok(entry && Buffer.from(/** @type {Uint8Array} */ (entry.bytes)).toString().includes('alice'));
    assert.equal(await source.destroy(a.id, { lockTimeoutMs: 1000 }), 'destroyed');
    assert.equal(await source.read(a.id), null);
  } finally {
    await source.close();
  }
});
