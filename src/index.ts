/**
 * sessctl — read and write PHP sessions from Node exactly as PHP does.
 * The public surface: the codec, the file store, the admin operations behind the CLI,
 * the Node integrations and the Redis backend.
 */
export * from './codec/index.js';
export type { SessionBackend, SessionHandle, OpenOptions } from './store/backend.js';
