import { phpTemporaryDirectory } from '../backends/index.js';
import { SERIALIZE_HANDLERS } from '../codec/index.js';
import type { AdminSerializeHandler, AdminSourceSettings } from '../session/admin.js';
import { ConfigError } from '../errors.js';
import { checkSidSettings, type SidBitsPerCharacter } from '../session/session-id.js';
import { parseDuration } from './duration.js';
import { parseIniInteger } from './ini-integer.js';
import type { AppConfig } from './app/types.js';

export type { AdminSerializeHandler };
/** The serialize handlers PHP knows, plus `auto` (detect per session). */
export const ADMIN_SERIALIZE_HANDLERS: readonly AdminSerializeHandler[] = Object.freeze([...SERIALIZE_HANDLERS, 'auto' as const]);

/**
 * The resolved session settings every command works from. The id settings are always filled
 * in by resolveSettings; hand-made settings may leave them out (PHP's defaults, 32 and 4).
 */
export type AdminSettings = AdminSourceSettings & { sidLength?: number; sidBitsPerCharacter?: SidBitsPerCharacter };

/** What {@link resolveSettings} finds: the commands' settings and PHP's gc pair. */
export interface ResolvedSettingValues extends AdminSettings {
  /** session.gc_probability / session.gc_divisor: give them to a store for gc at session start. */
  gcProbability: number;
  gcDivisor: number;
}

export type SettingName = 'saveHandler' | 'savePath' | 'serializeHandler' | 'maxlifetime' | 'gcProbability' | 'gcDivisor' | 'sidLength' | 'sidBitsPerCharacter';

/** Where a resolved value came from, in the order they are consulted. */
export interface SettingSource {
  kind: 'flag' | 'app' | 'env' | 'php.ini' | 'php' | 'default';
  /** Human detail: the flag, the variable, `file:line`, the php binary. */
  detail: string;
}

export interface ResolvedSettings {
  values: ResolvedSettingValues;
  sources: Record<SettingName, SettingSource>;
  /** The framework app the settings came from (`--framework … --app`), when one was given. */
  app?: AppConfig;
  /**
   * What a caller should tell the user: e.g. that the php binary could not be asked, so that
   * settings the command uses fell back to PHP's built-in defaults (save_path = the temp dir).
   */
  warnings?: string[];
}

export interface ResolveOptions {
  /** Values given on the command line (strings as typed; undefined = not given). */
  flags?: Partial<Record<SettingName, string | number | undefined>>;
  /** A php.ini file to read (plus its scan dir). */
  phpIni?: string;
  /** The php binary to ask; false = never run php. Default `SESSCTL_PHP_BINARY` or `php` on PATH. */
  php?: string | false;
  env?: NodeJS.ProcessEnv;
  /** A backend's own directives (`memcached.sess_prefix`, …), passed on as they are. */
  ini?: Readonly<Record<string, string>>;
  /** A framework app's settings (see app/index.ts readApp): after the flags, before everything else. */
  app?: AppConfig;
  /** false: leave out the app's payload cipher (for showing the settings, where a missing APP_KEY is no error). */
  payloadCipher?: boolean;
  /**
   * The settings the caller uses (default: all). php is run only when one of these is still
   * missing — starting php costs more than most commands — and the others then take PHP's defaults.
   */
  needed?: readonly SettingName[];
}

const INI_KEYS: Record<SettingName, string> = {
  saveHandler: 'session.save_handler',
  savePath: 'session.save_path',
  serializeHandler: 'session.serialize_handler',
  maxlifetime: 'session.gc_maxlifetime',
  gcProbability: 'session.gc_probability',
  gcDivisor: 'session.gc_divisor',
  sidLength: 'session.sid_length',
  sidBitsPerCharacter: 'session.sid_bits_per_character',
};
const ENV_KEYS: Record<SettingName, string> = {
  saveHandler: 'SESSCTL_SAVE_HANDLER',
  savePath: 'SESSCTL_SAVE_PATH',
  serializeHandler: 'SESSCTL_SERIALIZE_HANDLER',
  maxlifetime: 'SESSCTL_MAXLIFETIME',
  gcProbability: 'SESSCTL_GC_PROBABILITY',
  gcDivisor: 'SESSCTL_GC_DIVISOR',
  sidLength: 'SESSCTL_SID_LENGTH',
  sidBitsPerCharacter: 'SESSCTL_SID_BITS_PER_CHARACTER',
};
// The gc pair has no command-line flag: no command acts on it.
const FLAGS: Partial<Record<SettingName, string>> = {
  saveHandler: '--save-handler',
  savePath: '--save-path',
  serializeHandler: '--serialize-handler',
  maxlifetime: '--maxlifetime',
  sidLength: '--sid-length',
  sidBitsPerCharacter: '--bits',
};
const DEFAULTS: Record<SettingName, string> = {
  saveHandler: 'files',
  savePath: '',
  serializeHandler: 'php',
  maxlifetime: '1440',
  gcProbability: '1',
  gcDivisor: '100',
  sidLength: '32',
  sidBitsPerCharacter: '4',
};
const NAMES = Object.keys(INI_KEYS) as SettingName[];

/**
 * Resolves the session settings the way PHP would see them, each value from the first of:
 * the command-line flag, a framework app's configuration (`options.app`), the environment (`SESSCTL_SAVE_PATH`, `SESSCTL_SERIALIZE_HANDLER`,
 * `SESSCTL_MAXLIFETIME`, `SESSCTL_SAVE_HANDLER`, `SESSCTL_GC_PROBABILITY`, `SESSCTL_GC_DIVISOR`,
 * `SESSCTL_SID_LENGTH`, `SESSCTL_SID_BITS_PER_CHARACTER`), the `--php-ini` file and its scan dir,
 * the `php` binary's own `ini_get_all("session")` (only run when something is still missing),
 * and PHP's defaults (save_path '' = the system temp dir, php, 1440, gc 1/100, 32, 4).
 * @throws ConfigError for an unknown handler, a bad maxlifetime or an unreadable php.ini.
 */
export async function resolveSettings(options: ResolveOptions = {}): Promise<ResolvedSettings> {
  const env = options.env ?? process.env;
  const raw: Partial<Record<SettingName, string>> = {};
  const sources: Partial<Record<SettingName, SettingSource>> = {};
  const missing = () => NAMES.filter((n) => raw[n] === undefined);

  for (const n of NAMES) {
    const v = options.flags?.[n];
    if (v !== undefined) {
      raw[n] = String(v);
      sources[n] = { kind: 'flag', detail: FLAGS[n] ?? n };
    }
  }
  const app = options.app;
  if (app) {
    for (const n of missing()) {
      const v = (app.settings as Partial<Record<SettingName, string>>)[n];
      if (v !== undefined) {
        raw[n] = v;
        sources[n] = { kind: 'app', detail: (app.sources as Partial<Record<SettingName, string>>)[n] ?? app.app };
      }
    }
  }
  for (const n of missing()) {
    const v = env[ENV_KEYS[n]];
    if (v !== undefined && v !== '') {
      raw[n] = v;
      sources[n] = { kind: 'env', detail: ENV_KEYS[n] };
    }
  }
  if (options.phpIni !== undefined && missing().length > 0) {
    const { loadPhpIni } = await import('./ini.js');
    const ini = loadPhpIni(options.phpIni, env);
    for (const n of missing()) {
      const v = ini.get(INI_KEYS[n]);
      if (v !== undefined) {
        raw[n] = v.value;
        sources[n] = { kind: 'php.ini', detail: `${v.file}:${v.line}` };
      }
    }
  }
  const php = options.php === undefined ? env.SESSCTL_PHP_BINARY || 'php' : options.php;
  const needed = options.needed ?? NAMES;
  let phpFailure: string | undefined;
  if (php !== false && missing().some((n) => needed.includes(n))) {
    const failure: { why?: string } = {};
    const fromPhp = await askPhp(php, 'session', failure);
    if (!fromPhp) phpFailure = failure.why ?? 'it failed';
    if (fromPhp) {
      for (const n of missing()) {
        const v = fromPhp[INI_KEYS[n]];
        if (v !== undefined && v !== null) {
          raw[n] = String(v);
          sources[n] = { kind: 'php', detail: `${php} -r ini_get_all("session")` };
        }
      }
    }
  }
  const defaulted = missing().filter((n) => needed.includes(n));
  for (const n of missing()) {
    raw[n] = DEFAULTS[n];
    sources[n] = {
      kind: 'default',
      detail: !needed.includes(n) ? "PHP's default (not looked up: this command does not use it)" : phpFailure ? `PHP's default (${php} could not be asked: ${phpFailure})` : "PHP's default",
    };
  }
  const warnings: string[] = [];
  if (phpFailure && defaulted.length > 0) {
    const names = defaulted.map((n) => INI_KEYS[n]).join(', ');
    const path = defaulted.includes('savePath') ? ` (session.save_path: the temp dir, ${withTempDirDefault('', env)})` : '';
    warnings.push(
      `could not ask php for its session settings (${php}: ${phpFailure}); using PHP's built-in defaults for ${names}${path} — ` +
        `give --save-path / --php-ini (or SESSCTL_PHP_BINARY=/path/to/php), or --no-php to use the defaults without this warning`,
    );
  }
  const values = validate(raw as Record<SettingName, string>, sources as Record<SettingName, SettingSource>, env);
  // The app's backend settings, then the --ini flags over them.
  const withApp = app?.ini ? { ...options, ini: { ...app.ini, ...options.ini } } : options;
  const ini = await backendDirectives(values.saveHandler, withApp, env, php);
  if (ini) values.ini = ini;
  // The key stays inside the cipher's functions: nothing printable holds it.
  if (app?.payloadCipher && options.payloadCipher !== false) values.payloadCipher = app.payloadCipher();
  const out: ResolvedSettings = { values, sources: sources as Record<SettingName, SettingSource> };
  if (app) out.app = app;
  if (warnings.length > 0) out.warnings = warnings;
  return out;
}

/** Save handlers whose extension has its own session directives (`memcached.sess_*`). */
const DIRECTIVE_EXTENSIONS: Readonly<Record<string, string>> = { memcached: 'memcached' };

/**
 * The save handler's own directives (`memcached.sess_prefix`, …), each from the first of:
 * `options.ini` (the `--ini` flags), the `--php-ini` file, or (without one) the php binary's
 * `ini_get_all()`; php-memcached's defaults for the rest.
 */
async function backendDirectives(saveHandler: string, options: ResolveOptions, env: NodeJS.ProcessEnv, php: string | false): Promise<Record<string, string> | undefined> {
  const ext = Object.hasOwn(DIRECTIVE_EXTENSIONS, saveHandler) ? DIRECTIVE_EXTENSIONS[saveHandler] : undefined;
  if (!ext) return options.ini ? { ...options.ini } : undefined;
  const out: Record<string, string> = {};
  // As for the session settings: a php.ini given is the configuration; only without one is php asked.
  if (php !== false && options.phpIni === undefined) {
    const fromPhp = await askPhp(php, ext);
    for (const [k, v] of Object.entries(fromPhp ?? {})) if (v !== null) out[k] = v;
  }
  if (options.phpIni !== undefined) {
    const { loadPhpIni } = await import('./ini.js');
    for (const [k, v] of loadPhpIni(options.phpIni, env)) if (k.startsWith(`${ext}.`)) out[k] = v.value;
  }
  Object.assign(out, options.ini);
  return out;
}

function validate(raw: Record<SettingName, string>, sources: Record<SettingName, SettingSource>, env: NodeJS.ProcessEnv): ResolvedSettingValues {
  const from = (n: SettingName) => `${INI_KEYS[n]} (from ${sources[n].kind} ${sources[n].detail})`;
  const serializeHandler = raw.serializeHandler as AdminSerializeHandler;
  if (!ADMIN_SERIALIZE_HANDLERS.includes(serializeHandler)) {
    throw new ConfigError(`${from('serializeHandler')}: unknown serialize handler ${JSON.stringify(raw.serializeHandler)} (${ADMIN_SERIALIZE_HANDLERS.join(', ')})`);
  }
  let maxlifetime: number;
  try {
    maxlifetime = parseDuration(raw.maxlifetime, from('maxlifetime'));
  } catch (err) {
    throw err instanceof ConfigError ? err : new ConfigError(String(err));
  }
  let savePath = raw.savePath;
  if (raw.saveHandler === 'files') savePath = withTempDirDefault(savePath, env);
  const gcProbability = parseIniInteger(raw.gcProbability, from('gcProbability'), 0, 'PHP then never collects: write 0');
  const gcDivisor = parseIniInteger(raw.gcDivisor, from('gcDivisor'), 1, 'PHP then collects at every session start: write gc_probability = gc_divisor = 1 for that');
  const int = (n: SettingName) => {
    const t = raw[n].trim();
    if (!/^\d+$/.test(t)) throw new ConfigError(`${from(n)}: ${JSON.stringify(raw[n])} is not a whole number`);
    return Number(t);
  };
  const sidLength = int('sidLength');
  const sidBitsPerCharacter = int('sidBitsPerCharacter');
  try {
    checkSidSettings(sidLength, sidBitsPerCharacter);
  } catch (err) {
    const which: SettingName = (err as Error).message.includes('sid_length') ? 'sidLength' : 'sidBitsPerCharacter';
    throw new ConfigError(`${from(which)}: ${(err as Error).message.replace(/^session\.\w+ /, '')}`);
  }
  return { saveHandler: raw.saveHandler, savePath, serializeHandler, maxlifetime, gcProbability, gcDivisor, sidLength, sidBitsPerCharacter: sidBitsPerCharacter as SidBitsPerCharacter };
}

/** PHP's files handler uses the system temp dir ($TMPDIR or /tmp) when save_path is empty. */
function withTempDirDefault(savePath: string, env: NodeJS.ProcessEnv): string {
  return savePath === '' ? phpTemporaryDirectory(env) : savePath;
}

type PhpIniAll = Record<string, string | null>;

/** Asks the php binary for an extension's ini values (default: session); null when php is absent or fails (`failure.why` says how). */
async function askPhp(php: string, extension = 'session', failure: { why?: string } = {}): Promise<PhpIniAll | null> {
  const { spawn } = await import('node:child_process');
  return new Promise((resolve) => {
    let out = '';
    let child;
    try {
      child = spawn(php, ['-r', `echo json_encode(ini_get_all(${JSON.stringify(extension)}));`], { stdio: ['ignore', 'pipe', 'ignore'] });
    } catch (err) {
      failure.why = (err as Error).message;
      resolve(null);
      return;
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => (out += d));
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      failure.why = err.code === 'ENOENT' ? (php.includes('/') ? 'no such file' : 'not found on PATH') : err.message;
      resolve(null);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (failure.why) return resolve(null); // 'error' said why
      if (code !== 0) {
        failure.why = signal ? `killed by ${signal}` : `exited with code ${code}`;
        return resolve(null);
      }
      try {
        const parsed = JSON.parse(out) as Record<string, { local_value: string | null }> | false;
        if (!parsed) {
          failure.why = `it has no ${extension} extension`;
          return resolve(null); // the extension is not loaded
        }
        const flat: PhpIniAll = Object.create(null);
        for (const [k, v] of Object.entries(parsed)) flat[k] = v?.local_value ?? null;
        resolve(flat);
      } catch {
        failure.why = 'its answer was not JSON';
        resolve(null);
      }
    });
  });
}

/** The ini directive and environment variable behind each setting (for `config` output). */
export function settingNames(): { name: SettingName; ini: string; env: string; flag?: string }[] {
  return NAMES.map((name) => ({ name, ini: INI_KEYS[name], env: ENV_KEYS[name], flag: FLAGS[name] }));
}
