// Runs bin/sessctl.js as a process for the tests in test/cli/ (no SESSCTL_* / colour
// settings inherited, so output is deterministic), and makes one-session save paths.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'bin', 'sessctl.js');

/**
 * @param {string[]} args
 * @param {{ env?: Record<string, string | undefined>, encoding?: 'utf8' | 'latin1' }} [options]
 * @returns {{ code: number | null, stdout: string, stderr: string }}
 */
export function sessctl(args, { env = {}, encoding = 'utf8' } = {}) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SESSCTL_') && k !== 'FORCE_COLOR' && k !== 'NO_COLOR'));
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...clean, ...env }, encoding, maxBuffer: 1 << 28 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A fresh save path holding `sess_<id>` with `bytes`; returns { dir, remove }. */
export function saveDirWith(id, bytes) {
  const dir = mkdtempSync(join(tmpdir(), 'sessctl-cli-'));
  writeFileSync(join(dir, `sess_${id}`), bytes);
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
