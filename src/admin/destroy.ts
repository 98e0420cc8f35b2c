import { ConfigError } from '../errors.js';
import type { AdminSource, SessionEntry } from '../session/admin.js';
import { loadCodec } from './codec-bridge.js';
import { ageOf, decodeWith, nowSeconds } from './common.js';
import type { AdminSettings } from './settings.js';
import { compileWhere } from './where/index.js';
import { frameworkView, matchesAge } from './list.js';
import type { Framework } from './app/types.js';

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
  /**
   * Bulk selection by content: a `--where` expression (needs `allMatching` and `settings`).
   * Judged again under each session's lock; a session that does not decode is never destroyed.
   */
  where?: string;
  /** The serialize handler to decode with (for `where`). */
  settings?: Pick<AdminSettings, 'serializeHandler'>;
  /** The framework the sessions belong to: `where` then also sees the derived `auth`. */
  framework?: Framework;
  /** The explicit consent that a filter selects sessions to destroy. */
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
  const hasFilter = request.olderThan !== undefined || request.newerThan !== undefined || request.where !== undefined;
  if (ids.length > 0 && (hasFilter || request.allMatching)) throw new ConfigError('give either session ids or --where/--older-than/--newer-than with --all-matching, not both');
  if (hasFilter && !request.allMatching) throw new ConfigError('--where/--older-than/--newer-than select sessions to destroy only together with --all-matching (bulk destroy is never implied)');
  if (request.allMatching && !hasFilter) throw new ConfigError('--all-matching needs --where, --older-than and/or --newer-than');
  if (ids.length === 0 && !hasFilter) throw new ConfigError('no session ids given');
  let contentMatches: ((e: SessionEntry) => boolean) | null = null;
  if (request.where !== undefined) {
    if (!request.settings) throw new ConfigError('destroy with where needs settings (the serialize handler to decode with)');
    const codec = await loadCodec();
    const matches = compileWhere(request.where, codec, await frameworkView(request.framework, codec));
    const settings = { ...request.settings, saveHandler: '', savePath: '', maxlifetime: 0 };
    // Never destroy what cannot be read: an undecodable session does not match.
    contentMatches = (e) => {
      const r = decodeWith(codec, settings, e);
      return r.data !== undefined && matches(r.data);
    };
  }
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
  const stillMatches = (e: SessionEntry) => matchesAge(e.neverExpires ? null : ageOf(e.mtimeMs, now), request) && (contentMatches === null || contentMatches(e));
  for await (const entry of source.entries({ onError: request.onError, withData: contentMatches !== null })) {
    if (!stillMatches(entry)) continue;
    await one(entry.id, stillMatches);
  }
  return report;
}
