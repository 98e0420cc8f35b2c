#!/usr/bin/env node
// One command for the whole example: `npm run build && node examples/php-express/run.js`.
// Starts PHP's built-in server (4 workers) and the Express app on the same session files,
// prints both URLs, and stops both on Ctrl-C.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileSessionStore } from 'sessctl/files';
import { createApp } from './node/app.js';
import { phpServerArgs } from './php-settings.js';

const here = dirname(fileURLToPath(import.meta.url));
const host = process.env.HOST || '127.0.0.1';
const phpPort = Number(process.env.PHP_PORT || 8080);
const nodePort = Number(process.env.NODE_PORT || 3000);
const savePath = process.env.SESSION_DIR || mkdtempSync(join(tmpdir(), 'sessctl-example-'));
const phpUrl = `http://${host}:${phpPort}`;
const nodeUrl = `http://${host}:${nodePort}`;

const php = spawn(process.env.PHP_BINARY || 'php', phpServerArgs({ host, port: phpPort, savePath, docroot: join(here, 'php') }), {
  env: { ...process.env, PHP_CLI_SERVER_WORKERS: '4', NODE_URL: nodeUrl },
  stdio: ['ignore', 'inherit', 'inherit'],
  detached: true, // its own process group: stop() ends the master and its workers together
});
php.on('error', (err) => {
  console.error(`could not start php: ${err.message}`);
  process.exit(1);
});

const backend = new FileSessionStore({ savePath });
const server = createApp({ backend, phpUrl }).listen(nodePort, host, () => {
  console.log(`Sessions in ${savePath}`);
  console.log(`PHP side:  ${phpUrl}/   (log in, add to cart)`);
  console.log(`Node side: ${nodeUrl}/   (sees the same user and cart)`);
  console.log('Ctrl-C stops both.');
});

function stop() {
  server.close();
  try {
    process.kill(-php.pid, 'SIGTERM');
  } catch {
    // already gone
  }
  if (!process.env.SESSION_DIR) rmSync(savePath, { recursive: true, force: true });
  process.exit(0);
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
php.on('exit', (code) => {
  if (code) console.error(`php exited with ${code}`);
});
