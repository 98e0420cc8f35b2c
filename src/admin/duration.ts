import { ConfigError } from '../errors.js';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * Parses a duration such as `90s`, `24m`, `2h`, `7d`, `1w`, `1h30m` or a bare number of
 * seconds (`1440`, as in php.ini's gc_maxlifetime). Returns whole seconds.
 * @throws ConfigError naming the option when the text is not a duration.
 */
export function parseDuration(text: string, what = 'duration'): number {
  return sumOfUnits(text, what, /(\d+(?:\.\d+)?)([smhdw])/gy, UNIT_SECONDS, '90s, 24m, 2h, 7d');
}

/**
 * Parses a wait such as `--lock-timeout`'s: what parseDuration takes, plus milliseconds
 * (`250ms`, `1s500ms`), since a lock wait shorter than a second is a fair thing to ask for.
 * Returns whole milliseconds.
 * @throws ConfigError naming the option when the text is not a duration.
 */
export function parseDurationMs(text: string, what = 'duration'): number {
  return sumOfUnits(text, what, /(\d+(?:\.\d+)?)(ms|[smhdw])/gy, UNIT_MS, '250ms, 10s, 2m');
}

/**
 * The one grammar of both: a bare number is seconds; else number-unit pairs back to back
 * (`1h30m`), summed in the table's unit and rounded to a whole one.
 */
function sumOfUnits(text: string, what: string, pairs: RegExp, units: Record<string, number>, examples: string): number {
  const s = String(text).trim();
  if (/^\d+$/.test(s)) return checked(Number(s) * units.s!, text, what);
  pairs.lastIndex = 0;
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null;
  while ((m = pairs.exec(s)) !== null) {
    total += Number(m[1]) * units[m[2]!]!;
    matched = pairs.lastIndex;
  }
  if (s === '' || matched !== s.length) {
    throw new ConfigError(`${what}: ${JSON.stringify(text)} is not a duration (use e.g. ${examples} or seconds)`);
  }
  return checked(Math.round(total), text, what);
}

function checked(n: number, text: string, what: string): number {
  if (!Number.isSafeInteger(n)) throw new ConfigError(`${what}: ${JSON.stringify(text)} is out of range`);
  return n;
}

/** Formats seconds compactly for humans: `59s`, `23m 59s`, `2h 5m`, `3d 4h`. Negative values keep their sign. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return String(seconds);
  const sign = seconds < 0 ? '-' : '';
  let s = Math.abs(Math.round(seconds));
  if (s < 60) return `${sign}${s}s`;
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (d > 0) return `${sign}${d}d${h ? ` ${h}h` : ''}`;
  if (h > 0) return `${sign}${h}h${m ? ` ${m}m` : ''}`;
  return `${sign}${m}m${s ? ` ${s}s` : ''}`;
}
