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
