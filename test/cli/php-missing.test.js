// A first hour without php on PATH (or a wrong SESSCTL_PHP_BINARY): the settings php would have
// given fall back to PHP's built-in defaults — save_path = the temp dir — and sessctl says so
// instead of listing (or collecting) /tmp as if that were the configured save path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveSettings } from 'sessctl/admin';
import { sessctl } from '../helpers/cli.js';

test('resolveSettings: a php binary that cannot be run is a warning naming it and the defaulted settings', async () => {
  const r = await resolveSettings({ env: { SESSCTL_PHP_BINARY: '/nonexistent/php' }, flags: { serializeHandler: 'php' } });
  assert.equal(r.values.savePath, '/tmp');
  assert.equal(r.warnings?.length, 1, JSON.stringify(r.warnings));
  const w = /** @type {string[]} */ (r.warnings)[0];
  assert.match(w, /\/nonexistent\/php: no such file/);
  assert.match(w, /session\.save_path/);
  assert.doesNotMatch(w, /session\.serialize_handler/, 'a flag given is no default');
  assert.match(r.sources.savePath.detail, /could not be asked: no such file/);
});

test('resolveSettings: php: false (--no-php) and settings all given warn about nothing', async () => {
  assert.equal((await resolveSettings({ env: { SESSCTL_PHP_BINARY: '/nonexistent/php' }, php: false })).warnings, undefined);
  const all = { saveHandler: 'files', savePath: '/tmp', serializeHandler: 'php', maxlifetime: '1440', gcProbability: '1', gcDivisor: '100', sidLength: '32', sidBitsPerCharacter: '4' };
  assert.equal((await resolveSettings({ env: { SESSCTL_PHP_BINARY: '/nonexistent/php' }, flags: all })).warnings, undefined);
});

test('sessctl config / list without a php to ask: one warning line on stderr, exit 0; --no-php silences it', () => {
  const env = { SESSCTL_PHP_BINARY: '/nonexistent/php' };
  for (const args of [['config'], ['list', '--no-decode', '--limit', '0']]) {
    const r = sessctl(args, { env });
    assert.equal(r.code, 0, r.stderr);
    const warnings = r.stderr.split('\n').filter((l) => l.startsWith('sessctl: warning: '));
    assert.equal(warnings.length, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(warnings[0], /could not ask php .*\/nonexistent\/php: no such file.*session\.save_path: the temp dir.*--save-path/);
  }
  const quiet = sessctl(['config', '--no-php'], { env });
  assert.doesNotMatch(quiet.stderr, /warning/);
});
