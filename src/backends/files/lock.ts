// PHP's flock lock; the implementation is shared with the laravel-files backend.
export * from '../shared/flock.js';
