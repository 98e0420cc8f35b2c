// Before/after for the codec on a shared machine: the same PHP-made sessions decoded and
// re-encoded by two builds of sessctl (this tree's dist/ and another checkout's), measured in
// CPU time of this process (wall time would measure the neighbours), runs interleaved, the
// best of each kept.   node bench/ab-codec.js /path/to/other/checkout
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';

const here = fileURLToPath(new URL('.', import.meta.url));
const other = process.argv[2];
if (!other) throw new Error('usage: node bench/ab-codec.js OTHER_CHECKOUT');
const dataFile = join(here, 'data', 'sessions-400.json');
if (!existsSync(dataFile)) spawnSync('php', [join(here, 'gen-sessions.php'), dataFile, '400'], { stdio: 'inherit' });
const raw = JSON.parse(readFileSync(dataFile, 'utf8'));
const inputs = raw.php.map((b) => Buffer.from(b, 'base64'));
const builds = {
  before: await import(pathToFileURL(join(other, 'dist', 'index.js')).href),
  after: await import(pathToFileURL(join(here, '..', 'dist', 'index.js')).href),
};
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const ops = {
  'session decode (php)': (c) => { for (const b of inputs) c.decodeSession(b, 'php'); },
  'decode + re-encode (php)': (c) => { for (const b of inputs) c.encodeSession(c.decodeSession(b, 'php'), 'php'); },
  'decode, change, encode': (c) => {
    for (const b of inputs) {
      const s = c.decodeSession(b, 'php');
      s.set('last_activity', 1);
      c.encodeSession(s, 'php');
    }
  },
};
const bytes = inputs.reduce((n, b) => n + b.length, 0);
console.log(`${inputs.length} sessions, ${(bytes / 1e6).toFixed(2)} MB; best of 5 interleaved rounds, CPU time`);
for (const [name, op] of Object.entries(ops)) {
  const best = { before: Infinity, after: Infinity };
  for (const c of Object.values(builds)) for (let i = 0; i < 20; i++) op(c); // warm-up
  for (let round = 0; round < 5; round++) {
    for (const [which, c] of Object.entries(builds)) {
      globalThis.gc?.();
      const t = cpuMs();
      for (let i = 0; i < 10; i++) op(c);
      best[which] = Math.min(best[which], (cpuMs() - t) / 10);
    }
  }
  const mbs = (ms) => (bytes / 1e6 / (ms / 1000)).toFixed(0);
  console.log(`  ${name.padEnd(28)} before ${mbs(best.before).padStart(4)} MB/s   after ${mbs(best.after).padStart(4)} MB/s   after/before ${(best.before / best.after).toFixed(2)}×`);
}
