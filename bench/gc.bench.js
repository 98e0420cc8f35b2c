#!/usr/bin/env node
// sessctl gc against `find -delete` on two identical depth-2 trees of SESSCTL_BENCH_FILES
// session files (default 1,000,000), half of them expired. Also: the walk (fast-glob vs
// fs.opendir) and `list --ndjson` over the same tree. Targets: gc ≤ 1.5× find's wall time,
// < 150 MB peak memory. Trees go under /tmp and are deleted afterwards.
import { closeSync, futimesSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync, existsSync, readFileSync, statfsSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'sessctl.js');
const N = Number(process.env.SESSCTL_BENCH_FILES || 1_000_000);
const ALPHABET = '0123456789abcdefghijklmnopqrstuv'; // sid_bits_per_character = 5
const MAXLIFETIME = 1440;

function log(...a) {
  console.log(...a);
}

/** Both trees in one pass: same ids, same content, same mtimes. */
function buildTrees(roots, n) {
  for (const r of roots) for (const a of ALPHABET) for (const b of ALPHABET) mkdirSync(join(r, a, b), { recursive: true });
  const expiredAt = Date.now() / 1000 - 2 * MAXLIFETIME;
  const t0 = Date.now();
  for (let i = 0; i < n; i++) {
    const bytes = randomBytes(26);
    let id = '';
    for (let k = 0; k < 26; k++) id += ALPHABET[bytes[k] & 31];
    const content = `user|s:5:"alice";n|i:${i};cart|a:1:{i:0;s:3:"abc";}`;
    for (const r of roots) {
      const fd = openSync(join(r, id[0], id[1], `sess_${id}`), 'w', 0o600);
      writeSync(fd, content);
      if (i % 2 === 1) futimesSync(fd, expiredAt, expiredAt);
      closeSync(fd);
    }
    if (i % 100_000 === 99_999) process.stdout.write(`  … ${i + 1} files (${((Date.now() - t0) / 1000).toFixed(0)} s)\n`);
  }
  return Date.now() - t0;
}

/** Runs a command, returns wall ms and peak RSS (MB) — /usr/bin/time -v, else VmHWM sampling. */
function measure(cmd, args, { stdout = 'ignore' } = {}) {
  const haveTime = existsSync('/usr/bin/time');
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = haveTime
      ? spawn('/usr/bin/time', ['-v', cmd, ...args], { stdio: ['ignore', stdout, 'pipe'] })
      : spawn(cmd, args, { stdio: ['ignore', stdout, 'pipe'] });
    let err = '';
    let out = '';
    child.stderr.on('data', (d) => (err += d));
    if (stdout === 'pipe') child.stdout.on('data', (d) => (out += d));
    let hwm = 0;
    const sampler = haveTime
      ? null
      : setInterval(() => {
          try {
            const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
            if (m) hwm = Math.max(hwm, Number(m[1]));
          } catch {}
        }, 20);
    child.on('error', reject);
    child.on('close', (code) => {
      if (sampler) clearInterval(sampler);
      const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
      const rss = haveTime ? Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(err)?.[1] ?? 0) : hwm;
      if (code !== 0) return reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err.slice(0, 2000)}`));
      resolve({ wallMs, peakMB: rss / 1024, out });
    });
  });
}

const WALK_OPENDIR = `
import { walkSessionTree } from ${JSON.stringify(join(ROOT, 'dist/backends/files/walk.js'))};
import { lstatSync } from 'node:fs';
let n = 0;
for (const f of walkSessionTree(process.argv[1], { depth: 2 })) { if (lstatSync(f.path).mtimeMs > 0) n++; }
console.log(n);`;
const WALK_FASTGLOB = `
import fg from 'fast-glob';
let n = 0;
for await (const e of fg.stream('*/*/sess_*', { cwd: process.argv[1], stats: true, onlyFiles: true, followSymbolicLinks: false, dot: false })) { if (e.stats.mtimeMs > 0) n++; }
console.log(n);`;

function countFiles(root) {
  const r = spawnSync('find', [root, '-type', 'f', '-name', 'sess_*'], { maxBuffer: 1 << 30 });
  return r.stdout.toString().split('\n').filter(Boolean).length;
}

async function main() {
  const free = statfsSync('/tmp');
  log(`files per tree: ${N.toLocaleString('en-US')} (SESSCTL_BENCH_FILES), free inodes on /tmp: ${free.ffree.toLocaleString('en-US')}`);
  if (free.ffree < N * 2.2) throw new Error('not enough free inodes under /tmp for two trees');
  const base = mkdtempSync('/tmp/sessctl-bench-');
  const A = join(base, 'a');
  const B = join(base, 'b');
  try {
    log('building two identical depth-2 trees (half expired)…');
    const buildMs = buildTrees([A, B], N);
    log(`  built in ${(buildMs / 1000).toFixed(1)} s`);

    log('walk comparison on tree A (read-only; directory walk + lstat of every file):');
    const walks = {};
    for (const [name, code] of [['opendir', WALK_OPENDIR], ['fast-glob', WALK_FASTGLOB], ['opendir', WALK_OPENDIR], ['fast-glob', WALK_FASTGLOB]]) {
      const r = await measure(process.execPath, ['--input-type=module', '-e', code, A], { stdout: 'pipe' });
      if (Number(r.out.trim()) !== N) throw new Error(`${name} walk found ${r.out.trim()} files, expected ${N}`);
      walks[name] = Math.min(walks[name] ?? Infinity, r.wallMs);
      walks[name + 'MB'] = Math.max(walks[name + 'MB'] ?? 0, r.peakMB);
    }
    log(`  fs.opendir (walkSessionTree): ${(walks.opendir / 1000).toFixed(2)} s, ${walks.opendirMB.toFixed(0)} MB peak`);
    log(`  fast-glob stream:             ${(walks['fast-glob'] / 1000).toFixed(2)} s, ${walks['fast-globMB'].toFixed(0)} MB peak`);

    log('sessctl list --ndjson over tree A:');
    const list = await measure(process.execPath, [BIN, 'list', '--ndjson', '--save-path', `2;${A}`, '--serialize-handler', 'php', '--no-php']);
    log(`  ${(list.wallMs / 1000).toFixed(2)} s, ${list.peakMB.toFixed(0)} MB peak (${Math.round(N / (list.wallMs / 1000)).toLocaleString('en-US')} sessions/s)`);

    log('gc: sessctl gc on tree A, then find -delete on tree B:');
    const gc = await measure(process.execPath, [BIN, 'gc', '--save-path', `2;${A}`, '--maxlifetime', String(MAXLIFETIME), '--no-php', '--json'], { stdout: 'pipe' });
    const report = JSON.parse(gc.out);
    const find = await measure('find', [B, '-name', 'sess_*', '-type', 'f', '-mmin', `+${MAXLIFETIME / 60}`, '-delete']);
    const leftA = countFiles(A);
    const leftB = countFiles(B);
    const ratio = gc.wallMs / find.wallMs;
    log(`  sessctl gc: ${(gc.wallMs / 1000).toFixed(2)} s, ${gc.peakMB.toFixed(0)} MB peak — deleted ${report.deleted}, scanned ${report.scanned}, locked ${report.skippedLocked}, errors ${report.errors}`);
    log(`  find:       ${(find.wallMs / 1000).toFixed(2)} s, ${find.peakMB.toFixed(0)} MB peak`);
    log(`  left: ${leftA} (sessctl) vs ${leftB} (find); expected ${N - Math.floor(N / 2)}`);
    log(`  ratio gc/find = ${ratio.toFixed(2)}× (target ≤ 1.5×): ${ratio <= 1.5 ? 'OK' : 'MISSED'}; peak ${gc.peakMB.toFixed(0)} MB (target < 150 MB): ${gc.peakMB < 150 ? 'OK' : 'MISSED'}`);
    if (leftA !== leftB || report.deleted !== Math.floor(N / 2)) {
      process.exitCode = 1;
      log('  MISMATCH: sessctl and find did not delete the same files');
    }
  } finally {
    log('removing the trees…');
    rmSync(base, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
