// Runs an example's run.js as a user would (its own process, ports from the environment) and
// waits for the line it prints once both sides answer; stop() sends the Ctrl-C it documents.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { root } from './php-server.js';

/**
 * @param {string} example the folder under examples/
 * @param {{ env: Record<string, string>, ready: RegExp }} options ready: the line that says both sides listen
 */
export async function runExample(example, { env, ready }) {
  const child = spawn(process.execPath, [join(root, 'examples', example, 'run.js')], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  await new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      stdout += d;
      if (ready.test(stdout)) resolve(undefined);
    });
    exited.then(({ code }) => reject(new Error(`${example}/run.js exited with ${code} before it was ready:\n${stdout}\n${stderr}`)));
  });
  return {
    output: () => stdout + stderr,
    /** SIGINT, as Ctrl-C: run.js stops both sides; resolves with its exit. */
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      return exited;
    },
  };
}
