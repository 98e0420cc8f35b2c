// session.gc_probability / session.gc_divisor in the settings resolution (env, php.ini, the
// php binary, defaults), read as PHP 8.2 reads ini integers (judged by PHP's own
// ini_parse_quantity()), and shown by `sessctl config`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from 'sessctl';
import { resolveSettings } from 'sessctl/admin';
import { needPhp, runPhp } from '../helpers/env.js';
import { sessctl, tempDir, removeDir } from '../helpers/cli.js';

test('gc_probability / gc_divisor come from php.ini (+ conf.d) and the environment, else PHP\'s 1 / 100', async () => {
  const dir = tempDir('gc-ini');
  try {
    const ini = join(dir, 'php.ini');
    writeFileSync(ini, '[Session]\nsession.gc_probability = 0\nsession.gc_divisor = 1000\n');
    mkdirSync(join(dir, 'conf.d'));
    writeFileSync(join(dir, 'conf.d', '90-gc.ini'), 'session.gc_divisor = 0x200\n');
    const r = await resolveSettings({ phpIni: ini, php: false, env: {} });
    assert.equal(r.values.gcProbability, 0);
    assert.equal(r.values.gcDivisor, 512);
    assert.deepEqual(r.sources.gcProbability, { kind: 'php.ini', detail: `${ini}:2` });
    assert.match(r.sources.gcDivisor.detail, /conf\.d\/90-gc\.ini:1$/);
    const env = await resolveSettings({ phpIni: ini, php: false, env: { SESSCTL_GC_PROBABILITY: '3', SESSCTL_GC_DIVISOR: '1k' } });
    assert.deepEqual([env.values.gcProbability, env.values.gcDivisor, env.sources.gcProbability.kind], [3, 1024, 'env']);
    const none = await resolveSettings({ php: false, env: {} });
    assert.deepEqual([none.values.gcProbability, none.values.gcDivisor, none.sources.gcDivisor.kind], [1, 100, 'default']);
    writeFileSync(ini, 'session.gc_probability =\n'); // PHP reads an empty value as 0
    assert.equal((await resolveSettings({ phpIni: ini, php: false, env: {} })).values.gcProbability, 0);
  } finally {
    removeDir(dir);
  }
});

test('every form PHP 8.2 reads without a warning gives PHP\'s number; what PHP only takes with a warning, or out of range, is a ConfigError naming where', needPhp(), async () => {
  const forms = ['100', '0x64', '0X64', '0144', '010', '0o17', '0O17', '0b101', '0B101', '1k', '1K', '1 k', '3m', '1G', ' 5 ', '\t7\t', '+3', '+0x10', '0', '00',
    '-2', '-0x10', '4294967296', '2g', '7abc', '1.5', '08', '1kk', 'abc', '0x', '1e3', '- 3', '+'];
  const php = JSON.parse(
    runPhp(['-r', '$o = []; foreach (json_decode(stream_get_contents(STDIN)) as $f) { $w = false; set_error_handler(function () use (&$w) { $w = true; return true; }); $n = ini_parse_quantity($f); restore_error_handler(); $o[] = [$n, $w]; } echo json_encode($o);'], { input: JSON.stringify(forms) }).toString(),
  );
  for (const [i, form] of forms.entries()) {
    const [n, warned] = php[i];
    const got = resolveSettings({ php: false, env: { SESSCTL_GC_PROBABILITY: form } });
    if (warned) {
      await assert.rejects(got, (e) => e instanceof ConfigError && e.message.startsWith('session.gc_probability (from env SESSCTL_GC_PROBABILITY): ') && /is not a whole number/.test(e.message), form);
    } else if (n < 0) {
      await assert.rejects(got, /is below 0 \(PHP then never collects: write 0\)/, form);
    } else if (n > 2147483647) {
      await assert.rejects(got, /is above 2147483647/, form);
    } else {
      assert.equal((await got).values.gcProbability, n, form);
    }
  }
  await assert.rejects(resolveSettings({ php: false, env: { SESSCTL_GC_DIVISOR: '0' } }), /session\.gc_divisor \(from env SESSCTL_GC_DIVISOR\): "0" is below 1 \(PHP then collects at every session start/);
});

test('sessctl config shows the pair (and the chance) from the php binary; a bad value exits 2 naming it', needPhp(), () => {
  const dir = tempDir('gc-scan');
  try {
    writeFileSync(join(dir, '99-gc.ini'), 'session.gc_probability = 3\nsession.gc_divisor = 0x190\n');
    // A leading ':' keeps PHP's own scan dir and adds ours after it.
    const env = { PHP_INI_SCAN_DIR: `:${dir}` };
    const r = sessctl(['config', '--json'], { env });
    assert.equal(r.code, 0, r.stderr);
    const { values, sources } = JSON.parse(r.stdout);
    const raw = JSON.parse(runPhp(['-r', 'echo json_encode([ini_get("session.gc_probability"), ini_get("session.gc_divisor")]);'], { env }).toString());
    assert.deepEqual(raw, ['3', '0x190']);
    assert.deepEqual([values.gcProbability, values.gcDivisor], [3, 400]);
    assert.equal(sources.gcDivisor.kind, 'php');
    const text = sessctl(['config'], { env });
    assert.match(text.stdout, /^session\.gc_probability\s+3\s+from php: /m);
    assert.match(text.stdout, /^session\.gc_divisor\s+400 \(gc at 0\.75% of session starts\)\s+from php: /m);
    const never = sessctl(['config', '--no-php'], { env: { SESSCTL_GC_PROBABILITY: '0' } });
    assert.match(never.stdout, /^session\.gc_divisor\s+100 \(no gc at session start\)/m);
    const bad = sessctl(['list', '--no-php'], { env: { SESSCTL_GC_DIVISOR: '1.5' } });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^sessctl: session\.gc_divisor \(from env SESSCTL_GC_DIVISOR\): "1\.5" is not a whole number/);
  } finally {
    removeDir(dir);
  }
});
