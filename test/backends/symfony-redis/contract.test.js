// The shared session contract on Symfony's RedisSessionHandler keys (sf_s + id, Node-side lock
// on), against a real redis-server started on a free loopback port.
import { SymfonyRedisSessionStore } from 'sessctl/symfony-redis';
import { needRedis } from '../../helpers/env.js';
import { redisContractFixture, useRedisServer } from '../../helpers/redis-server.js';
import { contractSuite } from '../../session/contract.js';

const { server } = useRedisServer();

let n = 0;
contractSuite(
  'symfony-redis',
  // Each store its own prefix: ids() lists only what that test made.
  async (settings = {}) =>
    redisContractFixture(new SymfonyRedisSessionStore({ url: `redis://127.0.0.1:${server.port}`, prefix: `sf_s${n++}_`, lockWaitTimeUs: 2000, ...settings })),
  needRedis(),
);
