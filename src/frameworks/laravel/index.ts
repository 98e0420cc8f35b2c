/**
 * `sessctl/laravel`: Laravel's sessions seen from Node — the encrypted session cookie
 * (APP_KEY), the meaning of the session's attributes, and the middleware.
 */
export { LaravelEncrypter, LaravelDecryptError, parseAppKey, parseCipher, type LaravelCipher, type LaravelKeyOptions } from './encrypter.js';
export { cookieValuePrefix, decryptLaravelCookie, encryptLaravelCookie, type LaravelCookieOptions } from './cookie.js';
export { LaravelSessionView, loginKey } from './session.js';
export { laravelPayloadCipher, type LaravelPayloadCipher } from './payload.js';
export { LaravelSessions, type LaravelSessionsOptions } from './sessions.js';
export { laravelSession, type LaravelSessionOptions, type LaravelRequest } from './middleware.js';
