/**
 * `sessctl gc --system`: every PHP configuration on the machine, found the way Debian's
 * phpsessionclean finds them — each SAPI's php.ini plus its conf.d (`/etc/php/*\/*\/php.ini`),
 * read by that version's php binary — and, beyond it, every PHP-FPM pool's
 * `php_value`/`php_admin_value[session.…]`. Files save paths are de-duplicated and each is
 * collected with the longest gc_maxlifetime that applies to it; other handlers (Redis, …)
 * are reported and skipped.
 */
import { spawnSync } from 'node:child_process';
import { realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../errors.js';
import { parseSavePath, phpTemporaryDirectory } from '../../backends/index.js';
import { readConfigFile } from '../config-file.js';
import { loadPhpIni } from '../ini.js';
import { parseFpmPools } from './fpm-pool.js';

/** One configuration that names session settings (a SAPI's php.ini, or an FPM pool on top of FPM's). */
export interface PhpConfig {
  /** `8.2 fpm`, `8.2 fpm pool www`, … */
  name: string;
  /** The file(s) it came from. */
  file: string;
  saveHandler: string;
  /** session.save_path as PHP takes it ('' = the temp dir for files; other handlers': credentials masked). */
  savePath: string;
  maxlifetime: number;
  /** How the php.ini values were read: the php binary, or sessctl's own ini parser. */
  readBy: string;
}

/** A files save path to collect, with the configurations that use it. */
export interface SystemTarget {
  /** The save_path to collect (the deepest `N;` among the configurations naming this directory). */
  savePath: string;
  /** The directory (resolved). */
  path: string;
  /** The longest gc_maxlifetime among them: no configuration's sessions are collected early. */
  maxlifetime: number;
  /** Every configuration naming this directory, with its own lifetime. */
  configs: PhpConfig[];
}

export interface SystemDiscovery {
  root: string;
  configs: PhpConfig[];
  targets: SystemTarget[];
  /** Configurations not collected, and why (Redis expires its own keys; a missing directory). */
  skipped: { config: PhpConfig; reason: string }[];
  /** Files that could not be read or parsed (the rest is still collected). */
  problems: string[];
}

export interface DiscoverOptions {
  /** Where `/etc/php` is looked for: default `/`, or `SESSCTL_SYSTEM_ROOT` (tests, containers). */
  root?: string;
  /** Never run php binaries; read php.ini files with sessctl's parser. */
  noPhp?: boolean;
  env?: NodeJS.ProcessEnv;
}

type SessionIni = Record<string, string>;

/** The session settings a php binary sees with this php.ini and its conf.d (as phpsessionclean asks). */
function askPhp(binary: string, ini: string, scanDir: string): SessionIni | null {
  const r = spawnSync(binary, ['-c', ini, '-d', 'error_reporting=0', '-r', 'echo json_encode(array_map(fn($v) => $v["local_value"], ini_get_all("session")));'], {
    env: { ...process.env, PHP_INI_SCAN_DIR: scanDir },
    encoding: 'utf8',
    timeout: 20_000,
  });
  if (r.status !== 0 || r.error) return null;
  try {
    return JSON.parse(r.stdout) as SessionIni;
  } catch {
    return null;
  }
}

/** php8.2 for version 8.2 (Debian's names), else `php` when it is that version. */
function phpFor(version: string): string | null {
  for (const binary of [`php${version}`, 'php']) {
    const r = spawnSync(binary, ['-r', 'echo PHP_MAJOR_VERSION . "." . PHP_MINOR_VERSION;'], { encoding: 'utf8', timeout: 20_000 });
    if (r.status === 0 && r.stdout.trim() === version) return binary;
  }
  return null;
}

/**
 * A save path fit to print: credentials in a Redis/Memcached save path (`auth=`, `password=`,
 * `user:pass@`) are masked. Only files save paths are used, and those hold no secret.
 */
function maskSecrets(savePath: string): string {
  return savePath.replace(/((?:^|[?&,])(?:auth(?:\[\])?|password|pass|user)=)[^&,\s]*/gi, '$1***').replace(/\/\/[^/@\s]*@/g, '//***@');
}

function toConfig(name: string, file: string, ini: SessionIni, readBy: string): PhpConfig {
  const lifetime = (ini['session.gc_maxlifetime'] ?? '1440').trim();
  if (!/^\d+$/.test(lifetime)) throw new ConfigError(`${file}: session.gc_maxlifetime ${JSON.stringify(lifetime)} is not a number of seconds`);
  const saveHandler = ini['session.save_handler'] || 'files';
  const savePath = ini['session.save_path'] ?? '';
  return { name, file, saveHandler, savePath: saveHandler === 'files' ? savePath : maskSecrets(savePath), maxlifetime: Number(lifetime), readBy };
}

/** Finds every PHP configuration under `root` and what gc must do for each. */
export async function discoverSystemSessions(options: DiscoverOptions = {}): Promise<SystemDiscovery> {
  const env = options.env ?? process.env;
  const root = options.root ?? (env.SESSCTL_SYSTEM_ROOT || '/');
  const { default: fg } = await import('fast-glob');
  const glob = (pattern: string) => fg(pattern, { cwd: root, absolute: true, onlyFiles: true, suppressErrors: true }).then((l) => l.sort());
  const out: SystemDiscovery = { root, configs: [], targets: [], skipped: [], problems: [] };
  const binaries = new Map<string, string | null>();
  const fpmIni = new Map<string, SessionIni>();

  for (const ini of await glob('etc/php/*/*/php.ini')) {
    const [version, sapi] = ini.split('/').slice(-3, -1) as [string, string];
    const scanDir = join(ini, '..', 'conf.d');
    let values: SessionIni | null = null;
    let readBy = 'sessctl (no php binary for this version)';
    try {
      // What sessctl refuses to read (a FIFO, a device, a huge file, a tenant's symlink) is not handed to php either.
      readConfigFile(ini, 'php.ini');
    } catch (err) {
      out.problems.push((err as Error).message);
      continue;
    }
    if (!options.noPhp) {
      if (!binaries.has(version)) binaries.set(version, phpFor(version));
      const binary = binaries.get(version);
      if (binary) {
        values = askPhp(binary, ini, scanDir);
        readBy = `${binary} -c ${ini}`;
      }
    }
    try {
      if (!values) {
        values = Object.fromEntries([...loadPhpIni(ini, { ...env, PHP_INI_SCAN_DIR: scanDir })].filter(([k]) => k.startsWith('session.')).map(([k, v]) => [k, v.value]));
        if (options.noPhp) readBy = 'sessctl (--no-php)';
      }
      out.configs.push(toConfig(`${version} ${sapi}`, ini, values, readBy));
      if (sapi === 'fpm') fpmIni.set(version, values);
    } catch (err) {
      out.problems.push((err as Error).message);
    }
  }
  for (const file of await glob('etc/php/*/fpm/pool.d/*.conf')) {
    const version = file.split('/').slice(-4)[0]!;
    try {
      for (const pool of parseFpmPools(readConfigFile(file, 'FPM pool file'), file)) {
        const values: SessionIni = { ...(fpmIni.get(version) ?? {}) };
        for (const [k, v] of pool.session) values[k] = v.value;
        out.configs.push(toConfig(`${version} fpm pool ${pool.name}`, file, values, 'sessctl (FPM pool file on top of the fpm php.ini)'));
      }
    } catch (err) {
      out.problems.push((err as Error).message);
    }
  }
  collectTargets(out, env);
  return out;
}

/** De-duplicates files save paths (by resolved directory), keeping the longest lifetime. */
function collectTargets(out: SystemDiscovery, env: NodeJS.ProcessEnv): void {
  const byPath = new Map<string, SystemTarget>();
  for (const config of out.configs) {
    if (config.saveHandler !== 'files') {
      out.skipped.push({ config, reason: config.saveHandler.startsWith('redis') ? `${config.saveHandler}: Redis expires its own keys (TTL = gc_maxlifetime); nothing to collect` : `save_handler ${config.saveHandler}: not a files save path` });
      continue;
    }
    const savePath = config.savePath === '' ? phpTemporaryDirectory(env) : config.savePath;
    let sp;
    try {
      sp = parseSavePath(savePath);
    } catch (err) {
      out.skipped.push({ config, reason: (err as Error).message });
      continue;
    }
    let path: string;
    try {
      if (!statSync(sp.path).isDirectory()) throw new Error('not a directory');
      path = realpathSync(sp.path);
    } catch {
      out.skipped.push({ config, reason: `${sp.path} does not exist or is not a directory` });
      continue;
    }
    const t = byPath.get(path);
    if (!t) {
      byPath.set(path, { savePath, path, maxlifetime: config.maxlifetime, configs: [config] });
      continue;
    }
    t.configs.push(config);
    t.maxlifetime = Math.max(t.maxlifetime, config.maxlifetime);
    if (sp.depth > parseSavePath(t.savePath).depth) t.savePath = savePath;
  }
  out.targets = [...byPath.values()];
}
