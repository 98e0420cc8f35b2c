/**
 * Laravel's `file` session driver (Illuminate\Session\FileSessionHandler) for Node: one file
 * `<storage/framework/sessions>/<id>` holding serialize($attributes) (or, with `encrypt => true`,
 * Laravel's encrypted payload of it), read as Laravel reads it (a session idle longer than the
 * lifetime reads as empty) and locked as file.ts says.
 */
import { lstatSync, readdirSync } from 'node:fs';
import { decodeSession, encodeSession } from '../../codec/index.js';
import { PhpArray } from '../../codec/values.js';
import { ConfigError, SessctlError, SessionFileError } from '../../errors.js';
import { updateSession, type OpenOptions, type SessionBackend, type SessionHandle, type SessionUpdater } from '../../session/contract.js';
import { createUnusedId } from '../../session/new-session-id.js';
import { resolveSessionSettings, type ResolvedSessionSettings, type SessionSettings } from '../../session/settings.js';
import { startSession } from '../../session/start.js';
import { assertLockingAvailable } from '../shared/flock.js';
import { generateLaravelSessionId, isLaravelSessionId, laravelHandler, lifetimeSeconds, type PayloadCipher } from '../shared/laravel.js';
import { errnoCode, lockSession, release, sessionPath, setMtime, unlinkHeld, writeLocked, type OpenedSession } from './file.js';

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
    return sessionPath(this.path, id);
  }

  /** Str::random(40), checked against existing files. */
  createId(): Promise<string> {
    return createUnusedId(generateLaravelSessionId, (id) => this.exists(id));
  }

  async exists(id: string): Promise<boolean> {
    if (!this.isValidId(id)) return false;
    return lstatSync(this.pathOf(id), { throwIfNoEntry: false })?.isFile() ?? false;
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

  /** @internal */
  lock(id: string, exclusive: boolean, timeoutMs = this.settings.lockTimeoutMs, create = false): Promise<OpenedSession | null> {
    return lockSession(this.path, id, { exclusive, timeoutMs, create, maxBytes: this.settings.maxBytes });
  }

  /**
   * Opens a session under LOCK_EX (Laravel's reads and writes of it wait until close()).
   * @throws InvalidSessionIdError, LockTimeoutError, DecodeError, SessctlError (ETOOBIG).
   */
  async open(id: string, options: OpenOptions = {}): Promise<LaravelFileSessionHandle> {
    const s = (await this.lock(id, true, options.lockTimeoutMs, true))!;
    let handle: LaravelFileSessionHandle;
    try {
      const live = !s.created && !this.expired(s.stat.mtimeMs);
      const bytes = live ? s.bytes : Buffer.alloc(0);
      handle = new LaravelFileSessionHandle(this, id, s, !live || s.bytes.length === 0, bytes, this.decode(bytes, s.path));
    } catch (err) {
      if (s.created) unlinkHeld(s);
      release(s.fd, s.path);
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
    const s = await this.lock(id, false);
    if (!s) return null;
    release(s.fd, s.path);
    if (this.expired(s.stat.mtimeMs)) return null;
    return this.decode(s.bytes, s.path);
  }

  update(id: string, fn: SessionUpdater): Promise<PhpArray> {
    return updateSession(this, id, fn);
  }

  async destroy(id: string): Promise<boolean> {
    const s = await this.lock(id, true);
    if (!s) return false;
    try {
      return unlinkHeld(s);
    } finally {
      release(s.fd, s.path);
    }
  }

  async touch(id: string): Promise<boolean> {
    const s = await this.lock(id, true);
    if (!s) return false;
    try {
      setMtime(s.fd);
      return true;
    } finally {
      release(s.fd, s.path);
    }
  }

  /** Every file named like a Laravel id (Laravel keeps a `.gitignore` there too). */
  async *ids(): AsyncGenerator<string> {
    let names: string[];
    try {
      names = readdirSync(this.path);
    } catch (err) {
      throw new SessionFileError(this.path, `cannot read directory: ${errnoCode(err) ?? ''} ${(err as Error).message}`.trim(), 'ESESSIONDIR', { cause: err });
    }
    for (const name of names) if (isLaravelSessionId(name)) yield name;
  }

  async close(): Promise<void> {}
}

export class LaravelFileSessionHandle implements SessionHandle {
  readonly #store: LaravelFileSessionStore;
  #id: string;
  #held: OpenedSession | null;
  #isNew: boolean;
  #bytes: Uint8Array;
  #saved = false;
  data: PhpArray;

  /** @internal */
  constructor(store: LaravelFileSessionStore, id: string, held: OpenedSession, isNew: boolean, bytes: Uint8Array, data: PhpArray) {
    this.#store = store;
    this.#id = id;
    this.#held = held;
    this.#isNew = isNew;
    this.#bytes = bytes;
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

  #requireOpen(): OpenedSession {
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
      setMtime(held.fd);
      return;
    }
    writeLocked(held.fd, held.path, bytes);
    this.#bytes = bytes;
  }

  /** Releases the lock; a file this handle created and never saved is removed (Laravel writes a session only at the end of a request). */
  async close(): Promise<void> {
    const held = this.#held;
    this.#held = null;
    if (!held) return;
    try {
      if (held.created && !this.#saved) unlinkHeld(held);
    } finally {
      release(held.fd, held.path);
    }
  }

  async destroy(): Promise<void> {
    const held = this.#requireOpen();
    this.#held = null;
    try {
      unlinkHeld(held);
    } finally {
      release(held.fd, held.path);
    }
  }

  /** Store::migrate($destroy): the data moves to a fresh id (locked); the old file is deleted or keeps the data. */
  async regenerateId(deleteOld = false): Promise<string> {
    const old = this.#requireOpen();
    const bytes = this.#store.encode(this.data);
    let fresh: OpenedSession | null = null;
    let next = '';
    for (let attempt = 0; !fresh?.created; attempt++) {
      if (fresh) release(fresh.fd, fresh.path);
      if (attempt > 3) throw new SessctlError('could not create a fresh session id (collisions)', 'EIDCOLLISION');
      next = await this.#store.createId();
      fresh = await this.#store.lock(next, true, undefined, true);
    }
    try {
      writeLocked(fresh.fd, fresh.path, bytes);
      if (deleteOld) unlinkHeld(old);
      else writeLocked(old.fd, old.path, bytes);
    } finally {
      release(old.fd, old.path);
    }
    this.#id = next;
    this.#held = fresh;
    this.#isNew = true;
    this.#bytes = bytes;
    this.#saved = true;
    return next;
  }
}
