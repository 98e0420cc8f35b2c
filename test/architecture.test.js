// The architecture, checked on what ships (dist/): no import cycle anywhere, the layer
// direction (errors ← codec ← session ← backends ← admin ← cli; middleware → session, codec),
// no backend importing another backend or admin, and the root entry reaching no backend
// and no client library. Plus: every entry works with both import and require.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist');

function jsFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? jsFiles(join(dir, e.name)) : e.name.endsWith('.js') ? [join(dir, e.name)] : []));
}

/** Static (`import … from`, `export … from`) and dynamic (`import('…')`) specifiers of a compiled module. */
function importsOf(file) {
  const src = readFileSync(file, 'utf8');
  const statics = [...src.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]/gm), ...src.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm)].map((m) => m[1]);
  const dynamics = [...src.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]);
  const norm = (s) => (s.startsWith('.') ? resolve(dirname(file), s) : s);
  return { statics: statics.map(norm), dynamics: dynamics.map(norm) };
}

const files = jsFiles(DIST);
const graph = new Map(files.map((f) => [f, importsOf(f)]));
const area = (f) => {
  const r = relative(DIST, f);
  if (r === 'index.js' || r === 'errors.js') return r.replace('.js', '');
  if (r === join('backends', 'index.js')) return 'backends-table';
  const parts = r.split('/');
  return parts[0] === 'backends' ? `backends/${parts[1]}` : parts[0];
};

test('dist/ has no import cycle (static imports, as madge --circular counts them)', () => {
  const state = new Map();
  const cycles = [];
  const visit = (f, stack) => {
    state.set(f, 'active');
    for (const dep of graph.get(f)?.statics ?? []) {
      if (!graph.has(dep)) continue;
      if (state.get(dep) === 'active') cycles.push([...stack.slice(stack.indexOf(dep)), dep].map((p) => relative(DIST, p)).join(' → '));
      else if (!state.has(dep)) visit(dep, [...stack, dep]);
    }
    state.set(f, 'done');
  };
  for (const f of files) if (!state.has(f)) visit(f, [f]);
  assert.deepEqual(cycles, []);
});

test('layer direction: each area imports only what is below it', () => {
  const allowed = {
    errors: [],
    codec: ['errors', 'codec'],
    session: ['errors', 'codec', 'session'],
    // what two backends share: flock and file-io (files, laravel-files), redis/, memcached/, sql, laravel
    'backends/shared': ['errors', 'codec', 'session', 'backends/shared'],
    'backends/files': ['errors', 'codec', 'session', 'backends/shared', 'backends/files'],
    'backends/laravel-files': ['errors', 'codec', 'session', 'backends/shared', 'backends/laravel-files'],
    'backends/redis': ['errors', 'codec', 'session', 'backends/shared', 'backends/redis'],
    'backends/symfony-redis': ['errors', 'codec', 'session', 'backends/shared', 'backends/symfony-redis'],
    'backends/symfony-pdo': ['errors', 'codec', 'session', 'backends/shared', 'backends/symfony-pdo'],
    'backends/laravel-database': ['errors', 'codec', 'session', 'backends/shared', 'backends/laravel-database'],
    'backends/laravel-redis': ['errors', 'codec', 'session', 'backends/shared', 'backends/laravel-redis'],
    'backends/laravel-memcached': ['errors', 'codec', 'session', 'backends/shared', 'backends/laravel-memcached'],
    'backends/memory': ['errors', 'codec', 'session', 'backends/memory'],
    'backends/memcached': ['errors', 'codec', 'session', 'backends/shared', 'backends/memcached'],
    'backends-table': ['errors', 'session', 'backends/files', 'backends/redis', 'backends/memory', 'backends/laravel-files', 'backends/memcached', 'backends/laravel-database', 'backends/symfony-redis', 'backends/laravel-redis', 'backends/laravel-memcached', 'backends/symfony-pdo'],
    // admin reads framework apps: the Laravel cookie, the Symfony security token (never the middleware)
    admin: ['errors', 'codec', 'session', 'admin', 'backends-table', 'frameworks'],
    middleware: ['errors', 'codec', 'session', 'middleware'],
    // a framework layer is a view over any backend (and the middleware for its own middleware)
    frameworks: ['errors', 'codec', 'session', 'middleware', 'frameworks'],
    cli: ['errors', 'codec', 'session', 'admin', 'backends-table', 'cli'],
    index: ['errors', 'codec', 'session'],
  };
  const wrong = [];
  for (const [f, { statics, dynamics }] of graph) {
    const from = area(f);
    for (const dep of [...statics, ...dynamics]) {
      if (!dep.startsWith('/')) continue; // packages
      const to = area(dep);
      if (!(allowed[from] ?? []).includes(to)) wrong.push(`${relative(DIST, f)} → ${relative(DIST, dep)} (${from} → ${to})`);
    }
  }
  assert.deepEqual(wrong, []);
});

test('one file-I/O module: files and laravel-files both use backends/shared/file-io; laravel-files has no fs access of its own', () => {
  const FILE_IO = join(DIST, 'backends', 'shared', 'file-io') + '/';
  const users = new Set();
  for (const [f, { statics, dynamics }] of graph) {
    if (statics.some((d) => d.startsWith(FILE_IO))) users.add(area(f));
    if (area(f) !== 'backends/laravel-files') continue;
    for (const dep of [...statics, ...dynamics]) assert.ok(!/^(node:)?fs(\/|$)/.test(dep), `${relative(DIST, f)} imports ${dep}: go through backends/shared/file-io`);
  }
  assert.ok(users.has('backends/files') && users.has('backends/laravel-files'), [...users].join(', '));
});

test('the root entry reaches no backend and no redis module, statically or lazily', () => {
  const seen = new Set();
  const packages = new Set();
  const walk = (f) => {
    if (seen.has(f)) return;
    seen.add(f);
    const { statics, dynamics } = graph.get(f) ?? { statics: [], dynamics: [] };
    for (const dep of [...statics, ...dynamics]) {
      if (dep.startsWith('/')) walk(dep);
      else packages.add(dep);
    }
  };
  walk(join(DIST, 'index.js'));
  assert.deepEqual([...seen].filter((f) => area(f).startsWith('backends')), []);
  assert.deepEqual([...packages].filter((p) => !p.startsWith('node:')), []);
});

test('only the shared Redis connection imports the redis client, and only lazily', () => {
  for (const [f, { statics, dynamics }] of graph) {
    if (statics.includes('redis')) assert.fail(`${relative(DIST, f)} imports redis statically`);
    if (dynamics.includes('redis')) assert.equal(relative(DIST, f), join('backends', 'shared', 'redis', 'connection.js'));
  }
});

test('every package entry loads with import and with require', async () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const require = createRequire(join(ROOT, 'package.json'));
  for (const sub of Object.keys(pkg.exports)) {
    if (sub === './package.json') continue;
    const name = sub === '.' ? 'sessctl' : `sessctl/${sub.slice(2)}`;
    const esm = await import(name);
    const cjs = require(name);
    assert.ok(Object.keys(esm).length > 0, name);
    assert.deepEqual(Object.keys(cjs).sort(), Object.keys(esm).sort(), name);
  }
  // a CommonJS program, as a user's would be
  const r = spawnSync(process.execPath, ['-e', "const s = require('sessctl'); const { FileSessionStore } = require('sessctl/files'); console.log(typeof s.decodeSession, typeof FileSessionStore)"], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.stderr, '');
  assert.equal(r.stdout.trim(), 'function function');
});

test('the root entry stays small: at most 45 value exports', async () => {
  const root = await import('sessctl');
  assert.ok(Object.keys(root).length <= 45, `${Object.keys(root).length}: ${Object.keys(root).join(', ')}`);
});
