/**
 * A Laravel 8 app's session settings from its `.env`, with the defaults of the Laravel 8
 * skeleton's config/session.php, config/cache.php and config/database.php (the PHP config files
 * are not run; an app that changed them beyond their env() calls needs flags).
 *
 * Read: SESSION_DRIVER (file), SESSION_LIFETIME (120 minutes), SESSION_COOKIE
 * (slug(APP_NAME, '_') . '_session'), SESSION_ENCRYPT (false; Laravel ≥ 9 reads it, Laravel 8's
 * config/session.php hard-codes `'encrypt' => false`: `--session-encrypt` says it), SESSION_CONNECTION, SESSION_STORE, APP_NAME (laravel),
 * APP_KEY, APP_PREVIOUS_KEYS, APP_ENV (from the process: `.env.<APP_ENV>` is read instead of
 * `.env` when it exists), CACHE_PREFIX (slug(APP_NAME, '_') . '_cache'), REDIS_URL, REDIS_HOST,
 * REDIS_PORT, REDIS_USERNAME, REDIS_PASSWORD, REDIS_DB (0), REDIS_CACHE_DB (1), REDIS_PREFIX
 * (slug(APP_NAME, '_') . '_database_'), MEMCACHED_HOST, MEMCACHED_PORT, DB_CONNECTION (mysql),
 * DATABASE_URL, DB_HOST, DB_PORT, DB_DATABASE, DB_USERNAME, DB_PASSWORD.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { ConfigError } from '../../errors.js';
import { laravelEnvValue, parseDotenv } from './dotenv.js';
import { readAppEnvFile } from './env-file.js';
import { LaravelEncrypter, parseCipher } from '../../frameworks/laravel/encrypter.js';
import { laravelPayloadCipher } from '../../frameworks/laravel/payload.js';
import type { AppConfig } from './types.js';

type Env = Readonly<Record<string, string | undefined>>;

/** Str::slug($title, '_') for the texts an APP_NAME holds (accents dropped, as Str::ascii does for Latin letters). */
export function laravelSlug(title: string): string {
  let t = title.normalize('NFKD').replace(/\p{M}+/gu, '');
  t = t.replace(/-+/g, '_').replace(/@/g, '_at_');
  t = t.toLowerCase().replace(/[^_\p{L}\p{N}\s]+/gu, '');
  return t.replace(/[_\s]+/gu, '_').replace(/^_+|_+$/g, '');
}

/** The app's variables as Laravel's env() would see them (process environment first). */
export function laravelEnv(app: string, env: Env): { get(name: string): string | boolean | null | undefined; file: string; defined(name: string): string | undefined } {
  const specific = env.APP_ENV ? join(app, `.env.${env.APP_ENV}`) : undefined;
  const file = specific && existsSync(specific) ? specific : join(app, '.env');
  let values = new Map<string, string>();
  if (existsSync(file)) {
    values = parseDotenv(readAppEnvFile(app, file), { flavour: 'laravel', file, env });
  }
  const defined = (name: string) => env[name] ?? values.get(name);
  return { file, defined, get: (name) => laravelEnvValue(defined(name)) };
}

/**
 * Reads a Laravel app directory.
 * @throws ConfigError for a driver that keeps no sessions on the server or one sessctl cannot reach.
 */
export function readLaravelApp(appDir: string, env: Env, encryptFlag?: boolean, cipherFlag?: string): AppConfig {
  // Checked before anything is read: a typo is a usage error, not an undecryptable session later.
  const cipher = parseCipher(cipherFlag);
  const app = resolve(appDir);
  if (!existsSync(app)) throw new ConfigError(`--app ${app}: no such directory`);
  const e = laravelEnv(app, env);
  const envFile = e.file.slice(app.length + 1);
  const from = (name: string, fallback: string) => (e.defined(name) !== undefined ? `${envFile} ${name}` : fallback);
  const str = (name: string, def: string | null): string | null => {
    const v = e.get(name);
    if (v === undefined) return def;
    if (v === null) return null;
    return String(v === true ? '1' : v === false ? '' : v);
  };
  const appName = str('APP_NAME', 'laravel') ?? '';
  const settings: AppConfig['settings'] = { serializeHandler: 'php_serialize' };
  const sources: AppConfig['sources'] = { serializeHandler: "Laravel: serialize($attributes)" };
  const summary: Record<string, string> = { framework: 'laravel', app, env: existsSync(e.file) ? e.file : `${e.file} (absent: defaults)` };
  const warnings: string[] = [];
  if (existsSync(join(app, 'bootstrap', 'cache', 'config.php'))) {
    warnings.push(`${join(app, 'bootstrap/cache/config.php')} exists: Laravel reads its cached config, not .env, until \`php artisan config:clear\`; sessctl read .env`);
  }

  const driver = str('SESSION_DRIVER', 'file') ?? '';
  summary.driver = driver;
  const lifetime = str('SESSION_LIFETIME', '120') ?? '';
  if (!/^\d+$/.test(lifetime.trim()) || Number(lifetime) < 1) throw new ConfigError(`${from('SESSION_LIFETIME', 'SESSION_LIFETIME')}: ${JSON.stringify(lifetime)} is not a whole number of minutes ≥ 1`);
  settings.maxlifetime = String(Number(lifetime) * 60);
  sources.maxlifetime = `${from('SESSION_LIFETIME', "Laravel's default 120")} (minutes × 60)`;
  const cookieName = str('SESSION_COOKIE', null) ?? `${laravelSlug(appName)}_session`;
  summary.cookie = cookieName;
  const connection = str('SESSION_CONNECTION', null);
  const store = str('SESSION_STORE', null);
  const cachePrefix = str('CACHE_PREFIX', `${laravelSlug(appName)}_cache`) ?? '';
  // RedisStore / MemcachedStore::setPrefix and PhpRedisConnector test the prefix with PHP's empty(): '0' is none.
  const phpEmpty = (p: string) => p === '' || p === '0';
  const withColon = (p: string) => (phpEmpty(p) ? '' : `${p}:`);
  const driverSource = from('SESSION_DRIVER', "Laravel's default");

  switch (driver) {
    case 'file':
      settings.saveHandler = 'laravel-files';
      settings.savePath = join(app, 'storage', 'framework', 'sessions');
      sources.savePath = "<app>/storage/framework/sessions (config/session.php 'files')";
      break;
    case 'redis': {
      settings.saveHandler = 'laravel-redis';
      settings.savePath = laravelRedisUrl(str, connection ?? 'default');
      sources.savePath = `REDIS_* of the ${JSON.stringify(connection ?? 'default')} connection (${connection ? 'SESSION_CONNECTION' : 'SESSION_CONNECTION unset'})`;
      // phpredis' connection prefix, then the cache store's prefix and ':' (RedisStore::setPrefix).
      const redisPrefix = str('REDIS_PREFIX', `${laravelSlug(appName)}_database_`) ?? '';
      summary.store = store ?? 'redis';
      return finish({ 'laravel.prefix': (phpEmpty(redisPrefix) ? '' : redisPrefix) + withColon(cachePrefix) });
    }
    case 'memcached': {
      settings.saveHandler = 'laravel-memcached';
      settings.savePath = `${str('MEMCACHED_HOST', '127.0.0.1') ?? '127.0.0.1'}:${str('MEMCACHED_PORT', '11211') ?? '11211'}`;
      sources.savePath = 'MEMCACHED_HOST:MEMCACHED_PORT';
      summary.store = store ?? 'memcached';
      return finish({ 'laravel.prefix': withColon(cachePrefix) });
    }
    case 'database': {
      settings.saveHandler = 'laravel-database';
      settings.savePath = laravelDatabaseUrl(app, str, connection);
      sources.savePath = `DB_* / DATABASE_URL of the ${JSON.stringify(connection ?? str('DB_CONNECTION', 'mysql'))} connection`;
      return finish({ 'laravel.table': 'sessions' });
    }
    case 'cookie':
    case 'array':
      throw new ConfigError(`${driverSource}: SESSION_DRIVER=${driver} keeps sessions ${driver === 'cookie' ? 'in the browser cookie' : 'in memory for one request'}, not stored server-side: there is nothing for sessctl to read`);
    default:
      throw new ConfigError(`${driverSource}: SESSION_DRIVER=${JSON.stringify(driver)} is not a driver sessctl reads (file, redis, memcached, database)`);
  }
  return finish(undefined);

  function finish(ini: Record<string, string> | undefined): AppConfig {
    sources.saveHandler = `${driverSource} SESSION_DRIVER=${driver}`;
    const key = str('APP_KEY', null);
    summary.appKey = key ? 'set (not shown)' : 'not set';
    const previous = str('APP_PREVIOUS_KEYS', null);
    if (previous) summary.previousKeys = `${previous.split(',').filter((k) => k.trim() !== '').length} (not shown)`;
    // SessionManager tests config('session.encrypt') for PHP truthiness: `1`, `yes` turn it on too.
    const raw = e.get('SESSION_ENCRYPT');
    const encrypt = encryptFlag ?? (raw === true || (typeof raw === 'string' && raw !== '' && raw !== '0'));
    const why = encryptFlag !== undefined ? `--${encryptFlag ? '' : 'no-'}session-encrypt` : from('SESSION_ENCRYPT', 'SESSION_ENCRYPT unset');
    summary.encrypt = `${encrypt ? 'on' : 'off'} (${why})${encrypt && !key ? ': APP_KEY is not set, the sessions cannot be read' : ''}`;
    summary.cipher = `${cipher.toUpperCase()} (${cipherFlag !== undefined ? '--cipher' : "Laravel's default; config/app.php may say otherwise: --cipher"})`;
    const config: AppConfig = { framework: 'laravel', app, settings, sources, cookieName, summary, warnings };
    if (ini) config.ini = ini;
    if (encrypt) {
      config.payloadCipher = () => {
        if (!key) throw new ConfigError(`${envFile}: APP_KEY is not set: the sessions of an app with encrypt => true cannot be read without it`);
        return laravelPayloadCipher(new LaravelEncrypter({ key, previousKeys: previous ?? undefined, cipher }));
      };
    }
    config.cookieToId = async (value: string) => {
      if (!key) throw new ConfigError(`${envFile}: APP_KEY is not set: a Laravel session cookie cannot be decrypted without it`);
      const { decryptLaravelCookie } = await import('../../frameworks/laravel/cookie.js');
      return decryptLaravelCookie(value, { name: cookieName, key, previousKeys: previous ?? undefined, cipher });
    };
    return config;
  }
}

type Str = (name: string, def: string | null) => string | null;

/** config/database.php's redis connection `name` as one URL (the password percent-encoded). */
function laravelRedisUrl(str: Str, name: string): string {
  if (name !== 'default' && name !== 'cache') throw new ConfigError(`SESSION_CONNECTION=${name}: the Laravel 8 skeleton defines the redis connections "default" and "cache" only; give --save-path`);
  const url = str('REDIS_URL', null);
  const db = name === 'cache' ? (str('REDIS_CACHE_DB', '1') ?? '1') : (str('REDIS_DB', '0') ?? '0');
  if (url) {
    // ConfigurationUrlParser: the URL's parts win; a URL without a database keeps the connection's.
    const u = new URL(url);
    if (u.pathname === '' || u.pathname === '/') u.pathname = `/${db}`;
    return u.href.replace(/\/$/, '');
  }
  const host = str('REDIS_HOST', '127.0.0.1') ?? '127.0.0.1';
  const port = str('REDIS_PORT', '6379') ?? '6379';
  const user = str('REDIS_USERNAME', null);
  const password = str('REDIS_PASSWORD', null);
  const auth = password ? `${encodeURIComponent(user ?? '')}:${encodeURIComponent(password)}@` : '';
  return `redis://${auth}${host.includes(':') ? `[${host}]` : host}:${port}/${db}`;
}

/** config/database.php's connection as the URL the laravel-database backend takes. */
function laravelDatabaseUrl(app: string, str: Str, connection: string | null): string {
  const name = connection ?? str('DB_CONNECTION', 'mysql') ?? 'mysql';
  const url = str('DATABASE_URL', null);
  let driver = name === 'sqlite' || name === 'pgsql' || name === 'mysql' || name === 'sqlsrv' ? name : '';
  if (!driver) throw new ConfigError(`database connection ${JSON.stringify(name)} is not one of the Laravel 8 skeleton's (sqlite, mysql, pgsql, sqlsrv); give --save-path`);
  if (url) {
    const scheme = url.slice(0, url.indexOf(':')).toLowerCase();
    driver = { postgres: 'pgsql', postgresql: 'pgsql', pgsql: 'pgsql', sqlite: 'sqlite', sqlite3: 'sqlite', mysql: 'mysql', mysql2: 'mysql', mariadb: 'mysql' }[scheme] ?? scheme;
  }
  if (driver === 'sqlite') {
    let file = url ? sqliteUrlPath(url) : (str('DB_DATABASE', null) ?? join(app, 'database', 'database.sqlite'));
    if (!isAbsolute(file)) file = join(app, file);
    return `sqlite:${file}`;
  }
  if (driver !== 'pgsql') throw new ConfigError(`the ${driver} database is not supported for Laravel sessions by sessctl (sqlite, pgsql)`);
  if (url) return url.replace(/^[a-z0-9]+:/i, 'postgresql:');
  const host = str('DB_HOST', '127.0.0.1') ?? '127.0.0.1';
  const port = str('DB_PORT', '5432') ?? '5432';
  const user = str('DB_USERNAME', 'forge') ?? '';
  const password = str('DB_PASSWORD', '') ?? '';
  const db = str('DB_DATABASE', 'forge') ?? '';
  return `postgresql://${encodeURIComponent(user)}${password ? `:${encodeURIComponent(password)}` : ''}@${host}:${port}/${encodeURIComponent(db)}`;
}

/** ConfigurationUrlParser's database of a `sqlite:` URL: the path without its first `/` (so `sqlite:////abs.db` is absolute). */
function sqliteUrlPath(url: string): string {
  let rest = url.slice(url.indexOf(':') + 1);
  if (rest.startsWith('//')) rest = rest.slice(2 + (rest.slice(2).indexOf('/') === -1 ? rest.length : rest.slice(2).indexOf('/')));
  return decodeURIComponent(rest.slice(1).replace(/[?#].*$/, ''));
}
