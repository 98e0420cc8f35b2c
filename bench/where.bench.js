#!/usr/bin/env node
// `sessctl list --where` streaming over SESSCTL_BENCH_FILES file sessions (default 1,000,000)
// in a depth-2 tree: every session is read, decoded and tested, and only the 1 in 1,000 that
// match are printed. Reports wall time and the CLI's peak RSS at 1/10 of the tree and at the
// whole tree: bounded memory means the peak does not grow with the number of sessions.
// The tree is built once under /tmp and kept for the next run (SESSCTL_BENCH_CLEAN=1 deletes it).
// Measured (shared 2-core machine, load ~9): 1,000,000 sessions 189 s, 89 MB peak RSS; 100,000: 13 s, 66 MB.
import { closeSync, existsSync, mkdirSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'sessctl.js');
const N = Number(process.env.SESSCTL_BENCH_FILES || 1_000_000);
const ALPHABET = '0123456789abcdefghijklmnopqrstuv'; // sid_bits_per_character = 5
const WHERE = 'user.id == 42 and cart.items.length > 2';

/** Session i: user (i mod 1000), a cart of 3 items, a login key; id derived from i (stable across runs). */
function build(dir, n) {
  for (const a of ALPHABET) for (const b of ALPHABET) mkdirSync(join(dir, a, b), { recursive: true });
  const t0 = Date.now();
  for (let i = 0; i < n; i++) {
    let x = i;
    let id = '';
    for (let k = 0; k < 26; k++) {
      id += ALPHABET[(x + k * 7) & 31];
      x = Math.floor(x / 32) || i * 31 + k;
    }
    id = ALPHABET[i & 31] + ALPHABET[(i >> 5) & 31] + String(i).padStart(8, '0') + id.slice(10);
    const content = `login_web_59ba36addc2b2f94|i:${i % 1000};user|a:2:{s:2:"id";i:${i % 1000};s:5:"email";s:16:"user@example.com";}cart|a:1:{s:5:"items";a:3:{i:0;i:1;i:1;i:2;i:2;i:3;}}`;
    const fd = openSync(join(dir, id[0], id[1], `sess_${id}`), 'w', 0o600);
    writeSync(fd, content);
    closeSync(fd);
    if (i % 100_000 === 99_999) process.stdout.write(`  … ${i + 1} files (${((Date.now() - t0) / 1000).toFixed(0)} s)\n`);
  }
  writeFileSync(join(dir, '.complete'), String(n));
}

// Peak RSS of the CLI process itself, printed by a preload as it exits.
const PRELOAD = 'data:text/javascript,process.on("exit",()=>process.stderr.write("maxrss-kib "+process.resourceUsage().maxRSS+"\\n"))';

function run(savePath) {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [`--import=${PRELOAD}`, BIN, 'list', '--where', WHERE, '--ndjson', '--save-path', savePath, '--no-php', '--serialize-handler', 'php'], {
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
  const wall = Date.now() - t0;
  if (r.status !== 0) throw new Error(`sessctl failed (${r.status}): ${r.stderr}`);
  const rss = Number(/maxrss-kib (\d+)/.exec(r.stderr)?.[1] ?? NaN) / 1024;
  const matched = r.stdout.split('\n').filter(Boolean).length;
  return { wall, rss, matched };
}

const dir = join(tmpdir(), `sessctl-bench-where-${N}`);
if (!existsSync(join(dir, '.complete'))) {
  rmSync(dir, { recursive: true, force: true });
  console.log(`building ${N.toLocaleString('en-US')} sessions under ${dir} (kept for later runs)`);
  build(dir, N);
}
// A tree a tenth the size, to compare the peaks.
const tenth = join(tmpdir(), `sessctl-bench-where-${N}-tenth`);
if (!existsSync(join(tenth, '.complete'))) {
  rmSync(tenth, { recursive: true, force: true });
  build(tenth, Math.round(N / 10));
}
for (const [label, path, n] of [
  ['1/10', tenth, Math.round(N / 10)],
  ['all', dir, N],
]) {
  const { wall, rss, matched } = run(`2;${path}`);
  console.log(`list --where '${WHERE}' over ${n.toLocaleString('en-US')} sessions (${label}): ${(wall / 1000).toFixed(1)} s, ${Math.round(n / (wall / 1000)).toLocaleString('en-US')} sessions/s, matched ${matched}, peak RSS ${rss.toFixed(0)} MB`);
}
if (process.env.SESSCTL_BENCH_CLEAN === '1') {
  rmSync(dir, { recursive: true, force: true });
  rmSync(tenth, { recursive: true, force: true });
}
