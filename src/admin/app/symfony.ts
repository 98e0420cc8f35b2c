/**
 * A Symfony app's session storage from its dotenv files, loaded as symfony/dotenv's loadEnv()
 * does: `.env` (or `.env.dist`), `.env.local` (not for APP_ENV=test), `.env.<APP_ENV>`,
 * `.env.<APP_ENV>.local`, each later file replacing earlier values, the process environment
 * winning over all of them; APP_ENV defaults to `dev`.
 *
 * The storage: DATABASE_URL → PdoSessionHandler (`symfony-pdo`, `%kernel.project_dir%` replaced
 * by the app directory), REDIS_URL → RedisSessionHandler (`symfony-redis`), otherwise PHP's native
 * files handler. When both URLs are set, `--session-handler` chooses (the app's framework.yaml,
 * which sessctl does not read, is what decides for Symfony).
 *
 * Native files: FrameworkBundle 5.4's own defaults are handler_id `session.handler.native_file`
 * with save_path `%kernel.cache_dir%/sessions` (`var/cache/<env>/sessions`); the directory
 * Symfony's docs configure is `var/sessions/<env>`; `handler_id: null` (the 5.x recipe) drops
 * save_path and leaves both to php.ini. sessctl takes the first of the two directories that
 * exists, else php.ini's save_path.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { ConfigError } from '../../errors.js';
import { parseDotenv } from './dotenv.js';
import { readAppEnvFile } from './env-file.js';
import type { AppConfig, SymfonySessionHandler } from './types.js';

type Env = Readonly<Record<string, string | undefined>>;

/** The app's variables as symfony/dotenv's loadEnv() leaves them, with the file each came from. */
export function symfonyEnv(app: string, env: Env): { get(name: string): string | undefined; origin(name: string): string; appEnv: string; files: string[] } {
  let values = new Map<string, string>();
  const origin = new Map<string, string>();
  const files: string[] = [];
  const load = (name: string) => {
    const file = join(app, name);
    if (!existsSync(file)) return false;
    const text = readAppEnvFile(app, file);
    const before = new Map(values);
    values = parseDotenv(text, { flavour: 'symfony', file, env, loaded: values });
    for (const [k, v] of values) if (before.get(k) !== v || !before.has(k)) origin.set(k, name);
    files.push(file);
    return true;
  };
  if (!load('.env')) load('.env.dist');
  const appEnvNow = () => env.APP_ENV ?? values.get('APP_ENV') ?? 'dev';
  if (appEnvNow() !== 'test') load('.env.local');
  const appEnv = appEnvNow();
  if (appEnv !== 'local') {
    load(`.env.${appEnv}`);
    load(`.env.${appEnv}.local`);
  }
  return {
    get: (name) => env[name] ?? values.get(name),
    origin: (name) => (env[name] !== undefined ? `environment ${name}` : `${origin.get(name) ?? '.env'} ${name}`),
    appEnv,
    files,
  };
}

/**
 * Reads a Symfony app directory.
 * @throws ConfigError when the storage is ambiguous (give `--session-handler`) or unsupported.
 */
export function readSymfonyApp(appDir: string, env: Env, choice?: SymfonySessionHandler): AppConfig {
  const app = resolve(appDir);
  if (!existsSync(app)) throw new ConfigError(`--app ${app}: no such directory`);
  const e = symfonyEnv(app, env);
  const warnings: string[] = [];
  if (existsSync(join(app, '.env.local.php'))) warnings.push(`${join(app, '.env.local.php')} exists (composer dump-env): Symfony reads it instead of the .env files; sessctl read the .env files`);
  const databaseUrl = e.get('DATABASE_URL');
  const redisUrl = e.get('REDIS_URL');
  const candidates: SymfonySessionHandler[] = [...(databaseUrl ? ['pdo' as const] : []), ...(redisUrl ? ['redis' as const] : [])];
  if (!choice && candidates.length > 1) {
    throw new ConfigError(`${app}: both DATABASE_URL and REDIS_URL are set; say which one keeps the sessions: --session-handler pdo, redis or native`);
  }
  const handler = choice ?? candidates[0] ?? 'native';
  const summary: Record<string, string> = { framework: 'symfony', app, appEnv: e.appEnv, envFiles: e.files.map((f) => f.slice(app.length + 1)).join(', ') || '(none)', sessionHandler: handler };
  const config: AppConfig = { framework: 'symfony', app, settings: {}, sources: {}, cookieName: null, summary, warnings };
  const because = choice ? '--session-handler' : 'the only session URL set';
  switch (handler) {
    case 'pdo': {
      if (!databaseUrl) throw new ConfigError('--session-handler pdo: DATABASE_URL is not set in the environment or the .env files');
      config.settings = { saveHandler: 'symfony-pdo', savePath: pdoUrl(app, databaseUrl) };
      config.sources = { saveHandler: `${e.origin('DATABASE_URL')} (${because})`, savePath: e.origin('DATABASE_URL') };
      config.ini = { 'symfony.table': 'sessions', 'symfony.lock_mode': 'transactional' };
      break;
    }
    case 'redis':
      if (!redisUrl) throw new ConfigError('--session-handler redis: REDIS_URL is not set in the environment or the .env files');
      config.settings = { saveHandler: 'symfony-redis', savePath: redisUrl };
      config.sources = { saveHandler: `${e.origin('REDIS_URL')} (${because})`, savePath: e.origin('REDIS_URL') };
      config.ini = { 'symfony.prefix': 'sf_s' };
      break;
    case 'native': {
      const dirs = [join(app, 'var', 'sessions', e.appEnv), join(app, 'var', 'cache', e.appEnv, 'sessions')];
      const dir = dirs.find((d) => existsSync(d));
      config.settings = { saveHandler: 'files' };
      config.sources = { saveHandler: "Symfony's native session handler" };
      if (dir) {
        config.settings.savePath = dir;
        config.sources.savePath = dir === dirs[0] ? '<app>/var/sessions/<APP_ENV> (the save_path Symfony documents)' : "<app>/var/cache/<APP_ENV>/sessions (FrameworkBundle's default save_path)";
      } else warnings.push(`neither ${dirs.join(' nor ')} exists: using php.ini's session.save_path (framework.session.handler_id: null)`);
      break;
    }
  }
  return config;
}

/** DATABASE_URL → the URL the symfony-pdo backend takes (`sqlite:/abs/file` or `postgresql://…`). */
function pdoUrl(app: string, url: string): string {
  const u = url.replace(/%kernel\.project_dir%/g, app);
  const scheme = u.slice(0, Math.max(0, u.indexOf(':'))).toLowerCase().replace(/^pdo[_-]/, '');
  if (scheme === 'sqlite' || scheme === 'sqlite3') {
    // Doctrine / PdoSessionHandler: `sqlite:///rel` is relative, `sqlite:////abs` absolute.
    let rest = u.slice(u.indexOf(':') + 1);
    if (rest.startsWith('//')) rest = rest.slice(2).replace(/^[^/]*/, '');
    let file = decodeURIComponent(rest.replace(/[?#].*$/, ''));
    if (file.startsWith('/') && u.slice(u.indexOf(':') + 1).startsWith('//')) file = file.slice(1);
    if (!isAbsolute(file)) file = join(app, file);
    return `sqlite:${file}`;
  }
  if (scheme === 'pgsql' || scheme === 'postgres' || scheme === 'postgresql') return u.replace(/^[^:]+:/, 'postgresql:');
  throw new ConfigError(`DATABASE_URL: the ${scheme || '(no scheme)'} database is not supported for Symfony sessions by sessctl (sqlite, postgresql)`);
}
