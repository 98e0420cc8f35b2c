import type { PhpArray } from '../codec/values.js';
import { SessionFileError } from '../errors.js';
import type { SerializeHandler } from '../codec/session.js';
import { loadCodec } from './codec-bridge.js';
import type { AdminSettings } from './settings.js';
import type { AdminSource, SessionEntry } from '../session/admin.js';
import { ageOf, decodeWith, expiresInOf, nowSeconds } from './common.js';

export interface InspectResult {
  id: string;
  location: string;
  size: number;
  /** The last write; null for a Redis/Memcached key that never expires (unknown). */
  mtimeMs: number | null;
  ageSeconds: number | null;
  /** Null for a key that never expires. */
  expiresInSeconds: number | null;
  neverExpires?: true;
  bytes: Uint8Array;
  handler: SerializeHandler | null;
  /** The decoded session (absent when it does not decode). */
  data?: PhpArray;
  /** The decode failure (a DecodeError with `.offset` when the codec could say where). */
  error?: Error;
  /** The configured handler failed, but this one decodes the session (it is not corrupt). */
  decodesWith?: SerializeHandler;
}

/**
 * Reads and decodes one session (without taking its lock, so a live request is not held up).
 * A session that does not decode is returned with `error` set, not thrown.
 * @throws InvalidSessionIdError for an id PHP would refuse; SessionFileError (ENOSESSION) when missing.
 */
export async function inspectSession(source: AdminSource, settings: AdminSettings, id: string, options: { now?: number } = {}): Promise<InspectResult> {
  const entry = await source.read(id);
  if (!entry) throw new SessionFileError(id, `no such session in ${source.description}`, 'ENOSESSION');
  if (!entry.bytes) throw new SessionFileError(entry.location, `is ${entry.size} bytes, above the size limit (maxBytes); not read`, 'ETOOBIG');
  const now = options.now ?? nowSeconds();
  const codec = await loadCodec();
  const r = decodeWith(codec, settings, entry as SessionEntry & { bytes: Uint8Array });
  const age = entry.neverExpires ? null : ageOf(entry.mtimeMs, now);
  return {
    id,
    location: entry.location,
    size: entry.size,
    mtimeMs: age === null ? null : entry.mtimeMs,
    ageSeconds: age,
    expiresInSeconds: expiresInOf(entry, settings.maxlifetime, now),
    ...(age === null ? { neverExpires: true as const } : {}),
    bytes: entry.bytes,
    handler: r.handler,
    data: r.data,
    error: r.error,
    decodesWith: r.decodesWith,
  };
}
