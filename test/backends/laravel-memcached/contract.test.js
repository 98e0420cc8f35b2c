// The shared session contract, on Laravel's memcached session driver layout (its cache prefix,
// php-memcached's string items, the session block lock), against a real memcached started on
// a free loopback port.
import { LaravelMemcachedSessionStore } from 'sessctl/laravel-memcached';
import { needMemcached } from '../../helpers/env.js';
import { useMemcached } from '../../helpers/memcached-server.js';
import { contractSuite } from '../../session/contract.js';

const mc = useMemcached(1);
let n = 0;

contractSuite(
  'laravel-memcached',
  async (settings = {}) => {
    const store = new LaravelMemcachedSessionStore({ servers: mc.savePath, prefix: `contract${n++}_laravel_cache:`, lockPollMs: 2, ...settings });
    return {
      store,
      idPattern: /^[A-Za-z0-9]{40}$/,
      raw: async (/** @type {string} */ id) => (await store.readStored(id))?.value ?? null,
      plant: async (/** @type {string} */ id, /** @type {Uint8Array} */ bytes) => {
        const key = Buffer.from(store.keyOf(id), 'latin1');
        const extras = Buffer.alloc(8);
        extras.writeUInt32BE(600, 4);
        await store.memcached.call(key, { opcode: 0x01, extras, value: Buffer.from(bytes) }, [0], 'SET');
      },
    };
  },
  needMemcached(),
);
