/**
 * `sessctl migrate`: copy every live session from one backend / serialize handler to another
 * (files → Redis or Memcached, Redis → files, php → igbinary, …) so a site can switch
 * `session.save_handler` without logging anyone out.
 *
 * Each session moves while its source lock is held (no request can change it meanwhile), is
 * written under the target's lock as PHP would write it, and keeps its remaining lifetime
 * (source mtime + maxlifetime → the target's TTL or mtime). Expired sessions are not moved; a
 * session already in the target is left alone unless `overwrite`. A report file (JSON lines, one
 * per session) makes a run resumable: ids already moved by an earlier run are skipped.
 */
import { closeSync, constants as C, createReadStream, createWriteStream, fstatSync, openSync, type WriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { ConfigError, EncodeError, SessctlError } from '../errors.js';
import type { SerializeHandler } from '../codec/session.js';
import type { AdminSource, SessionEntry } from '../session/admin.js';
import { loadCodec, type AdminCodec } from './codec-bridge.js';
import { decodeWith } from './common.js';
import type { AdminSettings } from './settings.js';

export type MigrateOutcome = 'moved' | 'would-move' | 'exists' | 'expired' | 'vanished' | 'done-before' | 'failed';

export interface MigrateResult {
  id: string;
  outcome: MigrateOutcome;
  /** Where it was read from. */
  location: string;
  /** Seconds it had left when moved. */
  remainingSeconds?: number;
  message?: string;
}

export interface MigrateReport {
  from: string;
  to: string;
  dryRun: boolean;
  checked: number;
  moved: number;
  /** Already in the target (left alone). */
  exists: number;
  expired: number;
  vanished: number;
  /** Skipped because the report file says an earlier run moved them. */
  doneBefore: number;
  failed: number;
  /** With verify: sessions read back from the target and compared. */
  verified?: number;
  /** With verify: sessions whose target copy differs from the source now (changed since, or lost). */
  mismatched?: number;
  /** Set when the report file could not be written (disk full, file size limit): the lines after it are missing. */
  reportFileError?: string;
  /**
   * Why the run stopped early: this many sessions in a row could not reach a server (connection
   * refused, no answer in time). Each would otherwise cost its timeouts, for hours on a big tree;
   * a run again with the same --report goes on where this one stopped.
   */
  gaveUp?: string;
  durationMs: number;
}

export interface MigrateOptions {
  /** The target's serialize handler (default: the source's; with `auto`, each session keeps its own). */
  toSerializeHandler?: SerializeHandler;
  dryRun?: boolean;
  /** Read every moved session back from the target and compare it with the source. */
  verify?: boolean;
  /** Replace sessions the target already has (default: leave them). */
  overwrite?: boolean;
  lockTimeoutMs?: number;
  /** Sessions moved at once (default 8). */
  jobs?: number;
  /** JSON-lines report: read first (ids moved before, or found already there without `overwrite`, are skipped), appended to as sessions move. */
  reportFile?: string;
  onResult?: (r: MigrateResult) => void;
  onProgress?: (r: Readonly<MigrateReport>) => void;
  onError?: (location: string, err: Error) => void;
  /** Stops the run: the sessions in flight are finished and the report so far is returned. */
  signal?: AbortSignal;
}

/**
 * Outcomes after which a resumed run need not touch the session again. `exists` (the target
 * had one, which was left) is settled only for a run that would leave it again: with
 * `overwrite` it is what the user now wants replaced. `done-before` adds nothing by itself: it
 * repeats an earlier line of the same append-only report, which decides.
 */
const settledBy = (overwrite: boolean): ReadonlySet<string> => new Set(overwrite ? ['moved'] : ['moved', 'exists']);

/**
 * Opens the report file: never through a symlink (run as root, a planted link would have us
 * append to any file), without blocking on a FIFO, and only a regular file. Null when it does
 * not exist and is not to be created.
 * @throws ConfigError naming the file.
 */
function openReport(file: string, forAppend: boolean): number | null {
  const flags = (forAppend ? C.O_WRONLY | C.O_APPEND | C.O_CREAT : C.O_RDONLY) | C.O_NOFOLLOW | C.O_NONBLOCK;
  let fd: number;
  try {
    fd = openSync(file, flags, 0o644);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !forAppend) return null;
    throw new ConfigError(`--report ${file}: ${code === 'ELOOP' ? 'is a symbolic link; give the file itself' : `cannot open it (${code ?? (err as Error).message})`}`);
  }
  if (!fstatSync(fd).isFile()) {
    closeSync(fd);
    throw new ConfigError(`--report ${file}: is not a regular file`);
  }
  return fd;
}

async function readDone(file: string, overwrite: boolean): Promise<Set<string>> {
  const done = new Set<string>();
  const settled = settledBy(overwrite);
  const fd = openReport(file, false);
  if (fd === null) return done;
  const lines = createInterface({ input: createReadStream('', { fd, encoding: 'utf8' }), crlfDelay: Infinity });
  let n = 0;
  for await (const line of lines) {
    n++;
    if (line.trim() === '') continue;
    let row: { id?: unknown; outcome?: unknown };
    try {
      row = JSON.parse(line) as typeof row;
    } catch {
      throw new ConfigError(`--report ${file}:${n}: not a migrate report line (JSON expected)`);
    }
    if (typeof row.id === 'string' && typeof row.outcome === 'string' && settled.has(row.outcome)) done.add(row.id);
  }
  return done;
}

/** The bytes to store in the target: as they are, or re-encoded for the target's handler (checked by decoding back). */
function targetBytes(codec: AdminCodec, from: AdminSettings, to: SerializeHandler | undefined, entry: SessionEntry & { bytes: Uint8Array }): Uint8Array {
  const r = decodeWith(codec, from, entry);
  if (!r.data || !r.handler) throw r.error ?? new SessctlError(`${entry.location}: does not decode`, 'EDECODE');
  if (!to || to === r.handler) return entry.bytes;
  const out = codec.encodeSession(r.data, to);
  const back = codec.decodeSession(out, to, { source: entry.location });
  if (back.size !== r.data.size) throw new EncodeError(`${to} keeps ${back.size} of ${r.data.size} keys`);
  return out;
}

/** Sessions in a row that fail to reach a server before a run gives up. */
const GIVE_UP_AFTER = 10;

/** A server that refuses connections or does not answer in time (not a session's own failure). */
function isUnreachable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'EBACKENDCONN' || code === 'EBACKENDTIMEOUT';
}

/** Items between two turns of the event loop (see pool). */
const YIELD_EVERY = 64;

/**
 * Runs `fn` over the items with at most `jobs` at a time, in order of arrival, until `stopped()`;
 * the ones started are always waited for, also when the listing throws.
 */
async function pool<T>(items: AsyncIterable<T>, jobs: number, fn: (item: T) => Promise<void>, stopped: () => boolean = () => false): Promise<void> {
  const running = new Set<Promise<void>>();
  let n = 0;
  try {
    for await (const item of items) {
      if (stopped()) break;
      const p: Promise<void> = fn(item).finally(() => running.delete(p));
      running.add(p);
      if (running.size >= jobs) await Promise.race(running);
      // With synchronous file I/O on both sides every step above resolves at once, and the
      // loop would never reach the event loop, where a signal (Ctrl-C: `signal`) is seen.
      if (++n % YIELD_EVERY === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    }
  } finally {
    await Promise.allSettled(running);
  }
}

/**
 * Copies every live session of `source` into `target`.
 * @throws ConfigError for a bad report file or job count; errors of the source listing.
 */
export async function migrateSessions(source: AdminSource, from: AdminSettings, target: AdminSource, options: MigrateOptions = {}): Promise<MigrateReport> {
  const withLocked = source.withLocked?.bind(source);
  const put = target.put?.bind(target);
  if (!withLocked) throw new ConfigError(`migrate: cannot move sessions out of ${source.saveHandler} (its backend cannot hold a session locked while it is copied)`);
  if (!put) throw new ConfigError(`migrate: cannot move sessions into ${target.saveHandler} (its backend cannot store a session with a given lifetime)`);
  const started = Date.now();
  const jobs = options.jobs ?? 8;
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 256) throw new ConfigError(`--jobs: ${jobs} is not a number from 1 to 256`);
  const lockTimeoutMs = options.lockTimeoutMs ?? 10_000;
  const codec = await loadCodec();
  const toHandler = options.toSerializeHandler ?? (from.serializeHandler === 'auto' ? undefined : from.serializeHandler);
  if (toHandler !== undefined && !codec.SERIALIZE_HANDLERS.includes(toHandler)) throw new ConfigError(`--to-serialize-handler: ${JSON.stringify(toHandler)} is not a serialize handler (${codec.SERIALIZE_HANDLERS.join(', ')})`);
  const done = options.reportFile ? await readDone(options.reportFile, options.overwrite ?? false) : new Set<string>();
  const logFd = options.reportFile && !options.dryRun ? openReport(options.reportFile, true) : null;
  const log: WriteStream | undefined = logFd === null ? undefined : createWriteStream('', { fd: logFd });
  // A write that fails (ENOSPC, EFBIG) must not end the run with an unhandled 'error': the sessions
  // keep moving, and the report says which file is short of lines.
  let logError: NodeJS.ErrnoException | undefined;
  log?.on('error', (err: NodeJS.ErrnoException) => {
    logError ??= err;
  });
  const report: MigrateReport = {
    from: source.description,
    to: target.description,
    dryRun: options.dryRun ?? false,
    checked: 0,
    moved: 0,
    exists: 0,
    expired: 0,
    vanished: 0,
    doneBefore: 0,
    failed: 0,
    durationMs: 0,
  };
  /** id → when it expires: a copy gone by then was expired by the target, not lost. */
  const moved = new Map<string, number>();
  const emit = (r: MigrateResult) => {
    if (r.outcome === 'moved' || r.outcome === 'would-move') report.moved++;
    else if (r.outcome === 'done-before') report.doneBefore++;
    else report[r.outcome]++;
    if (r.outcome === 'moved') moved.set(r.id, Date.now() + (r.remainingSeconds ?? 0) * 1000);
    if (!logError) log?.write(JSON.stringify({ id: r.id, outcome: r.outcome, ...(r.message ? { message: r.message } : {}) }) + '\n');
    options.onResult?.(r);
    if (++report.checked % 500 === 0) options.onProgress?.(report);
  };

  // Sessions in a row that failed to reach a server (see MigrateReport.gaveUp).
  let unreachable = 0;
  const moveOne = async (entry: SessionEntry): Promise<void> => {
    // Interrupted: what is not started is left for a run again (not counted, not reported).
    if (options.signal?.aborted) return;
    const base = { id: entry.id, location: entry.location };
    if (done.has(entry.id)) return emit({ ...base, outcome: 'done-before' });
    try {
      const result = await withLocked(entry.id, lockTimeoutMs, async (locked): Promise<MigrateResult> => {
        if (!locked) return { ...base, outcome: 'vanished' };
        if (!locked.bytes) throw new SessctlError(`${locked.location}: is ${locked.size} bytes, above the size limit (maxBytes); not moved`, 'ETOOBIG');
        // The lifetime as the source's gc counts it: its own expiry time when it keeps one, else
        // gc would take it once now - mtime > maxlifetime. A key that never expires (PHP reads it
        // for ever) moves with a whole lifetime, as if just written.
        const expiresAtMs = locked.neverExpires ? Date.now() + from.maxlifetime * 1000 : (locked.expiresAtMs ?? locked.mtimeMs + from.maxlifetime * 1000);
        const remainingSeconds = Math.floor((expiresAtMs - Date.now()) / 1000);
        if (remainingSeconds <= 0) return { ...base, outcome: 'expired' };
        const bytes = targetBytes(codec, from, toHandler, locked as SessionEntry & { bytes: Uint8Array });
        if (options.dryRun) return { ...base, outcome: 'would-move', remainingSeconds };
        const stored = await put(entry.id, bytes, { expiresAtMs, lockTimeoutMs, overwrite: options.overwrite });
        return { ...base, outcome: stored === 'written' ? 'moved' : 'exists', remainingSeconds };
      });
      unreachable = 0;
      emit(result);
    } catch (err) {
      emit({ ...base, outcome: 'failed', message: (err as Error).message });
      if (!isUnreachable(err)) unreachable = 0;
      else if (++unreachable >= GIVE_UP_AFTER && report.gaveUp === undefined) {
        report.gaveUp = `stopped after ${unreachable} sessions in a row could not reach a server (last: ${(err as Error).message}); run again with the same --report once it answers`;
      }
    }
  };

  const aborted = () => options.signal?.aborted === true;
  try {
    try {
      await pool(source.entries({ withData: false, onError: options.onError, signal: options.signal }), jobs, moveOne, () => report.gaveUp !== undefined || aborted());
    } catch (err) {
      // The listing stops with the signal's reason: an interruption, reported as such by the
      // counts so far (each session started was finished), not as an error.
      if (!aborted()) throw err;
    }
    if (options.verify && !options.dryRun && report.gaveUp === undefined && !aborted()) {
      report.verified = 0;
      report.mismatched = 0;
      await pool(
        (async function* () {
          yield* moved.keys();
        })(),
        jobs,
        async (id) => {
          const [s, t] = await Promise.all([source.read(id), target.read(id)]);
          if (!t && moved.get(id)! <= Date.now() + 1000) {
            report.verified!++; // its lifetime ran out since: the target expired it, as PHP's would
            return;
          }
          let same = false;
          if (s?.bytes && t?.bytes) {
            try {
              same = Buffer.from(targetBytes(codec, from, toHandler, s as SessionEntry & { bytes: Uint8Array })).equals(Buffer.from(t.bytes));
            } catch {
              same = false;
            }
          }
          report.verified!++;
          if (!same) {
            report.mismatched!++;
            options.onResult?.({ id, location: t?.location ?? target.description, outcome: 'failed', message: t ? 'the target copy differs from the source (changed since it was moved? run again with --overwrite)' : 'not found in the target' });
          }
        },
      );
    }
  } finally {
    report.durationMs = Date.now() - started;
    options.onProgress?.(report);
    if (log) {
      await new Promise<void>((resolve) =>
        log.end((err?: NodeJS.ErrnoException | null) => {
          if (err) logError ??= err;
          resolve();
        }),
      );
    }
    if (logError) report.reportFileError = `--report ${options.reportFile}: cannot write it (${logError.code ?? logError.message}); the lines after the first failure are missing (a run again finds those sessions in the target: already there)`;
  }
  return report;
}
