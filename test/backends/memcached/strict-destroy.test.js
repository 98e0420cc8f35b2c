// Strict mode and a destroy while the client's request waits for the lock: the session the
// request then gets must not be the destroyed id brought back (empty, under the old cookie).
// Request B checks the id and queues for php-memcached's lock while A holds it; A destroys the
// session. B must then see no session (strict mode: null, a new id), as on files and Redis.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { needMemcached } from '../../helpers/env.js';
import { useMemcached } from '../../helpers/memcached-server.js';
import { openClientSession } from '../../../dist/session/start.js';
import { assertNewId, assertNotBroughtBack, destroyedWhileWaiting } from '../../helpers/destroyed-while-waiting.js';

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
  const handle = await destroyedWhileWaiting(a, b, id, (x) => openClientSession(b, x, true), lockRefused);
  await assertNotBroughtBack(handle, a, id);
});

test('start() with strict mode: an id destroyed while start() waits for the lock gets a new id', needMemcached(), async () => {
  const a = mc.store();
  const b = mc.store({ useStrictMode: true });
  const id = 'mcstrictdestroy00000000000000002';
  await assertNewId(await destroyedWhileWaiting(a, b, id, (x) => b.start(x), lockRefused), a, id);
});
