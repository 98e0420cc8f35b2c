/**
 * MemorySessionStore: the reference backend — what express-session's MemoryStore is to it.
 * Sessions live in this process only, as the encoded bytes PHP would store, under a real
 * per-session FIFO lock, so it behaves like the shared backends in every respect the
 * contract names (lazy write, strict mode, lock timeouts, corrupt and oversized data, the
 * serialize handler and class mapping). For tests and single-process apps; it shares
 * nothing with PHP.
 */
import { decodeSession, encodeSession } from '../../codec/index.js';
import { PhpArray } from '../../codec/values.js';
import { LockTimeoutError, SessctlError } from '../../errors.js';
import { newGcReport, type AdminSource, type DestroyOutcome, type EntriesOptions, type GcOptions, type GcReport, type PutOutcome, type RewriteOutcome, type SessionEntry } from '../../session/admin.js';
import { saveThenClose, updateSession, type CollectGarbageOptions, type OpenOptions, type SessionBackend, type SessionHandle, type SessionUpdater } from '../../session/contract.js';
import { createUnusedId } from '../../session/new-session-id.js';
import { assertValidSessionId, isValidSessionId } from '../../session/session-id.js';
import { resolveSessionSettings, type ResolvedSessionSettings, type SessionSettings } from '../../session/settings.js';
import { startSession } from '../../session/start.js';

export type MemoryStoreOptions = SessionSettings;

interface Stored {
  bytes: Buffer;
  mtimeMs: number;
}

/** A FIFO mutex per session id. */
class Locks {
  readonly #queues = new Map<string, Array<() => void>>();

  held(id: string): boolean {
    return this.#queues.has(id);
  }

  /** Resolves with the release function once `id` is ours. @throws LockTimeoutError */
  acquire(id: string, timeoutMs: number): Promise<() => void> {
    let q = this.#queues.get(id);
    const release = this.#releaser(id);
    if (!q) {
      this.#queues.set(id, []);
      return Promise.resolve(release);
    }
    const queue = q;
    return new Promise((resolve, reject) => {
      const grant = () => {
        clearTimeout(timer);
        resolve(release);
      };
      const timer = setTimeout(() => {
        const i = queue.indexOf(grant);
        if (i >= 0) queue.splice(i, 1);
        reject(new LockTimeoutError(`memory:${id}`, timeoutMs));
      }, timeoutMs);
      queue.push(grant);
    });
  }

  #releaser(id: string): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const q = this.#queues.get(id);
      const next = q?.shift();
      if (next) next();
      else this.#queues.delete(id);
    };
  }
}

export class MemorySessionStore implements SessionBackend {
  readonly settings: ResolvedSessionSettings;
  readonly #sessions = new Map<string, Stored>();
  readonly #locks = new Locks();

  /** @throws ConfigError for a setting out of range. */
  constructor(options: MemoryStoreOptions = {}) {
    this.settings = resolveSessionSettings(options, 'MemorySessionStore');
  }

  isValidId(id: string): boolean {
    return isValidSessionId(id);
  }

  createId(): Promise<string> {
    return createUnusedId({ length: this.settings.sidLength, bitsPerCharacter: this.settings.sidBitsPerCharacter }, (id) => this.exists(id));
  }

  async exists(id: string): Promise<boolean> {
    return this.isValidId(id) && this.#sessions.has(id);
  }

  /** The stored bytes of a session (null when missing): for tests and tools. */
  getBytes(id: string): Buffer | null {
    assertValidSessionId(id);
    return this.#sessions.get(id)?.bytes ?? null;
  }

  /** Stores raw bytes as a session (no lock, no check: to plant corrupt data in a test). */
  setBytes(id: string, bytes: Uint8Array, mtimeMs = Date.now()): void {
    assertValidSessionId(id);
    this.#sessions.set(id, { bytes: Buffer.from(bytes), mtimeMs });
  }

  /** Whether a handle of this store holds the session's lock. */
  isLocked(id: string): boolean {
    return this.#locks.held(id);
  }

  /** @internal */
  decode(bytes: Uint8Array, id: string): PhpArray {
    if (bytes.length === 0) return new PhpArray();
    return decodeSession(bytes, this.settings.serializeHandler, { ...this.settings.decodeOptions, source: `memory:${id}` });
  }

  /** @internal */
  encode(data: PhpArray): Buffer {
    return encodeSession(data, this.settings.serializeHandler, this.settings.encodeOptions);
  }

  /** The stored bytes and last write of a session, without the size check (admin listings). */
  stat(id: string): { bytes: Buffer; mtimeMs: number } | undefined {
    return this.#sessions.get(id);
  }

  /** @internal the stored bytes, checked against maxBytes. */
  load(id: string): Stored | undefined {
    const s = this.#sessions.get(id);
    if (s && s.bytes.length > this.settings.maxBytes) {
      throw new SessctlError(`memory:${id}: is ${s.bytes.length} bytes, above the ${this.settings.maxBytes}-byte limit (maxBytes); not read`, 'ETOOBIG');
    }
    return s;
  }

  /** @internal */
  store(id: string, bytes: Buffer | null): void {
    if (bytes === null) this.#sessions.delete(id);
    else this.#sessions.set(id, { bytes, mtimeMs: Date.now() });
  }

  /** @internal */
  lock(id: string, timeoutMs?: number): Promise<() => void> {
    assertValidSessionId(id);
    return this.#locks.acquire(id, timeoutMs ?? this.settings.lockTimeoutMs);
  }

  async open(id: string, options: OpenOptions = {}): Promise<MemorySessionHandle> {
    return (await this.#open(id, options, false))!;
  }

  async #open(id: string, options: OpenOptions, onlyExisting: boolean): Promise<MemorySessionHandle | null> {
    const unlock = await this.lock(id, options.lockTimeoutMs);
    let handle: MemorySessionHandle;
    try {
      const stored = this.load(id);
      if (!stored && onlyExisting) {
        unlock();
        return null;
      }
      const bytes = stored?.bytes ?? Buffer.alloc(0);
      handle = new MemorySessionHandle(this, id, !stored, bytes, this.decode(bytes, id), unlock);
      // PHP's files handler creates the session at open; so does this store (empty).
      if (!stored) this.store(id, bytes);
    } catch (err) {
      unlock();
      throw err;
    }
    if (options.readAndClose) await handle.close();
    return handle;
  }

  /** session_start() with PHP's id rules (see startSession): strict mode's check is made under the lock. */
  async start(id?: string | null, options: OpenOptions = {}): Promise<MemorySessionHandle> {
    return startSession(this, id, options);
  }

  /**
   * Strict mode's check and open() in one step, under the lock: null (nothing created, the
   * lock released) when no session is stored under `id` — also when it was destroyed while
   * we waited for the lock.
   */
  async openExisting(id: string, options: OpenOptions = {}): Promise<MemorySessionHandle | null> {
    if (!this.isValidId(id)) return null;
    return this.#open(id, options, true);
  }

  async read(id: string): Promise<PhpArray | null> {
    assertValidSessionId(id);
    const s = this.load(id);
    return s ? this.decode(s.bytes, id) : null;
  }

  update(id: string, fn: SessionUpdater): Promise<PhpArray> {
    return updateSession(this, id, fn);
  }

  async destroy(id: string): Promise<boolean> {
    const unlock = await this.lock(id);
    try {
      const had = this.#sessions.has(id);
      this.store(id, null);
      return had;
    } finally {
      unlock();
    }
  }

  async touch(id: string): Promise<boolean> {
    const unlock = await this.lock(id);
    try {
      const s = this.#sessions.get(id);
      if (s) s.mtimeMs = Date.now();
      return s !== undefined;
    } finally {
      unlock();
    }
  }

  async *ids(): AsyncGenerator<string> {
    for (const id of [...this.#sessions.keys()]) yield id;
  }

  /** The operator's view of this store (list, inspect, destroy, gc by age). */
  adminSource(): AdminSource {
    return new MemoryAdminSource(this);
  }

  /** Deletes the sessions older than `gcMaxlifetime` that no handle holds (the admin gc). */
  collectGarbage(options: CollectGarbageOptions = {}): Promise<GcReport> {
    return this.adminSource().gc({ maxlifetime: this.settings.gcMaxlifetime, signal: options.signal });
  }

  async close(): Promise<void> {}
}

export class MemorySessionHandle implements SessionHandle {
  readonly #store: MemorySessionStore;
  #id: string;
  #isNew: boolean;
  #bytes: Buffer;
  #unlock: (() => void) | null;
  data: PhpArray;

  /** @internal */
  constructor(store: MemorySessionStore, id: string, isNew: boolean, bytes: Buffer, data: PhpArray, unlock: () => void) {
    this.#store = store;
    this.#id = id;
    this.#isNew = isNew;
    this.#bytes = bytes;
    this.data = data;
    this.#unlock = unlock;
  }

  get id(): string {
    return this.#id;
  }
  get isNew(): boolean {
    return this.#isNew;
  }
  get bytes(): Buffer {
    return this.#bytes;
  }

  #requireOpen(): void {
    if (!this.#unlock) throw new SessctlError(`memory:${this.#id}: the session handle is closed (its lock was released)`, 'ECLOSED');
  }

  async save(data?: PhpArray): Promise<void> {
    this.#requireOpen();
    if (data !== undefined) this.data = data;
    const bytes = this.#store.encode(this.data);
    if (this.#store.settings.lazyWrite && bytes.equals(this.#bytes)) {
      this.#store.store(this.#id, this.#bytes); // only the timestamp changes
      return;
    }
    this.#store.store(this.#id, bytes);
    this.#bytes = bytes;
  }

  /** save() then close(); the lock is released on every path. */
  saveAndClose(data?: PhpArray): Promise<void> {
    return saveThenClose(this, data);
  }

  async close(): Promise<void> {
    const unlock = this.#unlock;
    this.#unlock = null;
    unlock?.();
  }

  async destroy(): Promise<void> {
    this.#requireOpen();
    this.#store.store(this.#id, null);
    await this.close();
  }

  async regenerateId(deleteOld = false): Promise<string> {
    this.#requireOpen();
    const bytes = this.#store.encode(this.data);
    const next = await this.#store.createId();
    const unlockNext = await this.#store.lock(next);
    this.#store.store(next, bytes);
    if (deleteOld) this.#store.store(this.#id, null);
    else this.#store.store(this.#id, bytes);
    this.#unlock?.();
    this.#unlock = unlockNext;
    this.#id = next;
    this.#isNew = true;
    this.#bytes = bytes;
    return next;
  }
}

/** The admin contract over a memory store (what `sessctl` commands do, for tests and tools). */
class MemoryAdminSource implements AdminSource {
  readonly saveHandler = 'memory';
  readonly description = 'memory (this process)';
  readonly #store: MemorySessionStore;

  constructor(store: MemorySessionStore) {
    this.#store = store;
  }

  validateId(id: string): void {
    assertValidSessionId(id);
  }

  async check(): Promise<void> {}

  #entry(id: string, withData: boolean): SessionEntry | null {
    const stored = this.#store.stat(id);
    if (!stored) return null;
    const e: SessionEntry = { id, location: `memory:${id}`, size: stored.bytes.length, mtimeMs: stored.mtimeMs };
    if (withData) {
      if (stored.bytes.length > this.#store.settings.maxBytes) e.tooBig = true;
      else e.bytes = stored.bytes;
    }
    return e;
  }

  async *entries(options: EntriesOptions = {}): AsyncIterable<SessionEntry> {
    for await (const id of this.#store.ids()) {
      options.signal?.throwIfAborted();
      const e = this.#entry(id, options.withData ?? false);
      if (e) yield e;
    }
  }

  async read(id: string): Promise<SessionEntry | null> {
    this.validateId(id);
    return this.#entry(id, true);
  }

  async lockedRead(id: string, lockTimeoutMs: number): Promise<SessionEntry | null> {
    const unlock = await this.#store.lock(id, lockTimeoutMs);
    try {
      return this.#entry(id, true);
    } finally {
      unlock();
    }
  }

  async destroy(id: string, options: { lockTimeoutMs: number; onlyIf?: (entry: SessionEntry) => boolean }): Promise<DestroyOutcome> {
    const unlock = await this.#store.lock(id, options.lockTimeoutMs);
    try {
      const e = this.#entry(id, true);
      if (!e) return 'missing';
      if (options.onlyIf && !options.onlyIf(e)) return 'kept';
      this.#store.store(id, null);
      return 'destroyed';
    } finally {
      unlock();
    }
  }

  async rewrite(id: string, fn: (entry: SessionEntry & { bytes: Uint8Array }) => Uint8Array | null, options: { lockTimeoutMs: number }): Promise<RewriteOutcome> {
    const unlock = await this.#store.lock(id, options.lockTimeoutMs);
    try {
      const e = this.#entry(id, true);
      if (!e?.bytes) return 'missing';
      const next = fn(e as SessionEntry & { bytes: Uint8Array });
      if (next === null || Buffer.from(next).equals(e.bytes)) return 'unchanged';
      this.#store.setBytes(id, next, e.mtimeMs);
      return 'rewritten';
    } finally {
      unlock();
    }
  }

  async withLocked<T>(id: string, lockTimeoutMs: number, fn: (entry: SessionEntry | null) => Promise<T>): Promise<T> {
    const unlock = await this.#store.lock(id, lockTimeoutMs);
    try {
      return await fn(this.#entry(id, true));
    } finally {
      unlock();
    }
  }

  /** Stores the bytes with the store's gc_maxlifetime counted back from `expiresAtMs` as mtime. */
  async put(id: string, bytes: Uint8Array, options: { expiresAtMs: number; lockTimeoutMs: number; overwrite?: boolean }): Promise<PutOutcome> {
    return this.withLocked(id, options.lockTimeoutMs, async (e) => {
      if (e && !options.overwrite) return 'exists';
      this.#store.setBytes(id, bytes, options.expiresAtMs - this.#store.settings.gcMaxlifetime * 1000);
      return 'written';
    });
  }

  async gc(options: GcOptions): Promise<GcReport> {
    const started = Date.now();
    const report = newGcReport(this.description, options);
    const now = options.now ?? Math.floor(started / 1000);
    for await (const e of this.entries()) {
      if (options.signal?.aborted) break; // the counts so far, as the files gc
      report.scanned++;
      if (!(now - Math.floor(e.mtimeMs / 1000) > options.maxlifetime)) continue;
      report.expired++;
      if (this.#store.isLocked(e.id)) {
        report.skippedLocked++;
        options.onFile?.(e.location, 'locked');
        continue;
      }
      if (!options.dryRun) this.#store.store(e.id, null);
      report.deleted++;
      report.bytesFreed += e.size;
      options.onFile?.(e.location, options.dryRun ? 'would-delete' : 'deleted');
    }
    report.durationMs = Date.now() - started;
    return report;
  }

  async close(): Promise<void> {}
}
