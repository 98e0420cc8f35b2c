/**
 * php-memcached's `session.save_path`: a server list parsed by libmemcached's
 * memcached_servers_parse(), so users can paste what they have in php.ini:
 *   `127.0.0.1:11211`, `host1:11211,host2:11211`, `host:11211:2` (weight 2), `host:11211 2`,
 *   `[::1]:11211`, `/run/memcached/memcached.sock`, `localhost` (port 11211).
 * Split on `,`; one whitespace after a comma is skipped; no port (or 0) means 11211; a name
 * starting with `/` is a unix socket. `PERSISTENT=` (php-memcached 2) is refused, as PHP does.
 */
import { ConfigError } from '../../../errors.js';

export const MEMCACHED_DEFAULT_PORT = 11211;

export interface MemcachedServer {
  /** Host as written (what libmemcached hashes for ketama), IPv6 with its brackets. */
  hostname: string;
  /** Host to connect to (IPv6 without brackets); absent for a unix socket. */
  host?: string;
  port?: number;
  socketPath?: string;
  /** libmemcached weight (default 1); used by `ketama_weighted` only. */
  weight: number;
  /** `127.0.0.1:11211`, `unix:/run/memcached.sock` — for messages. */
  label: string;
}

export interface MemcachedSavePath {
  servers: MemcachedServer[];
  raw: string;
}

/**
 * @throws ConfigError for an empty list, a `PERSISTENT=` option, a bad port or an empty host.
 */
export function parseMemcachedSavePath(savePath: string): MemcachedSavePath {
  if (typeof savePath !== 'string') throw new ConfigError('memcached save_path must be a string');
  const where = `memcached save_path ${JSON.stringify(savePath)}`;
  if (savePath.includes('PERSISTENT=')) throw new ConfigError(`${where}: PERSISTENT is replaced by memcached.sess_persistent = On (as php-memcached 3 says)`);
  const servers: MemcachedServer[] = [];
  let rest = savePath;
  while (rest.length > 0) {
    const comma = rest.indexOf(',');
    const part = comma >= 0 ? rest.slice(0, comma) : rest;
    rest = comma >= 0 ? rest.slice(comma + 1) : '';
    if (/^\s/.test(rest)) rest = rest.slice(1);
    servers.push(parseServer(part, where));
  }
  if (servers.length === 0) throw new ConfigError(`${where}: names no server (expected host:port[,host:port…])`);
  return { servers, raw: savePath };
}

function parseServer(text: string, where: string): MemcachedServer {
  const open = text.indexOf('[');
  const close = open >= 0 ? text.indexOf(']', open + 1) : -1;
  const colon = open >= 0 && close >= 0 ? text.indexOf(':', close + 1) : text.indexOf(':');
  const hostname = colon >= 0 ? text.slice(0, colon) : text;
  let port = 0;
  let weight = 0;
  if (colon >= 0) {
    const after = text.slice(colon + 1);
    const m = /^\s*[0-9]*/.exec(after)![0].trim();
    port = m === '' ? 0 : Number(m);
    if (port > 65535) throw new ConfigError(`${where}: port ${port} is out of range`);
    const space = after.indexOf(' ');
    const sep = space >= 0 ? space : after.indexOf(':');
    if (sep >= 0) {
      const w = /^\s*[0-9]*/.exec(after.slice(sep + 1))![0].trim();
      weight = w === '' ? 0 : Number(w);
    }
  }
  if (hostname.trim() === '') throw new ConfigError(`${where}: a server without a host name in ${JSON.stringify(text)}`);
  if (hostname.startsWith('/')) {
    return { hostname, socketPath: hostname, weight: weight || 1, label: `unix:${hostname}` };
  }
  const p = port === 0 ? MEMCACHED_DEFAULT_PORT : port;
  const host = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  return { hostname, host, port: p, weight: weight || 1, label: `${hostname}:${p}` };
}
