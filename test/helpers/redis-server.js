// Starts a throw-away redis-server on loopback for one test file: a free port, no persistence,
// its own temp dir; stopped (and the dir removed) by stop(), or when the process exits.
import { spawn } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, after } from 'node:test';
import { REDIS_SERVER, hasRedisServer, hasPhpRedis } from './env.js';
import { RedisSessionStore } from 'sessctl/redis';

/** A port nobody listens on right now (the kernel picks it). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (srv.address());
      srv.close(() => resolve(port));
    });
  });
}

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

const live = new Set();
process.on('exit', () => {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
});

/**
 * @typedef {{ port: number, url: string, pid: number, dir: string, stop(): Promise<void>, kill(): Promise<void>, output(): string }} RedisServer
 */

/**
 * Starts redis-server; resolves once it answers PING.
 * @param {{ extraArgs?: string[] }} [options]
 * @returns {Promise<RedisServer>}
 */
export async function startRedis({ extraArgs = [] } = {}) {
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'sessctl-redis-'));
    const child = spawn(
      REDIS_SERVER,
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', ...extraArgs],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    live.add(child);
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    let up = false;
    for (let i = 0; i < 100 && child.exitCode === null; i++) {
      try {
        if ((await rawCommand(port, 'PING', 300)) === '+PONG') {
          up = true;
          break;
        }
      } catch {
        /* not yet */
      }
      await new Promise((r) => setTimeout(r, 30));
    }
    const stop = async (/** @type {NodeJS.Signals} */ signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        await exited;
      }
      live.delete(child);
      rmSync(dir, { recursive: true, force: true });
    };
    if (up) {
      return {
        port,
        url: `tcp://127.0.0.1:${port}`,
        pid: child.pid,
        dir,
        stop: () => stop('SIGTERM'),
        /** Kills the server abruptly (a crash, for failure tests). */
        kill: () => stop('SIGKILL'),
        output: () => output,
      };
    }
    await stop('SIGKILL');
    if (!/Address already in use/i.test(output)) throw new Error(`redis-server did not start:\n${output}`);
  }
  throw new Error('redis-server: no free port after 5 attempts');
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
