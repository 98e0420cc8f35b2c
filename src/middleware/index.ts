/**
 * sessctl integrations: Node apps beside PHP on the same sessions.
 * - phpSession() / attachPhpSession() / withPhpSession(): PHP's session semantics for
 *   Express, Connect and plain node:http.
 * - createPhpSessionStore(): an express-session Store over the same backend.
 * - phpSessionCookieBridge(): lets express-session use PHP's unsigned PHPSESSID cookie.
 */
export { phpSession, attachPhpSession, withPhpSession } from './middleware.js';
export type { PhpSessionMiddleware, PhpSessionHandler } from './middleware.js';
export { PhpSession } from './session.js';
export type { PhpSessionStatus, PlainValue } from './session.js';
export type { PhpSessionOptions, PhpSessionErrorInfo } from './options.js';
export type { PhpCookieOptions, CacheLimiter } from './cookies.js';
export { createPhpSessionStore } from './express-store.js';
export type { PhpSessionStoreOptions, PhpSessionStoreMethods, PhpSessionStoreClass, ExpressSessionData, ExpressCookieDefaults } from './express-store.js';
export { phpSessionCookieBridge } from './cookie-bridge.js';
export type { CookieBridgeOptions } from './cookie-bridge.js';
