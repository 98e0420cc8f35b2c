// The shared session contract, on the shipped in-memory reference backend.
import { MemorySessionStore } from 'sessctl/memory';
import { contractSuite } from '../../session/contract.js';

contractSuite('memory', async (settings = {}) => {
  const store = new MemorySessionStore(settings);
  return {
    store,
    raw: async (id) => store.getBytes(id),
    plant: async (id, bytes) => store.setBytes(id, bytes),
    age: async (id, seconds) => store.setBytes(id, store.getBytes(id), Date.now() - seconds * 1000),
  };
});
