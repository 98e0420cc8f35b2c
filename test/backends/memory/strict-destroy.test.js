// Strict mode and a destroy while the client's request waits for the lock (as on Memcached):
// the request queued behind the destroying holder must find no session, not bring the
// destroyed id back empty.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemorySessionStore } from 'sessctl/memory';
import { openClientSession } from '../../../dist/session/start.js';

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
  await store.update(id, (d) => void d.set('user', 'alice'));
  const holder = await store.open(id);
  const queued = lockQueued(store, id);
  const opening = openClientSession(store, id, true);
  await queued;
  await holder.destroy();
  const handle = /** @type {any} */ (await opening);
  if (handle) {
    handle.data.set('n', 1);
    await handle.close();
  }
  assert.equal(handle, null, 'the destroyed id was opened again');
  assert.equal(await store.exists(id), false, 'the destroyed session exists again');
});

test('start() with strict mode: an id destroyed while start() waits gets a new id', async () => {
  const store = new MemorySessionStore({});
  const id = 'memstrictdestroy0000000000000002';
  await store.update(id, (d) => void d.set('user', 'alice'));
  const holder = await store.open(id);
  const queued = lockQueued(store, id);
  const starting = store.start(id);
  await queued;
  await holder.destroy();
  const handle = await starting;
  const newId = handle.id;
  await handle.close();
  assert.notEqual(newId, id);
  assert.equal(await store.exists(id), false);
});

test('a backend without openExisting() (exists, then open): a session destroyed while the request waits is let go, not brought back', async () => {
  const store = new MemorySessionStore({});
  // The Laravel and Symfony stores have no openExisting(): strict mode is exists() then open().
  /** @type {any} */ (store).openExisting = undefined;
  const id = 'memstrictdestroy0000000000000003';
  await store.update(id, (d) => void d.set('user', 'alice'));
  const holder = await store.open(id);
  const queued = lockQueued(store, id);
  const opening = openClientSession(store, id, true);
  await queued;
  await holder.destroy();
  const handle = /** @type {any} */ (await opening);
  if (handle) {
    handle.data.set('n', 1);
    await handle.save();
    await handle.close();
  }
  assert.equal(handle, null, 'the destroyed id was opened again');
  assert.equal(await store.exists(id), false, 'the destroyed session exists again');
  assert.equal(/** @type {any} */ (store).isLocked?.(id) ?? false, false, 'its lock was let go');
});
