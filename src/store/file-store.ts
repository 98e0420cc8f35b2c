/**
 * PHP's `files` session save handler for Node: the same files, the same flock(2) lock,
 * writes in place like PHP, so PHP and Node can serve the same sessions at the same time.
 */
import { constants as fsc, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { decodeSession, encodeSession, SERIALIZE_HANDLERS, type DecodeOptions, type EncodeOptions, type SerializeHandler } from '../codec/index.js';
import { PhpArray } from '../codec/values.js';
import { ConfigError, LockTimeoutError, SessctlError, SessionFileError } from '../errors.js';
import { updateSession, type OpenOptions, type SessionBackend, type SessionHandle, type SessionSettings, type SessionUpdater } from './backend.js';
import { assertLockingAvailable, lockFd } from './lock.js';
import { sessionFilePath, walkSessionFiles, type SessionFileEntry, type WalkOptions } from './paths.js';
import { toSavePath, type SavePath } from './save-path.js';
import { checkSidSettings, isValidSessionId, type SidBitsPerCharacter } from './session-id.js';
import { generateSessionId } from './new-session-id.js';

export interface FileStoreOptions extends SessionSettings {
  /** PHP's `session.save_path` (`"N;MODE;/path"`) or an already parsed one. */
  savePath: string | SavePath;
  /** How long open()/update()/destroy() wait for PHP's lock (default 30000 ms). */
  lockTimeoutMs?: number;
  /** Mode for new session files; default the save path's MODE (0600). The umask applies, as in PHP. */
  fileMode?: number;
  /** Passed to decodeSession (class registry, limits…); `source` is set to the file path. */
  decodeOptions?: DecodeOptions;
  /** Passed to encodeSession (class registry…). */
  encodeOptions?: EncodeOptions;
  /** Refuse session files larger than this (default 256 MiB) instead of reading them into memory. */
  maxFileBytes?: number;
}

/** O_NONBLOCK keeps a FIFO planted as `sess_x` from hanging open(); it changes nothing for regular files. */
const BASE_FLAGS = fsc.O_NOFOLLOW | fsc.O_NONBLOCK;

function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

/** Turns open(2) failures into messages that say what is wrong with which file. */
function openError(path: string, err: unknown, depth: number): SessctlError {
  switch (errnoCode(err)) {
    case 'ELOOP':
      return new SessionFileError(path, 'is a symbolic link; refused (opened with O_NOFOLLOW, as PHP does)', 'ESYMLINK', { cause: err });
    case 'EACCES':
    case 'EPERM':
      return new SessionFileError(path, `permission denied (${errnoCode(err)})`, 'EACCES', { cause: err });
    case 'ENOENT':
    case 'ENOTDIR':
      return new SessionFileError(
        path,
        depth > 0
          ? `its directory does not exist (save path depth ${depth}: create the tree with createSessionDirs or PHP's mod_files.sh)`
          : 'the save path directory does not exist',
        'ENOENT',
        { cause: err },
      );
    case 'EISDIR':
      return new SessionFileError(path, 'is a directory, not a session file', 'ENOTFILE', { cause: err });
    default:
      return new SessionFileError(path, `cannot open: ${(err as Error).message}`, 'ESESSIONFILE', { cause: err });
  }
}

/**
 * PHP refuses a session file that neither root nor our real or effective uid owns, unless we
 * run as root ("Session data file is not created by your uid"): it could belong to another
 * application sharing the directory.
 */
function assertOwnedByUs(path: string, uid: number): void {
  const ruid = process.getuid?.();
  const euid = process.geteuid?.();
  if (ruid === undefined || euid === undefined) return; // no uids on this platform (Windows)
  if (uid !== 0 && uid !== ruid && uid !== euid && ruid !== 0) {
    throw new SessionFileError(path, `is owned by uid ${uid}, not by us (uid ${ruid}); refused, as PHP does`, 'EOWNER');
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}

/** pwrite at offset 0 until everything is written, then cut what is left of a longer old content. */
async function writeInPlace(fh: FileHandle, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) {
    const { bytesWritten } = await fh.write(bytes, off, bytes.length - off, off);
    if (bytesWritten <= 0) throw new Error('write made no progress');
    off += bytesWritten;
  }
  const st = await fh.stat();
  if (st.size > bytes.length) await fh.truncate(bytes.length);
}

async function readWhole(fh: FileHandle, size: number, path: string, max: number): Promise<Buffer> {
  if (size > max) throw new SessionFileError(path, `is ${size} bytes, above the ${max}-byte limit (maxFileBytes)`, 'ETOOBIG');
  const chunks: Buffer[] = [];
  let total = 0;
  let buf = Buffer.allocUnsafe(Math.max(size, 4096));
  for (;;) {
    const { bytesRead } = await fh.read(buf, 0, buf.length, total);
    if (bytesRead === 0) break;
    chunks.push(buf.subarray(0, bytesRead));
    total += bytesRead;
    if (total > max) throw new SessionFileError(path, `is above the ${max}-byte limit (maxFileBytes)`, 'ETOOBIG');
    buf = Buffer.allocUnsafe(65536);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
}

interface Locked {
  fh: FileHandle;
  ino: number;
  created: boolean;
  bytes: Buffer;
}

/**
 * The file session store. Configure it like php.ini; every method that changes a session
 * holds PHP's exclusive flock on the session file while it does.
 */
export class FileSessionStore implements SessionBackend {
  readonly savePath: SavePath;
  readonly serializeHandler: SerializeHandler;
  readonly gcMaxlifetime: number;
  readonly lazyWrite: boolean;
  readonly useStrictMode: boolean;
  readonly sidLength: number;
  readonly sidBitsPerCharacter: SidBitsPerCharacter;
  readonly lockTimeoutMs: number;
  readonly fileMode: number;
  readonly decodeOptions: DecodeOptions | undefined;
  readonly encodeOptions: EncodeOptions | undefined;
  readonly maxFileBytes: number;

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
    this.serializeHandler = options.serializeHandler ?? ('php' as SerializeHandler);
    if (!SERIALIZE_HANDLERS.includes(this.serializeHandler)) {
      throw new ConfigError(`serializeHandler ${JSON.stringify(this.serializeHandler)} is not one of ${SERIALIZE_HANDLERS.join(', ')}`);
    }
    this.gcMaxlifetime = options.gcMaxlifetime ?? 1440;
    if (!Number.isInteger(this.gcMaxlifetime) || this.gcMaxlifetime < 0) throw new ConfigError(`gcMaxlifetime ${this.gcMaxlifetime} is not a whole number of seconds`);
    this.lazyWrite = options.lazyWrite ?? true;
    this.useStrictMode = options.useStrictMode ?? false;
    this.sidLength = options.sidLength ?? 32;
    this.sidBitsPerCharacter = options.sidBitsPerCharacter ?? 4;
    checkSidSettings(this.sidLength, this.sidBitsPerCharacter);
    if (this.sidLength <= this.savePath.depth) throw new ConfigError(`sidLength ${this.sidLength} must be longer than the save path depth ${this.savePath.depth}`);
    this.lockTimeoutMs = options.lockTimeoutMs ?? 30000;
    if (!(this.lockTimeoutMs >= 0)) throw new ConfigError(`lockTimeoutMs ${this.lockTimeoutMs} is not a duration in ms`);
    this.fileMode = options.fileMode ?? this.savePath.mode;
    if (!Number.isInteger(this.fileMode) || this.fileMode < 0 || this.fileMode > 0o7777) throw new ConfigError(`fileMode ${this.fileMode} is not in 0..07777`);
    this.decodeOptions = options.decodeOptions;
    this.encodeOptions = options.encodeOptions;
    this.maxFileBytes = options.maxFileBytes ?? 256 * 1024 * 1024;
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
    return sessionFilePath(this.savePath, id);
  }

  /**
   * A new id as PHP makes one (sidLength / sidBitsPerCharacter), checked against existing
   * files like PHP's files handler (3 retries).
   * @throws SessctlError when every attempt collided (a broken random source).
   */
  async createId(): Promise<string> {
    for (let attempt = 0; attempt < 4; attempt++) {
      const id = generateSessionId({ length: this.sidLength, bitsPerCharacter: this.sidBitsPerCharacter });
      if (!(await this.exists(id))) return id;
    }
    throw new SessctlError('could not create a session id that is not in use (4 collisions)', 'EIDCOLLISION');
  }

  /**
   * Whether a session file exists (a regular file, not followed if a symlink). An id PHP
   * would refuse cannot exist: false, no path is built from it.
   */
  async exists(id: string): Promise<boolean> {
    if (!this.isValidId(id)) return false;
    try {
      return (await fsp.lstat(this.pathOf(id))).isFile();
    } catch (err) {
      if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return false;
      throw new SessionFileError(this.pathOf(id), `cannot stat: ${(err as Error).message}`, 'ESESSIONFILE', { cause: err });
    }
  }

  /**
   * Opens `path` and takes its flock. With `create`, the file is created like PHP does
   * (O_CREAT|O_RDWR|O_NOFOLLOW, mode from save_path). If the file was deleted or replaced
   * while we waited for its lock (PHP's destroy, gc), we start over on the new file instead
   * of writing into an unlinked inode. Returns null when it does not exist and !create.
   */
  private async lockFile(path: string, mode: { create: boolean; exclusive: boolean; timeoutMs: number; readOnly?: boolean }): Promise<Locked | null> {
    const deadline = Date.now() + mode.timeoutMs;
    for (;;) {
      let fh: FileHandle | undefined;
      let created = false;
      const access = mode.readOnly ? fsc.O_RDONLY : fsc.O_RDWR;
      try {
        fh = await fsp.open(path, access | BASE_FLAGS);
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT') throw openError(path, err, this.savePath.depth);
        if (!mode.create) return null;
        try {
          // O_EXCL only to learn whether we made it (isNew); EEXIST → someone just did: retry.
          fh = await fsp.open(path, fsc.O_CREAT | fsc.O_EXCL | fsc.O_RDWR | BASE_FLAGS, this.fileMode);
          created = true;
        } catch (err2) {
          if (errnoCode(err2) === 'EEXIST') continue;
          throw openError(path, err2, this.savePath.depth);
        }
      }
      try {
        const st = await fh.stat();
        if (!st.isFile()) throw new SessionFileError(path, 'is not a regular file', 'ENOTFILE');
        assertOwnedByUs(path, st.uid);
        const left = Math.max(0, deadline - Date.now());
        try {
          await lockFd(fh.fd, { exclusive: mode.exclusive, timeoutMs: left, target: path });
        } catch (err) {
          // Report the configured timeout, not what was left of it after a retry.
          throw err instanceof LockTimeoutError ? new LockTimeoutError(path, mode.timeoutMs) : err;
        }
        const after = await fh.stat();
        let current: number | null = null;
        try {
          current = (await fsp.lstat(path)).ino;
        } catch {
          current = null;
        }
        if (after.nlink === 0 || current !== after.ino) {
          // Destroyed or replaced while we waited: this inode is no longer the session.
          await fh.close();
          fh = undefined;
          if (current === null && !mode.create) return null;
          if (Date.now() > deadline) throw new SessionFileError(path, 'kept being replaced while we waited for its lock', 'ERACE');
          continue;
        }
        const bytes = await readWhole(fh, after.size, path, this.maxFileBytes);
        return { fh, ino: after.ino, created, bytes };
      } catch (err) {
        await fh?.close().catch(() => {});
        throw err;
      }
    }
  }

  /** Decodes stored bytes with this store's handler. @throws DecodeError naming `path`. */
  decode(bytes: Uint8Array, path: string): PhpArray {
    if (bytes.length === 0) return new PhpArray();
    return decodeSession(bytes, this.serializeHandler, { ...this.decodeOptions, source: path });
  }

  /** @throws EncodeError when the handler cannot hold the data. */
  encode(data: PhpArray): Uint8Array {
    return encodeSession(data, this.serializeHandler, this.encodeOptions);
  }

  /**
   * Opens a session under PHP's exclusive lock and reads it; a missing file is created
   * (empty, mode from save_path), as PHP's session_start() does. open() takes the id as
   * given even with useStrictMode: deciding to adopt an unknown id is the caller's
   * business (see {@link start} and {@link exists}).
   * @throws InvalidSessionIdError before touching the disk when PHP would refuse the id.
   * @throws LockTimeoutError when PHP (or another handle) keeps the lock longer than the timeout.
   * @throws SessionFileError for a symlink, a file owned by another uid, a missing directory,
   *   permissions; DecodeError (with the path) for a corrupt file, which is left untouched.
   */
  async open(id: string, options: OpenOptions = {}): Promise<FileSessionHandle> {
    const path = this.pathOf(id);
    const timeoutMs = options.lockTimeoutMs ?? this.lockTimeoutMs;
    const locked = (await this.lockFile(path, { create: true, exclusive: true, timeoutMs }))!;
    let data: PhpArray;
    try {
      data = this.decode(locked.bytes, path);
    } catch (err) {
      await locked.fh.close().catch(() => {});
      throw err;
    }
    const handle = new FileSessionHandle(this, id, path, locked, data);
    if (options.readAndClose) await handle.close();
    return handle;
  }

  /**
   * session_start() with PHP's id rules: no id, an id PHP refuses, or (with useStrictMode)
   * an id with no session behind it → a new id from {@link createId}; otherwise open(id).
   */
  async start(id?: string | null, options: OpenOptions = {}): Promise<FileSessionHandle> {
    let useId = id ?? undefined;
    if (useId !== undefined && !this.isValidId(useId)) useId = undefined;
    if (useId !== undefined && this.useStrictMode && !(await this.exists(useId))) useId = undefined;
    return this.open(useId ?? (await this.createId()), options);
  }

  /** The raw stored bytes under a shared lock, null when there is no such session (nothing is created). */
  async readBytes(id: string): Promise<Uint8Array | null> {
    const path = this.pathOf(id);
    const locked = await this.lockFile(path, { create: false, exclusive: false, timeoutMs: this.lockTimeoutMs, readOnly: true });
    if (!locked) return null;
    await locked.fh.close();
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
    const path = this.pathOf(id);
    const locked = await this.lockFile(path, { create: false, exclusive: true, timeoutMs: this.lockTimeoutMs });
    if (!locked) return false;
    try {
      await fsp.unlink(path);
    } finally {
      await locked.fh.close();
    }
    return true;
  }

  /** Sets a session's mtime to now (what keeps gc away) under its lock. False when missing. */
  async touch(id: string): Promise<boolean> {
    const path = this.pathOf(id);
    const locked = await this.lockFile(path, { create: false, exclusive: true, timeoutMs: this.lockTimeoutMs });
    if (!locked) return false;
    try {
      const now = new Date();
      await locked.fh.utimes(now, now);
    } finally {
      await locked.fh.close();
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

  /** @internal used by handles */
  async lockForHandle(path: string, timeoutMs: number): Promise<Locked> {
    return (await this.lockFile(path, { create: true, exclusive: true, timeoutMs }))!;
  }
}

/**
 * An open session: holds PHP's exclusive flock on its file from open() until close(),
 * destroy(), or the end of the process.
 */
export class FileSessionHandle implements SessionHandle {
  #store: FileSessionStore;
  #id: string;
  #path: string;
  #fh: FileHandle | null;
  #ino: number;
  #isNew: boolean;
  #bytes: Uint8Array;
  data: PhpArray;

  /** @internal created by FileSessionStore.open */
  constructor(store: FileSessionStore, id: string, path: string, locked: Locked, data: PhpArray) {
    this.#store = store;
    this.#id = id;
    this.#path = path;
    this.#fh = locked.fh;
    this.#ino = locked.ino;
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
    return this.#fh !== null;
  }

  #requireOpen(): FileHandle {
    if (!this.#fh) throw new SessctlError(`${this.#path}: the session handle is closed (its lock was released)`, 'ECLOSED');
    return this.#fh;
  }

  /**
   * Encodes the data with the store's serialize handler and writes it in place (pwrite at 0,
   * ftruncate if shorter: same inode, PHP's lock stays meaningful). With lazy write and
   * unchanged bytes only the mtime is set (futimes), like PHP.
   * @throws EncodeError when the handler cannot hold the data (nothing is written).
   */
  async save(data?: PhpArray): Promise<void> {
    const fh = this.#requireOpen();
    if (data !== undefined) this.data = data;
    const encoded = this.#store.encode(this.data);
    await this.#writeData(fh, encoded);
  }

  async #writeData(fh: FileHandle, encoded: Uint8Array): Promise<void> {
    if (this.#store.lazyWrite && sameBytes(encoded, this.#bytes)) {
      const now = new Date();
      await fh.utimes(now, now);
      return;
    }
    try {
      await writeInPlace(fh, encoded);
    } catch (err) {
      throw new SessionFileError(this.#path, `write failed: ${(err as Error).message}`, 'EWRITE', { cause: err });
    }
    this.#bytes = encoded;
  }

  /** Releases the lock (closing the fd) without writing. Idempotent. */
  async close(): Promise<void> {
    const fh = this.#fh;
    this.#fh = null;
    if (fh) await fh.close();
  }

  /** Deletes the session file while holding its lock, then releases the lock. */
  async destroy(): Promise<void> {
    const fh = this.#requireOpen();
    try {
      await this.#unlinkIfOurs();
    } finally {
      this.#fh = null;
      await fh.close();
    }
  }

  async #unlinkIfOurs(): Promise<void> {
    try {
      if ((await fsp.lstat(this.#path)).ino === this.#ino) await fsp.unlink(this.#path);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw new SessionFileError(this.#path, `cannot delete: ${(err as Error).message}`, 'EUNLINK', { cause: err });
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
    const oldFh = this.#requireOpen();
    const encoded = this.#store.encode(this.data);
    let newId: string;
    let newPath: string;
    let locked: Locked;
    for (let attempt = 0; ; attempt++) {
      newId = await this.#store.createId();
      newPath = this.#store.pathOf(newId);
      locked = await this.#store.lockForHandle(newPath, this.#store.lockTimeoutMs);
      if (locked.created) break;
      // Someone made a session with this id between createId() and now: never take it over.
      await locked.fh.close();
      if (attempt >= 3) throw new SessctlError('could not create a fresh session id (collisions)', 'EIDCOLLISION');
    }
    try {
      await writeInPlace(locked.fh, encoded);
    } catch (err) {
      await locked.fh.close().catch(() => {});
      await fsp.unlink(newPath).catch(() => {});
      throw new SessionFileError(newPath, `write failed: ${(err as Error).message}`, 'EWRITE', { cause: err });
    }
    try {
      if (deleteOld) await this.#unlinkIfOurs();
      else await this.#writeData(oldFh, encoded);
    } finally {
      await oldFh.close().catch(() => {});
    }
    this.#id = newId;
    this.#path = newPath;
    this.#fh = locked.fh;
    this.#ino = locked.ino;
    this.#isNew = true;
    this.#bytes = encoded;
    return newId;
  }
}

