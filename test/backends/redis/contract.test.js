// The shared session contract, on the Redis backend (phpredis layout, locking on), against
// a real redis-server started on a free loopback port.
import { before, after } from 'node:test';
import { RedisSessionStore } from 'sessctl/redis';
import { needRedis, hasRedisServer, hasPhpRedis } from '../../helpers/env.js';
import { startRedis } from '../../helpers/redis-server.js';
import { contractSuite } from '../../session/contract.js';

const server = {};
before(async () => {
  if (hasRedisServer && hasPhpRedis) Object.assign(server, await startRedis());
});
after(async () => server.stop?.());

contractSuite(
  'redis',
  async (settings = {}) => {
    const store = new RedisSessionStore({ savePath: server.url, locking: true, lockWaitTimeUs: 2000, ...settings });
    return {
      store,
      raw: (id) => store.readBytes(id),
      plant: async (id, bytes) => {
        const loc = store.locate(id);
        await loc.target.send(['SET', loc.key, Buffer.from(bytes)], loc.key);
      },
    };
  },
  needRedis(),
);
