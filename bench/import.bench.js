// What `import 'sessctl'` (and each entry) costs over `node -e 0`: a fresh process per run,
// runs of each kind interleaved, medians compared. Target for the root entry: ≤ 60 ms over bare node.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const cases = {
  'node -e 0': '0',
  sessctl: "import('sessctl')",
  'sessctl/files': "import('sessctl/files')",
  'sessctl/middleware': "import('sessctl/middleware')",
  'sessctl/redis': "import('sessctl/redis')",
  'sessctl/redis + redis client': "import('sessctl/redis').then(() => import('redis'))",
  'require(sessctl)': "require('sessctl')",
};
const times = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
for (let i = 0; i < RUNS; i++) {
  for (const [name, code] of Object.entries(cases)) {
    const t = process.hrtime.bigint();
    const r = spawnSync(process.execPath, ['-e', code], { cwd: ROOT, stdio: 'ignore' });
    if (r.status !== 0) throw new Error(`${name} failed`);
    times[name].push(Number(process.hrtime.bigint() - t) / 1e6);
  }
}
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const base = median(times['node -e 0']);
console.log(`process start + import, median of ${RUNS} interleaved runs (ms):`);
for (const name of Object.keys(cases)) {
  const m = median(times[name]);
  console.log(`  ${name.padEnd(30)} ${m.toFixed(1).padStart(7)}   +${(m - base).toFixed(1)} over node -e 0${name === 'sessctl' ? `  (target ≤ 60: ${m - base <= 60 ? 'met' : 'NOT met'})` : ''}`);
}
