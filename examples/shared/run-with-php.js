// What the framework examples' run.js share: PHP's built-in server (4 workers, in a process
// group of its own so that one signal ends the master and its workers together), the Node app
// started only once php -S says it listens (before that, its URL would not answer), and one
// stop() for both, on Ctrl-C or when either side fails.
import { spawn } from 'node:child_process';

/**
 * @param {object} o
 * @param {string[]} o.phpArgs arguments for `php`, the `-S host:port` part included
 * @param {Record<string, string>} o.env what PHP gets on top of this process's environment
 * @param {string} o.phpUrl the URL php -S announces (`http://host:port`)
 * @param {() => import('node:http').Server} o.startNode starts the Node app (called once)
 * @param {() => void} o.cleanup runs once PHP has exited (so it can no longer write), just before exit
 */
export function runWithPhp({ phpArgs, env, phpUrl, startNode, cleanup }) {
  const php = spawn(process.env.PHP_BINARY || 'php', phpArgs, {
    env: { ...process.env, ...env, PHP_CLI_SERVER_WORKERS: '4' },
    stdio: ['ignore', 'inherit', 'pipe'],
    detached: true,
  });
  php.on('error', (err) => {
    console.error(`could not start php: ${err.message}`);
    stop(1);
  });
  php.on('exit', (code) => {
    console.error(`php exited with ${code}`);
    stop(1);
  });

  /** @type {import('node:http').Server | undefined} */
  let server;
  let said = '';
  php.stderr.on('data', (chunk) => {
    process.stderr.write(chunk);
    if (server || !(said += chunk).includes(`Development Server (${phpUrl}) started`)) return;
    server = startNode();
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
      cleanup();
      process.exit(code);
    };
    php.removeAllListeners('exit');
    if (php.exitCode !== null || php.signalCode !== null || php.pid === undefined) return done();
    php.once('exit', done);
    try {
      process.kill(-php.pid, 'SIGTERM');
    } catch {
      done(); // already gone
    }
  }
  process.on('SIGINT', () => stop(0));
  process.on('SIGTERM', () => stop(0));
}
