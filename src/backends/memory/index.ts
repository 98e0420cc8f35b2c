/**
 * `sessctl/memory`: the reference backend, kept in this process (tests, single-process apps,
 * the contract suite). It implements the same contract as the files and Redis stores.
 */
export { MemorySessionStore, MemorySessionHandle, type MemoryStoreOptions } from './store.js';
