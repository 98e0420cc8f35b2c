#!/usr/bin/env node
// igbinary and msgpack throughput: our decode/encode against PHP's own igbinary_unserialize()/
// igbinary_serialize() and msgpack_unpack()/msgpack_pack(), timed inside the php CLI in the same
// run, on the same realistic sessions (bench/gen-sessions.php, encoded by PHP).
//
//   npm run bench -- binary-codecs     (BENCH_SECONDS=3 per measurement, best of 3 rounds; BENCH_SESSIONS=400)
import { mkdirSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { igbinarySerialize, igbinaryUnserialize, msgpackPack, msgpackUnpack } from '../dist/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const PHP = process.env.PHP_BINARY || 'php';
const SECONDS = Number(process.env.BENCH_SECONDS || 3);
const COUNT = Number(process.env.BENCH_SESSIONS || 400);
const ROUNDS = 3;

function php(args) {
  const r = spawnSync(PHP, args, { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`php ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r;
}

const missing = ['igbinary', 'msgpack'].filter((e) => spawnSync(PHP, ['-r', `exit(extension_loaded("${e}") ? 0 : 1);`]).status !== 0);
if (missing.length) {
  console.error(`php ${missing.join(' and ')} extension missing (apt-get install ${missing.map((e) => `php-${e}`).join(' ')}): nothing to compare with`);
  process.exit(1);
}

// 1. The sessions, made by PHP, and PHP's timings of its own functions on them.
const dataDir = join(here, 'data');
mkdirSync(dataDir, { recursive: true });
const dataFile = join(dataDir, `sessions-${COUNT}.json`);
const gen = php([join(here, 'gen-sessions.php'), dataFile, String(COUNT)]);
const native = JSON.parse(php([join(here, 'php-binary-native.php'), dataFile, String(SECONDS)]).stdout);
const inputs = Object.fromEntries(Object.entries(native.encoded).map(([f, list]) => [f, list.map((b) => Buffer.from(b, 'base64'))]));

/** CPU time of this process (user + system), in ns: on a shared machine wall time measures the neighbours. */
function cpuNs() {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}

/**
 * Throughput of pass() in CPU time, both here and in php-binary-native.php: a warm-up, then the
 * best of ROUNDS rounds. (Includes this process's GC, which runs on other threads too.)
 */
function measure(pass, n) {
  const warmEnd = cpuNs() + SECONDS * 0.2e9;
  while (cpuNs() < warmEnd) pass();
  let best;
  for (let r = 0; r < ROUNDS; r++) {
    globalThis.gc?.();
    let bytes = 0;
    let passes = 0;
    const start = cpuNs();
    let ns;
    do {
      bytes += pass();
      passes++;
      ns = cpuNs() - start;
    } while (ns < (SECONDS / ROUNDS) * 1e9);
    if (!best || bytes / ns > best.bytes / best.ns) best = { sessions: passes * n, bytes, ns };
  }
  return best;
}
const rate = (m) => ({ mbps: m.bytes / 1e6 / (m.ns / 1e9), sps: m.sessions / (m.ns / 1e9) });

// 2. Correctness on these inputs: decode + encode must give PHP's bytes back.
const wrong = [];
const decoded = {
  igbinary: inputs.igbinary.map((b, i) => {
    const v = igbinaryUnserialize(b);
    if (!igbinarySerialize(v).equals(b)) wrong.push(`igbinary#${i}`);
    return v;
  }),
  msgpack: inputs.msgpack.map((b, i) => {
    const v = msgpackUnpack(b);
    if (!msgpackPack(v).equals(b)) wrong.push(`msgpack#${i}`);
    return v;
  }),
};

// 3. Timings. Each loop written out (one call site per codec), as in bench/codec.bench.js.
const results = {};
results['ours igbinaryUnserialize'] = measure(() => {
  let n = 0;
  for (const b of inputs.igbinary) {
    igbinaryUnserialize(b);
    n += b.length;
  }
  return n;
}, inputs.igbinary.length);
results['ours igbinarySerialize'] = measure(() => {
  let n = 0;
  for (const v of decoded.igbinary) n += igbinarySerialize(v).length;
  return n;
}, decoded.igbinary.length);
results['ours msgpackUnpack'] = measure(() => {
  let n = 0;
  for (const b of inputs.msgpack) {
    msgpackUnpack(b);
    n += b.length;
  }
  return n;
}, inputs.msgpack.length);
results['ours msgpackPack'] = measure(() => {
  let n = 0;
  for (const v of decoded.msgpack) n += msgpackPack(v).length;
  return n;
}, decoded.msgpack.length);
for (const [fn, m] of Object.entries(native.results)) results[`PHP ${fn}`] = m;

// 4. Report.
const total = (list) => list.reduce((n, b) => n + b.length, 0);
const phpVersion = php(['-r', 'echo PHP_VERSION, " igbinary ", phpversion("igbinary"), " msgpack ", phpversion("msgpack");']).stdout.trim();
console.log(`machine: ${os.cpus()[0]?.model ?? 'unknown cpu'} ×${os.cpus().length}, ${os.platform()} ${os.release()}`);
console.log(`node ${process.version}, php ${phpVersion}`);
console.log(`inputs: ${gen.stderr.trim() || `${COUNT} sessions`}; igbinary ${(total(inputs.igbinary) / 1024).toFixed(1)} KB, msgpack ${(total(inputs.msgpack) / 1024).toFixed(1)} KB; ${SECONDS}s of CPU time per measurement (best of ${ROUNDS} rounds, after a warm-up), MB/s of CPU time on both sides`);
console.log(`ours: ${wrong.length ? `${wrong.length} inputs NOT byte-identical after decode+encode (${wrong.slice(0, 5).join(', ')})` : 'every input round-trips to PHP\'s bytes'}`);
console.log('');
const rows = Object.entries(results).map(([name, m]) => ({ name, ...rate(m) }));
const w = Math.max(...rows.map((r) => r.name.length));
console.log(`${'operation'.padEnd(w)}  ${'MB/s'.padStart(9)}  ${'sessions/s'.padStart(11)}`);
for (const r of rows) console.log(`${r.name.padEnd(w)}  ${r.mbps.toFixed(1).padStart(9)}  ${Math.round(r.sps).toString().padStart(11)}`);
console.log('');
const ratio = (a, b) => rate(results[a]).mbps / rate(results[b]).mbps;
const checks = [
  ['igbinary decode: ours / PHP igbinary_unserialize()', 'ours igbinaryUnserialize', 'PHP igbinary_unserialize'],
  ['igbinary encode: ours / PHP igbinary_serialize()', 'ours igbinarySerialize', 'PHP igbinary_serialize'],
  ['msgpack decode: ours / PHP msgpack_unpack()', 'ours msgpackUnpack', 'PHP msgpack_unpack'],
  ['msgpack encode: ours / PHP msgpack_pack()', 'ours msgpackPack', 'PHP msgpack_pack'],
];
const cw = Math.max(...checks.map((c) => c[0].length));
for (const [label, a, b] of checks) console.log(`${label.padEnd(cw)}  ${ratio(a, b).toFixed(2).padStart(6)}×`);
if (wrong.length) process.exitCode = 1;
