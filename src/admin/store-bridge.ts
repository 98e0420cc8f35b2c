/**
 * The few file-store primitives the admin commands need, imported module by module (not
 * through src/store/index.ts) so that a command loads only what it uses: `inspect` must
 * start fast and must not load the flock addon.
 */
export { parseSavePath, type SavePath } from '../store/save-path.js';
export { isValidSessionId, assertValidSessionId } from '../store/session-id.js';
export { sessionFilePath, createSessionDirs } from '../store/paths.js';
export { tryLockFd, lockFd, unlockFd, assertLockingAvailable } from '../store/lock.js';
