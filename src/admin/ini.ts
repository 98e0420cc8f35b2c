import { readdirSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ConfigError } from '../errors.js';
import { ConfigFileUnreadableError, readConfigFile } from './config-file.js';

/** One directive from an ini file, with where it was set (for `sessctl config`). */
export interface IniValue {
  value: string;
  file: string;
  line: number;
}

/**
 * Parses php.ini syntax: `key = value`, `;` comments, `[sections]`, double-quoted strings
 * (with `\"` and `${ENV}`), single-quoted raw strings, bare words (On/Off/Yes/No/True/False/
 * None/Null mapped as PHP does) and `${ENV}` in bare values. Directives inside `[PATH=…]` /
 * `[HOST=…]` sections are skipped: PHP applies them only to matching CGI/FPM requests.
 * Later directives win. Keys are returned as written (`session.save_path`).
 * @throws ConfigError on a line PHP would reject (unterminated quote, missing `=`).
 */
export function parseIni(text: string, file: string, env: NodeJS.ProcessEnv = process.env): Map<string, IniValue> {
  const out = new Map<string, IniValue>();
  let conditional = false;
  const lines = text.split(/\r\n|\n|\r/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith(';') || line.startsWith('#')) continue;
    if (line.startsWith('[')) {
      const end = line.indexOf(']');
      if (end < 0) throw new ConfigError(`${file}:${i + 1}: unterminated section header`);
      const name = line.slice(1, end).trim().toUpperCase();
      conditional = name.startsWith('PATH=') || name.startsWith('HOST=');
      continue;
    }
    const eq = line.indexOf('=');
    if (eq < 0) {
      // PHP accepts a bare key as "key = ''"; keep it, it cannot be a session directive we need.
      continue;
    }
    const key = line.slice(0, eq).trim();
    if (key === '') throw new ConfigError(`${file}:${i + 1}: directive without a name`);
    const value = parseIniValue(line.slice(eq + 1), `${file}:${i + 1}`, env);
    if (!conditional) out.set(key, { value, file, line: i + 1 });
  }
  return out;
}

const BARE_CONSTANTS: Record<string, string> = {
  on: '1',
  yes: '1',
  true: '1',
  off: '',
  no: '',
  false: '',
  none: '',
  null: '',
};

function expandEnv(s: string, env: NodeJS.ProcessEnv): string {
  return s.replace(/\$\{([^}]*)\}/g, (_, name: string) => env[name] ?? '');
}

/** A value part may be a sequence of quoted and bare pieces (PHP concatenates them). */
export function parseIniValue(raw: string, where: string, env: NodeJS.ProcessEnv): string {
  let s = raw.trim();
  let out = '';
  let sawQuoted = false;
  while (s.length > 0) {
    const c = s[0];
    if (c === ';') break;
    if (c === '"') {
      let i = 1;
      let piece = '';
      for (; i < s.length && s[i] !== '"'; i++) {
        if (s[i] === '\\' && (s[i + 1] === '"' || s[i + 1] === '\\')) i++;
        piece += s[i];
      }
      if (i >= s.length) throw new ConfigError(`${where}: unterminated double-quoted value`);
      out += expandEnv(piece, env);
      sawQuoted = true;
      s = s.slice(i + 1).trimStart();
    } else if (c === "'") {
      const end = s.indexOf("'", 1);
      if (end < 0) throw new ConfigError(`${where}: unterminated single-quoted value`);
      out += s.slice(1, end);
      sawQuoted = true;
      s = s.slice(end + 1).trimStart();
    } else {
      const m = /^[^;"']*/.exec(s)!;
      const bare = m[0].trimEnd();
      const constant = BARE_CONSTANTS[bare.toLowerCase()];
      out += !sawQuoted && constant !== undefined && m[0].length === s.length ? constant : expandEnv(bare, env);
      s = s.slice(m[0].length);
    }
  }
  return out;
}

/**
 * Loads a php.ini file and then its scan directory, as PHP does: `PHP_INI_SCAN_DIR`
 * (a `:`-separated list; an empty entry stands for the default) or else `conf.d` next to
 * the file; `*.ini` files in each directory in alphabetical order, later ones win.
 * Every file is read with {@link readConfigFile}: a FIFO, a device, an oversized file or a
 * symlink another user owns is refused, in the scan directories too.
 * @throws ConfigError when the php.ini file cannot be read or parsed, or a file is refused.
 */
export function loadPhpIni(file: string, env: NodeJS.ProcessEnv = process.env): Map<string, IniValue> {
  const values = parseIni(readConfigFile(file, '--php-ini'), file, env);
  const defaultScanDir = join(dirname(file), 'conf.d');
  const scanDirs =
    env.PHP_INI_SCAN_DIR !== undefined
      ? env.PHP_INI_SCAN_DIR.split(':').map((d) => (d === '' ? defaultScanDir : d))
      : [defaultScanDir];
  for (const dir of scanDirs) {
    if (!existsSync(dir)) continue;
    let names: string[];
    try {
      names = readdirSync(dir).filter((n) => n.endsWith('.ini')).sort();
    } catch {
      continue;
    }
    for (const name of names) {
      const path = join(dir, name);
      let t: string;
      try {
        t = readConfigFile(path, 'php.ini scan directory file');
      } catch (err) {
        // PHP silently skips unreadable scan-dir files too; what sessctl refuses is an error.
        if (err instanceof ConfigFileUnreadableError) continue;
        throw err;
      }
      for (const [k, v] of parseIni(t, path, env)) values.set(k, v);
    }
  }
  return values;
}
