export { discoverSystemSessions, type PhpConfig, type SystemTarget, type SystemDiscovery, type DiscoverOptions } from './discover.js';
export { gcSystem, type SystemGcResult } from './gc.js';
export { parseFpmPools, type FpmPool } from './fpm-pool.js';
