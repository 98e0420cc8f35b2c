// Starting a throw-away server process for a test file: a free loopback port, ready once it
// answers its own protocol (polled: the process gives no other signal), stopped by stop() or
// when the test process exits.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';

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
 * Spawns `command args(port)` until one answers `ready(port)` (five ports tried when one is taken).
 * @param {{ name: string, command: string, args: (port: number) => string[], ready: (port: number) => Promise<boolean>, cleanup?: () => void }} options
 * @returns {Promise<{ port: number, pid: number | undefined, stop(): Promise<void>, kill(): Promise<void>, output(): string }>}
 */
export async function startServerProcess({ name, command, args, ready, cleanup = () => {} }) {
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const child = spawn(command, args(port), { stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child);
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    let up = false;
    for (let i = 0; i < 100 && child.exitCode === null; i++) {
      try {
        if (await ready(port)) {
          up = true;
          break;
        }
      } catch {
        /* not listening yet */
      }
      await new Promise((r) => setTimeout(r, 30));
    }
    const stop = async (/** @type {NodeJS.Signals} */ signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        await exited;
      }
      live.delete(child);
      cleanup();
    };
    if (up) return { port, pid: child.pid, stop: () => stop('SIGTERM'), kill: () => stop('SIGKILL'), output: () => output };
    await stop('SIGKILL');
    if (!/Address already in use|bind/i.test(output)) throw new Error(`${name} did not start:\n${output}`);
  }
  throw new Error(`${name}: no free port after 5 attempts`);
}
