/** The middleware's settings, named after the php.ini session.* settings they mirror. */
import type { IncomingMessage } from 'node:http';
import type { GcReport } from '../session/admin.js';
import type { SessionBackend } from '../session/contract.js';
import { ConfigError } from '../errors.js';
import type { CacheLimiter, PhpCookieOptions } from './cookies.js';
import { resolveGcOptions } from './gc.js';

/** Where a reported problem happened. */
export interface PhpSessionErrorInfo {
  /**
   * 'open' (lock/read), 'corrupt' (stored bytes undecodable), 'save', 'close', 'timeout',
   * 'abort', 'handler', 'gc' (the collection this request's session start drew; `req` is
   * that request, already answered).
   */
  phase: 'open' | 'corrupt' | 'save' | 'close' | 'timeout' | 'abort' | 'handler' | 'gc';
  /** The session id concerned, when there is one. */
  id?: string;
  req: IncomingMessage;
}

export interface PhpSessionOptions {
  /** The session storage shared with PHP (the file store, the Redis store…). */
  backend: SessionBackend;
  /** session.name: the cookie (and query parameter) name. Default 'PHPSESSID'. */
  name?: string;
  /**
   * session.use_strict_mode: refuse an unknown id sent by the client and make a new one.
   * Default: the backend's `useStrictMode` setting, which defaults to **true** (php.ini's
   * default is 0: adopting any well-formed id a client sends is session fixation). An
   * invalid id (`../x`, too long, bad characters) is never used, whatever this says.
   */
  useStrictMode?: boolean;
  /**
   * session.use_only_cookies. Default true. false also accepts `?PHPSESSID=…` from the
   * query string (for cookie-less clients) — this enables session fixation: read the docs.
   */
  useOnlyCookies?: boolean;
  /** session_start(['read_and_close' => true]): read the session, release the lock at once, never write. */
  readAndClose?: boolean;
  /** How long to wait for PHP's lock before failing the request (LockTimeoutError). Default: the backend's. */
  lockTimeoutMs?: number;
  /**
   * The longest a request may hold the session lock (like PHP's max_execution_time).
   * After it the lock is released WITHOUT writing and the problem is reported.
   * Default 30000; 0 = no limit.
   */
  maxLockHoldMs?: number;
  /** session.cookie_* settings. */
  cookie?: PhpCookieOptions;
  /** session.cache_limiter, default 'nocache' (as PHP). '' sends no cache headers. */
  cacheLimiter?: CacheLimiter;
  /** session.cache_expire in minutes, default 180. */
  cacheExpire?: number;
  /** Whether destroy() also sends an expired cookie (PHP sends nothing). Default true. */
  expireCookieOnDestroy?: boolean;
  /** The request property the session is put on. Default 'phpSession'. */
  property?: string;
  /**
   * Called when stored session bytes cannot be decoded. The request gets a fresh session
   * with a new id; the corrupt session is left exactly as it is (PHP would delete it).
   */
  onCorrupt?: (err: Error, info: PhpSessionErrorInfo) => void;
  /** Called for every other problem the middleware handles itself (save failure, timeout, abort…). */
  onError?: (err: Error, info: PhpSessionErrorInfo) => void;
  /** Where warnings go. Default console; `null` silences them (hooks still run). */
  logger?: { warn(message: string): void } | null;
  /**
   * session.gc_probability / session.gc_divisor: each session start draws, with this
   * probability, a collection of the backend's expired sessions (`collectGarbage`), run
   * after the response in the background, at most one per process at a time. Default: the
   * backend's settings (PHP's 1 / 100 unless given). Backends that expire sessions
   * themselves (Redis) have nothing to collect: accepted and ignored, as in PHP.
   */
  gcProbability?: number;
  gcDivisor?: number;
  /** Called with the report of every finished collection (errors in it also go to onError). */
  onGc?: (report: GcReport) => void;
}

export interface ResolvedOptions extends Required<Omit<PhpSessionOptions, 'lockTimeoutMs' | 'onCorrupt' | 'onError' | 'logger' | 'onGc'>> {
  lockTimeoutMs: number | undefined;
  onGc: PhpSessionOptions['onGc'];
  onCorrupt: PhpSessionOptions['onCorrupt'];
  onError: PhpSessionOptions['onError'];
  logger: { warn(message: string): void } | null;
}

// A cookie-name token without '.': PHP refuses to send a session cookie whose name has one of
// "=,;.[ \t\r\n\v\f" (SESSION_FORBIDDEN_CHARS), and reads `a.b` back as `$_COOKIE['a_b']`.
const COOKIE_NAME = /^[A-Za-z0-9!#$%&'*+\-^_`|~]+$/;
// What PHP's is_numeric_string() accepts among those characters ("12", "-1", "+1", "1e5", "1E+5"):
// session.name refuses it ("cannot be numeric or empty").
const NUMERIC_NAME = /^[+-]?[0-9]+(?:[eE][+-]?[0-9]+)?$/;

/**
 * Fills in defaults and checks the settings once, when the middleware is made.
 * @throws ConfigError for a missing backend or a name PHP would refuse (empty, numeric, bad characters, '.').
 */
export function resolveOptions(options: PhpSessionOptions): ResolvedOptions {
  if (!options || typeof options.backend?.open !== 'function') throw new ConfigError('phpSession: options.backend (a SessionBackend) is required');
  const name = options.name ?? 'PHPSESSID';
  if (!COOKIE_NAME.test(name) || NUMERIC_NAME.test(name)) throw new ConfigError(`phpSession: invalid session name ${JSON.stringify(name)}`);
  const sameSite = options.cookie?.sameSite;
  if (sameSite !== undefined && !['Strict', 'Lax', 'None', ''].includes(sameSite)) {
    throw new ConfigError(`phpSession: cookie.sameSite must be Strict, Lax, None or '', got ${JSON.stringify(sameSite)}`);
  }
  const lifetime = options.cookie?.lifetime ?? 0;
  if (!Number.isFinite(lifetime) || lifetime < 0) throw new ConfigError(`phpSession: cookie.lifetime must be >= 0 seconds, got ${lifetime}`);
  const limiter = options.cacheLimiter ?? 'nocache';
  if (!['nocache', 'private', 'private_no_expire', 'public', ''].includes(limiter)) {
    throw new ConfigError(`phpSession: unknown cacheLimiter ${JSON.stringify(limiter)}`);
  }
  const hold = options.maxLockHoldMs ?? 30000;
  if (!Number.isFinite(hold) || hold < 0) throw new ConfigError(`phpSession: maxLockHoldMs must be >= 0, got ${hold}`);
  const gc = resolveGcOptions(options, options.backend, 'phpSession');
  return {
    backend: options.backend,
    name,
    useStrictMode: options.useStrictMode ?? options.backend.settings?.useStrictMode ?? true,
    useOnlyCookies: options.useOnlyCookies ?? true,
    readAndClose: options.readAndClose ?? false,
    lockTimeoutMs: options.lockTimeoutMs,
    maxLockHoldMs: hold,
    cookie: { ...options.cookie },
    cacheLimiter: limiter,
    cacheExpire: options.cacheExpire ?? 180,
    expireCookieOnDestroy: options.expireCookieOnDestroy ?? true,
    property: options.property ?? 'phpSession',
    onCorrupt: options.onCorrupt,
    onError: options.onError,
    logger: options.logger === undefined ? console : options.logger,
    gcProbability: gc.gcProbability,
    gcDivisor: gc.gcDivisor,
    onGc: options.onGc,
  };
}
