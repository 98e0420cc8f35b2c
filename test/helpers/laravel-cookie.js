// The steps of the Laravel interop tests that do not depend on the driver (files, redis,
// memcached): the session cookie as Laravel sets and receives it, Node changing a session that
// Laravel's next request must see, and a session Node issues that Laravel must adopt.
import assert from 'node:assert/strict';
import { LaravelDecryptError, loginKey } from 'sessctl/laravel';

/** The cookie's value in a Set-Cookie header. */
export const cookieOf = (/** @type {string} */ setCookie) => setCookie.slice(setCookie.indexOf('=') + 1, setCookie.indexOf(';'));
/** What PHP's $_COOKIE holds for a value sent as set (PHP url-decodes cookies). */
export const asSent = (/** @type {string} */ value) => decodeURIComponent(value);

/**
 * @typedef {{
 *   store: import('sessctl').SessionBackend,
 *   sessions: import('sessctl/laravel').LaravelSessions,
 *   request(cookie: string | null, ops?: unknown[][]): Promise<any>,
 * }} LaravelApp
 */

/**
 * Node logs the user out of `web` and in to `admin` and counts a visit through the cookie alone;
 * Laravel's next request on the same cookie keeps the id and sees all of it.
 * @param {Pick<LaravelApp, 'sessions' | 'request'>} app
 * @param {string} cookie
 * @param {string} id the session's id
 * @returns {Promise<any>} Laravel's answer, for the driver's own checks
 */
export async function checkNodeChangeSeenByLaravel({ sessions, request }, cookie, id) {
  await sessions.update(cookie, (v) => {
    v.put('from_node.visits', 3);
    v.logout();
    v.login(7, 'admin');
  });
  const second = await request(asSent(cookie), []);
  assert.equal(second.id, id);
  assert.deepEqual(second.all.from_node, { visits: 3 });
  assert.equal(second.all[loginKey('web')], undefined);
  assert.equal(second.all[loginKey('admin')], 7);
  return second;
}

/**
 * Node issues a session and its cookie and Laravel adopts both (same id, Node's CSRF token);
 * a tampered cookie is refused by Node and gets a fresh session from Laravel.
 * @param {LaravelApp} app
 */
export async function checkNodeIssuedCookie({ store, sessions, request }) {
  const id = await store.createId();
  await store.update(id, (d) => void d.set('_token', 'node-made-token'));
  const cookie = sessions.cookieFor(id);
  const seen = await request(asSent(cookie), [['increment', 'n']]);
  assert.equal(seen.id, id);
  assert.equal(seen.token, 'node-made-token');
  assert.equal((await store.read(id))?.get('n'), 1);

  const tampered = cookie.slice(0, 20) + (cookie[20] === 'a' ? 'b' : 'a') + cookie.slice(21);
  await assert.rejects(sessions.read(tampered), LaravelDecryptError);
  const fresh = await request(asSent(tampered), []);
  assert.notEqual(fresh.id, id);
}
