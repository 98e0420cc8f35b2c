// Starts throw-away memcached servers on loopback for one test file: a free port each, no UDP;
// stopped by stop(), or when the process exits. Ready = it answers `version` (no sleeps).
import { connect } from 'node:net';
import { before, after } from 'node:test';
import { MEMCACHED_SERVER, hasMemcachedServer, hasPhpMemcached } from './env.js';
import { startServerProcess } from './server-process.js';
import { MemcachedSessionStore } from 'sessctl/memcached';

/** Sends one text-protocol line; resolves with the reply up to `until` (default: the first line). */
export function mcText(port, line, { until = /\r\n/, timeoutMs = 2000 } = {}) {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no reply from memcached on ${port}`));
    }, timeoutMs);
    let buf = '';
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      if (until.test(buf)) {
        clearTimeout(timer);
        sock.destroy();
        resolve(buf);
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
 * Starts one memcached; resolves once it answers.
 * @returns {Promise<{ port: number, url: string, pid: number | undefined, stop(): Promise<void>, kill(): Promise<void> }>}
 */
export async function startMemcached({ extraArgs = [] } = {}) {
  const server = await startServerProcess({
    name: 'memcached',
    command: MEMCACHED_SERVER,
    args: (port) => ['-p', String(port), '-l', '127.0.0.1', '-U', '0', '-m', '64', ...extraArgs, ...(process.getuid?.() === 0 ? ['-u', 'root'] : [])],
    ready: async (port) => (await mcText(port, 'version', { timeoutMs: 300 })).startsWith('VERSION'),
  });
  return { ...server, url: `127.0.0.1:${server.port}` };
}

/**
 * `count` memcached servers for a whole test file (started in before() when memcached and
 * php-memcached are installed). `servers` is filled in once up; `savePath` joins them as PHP
 * takes them; `store(opts)` makes a MemcachedSessionStore on them that after() closes.
 */
export function useMemcached(count = 1, storeDefaults = {}) {
  const servers = [];
  const stores = [];
  const ctx = {
    servers,
    get savePath() {
      return servers.map((s) => s.url).join(',');
    },
    store(opts = {}) {
      const s = new MemcachedSessionStore({ savePath: ctx.savePath, ...storeDefaults, ...opts });
      stores.push(s);
      return s;
    },
  };
  before(async () => {
    if (hasMemcachedServer && hasPhpMemcached) for (let i = 0; i < count; i++) servers.push(await startMemcached());
  });
  after(async () => {
    for (const s of stores) await s.close();
    for (const s of servers) await s.stop();
  });
  return ctx;
}
