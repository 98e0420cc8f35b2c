/**
 * The file-I/O module of the file backends (`files`, `laravel-files`): pinned directories,
 * the checked open, the steps of the protocol run sync or async, the locked sequence, the walk.
 * See file.ts for the guarantees.
 */
export { errnoCode, osErrorText, forgetSaveDir, openSaveDir, PinnedDir, PINNED_DIRS, statSaveDir } from './pinned-dir.js';
export {
  checkOwner,
  checkSessionFile,
  checkSize,
  giveToDirOwner,
  isRegularFileAt,
  openError,
  openFile,
  openFileSteps,
  readEntryAt,
  readKnownSize,
  readKnownSizeSteps,
  restoreTimes,
  stillNames,
  stillNamesSteps,
  touchSteps,
  unlinkIfSame,
  unlinkIfSameSteps,
  writeInPlaceSteps,
  type FileEntry,
  type FileLocation,
  type OpenedFile,
  type OpenHow,
} from './file.js';
export { detectIoMode, ioModeForFsType, remoteFsName } from './fs-kind.js';
export { lockFile, lockFileNow, release, releaseNow, rewriteLocked, touchLocked, unlinkLocked, writeAndRelease, writeAndReleaseNow, writeLocked, type LockedFile, type LockRequest } from './locked.js';
export { runAsync, runner, runSync, type EntryRef, type IoMode, type Steps, type Syscall } from './io.js';
export { lstatAt, NATIVE_AT, NATIVE_AT_UNAVAILABLE, UNTRACKED_FDS, type AtStat, type NativeAt } from './native-at.js';
export { nameShard, walkTree, type FoundFile, type TreeWalkOptions } from './walk.js';
