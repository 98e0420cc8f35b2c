/**
 * The admin contract: what every backend offers the operator commands (list, inspect,
 * destroy, convert, gc, …). The commands in src/admin are written against it alone; each
 * backend folder implements it, and src/backends/index.ts maps a save_handler name to it.
 */
import { ConfigError } from '../errors.js';
import type { SerializeHandler } from '../codec/index.js';

/** Where a needed directory of a session tree should be, something else stands (mkdirs will not replace it). */
export interface NotADirectory {
  path: string;
  is: 'symlink' | 'file' | 'other';
}

/** What missingStructure() finds: how many needed directories are missing, the first few, and what stands in place of those that exist. */
export interface MissingStructure {
  count: number;
  samples: string[];
  notDirectories?: NotADirectory[];
}

/** The serialize handlers PHP knows, plus `auto` (detect per session). */
export type AdminSerializeHandler = SerializeHandler | 'auto';

/** The resolved php.ini settings a backend's admin source is opened with. */
export interface AdminSourceSettings {
  /** session.save_handler: `files`, `redis`, `rediscluster`, … */
  saveHandler: string;
  /** session.save_path exactly as PHP takes it ('' already became the temp dir for files). */
  savePath: string;
  serializeHandler: AdminSerializeHandler;
  /** session.gc_maxlifetime in seconds. */
  maxlifetime: number;
  /** Refuse to read stored sessions larger than this (default 32 MiB, see SessionSettings.maxBytes). */
  maxBytes?: number;
  /** The backend's own php.ini directives (`memcached.sess_prefix`, …), by name. */
  ini?: Readonly<Record<string, string>>;
  /**
   * How stored payloads are sealed, for stores that encrypt them (a Laravel app with
   * `'encrypt' => true`): the admin source then shows the opened bytes and seals what it writes.
   * Holds the key only inside its functions, so it prints as nothing; `sessctl config` leaves it out.
   */
  payloadCipher?: PayloadCipher;
}

/**
 * The stored form of a session's serialized bytes, when a store encrypts them. Backends take it
 * as a pair of functions, so they never see a key.
 */
export interface PayloadCipher {
  /** Stored form of the serialized session. */
  seal(serialized: Uint8Array): Uint8Array;
  /** Serialized session from the stored form. @throws when it does not verify (`where` names the session). */
  open(stored: Uint8Array, where: string): Uint8Array;
}

/** One stored session as the admin commands see it, whatever the backend. */
export interface SessionEntry {
  id: string;
  /** Where it lives: a file path, a Redis key. */
  location: string;
  size: number;
  /** Last write (files: mtime; Redis: derived from the TTL). */
  mtimeMs: number;
  /**
   * A Redis or Memcached key without an expiry (written by something else than PHP): it stays
   * until deleted, its last write is unknown, and `mtimeMs` is only a stand-in (see ttlTimes).
   */
  neverExpires?: boolean;
  /**
   * When the store keeps each session's own expiry time (Symfony's PdoSessionHandler:
   * `sess_lifetime`), that time; the session expires then, not `maxlifetime` after `mtimeMs`.
   */
  expiresAtMs?: number;
  /** The stored bytes, when asked for (absent when the session is above the size limit). */
  bytes?: Uint8Array;
  /** Set instead of `bytes` when the session is larger than the backend's size limit. */
  tooBig?: boolean;
}

export type DestroyOutcome = 'destroyed' | 'missing' | 'kept';
/** What `put` did: stored it, or found a session already there and left it. */
export type PutOutcome = 'written' | 'exists';
export type RewriteOutcome = 'rewritten' | 'unchanged' | 'missing';

export interface EntriesOptions {
  /** Also read the bytes (each entry then has `bytes`, or `tooBig`). */
  withData?: boolean;
  /** Per-session or per-directory problems; the walk goes on. */
  onError?: (location: string, err: Error) => void;
  signal?: AbortSignal;
}

/**
 * A backend's sessions as the operator commands use them. Every change happens under the
 * backend's PHP-compatible lock.
 */
export interface AdminSource {
  readonly saveHandler: string;
  /** What is being looked at, for messages (`/var/lib/php/sessions (depth 2)`); never holds a secret. */
  readonly description: string;
  /** @throws InvalidSessionIdError when the backend would refuse `id` (checked before any access). */
  validateId(id: string): void;
  /**
   * Checks that the storage itself is there and usable (the save path directory exists and
   * can be read, the server answers).
   * @throws SessionFileError / BackendError naming what is wrong.
   */
  check(): Promise<void>;
  /** Every session, streamed with bounded memory. */
  entries(options?: EntriesOptions): AsyncIterable<SessionEntry>;
  /**
   * One session with its bytes, read without the lock (PHP writes in place, so a torn read
   * is possible: use `lockedRead` to be sure); null when it does not exist.
   * @throws InvalidSessionIdError before touching storage for an id PHP would refuse.
   */
  read(id: string): Promise<SessionEntry | null>;
  /** Like read, under a shared lock (waits at most `lockTimeoutMs`). @throws LockTimeoutError */
  lockedRead(id: string, lockTimeoutMs: number): Promise<SessionEntry | null>;
  /**
   * Deletes a session under PHP's exclusive lock; `onlyIf` is checked on the locked state
   * (for bulk deletes by age or content: a session changed meanwhile is judged as it is now).
   * @throws LockTimeoutError when a live request holds it longer than `lockTimeoutMs`.
   */
  destroy(id: string, options: { lockTimeoutMs: number; onlyIf?: (entry: SessionEntry) => boolean }): Promise<DestroyOutcome>;
  /**
   * Rewrites a session in place under PHP's exclusive lock: `fn` gets the locked bytes and
   * returns the new bytes (null = leave it). The last-modified time (or remaining TTL) is
   * kept, so a rewrite does not extend the session's life.
   * @throws LockTimeoutError; whatever `fn` throws (nothing is written then).
   */
  rewrite(id: string, fn: (entry: SessionEntry & { bytes: Uint8Array }) => Uint8Array | null, options: { lockTimeoutMs: number }): Promise<RewriteOutcome>;
  /**
   * Runs `fn` holding the session's exclusive lock, with the session as read under it (null when
   * missing); the lock is released when `fn` settles. Used to move a session while no request
   * can change it.
   * @throws LockTimeoutError; whatever `fn` throws.
   */
  withLocked?<T>(id: string, lockTimeoutMs: number, fn: (entry: SessionEntry | null) => Promise<T>): Promise<T>;
  /**
   * Stores a session under PHP's lock as PHP would have written it, living until `expiresAtMs`
   * (files: mtime = expiresAt - maxlifetime; Redis / Memcached: the TTL left). A session already
   * there is left alone (`exists`) unless `overwrite`.
   * @throws LockTimeoutError; BackendError / SessionFileError when the write fails.
   */
  put?(id: string, bytes: Uint8Array, options: { expiresAtMs: number; lockTimeoutMs: number; overwrite?: boolean }): Promise<PutOutcome>;
  /** PHP's gc (files: delete expired files; Redis: nothing, keys expire by TTL). */
  gc(options: GcOptions): Promise<GcReport>;
  /**
   * Storage PHP will need that is not there (files, `N;/path`: the tree directories for ids of
   * `sid_bits_per_character` bits; PHP does not create them and fails to write into a missing
   * one). Counts all, names the first few. Absent on backends without such structure.
   */
  missingStructure?(sidBitsPerCharacter: 4 | 5 | 6): Promise<MissingStructure>;
  close(): Promise<void>;
}

/** What became of an expired candidate, as passed to `onFile`. */
export type GcOutcome = 'deleted' | 'would-delete' | 'locked' | 'touched' | 'vanished' | 'error';

export interface GcOptions {
  /** session.gc_maxlifetime in seconds: a session goes when `now - mtime > maxlifetime`. */
  maxlifetime: number;
  /** Report what would go, delete nothing (candidates are still lock-tested). */
  dryRun?: boolean;
  /** The clock in seconds (tests); default: taken once when gc starts, as PHP does. */
  now?: number;
  /** Parallel walkers (files: worker threads). Default: 2 when the machine has 2+ cores. */
  jobs?: number;
  /** Called every few thousand sessions and at the end with the running counts. */
  onProgress?: (report: Readonly<GcReport>) => void;
  /** Called for every expired candidate with what became of it (for listing). */
  onFile?: (location: string, outcome: GcOutcome, detail?: string) => void;
  signal?: AbortSignal;
}

/** The outcome of a gc run; counts only, so memory does not grow with the number of sessions. */
export interface GcReport {
  savePath: string;
  maxlifetime: number;
  dryRun: boolean;
  /** Sessions looked at. */
  scanned: number;
  /** Older than maxlifetime at scan time. */
  expired: number;
  /** Deleted (with dryRun: that would be deleted). */
  deleted: number;
  /** Expired but locked by a live request: left alone. */
  skippedLocked: number;
  /** Expired at scan time but touched before we held the lock: kept. */
  skippedTouched: number;
  /** Gone before we got to them (another gc, session_destroy). */
  vanished: number;
  bytesFreed: number;
  errors: number;
  /** The first errors (at most 100): location and message. */
  errorSamples: { path: string; message: string }[];
  durationMs: number;
  /** Explanations from the backend (e.g. "Redis expires keys itself"). */
  notes?: string[];
  /** Redis / Memcached: session keys that have no expiry at all. */
  withoutTtl?: number;
}

/**
 * The last write of a session kept with a TTL (Redis, Memcached), derived as `now - (maxlifetime
 * - ttl)`: exact for sessions PHP wrote with the same gc_maxlifetime. A key without a TTL (null)
 * never expires and its last write is unknown: `neverExpires`, with a stand-in mtime (older than
 * maxlifetime) that only sorts it among the oldest.
 */
export function ttlTimes(ttlSeconds: number | null, maxlifetime: number, nowMs: number): Pick<SessionEntry, 'mtimeMs' | 'neverExpires'> {
  if (ttlSeconds === null) return { mtimeMs: nowMs - (maxlifetime + 1) * 1000, neverExpires: true };
  return { mtimeMs: Math.min(nowMs, nowMs - (maxlifetime - ttlSeconds) * 1000) };
}

/** The largest |time| a JS Date holds (±8.64e15 ms, about ±275,000 years). */
const MAX_DATE_MS = 8.64e15;

/** A unix time from a database column in ms, or null when it is no date (text, NaN, beyond Date's range). */
export function datedMs(unixSeconds: number): number | null {
  const ms = unixSeconds * 1000;
  return Number.isFinite(ms) && Math.abs(ms) <= MAX_DATE_MS ? ms : null;
}

/**
 * The last write of a session from a unix time kept in a database column (Laravel's
 * `last_activity`, Symfony's `sess_time`). A column holds whatever was put there: SQLite keeps
 * text as text in an INTEGER column and integers up to 2^63, and neither has a date (the
 * formatters would throw "Invalid time value" and end a whole `list`). The frameworks compare
 * such a value in SQL (`last_activity <= ?`), which text never passes and a huge number neither,
 * so their gc never removes it: it is `neverExpires`, as a key without a TTL. A time before
 * Date's range is as expired as the earliest date.
 */
export function storedTimes(unixSeconds: number, maxlifetime: number, nowMs: number): Pick<SessionEntry, 'mtimeMs' | 'neverExpires'> {
  const ms = unixSeconds * 1000;
  if (Number.isFinite(ms) && ms <= MAX_DATE_MS) return { mtimeMs: Math.max(ms, -MAX_DATE_MS) };
  return ttlTimes(null, maxlifetime, nowMs);
}

/**
 * `gc` for stores whose keys expire by themselves (Redis, Memcached): there is nothing to delete;
 * this counts the sessions and names those that never expire (written by something else).
 * `sessions` gets an error sink: a key the listing cannot read (e.g. a Redis hash under the
 * prefix, WRONGTYPE) is counted as a gc error and named, and the count goes on — as `list` and
 * `stats` do — instead of ending the whole run with no report.
 */
export async function gcByExpiry(
  description: string,
  options: GcOptions,
  sessions: (onError: (location: string, err: Error) => void) => AsyncIterable<{ ttlSeconds: number | null; server: string; key: string }>,
  text: { nothingToDo: string; neverExpire: (count: number) => string },
): Promise<GcReport> {
  const started = Date.now();
  const report = newGcReport(description, options);
  const onError = (location: string, err: Error) => {
    recordGcError(report, location, err);
    options.onFile?.(location, 'error', err.message);
  };
  const named: string[] = [];
  let never = 0;
  for await (const s of sessions(onError)) {
    report.scanned++;
    if (s.ttlSeconds === null && ++never <= 20) named.push(`${s.server} ${s.key}`);
    if (report.scanned % 5000 === 0) options.onProgress?.(report);
  }
  report.durationMs = Date.now() - started;
  report.notes = [text.nothingToDo];
  if (never > 0) {
    report.notes.push(text.neverExpire(never), ...named.map((n) => `  ${n}`));
    if (never > named.length) report.notes.push(`  … and ${never - named.length} more`);
  }
  report.withoutTtl = never;
  options.onProgress?.(report);
  return report;
}

/** A report with every counter at zero. */
export function newGcReport(savePath: string, options: Pick<GcOptions, 'maxlifetime' | 'dryRun'>): GcReport {
  // PHP takes 0 too, and then deletes every session not in use at that moment: a typo or an
  // empty variable would log everybody out. Refused, like the settings' own range.
  if (!Number.isSafeInteger(options.maxlifetime) || options.maxlifetime < 1 || options.maxlifetime > 2147483647) {
    throw new ConfigError(`gc of ${savePath}: maxlifetime ${options.maxlifetime} is not in 1..2147483647 (0 would delete every session not in use right now)`);
  }
  return {
    savePath,
    maxlifetime: options.maxlifetime,
    dryRun: options.dryRun ?? false,
    scanned: 0,
    expired: 0,
    deleted: 0,
    skippedLocked: 0,
    skippedTouched: 0,
    vanished: 0,
    bytesFreed: 0,
    errors: 0,
    errorSamples: [],
    durationMs: 0,
  };
}

/**
 * rewrite()'s decision, the same on every backend: what `fn` makes of the entry's bytes, or null
 * when there is nothing to write (`fn` declined, or gave the same bytes back).
 */
export function changedBytes(entry: SessionEntry & { bytes: Uint8Array }, fn: (entry: SessionEntry & { bytes: Uint8Array }) => Uint8Array | null): Buffer | null {
  const out = fn(entry);
  if (out === null) return null;
  const buf = Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  return buf.equals(entry.bytes) ? null : buf;
}

/** One failed session in a gc run: counted, and kept as a sample (the first 100, so a report stays small however many fail). */
export function recordGcError(report: GcReport, location: string, err: Error): void {
  report.errors++;
  if (report.errorSamples.length < 100) report.errorSamples.push({ path: location, message: err.message });
}
