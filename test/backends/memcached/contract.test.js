// The shared session contract, on the Memcached backend (php-memcached layout, locking on),
// against a real memcached started on a free loopback port.
import { MemcachedSessionStore } from 'sessctl/memcached';
import { needMemcached } from '../../helpers/env.js';
import { useMemcached } from '../../helpers/memcached-server.js';
import { contractSuite } from '../../session/contract.js';

const mc = useMemcached(1);

contractSuite(
  'memcached',
  async (settings = {}) => {
    const store = new MemcachedSessionStore({ savePath: mc.savePath, lockWaitMinMs: 2, lockWaitMaxMs: 2, ...settings });
    return {
      store,
      raw: (id) => store.readBytes(id),
      plant: (id, bytes) => store.writeRaw(id, bytes),
    };
  },
  needMemcached(),
);
