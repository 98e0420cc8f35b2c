/**
 * `sessctl/files`: PHP's `files` session save handler, with PHP's own flock locking.
 * save-path.ts (session.save_path), paths.ts (where a session lives, the walk), lock.ts
 * (flock; every file access goes through ../shared/file-io/), store.ts (FileSessionStore / FileSessionHandle),
 * mkdirs.ts (the depth-N tree), admin-source.ts and gc.ts (the operator commands).
 */
export { FileSessionStore, FileSessionHandle, type FileStoreOptions } from './store.js';
export { parseSavePath, phpTemporaryDirectory, DEFAULT_SESSION_FILE_MODE, type SavePath } from './save-path.js';
export { walkSessionFiles, sessionFilePath, sessionIdFromFileName, SESSION_FILE_PREFIX, type SessionFileEntry, type WalkOptions } from './paths.js';
export { createSessionDirs, type CreateSessionDirsOptions } from './mkdirs.js';
export { gcFiles } from './gc.js';
export { FileAdminSource } from './admin-source.js';
export { lockingAddonName, assertLockingAvailable, tryLockFd, lockFd, unlockFd, type LockOptions } from './lock.js';
