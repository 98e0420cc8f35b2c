// A PHP fixture script kept running as a co-process that answers one JSON line per JSON line
// it is sent (fixtures/laravel/*.php, fixtures/symfony/*.php): each request waits for its own
// answer, so a test can interleave PHP's steps with Node's without any sleep.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { PHP } from './env.js';

/** @returns {{ ask(request: object): Promise<object>, close(): Promise<void>, stderr(): string }} */
export function phpLines(script, { args = [], env = {} } = {}) {
  const child = spawn(PHP, [script, ...args], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const waiting = [];
  const exited = new Promise((resolve) => child.once('exit', resolve));
  createInterface({ input: child.stdout }).on('line', (line) => {
    const w = waiting.shift();
    if (!w) return;
    try {
      w.resolve(JSON.parse(line));
    } catch {
      w.reject(new Error(`${script} printed a line that is not JSON: ${line}\n${stderr}`));
    }
  });
  exited.then((code) => {
    for (const w of waiting.splice(0)) w.reject(new Error(`${script} exited (${code}) before answering:\n${stderr}`));
  });
  return {
    ask(request) {
      return new Promise((resolve, reject) => {
        waiting.push({ resolve, reject });
        child.stdin.write(JSON.stringify(request) + '\n');
      });
    },
    async close() {
      child.stdin.end();
      await exited;
    },
    stderr: () => stderr,
  };
}
