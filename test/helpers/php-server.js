// Shared by the integrations end-to-end tests: a free port, a `php -S` for the example's
// PHP app (own process group, so its workers stop with it), and a small cookie jar.
import { spawn } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { PHP } from './env.js';
import { pollUntil } from './server-process.js';
import { phpServerArgs } from '../../examples/php-express/php-settings.js';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {net.AddressInfo} */ (s.address());
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts php -S (4 workers) on the example's PHP app; resolves once it answers.
 * `ini` overrides the example's php.ini settings, `env` reaches the PHP pages (NODE_URL).
 */
/** @param {string} savePath @param {{ port?: number, ini?: Record<string, string>, env?: Record<string, string> }} [options] */
export async function startPhpServer(savePath, { port, ini, env } = {}) {
  port ??= await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(PHP, phpServerArgs({ host: '127.0.0.1', port, savePath, ini, docroot: join(root, 'examples/php-express/php') }), {
    env: { ...process.env, ...env, PHP_CLI_SERVER_WORKERS: '4' },
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true, // its own process group, so that the workers are stopped with it
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      process.kill(-child.pid, 'SIGTERM');
      await exited;
    }
    child.stderr.destroy();
  };
  const up = await pollUntil(() => fetch(`${url}/state.php`).then(() => true), { what: 'php -S', everyMs: 50, stopIf: () => child.exitCode !== null }).catch(() => false);
  if (!up) {
    await stop();
    throw new Error(`php -S did not start: ${stderr}`);
  }
  return { url, stop };
}

/** A minimal cookie jar for one host (cookies ignore ports, so PHP and Node share it). */
export class Jar {
  cookies = new Map();
  header() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
  take(res) {
    for (const c of res.headers.getSetCookie()) {
      const [pair, ...attrs] = c.split(';').map((s) => s.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const expired = attrs.some((a) => /^max-age=0$/i.test(a) || (/^expires=/i.test(a) && Date.parse(a.slice(8)) < Date.now()));
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, pair.slice(eq + 1));
    }
  }
  /**
   * fetch with the jar's cookies (or an explicit `cookie`, which leaves the jar alone).
   * @param {string} url
   * @param {{ method?: string, form?: Record<string, string>, cookie?: string }} [options]
   */
  async fetch(url, { method = 'GET', form, cookie } = {}) {
    /** @type {Record<string, string>} */
    const headers = {};
    const c = cookie ?? this.header();
    if (c) headers.cookie = c;
    let body;
    if (form) {
      body = new URLSearchParams(form).toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    }
    const res = await fetch(url, { method, headers, body, redirect: 'manual' });
    if (cookie === undefined) this.take(res);
    return res;
  }
  get sid() {
    return this.cookies.get('PHPSESSID');
  }
}
