/**
 * Lets express-session use PHP's own cookie. express-session only accepts a signed cookie
 * (`s:<id>.<signature>`) and PHP only an unsigned one (`<id>`): this middleware, mounted
 * BEFORE express-session with the same name and secret, signs the incoming PHP cookie
 * for express-session and strips the signature from the cookie express-session sends.
 *
 * The signature then protects nothing (anyone can send an unsigned id, as with PHP):
 * the security of the id is its randomness, exactly as for PHP.
 */
import { createHmac } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ConfigError } from '../errors.js';

export interface CookieBridgeOptions {
  /** The cookie name, shared by PHP (session.name) and express-session (`name`). Default 'PHPSESSID'. */
  name?: string;
  /** express-session's `secret` (the first one signs). */
  secret: string | string[];
  /** Only ids passing this check are signed (pass the backend's isValidId). Default: PHP's id charset, 1..256. */
  isValidId?: (id: string) => boolean;
}

const PHP_ID = /^[A-Za-z0-9,-]{1,256}$/;

/** The signature express-session (cookie-signature) expects. */
function sign(value: string, secret: string): string {
  return `${value}.${createHmac('sha256', secret).update(value).digest('base64').replace(/=+$/, '')}`;
}

/**
 * Middleware `(req, res, next)`; see the module comment.
 * @throws ConfigError at once when no secret is given.
 */
export function phpSessionCookieBridge(options: CookieBridgeOptions): (req: IncomingMessage, res: ServerResponse, next: () => void) => void {
  const name = options.name ?? 'PHPSESSID';
  const secret = Array.isArray(options.secret) ? options.secret[0] : options.secret;
  if (!secret) throw new ConfigError('phpSessionCookieBridge: the express-session secret is required');
  const valid = options.isValidId ?? ((id: string) => PHP_ID.test(id));

  return (req, res, next) => {
    const header = req.headers.cookie;
    if (header) {
      let done = false;
      req.headers.cookie = header
        .split(';')
        .map((part) => {
          const eq = part.indexOf('=');
          if (done || eq < 0 || part.slice(0, eq).trim() !== name) return part;
          done = true; // PHP and express-session both take the first cookie of a name
          let id: string;
          try {
            id = decodeURIComponent(part.slice(eq + 1).trim());
          } catch {
            return part;
          }
          return valid(id) ? ` ${name}=${encodeURIComponent(`s:${sign(id, secret)}`)}` : part;
        })
        .join(';')
        .trimStart();
    }
    const setHeader = res.setHeader;
    res.setHeader = function (this: ServerResponse, field: string, value: number | string | readonly string[]) {
      if (field.toLowerCase() === 'set-cookie') {
        value = Array.isArray(value) ? value.map(unsignCookie) : typeof value === 'string' ? unsignCookie(value) : value;
      }
      return setHeader.call(this, field, value);
    } as typeof res.setHeader;
    next();
  };

  function unsignCookie(cookie: string): string {
    if (!cookie.startsWith(`${name}=`)) return cookie;
    const semi = cookie.indexOf(';');
    const raw = cookie.slice(name.length + 1, semi < 0 ? undefined : semi);
    let value: string;
    try {
      value = decodeURIComponent(raw);
    } catch {
      return cookie;
    }
    if (!value.startsWith('s:') || value.lastIndexOf('.') < 2) return cookie;
    const id = value.slice(2, value.lastIndexOf('.'));
    return `${name}=${encodeURIComponent(id)}${semi < 0 ? '' : cookie.slice(semi)}`;
  }
}
