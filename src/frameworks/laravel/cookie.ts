/**
 * The `laravel_session` cookie as the EncryptCookies middleware writes it: the value is
 * Encrypter::encrypt(CookieValuePrefix::create($name, $key) . $id, false), where the prefix is
 * hash_hmac('sha1', $name . 'v2', $key) . '|' (41 characters). Laravel drops a cookie whose
 * prefix does not match its name (a value copied from another cookie); so do we.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { LaravelDecryptError, LaravelEncrypter, type LaravelKeyOptions } from './encrypter.js';

export interface LaravelCookieOptions extends LaravelKeyOptions {
  /** The cookie name (config('session.cookie')): part of what the prefix signs. */
  name: string;
}

/** CookieValuePrefix::create($name, $key). */
export function cookieValuePrefix(name: string, key: Uint8Array): string {
  return createHmac('sha1', key).update(`${name}v2`, 'utf8').digest('hex') + '|';
}

/**
 * The cookie value as a browser holds it → the text Laravel sees (the session id for the
 * session cookie). Accepts the URL-encoded form of a Set-Cookie header / the developer tools
 * (`…%3D`) and the decoded one.
 * @throws LaravelDecryptError (EDECRYPT) when it does not verify, or its prefix is for another cookie.
 */
export function decryptLaravelCookie(value: string, options: LaravelCookieOptions | { name: string; encrypter: LaravelEncrypter }): string {
  const encrypter = 'encrypter' in options ? options.encrypter : new LaravelEncrypter(options);
  const where = `cookie ${options.name}`;
  let text = value.trim();
  if (text.includes('%')) {
    try {
      text = decodeURIComponent(text);
    } catch (err) {
      throw new LaravelDecryptError(where, { cause: err });
    }
  }
  const { plaintext, key } = encrypter.decrypt(text, where);
  // Laravel 11 checks the prefix against every key; the key that verified the payload made it.
  const want = Buffer.from(cookieValuePrefix(options.name, key), 'latin1');
  const got = plaintext.subarray(0, want.length);
  if (got.length !== want.length || !timingSafeEqual(got, want)) throw new LaravelDecryptError(where);
  return plaintext.subarray(want.length).toString('latin1');
}

/**
 * The value of a cookie Laravel accepts (as Set-Cookie carries it, URL-encoded like Symfony's
 * Cookie does for a non-raw cookie): the current key, prefix included.
 */
export function encryptLaravelCookie(text: string, options: LaravelCookieOptions | { name: string; encrypter: LaravelEncrypter }): string {
  const encrypter = 'encrypter' in options ? options.encrypter : new LaravelEncrypter(options);
  return encodeURIComponent(encrypter.encrypt(Buffer.from(cookieValuePrefix(options.name, encrypter.key) + text, 'latin1')));
}
