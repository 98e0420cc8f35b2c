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

/**
 * Polls `check` (an answer from the server itself: the readiness signal these processes give)
 * until it is true. The bound is a deadline, not a count of tries, and a generous one: a loaded
 * CI machine may take seconds to start a server. False when `stopIf` says to give up (the
 * process died). @throws when the deadline passes.
 * @param {() => Promise<boolean> | boolean} check
 * @param {{ what: string, timeoutMs?: number, everyMs?: number, stopIf?: () => boolean }} options
 */
export async function pollUntil(check, { what, timeoutMs = 60_000, everyMs = 30, stopIf = () => false }) {
  const deadline = Date.now() + timeoutMs;
  while (!stopIf()) {
    try {
      if (await check()) return true;
    } catch {
      /* not answering yet */
    }
    if (Date.now() > deadline) throw new Error(`${what}: not ready within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return false;
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
    const up = await pollUntil(() => ready(port), { what: name, stopIf: () => child.exitCode !== null }).catch(() => false);
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
