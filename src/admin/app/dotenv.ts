/**
 * A `.env` reader for the framework apps sessctl looks at: it parses, it never runs anything.
 * Two flavours, because the two frameworks read the file with different libraries:
 * - `laravel` follows vlucas/phpdotenv 5 (what Laravel 8 uses): `${NAME}` interpolation (a name
 *   nobody defines stays as written), `#` anywhere in an unquoted value starts a comment;
 * - `symfony` follows symfony/dotenv: `$NAME`, `${NAME}` and `${NAME:-default}` / `${NAME:=default}`
 *   (an undefined name is empty), `#` starts a comment only after whitespace; `$(command)` is
 *   command substitution there and is refused here (sessctl runs no code from an app).
 * Both: `export ` before the name, `'single quotes'` taken literally, `"double quotes"` with the
 * escapes `\" \\ \$ \n \r \t \f \v` and spanning lines, a space inside an unquoted value is an
 * error, a later definition replaces an earlier one, and a variable already in the process
 * environment wins over the file (also when it is interpolated).
 */
import { ConfigError } from '../../errors.js';

export type DotenvFlavour = 'laravel' | 'symfony';

export interface DotenvOptions {
  flavour: DotenvFlavour;
  /** For messages: the file name. */
  file: string;
  /** The process environment (wins over the file). */
  env: Readonly<Record<string, string | undefined>>;
  /** Values loaded from earlier files (Symfony's .env then .env.local …); later files replace them. */
  loaded?: ReadonlyMap<string, string>;
}

const NAME = /^[A-Za-z0-9_.]+$/;

/** Parses one `.env` text; returns every variable it defines (file values; the caller lets the process environment win). */
export function parseDotenv(text: string, options: DotenvOptions): Map<string, string> {
  const out = new Map<string, string>(options.loaded ?? []);
  const src = text.replace(/\r\n?/g, '\n');
  let pos = 0;
  let line = 1;
  const fail = (what: string, at = line): never => {
    throw new ConfigError(`${options.file}:${at}: ${what}`);
  };
  const lookup = (name: string): string | undefined => options.env[name] ?? out.get(name);

  while (pos < src.length) {
    const eol = src.indexOf('\n', pos) === -1 ? src.length : src.indexOf('\n', pos);
    const raw = src.slice(pos, eol);
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) {
      pos = eol + 1;
      line++;
      continue;
    }
    const startLine = line;
    const eq = raw.indexOf('=');
    if (eq === -1) {
      if (options.flavour === 'symfony') fail(`missing "=" in ${JSON.stringify(trimmed.slice(0, 40))}`);
      // phpdotenv: a bare name clears what the file set before.
      out.delete(trimmed.replace(/^export\s+/, ''));
      pos = eol + 1;
      line++;
      continue;
    }
    let name = raw.slice(0, eq).trim();
    if (/^export\s/.test(name)) name = name.slice(6).trim();
    if (name.length >= 3 && /^(["']).*\1$/.test(name)) name = name.slice(1, -1);
    if (!NAME.test(name)) fail(`${JSON.stringify(name)} is not a variable name`);

    // The value: from after '=' to the end of the line, or further for a quoted value spanning lines.
    let i = pos + eq + 1;
    while (i < src.length && (src[i] === ' ' || src[i] === '\t')) i++;
    let value = '';
    const parts: { text: string; interpolate: boolean }[] = [];
    const q = src[i];
    if (q === "'" || q === '"') {
      const start = i++;
      let buf = '';
      for (;;) {
        if (i >= src.length) fail(`a ${q === '"' ? 'double' : 'single'} quote opened here is never closed`, startLine);
        const c = src[i]!;
        if (c === '\n') line++;
        if (c === q) break;
        if (q === '"' && c === '\\') {
          const n = src[i + 1];
          if (n === '"' || n === '\\' || n === '$') {
            parts.push({ text: buf, interpolate: true }, { text: n, interpolate: false });
            buf = '';
          } else if (n !== undefined && 'nrtfv'.includes(n)) buf += { n: '\n', r: '\r', t: '\t', f: '\f', v: '\v' }[n];
          else fail(`unexpected escape sequence \\${n ?? ''} in a double-quoted value`);
          i += 2;
          continue;
        }
        buf += c;
        i++;
      }
      parts.push({ text: buf, interpolate: q === '"' });
      void start;
      i++;
      // After the closing quote only whitespace and a comment may follow.
      const restEnd = src.indexOf('\n', i) === -1 ? src.length : src.indexOf('\n', i);
      const rest = src.slice(i, restEnd).trim();
      if (rest !== '' && !rest.startsWith('#')) fail(`unexpected ${JSON.stringify(rest.slice(0, 20))} after the closing quote`);
      pos = restEnd + 1;
    } else {
      const rest = src.slice(i, eol);
      let end = rest.length;
      for (let k = 0; k < rest.length; k++) {
        const c = rest[k]!;
        const afterSpace = k === 0 || /\s/.test(rest[k - 1]!);
        if (c === '#' && (options.flavour === 'laravel' || afterSpace)) {
          end = k;
          break;
        }
      }
      const body = rest.slice(0, end).trimEnd();
      if (/\s/.test(body)) fail(`the value of ${name} contains a space: quote it`);
      parts.push({ text: body, interpolate: true });
      pos = eol + 1;
    }
    for (const p of parts) value += p.interpolate ? interpolate(p.text, options.flavour, lookup, (m) => fail(m, startLine)) : p.text;
    out.set(name, value);
    line++;
  }
  return out;
}

function interpolate(text: string, flavour: DotenvFlavour, lookup: (name: string) => string | undefined, fail: (m: string) => never): string {
  if (flavour === 'laravel') return text.replace(/\$\{([A-Za-z0-9_.]+)\}/g, (m, n: string) => lookup(n) ?? m);
  if (/\$\(/.test(text)) fail('command substitution $(…) is not run by sessctl: set the value in the environment instead');
  return text.replace(/\$(?:\{([A-Za-z0-9_]+)(?::([-=])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g, (_m, braced: string | undefined, op: string | undefined, def: string | undefined, bare: string | undefined) => {
    const v = lookup((braced ?? bare)!);
    if (op && (v === undefined || v === '')) return def ?? '';
    return v ?? '';
  });
}

/** The value Laravel's env() returns: `true`/`false`/`null`/`empty` (any case, optionally in parentheses) and surrounding quotes converted. */
export function laravelEnvValue(raw: string | undefined): string | boolean | null | undefined {
  if (raw === undefined) return undefined;
  switch (raw.toLowerCase()) {
    case 'true':
    case '(true)':
      return true;
    case 'false':
    case '(false)':
      return false;
    case 'empty':
    case '(empty)':
      return '';
    case 'null':
    case '(null)':
      return null;
  }
  const m = /^(['"])([\s\S]*)\1$/.exec(raw);
  return m ? m[2]! : raw;
}
