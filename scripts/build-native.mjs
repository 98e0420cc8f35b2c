#!/usr/bin/env node
// Builds the optional native helper (native/: openat, fstatat and unlinkat for the file
// backends on Linux) with node-gyp. It is an accelerator, never a requirement: without it
// sessctl reaches names below a pinned directory through /proc instead. So this script never
// fails an install or a build — when the helper cannot be built (no compiler, no Python, no
// Node headers) it says so in one line and exits 0.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const NATIVE = fileURLToPath(new URL('../native/', import.meta.url));
const FALLBACK = 'gc uses the /proc fallback';

// On stderr: this runs inside `npm pack --json` and the like (prepare), whose stdout is data.
function done(line) {
  console.error(`sessctl: ${line}`);
  process.exit(0);
}

const skip = process.env.SESSCTL_NO_NATIVE;
if (skip && skip !== '0') done(`native helper not built (SESSCTL_NO_NATIVE is set); ${FALLBACK}`);
if (process.platform !== 'linux') done('native helper not built (it is only used on Linux)');
if (!existsSync(join(NATIVE, 'binding.gyp'))) done(`native helper not built (native/binding.gyp is missing); ${FALLBACK}`);

/** How to run node-gyp: npm's own (npm names it to scripts), else one on PATH, else the one npm ships. */
function nodeGyp() {
  const npmGyp = process.env.npm_config_node_gyp;
  if (npmGyp && existsSync(npmGyp)) return [process.execPath, [npmGyp]];
  const onPath = spawnSync('node-gyp', ['--version'], { stdio: 'ignore' });
  if (onPath.status === 0) return ['node-gyp', []];
  const bundled = join(dirname(dirname(process.execPath)), 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  if (existsSync(bundled)) return [process.execPath, [bundled]];
  return null;
}

const gyp = nodeGyp();
if (!gyp) done(`native helper not built (node-gyp not found); ${FALLBACK}`);

const args = [...gyp[1], 'rebuild'];
// Outside npm nothing tells node-gyp where the headers are, and it would try to download
// them: use the ones installed with this Node when they are there.
const headers = dirname(dirname(process.execPath));
if (!process.env.npm_config_nodedir && existsSync(join(headers, 'include', 'node', 'common.gypi'))) args.push(`--nodedir=${headers}`);

const r = spawnSync(gyp[0], args, { cwd: NATIVE, encoding: 'utf8', timeout: 300_000 });
const built = join(NATIVE, 'build', 'Release', 'sessctl_at.node');
if (r.status === 0 && existsSync(built)) done('native helper built (native/build/Release/sessctl_at.node)');

/** The line of node-gyp's output that says what went wrong, as far as one line can. */
function why() {
  if (r.error) return r.error.message;
  if (r.status === null) return `node-gyp stopped by ${r.signal}`;
  const lines = `${r.stderr}\n${r.stdout}`.split('\n').map((l) => l.trim());
  // The compiler's or Python's own complaint first, else node-gyp's summary of the failure.
  const hit =
    lines.find((l) => !l.startsWith('gyp ') && /error:/i.test(l)) ??
    lines.find((l) => l.startsWith('gyp ERR! stack Error:'))?.slice('gyp ERR! stack '.length) ??
    `node-gyp exited with code ${r.status}`;
  return hit.length > 160 ? `${hit.slice(0, 157)}...` : hit;
}
done(`native helper not built (${why()}); ${FALLBACK}`);
