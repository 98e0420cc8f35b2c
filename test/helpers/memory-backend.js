// An in-memory SessionBackend with a real per-session mutex, for the integration tests.
// It mirrors the file store's contract: open() locks (and creates), save() with lazy write,
// DecodeError for sessions marked corrupt (left in place), LockTimeoutError after lockTimeoutMs.
import { PhpArray, PhpFloat, PhpObject, PhpReference, DecodeError, LockTimeoutError, chooseSessionId } from 'sessctl';

/** @param {any} v @returns {any} */
function clone(v) {
  if (v instanceof PhpArray) {
    const out = new PhpArray();
    for (const [k, x] of v) out.set(k, clone(x));
    return out;
  }
  if (v instanceof PhpObject) return new PhpObject(v.className, clone(v.props));
  if (v instanceof PhpReference) return new PhpReference(clone(v.value));
  return v;
}
/** @param {unknown} v @returns {string} */
function fingerprint(v) {
  if (v instanceof PhpArray) return `a{${[...v].map(([k, x]) => `${typeof k}:${String(k)}=>${fingerprint(x)}`).join(',')}}`;
  if (v instanceof PhpObject) return `O:${v.className}${fingerprint(v.props)}`;
  if (v instanceof PhpFloat) return `d:${v.value}`;
  if (v instanceof PhpReference) return `R(${fingerprint(v.value)})`;
  if (v instanceof Uint8Array) return `b:${Buffer.from(v).toString('hex')}`;
  return `${typeof v}:${String(v)}`;
}

/** @typedef {import('sessctl').SessionBackend} SessionBackend */

/** @implements {SessionBackend} */
export class MemoryBackend {
  // A lax test double (strict mode off) unless asked: most tests send ids they made up.
  /** @param {{ lockTimeoutMs?: number, useStrictMode?: boolean }} [options] */
  constructor({ lockTimeoutMs = 3000, useStrictMode = false } = {}) {
    this.lockTimeoutMs = lockTimeoutMs;
    // Only what the middleware reads; the rest of a store's settings does not apply to a double.
    this.settings = /** @type {import('sessctl').ResolvedSessionSettings} */ (/** @type {unknown} */ ({ useStrictMode }));
    /** @type {Map<string, { fp: string, data: PhpArray }>} */
    this.sessions = new Map(); // id → { fp, data }
    /** @type {Set<string>} */
    this.corrupt = new Set();
    /** @type {Map<string, { grant: () => void }[]>} */
    this.locks = new Map(); // id → queue of waiters (first = holder)
    /** @type {string[]} */
    this.calls = []; // every id the backend was asked about
    this.writes = 0;
    this.touches = 0;
    this.counter = 0;
  }
  /** @param {string} id */
  isValidId(id) {
    return typeof id === 'string' && /^[A-Za-z0-9,-]{1,256}$/.test(id);
  }
  async createId() {
    return `mem${String(++this.counter).padStart(4, '0')}abcdefghijklmnopqrstuvwx`;
  }
  /** @param {string} id */
  async exists(id) {
    this.#check(id);
    return this.sessions.has(id) || this.corrupt.has(id);
  }
  /** @param {string} id */
  #check(id) {
    this.calls.push(id);
    if (!this.isValidId(id)) throw new Error(`backend got an invalid id ${id}`);
  }
  /** @param {string} id */
  isLocked(id) {
    return (this.locks.get(id)?.length ?? 0) > 0;
  }
  /**
   * @param {string} id
   * @param {number} timeoutMs
   * @returns {Promise<() => void>} the unlock function
   */
  async #lock(id, timeoutMs) {
    const q = this.locks.get(id) ?? [];
    this.locks.set(id, q);
    /** @type {(value?: unknown) => void} */
    let grant;
    const granted = new Promise((r) => (grant = r));
    const waiter = { grant };
    q.push(waiter);
    if (q.length === 1) grant();
    let timer;
    const timedOut = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new LockTimeoutError(`memory:${id}`, timeoutMs)), timeoutMs);
    });
    try {
      await Promise.race([granted, timedOut]);
    } catch (err) {
      q.splice(q.indexOf(waiter), 1);
      throw err;
    } finally {
      clearTimeout(timer);
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      q.shift();
      if (q.length) q[0].grant();
      else this.locks.delete(id);
    };
  }
  /**
   * @param {string} id
   * @param {import('sessctl').OpenOptions} [options]
   * @returns {Promise<import('sessctl').SessionHandle>}
   */
  async open(id, options = {}) {
    this.#check(id);
    const unlock = await this.#lock(id, options.lockTimeoutMs ?? this.lockTimeoutMs);
    if (this.corrupt.has(id)) {
      unlock();
      throw new DecodeError('corrupt test session', 3, `memory:${id}`);
    }
    const stored = this.sessions.get(id);
    const isNew = !stored;
    if (!stored) this.sessions.set(id, { fp: fingerprint(new PhpArray()), data: new PhpArray() });
    const backend = this;
    let currentId = id;
    const handle = {
      get id() {
        return currentId;
      },
      isNew,
      data: stored ? clone(stored.data) : new PhpArray(),
      async save(data = handle.data) {
        const fp = fingerprint(data);
        const cur = backend.sessions.get(currentId);
        if (cur && cur.fp === fp) backend.touches++;
        else backend.writes++;
        backend.sessions.set(currentId, { fp, data: clone(data) });
      },
      async close() {
        unlock();
      },
      async destroy() {
        backend.sessions.delete(currentId);
        unlock();
      },
      /** @param {boolean} [deleteOld] */
      async regenerateId(deleteOld = false) {
        const next = await backend.createId();
        if (deleteOld) backend.sessions.delete(currentId);
        backend.sessions.set(next, { fp: fingerprint(handle.data), data: clone(handle.data) });
        currentId = next;
        return next;
      },
    };
    if (options.readAndClose) unlock();
    return handle;
  }
  /**
   * session_start(): the shared id choice (as every store's start()), then open().
   * @param {string | null} [id]
   * @param {import('sessctl').OpenOptions} [options]
   */
  async start(id, options = {}) {
    const chosen = await chooseSessionId(this, id, this.settings.useStrictMode);
    return this.open(chosen.id, options);
  }
  /** @param {string} id */
  async read(id) {
    this.#check(id);
    if (this.corrupt.has(id)) throw new DecodeError('corrupt test session', 3, `memory:${id}`);
    const s = this.sessions.get(id);
    return s ? clone(s.data) : null;
  }
  /**
   * @param {string} id
   * @param {import('sessctl').SessionUpdater} fn
   */
  async update(id, fn) {
    const h = await this.open(id);
    try {
      const r = await fn(h.data);
      if (r) h.data = r;
      await h.save();
      return h.data;
    } finally {
      await h.close();
    }
  }
  /** @param {string} id */
  async destroy(id) {
    this.#check(id);
    const unlock = await this.#lock(id, this.lockTimeoutMs);
    const had = this.sessions.delete(id);
    unlock();
    return had;
  }
  /** @param {string} id */
  async touch(id) {
    this.#check(id);
    if (!this.sessions.has(id)) return false;
    this.touches++;
    return true;
  }
  async *ids() {
    for (const id of [...this.sessions.keys(), ...this.corrupt]) yield id;
  }
}

/**
 * Makes every save of sessions `backend` opens from now on fail with `message` (a full disk, say).
 * @param {MemoryBackend} backend @param {string} message
 */
export function failSaves(backend, message) {
  const open = backend.open.bind(backend);
  /** @type {any} */ (backend).open = async (/** @type {string} */ id, /** @type {any} */ options) => {
    const handle = await open(id, options);
    handle.save = async () => {
      throw new Error(message);
    };
    return handle;
  };
}
