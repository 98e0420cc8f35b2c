// Starts a throw-away redis-server on loopback for one test file: a free port, no persistence,
// its own temp dir; stopped (and the dir removed) by stop(), or when the process exits.
import { connect } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, after } from 'node:test';
import { REDIS_SERVER, hasRedisServer, hasPhpRedis } from './env.js';
import { RedisSessionStore } from 'sessctl/redis';
import { freePort, startServerProcess } from './server-process.js';

export { freePort };

/** Sends one inline command over a raw socket; resolves with the first reply line. */
export function rawCommand(port, line, timeoutMs = 1000) {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no reply from redis on ${port}`));
    }, timeoutMs);
    let buf = '';
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      if (buf.includes('\r\n')) {
        clearTimeout(timer);
        sock.destroy();
        resolve(buf.split('\r\n')[0]);
      }
    });
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.write(line + '\r\n');
  });
}

/**
 * @typedef {{ port: number, url: string, pid: number, dir: string, stop(): Promise<void>, kill(): Promise<void>, output(): string }} RedisServer
 */

/**
 * Starts redis-server; resolves once it answers PING.
 * @param {{ extraArgs?: string[] }} [options]
 * @returns {Promise<RedisServer>}
 */
export async function startRedis({ extraArgs = [] } = {}) {
  let dir;
  const server = await startServerProcess({
    name: 'redis-server',
    command: REDIS_SERVER,
    args: (port) => {
      dir = mkdtempSync(join(tmpdir(), 'sessctl-redis-'));
      return ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', ...extraArgs];
    },
    ready: async (port) => (await rawCommand(port, 'PING', 300)) === '+PONG',
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  });
  return { ...server, url: `tcp://127.0.0.1:${server.port}`, dir };
}

/**
 * One redis-server for a whole test file: started in before() when redis-server and php-redis
 * are installed, stopped in after(). `server` is filled in once it is up; `store(opts)` makes a
 * RedisSessionStore on it (with `storeDefaults`) that after() closes.
 */
/**
 * @param {Partial<import('sessctl/redis').RedisStoreOptions>} [storeDefaults]
 */
export function useRedisServer(storeDefaults = {}) {
  /** @type {RedisServer} */
  const server = /** @type {any} */ ({});
  /** @type {RedisSessionStore[]} */
  const stores = [];
  before(async () => {
    if (hasRedisServer && hasPhpRedis) Object.assign(server, await startRedis());
  });
  after(async () => {
    for (const s of stores) await s.close();
    if (server.stop) await server.stop();
  });
  const store = (/** @type {Partial<import('sessctl/redis').RedisStoreOptions>} */ opts = {}) => {
    const s = new RedisSessionStore({ savePath: server.url, ...storeDefaults, ...opts });
    stores.push(s);
    return s;
  };
  return { server, store };
}

/**
 * The contract suite's fixture for a store whose sessions are plain Redis keys (phpredis's or
 * Symfony's layout): `raw` reads the stored bytes, `plant` SETs bytes under the session's key
 * behind the store's back.
 * @template {{ readBytes(id: string): Promise<Buffer | null>, locate(id: string): { key: Buffer, target: { send(args: Array<string | Buffer>, key?: Buffer): Promise<unknown> } } }} S
 * @param {S} store
 */
export function redisContractFixture(store) {
  return {
    store,
    raw: (/** @type {string} */ id) => store.readBytes(id),
    plant: async (/** @type {string} */ id, /** @type {Uint8Array} */ bytes) => {
      const loc = store.locate(id);
      await loc.target.send(['SET', loc.key, Buffer.from(bytes)], loc.key);
    },
  };
}
