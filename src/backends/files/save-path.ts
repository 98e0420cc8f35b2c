/**
 * `session.save_path` for the `files` handler, parsed the way PHP's mod_files.c
 * (PS_OPEN_FUNC) parses it: `"/path"`, `"N;/path"` or `"N;MODE;/path"`.
 */
import { ConfigError } from '../../errors.js';

export interface SavePath {
  /** Directory levels between `path` and the session file (one per leading id character). */
  depth: number;
  /** Mode new session files are created with (before the umask). PHP's default is 0600. */
  mode: number;
  /** The directory holding the sessions (relative paths are relative to the cwd, as in PHP). */
  path: string;
  /** The setting as given. */
  raw: string;
}

/** PHP's default file mode for new session files. */
export const DEFAULT_SESSION_FILE_MODE = 0o600;

/**
 * No session id is longer than 256 characters and PHP needs the id to be longer than the
 * depth, so a deeper tree can never hold a session. PHP accepts the setting and then fails
 * on every request; we refuse it up front.
 */
const MAX_USABLE_DEPTH = 255;

const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;

/**
 * C's strtol(): skips leading white space, takes an optional sign and the longest run of
 * digits valid in `base`; no digits at all gives 0 (that is why PHP reads `"abc;/p"` as
 * depth 0). `overflow` is strtol's ERANGE.
 */
function strtol(text: string, base: 8 | 10): { value: bigint; overflow: boolean } {
  let i = 0;
  while (i < text.length && ' \t\n\v\f\r'.includes(text[i]!)) i++;
  let negative = false;
  if (text[i] === '+' || text[i] === '-') {
    negative = text[i] === '-';
    i++;
  }
  const digits = base === 8 ? '01234567' : '0123456789';
  let value = 0n;
  let any = false;
  while (i < text.length && digits.includes(text[i]!)) {
    value = value * BigInt(base) + BigInt(digits.indexOf(text[i]!));
    any = true;
    i++;
    // Stop growing once it is out of range: strtol clamps and reports ERANGE.
    if (value > LONG_MAX + 1n) break;
  }
  if (!any) return { value: 0n, overflow: false };
  if (negative) value = -value;
  return { value, overflow: value < LONG_MIN || value > LONG_MAX };
}

/**
 * PHP's php_get_temporary_directory() as seen by a process without `sys_temp_dir`:
 * `$TMPDIR` without its trailing slash when set and not empty, else `/tmp`.
 * (`sys_get_temp_dir()` prints the same.)
 */
export function phpTemporaryDirectory(env: NodeJS.ProcessEnv = process.env, sysTempDir?: string): string {
  const pick = (dir: string | undefined): string | undefined => {
    if (!dir) return undefined;
    const trimmed = dir.length > 1 && dir.endsWith('/') ? dir.slice(0, -1) : dir;
    return trimmed;
  };
  return pick(sysTempDir) ?? pick(env.TMPDIR) ?? '/tmp';
}

/**
 * Parses `session.save_path` exactly as PHP's files handler does: split on `;` at most
 * twice, so a path containing `;` needs the 3-part form (`"0;0600;/a;b"`); `"/a;b"` alone
 * means depth `/a` (→ 0) and the relative path `b`, as in PHP. N is read like C strtol base
 * 10 (non-numeric → 0), MODE like strtol base 8 (`"8"` → 0). Empty → PHP's temp directory.
 *
 * @param options.sysTempDir the `sys_temp_dir` ini setting, if the PHP side sets one.
 * @throws ConfigError naming the bad part when PHP would refuse the setting (N or MODE out
 *   of range, MODE negative or above 07777) or when it could never work (N negative, which
 *   PHP turns into a huge depth, or N above 255, deeper than any valid id is long).
 */
export function parseSavePath(savePath: string, options: { sysTempDir?: string; env?: NodeJS.ProcessEnv } = {}): SavePath {
  if (typeof savePath !== 'string') throw new ConfigError(`session.save_path must be a string, got ${typeof savePath}`);
  if (savePath.includes('\0')) throw new ConfigError('session.save_path contains a NUL byte');
  const raw = savePath;
  const effective = savePath === '' ? phpTemporaryDirectory(options.env, options.sysTempDir) : savePath;

  // At most two splits; whatever follows the second ';' is the path, ';' included.
  const parts: string[] = [];
  let rest = effective;
  while (parts.length < 2) {
    const semi = rest.indexOf(';');
    if (semi < 0) break;
    parts.push(rest.slice(0, semi));
    rest = rest.slice(semi + 1);
  }
  parts.push(rest);

  let depth = 0;
  let mode = DEFAULT_SESSION_FILE_MODE;
  if (parts.length > 1) {
    const n = strtol(parts[0]!, 10);
    if (n.overflow) {
      throw new ConfigError(`session.save_path ${JSON.stringify(raw)}: the depth ${JSON.stringify(parts[0])} is out of range (PHP: "The first parameter in session.save_path is invalid")`);
    }
    if (n.value < 0n) {
      throw new ConfigError(`session.save_path ${JSON.stringify(raw)}: the depth ${JSON.stringify(parts[0])} is negative (PHP accepts it but then fails to build any session file path)`);
    }
    if (n.value > BigInt(MAX_USABLE_DEPTH)) {
      throw new ConfigError(`session.save_path ${JSON.stringify(raw)}: the depth ${JSON.stringify(parts[0])} is above ${MAX_USABLE_DEPTH} (session ids must be longer than the depth, and are at most 256 characters)`);
    }
    depth = Number(n.value);
  }
  if (parts.length > 2) {
    const m = strtol(parts[1]!, 8);
    // PHP casts strtol's long to int before its 0..07777 check.
    const asInt = m.overflow ? 0 : Number(BigInt.asIntN(32, m.value));
    if (m.overflow || asInt < 0 || asInt > 0o7777) {
      throw new ConfigError(`session.save_path ${JSON.stringify(raw)}: the file mode ${JSON.stringify(parts[1])} is invalid (octal 0..07777; PHP: "The second parameter in session.save_path is invalid")`);
    }
    mode = asInt;
  }
  const path = parts[parts.length - 1]!;
  if (path === '') {
    throw new ConfigError(`session.save_path ${JSON.stringify(raw)}: the directory part is empty`);
  }
  return { depth, mode, path, raw };
}

/** Accepts a parsed SavePath as is (checked) or parses PHP's string form. */
export function toSavePath(savePath: string | SavePath): SavePath {
  if (typeof savePath === 'string') return parseSavePath(savePath);
  if (!savePath || typeof savePath !== 'object') throw new ConfigError('savePath must be a string or a SavePath');
  const { depth, mode, path } = savePath;
  if (!Number.isInteger(depth) || depth < 0 || depth > MAX_USABLE_DEPTH) throw new ConfigError(`savePath.depth ${depth} is not an integer in 0..${MAX_USABLE_DEPTH}`);
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) throw new ConfigError(`savePath.mode ${mode} is not in 0..07777`);
  if (typeof path !== 'string' || path === '' || path.includes('\0')) throw new ConfigError(`savePath.path ${JSON.stringify(path)} is not a usable directory`);
  return { depth, mode, path, raw: savePath.raw ?? `${depth};${mode.toString(8)};${path}` };
}
