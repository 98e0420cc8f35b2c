/**
 * Laravel's `file` session driver (Illuminate\Session\FileSessionHandler) for Node: one file
 * `<storage/framework/sessions>/<id>` holding serialize($attributes) (or, with `encrypt => true`,
 * Laravel's encrypted payload of it), read as Laravel reads it (a session idle longer than the
 * lifetime reads as empty) and locked as Laravel locks it.
 *
 * Laravel's FileSessionHandler reads a session under flock(LOCK_SH) (Filesystem::sharedGet) and
 * writes it with file_put_contents(…, LOCK_EX): open without truncating, flock(LOCK_EX),
 * truncate, write. Nothing is held between the read at the start of a request and the write at
 * its end. We take the same locks on the same file, so a Laravel read never sees half of a Node
 * write and the other way round; a Node handle holds LOCK_EX from open() to close(), so
 * Laravel's reads and writes of that session wait for it. Every file access goes through the
 * shared file-io module, with the checks PHP's files handler gets: O_NOFOLLOW|O_NONBLOCK
 * (Laravel follows symlinks; a root cron job must not), regular files only, the owner rule,
 * maxBytes, the name still naming the locked inode before an unlink. A file root creates gets
 * the directory's owner, so the web server user can still write it.
 */
import { decodeSession, encodeSession } from '../../codec/index.js';
import { PhpArray } from '../../codec/values.js';
import { ConfigError, SessctlError } from '../../errors.js';
import { saveThenClose, updateSession, type OpenOptions, type SessionBackend, type SessionHandle, type SessionUpdater } from '../../session/contract.js';
import { createUnusedId } from '../../session/new-session-id.js';
import { resolveSessionSettings, type ResolvedSessionSettings, type SessionSettings } from '../../session/settings.js';
import { startSession } from '../../session/start.js';
import { forgetSaveDir, isRegularFileAt, lockFile, release, touchLocked, unlinkLocked, writeLocked, type LockedFile } from '../shared/file-io/index.js';
import { assertLockingAvailable } from '../shared/flock.js';
import { generateLaravelSessionId, isLaravelSessionId, laravelHandler, lifetimeSeconds, type PayloadCipher } from '../shared/laravel.js';
import { locateLaravelFile, walkLaravelFiles } from './paths.js';

/** file_put_contents creates with 0666 (the umask applies), as Laravel's files are made. */
const FILE_MODE = 0o666;
const EMPTY = Buffer.alloc(0);

export interface LaravelFileStoreOptions extends Omit<SessionSettings, 'sidLength' | 'sidBitsPerCharacter'> {
  /** config('session.files'): the app's `storage/framework/sessions`. */
  path: string;
  /** SESSION_LIFETIME in minutes (Laravel's default 120): sets gcMaxlifetime. */
  lifetime?: number;
  /** `encrypt => true` (SESSION_ENCRYPT): sessctl/laravel's `laravelPayloadCipher(encrypter)`. */
  payloadCipher?: PayloadCipher;
}

export class LaravelFileSessionStore implements SessionBackend {
  readonly path: string;
  readonly settings: ResolvedSessionSettings;
  readonly payloadCipher: PayloadCipher | undefined;

  /** @throws ConfigError for a bad setting; SessctlError (ENOLOCK) without the flock addon. */
  constructor(options: LaravelFileStoreOptions) {
    assertLockingAvailable();
    const who = 'LaravelFileSessionStore';
    if (!options || typeof options.path !== 'string' || options.path === '') throw new ConfigError(`${who} needs { path: 'storage/framework/sessions' }`);
    const { path, lifetime, payloadCipher, ...shared } = options;
    this.path = path;
    this.settings = resolveSessionSettings(
      { ...shared, serializeHandler: laravelHandler(shared.serializeHandler, who), gcMaxlifetime: lifetimeSeconds(lifetime, shared.gcMaxlifetime ?? 7200, who) },
      who,
    );
    this.payloadCipher = payloadCipher;
  }

  /** Laravel's Store::isValidId(): 40 letters and digits. */
  isValidId(id: string): boolean {
    return isLaravelSessionId(id);
  }

  /** @throws InvalidSessionIdError */
  pathOf(id: string): string {
    return locateLaravelFile(this.path, id).path;
  }

  /** Str::random(40), checked against existing files. */
  createId(): Promise<string> {
    return createUnusedId(generateLaravelSessionId, (id) => this.exists(id));
  }

  async exists(id: string): Promise<boolean> {
    if (!this.isValidId(id)) return false;
    return isRegularFileAt(locateLaravelFile(this.path, id));
  }

  /** Laravel reads a file idle for longer than the lifetime as an empty session. */
  expired(mtimeMs: number, nowMs = Date.now()): boolean {
    return Math.floor(mtimeMs / 1000) < Math.floor(nowMs / 1000) - this.settings.gcMaxlifetime;
  }

  /** Stored bytes → attributes. @throws DecodeError naming the file (nothing is changed). */
  decode(bytes: Uint8Array, where: string): PhpArray {
    if (bytes.length === 0) return new PhpArray();
    const plain = this.payloadCipher ? this.payloadCipher.open(bytes, where) : bytes;
    return decodeSession(plain, 'php_serialize', { ...this.settings.decodeOptions, source: where });
  }

  /** Attributes → stored bytes. @throws EncodeError */
  encode(data: PhpArray): Uint8Array {
    const plain = encodeSession(data, 'php_serialize', this.settings.encodeOptions);
    return this.payloadCipher ? this.payloadCipher.seal(plain) : plain;
  }

  /** @internal LOCK_EX (opened read-write) or LOCK_SH (read-only); `create` makes a missing file. */
  lock(id: string, exclusive: boolean, options: { timeoutMs?: number; create?: boolean; noRead?: boolean } = {}): Promise<LockedFile | null> {
    return lockFile(locateLaravelFile(this.path, id), {
      exclusive,
      write: exclusive,
      create: options.create ? { mode: FILE_MODE, dirOwner: true } : undefined,
      timeoutMs: options.timeoutMs ?? this.settings.lockTimeoutMs,
      maxBytes: this.settings.maxBytes,
      noRead: options.noRead,
    });
  }

  /**
   * Opens a session under LOCK_EX (Laravel's reads and writes of it wait until close()).
   * @throws InvalidSessionIdError, LockTimeoutError, DecodeError, SessionFileError (a symlink,
   *   not a regular file, another uid's file, ETOOBIG above maxBytes).
   */
  async open(id: string, options: OpenOptions = {}): Promise<LaravelFileSessionHandle> {
    const f = (await this.lock(id, true, { timeoutMs: options.lockTimeoutMs, create: true }))!;
    let handle: LaravelFileSessionHandle;
    try {
      const live = !f.created && !this.expired(f.st.mtimeMs);
      const bytes = live ? f.bytes : EMPTY;
      handle = new LaravelFileSessionHandle(this, id, f, !live || f.bytes.length === 0, bytes, this.decode(bytes, f.loc.path));
    } catch (err) {
      try {
        if (f.created) await unlinkLocked(f);
      } finally {
        await release(f);
      }
      throw err;
    }
    if (options.readAndClose) await handle.close();
    return handle;
  }

  start(id?: string | null, options: OpenOptions = {}): Promise<LaravelFileSessionHandle> {
    return startSession(this, id, options);
  }

  /** Reads under LOCK_SH, as Laravel's sharedGet does; null when missing or expired. */
  async read(id: string): Promise<PhpArray | null> {
    const f = await this.lock(id, false);
    if (!f) return null;
    await release(f);
    if (this.expired(f.st.mtimeMs)) return null;
    return this.decode(f.bytes, f.loc.path);
  }

  update(id: string, fn: SessionUpdater): Promise<PhpArray> {
    return updateSession(this, id, fn);
  }

  async destroy(id: string): Promise<boolean> {
    const f = await this.lock(id, true, { noRead: true });
    if (!f) return false;
    try {
      return await unlinkLocked(f);
    } finally {
      await release(f);
    }
  }

  async touch(id: string): Promise<boolean> {
    const f = await this.lock(id, true, { noRead: true });
    if (!f) return false;
    try {
      await touchLocked(f);
      return true;
    } finally {
      await release(f);
    }
  }

  /** Every regular file named like a Laravel id (streamed; symlinks and FIFOs are no sessions). */
  async *ids(): AsyncGenerator<string> {
    let n = 0;
    for (const found of walkLaravelFiles(this.path)) {
      yield found.id;
      if (++n % 256 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
  }

  async close(): Promise<void> {
    forgetSaveDir(this.path);
  }
}

export class LaravelFileSessionHandle implements SessionHandle {
  readonly #store: LaravelFileSessionStore;
  #id: string;
  #held: LockedFile | null;
  #isNew: boolean;
  /** What the session holds for Laravel (empty when expired): lazy write compares with it. */
  #bytes: Uint8Array;
  /** What the file holds: a write in place goes over these bytes. */
  #disk: Uint8Array;
  #saved = false;
  data: PhpArray;

  /** @internal */
  constructor(store: LaravelFileSessionStore, id: string, held: LockedFile, isNew: boolean, bytes: Uint8Array, data: PhpArray) {
    this.#store = store;
    this.#id = id;
    this.#held = held;
    this.#isNew = isNew;
    this.#bytes = bytes;
    this.#disk = held.bytes;
    this.data = data;
  }

  get id(): string {
    return this.#id;
  }
  get isNew(): boolean {
    return this.#isNew;
  }
  get path(): string {
    return this.#store.pathOf(this.#id);
  }

  #requireOpen(): LockedFile {
    if (!this.#held) throw new SessctlError(`${this.path}: the session handle is closed (its lock was released)`, 'ECLOSED');
    return this.#held;
  }

  /** Writes serialize($attributes) as Laravel's put() does; unchanged bytes with lazy write only touch the mtime. */
  async save(data?: PhpArray): Promise<void> {
    const held = this.#requireOpen();
    if (data !== undefined) this.data = data;
    const bytes = this.#store.encode(this.data);
    this.#saved = true;
    if (this.#store.settings.lazyWrite && !this.#store.payloadCipher && Buffer.from(bytes).equals(this.#bytes)) {
      await touchLocked(held);
      return;
    }
    await this.#write(held, bytes);
  }

  async #write(file: LockedFile, bytes: Uint8Array): Promise<void> {
    await writeLocked(file, bytes, this.#disk);
    this.#bytes = bytes;
    this.#disk = bytes;
  }

  /** save() then close(); the lock is released on every path. */
  saveAndClose(data?: PhpArray): Promise<void> {
    return saveThenClose(this, data);
  }

  /** Releases the lock; a file this handle created and never saved is removed (Laravel writes a session only at the end of a request). */
  async close(): Promise<void> {
    const held = this.#held;
    this.#held = null;
    if (!held) return;
    try {
      if (held.created && !this.#saved) await unlinkLocked(held);
    } finally {
      await release(held);
    }
  }

  async destroy(): Promise<void> {
    const held = this.#requireOpen();
    this.#held = null;
    try {
      await unlinkLocked(held);
    } finally {
      await release(held);
    }
  }

  /** Store::migrate($destroy): the data moves to a fresh id (locked); the old file is deleted or keeps the data. */
  async regenerateId(deleteOld = false): Promise<string> {
    const old = this.#requireOpen();
    const bytes = this.#store.encode(this.data);
    let fresh: LockedFile | null = null;
    let next = '';
    for (let attempt = 0; !fresh?.created; attempt++) {
      // Someone made a session with this id between createId() and now: never take it over.
      if (fresh) await release(fresh);
      if (attempt > 3) throw new SessctlError('could not create a fresh session id (collisions)', 'EIDCOLLISION');
      next = await this.#store.createId();
      fresh = await this.#store.lock(next, true, { create: true });
    }
    try {
      await writeLocked(fresh, bytes, fresh.bytes);
    } catch (err) {
      try {
        await unlinkLocked(fresh);
      } finally {
        await release(fresh);
      }
      throw err;
    }
    try {
      if (deleteOld) await unlinkLocked(old);
      else await this.#write(old, bytes);
    } finally {
      await release(old);
    }
    this.#id = next;
    this.#held = fresh;
    this.#isNew = true;
    this.#bytes = bytes;
    this.#disk = bytes;
    this.#saved = true;
    return next;
  }
}
