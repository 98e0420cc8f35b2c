// Running PHP with session ini settings, in the background or holding a session open until told
// to go on (an explicit stdin hand-shake: tests never wait on PHP by sleeping).
import { spawn } from 'node:child_process';
import { PHP, phpUntilReleased } from './env.js';

/** `-d key=value` for every setting (quoted when php.ini syntax would read it otherwise: `?`, `;`, `&`…). */
export function iniArgs(ini) {
  return Object.entries(ini).flatMap(([k, v]) => ['-d', /^[\w.,:/-]*$/.test(String(v)) ? `${k}=${v}` : `${k}="${v}"`]);
}

/** Starts PHP in the background; resolves with {code, stdout, stderr} when it ends. */
export function phpAsync(ini, code, args = []) {
  const child = spawn(PHP, [...iniArgs(ini), '-r', code, '--', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('exit', (c) => resolve({ code: c, stdout, stderr })));
}

/**
 * PHP with session `id` open (its lock held): `ready` resolves once PHP says so; PHP runs `code`
 * and ends its request only when `release()` is called.
 */
export function phpHolding(ini, id, code = '') {
  const script = `session_id($argv[1]); if (!session_start()) exit(3); echo "HOLDING\\n"; fgets(STDIN); ${code} session_write_close();`;
  const php = phpUntilReleased([...iniArgs(ini), '-r', script, '--', id]);
  php.ready.catch(() => {});
  return php;
}

/**
 * PHP side of the concurrency tests: `k` requests, each reading $_SESSION['n'] and writing n + 1.
 * Exits 3 when a session_start fails (a lock not had), so a lost request is never silent.
 */
export const PHP_INCREMENT = `
$id = $argv[1]; $k = (int)$argv[2];
for ($i = 0; $i < $k; $i++) {
  session_id($id);
  if (!session_start()) { fwrite(STDERR, "session_start failed\\n"); exit(3); }
  $_SESSION['n'] = ($_SESSION['n'] ?? 0) + 1;
  session_write_close();
}`;

/** Node side: the same `k` increments through a store made by `makeStore` (a module-level expression). */
export function nodeIncrementer(entry, makeStore, args) {
  const code = `
const m = await import(process.argv[1]);
const [id, k, ...rest] = process.argv.slice(2);
const store = ${makeStore};
for (let i = 0; i < Number(k); i++) {
  const h = await store.open(id);
  h.data.set('n', (h.data.get('n') ?? 0) + 1);
  await h.save();
  await h.close();
}
await store.close?.();`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code, entry, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('exit', (c) => resolve({ code: c, stderr })));
}
