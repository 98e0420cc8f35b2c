// The shared session contract, on the Redis backend (phpredis layout, locking on), against
// a real redis-server started on a free loopback port.
import { RedisSessionStore } from 'sessctl/redis';
import { needRedis } from '../../helpers/env.js';
import { redisContractFixture, useRedisServer } from '../../helpers/redis-server.js';
import { contractSuite } from '../../session/contract.js';

const { server } = useRedisServer();

contractSuite(
  'redis',
  async (settings = {}) => redisContractFixture(new RedisSessionStore({ savePath: server.url, locking: true, lockWaitTimeUs: 2000, ...settings })),
  needRedis(),
);
