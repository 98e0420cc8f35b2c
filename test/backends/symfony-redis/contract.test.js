// The shared session contract on Symfony's RedisSessionHandler keys (sf_s + id, Node-side lock
// on), against a real redis-server started on a free loopback port.
import { before, after } from 'node:test';
import { SymfonyRedisSessionStore } from 'sessctl/symfony-redis';
import { needRedis, hasRedisServer, hasPhpRedis } from '../../helpers/env.js';
import { startRedis } from '../../helpers/redis-server.js';
import { contractSuite } from '../../session/contract.js';

const server = {};
before(async () => {
  if (hasRedisServer && hasPhpRedis) Object.assign(server, await startRedis());
});
after(async () => server.stop?.());

let n = 0;
contractSuite(
  'symfony-redis',
  async (settings = {}) => {
    // Each store its own prefix: ids() lists only what that test made.
    const store = new SymfonyRedisSessionStore({ url: `redis://127.0.0.1:${server.port}`, prefix: `sf_s${n++}_`, lockWaitTimeUs: 2000, ...settings });
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
