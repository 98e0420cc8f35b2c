// Strict mode and a destroy while the client's request waits for the lock (as on Memcached):
// the request queued behind the destroying holder must find no session, not bring the
// destroyed id back empty.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemorySessionStore } from 'sessctl/memory';
import { openClientSession } from '../../../dist/session/start.js';
import { assertNewId, assertNotBroughtBack, destroyedWhileWaiting } from '../../helpers/destroyed-while-waiting.js';

/** Resolves once `store` has queued a lock request for `id`. */
function lockQueued(store, id) {
  const s = /** @type {any} */ (store);
  const lock = s.lock.bind(s);
  return new Promise((resolve) => {
    s.lock = (/** @type {string} */ lockId, /** @type {number | undefined} */ timeoutMs) => {
      const got = lock(lockId, timeoutMs);
      if (lockId === id) {
        s.lock = lock;
        resolve(undefined);
      }
      return got;
    };
  });
}

test('a session destroyed while a strict-mode request waits for its lock is not brought back', async () => {
  const store = new MemorySessionStore({});
  const id = 'memstrictdestroy0000000000000001';
  await assertNotBroughtBack(await destroyedWhileWaiting(store, store, id, (x) => openClientSession(store, x, true), lockQueued), store, id);
});

test('start() with strict mode: an id destroyed while start() waits gets a new id', async () => {
  const store = new MemorySessionStore({});
  const id = 'memstrictdestroy0000000000000002';
  await assertNewId(await destroyedWhileWaiting(store, store, id, (x) => store.start(x), lockQueued), store, id);
});

test('a backend without openExisting() (exists, then open): a session destroyed while the request waits is let go, not brought back', async () => {
  const store = new MemorySessionStore({});
  // The Laravel and Symfony stores have no openExisting(): strict mode is exists() then open().
  /** @type {any} */ (store).openExisting = undefined;
  const id = 'memstrictdestroy0000000000000003';
  await assertNotBroughtBack(await destroyedWhileWaiting(store, store, id, (x) => openClientSession(store, x, true), lockQueued), store, id);
  assert.equal(/** @type {any} */ (store).isLocked?.(id) ?? false, false, 'its lock was let go');
});
