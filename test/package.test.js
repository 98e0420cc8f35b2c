// The package as another project sees it: `import … from 'sessctl'` resolves through the
// exports map to the built ESM entry and its type declarations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, symlinkSync, writeFileSync, existsSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..');

test("another package can `import { … } from 'sessctl'` and finds the types", () => {
  const dir = mkdtempSync(join(tmpdir(), 'sessctl-consumer-'));
  try {
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(root, join(dir, 'node_modules', 'sessctl'), 'dir');
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
    writeFileSync(
      join(dir, 'main.js'),
      "import * as s from 'sessctl';\n" +
        "const names = ['serialize','unserialize','decodeSession','encodeSession','detectHandler','toPlain','DecodeError','PhpArray'];\n" +
        "const missing = names.filter((n) => !(n in s));\n" +
        "if (missing.length) { console.error('missing: ' + missing.join(',')); process.exit(1); }\n" +
        "console.log('ok');\n",
    );
    const r = spawnSync(process.execPath, ['main.js'], { cwd: dir, encoding: 'utf8' });
    assert.equal(r.stderr, '');
    assert.equal(r.stdout.trim(), 'ok');
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    assert.ok(existsSync(join(root, pkg.exports['.'].types)), 'type declarations are built');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every entry has its types under each module resolution a TypeScript project may use (node10 through typesVersions)', () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const entries = Object.keys(pkg.exports).filter((k) => k !== './package.json');
  // typesVersions mirrors exports: node10 resolution reads only that.
  for (const e of entries.filter((k) => k !== '.')) assert.deepEqual(pkg.typesVersions['*'][e.slice(2)], [pkg.exports[e].types], e);
  assert.equal(Object.keys(pkg.typesVersions['*']).length, entries.length - 1, 'no typesVersions entry without an export');
  const dir = mkdtempSync(join(tmpdir(), 'sessctl-resolution-'));
  try {
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(root, join(dir, 'node_modules', 'sessctl'), 'dir');
    // One import per entry, each used as a type, so that a missing declaration is an error.
    const lines = entries.map((e, i) => `import * as m${i} from '${e === '.' ? 'sessctl' : `sessctl/${e.slice(2)}`}';\nexport type T${i} = keyof typeof m${i};`);
    writeFileSync(join(dir, 'main.ts'), lines.join('\n') + '\n');
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    for (const [module, resolution] of [['commonjs', 'node10'], ['node16', 'node16'], ['nodenext', 'nodenext'], ['esnext', 'bundler']]) {
      writeFileSync(join(dir, 'package.json'), JSON.stringify(module === 'node16' || module === 'nodenext' ? { type: 'module' } : {}));
      const r = spawnSync(process.execPath, [tsc, '--noEmit', '--strict', '--skipLibCheck', '--types', 'node', '--module', module, '--moduleResolution', resolution, '--target', 'es2022', '--ignoreDeprecations', '5.0', 'main.ts'], { cwd: dir, encoding: 'utf8' });
      assert.equal(r.status, 0, `${module}/${resolution}:\n${r.stdout}${r.stderr}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
