/**
 * PHP's `files` session save handler for Node: the same files, the same flock(2) lock,
 * writes in place like PHP, so PHP and Node can serve the same sessions at the same time.
 * Every file access goes through the shared file-io module (../shared/file-io/).
 */
import { constants as fsc } from 'node:fs';
import { decodeSession, encodeSession } from '../../codec/index.js';
import { PhpArray } from '../../codec/values.js';
import { ConfigError, SessctlError } from '../../errors.js';
import type { GcReport } from '../../session/admin.js';
import { saveThenClose, updateSession, type CollectGarbageOptions, type OpenOptions, type SessionBackend, type SessionHandle, type SessionUpdater } from '../../session/contract.js';
import { createUnusedId } from '../../session/new-session-id.js';
import { isValidSessionId } from '../../session/session-id.js';
import { resolveSessionSettings, type ResolvedSessionSettings, type SessionSettings } from '../../session/settings.js';
import { startSession } from '../../session/start.js';
import { detectIoMode, forgetSaveDir, isRegularFileAt, lockFile, lockFileNow, release, releaseNow, touchLocked, unlinkLocked, writeAndRelease, writeAndReleaseNow, writeLocked, type IoMode, type LockedFile, type LockRequest } from '../shared/file-io/index.js';
import { assertLockingAvailable } from './lock.js';
import { locateSessionFile, SESSION_FILE_PREFIX, walkSessionFiles, type SessionFileEntry, type WalkOptions } from './paths.js';
import { toSavePath, type SavePath } from './save-path.js';
import { SessionFileError } from '../../errors.js';

export interface FileStoreOptions extends SessionSettings {
  /** PHP's `session.save_path` (`"N;MODE;/path"`) or an already parsed one. */
  savePath: string | SavePath;
  /** Mode for new session files; default the save path's MODE (0600). The umask applies, as in PHP. */
  fileMode?: number;
  /**
   * How file I/O runs: `sync` (a session file is a few KB, and a synchronous call is cheaper
   * than a thread-pool round trip, as in PHP), `async` (libuv's thread pool: for slow file
   * systems, where one call may take long), or `auto` (default): `async` when the save path is
   * on a network or FUSE file system (NFS, SMB/CIFS, Ceph, 9p, sshfs, …, read once with
   * statfs), else `sync`. The mode chosen is `store.io`. Lock waits never block either way.
   */
  io?: IoMode | 'auto';
}

/** The longest id whose file name (`sess_<id>`) fits one directory entry (NAME_MAX, 255 bytes; ids are ASCII). */
export const MAX_FILE_ID_LENGTH = 255 - SESSION_FILE_PREFIX.length;

/** A symlink or a non-regular file where a session file would be: no session (exists() says the same). */
function isNoSession(err: unknown): boolean {
  return err instanceof SessionFileError && (err.code === 'ESYMLINK' || err.code === 'ENOTFILE');
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}

/**
 * The file session store. Configure it like php.ini; every method that changes a session
 * holds PHP's exclusive flock on the session file while it does.
 */
export class FileSessionStore implements SessionBackend {
  readonly savePath: SavePath;
  readonly settings: ResolvedSessionSettings;
  readonly fileMode: number;
  /** How this store's file I/O runs: the `io` option, with `auto` resolved. */
  readonly io: IoMode;

  /**
   * @throws SessctlError (ENOLOCK) when no flock addon loads: never an unlocked store.
   * @throws ConfigError for a bad save path, handler, sid setting, timeout or mode.
   */
  constructor(options: FileStoreOptions) {
    assertLockingAvailable();
    if (typeof fsc.O_NOFOLLOW !== 'number') {
      // Without it a planted symlink would be followed; PHP has the same requirement.
      throw new SessctlError('this platform has no O_NOFOLLOW: session files cannot be opened safely', 'ENOFOLLOW');
    }
    if (!options || typeof options !== 'object') throw new ConfigError('FileSessionStore needs options ({ savePath, … })');
    this.savePath = toSavePath(options.savePath);
    this.settings = resolveSessionSettings(options, 'FileSessionStore');
    if (this.settings.sidLength <= this.savePath.depth) {
      throw new ConfigError(`FileSessionStore: sidLength ${this.settings.sidLength} must be longer than the save path depth ${this.savePath.depth}`);
    }
    const io = options.io ?? 'auto';
    if (io !== 'sync' && io !== 'async' && io !== 'auto') throw new ConfigError(`FileSessionStore: io must be 'auto', 'sync' or 'async', got ${JSON.stringify(io)}`);
    this.io = io === 'auto' ? detectIoMode(this.savePath.path) : io;
    this.fileMode = options.fileMode ?? this.savePath.mode;
    if (!Number.isInteger(this.fileMode) || this.fileMode < 0 || this.fileMode > 0o7777) throw new ConfigError(`FileSessionStore: fileMode ${this.fileMode} is not in 0..07777`);
  }

  /**
   * PHP's id rule here: `[A-Za-z0-9,-]`, 1..256 characters, longer than the depth — and short
   * enough to be a file name: `sess_` + an id above {@link MAX_FILE_ID_LENGTH} characters is
   * longer than a directory entry can be (ENAMETOOLONG). Such an id names no session (PHP's
   * session_start() fails on it); taking it as valid let any client turn every request into
   * an error (the middleware's next(err), the Store's get).
   */
  isValidId(id: string): boolean {
    return isValidSessionId(id, this.savePath.depth) && id.length <= MAX_FILE_ID_LENGTH;
  }

  /**
   * The file of a session.
   * @throws InvalidSessionIdError for an id PHP would refuse.
   */
  pathOf(id: string): string {
    return locateSessionFile(this.savePath, id).path;
  }

  /** A new id as PHP makes one, checked against existing files. @throws SessctlError (EIDCOLLISION) */
  createId(): Promise<string> {
    return createUnusedId({ length: this.settings.sidLength, bitsPerCharacter: this.settings.sidBitsPerCharacter }, (id) => this.exists(id));
  }

  /**
   * Whether a session file exists (a regular file, not followed if a symlink). An id PHP
   * would refuse cannot exist: false, no path is built from it.
   */
  async exists(id: string): Promise<boolean> {
    if (!this.isValidId(id)) return false;
    return isRegularFileAt(locateSessionFile(this.savePath, id));
  }

  /** @internal the locking step every operation shares. */
  lock(id: string, req: Omit<LockRequest, 'maxBytes' | 'timeoutMs'> & { timeoutMs?: number }): Promise<LockedFile | null> {
    return lockFile(locateSessionFile(this.savePath, id), this.#lockRequest(req));
  }

  #lockRequest(req: Omit<LockRequest, 'maxBytes' | 'timeoutMs'> & { timeoutMs?: number | undefined }): LockRequest {
    // Written out rather than spread: this runs on every request, and a spread copies slowly.
    return {
      exclusive: req.exclusive,
      write: req.write,
      create: req.create,
      timeoutMs: req.timeoutMs ?? this.settings.lockTimeoutMs,
      maxBytes: this.settings.maxBytes,
      noRead: req.noRead,
      signal: req.signal,
      io: this.io,
    };
  }

  /** Decodes stored bytes with this store's handler. @throws DecodeError naming `path`. */
  decode(bytes: Uint8Array, path: string): PhpArray {
    if (bytes.length === 0) return new PhpArray();
    return decodeSession(bytes, this.settings.serializeHandler, { ...this.settings.decodeOptions, source: path });
  }

  /** @throws EncodeError when the handler cannot hold the data. */
  encode(data: PhpArray): Uint8Array {
    return encodeSession(data, this.settings.serializeHandler, this.settings.encodeOptions);
  }

  /**
   * Opens a session under PHP's exclusive lock and reads it; a missing file is created
   * (empty, mode from save_path), as PHP's session_start() does. open() takes the id as
   * given even with useStrictMode (see {@link start}).
   * @throws InvalidSessionIdError before touching the disk when PHP would refuse the id.
   * @throws LockTimeoutError when PHP (or another handle) keeps the lock longer than the timeout.
   * @throws SessionFileError for a symlink, a file owned by another uid, a missing directory,
   *   permissions, a file above maxBytes; DecodeError (with the path) for a corrupt file,
   *   which is left untouched.
   */
  async open(id: string, options: OpenOptions = {}): Promise<FileSessionHandle> {
    const locked = (await this.lock(id, { exclusive: true, write: true, create: { mode: this.fileMode }, timeoutMs: options.lockTimeoutMs }))!;
    return this.#opened(id, locked, options);
  }

  /**
   * Strict mode's check and open() in one step (what the middleware does per request): opens
   * `id` under the lock only when its file exists, else null and nothing is created. A
   * symlink or a non-regular file there is no session either (exists() says the same).
   * @throws like open().
   */
  async openExisting(id: string, options: OpenOptions = {}): Promise<FileSessionHandle | null> {
    if (!this.isValidId(id)) return null;
    let locked: LockedFile | null;
    try {
      locked = await this.lock(id, { exclusive: true, write: true, timeoutMs: options.lockTimeoutMs });
    } catch (err) {
      if (isNoSession(err)) return null;
      throw err;
    }
    return locked && this.#opened(id, locked, options);
  }

  /**
   * openExisting() finished synchronously when the lock is free (io `sync`): the handle,
   * null when there is no such session, undefined when it would have to wait (or with
   * readAndClose, or io `async`) — then nothing is held. What the middleware tries first.
   * @throws like openExisting().
   */
  openExistingNow(id: string, options: OpenOptions = {}): FileSessionHandle | null | undefined {
    if (this.io !== 'sync' || options.readAndClose) return undefined;
    if (!this.isValidId(id)) return null;
    let locked: LockedFile | null | undefined;
    try {
      locked = lockFileNow(locateSessionFile(this.savePath, id), this.#lockRequest({ exclusive: true, write: true, timeoutMs: options.lockTimeoutMs }));
    } catch (err) {
      if (isNoSession(err)) return null;
      throw err;
    }
    if (!locked) return locked;
    try {
      return this.#handleOf(id, locked);
    } catch (err) {
      releaseNow(locked);
      throw err;
    }
  }

  /** open()'s and openExisting()'s end: the handle, its lock released again for a corrupt file or with readAndClose. */
  async #opened(id: string, locked: LockedFile, options: OpenOptions): Promise<FileSessionHandle> {
    let handle: FileSessionHandle;
    try {
      handle = this.#handleOf(id, locked);
    } catch (err) {
      await release(locked);
      throw err;
    }
    if (options.readAndClose) await handle.close();
    return handle;
  }

  /** The handle of a locked file (the caller releases the lock when this throws). @throws DecodeError */
  #handleOf(id: string, locked: LockedFile): FileSessionHandle {
    return new FileSessionHandle(this, id, locked, this.decode(locked.bytes, locked.loc.path));
  }

  /** session_start() with PHP's id rules (see startSession); `handle.isNew` says whether the id is new. */
  async start(id?: string | null, options: OpenOptions = {}): Promise<FileSessionHandle> {
    return startSession(this, id, options);
  }

  /** The raw stored bytes under a shared lock, null when there is no such session (nothing is created). */
  async readBytes(id: string): Promise<Uint8Array | null> {
    const locked = await this.lock(id, { exclusive: false, write: false });
    if (!locked) return null;
    await release(locked);
    return locked.bytes;
  }

  /**
   * Reads a session under a shared lock (LOCK_SH: waits for a writer to finish, lets other
   * readers in), without creating anything. Null when there is no such session.
   * @throws DecodeError naming the file for corrupt data (nothing is changed).
   */
  async read(id: string): Promise<PhpArray | null> {
    const bytes = await this.readBytes(id);
    return bytes === null ? null : this.decode(bytes, this.pathOf(id));
  }

  /** Lock, read, apply `fn`, write (lazily), unlock. Returns what was written. */
  update(id: string, fn: SessionUpdater): Promise<PhpArray> {
    return updateSession(this, id, fn);
  }

  /** Deletes a session under its exclusive lock. False when there was none. */
  async destroy(id: string): Promise<boolean> {
    const locked = await this.lock(id, { exclusive: true, write: false, noRead: true });
    if (!locked) return false;
    try {
      await unlinkLocked(locked);
    } finally {
      await release(locked);
    }
    return true;
  }

  /** Sets a session's mtime to now (what keeps gc away) under its lock. False when missing. */
  async touch(id: string): Promise<boolean> {
    const locked = await this.lock(id, { exclusive: true, write: false, noRead: true });
    if (!locked) return false;
    try {
      await touchLocked(locked);
    } finally {
      await release(locked);
    }
    return true;
  }

  /** Every session id under the save path (streamed, see walkSessionFiles). */
  async *ids(options: WalkOptions = {}): AsyncGenerator<string> {
    for await (const entry of walkSessionFiles(this.savePath, options)) yield entry.id;
  }

  /** Every session file, id and path (streamed). */
  files(options: WalkOptions = {}): AsyncGenerator<SessionFileEntry> {
    return walkSessionFiles(this.savePath, options);
  }

  /**
   * PHP's gc at any depth (PHP's own does nothing below depth 0): the files older than
   * `gcMaxlifetime` go, those a request holds are skipped — `sessctl gc`'s code (gcFiles),
   * in one worker thread, so that a server's requests go on meanwhile.
   * @throws SessctlError (ENOLOCK) without the flock addon; per-file problems are counted.
   */
  async collectGarbage(options: CollectGarbageOptions = {}): Promise<GcReport> {
    // Loaded on use, like the admin source's gc: most processes never collect.
    const { gcFiles } = await import('./gc.js');
    return gcFiles(this.savePath, { maxlifetime: this.settings.gcMaxlifetime, jobs: 1, background: true, signal: options.signal });
  }

  /** Lets go of the session directory kept open between requests (so that it can be unmounted). */
  async close(): Promise<void> {
    forgetSaveDir(this.savePath.path);
  }
}

/**
 * An open session: holds PHP's exclusive flock on its file from open() until close(),
 * destroy(), or the end of the process.
 */
export class FileSessionHandle implements SessionHandle {
  #store: FileSessionStore;
  #id: string;
  #file: LockedFile | null;
  #path: string;
  #isNew: boolean;
  #bytes: Uint8Array;
  data: PhpArray;

  /** @internal created by FileSessionStore.open */
  constructor(store: FileSessionStore, id: string, locked: LockedFile, data: PhpArray) {
    this.#store = store;
    this.#id = id;
    this.#file = locked;
    this.#path = locked.loc.path;
    this.#isNew = locked.created;
    this.#bytes = locked.bytes;
    this.data = data;
  }

  get id(): string {
    return this.#id;
  }
  /** The session file. */
  get path(): string {
    return this.#path;
  }
  get isNew(): boolean {
    return this.#isNew;
  }
  /** The stored bytes: as read at open, then as last written by save(). */
  get bytes(): Uint8Array {
    return this.#bytes;
  }
  /** False once closed or destroyed. */
  get isOpen(): boolean {
    return this.#file !== null;
  }

  #requireOpen(): LockedFile {
    if (!this.#file) throw new SessctlError(`${this.#path}: the session handle is closed (its lock was released)`, 'ECLOSED');
    return this.#file;
  }

  /**
   * Encodes the data with the store's serialize handler and writes it in place (same inode,
   * so PHP's lock stays meaningful; see the shared file-io's writeInPlaceSteps for the order). With lazy write
   * and unchanged bytes only the mtime is set (futimes), like PHP.
   * @throws EncodeError when the handler cannot hold the data (nothing is written).
   * @throws SessionFileError (EWRITE) when the write fails; the previous bytes are put back.
   */
  async save(data?: PhpArray): Promise<void> {
    const file = this.#requireOpen();
    if (data !== undefined) this.data = data;
    await this.#write(file, this.#store.encode(this.data));
  }

  async #write(file: LockedFile, encoded: Uint8Array): Promise<void> {
    if (this.#store.settings.lazyWrite && sameBytes(encoded, this.#bytes)) {
      await touchLocked(file);
      return;
    }
    await writeLocked(file, encoded, this.#bytes);
    this.#bytes = encoded;
  }

  /**
   * save() then close(); the lock is released on every path. The write and the close run as
   * one sequence (no promise between them: this ends every request of the middleware).
   * @throws like save().
   */
  async saveAndClose(data?: PhpArray): Promise<void> {
    const file = this.#file;
    if (!file) return saveThenClose(this, data); // closed: save() says so
    let next: Uint8Array | null;
    try {
      next = this.#encodeForEnd(data);
    } catch (err) {
      await this.close();
      throw err;
    }
    this.#file = null;
    await writeAndRelease(file, next, this.#bytes);
    if (next) this.#bytes = next;
  }

  /**
   * saveAndClose() on this thread (io `sync`): true when written and released, false when
   * the store's io is `async` or the handle is closed (then nothing was done).
   * @throws like save(); the lock is released all the same.
   */
  saveAndCloseNow(data?: PhpArray): boolean {
    const file = this.#file;
    if (!file || file.io !== 'sync') return false;
    this.#file = null;
    let next: Uint8Array | null;
    try {
      next = this.#encodeForEnd(data);
    } catch (err) {
      releaseNow(file);
      throw err;
    }
    writeAndReleaseNow(file, next, this.#bytes);
    if (next) this.#bytes = next;
    return true;
  }

  /** The bytes the end writes, or null when they are unchanged and lazy write only sets the mtime. @throws EncodeError */
  #encodeForEnd(data: PhpArray | undefined): Uint8Array | null {
    if (data !== undefined) this.data = data;
    const encoded = this.#store.encode(this.data);
    return this.#store.settings.lazyWrite && sameBytes(encoded, this.#bytes) ? null : encoded;
  }

  /** Releases the lock (closing the fd) without writing. Idempotent. */
  async close(): Promise<void> {
    const file = this.#file;
    this.#file = null;
    if (file) await release(file);
  }

  /** Deletes the session file while holding its lock, then releases the lock. */
  async destroy(): Promise<void> {
    const file = this.#requireOpen();
    this.#file = null;
    try {
      await unlinkLocked(file);
    } finally {
      await release(file);
    }
  }

  /**
   * PHP's session_regenerate_id(deleteOld): the old session is deleted (deleteOld) or
   * keeps the current data (PHP writes it there too); a fresh id is created, locked and
   * given the current data at once, and this handle then refers to it (the old lock is
   * released). Returns the new id.
   * @throws EncodeError when the data cannot be encoded (nothing changed).
   */
  async regenerateId(deleteOld = false): Promise<string> {
    const old = this.#requireOpen();
    const encoded = this.#store.encode(this.data);
    let fresh: LockedFile;
    let newId: string;
    for (let attempt = 0; ; attempt++) {
      newId = await this.#store.createId();
      fresh = (await this.#store.lock(newId, { exclusive: true, write: true, create: { mode: this.#store.fileMode } }))!;
      if (fresh.created) break;
      // Someone made a session with this id between createId() and now: never take it over.
      await release(fresh);
      if (attempt >= 3) throw new SessctlError('could not create a fresh session id (collisions)', 'EIDCOLLISION');
    }
    try {
      await writeLocked(fresh, encoded, fresh.bytes);
    } catch (err) {
      await unlinkLocked(fresh);
      await release(fresh);
      throw err;
    }
    try {
      if (deleteOld) await unlinkLocked(old);
      else await this.#write(old, encoded);
    } finally {
      await release(old);
    }
    this.#id = newId;
    this.#file = fresh;
    this.#path = fresh.loc.path;
    this.#isNew = true;
    this.#bytes = encoded;
    return newId;
  }
}
