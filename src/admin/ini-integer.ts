import { ConfigError } from '../errors.js';

const INT_MAX = 2147483647;
const MULTIPLIER: Record<string, bigint> = { '': 1n, k: 1024n, m: 1048576n, g: 1073741824n };
// PHP 8.2's ini integers (zend_ini_parse_quantity): sign, 0x / 0o / 0b / legacy-0 octal or
// decimal digits, then an optional k / m / g. What PHP only accepts with a warning is refused.
const QUANTITY = /^([+-]?)(?:0[xX]([0-9a-fA-F]+)|0[oO]([0-7]+)|0[bB]([01]+)|0([0-7]*)|([1-9][0-9]*))[ \t]*([kKmMgG]?)$/;

/**
 * An integer php.ini setting as PHP 8.2 reads it (`100`, `0x64`, `0144`, `1k`; `''` is 0),
 * checked against `min`..2147483647.
 * @throws ConfigError naming `what` for text PHP would warn about, or a value out of range
 *   (`why` explains what PHP makes of a value below `min`).
 */
export function parseIniInteger(text: string, what: string, min: number, why: string): number {
  const s = text.trim();
  const m = s === '' ? null : QUANTITY.exec(s);
  if (s !== '' && !m) throw new ConfigError(`${what}: ${JSON.stringify(text)} is not a whole number (PHP reads 100, 0x64, 0144, 1k)`);
  let n = 0n;
  if (m) {
    const [, sign, hex, oct, bin, legacyOct, dec, unit] = m;
    const digits = hex !== undefined ? `0x${hex}` : oct !== undefined ? `0o${oct}` : bin !== undefined ? `0b${bin}` : legacyOct !== undefined ? `0o${legacyOct || '0'}` : dec!;
    n = BigInt(digits) * MULTIPLIER[unit!.toLowerCase()]!;
    if (sign === '-') n = -n;
  }
  if (n < BigInt(min)) throw new ConfigError(`${what}: ${JSON.stringify(text)} is below ${min} (${why})`);
  if (n > BigInt(INT_MAX)) throw new ConfigError(`${what}: ${JSON.stringify(text)} is above ${INT_MAX}`);
  return Number(n);
}
