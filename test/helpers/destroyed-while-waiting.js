// Strict mode and a destroy while a request waits for the session's lock (the scenario every
// backend must get right): `holderStore` stores `id` and holds its lock; `open()` (the request,
// through `waiterStore`) queues behind it; once `queued` says the request waits, the holder
// destroys the session. The request must then find no session — not the destroyed id brought
// back, empty, under the old cookie.
import assert from 'node:assert/strict';

/**
 * @param {any} holderStore the store that writes the session and destroys it
 * @param {any} waiterStore the store the request goes through (the same store, or another client)
 * @param {string} id
 * @param {(id: string) => Promise<any>} open the request's start: openClientSession(…) or start(…)
 * @param {(store: any, id: string) => Promise<void>} queued resolves once `waiterStore` waits for the lock
 * @returns {Promise<any>} what the request got
 */
export async function destroyedWhileWaiting(holderStore, waiterStore, id, open, queued) {
  await holderStore.update(id, (/** @type {any} */ d) => void d.set('user', 'alice'));
  const holder = await holderStore.open(id);
  const waiting = queued(waiterStore, id);
  const opening = open(id);
  await waiting;
  await holder.destroy();
  return opening;
}

/** openClientSession's answer must be null, and writing whatever it gave must not bring the session back. */
export async function assertNotBroughtBack(/** @type {any} */ handle, /** @type {any} */ store, /** @type {string} */ id) {
  if (handle) {
    handle.data.set('n', 1);
    await handle.save();
    await handle.close();
  }
  assert.equal(handle, null, 'the destroyed id was opened again');
  assert.equal(await store.exists(id), false, 'the destroyed session exists again');
}

/** start()'s answer must be a new id, the destroyed one staying gone. */
export async function assertNewId(/** @type {any} */ handle, /** @type {any} */ store, /** @type {string} */ id) {
  const newId = handle.id;
  await handle.close();
  assert.notEqual(newId, id);
  assert.equal(await store.exists(id), false);
}
