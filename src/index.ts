/**
 * `sessctl`: PHP's serialize() and session formats (the codec), the backend-neutral session
 * contract, and the error types. Backends, the middleware and the admin library are their
 * own entries (`sessctl/files`, `sessctl/redis`, `sessctl/memory`, `sessctl/middleware`,
 * `sessctl/admin`), so importing this one loads no backend and no client library.
 */
export * from './errors.js';
export * from './codec/index.js';
export * from './session/index.js';
