// Every ```ts / ```typescript / ```js code block of README.md and docs/*.md is type-checked
// under "strict": true, as a user's own module importing the package by its name (the
// package's "exports" through self-reference). One tsc run for all blocks; a failure names
// the Markdown file and line. A block opts out only with `<!-- not-compiled: reason -->` on
// the line before its fence. Needs dist/ (npm test builds it first).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'test', '.docs-out');
const CHECKED = new Set(['ts', 'typescript', 'js', 'javascript']);
const OPT_OUT = /^<!--\s*not-compiled:\s*(\S.*?)\s*-->$/;

function markdownFiles() {
  const files = [join(ROOT, 'README.md')];
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.md')) files.push(p);
    }
  };
  if (existsSync(join(ROOT, 'docs'))) walk(join(ROOT, 'docs'));
  return files;
}

/** The fenced blocks of one Markdown file: language, first code line (1-based), code, opt-out reason. */
function blocksOf(file) {
  const lines = readFileSync(file, 'utf8').split('\n');
  const blocks = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([\w+-]*)/.exec(lines[i]);
    if (!open) continue;
    const [, indent, fence, lang] = open;
    let j = i + 1;
    while (j < lines.length && !(lines[j].startsWith(indent + fence[0].repeat(fence.length)) && lines[j].trim().replace(new RegExp(`^\\${fence[0]}+`), '') === '')) j++;
    let k = i - 1;
    while (k >= 0 && lines[k].trim() === '') k--;
    const optOut = k >= 0 ? OPT_OUT.exec(lines[k].trim()) : null;
    blocks.push({
      lang: lang.toLowerCase(),
      line: i + 2,
      code: lines
        .slice(i + 1, j)
        .map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l))
        .join('\n'),
      optOut: optOut ? optOut[1] : null,
    });
    i = j;
  }
  return blocks;
}

test('every TypeScript/JavaScript block in README.md and docs/ compiles under strict', (t) => {
  assert.ok(existsSync(join(ROOT, 'dist', 'index.d.ts')), 'dist/ is missing: run `npm run build` first (npm test does)');
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  try {
    const origin = new Map(); // generated file name → { md, line }
    let n = 0;
    let usesPackage = false;
    for (const md of markdownFiles()) {
      for (const b of blocksOf(md)) {
        if (!CHECKED.has(b.lang) || b.optOut) continue;
        const name = `${relative(ROOT, md).replace(/[^A-Za-z0-9]+/g, '_')}_L${b.line}.ts`;
        writeFileSync(join(OUT, name), b.code + '\n');
        origin.set(name, { md: relative(ROOT, md), line: b.line });
        usesPackage ||= /from\s+['"]sessctl(?:\/[\w-]+)?['"]/.test(b.code);
        n++;
      }
    }
    assert.ok(n > 0, 'no code block found in README.md / docs/');

    // The blocks sit inside the package, so `sessctl` and `sessctl/<entry>` must resolve to
    // this package's own "exports" (self-reference), not to some installed copy.
    const req = createRequire(join(OUT, 'x.js'));
    for (const entry of ['sessctl', 'sessctl/files', 'sessctl/redis', 'sessctl/memory', 'sessctl/middleware', 'sessctl/admin']) {
      const resolved = req.resolve(entry);
      assert.ok(resolved.startsWith(join(ROOT, 'dist') + '/'), `${entry} resolves to ${resolved}, not to this package's dist/`);
    }

    writeFileSync(
      join(OUT, 'tsconfig.json'),
      JSON.stringify(
        {
          compilerOptions: {
            strict: true,
            module: 'NodeNext',
            moduleResolution: 'NodeNext',
            moduleDetection: 'force',
            target: 'ES2022',
            lib: ['ES2022'],
            types: ['node'],
            noEmit: true,
            skipLibCheck: true,
          },
          include: ['*.ts'],
        },
        null,
        2,
      ),
    );
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', join(OUT, 'tsconfig.json'), '--pretty', 'false', '--listFiles'], { cwd: ROOT, encoding: 'utf8' });
    const output = `${r.stdout}${r.stderr}`;

    // The declarations tsc used for the package are this package's dist/ ones.
    const listed = output.split('\n').filter((l) => l.endsWith('.d.ts') || l.endsWith('.ts'));
    const foreign = listed.filter((l) => /node_modules[\\/]sessctl[\\/]/.test(l));
    assert.deepEqual(foreign, [], 'sessctl resolved to an installed copy instead of this package');
    if (usesPackage) {
      assert.ok(
        listed.some((l) => resolve(ROOT, l).startsWith(join(ROOT, 'dist') + '/')),
        `tsc did not resolve sessctl to this package's dist/ declarations:\n${output}`,
      );
    }

    const errors = [];
    for (const l of output.split('\n')) {
      const m = /^(?:.*[\\/])?([^\\/()]+\.ts)\((\d+),(\d+)\): (error TS\d+: .*)$/.exec(l);
      if (m && origin.has(m[1])) {
        const o = origin.get(m[1]);
        errors.push(`${o.md}:${o.line + Number(m[2]) - 1}:${m[3]}: ${m[4]}`);
      } else if (/error TS\d+/.test(l)) errors.push(l);
    }
    if (r.status !== 0 && errors.length === 0) errors.push(`tsc exited with ${r.status}:\n${output}`);
    assert.equal(errors.length, 0, `code blocks that do not compile under strict:\n${errors.join('\n')}`);
    t.diagnostic(`${n} code blocks type-checked in one tsc run`);
  } finally {
    rmSync(OUT, { recursive: true, force: true });
  }
});
