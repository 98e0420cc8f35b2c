/**
 * `--framework laravel|symfony --app PATH`: a framework app's session settings, read from its
 * dotenv files (never by running its PHP), as a layer under the command-line flags.
 */
import { ConfigError } from '../../errors.js';
import { readLaravelApp } from './laravel.js';
import { readSymfonyApp } from './symfony.js';
import { FRAMEWORKS, SYMFONY_SESSION_HANDLERS, type AppConfig, type Framework, type SymfonySessionHandler } from './types.js';

export type { AppConfig, AppSettingName, Framework, SymfonySessionHandler } from './types.js';
export { FRAMEWORKS, SYMFONY_SESSION_HANDLERS } from './types.js';
export { parseDotenv, laravelEnvValue, type DotenvOptions, type DotenvFlavour } from './dotenv.js';
export { laravelSlug } from './laravel.js';

export interface ReadAppOptions {
  framework: string;
  /** The app directory (default: the current directory). */
  app?: string;
  /** Symfony: pdo, redis or native when the app could use several. */
  sessionHandler?: string;
  /** Laravel: whether stored payloads are encrypted (`'encrypt' => true`); default SESSION_ENCRYPT from the app's `.env`. */
  encrypt?: boolean;
  /** Laravel: config('app.cipher') when it is not AES-256-CBC (config/app.php hard-codes it; no .env variable says it). */
  cipher?: string;
  env?: Readonly<Record<string, string | undefined>>;
}

/** @throws ConfigError for an unknown framework, an unreadable or invalid `.env`, or an unsupported storage. */
export function readApp(options: ReadAppOptions): AppConfig {
  const framework = options.framework as Framework;
  if (!FRAMEWORKS.includes(framework)) throw new ConfigError(`--framework: ${JSON.stringify(options.framework)} is not one of ${FRAMEWORKS.join(', ')}`);
  const env = options.env ?? process.env;
  const app = options.app ?? process.cwd();
  if (options.sessionHandler !== undefined) {
    if (framework !== 'symfony') throw new ConfigError('--session-handler chooses between a Symfony app\'s storages; a Laravel app says it in SESSION_DRIVER');
    if (!SYMFONY_SESSION_HANDLERS.includes(options.sessionHandler as SymfonySessionHandler)) throw new ConfigError(`--session-handler: ${JSON.stringify(options.sessionHandler)} is not one of ${SYMFONY_SESSION_HANDLERS.join(', ')}`);
  }
  if (options.encrypt !== undefined && framework !== 'laravel') throw new ConfigError('--session-encrypt is for Laravel apps (their `encrypt => true`); Symfony does not encrypt stored sessions');
  if (options.cipher !== undefined && framework !== 'laravel') throw new ConfigError('--cipher is for Laravel apps (their config/app.php cipher); Symfony does not encrypt stored sessions');
  return framework === 'laravel' ? readLaravelApp(app, env, options.encrypt, options.cipher) : readSymfonyApp(app, env, options.sessionHandler as SymfonySessionHandler | undefined);
}
