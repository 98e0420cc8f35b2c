/**
 * PHP-FPM pool files (`/etc/php/VERSION/fpm/pool.d/*.conf`): each `[name]` section is a pool,
 * and `php_value[session.…]` / `php_admin_value[session.…]` override php.ini for its requests —
 * what Debian's phpsessionclean does not read. `$pool` in a value is the pool's name, as FPM
 * substitutes it. Only the session directives are kept.
 */
import { ConfigError } from '../../errors.js';
import { parseIniValue } from '../ini.js';

export interface FpmPool {
  name: string;
  file: string;
  /** session.* directive → value and the line that set it (php_admin_value wins over php_value, as in FPM). */
  session: Map<string, { value: string; line: number; admin: boolean }>;
}

const DIRECTIVE = /^(php_value|php_admin_value|php_flag|php_admin_flag)\s*\[\s*(session\.[A-Za-z0-9_.]+)\s*\]$/;

/** @throws ConfigError (file:line) on a line FPM would reject. */
export function parseFpmPools(text: string, file: string): FpmPool[] {
  const pools: FpmPool[] = [];
  let pool: FpmPool | null = null;
  const lines = text.split(/\r\n|\n|\r/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith(';') || line.startsWith('#')) continue;
    if (line.startsWith('[')) {
      const end = line.indexOf(']');
      if (end < 0) throw new ConfigError(`${file}:${i + 1}: unterminated section header`);
      const name = line.slice(1, end).trim();
      // [global] is php-fpm.conf's own section, not a pool.
      pool = name === 'global' ? null : { name, file, session: new Map() };
      if (pool) pools.push(pool);
      continue;
    }
    const eq = line.indexOf('=');
    if (eq < 0 || !pool) continue;
    const m = DIRECTIVE.exec(line.slice(0, eq).trim());
    if (!m) continue;
    const admin = m[1]!.startsWith('php_admin');
    const key = m[2]!;
    const prev = pool.session.get(key);
    // A php_admin_value cannot be overridden by a later php_value (FPM keeps the admin one).
    if (prev?.admin && !admin) continue;
    // FPM replaces every "$pool" (strstr), also inside a longer name: "/srv/$pool_sessions" is
    // "/srv/www_sessions". A function replacer, so a "$&" in a pool name is taken as it is.
    const value = parseIniValue(line.slice(eq + 1), `${file}:${i + 1}`, process.env).replaceAll('$pool', () => pool!.name);
    pool.session.set(key, { value, line: i + 1, admin });
  }
  return pools;
}
