// Starts throw-away memcached servers on loopback for one test file: a free port each, no UDP;
// stopped by stop(), or when the process exits. Ready = it answers `version` (no sleeps).
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { before, after } from 'node:test';
import { MEMCACHED_SERVER, hasMemcachedServer, hasPhpMemcached } from './env.js';
import { freePort } from './redis-server.js';
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

/** Starts one memcached; resolves once it answers. @returns {{ port, url, pid, stop(), kill() }} */
export async function startMemcached({ extraArgs = [] } = {}) {
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const args = ['-p', String(port), '-l', '127.0.0.1', '-U', '0', '-m', '64', ...extraArgs];
    if (process.getuid?.() === 0) args.push('-u', 'root');
    const child = spawn(MEMCACHED_SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child);
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    let up = false;
    for (let i = 0; i < 100 && child.exitCode === null; i++) {
      try {
        if ((await mcText(port, 'version', { timeoutMs: 300 })).startsWith('VERSION')) {
          up = true;
          break;
        }
      } catch {
        /* not listening yet */
      }
      await new Promise((r) => setTimeout(r, 30));
    }
    const stop = async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        await exited;
      }
      live.delete(child);
    };
    if (up) return { port, url: `127.0.0.1:${port}`, pid: child.pid, stop: () => stop('SIGTERM'), kill: () => stop('SIGKILL'), output: () => output };
    await stop('SIGKILL');
    if (!/Address already in use|bind/i.test(output)) throw new Error(`memcached did not start:\n${output}`);
  }
  throw new Error('memcached: no free port after 5 attempts');
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
