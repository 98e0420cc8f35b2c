/** What sessctl learns from a framework app's directory (`--framework … --app PATH`). */

/** The settings an app configures, by sessctl's setting names (strings as PHP would see them). */
export type AppSettingName = 'saveHandler' | 'savePath' | 'serializeHandler' | 'maxlifetime';

import type { PayloadCipher } from '../../session/admin.js';

export type Framework = 'laravel' | 'symfony';
export const FRAMEWORKS: readonly Framework[] = ['laravel', 'symfony'];

/** Symfony: which session storage to use when the app could use several. */
export type SymfonySessionHandler = 'pdo' | 'redis' | 'native';
export const SYMFONY_SESSION_HANDLERS: readonly SymfonySessionHandler[] = ['pdo', 'redis', 'native'];

export interface AppConfig {
  framework: Framework;
  /** The app directory, absolute. */
  app: string;
  /** Settings the app determines; command-line flags still win over them. */
  settings: Partial<Record<AppSettingName, string>>;
  /** Where each came from, for `sessctl config` (`.env SESSION_LIFETIME`, `Laravel's default`). */
  sources: Partial<Record<AppSettingName, string>>;
  /** The backend's own settings (`laravel.prefix`, `symfony.table`, …). */
  ini?: Record<string, string>;
  /** The session cookie's name (Laravel: config('session.cookie'); Symfony: null = php.ini's session.name). */
  cookieName: string | null;
  /**
   * What `sessctl config` shows about the app: names and non-secret values only (a key is shown
   * as set or not, never its value).
   */
  summary: Record<string, string>;
  /** Things an operator should know (a cached config that may differ from `.env`). */
  warnings: string[];
  /**
   * Laravel: the session id inside an encrypted session cookie (APP_KEY, APP_PREVIOUS_KEYS),
   * a function so that the key itself never sits in a printable object.
   * @throws LaravelDecryptError when it does not verify; ConfigError without APP_KEY.
   */
  cookieToId?: (value: string) => Promise<string>;
  /**
   * Laravel with `'encrypt' => true` (SESSION_ENCRYPT, or `--session-encrypt`): the cipher of the
   * stored payloads, made from APP_KEY and APP_PREVIOUS_KEYS when asked for (a function, so the
   * key never sits in a printable object).
   * @throws ConfigError without APP_KEY, or for a key of the wrong length.
   */
  payloadCipher?: () => PayloadCipher;
}
