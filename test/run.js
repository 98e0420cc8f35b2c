#!/usr/bin/env node
// Runs every test/**/*.test.js with node's test runner (Node 20's --test takes no globs).
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('.', import.meta.url));
const wanted = process.argv.slice(2);
const files = [];
(function walk(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory() && e.name !== 'fixtures-out') walk(p);
    else if (e.isFile() && e.name.endsWith('.test.js')) files.push(p);
  }
})(root);
const chosen = files.sort().filter((f) => wanted.length === 0 || wanted.some((w) => relative(root, f).includes(w)));
// With no file at all, node --test would discover test files on its own, anywhere in the tree.
if (chosen.length === 0) {
  console.error(`no test file matches ${wanted.map((w) => JSON.stringify(w)).join(' or ')}`);
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', ...chosen], { stdio: 'inherit' });
process.exitCode = r.status ?? 1;
