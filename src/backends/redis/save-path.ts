/**
 * phpredis's `session.save_path` syntax, so users can paste what they have in php.ini.
 *
 * `redis` handler: one or more server URLs separated by commas or whitespace:
 *   `tcp://host:6379?auth=secret&database=2&prefix=app:&timeout=2.5&weight=2`,
 *   `unix:///run/redis.sock?persistent=1`, `tls://host:6380`, `host:6379`, `/run/redis.sock`.
 * `rediscluster` handler: one query string:
 *   `seed[]=10.0.0.1:7000&seed[]=10.0.0.2:7000&timeout=2&read_timeout=2&auth=…&prefix=…`.
 */
import { ConfigError } from '../../errors.js';
import { redactSecrets } from '../../session/redact.js';
import { parseQueryString, type QueryValue } from './query-string.js';

/** phpredis's default key prefix for the `redis` handler. */
export const REDIS_SESSION_PREFIX = 'PHPREDIS_SESSION:';
/** phpredis's default key prefix for the `rediscluster` handler. */
export const REDIS_CLUSTER_SESSION_PREFIX = 'PHPREDIS_CLUSTER_SESSION:';
const DEFAULT_PORT = 6379;

export type { RedisAuth } from '../shared/redis/connection.js';
import type { RedisAuth } from '../shared/redis/connection.js';

/** One server of a `redis` save_path. */
export interface RedisServerConfig {
  /** How to connect: TCP, TLS or a unix socket. */
  transport: 'tcp' | 'tls' | 'unix';
  host?: string;
  port?: number;
  /** Unix socket path. */
  socketPath?: string;
  /** phpredis `weight` (default 1): share of the ids this server gets. */
  weight: number;
  /** phpredis `database`; null = phpredis's -1 (no SELECT, so database 0). */
  database: number | null;
  /** Key prefix as bytes (phpredis `prefix`, default `PHPREDIS_SESSION:`). */
  prefix: Buffer;
  /** phpredis `timeout` in seconds when given (connect timeout); phpredis's default is 86400. */
  timeout?: number;
  /** phpredis `read_timeout` in seconds when given. */
  readTimeout?: number;
  persistent: boolean;
  auth?: RedisAuth;
  /** This server's text in the save_path, for messages. */
  raw: string;
}

export interface RedisSavePath {
  servers: RedisServerConfig[];
  /** Sum of the weights: phpredis picks a server by `first 4 id bytes % totalWeight`. */
  totalWeight: number;
  raw: string;
}

export interface RedisClusterSeed {
  host: string;
  port: number;
}

export interface RedisClusterSavePath {
  seeds: RedisClusterSeed[];
  /** Key prefix as bytes (default `PHPREDIS_CLUSTER_SESSION:`). */
  prefix: Buffer;
  timeout?: number;
  readTimeout?: number;
  persistent: boolean;
  auth?: RedisAuth;
  /** phpredis `failover` (none / error / distribute); informational, we always read masters. */
  failover: 'none' | 'error' | 'distribute';
  raw: string;
}

/**
 * Parses a `redis` handler save_path (one or more servers).
 * @throws ConfigError naming the server and the bad part (unknown scheme, bad port, weight ≤ 0,
 *   timeout ≤ 0, non-numeric database, bad auth) or when no server is given.
 */
export function parseRedisSavePath(savePath: string): RedisSavePath {
  if (typeof savePath !== 'string') throw new ConfigError('redis save_path must be a string');
  const servers: RedisServerConfig[] = [];
  // phpredis splits on commas and whitespace.
  for (const part of savePath.split(/[\s,]+/)) {
    if (part === '') continue;
    servers.push(parseServer(part));
  }
  if (servers.length === 0) {
    throw new ConfigError(`redis save_path ${JSON.stringify(redactSecrets(savePath))}: no server given (expected e.g. tcp://127.0.0.1:6379)`);
  }
  return { servers, totalWeight: servers.reduce((s, v) => s + v.weight, 0), raw: savePath };
}

function parseServer(text: string): RedisServerConfig {
  const where = `redis save_path server ${JSON.stringify(redactSecrets(text))}`;
  const q = text.indexOf('?');
  const address = q < 0 ? text : text.slice(0, q);
  // phpredis glues the fragment back onto the query, so everything after '?' is the query.
  const params = parseQueryString(q < 0 ? '' : text.slice(q + 1));

  const server: RedisServerConfig = {
    transport: 'tcp',
    weight: 1,
    database: null,
    prefix: Buffer.from(REDIS_SESSION_PREFIX),
    persistent: false,
    raw: text,
  };
  parseAddress(address, server, where);

  const weight = intParam(params, 'weight', where);
  if (weight !== undefined) {
    if (weight <= 0) throw new ConfigError(`${where}: weight must be a positive integer, got ${weight}`);
    server.weight = weight;
  }
  const database = intParam(params, 'database', where);
  if (database !== undefined) {
    if (database < -1) throw new ConfigError(`${where}: database must be ≥ 0, got ${database}`);
    server.database = database === -1 ? null : database;
  }
  const timeout = numberParam(params, 'timeout', where);
  if (timeout !== undefined) {
    if (!(timeout > 0)) throw new ConfigError(`${where}: timeout must be > 0 seconds, got ${timeout}`);
    server.timeout = timeout;
  }
  const readTimeout = numberParam(params, 'read_timeout', where);
  if (readTimeout !== undefined) {
    if (readTimeout < 0) throw new ConfigError(`${where}: read_timeout must be ≥ 0 seconds, got ${readTimeout}`);
    if (readTimeout > 0) server.readTimeout = readTimeout;
  }
  server.persistent = boolParam(params, 'persistent') ?? false;
  const prefix = params.get('prefix');
  if (prefix !== undefined) server.prefix = scalar(prefix, 'prefix', where);
  const auth = authParam(params, where);
  if (auth) server.auth = auth;
  return server;
}

function parseAddress(address: string, server: RedisServerConfig, where: string): void {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(address)?.[1]?.toLowerCase();
  if (scheme === 'unix' || scheme === 'file') {
    // phpredis turns `unix:` into `file:` and takes the URL path: unix:///run/r.sock, unix:/run/r.sock.
    const rest = address.slice(scheme.length + 1);
    const path = rest.startsWith('///') ? rest.slice(2) : rest;
    if (!path.startsWith('/') || path.startsWith('//')) throw new ConfigError(`${where}: a unix socket needs an absolute path (unix:///run/redis.sock)`);
    server.transport = 'unix';
    // Taken as written: PHP's URL parser does not %-decode the path (unix:///run/a%20b.sock is
    // the file "a%20b.sock"), so neither do we — a decoded path would be another socket.
    server.socketPath = path;
    return;
  }
  if (address.startsWith('/')) {
    server.transport = 'unix';
    server.socketPath = address;
    return;
  }
  let hostPort = address;
  if (scheme === 'tcp' || scheme === 'tls' || scheme === 'ssl') {
    if (!address.slice(scheme.length + 1).startsWith('//')) {
      throw new ConfigError(`${where}: expected ${scheme}://host:port`);
    }
    server.transport = scheme === 'tcp' ? 'tcp' : 'tls';
    hostPort = address.slice(scheme.length + 3);
  } else if (scheme !== undefined && !/^[^:]+:[0-9]+$/.test(address)) {
    throw new ConfigError(`${where}: unsupported scheme ${JSON.stringify(scheme)} (use tcp://, tls:// or unix://)`);
  }
  hostPort = hostPort.replace(/\/+$/, '');
  const m = /^(\[[0-9A-Fa-f:.]+\]|[^:/[\]@]+)(?::([0-9]*))?$/.exec(hostPort);
  if (!m) {
    // What comes before an '@' is a user and a password (phpredis takes none here): never quoted.
    const at = hostPort.lastIndexOf('@');
    const shown = at < 0 ? hostPort : `***@${hostPort.slice(at + 1)}`;
    throw new ConfigError(`${where}: cannot read host:port from ${JSON.stringify(shown)}${at < 0 ? '' : ' (phpredis takes no user:password@ in a save_path: use ?auth=)'}`);
  }
  server.host = m[1]!.startsWith('[') ? m[1]!.slice(1, -1) : m[1]!;
  const port = m[2] ? Number(m[2]) : 0;
  if (port > 65535) throw new ConfigError(`${where}: port ${port} is out of range`);
  // phpredis: no port (0) means 6379.
  server.port = port === 0 ? DEFAULT_PORT : port;
}

/**
 * Parses a `rediscluster` handler save_path.
 * @throws ConfigError when no `seed[]` is given, a seed is not host:port, a timeout is negative
 *   or auth is malformed.
 */
export function parseRedisClusterSavePath(savePath: string): RedisClusterSavePath {
  if (typeof savePath !== 'string') throw new ConfigError('rediscluster save_path must be a string');
  const where = `rediscluster save_path ${JSON.stringify(redactSecrets(savePath))}`;
  const params = parseQueryString(savePath.trim());
  const seedParam = params.get('seed');
  if (!seedParam || Buffer.isBuffer(seedParam) || seedParam.entries.size === 0) {
    throw new ConfigError(`${where}: needs at least one seed[]=host:port`);
  }
  const seeds: RedisClusterSeed[] = [];
  for (const raw of seedParam.entries.values()) {
    const text = raw.toString('utf8');
    const m = /^(\[[0-9A-Fa-f:.]+\]|[^:[\]]+):([0-9]+)$/.exec(text);
    if (!m || Number(m[2]) === 0 || Number(m[2]) > 65535) {
      throw new ConfigError(`${where}: seed ${JSON.stringify(text)} is not host:port`);
    }
    seeds.push({ host: m[1]!.startsWith('[') ? m[1]!.slice(1, -1) : m[1]!, port: Number(m[2]) });
  }
  const cfg: RedisClusterSavePath = {
    seeds,
    prefix: Buffer.from(REDIS_CLUSTER_SESSION_PREFIX),
    persistent: boolParam(params, 'persistent') ?? false,
    failover: 'none',
    raw: savePath,
  };
  const timeout = numberParam(params, 'timeout', where);
  const readTimeout = numberParam(params, 'read_timeout', where);
  if ((timeout ?? 0) < 0 || (readTimeout ?? 0) < 0) {
    throw new ConfigError(`${where}: timeouts cannot be negative`);
  }
  if (timeout) cfg.timeout = timeout;
  if (readTimeout) cfg.readTimeout = readTimeout;
  const prefix = params.get('prefix');
  if (prefix !== undefined) cfg.prefix = scalar(prefix, 'prefix', where);
  const failover = params.get('failover');
  if (failover !== undefined) {
    const f = scalar(failover, 'failover', where).toString('latin1').toLowerCase();
    cfg.failover = f === 'error' ? 'error' : f === 'distribute' ? 'distribute' : 'none';
  }
  const auth = authParam(params, where);
  if (auth) cfg.auth = auth;
  return cfg;
}

function scalar(v: QueryValue, name: string, where: string): Buffer {
  if (!Buffer.isBuffer(v)) throw new ConfigError(`${where}: ${name} must be a single value, not ${name}[]`);
  return v;
}

function intParam(params: Map<string, QueryValue>, name: string, where: string): number | undefined {
  const v = params.get(name);
  if (v === undefined) return undefined;
  const text = scalar(v, name, where).toString('latin1').trim();
  if (!/^[-+]?[0-9]{1,9}$/.test(text)) throw new ConfigError(`${where}: ${name} must be an integer, got ${JSON.stringify(text)}`);
  return Number(text);
}

function numberParam(params: Map<string, QueryValue>, name: string, where: string): number | undefined {
  const v = params.get(name);
  if (v === undefined) return undefined;
  const text = scalar(v, name, where).toString('latin1').trim();
  const n = Number(text);
  if (text === '' || !Number.isFinite(n)) throw new ConfigError(`${where}: ${name} must be a number of seconds, got ${JSON.stringify(text)}`);
  return n;
}

/** phpredis: "true", "yes" and "1" (any case) are true, anything else false. */
function boolParam(params: Map<string, QueryValue>, name: string): boolean | undefined {
  const v = params.get(name);
  if (v === undefined) return undefined;
  if (!Buffer.isBuffer(v)) return false;
  return ['true', 'yes', '1'].includes(v.toString('latin1').toLowerCase());
}

/** `auth=pass`, `auth[]=user&auth[]=pass`, `auth[user]=…&auth[pass]=…` (phpredis's forms). */
function authParam(params: Map<string, QueryValue>, where: string): RedisAuth | undefined {
  const v = params.get('auth');
  if (v === undefined) return undefined;
  if (Buffer.isBuffer(v)) return { pass: v.toString('utf8') };
  const e = v.entries;
  if (e.size !== 1 && e.size !== 2) throw new ConfigError(`${where}: auth[] must have one (password) or two (user, password) values`);
  if (e.size === 1) {
    const pass = e.get('pass') ?? e.get('0');
    if (!pass) throw new ConfigError(`${where}: auth[] needs a password`);
    return { pass: pass.toString('utf8') };
  }
  const user = e.get('user') ?? e.get('0');
  const pass = e.get('pass') ?? e.get('1');
  if (!pass) throw new ConfigError(`${where}: auth[] needs a password`);
  return user && user.length > 0 ? { user: user.toString('utf8'), pass: pass.toString('utf8') } : { pass: pass.toString('utf8') };
}

/** A server's address for messages: `tcp://127.0.0.1:6379/2`, `unix:///run/redis.sock`. */
export function describeServer(server: RedisServerConfig): string {
  const db = server.database === null ? '' : `/${server.database}`;
  if (server.transport === 'unix') return `unix://${server.socketPath}${db}`;
  const host = server.host!.includes(':') ? `[${server.host}]` : server.host;
  return `${server.transport}://${host}:${server.port}${db}`;
}
