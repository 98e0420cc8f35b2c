/**
 * `sessctl/laravel-database`: Laravel's `database` session driver (the `sessions` table) on
 * SQLite (better-sqlite3) and PostgreSQL (pg), both optional peer dependencies. The meaning of
 * the attributes and the cookie are in `sessctl/laravel`.
 */
export { LaravelDatabaseSessionStore, LaravelDatabaseSessionHandle, type LaravelDatabaseStoreOptions } from './store.js';
export { LaravelDatabaseAdminSource, type LaravelDatabaseAdminOptions } from './admin-source.js';
export type { LaravelRowColumns } from './table.js';
export { isLaravelSessionId, generateLaravelSessionId, type PayloadCipher } from '../shared/laravel.js';
