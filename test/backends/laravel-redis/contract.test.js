// The shared session contract, on Laravel's redis session driver layout (its cache prefix, the
// RedisStore's serialize() around the payload, the session block lock), against a real
// redis-server started on a free loopback port.
import { before, after } from 'node:test';
import { LaravelRedisSessionStore } from 'sessctl/laravel-redis';
import { needRedis, hasRedisServer, hasPhpRedis } from '../../helpers/env.js';
import { startRedis } from '../../helpers/redis-server.js';
import { contractSuite } from '../../session/contract.js';

/** @type {any} */
const server = {};
before(async () => {
  if (hasRedisServer && hasPhpRedis) Object.assign(server, await startRedis());
});
after(async () => server.stop?.());

/** serialize() of a PHP string, as Laravel's RedisStore stores the session payload. */
const wrap = (/** @type {Uint8Array} */ b) => Buffer.concat([Buffer.from(`s:${b.length}:"`), b, Buffer.from('";')]);
let n = 0;

contractSuite(
  'laravel-redis',
  async (settings = {}) => {
    const store = new LaravelRedisSessionStore({ url: `redis://127.0.0.1:${server.port}`, prefix: `contract${n++}_laravel_cache:`, lockPollMs: 2, ...settings });
    const raw = async (/** @type {string} */ id) => {
      const v = await store.readStored(id);
      return v === null ? null : v.subarray(v.indexOf(':"') + 2, v.length - 2);
    };
    return {
      store,
      idPattern: /^[A-Za-z0-9]{40}$/,
      raw,
      plant: async (/** @type {string} */ id, /** @type {Uint8Array} */ bytes) => {
        await store.redis.target.send(['SET', store.keyOf(id), wrap(bytes)]);
      },
    };
  },
  needRedis(),
);
