/**
 * Secrets inside a `session.save_path` (phpredis `auth=`, `auth[]=`, `auth[user]=…&auth[pass]=…`,
 * a `user:password@host` URL, memcached SASL `password=`) never reach a message, a log or the
 * terminal: every text that may quote a save path goes through {@link redactSecrets}.
 */

/** Query parameters whose value is a secret, in any of PHP's array spellings. */
const SECRET_PARAM = /(^|[?&\s,;"'])((?:auth|password|pass|passwd|secret)(?:\[[^\]=&]*\])?|(?:auth|password)%5B[^=&]*%5D)=([^&\s,;"']*)/gi;
/** `scheme://user:password@host` */
const USERINFO = /(\b[a-z][a-z0-9+.-]*:\/\/[^/@:\s"']*:)([^@\s"']*)@/gi;
/** `redis://password@host`: Redis URLs take a lone user-info as the password (Symfony, Laravel). */
const REDIS_LONE_SECRET = /(\brediss?:\/\/)([^/@:\s"']+)@/gi;

/** The text with every secret value replaced by `***` (the parameter names stay, so the message still says what was set). */
export function redactSecrets(text: string): string {
  return text.replace(SECRET_PARAM, (_m, lead: string, name: string, value: string) => `${lead}${name}=${value === '' ? '' : '***'}`).replace(USERINFO, '$1***@').replace(REDIS_LONE_SECRET, '$1***@');
}
