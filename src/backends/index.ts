/**
 * The one table from a php.ini `session.save_handler` name to its backend, each loaded only
 * when asked for (so `files` commands never load a Redis client). The admin library reaches
 * backends only through here. Adding a backend: a folder with an admin source, and a line below.
 */
import { ConfigError } from '../errors.js';
import type { AdminSource, AdminSourceSettings } from '../session/admin.js';

type AdminSourceFactory = (settings: AdminSourceSettings) => AdminSource;

const BACKENDS: Record<string, () => Promise<AdminSourceFactory>> = {
  files: async () => {
    const { FileAdminSource } = await import('./files/admin-source.js');
    return (s) => new FileAdminSource(s);
  },
  redis: async () => {
    const { RedisAdminSource } = await import('./redis/admin-source.js');
    return (s) => new RedisAdminSource(s);
  },
  'laravel-files': async () => {
    const { LaravelFileAdminSource } = await import('./laravel-files/admin-source.js');
    return (s) => new LaravelFileAdminSource(s);
  },
  'laravel-redis': async () => {
    const { LaravelRedisAdminSource } = await import('./laravel-redis/admin-source.js');
    return (s) => new LaravelRedisAdminSource(s);
  },
  'laravel-memcached': async () => {
    const { LaravelMemcachedAdminSource } = await import('./laravel-memcached/admin-source.js');
    return (s) => new LaravelMemcachedAdminSource(s);
  },
  'symfony-pdo': async () => {
    const { SymfonyPdoAdminSource } = await import('./symfony-pdo/admin-source.js');
    return (s) => new SymfonyPdoAdminSource(s);
  },
  rediscluster: async () => {
    const { RedisAdminSource } = await import('./redis/admin-source.js');
    return (s) => new RedisAdminSource(s);
  },
  'laravel-database': async () => {
    const { LaravelDatabaseAdminSource } = await import('./laravel-database/admin-source.js');
    return (s) => new LaravelDatabaseAdminSource(s);
  },
  'symfony-redis': async () => {
    const { SymfonyRedisAdminSource } = await import('./symfony-redis/admin-source.js');
    return (s) => new SymfonyRedisAdminSource(s);
  },
  memcached: async () => {
    const { MemcachedAdminSource } = await import('./memcached/admin-source.js');
    return (s) => new MemcachedAdminSource(s);
  },
};

/** The save handlers sessctl can open. */
export const SAVE_HANDLERS: readonly string[] = Object.freeze(Object.keys(BACKENDS));

/**
 * The admin source for the settings' save_handler.
 * @throws ConfigError for a save handler no backend serves, or a bad save_path.
 */
export async function openAdminSource(settings: AdminSourceSettings): Promise<AdminSource> {
  const load = Object.hasOwn(BACKENDS, settings.saveHandler) ? BACKENDS[settings.saveHandler] : undefined;
  if (!load) throw new ConfigError(`session.save_handler ${JSON.stringify(settings.saveHandler)} is not supported (supported: ${SAVE_HANDLERS.join(', ')})`);
  return (await load())(settings);
}

// PHP's rule for an empty files save_path; settings resolution needs it without loading a backend.
export { phpTemporaryDirectory, parseSavePath } from './files/save-path.js';
// Whom the CLI acts as: the owner of the directory the save path really leads to.
export { statSaveDir } from './files/save-dir.js';

/** The files backend's tree tool (what `sessctl mkdirs` runs), loaded on use. */
export async function loadCreateSessionDirs(): Promise<typeof import('./files/mkdirs.js').createSessionDirs> {
  return (await import('./files/mkdirs.js')).createSessionDirs;
}
