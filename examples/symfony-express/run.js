#!/usr/bin/env node
// One command for the whole example: `npm run build && node examples/symfony-express/run.js`.
// Starts the Symfony app (PHP's built-in server, 4 workers) and the Express app on the same
// session files, prints both URLs once both answer, and stops both on Ctrl-C.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileSessionStore } from 'sessctl/files';
import { createApp } from './node/app.js';
import { runWithPhp } from '../shared/run-with-php.js';

const here = dirname(fileURLToPath(import.meta.url));
const host = process.env.HOST || '127.0.0.1';
const symfonyPort = Number(process.env.SYMFONY_PORT || 8000);
const nodePort = Number(process.env.NODE_PORT || 3000);
const savePath = process.env.SESSION_DIR || mkdtempSync(join(tmpdir(), 'sessctl-symfony-'));
const symfonyUrl = `http://${host}:${symfonyPort}`;
const nodeUrl = `http://${host}:${nodePort}`;

// The php.ini settings both sides agree on (Symfony's NativeSessionStorage also sets strict
// mode and the cookie attributes itself; the save path comes from NativeFileSessionHandler).
const ini = {
  'session.serialize_handler': 'php',
  'session.use_strict_mode': '1',
  'session.use_only_cookies': '1',
  'session.gc_probability': '0',
  'display_errors': 'stderr',
};
const front = join(here, 'symfony', 'public', 'index.php');
const args = [...Object.entries(ini).flatMap(([k, v]) => ['-d', `${k}=${v}`]), '-S', `${host}:${symfonyPort}`, '-t', dirname(front), front];
runWithPhp({
  phpArgs: args,
  env: { SESSION_DIR: savePath, NODE_URL: nodeUrl },
  phpUrl: symfonyUrl,
  startNode: () => {
    const backend = new FileSessionStore({ savePath, serializeHandler: 'php' });
    return createApp({ backend, symfonyUrl }).listen(nodePort, host, () => {
      console.log(`Sessions in ${savePath}`);
      console.log(`Symfony side: ${symfonyUrl}/   (log in as ann / secret)`);
      console.log(`Node side:    ${nodeUrl}/   (sees the user, counts visits, reads flashes)`);
      console.log('Ctrl-C stops both.');
    });
  },
  cleanup: () => {
    if (!process.env.SESSION_DIR) rmSync(savePath, { recursive: true, force: true });
  },
});
