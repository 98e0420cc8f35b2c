// The TypeScript blocks of docs/codec-binary-handlers.md compile under strict TypeScript,
// importing from 'sessctl' (the built package's declarations, by its own name).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const doc = readFileSync(join(root, 'docs', 'codec-binary-handlers.md'), 'utf8');

test('the code blocks of docs/codec-binary-handlers.md compile with tsc --strict', () => {
  const blocks = [...doc.matchAll(/^( *)```ts\n([\s\S]*?)^\1```$/gm)].map((m) => m[2].replace(new RegExp(`^${m[1]}`, 'gm'), ''));
  assert.ok(blocks.length >= 3, `found ${blocks.length} ts blocks`);
  // Inside the package, so that 'sessctl' resolves to this package by its own name.
  const dir = join(root, `.doc-check-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  try {
    const files = blocks.map((code, i) => {
      const f = join(dir, `block${i + 1}.ts`);
      writeFileSync(f, `${code}\nexport {};\n`);
      return f;
    });
    const r = spawnSync(
      process.execPath,
      [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '--strict', '--noUnusedLocals', 'false', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--types', 'node', '--skipLibCheck', ...files],
      { cwd: root, encoding: 'utf8' },
    );
    assert.equal(r.status, 0, `tsc failed:\n${r.stdout}${r.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
