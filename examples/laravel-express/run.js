#!/usr/bin/env node
// One command for the whole example: `npm run build && node examples/laravel-express/run.js`.
// Starts the Laravel app (PHP's built-in server, 4 workers) and the Express app on the same
// session files and APP_KEY, prints both URLs once both answer, and stops both on Ctrl-C.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LaravelFileSessionStore } from 'sessctl/laravel-files';
import { createApp } from './node/app.js';

const here = dirname(fileURLToPath(import.meta.url));
const host = process.env.HOST || '127.0.0.1';
const laravelPort = Number(process.env.LARAVEL_PORT || 8000);
const nodePort = Number(process.env.NODE_PORT || 3000);
const storage = process.env.LARAVEL_STORAGE || mkdtempSync(join(tmpdir(), 'sessctl-laravel-'));
const sessions = join(storage, 'framework', 'sessions'); // config('session.files')
mkdirSync(sessions, { recursive: true });
const laravelUrl = `http://${host}:${laravelPort}`;
const nodeUrl = `http://${host}:${nodePort}`;
const users = JSON.parse(readFileSync(join(here, 'users.json'), 'utf8'));

/** APP_KEY from the environment, else from .env beside this file, else a new one for this run. */
function appKey() {
  if (process.env.APP_KEY) return process.env.APP_KEY;
  const env = join(here, '.env');
  const line = existsSync(env) && /^APP_KEY=(.*)$/m.exec(readFileSync(env, 'utf8'));
  if (line) return line[1].trim().replace(/^(["'])(.*)\1$/, '$2');
  return `base64:${randomBytes(32).toString('base64')}`; // what `php artisan key:generate` makes
}
const key = appKey();

const publicDir = join(here, 'laravel', 'public');
const php = spawn(process.env.PHP_BINARY || 'php', ['-d', 'display_errors=stderr', '-S', `${host}:${laravelPort}`, '-t', publicDir, join(publicDir, 'index.php')], {
  env: { ...process.env, APP_KEY: key, LARAVEL_STORAGE: storage, NODE_URL: nodeUrl, PHP_CLI_SERVER_WORKERS: '4' },
  stdio: ['ignore', 'inherit', 'pipe'],
  detached: true, // its own process group: stop() ends the master and its workers together
});
php.on('error', (err) => {
  console.error(`could not start php: ${err.message}`);
  stop(1);
});
php.on('exit', (code) => {
  console.error(`php exited with ${code}`);
  stop(1);
});

let server;
// php -S says on stderr when it listens: only then is the Laravel side worth a link.
let said = '';
php.stderr.on('data', (chunk) => {
  process.stderr.write(chunk);
  if (server || !(said += chunk).includes(`Development Server (${laravelUrl}) started`)) return;
  const store = new LaravelFileSessionStore({ path: sessions, lifetime: Number(process.env.SESSION_LIFETIME || 120) }); // config('session.lifetime')
  server = createApp({ store, key, laravelUrl, users }).listen(nodePort, host, () => {
    console.log(`Sessions in ${sessions}`);
    console.log(`Laravel side: ${laravelUrl}/   (log in as ann / secret)`);
    console.log(`Node side:    ${nodeUrl}/   (sees the user, counts visits)`);
    console.log('Ctrl-C stops both.');
  });
  server.on('error', (err) => {
    console.error(`could not start the Node side: ${err.message}`);
    stop(1);
  });
});

let stopping = false;
function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  server?.close();
  server?.closeAllConnections();
  const done = () => {
    if (!process.env.LARAVEL_STORAGE) rmSync(storage, { recursive: true, force: true });
    process.exit(code);
  };
  php.removeAllListeners('exit');
  if (php.exitCode !== null || php.signalCode !== null || php.pid === undefined) return done();
  php.once('exit', done); // its files are removed once it can no longer write them
  try {
    process.kill(-php.pid, 'SIGTERM');
  } catch {
    done(); // already gone
  }
}
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));
