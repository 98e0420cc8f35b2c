// Strict mode and a destroy while the client's request waits for the lock: the session the
// request then gets must not be the destroyed id brought back (empty, under the old cookie).
// Request B checks the id and queues for php-memcached's lock while A holds it; A destroys the
// session. B must then see no session (strict mode: null, a new id), as on files and Redis.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { needMemcached } from '../../helpers/env.js';
import { useMemcached } from '../../helpers/memcached-server.js';
import { openClientSession } from '../../../dist/session/start.js';

const mc = useMemcached(1, { lockWaitMinMs: 1, lockWaitMaxMs: 2, lockRetries: 1000000 });

/** Resolves once `store`'s next lock attempt for `id` has found the lock taken (B is queued). */
function lockRefused(store, id) {
  const conn = /** @type {any} */ (store.locate(id).lock.conn);
  const request = conn.request.bind(conn);
  return new Promise((resolve) => {
    conn.request = async (/** @type {any} */ req) => {
      const r = await request(req);
      if (req.key.toString('latin1').includes(`lock.${id}`) && r.status !== 0) {
        conn.request = request;
        resolve(undefined);
      }
      return r;
    };
  });
}

test('a session destroyed while a strict-mode request waits for its lock is not brought back', needMemcached(), async () => {
  const a = mc.store();
  const b = mc.store();
  const id = 'mcstrictdestroy00000000000000001';
  await a.update(id, (d) => void d.set('user', 'alice'));
  const holder = await a.open(id);
  const queued = lockRefused(b, id);
  const opening = openClientSession(b, id, true);
  await queued;
  await holder.destroy();
  const handle = /** @type {any} */ (await opening);
  if (handle) {
    handle.data.set('n', 1);
    await handle.close();
  }
  assert.equal(handle, null, 'the destroyed id was opened again');
  assert.equal(await a.exists(id), false, 'the destroyed session exists again');
});

test('start() with strict mode: an id destroyed while start() waits for the lock gets a new id', needMemcached(), async () => {
  const a = mc.store();
  const b = mc.store({ useStrictMode: true });
  const id = 'mcstrictdestroy00000000000000002';
  await a.update(id, (d) => void d.set('user', 'alice'));
  const holder = await a.open(id);
  const queued = lockRefused(b, id);
  const starting = b.start(id);
  await queued;
  await holder.destroy();
  const handle = await starting;
  const newId = handle.id;
  await handle.close();
  assert.notEqual(newId, id);
  assert.equal(await a.exists(id), false);
});
