/**
 * PHP's `files` session save handler for Node: the same files, the same flock(2) lock,
 * writes in place like PHP, so PHP and Node can serve the same sessions at the same time.
 * Every file access goes through file-io.ts.
 */
import { constants as fsc } from 'node:fs';
import { decodeSession, encodeSession } from '../../codec/index.js';
import { PhpArray } from '../../codec/values.js';
import { ConfigError, SessctlError } from '../../errors.js';
import { saveThenClose, updateSession, type OpenOptions, type SessionBackend, type SessionHandle, type SessionUpdater } from '../../session/contract.js';
import { createUnusedId } from '../../session/new-session-id.js';
import { isValidSessionId } from '../../session/session-id.js';
import { resolveSessionSettings, type ResolvedSessionSettings, type SessionSettings } from '../../session/settings.js';
import { chooseSessionId } from '../../session/start.js';
import { errnoCode, lockFile, release, touch, unlinkLocked, writeInPlace, type LockedFile, type LockRequest } from './file-io.js';
import { assertLockingAvailable } from './lock.js';
import { locateSessionFile, walkSessionFiles, type SessionFileEntry, type WalkOptions } from './paths.js';
import { toSavePath, type SavePath } from './save-path.js';
import { lstatSync } from 'node:fs';
import { SessionFileError } from '../../errors.js';

export interface FileStoreOptions extends SessionSettings {
  /** PHP's `session.save_path` (`"N;MODE;/path"`) or an already parsed one. */
  savePath: string | SavePath;
  /** Mode for new session files; default the save path's MODE (0600). The umask applies, as in PHP. */
  fileMode?: number;
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
    this.fileMode = options.fileMode ?? this.savePath.mode;
    if (!Number.isInteger(this.fileMode) || this.fileMode < 0 || this.fileMode > 0o7777) throw new ConfigError(`FileSessionStore: fileMode ${this.fileMode} is not in 0..07777`);
  }

  /** PHP's id rule here: `[A-Za-z0-9,-]`, 1..256 characters, longer than the depth. */
  isValidId(id: string): boolean {
    return isValidSessionId(id, this.savePath.depth);
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
    const path = this.pathOf(id);
    try {
      return lstatSync(path, { throwIfNoEntry: false })?.isFile() ?? false;
    } catch (err) {
      if (errnoCode(err) === 'ENOTDIR') return false;
      throw new SessionFileError(path, `cannot stat: ${(err as Error).message}`, 'ESESSIONFILE', { cause: err });
    }
  }

  /** @internal the locking step every operation shares. */
  lock(id: string, req: Omit<LockRequest, 'maxBytes' | 'depth' | 'timeoutMs'> & { timeoutMs?: number }): Promise<LockedFile | null> {
    return lockFile(locateSessionFile(this.savePath, id), {
      ...req,
      timeoutMs: req.timeoutMs ?? this.settings.lockTimeoutMs,
      maxBytes: this.settings.maxBytes,
      depth: this.savePath.depth,
    });
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
    let data: PhpArray;
    try {
      data = this.decode(locked.bytes, locked.loc.path);
    } catch (err) {
      release(locked);
      throw err;
    }
    const handle = new FileSessionHandle(this, id, locked, data);
    if (options.readAndClose) await handle.close();
    return handle;
  }

  /** session_start() with PHP's id rules (see chooseSessionId); `handle.isNew` says whether the id is new. */
  async start(id?: string | null, options: OpenOptions = {}): Promise<FileSessionHandle> {
    const chosen = await chooseSessionId(this, id, this.settings.useStrictMode);
    return this.open(chosen.id, options);
  }

  /** The raw stored bytes under a shared lock, null when there is no such session (nothing is created). */
  async readBytes(id: string): Promise<Uint8Array | null> {
    const locked = await this.lock(id, { exclusive: false, write: false });
    if (!locked) return null;
    release(locked);
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
      unlinkLocked(locked);
    } finally {
      release(locked);
    }
    return true;
  }

  /** Sets a session's mtime to now (what keeps gc away) under its lock. False when missing. */
  async touch(id: string): Promise<boolean> {
    const locked = await this.lock(id, { exclusive: true, write: false, noRead: true });
    if (!locked) return false;
    try {
      touch(locked.fd);
    } finally {
      release(locked);
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

  async close(): Promise<void> {}
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
   * so PHP's lock stays meaningful; see file-io's writeInPlace for the order). With lazy write
   * and unchanged bytes only the mtime is set (futimes), like PHP.
   * @throws EncodeError when the handler cannot hold the data (nothing is written).
   * @throws SessionFileError (EWRITE) when the write fails; the previous bytes are put back.
   */
  async save(data?: PhpArray): Promise<void> {
    const file = this.#requireOpen();
    if (data !== undefined) this.data = data;
    this.#write(file, this.#store.encode(this.data));
  }

  #write(file: LockedFile, encoded: Uint8Array): void {
    if (this.#store.settings.lazyWrite && sameBytes(encoded, this.#bytes)) {
      touch(file.fd);
      return;
    }
    writeInPlace(file.fd, this.#path, encoded, this.#bytes);
    this.#bytes = encoded;
  }

  /** save() then close(); the lock is released on every path. */
  saveAndClose(data?: PhpArray): Promise<void> {
    return saveThenClose(this, data);
  }

  /** Releases the lock (closing the fd) without writing. Idempotent. */
  async close(): Promise<void> {
    const file = this.#file;
    this.#file = null;
    if (file) release(file);
  }

  /** Deletes the session file while holding its lock, then releases the lock. */
  async destroy(): Promise<void> {
    const file = this.#requireOpen();
    this.#file = null;
    try {
      unlinkLocked(file);
    } finally {
      release(file);
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
      release(fresh);
      if (attempt >= 3) throw new SessctlError('could not create a fresh session id (collisions)', 'EIDCOLLISION');
    }
    try {
      writeInPlace(fresh.fd, fresh.loc.path, encoded, fresh.bytes);
    } catch (err) {
      unlinkLocked(fresh);
      release(fresh);
      throw err;
    }
    try {
      if (deleteOld) unlinkLocked(old);
      else this.#write(old, encoded);
    } finally {
      release(old);
    }
    this.#id = newId;
    this.#file = fresh;
    this.#path = fresh.loc.path;
    this.#isNew = true;
    this.#bytes = encoded;
    return newId;
  }
}
