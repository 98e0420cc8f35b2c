import { ConfigError } from '../errors.js';
import type { SerializeHandler } from '../codec/session.js';
import { loadCodec } from './codec-bridge.js';
import type { AdminSettings } from './settings.js';
import type { AdminSource } from '../session/admin.js';
import { ageOf, decodeWith, expiresInOf, nowSeconds } from './common.js';
import { compileWhere } from './where/index.js';
import type { PhpArray } from '../codec/values.js';
import type { AdminCodec } from './codec-bridge.js';
import type { Framework } from './app/types.js';

/** The plain-view builder that adds a framework's `auth` (loaded only when a framework is set). */
export async function frameworkView(framework: Framework | undefined, codec: Pick<AdminCodec, 'toPlain'>): Promise<((data: PhpArray, plain: unknown) => unknown) | undefined> {
  if (!framework) return undefined;
  const { authAugmenter } = await import('./app/auth.js');
  return authAugmenter(framework, codec.toPlain);
}

/** One row of `sessctl list`. */
export interface SessionInfo {
  id: string;
  location: string;
  size: number;
  /** ISO 8601 last-modified time; null for a key that never expires (its last write is unknown). */
  modified: string | null;
  /** The last write in ms; null for a key that never expires. */
  mtimeMs: number | null;
  ageSeconds: number | null;
  /** maxlifetime - age (or the store's own expiry time - now): negative once gc may delete it; null for a key that never expires. */
  expiresInSeconds: number | null;
  /** A Redis or Memcached key without an expiry: it stays until deleted. */
  neverExpires?: true;
  /** The handler used to decode (the configured one, or the detected one for `auto`); null with `noDecode`. */
  handler: SerializeHandler | null;
  /** Top-level keys; null when the session does not decode. */
  keys: number | null;
  /** Why it does not decode. */
  error?: string;
  /**
   * Set when the configured handler fails but this one decodes the session: written with
   * another serialize handler, not corrupt (PHP configured as it is would still destroy it).
   */
  decodesWith?: SerializeHandler;
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
  /**
   * Only sessions whose content matches this `--where` expression (see src/admin/where).
   * Implies decoding; a session that does not decode never matches and is passed to `onUndecodable`.
   */
  where?: string;
  onUndecodable?: (info: SessionInfo) => void;
  /** The framework the sessions belong to: `--where` then also sees the derived `auth` (see app/auth.ts). */
  framework?: Framework;
  onError?: (location: string, err: Error) => void;
}

/**
 * Whether an age passes `--older-than` / `--newer-than` (strictly, like gc). A key that never
 * expires has no age to compare (null): it passes only when neither is given.
 */
export function matchesAge(ageSeconds: number | null, f: { olderThan?: number; newerThan?: number }): boolean {
  if (ageSeconds === null) return f.olderThan === undefined && f.newerThan === undefined;
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
  const decode = !filters.noDecode || filters.where !== undefined;
  const codec = decode ? await loadCodec() : null;
  const matches = filters.where !== undefined ? compileWhere(filters.where, codec!, await frameworkView(filters.framework, codec!)) : null;
  const limit = filters.limit ?? Infinity;
  const rows = async function* () {
    for await (const entry of source.entries({ withData: decode, onError: filters.onError })) {
      const age = entry.neverExpires ? null : ageOf(entry.mtimeMs, now);
      if (!matchesAge(age, filters)) continue;
      const info: SessionInfo = {
        id: entry.id,
        location: entry.location,
        size: entry.size,
        modified: age === null ? null : new Date(entry.mtimeMs).toISOString(),
        mtimeMs: age === null ? null : entry.mtimeMs,
        ageSeconds: age,
        expiresInSeconds: expiresInOf(entry, settings.maxlifetime, now),
        // Without decoding there is nothing to say about the handler.
        handler: null,
        keys: null,
      };
      if (age === null) info.neverExpires = true;
      if (codec && (entry.bytes || entry.tooBig)) {
        const r = decodeWith(codec, settings, entry);
        info.handler = r.handler;
        if (r.data) info.keys = r.data.size;
        else info.error = r.error?.message;
        if (r.decodesWith) info.decodesWith = r.decodesWith;
        if (matches) {
          if (!r.data) {
            filters.onUndecodable?.(info);
            continue;
          }
          if (!matches(r.data)) continue;
        }
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
    const d = key === 'id' ? (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) : key === 'size' ? a.size - b.size : key === 'mtime' ? (a.mtimeMs ?? -Infinity) - (b.mtimeMs ?? -Infinity) : (a.ageSeconds ?? Infinity) - (b.ageSeconds ?? Infinity);
    return filters.reverse ? -d : d;
  });
  yield* all.slice(0, Math.min(all.length, limit));
}
