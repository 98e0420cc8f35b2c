/**
 * Cookie reading and writing the way PHP's session module does it: the first cookie of a
 * name wins, values are URL-decoded, and Set-Cookie is written in PHP's attribute order
 * (`expires`, `Max-Age`, `path`, `domain`, `secure`, `HttpOnly`, `SameSite`).
 */
import type { ServerResponse } from 'node:http';

/** PHP's session.cookie_* settings. */
export interface PhpCookieOptions {
  /** session.cookie_lifetime in seconds; 0 (default) = a browser-session cookie. */
  lifetime?: number;
  /** session.cookie_path, default '/'. */
  path?: string;
  /** session.cookie_domain, default none. */
  domain?: string;
  /** session.cookie_secure, default false. */
  secure?: boolean;
  /** session.cookie_httponly; default true here (PHP's php.ini default is off). */
  httpOnly?: boolean;
  /** session.cookie_samesite; default 'Lax' here (PHP's php.ini default is unset). '' = omit. */
  sameSite?: 'Strict' | 'Lax' | 'None' | '';
}

/**
 * The value of the first cookie called `name` in a Cookie header, read as PHP fills $_COOKIE
 * (main/php_variables.c): pairs split at ';', spaces skipped before a name but not after it,
 * the value taken as it is — not trimmed, quotes kept — and raw-URL-decoded (%XX only; '+'
 * stays). A name without '=' counts, with an empty value. So a request carries the same
 * session for Node as for PHP: `PHPSESSID="…"` or `PHPSESSID=… ` is no valid id for either.
 * Undefined when there is no such cookie.
 */
export function readCookie(header: string | string[] | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  const text = Array.isArray(header) ? header.join('; ') : header;
  // Scans pair by pair without splitting the whole header: this runs on every request. The
  // next '=' is looked for again only once passed, so pairs without one (a;a;a;…) stay linear.
  let nextEq = text.indexOf('=');
  for (let start = 0; start < text.length; ) {
    let end = text.indexOf(';', start);
    if (end < 0) end = text.length;
    while (start < end && isCSpace(text.charCodeAt(start))) start++;
    if (nextEq >= 0 && nextEq < start) nextEq = text.indexOf('=', start);
    const eq = nextEq < 0 || nextEq > end ? end : nextEq;
    if (eq - start === name.length && text.startsWith(name, start)) {
      const value = eq < end ? text.slice(eq + 1, end) : '';
      return value.includes('%') ? rawUrlDecode(value) : value;
    }
    start = end + 1;
  }
  return undefined;
}

/** C's isspace() in the "C" locale: what PHP skips before a cookie's name. */
function isCSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/** PHP's rawurldecode(): each %XX of two hex digits is that byte (as a char code); any other '%' stays. */
function rawUrlDecode(value: string): string {
  return value.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
}

const HTTP_DATE = (d: Date) => d.toUTCString();

/** A Set-Cookie value for a session id, as PHP's php_session_send_cookie() writes it. */
export function sessionCookie(name: string, id: string, options: PhpCookieOptions, now = Date.now()): string {
  const parts = [`${name}=${encodeURIComponent(id)}`];
  // Whole seconds, as PHP's integer session.cookie_lifetime: `expires` and `Max-Age` must agree.
  const lifetime = Math.floor(options.lifetime ?? 0);
  if (lifetime > 0) {
    parts.push(`expires=${HTTP_DATE(new Date(now + lifetime * 1000))}`, `Max-Age=${lifetime}`);
  }
  return parts.concat(attributes(options)).join('; ');
}

/** A Set-Cookie value that makes the browser drop the session cookie (what PHP's setcookie() sends for a past date). */
export function expiredSessionCookie(name: string, options: PhpCookieOptions): string {
  return [`${name}=deleted`, `expires=${HTTP_DATE(new Date(1000))}`, 'Max-Age=0'].concat(attributes(options)).join('; ');
}

function attributes(options: PhpCookieOptions): string[] {
  const path = options.path ?? '/';
  // PHP writes `path=` only for a non-empty session.cookie_path (php_session_send_cookie()).
  const out = path ? [`path=${path}`] : [];
  if (options.domain) out.push(`domain=${options.domain}`);
  if (options.secure) out.push('secure');
  if (options.httpOnly ?? true) out.push('HttpOnly');
  const sameSite = options.sameSite ?? 'Lax';
  if (sameSite) out.push(`SameSite=${sameSite}`);
  return out;
}

/**
 * Adds a Set-Cookie header, replacing an earlier one for the same cookie name (so a
 * new id followed by regenerate() sends one cookie, as PHP does) and keeping the others.
 */
export function setCookieHeader(res: ServerResponse, name: string, cookie: string): void {
  const prev = res.getHeader('Set-Cookie');
  const list = prev === undefined ? [] : Array.isArray(prev) ? prev.map(String) : [String(prev)];
  const kept = list.filter((c) => !c.startsWith(`${name}=`));
  res.setHeader('Set-Cookie', [...kept, cookie]);
}

/** PHP's session.cache_limiter values. */
export type CacheLimiter = 'nocache' | 'private' | 'private_no_expire' | 'public' | '';

const PAST = 'Thu, 19 Nov 1981 08:52:00 GMT';

/** Name, its lower case (what res.hasHeader looks up: given lower case, it makes no new string), value. */
type Header = readonly [string, string, string];
type HeaderList = readonly Header[];
const header = (name: string, value: string): Header => [name, name.toLowerCase(), value];

// The headers of each limiter, made once per cache_expire value (this runs on every request).
const NOCACHE: HeaderList = [header('Expires', PAST), header('Cache-Control', 'no-store, no-cache, must-revalidate'), header('Pragma', 'no-cache')];
const privateHeaders = new Map<number, HeaderList>();
const privateNoExpireHeaders = new Map<number, HeaderList>();

function cacheLimiterHeaders(limiter: CacheLimiter, expireMinutes: number): HeaderList {
  const maxAge = Math.max(0, Math.floor(expireMinutes * 60));
  switch (limiter) {
    case 'nocache':
      return NOCACHE;
    case 'private':
      return memo(privateHeaders, maxAge, () => [header('Expires', PAST), header('Cache-Control', `private, max-age=${maxAge}`)]);
    case 'private_no_expire':
      return memo(privateNoExpireHeaders, maxAge, () => [header('Cache-Control', `private, max-age=${maxAge}`)]);
    case 'public':
      return [header('Expires', HTTP_DATE(new Date(Date.now() + maxAge * 1000))), header('Cache-Control', `public, max-age=${maxAge}`)];
    default:
      return [];
  }
}

function memo(cache: Map<number, HeaderList>, maxAge: number, make: () => HeaderList): HeaderList {
  let headers = cache.get(maxAge);
  if (!headers) {
    headers = make();
    if (cache.size < 64) cache.set(maxAge, headers);
  }
  return headers;
}

/**
 * Sends PHP's cache-limiter headers (session.cache_limiter / session.cache_expire in
 * minutes), leaving any header the application already set alone.
 */
export function sendCacheLimiter(res: ServerResponse, limiter: CacheLimiter, expireMinutes: number): void {
  const headers = cacheLimiterHeaders(limiter, expireMinutes);
  // An index loop: for-of with destructuring allocated an iterator per request.
  for (let i = 0; i < headers.length; i++) {
    const [name, lower, value] = headers[i]!;
    if (!res.hasHeader(lower)) res.setHeader(name, value);
  }
}
