/**
 * sessctl — read and write PHP sessions from Node exactly as PHP does.
 * The public surface: the codec, the file store, the admin operations behind the CLI,
 * the Node integrations and the Redis backend.
 */
export * from './errors.js';
export * from './codec/index.js';
export * from './store/index.js';
export * from './admin/index.js';
export * from './integrations/index.js';
export * from './backends/redis/index.js';
export { updateSession } from './store/backend.js';
export type { SessionBackend, SessionHandle, OpenOptions, SessionSettings, SessionUpdater } from './store/backend.js';
