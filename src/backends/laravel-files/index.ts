/**
 * `sessctl/laravel-files`: Laravel's `file` session driver (storage/framework/sessions/<id>),
 * with Laravel's own flock discipline. The meaning of the attributes and the cookie are in
 * `sessctl/laravel`.
 */
export { LaravelFileSessionStore, LaravelFileSessionHandle, type LaravelFileStoreOptions } from './store.js';
export { LaravelFileAdminSource } from './admin-source.js';
export { isLaravelSessionId, generateLaravelSessionId, type PayloadCipher } from '../shared/laravel.js';
