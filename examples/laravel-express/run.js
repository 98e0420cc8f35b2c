#!/usr/bin/env node
// One command for the whole example: `npm run build && node examples/laravel-express/run.js`.
// Starts the Laravel app (PHP's built-in server, 4 workers) and the Express app on the same
// session files and APP_KEY, prints both URLs once both answer, and stops both on Ctrl-C.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LaravelFileSessionStore } from 'sessctl/laravel-files';
import { createApp } from './node/app.js';
import { runWithPhp } from '../shared/run-with-php.js';

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
runWithPhp({
  phpArgs: ['-d', 'display_errors=stderr', '-S', `${host}:${laravelPort}`, '-t', publicDir, join(publicDir, 'index.php')],
  env: { APP_KEY: key, LARAVEL_STORAGE: storage, NODE_URL: nodeUrl },
  phpUrl: laravelUrl,
  startNode: () => {
    const store = new LaravelFileSessionStore({ path: sessions, lifetime: Number(process.env.SESSION_LIFETIME || 120) }); // config('session.lifetime')
    return createApp({ store, key, laravelUrl, users }).listen(nodePort, host, () => {
      console.log(`Sessions in ${sessions}`);
      console.log(`Laravel side: ${laravelUrl}/   (log in as ann / secret)`);
      console.log(`Node side:    ${nodeUrl}/   (sees the user, counts visits)`);
      console.log('Ctrl-C stops both.');
    });
  },
  cleanup: () => {
    if (!process.env.LARAVEL_STORAGE) rmSync(storage, { recursive: true, force: true });
  },
});
