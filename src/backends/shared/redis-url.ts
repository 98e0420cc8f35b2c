/**
 * A Redis server as a URL, the way framework apps configure it (`REDIS_URL`, Symfony's and
 * Laravel's DSNs): `redis://[user:password@]host[:port][/db]`, `rediss://…` (TLS) and
 * `unix:///path/to/redis.sock`. Used by the framework Redis backends, whose savePath is this URL
 * (phpredis's own `tcp://host:port?auth=…` syntax is the `redis` backend's, in its save-path.ts).
 */
import { ConfigError } from '../../errors.js';
import { redactSecrets } from '../../session/redact.js';
import type { RedisEndpoint } from './redis-connection.js';

const DEFAULT_PORT = 6379;

/** The endpoint, plus its text for messages (the password never in it). */
export interface RedisUrl extends RedisEndpoint {
  /** `redis://127.0.0.1:6379/2`, `unix:///run/redis.sock`: no credentials. */
  label: string;
}

/** The URL with any user-info gone: `redis://secret@host` has a password without a colon. */
const hideUserInfo = (url: string) => redactSecrets(url).replace(/^([a-z]+:\/\/)[^/@]*@/i, '$1***@');

function fail(url: string, why: string): never {
  throw new ConfigError(`Redis URL ${JSON.stringify(hideUserInfo(url))}: ${why} (expected redis://host:port[/db] with an optional user:password@ before the host, rediss://… or unix:///path.sock)`);
}

function decode(url: string, part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return fail(url, `the ${what} is not valid percent-encoding`);
  }
}

/**
 * Parses a Redis URL.
 * @throws ConfigError (password redacted) for another scheme, a bad port or database number,
 *   a missing host or socket path.
 */
export function parseRedisUrl(url: string): RedisUrl {
  if (typeof url !== 'string' || url.trim() === '') fail(String(url), 'empty');
  const text = url.trim();
  const scheme = /^([a-z]+):\/\//i.exec(text)?.[1]?.toLowerCase();
  if (scheme === 'unix') {
    const path = text.slice('unix://'.length);
    if (!path.startsWith('/') || path.includes('?') || path.includes('\0')) fail(url, 'a unix socket needs an absolute path: unix:///run/redis.sock');
    return { transport: 'unix', socketPath: path, database: null, label: `unix://${path}` };
  }
  if (scheme !== 'redis' && scheme !== 'rediss') fail(url, scheme ? `unknown scheme "${scheme}"` : 'no scheme');
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    return fail(url, 'not a URL');
  }
  if (parsed.search || parsed.hash) fail(url, 'query strings and fragments are not supported');
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) fail(url, 'no host');
  const port = parsed.port === '' ? DEFAULT_PORT : Number(parsed.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) fail(url, `bad port "${parsed.port}"`);
  const dbText = parsed.pathname.replace(/^\//, '');
  let database: number | null = null;
  if (dbText !== '') {
    if (!/^\d{1,5}$/.test(dbText)) fail(url, `the database must be a number, got "${dbText}"`);
    database = Number(dbText);
  }
  const endpoint: RedisUrl = {
    transport: scheme === 'rediss' ? 'tls' : 'tcp',
    host,
    port,
    database,
    label: `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}${database === null ? '' : `/${database}`}`,
  };
  if (parsed.password !== '') {
    const user = decode(url, parsed.username, 'user name');
    endpoint.auth = user === '' ? { pass: decode(url, parsed.password, 'password') } : { user, pass: decode(url, parsed.password, 'password') };
  } else if (parsed.username !== '') {
    // redis://secret@host: the user-info alone is taken as the password, as Symfony's and Laravel's DSN parsers do.
    endpoint.auth = { pass: decode(url, parsed.username, 'password') };
  }
  return endpoint;
}
