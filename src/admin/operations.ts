import type { PhpArray } from '../codec/values.js';
import { ConfigError, DecodeError, EncodeError, LockTimeoutError, SessctlError, SessionFileError } from '../errors.js';
import type { SerializeHandler } from '../codec/session.js';
import { loadCodec, type AdminCodec } from './codec-bridge.js';
import type { AdminSettings } from './settings.js';
import type { AdminSource, SessionEntry } from './source.js';

const nowSeconds = () => Math.floor(Date.now() / 1000);
const ageOf = (mtimeMs: number, now: number) => now - Math.floor(mtimeMs / 1000);

/** Decodes with the configured handler, or the detected one for `auto`. */
function decodeWith(codec: AdminCodec, settings: AdminSettings, entry: SessionEntry & { bytes: Uint8Array }): { handler: SerializeHandler | null; data?: PhpArray; error?: Error } {
  // An empty file is an empty session for every handler (PHP creates it empty); auto calls it php.
  const handler = settings.serializeHandler !== 'auto' ? settings.serializeHandler : entry.bytes.length === 0 ? 'php' : codec.detectHandler(entry.bytes);
  if (handler === null) return { handler, error: new DecodeError('no serialize handler (php, php_serialize, php_binary) can decode this session', 0, entry.location) };
  try {
    return { handler, data: codec.decodeSession(entry.bytes, handler, { source: entry.location }) };
  } catch (err) {
    return { handler, error: err as Error };
  }
}

// ---------------------------------------------------------------- list

/** One row of `sessctl list`. */
export interface SessionInfo {
  id: string;
  location: string;
  size: number;
  /** ISO 8601 last-modified time. */
  modified: string;
  mtimeMs: number;
  ageSeconds: number;
  /** maxlifetime - age: negative once gc may delete it. */
  expiresInSeconds: number;
  /** The handler used to decode (the configured one, or the detected one for `auto`). */
  handler: SerializeHandler | null;
  /** Top-level keys; null when the session does not decode. */
  keys: number | null;
  /** Why it does not decode. */
  error?: string;
}

export type ListSort = 'id' | 'size' | 'mtime' | 'age';
export const LIST_SORTS: readonly ListSort[] = ['id', 'size', 'mtime', 'age'];

export interface ListFilters {
  /** Only sessions with age > this many seconds. */
  olderThan?: number;
  /** Only sessions with age < this many seconds. */
  newerThan?: number;
  /** Sorting needs every row in memory; without it rows stream with bounded memory. */
  sort?: ListSort;
  reverse?: boolean;
  limit?: number;
  /** Skip decoding (no handler / keys columns; much faster). */
  noDecode?: boolean;
  now?: number;
  onError?: (location: string, err: Error) => void;
}

/** Whether an age passes `--older-than` / `--newer-than` (strictly, like gc). */
export function matchesAge(ageSeconds: number, f: { olderThan?: number; newerThan?: number }): boolean {
  if (f.olderThan !== undefined && !(ageSeconds > f.olderThan)) return false;
  if (f.newerThan !== undefined && !(ageSeconds < f.newerThan)) return false;
  return true;
}

/**
 * Every session as a {@link SessionInfo}, streamed (bounded memory) unless `sort` is given.
 * @throws ConfigError for a bad sort key or limit.
 */
export async function* listSessions(source: AdminSource, settings: AdminSettings, filters: ListFilters = {}): AsyncIterable<SessionInfo> {
  if (filters.sort !== undefined && !LIST_SORTS.includes(filters.sort)) throw new ConfigError(`--sort: ${JSON.stringify(filters.sort)} is not one of ${LIST_SORTS.join(', ')}`);
  if (filters.limit !== undefined && (!Number.isSafeInteger(filters.limit) || filters.limit < 0)) throw new ConfigError(`--limit: ${filters.limit} is not a count`);
  const now = filters.now ?? nowSeconds();
  const codec = filters.noDecode ? null : await loadCodec();
  const limit = filters.limit ?? Infinity;
  const rows = async function* () {
    for await (const entry of source.entries({ withData: !filters.noDecode, onError: filters.onError })) {
      const age = ageOf(entry.mtimeMs, now);
      if (!matchesAge(age, filters)) continue;
      const info: SessionInfo = {
        id: entry.id,
        location: entry.location,
        size: entry.size,
        modified: new Date(entry.mtimeMs).toISOString(),
        mtimeMs: entry.mtimeMs,
        ageSeconds: age,
        expiresInSeconds: settings.maxlifetime - age,
        handler: settings.serializeHandler === 'auto' ? null : settings.serializeHandler,
        keys: null,
      };
      if (codec && entry.bytes) {
        const r = decodeWith(codec, settings, entry as SessionEntry & { bytes: Uint8Array });
        info.handler = r.handler;
        if (r.data) info.keys = r.data.size;
        else info.error = r.error?.message;
      }
      yield info;
    }
  };
  if (!filters.sort) {
    let n = 0;
    if (n >= limit) return;
    for await (const row of rows()) {
      yield row;
      if (++n >= limit) return;
    }
    return;
  }
  const all: SessionInfo[] = [];
  for await (const row of rows()) all.push(row);
  const key = filters.sort;
  all.sort((a, b) => {
    const d = key === 'id' ? (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) : key === 'size' ? a.size - b.size : key === 'mtime' ? a.mtimeMs - b.mtimeMs : a.ageSeconds - b.ageSeconds;
    return filters.reverse ? -d : d;
  });
  yield* all.slice(0, Math.min(all.length, limit));
}

// ---------------------------------------------------------------- inspect

export interface InspectResult {
  id: string;
  location: string;
  size: number;
  mtimeMs: number;
  ageSeconds: number;
  expiresInSeconds: number;
  bytes: Uint8Array;
  handler: SerializeHandler | null;
  /** The decoded session (absent when it does not decode). */
  data?: PhpArray;
  /** The decode failure (a DecodeError with `.offset` when the codec could say where). */
  error?: Error;
}

/**
 * Reads and decodes one session (without taking its lock, so a live request is not held up).
 * A session that does not decode is returned with `error` set, not thrown.
 * @throws InvalidSessionIdError for an id PHP would refuse; SessionFileError (ENOSESSION) when missing.
 */
export async function inspectSession(source: AdminSource, settings: AdminSettings, id: string, options: { now?: number } = {}): Promise<InspectResult> {
  const entry = await source.read(id);
  if (!entry || !entry.bytes) throw new SessionFileError(id, `no such session in ${source.description}`, 'ENOSESSION');
  const now = options.now ?? nowSeconds();
  const codec = await loadCodec();
  const r = decodeWith(codec, settings, entry as SessionEntry & { bytes: Uint8Array });
  const age = ageOf(entry.mtimeMs, now);
  return {
    id,
    location: entry.location,
    size: entry.size,
    mtimeMs: entry.mtimeMs,
    ageSeconds: age,
    expiresInSeconds: settings.maxlifetime - age,
    bytes: entry.bytes,
    handler: r.handler,
    data: r.data,
    error: r.error,
  };
}

// ---------------------------------------------------------------- stats

export interface HistogramBucket {
  label: string;
  /** Upper bound (exclusive); null for the last, open bucket. */
  upTo: number | null;
  count: number;
}

export interface StatsReport {
  source: string;
  count: number;
  totalBytes: number;
  /** Sessions that do not decode with the configured handler (PHP would destroy them). */
  corrupt: number;
  /** Older than maxlifetime (gc would delete them). */
  expired: number;
  maxlifetime: number;
  /** Sessions per detected serialize handler (`unknown` when none can read them, `empty`). */
  handlers: Record<string, number>;
  age: HistogramBucket[];
  size: HistogramBucket[];
  oldestAgeSeconds: number | null;
  newestAgeSeconds: number | null;
  largestBytes: number | null;
}

const AGE_BUCKETS: [string, number][] = [
  ['< 1m', 60],
  ['< 5m', 300],
  ['< 24m', 1440],
  ['< 1h', 3600],
  ['< 6h', 21600],
  ['< 1d', 86400],
  ['< 7d', 604800],
  ['< 30d', 2592000],
];
const SIZE_BUCKETS: [string, number][] = [
  ['< 64 B', 64],
  ['< 256 B', 256],
  ['< 1 KiB', 1024],
  ['< 4 KiB', 4096],
  ['< 16 KiB', 16384],
  ['< 64 KiB', 65536],
  ['< 256 KiB', 262144],
  ['< 1 MiB', 1048576],
];

function makeBuckets(spec: [string, number][], last: string): HistogramBucket[] {
  return [...spec.map(([label, upTo]) => ({ label, upTo, count: 0 })), { label: last, upTo: null, count: 0 }];
}
function addTo(buckets: HistogramBucket[], v: number): void {
  (buckets.find((b) => b.upTo === null || v < b.upTo) ?? buckets[buckets.length - 1]!).count++;
}

/**
 * Counts, sizes, ages (fixed histogram buckets, so memory is bounded), handlers and
 * corrupt sessions over the whole store.
 */
export async function sessionStats(source: AdminSource, settings: AdminSettings, options: { now?: number; onError?: (location: string, err: Error) => void } = {}): Promise<StatsReport> {
  const now = options.now ?? nowSeconds();
  const codec = await loadCodec();
  const report: StatsReport = {
    source: source.description,
    count: 0,
    totalBytes: 0,
    corrupt: 0,
    expired: 0,
    maxlifetime: settings.maxlifetime,
    handlers: {},
    age: makeBuckets(AGE_BUCKETS, '≥ 30d'),
    size: makeBuckets(SIZE_BUCKETS, '≥ 1 MiB'),
    oldestAgeSeconds: null,
    newestAgeSeconds: null,
    largestBytes: null,
  };
  for await (const entry of source.entries({ withData: true, onError: options.onError })) {
    const age = ageOf(entry.mtimeMs, now);
    report.count++;
    report.totalBytes += entry.size;
    if (age > settings.maxlifetime) report.expired++;
    addTo(report.age, age);
    addTo(report.size, entry.size);
    report.oldestAgeSeconds = Math.max(report.oldestAgeSeconds ?? age, age);
    report.newestAgeSeconds = Math.min(report.newestAgeSeconds ?? age, age);
    report.largestBytes = Math.max(report.largestBytes ?? 0, entry.size);
    const bytes = entry.bytes!;
    const detected = bytes.length === 0 ? 'empty' : codec.detectHandler(bytes) ?? 'unknown';
    report.handlers[detected] = (report.handlers[detected] ?? 0) + 1;
    if (decodeWith(codec, settings, entry as SessionEntry & { bytes: Uint8Array }).error) report.corrupt++;
  }
  return report;
}

// ---------------------------------------------------------------- validate

export interface ValidationProblem {
  id: string;
  location: string;
  handler: SerializeHandler | null;
  message: string;
  /** Byte offset of the fault, when known. */
  offset?: number;
}

export interface ValidateReport {
  checked: number;
  invalid: number;
  /** Entries that could not be read at all (permissions…). */
  unreadable: number;
}

/**
 * Finds every session PHP would fail to decode with the configured handler (and so destroy
 * on the next request). A session that fails is read again under a shared lock before it
 * is reported, so a write in progress is not mistaken for corruption.
 */
export async function validateSessions(
  source: AdminSource,
  settings: AdminSettings,
  options: { onInvalid?: (p: ValidationProblem) => void; onError?: (location: string, err: Error) => void; lockTimeoutMs?: number } = {},
): Promise<ValidateReport> {
  const codec = await loadCodec();
  const report: ValidateReport = { checked: 0, invalid: 0, unreadable: 0 };
  const onError = (location: string, err: Error) => {
    report.unreadable++;
    options.onError?.(location, err);
  };
  for await (const entry of source.entries({ withData: true, onError })) {
    report.checked++;
    let r = decodeWith(codec, settings, entry as SessionEntry & { bytes: Uint8Array });
    if (!r.error) continue;
    try {
      const again = await source.lockedRead(entry.id, options.lockTimeoutMs ?? 2000);
      if (!again) {
        report.checked--; // deleted meanwhile
        continue;
      }
      r = decodeWith(codec, settings, again as SessionEntry & { bytes: Uint8Array });
      if (!r.error) continue;
    } catch (err) {
      if (!(err instanceof LockTimeoutError)) throw err;
      // Held by a live request all along: report what the unlocked read saw.
    }
    report.invalid++;
    options.onInvalid?.({
      id: entry.id,
      location: entry.location,
      handler: r.handler,
      message: r.error!.message,
      offset: r.error instanceof DecodeError ? r.error.offset : undefined,
    });
  }
  return report;
}

// ---------------------------------------------------------------- convert

export type ConvertOutcome = 'converted' | 'would-convert' | 'unchanged' | 'refused' | 'failed';

export interface ConvertResult {
  id: string;
  location: string;
  outcome: ConvertOutcome;
  from?: SerializeHandler | null;
  message?: string;
}

export interface ConvertReport {
  to: SerializeHandler;
  dryRun: boolean;
  checked: number;
  converted: number;
  unchanged: number;
  /** Sessions the target format cannot hold (left as they are). */
  refused: number;
  /** Sessions that do not decode, are locked too long, or vanished. */
  failed: number;
}

/**
 * Rewrites every session from its handler (the configured one, or detected with `auto`)
 * to `to`, in place under PHP's exclusive lock, keeping its mtime. A session the target
 * cannot hold (int keys or `|` in a key for `php`, keys over 127 bytes for `php_binary`)
 * is refused and listed, never truncated. The new bytes are decoded again before writing.
 * @throws ConfigError when `to` is not a concrete handler.
 */
export async function convertSessions(
  source: AdminSource,
  settings: AdminSettings,
  options: { to: string; dryRun?: boolean; lockTimeoutMs?: number; onResult?: (r: ConvertResult) => void; onError?: (location: string, err: Error) => void },
): Promise<ConvertReport> {
  const to = options.to as SerializeHandler;
  const codec = await loadCodec();
  if (!codec.SERIALIZE_HANDLERS.includes(to)) throw new ConfigError(`--to: ${JSON.stringify(options.to)} is not a serialize handler (php, php_serialize or php_binary)`);
  const dryRun = options.dryRun ?? false;
  const report: ConvertReport = { to, dryRun, checked: 0, converted: 0, unchanged: 0, refused: 0, failed: 0 };
  const emit = (r: ConvertResult) => {
    if (r.outcome === 'converted' || r.outcome === 'would-convert') report.converted++;
    else report[r.outcome]++;
    options.onResult?.(r);
  };

  /** Throws a tagged error for refuse/fail; returns null when nothing is to be done. */
  const transform = (entry: SessionEntry & { bytes: Uint8Array }): { bytes: Uint8Array | null; from: SerializeHandler } => {
    const r = decodeWith(codec, settings, entry);
    if (!r.data || !r.handler) throw new ConvertFailure('failed', r.error?.message ?? 'does not decode', r.handler);
    if (r.handler === to) return { bytes: null, from: r.handler };
    let out: Uint8Array;
    try {
      out = codec.encodeSession(r.data, to);
      const back = codec.decodeSession(out, to, { source: entry.location });
      if (back.size !== r.data.size) throw new EncodeError(`${to} keeps ${back.size} of ${r.data.size} keys`);
    } catch (err) {
      if (err instanceof SessctlError) throw new ConvertFailure('refused', err.message, r.handler);
      throw err;
    }
    return { bytes: out, from: r.handler };
  };

  for await (const entry of source.entries({ withData: false, onError: options.onError })) {
    report.checked++;
    let from: SerializeHandler | null | undefined;
    try {
      if (dryRun) {
        const cur = await source.read(entry.id);
        if (!cur) throw new ConvertFailure('failed', 'vanished', null);
        const t = transform(cur as SessionEntry & { bytes: Uint8Array });
        from = t.from;
        emit({ id: entry.id, location: entry.location, from, outcome: t.bytes ? 'would-convert' : 'unchanged' });
        continue;
      }
      const outcome = await source.rewrite(
        entry.id,
        (locked) => {
          const t = transform(locked);
          from = t.from;
          return t.bytes;
        },
        { lockTimeoutMs: options.lockTimeoutMs ?? 10_000 },
      );
      if (outcome === 'missing') emit({ id: entry.id, location: entry.location, outcome: 'failed', message: 'vanished before it could be locked' });
      else emit({ id: entry.id, location: entry.location, from, outcome: outcome === 'rewritten' ? 'converted' : 'unchanged' });
    } catch (err) {
      if (err instanceof ConvertFailure) emit({ id: entry.id, location: entry.location, from: err.from, outcome: err.outcome, message: err.message });
      else emit({ id: entry.id, location: entry.location, from, outcome: 'failed', message: (err as Error).message });
    }
  }
  return report;
}

class ConvertFailure extends Error {
  constructor(
    readonly outcome: 'refused' | 'failed',
    message: string,
    readonly from: SerializeHandler | null,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------- destroy

export type DestroyResultOutcome = 'destroyed' | 'would-destroy' | 'missing' | 'kept' | 'failed';

export interface DestroyResult {
  id: string;
  outcome: DestroyResultOutcome;
  message?: string;
}

export interface DestroyReport {
  dryRun: boolean;
  destroyed: number;
  missing: number;
  /** Matched at scan time but touched before we held the lock. */
  kept: number;
  failed: number;
}

export interface DestroyRequest {
  /** Explicit ids. */
  ids?: string[];
  /** Bulk selection by age: needs `allMatching`. */
  olderThan?: number;
  newerThan?: number;
  /** The explicit consent that an age filter selects sessions to destroy. */
  allMatching?: boolean;
  dryRun?: boolean;
  lockTimeoutMs?: number;
  now?: number;
  onResult?: (r: DestroyResult) => void;
  onError?: (location: string, err: Error) => void;
}

/**
 * Destroys sessions as session_destroy() does: unlink while holding PHP's exclusive lock.
 * Either explicit ids, or (only with `allMatching: true`) every session matching the age
 * filters, each re-checked under its lock. Ids are validated before any path is built.
 * @throws ConfigError when ids and filters are mixed, a filter lacks `allMatching`, or nothing is selected;
 *   InvalidSessionIdError (before anything is destroyed) when an id is one PHP would refuse.
 */
export async function destroySessions(source: AdminSource, request: DestroyRequest): Promise<DestroyReport> {
  const ids = request.ids ?? [];
  const hasFilter = request.olderThan !== undefined || request.newerThan !== undefined;
  if (ids.length > 0 && (hasFilter || request.allMatching)) throw new ConfigError('give either session ids or --older-than/--newer-than with --all-matching, not both');
  if (hasFilter && !request.allMatching) throw new ConfigError('--older-than/--newer-than select sessions to destroy only together with --all-matching (bulk destroy is never implied)');
  if (request.allMatching && !hasFilter) throw new ConfigError('--all-matching needs --older-than and/or --newer-than');
  if (ids.length === 0 && !hasFilter) throw new ConfigError('no session ids given');
  for (const id of ids) source.validateId(id);
  const dryRun = request.dryRun ?? false;
  const lockTimeoutMs = request.lockTimeoutMs ?? 10_000;
  const now = request.now ?? nowSeconds();
  const report: DestroyReport = { dryRun, destroyed: 0, missing: 0, kept: 0, failed: 0 };
  const emit = (r: DestroyResult) => {
    if (r.outcome === 'destroyed' || r.outcome === 'would-destroy') report.destroyed++;
    else report[r.outcome]++;
    request.onResult?.(r);
  };
  const one = async (id: string, onlyIf?: (e: SessionEntry) => boolean) => {
    try {
      if (dryRun) {
        const e = await source.read(id);
        emit({ id, outcome: e ? 'would-destroy' : 'missing', message: e ? undefined : 'no such session' });
        return;
      }
      const outcome = await source.destroy(id, { lockTimeoutMs, onlyIf });
      emit({ id, outcome, message: outcome === 'missing' ? 'no such session' : outcome === 'kept' ? 'touched since the scan, kept' : undefined });
    } catch (err) {
      emit({ id, outcome: 'failed', message: (err as Error).message });
    }
  };
  if (ids.length > 0) {
    for (const id of ids) await one(id);
    return report;
  }
  const stillMatches = (e: SessionEntry) => matchesAge(ageOf(e.mtimeMs, now), request);
  for await (const entry of source.entries({ onError: request.onError })) {
    if (!stillMatches(entry)) continue;
    await one(entry.id, stillMatches);
  }
  return report;
}

// ---------------------------------------------------------------- mkdirs

/**
 * PHP's mod_files.sh: creates the depth-N directory tree of the files save path for ids of
 * `bits` bits per character (16, 32 or 64 directories per level). Idempotent.
 * @throws ConfigError for depth 0, bad bits or a non-files handler; SessionFileError when the save path is unusable.
 */
export async function mkdirs(settings: AdminSettings, options: { bits: number; depth?: number; mode?: number }): Promise<{ path: string; depth: number; created: number; existing: number }> {
  if (settings.saveHandler !== 'files') throw new ConfigError(`mkdirs only applies to the files save handler (not ${settings.saveHandler})`);
  const bits = options.bits;
  if (bits !== 4 && bits !== 5 && bits !== 6) throw new ConfigError(`--bits: ${bits} is not 4, 5 or 6`);
  const { createSessionDirs, parseSavePath } = await import('./store-bridge.js');
  const sp = parseSavePath(settings.savePath);
  const depth = options.depth ?? sp.depth;
  if (!Number.isSafeInteger(depth) || depth < 1) throw new ConfigError(`save_path ${JSON.stringify(sp.raw)} has depth ${depth}: there is no directory tree to create (use "N;/path" with N ≥ 1, or --depth)`);
  const r = await createSessionDirs({ ...sp, depth }, { bitsPerCharacter: bits, mode: options.mode });
  return { path: sp.path, depth, ...r };
}
