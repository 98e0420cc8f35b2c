// The binary handlers' tests need php with php-igbinary / php-msgpack. Same rule as
// test/helpers/env.js: a missing tool skips loudly locally and fails in CI (SESSCTL_CI_STRICT=1).
import { spawnSync } from 'node:child_process';
import { PHP, STRICT, hasPhp } from '../helpers/env.js';

function hasExtension(name) {
  return hasPhp && spawnSync(PHP, ['-r', `exit(extension_loaded(${JSON.stringify(name)}) ? 0 : 1);`]).status === 0;
}

const loaded = { igbinary: hasExtension('igbinary'), msgpack: hasExtension('msgpack') };

/**
 * Options for test(): skip (loudly) or, in CI, fail when php or the extension is missing.
 * @param {'igbinary' | 'msgpack'} name
 */
export function needPhpExtension(name) {
  if (loaded[name]) return {};
  const what = hasPhp ? `the php ${name} extension (php-${name})` : 'php (php-cli)';
  if (STRICT) throw new Error(`${what} is required in CI (SESSCTL_CI_STRICT=1) but was not found`);
  const msg = `${what} is not installed: SKIPPING tests that need it (install it, CI requires it)`;
  process.stderr.write(`\n!!! ${msg}\n`);
  return { skip: msg };
}

/** @type {('igbinary' | 'msgpack')[]} */
export const FORMATS = ['igbinary', 'msgpack'];
