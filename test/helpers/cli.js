// Shared by the cli-*.test.js files: running bin/sessctl.js as a process, and session trees
// written by real PHP (session_start + session_write_close in a temp save_path).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PHP, runPhp } from './env.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = join(ROOT, 'bin', 'sessctl.js');

/**
 * Runs sessctl synchronously; env never inherits SESSCTL_* so tests stay deterministic.
 * @param {string[]} args
 * @param {{ env?: Record<string, string | undefined>, input?: string | Buffer }} [options]
 */
export function sessctl(args, { env = {}, input } = {}) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SESSCTL_') && k !== 'FORCE_COLOR' && k !== 'NO_COLOR'));
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...clean, ...env }, input, encoding: 'utf8', maxBuffer: 1 << 26 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function tempDir(tag) {
  return mkdtempSync(join(tmpdir(), `sessctl-${tag}-`));
}

export function removeDir(dir) {
  rmSync(dir, { recursive: true, force: true });
}

// The session every PHP-written fixture holds, exercising objects, visibility, references.
const WRITER = `
class Foo { public $a = 1; protected $b = 'x'; private $c = [1]; public $self; }
[$savePath, $handler, $id] = [$argv[1], $argv[2], $argv[3]];
ini_set('session.save_path', $savePath);
ini_set('session.serialize_handler', $handler);
ini_set('session.use_strict_mode', '0');
session_id($id);
session_start();
$_SESSION['user'] = 'alice';
$_SESSION['n'] = 42;
$_SESSION['list'] = [1, 'two', null, true, 1.5];
$o = new Foo; $o->self = $o; $_SESSION['obj'] = $o;
$x = 'shared'; $_SESSION['r1'] = &$x; $_SESSION['r2'] = &$x;
$_SESSION['bin'] = "\\x00\\xff";
session_write_close();
`;

/** Writes one session with real PHP; returns its file path. */
export function phpWriteSession(savePath, handler, id) {
  runPhp(['-r', WRITER, '--', savePath, handler, id]);
  const sp = savePath.split(';');
  const depth = sp.length > 1 ? Number(sp[0]) : 0;
  const dir = sp[sp.length - 1];
  return join(dir, ...id.slice(0, depth).split(''), `sess_${id}`);
}

/** Creates the depth-N directories a set of ids needs (PHP does not create them). */
export function makeDirsFor(dir, depth, ids) {
  for (const id of ids) mkdirSync(join(dir, ...id.slice(0, depth).split('')), { recursive: true });
}

export function ageFile(path, seconds) {
  const t = Date.now() / 1000 - seconds;
  utimesSync(path, t, t);
}

/**
 * Starts PHP holding session `id` open (flock LOCK_EX) for `seconds`; resolves once PHP
 * has the lock. Returns the child (kill it when done).
 */
export function phpHoldSession(savePath, id, seconds, handler = 'php') {
  const code = `ini_set('session.save_path', $argv[1]); ini_set('session.serialize_handler', $argv[3]); session_id($argv[2]); session_start(); fwrite(STDOUT, "locked\\n"); sleep((int)$argv[4]);`;
  const child = spawn(PHP, ['-r', code, '--', savePath, id, handler, String(seconds)], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout.once('data', () => resolve(child));
    child.once('error', reject);
    child.once('exit', (c) => reject(new Error(`php holder exited early (${c})`)));
  });
}

export function writeRaw(path, bytes) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, bytes);
}

/** A valid-looking id of 26 characters with a given prefix. */
export function makeId(prefix, n = 0) {
  return (prefix + String(n).padStart(4, '0') + 'abcdefghijklmnopqrstuvwxyz').slice(0, 26);
}
