/**
 * One Redis endpoint as the store sees it: raw commands in, replies out with every bulk string
 * as a Buffer (session data is bytes, never pushed through UTF-8), every failure a BackendError
 * naming the server, and nothing that waits longer than the configured timeouts.
 *
 * The official client's own reconnect loop is switched off (`reconnectStrategy: false`): a lost
 * connection fails the commands in flight at once, and the next call opens a fresh connection
 * (bounded by the connect timeout) instead of a call hanging while the client retries forever.
 *
 * Shared by the phpredis backend (`redis`), `laravel-redis` and `symfony-redis`.
 */
import type * as RedisLib from 'redis';
import { BackendError } from '../../../errors.js';

/** AUTH credentials: an ACL user (Redis 6+) and password, or a password alone. */
export interface RedisAuth {
  user?: string;
  pass: string;
}

/** Where one Redis server is and how to log in: what a connection needs from any configuration syntax. */
export interface RedisEndpoint {
  transport: 'tcp' | 'tls' | 'unix';
  host?: string;
  port?: number;
  socketPath?: string;
  /** SELECT this database after connecting; null / absent = database 0. */
  database?: number | null;
  auth?: RedisAuth;
}

export type RedisArg = string | Buffer;

/**
 * The `redis` client is an optional peer dependency: loaded on the first connection, so that
 * importing `sessctl/redis` costs nothing until it is used, and a missing package is one
 * clear error instead of a module-resolution stack trace.
 */
let redisLib: typeof RedisLib | undefined;
/** Replies as Buffers (session bytes are not UTF-8 text): set once the client is loaded. */
let bufferTypes: ReturnType<typeof bufferReplies> | undefined;
async function loadRedis(): Promise<typeof RedisLib> {
  if (!redisLib) {
    try {
      redisLib = await import('redis');
      bufferTypes = bufferReplies(redisLib);
    } catch (err) {
      throw new BackendError('sessctl\'s Redis backends (sessctl/redis, sessctl/laravel-redis, sessctl/symfony-redis) need the "redis" package (an optional peer dependency): run `npm install redis`', 'ENOCLIENT', { cause: err });
    }
  }
  return redisLib;
}
function bufferReplies(lib: typeof RedisLib) {
  return { [lib.RESP_TYPES.BLOB_STRING]: Buffer, [lib.RESP_TYPES.SIMPLE_STRING]: Buffer } as const;
}

export interface TimeoutOptions {
  /** Connect timeout (ms). */
  connectTimeoutMs: number;
  /** Per-command timeout (ms): no reply in time → BackendError, the call returns. */
  commandTimeoutMs: number;
}

/** The store's view of a place to send commands to (one server, or a cluster routed by key). */
export interface CommandTarget {
  /** `tcp://127.0.0.1:6379`, `rediscluster(10.0.0.1:7000,…)` — used in messages. */
  readonly label: string;
  /**
   * True for a Redis Cluster: two keys (a session and its `_LOCK`) may hash to different slots
   * and nodes, so no script may touch both (Redis refuses it with CROSSSLOT).
   */
  readonly sharded?: boolean;
  /**
   * Sends one command. `key` is the key the command touches (for cluster routing).
   * @throws BackendError on connection loss, timeout or an error reply.
   */
  send(args: RedisArg[], key?: RedisArg, readonly?: boolean): Promise<unknown>;
  /** The single-server targets to SCAN (itself, or each cluster master). */
  scanTargets(): Promise<CommandTarget[]>;
  close(): Promise<void>;
}

// The client's generic types are too elaborate to be useful here; the store only needs these.
interface MinimalClient {
  isOpen: boolean;
  isReady: boolean;
  connect(): Promise<unknown>;
  sendCommand(args: RedisArg[], options?: object): Promise<unknown>;
  on(event: 'error', listener: (err: unknown) => void): unknown;
  close(): Promise<void>;
  destroy(): void;
}

/** Turns whatever the client threw into a BackendError that says where and what. */
export function backendError(label: string, what: string, err: unknown, timeoutMs?: number): BackendError {
  if (err instanceof BackendError) return err;
  const e = err as { name?: string; message?: string; code?: string; constructor?: { name?: string } } | undefined;
  const name = e?.name ?? '';
  const msg = e?.message ?? String(err);
  if (name === 'TimeoutError' || name === 'ConnectionTimeoutError' || e?.constructor?.name?.includes('Timeout')) {
    return new BackendError(`${label}: ${what}: no answer within ${timeoutMs ?? '?'} ms (${msg})`, 'EBACKENDTIMEOUT', { cause: err });
  }
  if (redisLib && err instanceof redisLib.ErrorReply) {
    return new BackendError(`${label}: ${what}: Redis replied with an error: ${msg}`, 'EBACKEND', { cause: err });
  }
  const code = e?.code ? ` (${e.code})` : '';
  return new BackendError(`${label}: ${what}: connection failed: ${msg}${code}`, 'EBACKENDCONN', { cause: err });
}

/**
 * The client's own `timeout` command option only covers the wait *before* a command is written;
 * a server that accepted the command and then hangs would keep the call waiting forever. So
 * every command races a timer of ours.
 */
function withTimeout<T>(p: Promise<T>, ms: number, message?: string): Promise<T> {
  // One promise and one timer (this wraps every command; race + finally made three more).
  // A late settlement after the timeout goes to the settled promise: ignored, never unhandled.
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(Object.assign(new Error(message ?? `command timed out after ${ms} ms`), { name: 'TimeoutError' })), ms);
    p.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

/**
 * Connects a client or cluster within `deadlineMs`; on any failure the half-made connection is
 * destroyed (its reconnect loop must not outlive the call) and a BackendError is thrown.
 */
async function connectWithin(
  conn: { connect(): Promise<unknown>; destroy(): void },
  deadlineMs: number,
  message: string,
  label: string,
  connectTimeoutMs: number,
): Promise<void> {
  try {
    await withTimeout(conn.connect(), deadlineMs, message);
  } catch (err) {
    try {
      conn.destroy();
    } catch {
      /* already gone */
    }
    throw backendError(label, 'connect', err, connectTimeoutMs);
  }
}

function commandName(args: RedisArg[]): string {
  return String(args[0]).toUpperCase();
}

/** A single Redis server, connected lazily and reconnected on the next call after a failure. */
export class ServerConnection implements CommandTarget {
  readonly label: string;
  #client: MinimalClient | undefined;
  #connecting: Promise<MinimalClient> | undefined;
  #closed = false;

  constructor(
    label: string,
    private readonly server: RedisEndpoint,
    private readonly timeouts: TimeoutOptions,
  ) {
    this.label = label;
  }

  async send(args: RedisArg[]): Promise<unknown> {
    const client = await this.#connected();
    try {
      return await withTimeout(client.sendCommand(args, { typeMapping: bufferTypes! }), this.timeouts.commandTimeoutMs);
    } catch (err) {
      const e = backendError(this.label, commandName(args), err, this.timeouts.commandTimeoutMs);
      // After a timeout or a connection error the connection state is unknown (a reply may
      // still arrive and would be taken for the next command's): start over on the next call.
      if (e.code !== 'EBACKEND' && this.#client === client) this.#drop();
      throw e;
    }
  }

  async scanTargets(): Promise<CommandTarget[]> {
    return [this];
  }

  async #connected(): Promise<MinimalClient> {
    if (this.#closed) throw new BackendError(`${this.label}: the store was closed`, 'EBACKENDCLOSED');
    if (this.#client?.isReady) return this.#client;
    if (this.#client) this.#drop();
    this.#connecting ??= this.#connect().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  async #connect(): Promise<MinimalClient> {
    const { connectTimeoutMs } = this.timeouts;
    const s = this.server;
    const socket =
      s.transport === 'unix'
        ? { path: s.socketPath!, connectTimeout: connectTimeoutMs, reconnectStrategy: false as const }
        : { host: s.host!, port: s.port!, tls: s.transport === 'tls', connectTimeout: connectTimeoutMs, reconnectStrategy: false as const };
    const lib = await loadRedis();
    const client = lib.createClient({
      socket,
      ...authOptions(s.auth),
      ...(s.database !== null && s.database !== undefined ? { database: s.database } : {}),
      disableOfflineQueue: true,
      RESP: 2,
    } as Parameters<typeof lib.createClient>[0]) as unknown as MinimalClient;
    // Errors also reach the failing call; without a listener the client would crash the process.
    client.on('error', () => {});
    // connectTimeout covers the TCP connect; the deadline also bounds AUTH / SELECT / HELLO.
    await connectWithin(client, connectTimeoutMs + 50, 'connect timed out', this.label, connectTimeoutMs);
    if (this.#closed) {
      client.destroy();
      throw new BackendError(`${this.label}: the store was closed`, 'EBACKENDCLOSED');
    }
    this.#client = client;
    return client;
  }

  #drop(): void {
    const c = this.#client;
    this.#client = undefined;
    if (c) {
      try {
        c.destroy();
      } catch {
        /* already closed */
      }
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    const c = this.#client;
    this.#client = undefined;
    if (c?.isOpen) {
      try {
        await c.close();
      } catch {
        c.destroy();
      }
    }
  }
}

function authOptions(auth: RedisAuth | undefined): { username?: string; password?: string } {
  if (!auth) return {};
  return auth.user ? { username: auth.user, password: auth.pass } : { password: auth.pass };
}

interface MinimalCluster {
  connect(): Promise<unknown>;
  sendCommand(firstKey: RedisArg | undefined, isReadonly: boolean | undefined, args: RedisArg[], options?: object): Promise<unknown>;
  masters: Array<{ host: string; port: number }>;
  nodeClient(node: unknown): Promise<MinimalClient> | MinimalClient;
  on(event: 'error', listener: (err: unknown) => void): unknown;
  close(): Promise<void>;
  destroy(): void;
}

/** A Redis Cluster (phpredis's `rediscluster` handler), commands routed by key slot. */
export class ClusterConnection implements CommandTarget {
  readonly label: string;
  readonly sharded = true;
  #cluster: MinimalCluster | undefined;
  #connecting: Promise<MinimalCluster> | undefined;
  #closed = false;

  constructor(
    private readonly seeds: Array<{ host: string; port: number }>,
    private readonly auth: RedisAuth | undefined,
    private readonly timeouts: TimeoutOptions,
  ) {
    this.label = `rediscluster(${seeds.map((s) => `${s.host}:${s.port}`).join(',')})`;
  }

  async send(args: RedisArg[], key?: RedisArg, readonly?: boolean): Promise<unknown> {
    const cluster = await this.#connected();
    try {
      return await withTimeout(cluster.sendCommand(key, readonly ?? false, args, { typeMapping: bufferTypes! }), this.timeouts.commandTimeoutMs);
    } catch (err) {
      const e = backendError(this.label, commandName(args), err, this.timeouts.commandTimeoutMs);
      // A lost node connection is never reopened by the client (its reconnect loop is off): as
      // for a single server, the next call starts over — a fresh cluster and slot map.
      if (e.code !== 'EBACKEND' && this.#cluster === cluster) this.#drop();
      throw e;
    }
  }

  async scanTargets(): Promise<CommandTarget[]> {
    const cluster = await this.#connected();
    const targets: CommandTarget[] = [];
    for (const master of cluster.masters) {
      const label = `${this.label} node ${master.host}:${master.port}`;
      targets.push({
        label,
        send: async (args) => {
          try {
            const client = await cluster.nodeClient(master);
            return await withTimeout(client.sendCommand(args, { typeMapping: bufferTypes! }), this.timeouts.commandTimeoutMs);
          } catch (err) {
            const e = backendError(label, commandName(args), err, this.timeouts.commandTimeoutMs);
            if (e.code !== 'EBACKEND' && this.#cluster === cluster) this.#drop();
            throw e;
          }
        },
        scanTargets: async () => [],
        close: async () => {},
      });
    }
    return targets;
  }

  async #connected(): Promise<MinimalCluster> {
    if (this.#closed) throw new BackendError(`${this.label}: the store was closed`, 'EBACKENDCLOSED');
    if (this.#cluster) return this.#cluster;
    this.#connecting ??= this.#connect().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  async #connect(): Promise<MinimalCluster> {
    const { connectTimeoutMs } = this.timeouts;
    const socketDefaults = { connectTimeout: connectTimeoutMs, reconnectStrategy: false as const };
    const lib = await loadRedis();
    const cluster = lib.createCluster({
      rootNodes: this.seeds.map((s) => ({ socket: { host: s.host, port: s.port, ...socketDefaults } })),
      defaults: { socket: socketDefaults, ...authOptions(this.auth), disableOfflineQueue: true, RESP: 2 },
    } as Parameters<typeof lib.createCluster>[0]) as unknown as MinimalCluster;
    // The client reports why each seed failed (refused, WRONGPASS…) only as 'error' events and
    // then throws "All the root nodes are unavailable": keep the reasons for the message.
    const reasons = new Set<string>();
    let connecting = true;
    cluster.on('error', (err: unknown) => {
      if (connecting && reasons.size < 5) reasons.add((err as Error | undefined)?.message ?? String(err));
    });
    try {
      await connectWithin(cluster, connectTimeoutMs * 2, 'cluster connect timed out', this.label, connectTimeoutMs);
    } catch (err) {
      if (reasons.size === 0 || !(err instanceof BackendError)) throw err;
      throw new BackendError(`${err.message} (${[...reasons].join('; ')})`, err.code, { cause: err.cause });
    } finally {
      connecting = false;
    }
    this.#cluster = cluster;
    return cluster;
  }

  #drop(): void {
    const c = this.#cluster;
    this.#cluster = undefined;
    try {
      c?.destroy();
    } catch {
      /* already closed */
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    const c = this.#cluster;
    this.#cluster = undefined;
    if (c) {
      try {
        await c.close();
      } catch {
        c.destroy();
      }
    }
  }
}
