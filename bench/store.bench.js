// File store figures: locked update round trips, lazy saves, one-shot reads, walking a
// large save path, and the lock hand-off latency between two handles.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileSessionStore, createSessionDirs, parseSavePath, walkSessionFiles } from 'sessctl/files';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sessctl-bench-store-'));
const out = (name, n, ms) => console.log(`${name.padEnd(44)} ${String(n).padStart(7)} ops  ${ms.toFixed(0).padStart(6)} ms  ${Math.round(n / (ms / 1000)).toString().padStart(8)} ops/s`);
async function time(name, n, fn) {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await fn(i);
  out(name, n, performance.now() - t0);
}
try {
  const store = new FileSessionStore({ savePath: tmp });
  const id = 'benchsession000000000000000001';
  await store.update(id, (d) => { d.set('user', 'alice'); d.set('n', 0); d.set('blob', 'x'.repeat(2000)); });
  await time('update (open+read+write+close, 2 KB)', 3000, () => store.update(id, (d) => { d.set('n', d.get('n') + 1); }));
  await time('open + lazy save (unchanged) + close', 3000, async () => { const h = await store.open(id); await h.save(); await h.close(); });
  await time('read (LOCK_SH, decode)', 5000, () => store.read(id));
  await time('read of a missing session (null)', 5000, () => store.read('missingsession0000000000000001'));

  // Lock hand-off: B waits on A's lock; how long after A closes does B get it (polling backoff)?
  const lat = [];
  for (let i = 0; i < 200; i++) {
    const a = await store.open(id);
    const waiting = store.open(id);
    await new Promise((r) => setTimeout(r, 5 + (i % 20)));
    const t0 = performance.now();
    await a.close();
    const b = await waiting;
    lat.push(performance.now() - t0);
    await b.close();
  }
  lat.sort((x, y) => x - y);
  console.log(`lock hand-off latency (poll backoff 1→10 ms)  p50 ${lat[100].toFixed(1)} ms  p95 ${lat[190].toFixed(1)} ms  max ${lat[199].toFixed(1)} ms`);

  const walkDir = path.join(tmp, 'walk');
  fs.mkdirSync(walkDir);
  const sp = parseSavePath(`1;${walkDir}`);
  await createSessionDirs(sp, { bitsPerCharacter: 4 });
  const N = 20000;
  const hex = '0123456789abcdef';
  for (let i = 0; i < N; i++) {
    const sid = hex[i % 16] + i.toString(16).padStart(25, '0');
    fs.writeFileSync(path.join(walkDir, sid[0], `sess_${sid}`), 'a|i:1;');
  }
  global.gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  let count = 0;
  let peak = heap0;
  const t0 = performance.now();
  for await (const _ of walkSessionFiles(sp)) { if (++count % 1000 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed); }
  out('walk depth 1 (sessions found)', count, performance.now() - t0);
  console.log(`walk heap growth (peak - start): ${((peak - heap0) / 1024 / 1024).toFixed(1)} MB for ${count} files`);
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
