// gc scenarios that tests run both in their own process (with the native helper when it is
// built) and in a child with SESSCTL_NO_NATIVE=1 (the /proc fallback): each returns plain
// data, so the two runs can be compared. `inChild` runs one of them in a child process.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { gcFiles, tryLockFd } from 'sessctl/files';
import { NATIVE_AT } from '../../dist/backends/shared/file-io/native-at.js';

const ID = 'abcdefghijklmnopqrstuvwxyz0123';
const OLD = new Date('2000-01-01T00:00:00Z');
const COUNTS = ['scanned', 'expired', 'deleted', 'skippedLocked', 'skippedTouched', 'vanished', 'bytesFreed', 'errors'];

/** The counts of a gc report (what must not depend on how names are resolved). */
export const countsOf = (/** @type {Record<string, any>} */ report) => Object.fromEntries(COUNTS.map((k) => [k, report[k]]));

const old = (/** @type {string} */ p) => fs.utimesSync(p, OLD, OLD);

/**
 * Swaps the directory being collected for a symlink mid-run (from onProgress: with one job
 * gc runs synchronously), and makes half of what is left in it fresh. Every later name in
 * that directory then has two answers: the pinned directory's and the symlink target's.
 * @param {string} base an empty directory to work in
 */
export async function gcSwapMidRun(base) {
  const dir = path.join(base, 'save');
  const elsewhere = path.join(base, 'elsewhere');
  const moved = path.join(base, 'moved');
  fs.mkdirSync(path.join(dir, 'a'), { recursive: true });
  fs.mkdirSync(elsewhere);
  const names = Array.from({ length: 4300 }, (_, i) => `sess_a${String(i).padStart(6, '0')}${ID}`);
  for (const name of names) {
    for (const d of [path.join(dir, 'a'), elsewhere]) {
      fs.writeFileSync(path.join(d, name), d === elsewhere ? 'outside|b:1;' : 'n|i:1;');
      old(path.join(d, name));
    }
  }
  /** @type {string[]} */
  let touched = [];
  const report = await gcFiles(`1;${dir}`, {
    maxlifetime: 1,
    jobs: 1,
    onProgress: (r) => {
      if (r.scanned === 0 || fs.existsSync(moved)) return;
      fs.renameSync(path.join(dir, 'a'), moved);
      fs.symlinkSync(elsewhere, path.join(dir, 'a'));
      touched = fs.readdirSync(moved).filter((_, i) => i % 2 === 0);
      for (const name of touched) fs.utimesSync(path.join(moved, name), new Date(), new Date());
    },
  });
  const outside = fs.readdirSync(elsewhere).sort();
  return {
    native: NATIVE_AT !== null,
    swapped: fs.existsSync(moved),
    names,
    touched: touched.sort(),
    outside,
    outsideIntact: outside.every((name) => fs.readFileSync(path.join(elsewhere, name), 'utf8') === 'outside|b:1;'),
    left: fs.readdirSync(moved).sort(),
    counts: countsOf(report),
  };
}

/**
 * A depth-`depth` tree with everything gc must tell apart: expired and fresh sessions, one
 * held locked, a symlinked session file, a FIFO, a directory named like a session, a file that
 * is no session, and (depth ≥ 1) a directory symlink into a tree of expired sessions
 * elsewhere. Returns the counts and what is left, inside and outside.
 * @param {string} base an empty directory to work in
 * @param {{ depth: number, jobs: number, dryRun?: boolean }} options
 */
export async function gcMixedTree(base, { depth, jobs, dryRun = false }) {
  const dir = path.join(base, 'save');
  const outside = path.join(base, 'outside');
  const HEX = '0123';
  const leaves = depth === 0 ? [''] : depth === 1 ? [...HEX] : [...HEX].flatMap((a) => [...HEX].map((b) => `${a}/${b}`));
  for (const leaf of leaves) fs.mkdirSync(path.join(dir, leaf), { recursive: true });
  fs.mkdirSync(outside);
  const file = (/** @type {number} */ i) => {
    const id = `${HEX[i % 4]}${HEX[(i >> 2) % 4]}${String(i).padStart(6, '0')}${ID}`;
    return path.join(dir, ...id.slice(0, depth), `sess_${id}`);
  };
  for (let i = 0; i < 240; i++) {
    fs.writeFileSync(file(i), `n|i:${i};`);
    if (i % 2 === 0) old(file(i));
  }
  const leaf = path.dirname(file(0));
  fs.writeFileSync(path.join(outside, `sess_target${ID}`), 'outside|b:1;');
  old(path.join(outside, `sess_target${ID}`));
  fs.symlinkSync(path.join(outside, `sess_target${ID}`), path.join(leaf, `sess_link${ID}`));
  spawnSync('mkfifo', [path.join(leaf, `sess_fifo${ID}`)]);
  fs.mkdirSync(path.join(leaf, `sess_dir${ID}`));
  fs.writeFileSync(path.join(leaf, 'notes.txt'), 'not a session');
  old(path.join(leaf, 'notes.txt'));
  if (depth > 0) {
    fs.mkdirSync(path.join(outside, 'tree', ...'00'.slice(1, depth)), { recursive: true });
    const victim = path.join(outside, 'tree', ...'00'.slice(1, depth), `sess_0${ID}`);
    fs.writeFileSync(victim, 'outside|b:1;');
    old(victim);
    fs.symlinkSync(path.join(outside, 'tree'), path.join(dir, '9'));
  }
  const held = fs.openSync(file(2), 'r');
  if (!tryLockFd(held, true)) throw new Error('could not lock the held session');
  let report;
  try {
    report = await gcFiles(`${depth};${dir}`, { maxlifetime: 1440, jobs, dryRun });
  } finally {
    fs.closeSync(held);
  }
  return { native: NATIVE_AT !== null, counts: countsOf(report), left: listTree(dir), outside: listTree(outside) };
}

/** Every entry below `root` (symlinks not followed), with what each is and a file's bytes. */
function listTree(/** @type {string} */ root) {
  /** @type {string[]} */
  const out = [];
  (function walk(/** @type {string} */ d) {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = path.join(d, e.name);
      const rel = path.relative(root, p);
      if (e.isDirectory()) {
        out.push(`${rel}/`);
        walk(p);
      } else if (e.isFile()) out.push(`${rel} ${fs.readFileSync(p, 'utf8')}`);
      else out.push(`${rel} (${e.isSymbolicLink() ? 'symlink' : 'other'})`);
    }
  })(root);
  return out;
}

/**
 * Runs the scenario `name` of this module in a child process with `env` added, e.g.
 * `{ SESSCTL_NO_NATIVE: '1' }`. Returns its result and whatever it printed on stderr. The
 * child runs this file (not `--input-type=module -e`: gc's worker threads would inherit that
 * flag and refuse to start).
 * @param {'gcSwapMidRun' | 'gcMixedTree'} name
 * @param {any[]} args
 * @param {Record<string, string>} env
 */
export function inChild(name, args, env) {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), name, JSON.stringify(args)], { env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${name} in a child failed (${r.status}): ${r.stderr}`);
  return { value: JSON.parse(r.stdout), stderr: r.stderr };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const scenarios = { gcSwapMidRun, gcMixedTree };
  const [name, args] = process.argv.slice(2);
  process.stdout.write(JSON.stringify(await scenarios[name](...JSON.parse(args))));
}
