#!/usr/bin/env node
// Start-up cost of `sessctl inspect <id>` over bare `node -e 0` (target: ≤ 60 ms more),
// median of interleaved runs. Commands load their modules lazily for this.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'sessctl.js');
const RUNS = Number(process.env.SESSCTL_BENCH_RUNS || 21);
const dir = mkdtempSync(join(tmpdir(), 'sessctl-bench-startup-'));
const id = 'startupstartupstartup0123';
writeFileSync(join(dir, `sess_${id}`), 'user|s:5:"alice";cart|a:2:{i:0;s:3:"abc";i:1;d:1.5;}');

function time(args) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

try {
  const bare = [];
  const inspect = [];
  const help = [];
  const withPhp = [];
  const inspectArgs = [BIN, 'inspect', id, '--save-path', dir, '--serialize-handler', 'php', '--maxlifetime', '1440', '--save-handler', 'files'];
  time(['-e', '0']);
  time(inspectArgs);
  for (let i = 0; i < RUNS; i++) {
    bare.push(time(['-e', '0']));
    inspect.push(time(inspectArgs));
    help.push(time([BIN, '--help']));
    if (i < 7) withPhp.push(time([BIN, 'inspect', id, '--save-path', dir]));
  }
  const b = median(bare);
  const s = median(inspect);
  console.log(`node -e 0:                             ${b.toFixed(1)} ms (median of ${RUNS})`);
  console.log(`sessctl --help:                        ${median(help).toFixed(1)} ms`);
  console.log(`sessctl inspect <id> (all settings given): ${s.toFixed(1)} ms → +${(s - b).toFixed(1)} ms over node (target ≤ 60 ms): ${s - b <= 60 ? 'OK' : 'MISSED'}`);
  console.log(`sessctl inspect <id> (asks php for missing settings): ${median(withPhp).toFixed(1)} ms`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
