/**
 * A Redis server written as a URL — the form framework configurations use (Laravel's
 * `REDIS_URL`, Symfony's DSNs): `redis://[user:password@]host[:port][/db]`, `rediss://…` for
 * TLS, `unix:///path/to/redis.sock` (optionally `?database=N`). Percent-escapes in the user and
 * password are decoded; the password never appears in `label`.
 */
import { ConfigError } from '../../../errors.js';
import type { RedisEndpoint } from './connection.js';

export interface RedisUrl extends RedisEndpoint {
  database: number;
  /** `redis://host:port/db`, `unix:///path.sock?database=N` — the URL as written, without credentials (for messages). */
  label: string;
}

const DEFAULT_PORT = 6379;

/** @throws ConfigError naming what is wrong (never echoing the password). */
export function parseRedisUrl(text: string, who = 'redis url'): RedisUrl {
  if (typeof text !== 'string' || text === '') throw new ConfigError(`${who}: expected redis://host:port[/db], rediss://… or unix:///path.sock`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(`${who}: not a URL (expected redis://[user:password@]host:port[/db], rediss://… or unix:///path.sock)`);
  }
  const auth = url.password !== '' || url.username !== '' ? credentials(url, who) : undefined;
  if (url.protocol === 'unix:') {
    if (url.pathname === '' || url.pathname === '/') throw new ConfigError(`${who}: unix:// needs a socket path (unix:///run/redis/redis.sock)`);
    const database = databaseOf(url.searchParams.get('database') ?? url.searchParams.get('db') ?? '0', who);
    const socketPath = decodeURIComponent(url.pathname);
    return { transport: 'unix', socketPath, database, ...(auth ? { auth } : {}), label: `unix://${socketPath}${database ? `?database=${database}` : ''}` };
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new ConfigError(`${who}: unsupported scheme ${JSON.stringify(url.protocol)} (redis:, rediss: or unix:)`);
  if (url.hostname === '') throw new ConfigError(`${who}: no host`);
  const port = url.port === '' ? DEFAULT_PORT : Number(url.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ConfigError(`${who}: bad port ${JSON.stringify(url.port)}`);
  const path = url.pathname.replace(/^\//, '');
  const database = databaseOf(path === '' ? (url.searchParams.get('database') ?? '0') : path, who);
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const transport = url.protocol === 'rediss:' ? 'tls' : 'tcp';
  return { transport, host, port, database, ...(auth ? { auth } : {}), label: `${url.protocol}//${url.hostname}:${port}/${database}` };
}

function credentials(url: URL, who: string): { user?: string; pass: string } {
  try {
    const user = decodeURIComponent(url.username);
    const pass = decodeURIComponent(url.password);
    // `redis://:secret@host` is a password alone; `redis://secret@host` (no colon) is taken the same way, as Redis clients do.
    if (pass === '') return { pass: user };
    return user === '' ? { pass } : { user, pass };
  } catch {
    throw new ConfigError(`${who}: the credentials are not valid percent-encoding`);
  }
}

function databaseOf(text: string, who: string): number {
  if (!/^\d{1,5}$/.test(text)) throw new ConfigError(`${who}: the database must be a number, got ${JSON.stringify(text)}`);
  return Number(text);
}
