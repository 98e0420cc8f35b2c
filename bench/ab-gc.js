// Before/after for gc on a shared machine: two builds collect identical trees (depth
// SESSCTL_BENCH_DEPTH, 0 to 2, default 2; SESSCTL_BENCH_FILES files, default 50,000; one in
// SESSCTL_BENCH_EXPIRED_EVERY expired, default 2, i.e. half), each in its own process, one
// worker (jobs: 1) so the CPU time of that process is the whole cost; runs interleaved,
// SESSCTL_BENCH_ROUNDS rounds (default 5): gc's time is mostly the kernel's (close, lstat,
// unlink: an unlinked file is freed at its last close), which varies from run to run on a
// shared machine, so the best and the median of several rounds are printed.
//   node bench/ab-gc.js /path/to/other/checkout
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const other = process.argv[2];
const N = Number(process.env.SESSCTL_BENCH_FILES ?? 50_000);
const EXPIRED_EVERY = Math.max(1, Number(process.env.SESSCTL_BENCH_EXPIRED_EVERY ?? 2));
const DEPTH = Number(process.env.SESSCTL_BENCH_DEPTH ?? 2);
if (![0, 1, 2].includes(DEPTH)) throw new Error('SESSCTL_BENCH_DEPTH: 0, 1 or 2');
const builds = { before: join(other, 'dist', 'admin', 'gc.js'), after: join(here, '..', 'dist', 'backends', 'files', 'gc.js') };
const HEX = '0123456789abcdef';
const old = new Date('2001-01-01T00:00:00Z');

function buildTree(dir) {
  for (const a of HEX) for (const b of HEX) mkdirSync(join(dir, ...[a, b].slice(0, DEPTH)), { recursive: true });
  for (let i = 0; i < N; i++) {
    const id = (i * 2654435761 >>> 0).toString(16).padStart(8, '0') + 'abcdefabcdefabcdefabcdef';
    const f = join(dir, ...id.slice(0, DEPTH), `sess_${id}`);
    writeFileSync(f, 'n|i:1;');
    if (i % EXPIRED_EVERY === 0) utimesSync(f, old, old);
  }
}
const RUN = `
const { gcFiles } = await import(process.argv[1]);
const t = process.cpuUsage();
const r = await gcFiles(process.argv[3] + ';' + process.argv[2], { maxlifetime: 1440, jobs: 1 });
const u = process.cpuUsage(t);
console.log(JSON.stringify({ cpuMs: (u.user + u.system) / 1000, deleted: r.deleted, scanned: r.scanned }));`;
const ROUNDS = Math.max(1, Number(process.env.SESSCTL_BENCH_ROUNDS ?? 5));
const times = { before: [], after: [] };
for (let round = 0; round < ROUNDS; round++) {
  for (const [which, mod] of Object.entries(builds)) {
    const dir = mkdtempSync(join(tmpdir(), 'sessctl-abgc-'));
    buildTree(dir);
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', RUN, mod, dir, String(DEPTH)], { encoding: 'utf8' });
    rmSync(dir, { recursive: true, force: true });
    if (r.status !== 0) throw new Error(r.stderr);
    const out = JSON.parse(r.stdout);
    if (out.deleted !== Math.ceil(N / EXPIRED_EVERY) || out.scanned !== N) throw new Error(`${which}: ${r.stdout}`);
    times[which].push(out.cpuMs);
  }
}
const best = (xs) => Math.min(...xs);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const line = (what, f) => `${what}: before ${f(times.before).toFixed(0)}, after ${f(times.after).toFixed(0)}, after/before speed ${(f(times.before) / f(times.after)).toFixed(2)}×`;
console.log(`gc of ${N} files (1 in ${EXPIRED_EVERY} expired), depth ${DEPTH}, one worker, ${ROUNDS} rounds, CPU ms — ${line('best', best)}; ${line('median', median)}`);
