/**
 * sessctl file store: PHP's `files` session save handler, with PHP's own flock locking.
 * save-path.ts (session.save_path), session-id.ts (id rules), new-session-id.ts (id
 * generation), paths.ts (files, walk, dir tree), lock.ts (flock), file-store.ts
 * (FileSessionStore / FileSessionHandle).
 */
export * from './save-path.js';
export * from './session-id.js';
export * from './new-session-id.js';
export * from './paths.js';
export * from './lock.js';
export * from './file-store.js';
