/**
 * `sessctl/symfony-pdo`: Symfony's PdoSessionHandler table and lock modes on SQLite
 * (better-sqlite3) and PostgreSQL (pg), both optional peer dependencies.
 */
export { SymfonyPdoSessionStore, SymfonyPdoSessionHandle, advisoryKey, type SymfonyPdoStoreOptions, type PdoLockMode } from './store.js';
export { SymfonyPdoAdminSource } from './admin-source.js';
