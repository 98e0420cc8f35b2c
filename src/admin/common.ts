/** What several admin operations share: the clock, and decoding with the configured or detected handler. */
import type { PhpArray } from '../codec/values.js';
import { DecodeError, SavePathError, SessctlError } from '../errors.js';
import type { SerializeHandler } from '../codec/session.js';
import type { AdminCodec } from './codec-bridge.js';
import type { AdminSettings } from './settings.js';
import type { AdminSource, SessionEntry } from '../session/admin.js';

export const nowSeconds = () => Math.floor(Date.now() / 1000);
export const ageOf = (mtimeMs: number, now: number) => now - Math.floor(mtimeMs / 1000);

/**
 * Seconds until gc may delete a session (negative once it may): from the store's own expiry
 * time when it keeps one (Symfony PDO), else `maxlifetime` after the last write. Null for a
 * session that never expires.
 */
export function expiresInOf(entry: Pick<SessionEntry, 'mtimeMs' | 'neverExpires' | 'expiresAtMs'>, maxlifetime: number, now: number): number | null {
  if (entry.neverExpires) return null;
  if (entry.expiresAtMs !== undefined) return Math.floor(entry.expiresAtMs / 1000) - now;
  return maxlifetime - ageOf(entry.mtimeMs, now);
}

/** What decoding one stored session gave. */
export interface DecodeOutcome {
  /** The handler used: the configured one, or for `auto` the detected one (or the likeliest, when none decodes). */
  handler: SerializeHandler | null;
  data?: PhpArray;
  error?: Error;
  /**
   * Set when the configured handler fails but this other one decodes the session: it is not
   * corrupt, it was written with another serialize handler (PHP configured as it is would
   * still fail to decode it, and destroy it).
   */
  decodesWith?: SerializeHandler;
}

/**
 * Decodes with the configured handler, or the detected one for `auto`. When the configured
 * handler fails, asks whether another handler decodes the bytes (`decodesWith`); when no
 * handler decodes them (`auto`), the error is the one of the handler that read furthest, so
 * a truly corrupt session still gets the offset of its real fault.
 */
export function decodeWith(codec: AdminCodec, settings: AdminSettings, entry: SessionEntry): DecodeOutcome {
  if (!entry.bytes) {
    // Above the size limit: reported, never read into memory.
    return { handler: null, error: new SessctlError(`${entry.location}: is ${entry.size} bytes, above the size limit (maxBytes); not read`, 'ETOOBIG') };
  }
  const bytes = entry.bytes;
  const decode = (handler: SerializeHandler): DecodeOutcome => {
    try {
      return { handler, data: codec.decodeSession(bytes, handler, { source: entry.location }) };
    } catch (err) {
      return { handler, error: err as Error };
    }
  };
  if (settings.serializeHandler !== 'auto') {
    const r = decode(settings.serializeHandler);
    if (r.error && bytes.length > 0 && r.error instanceof DecodeError) {
      const other = codec.detectHandler(bytes);
      if (other !== null && other !== settings.serializeHandler) r.decodesWith = other;
    }
    return r;
  }
  // An empty file is an empty session for every handler (PHP creates it empty); auto calls it php.
  if (bytes.length === 0) return decode('php');
  const detected = codec.detectHandler(bytes);
  if (detected !== null) return decode(detected);
  let best: DecodeOutcome | null = null;
  for (const h of codec.SERIALIZE_HANDLERS) {
    const r = decode(h);
    const offset = r.error instanceof DecodeError ? r.error.offset : -1;
    const bestOffset = best?.error instanceof DecodeError ? best.error.offset : -1;
    if (best === null || offset > bestOffset) best = r;
  }
  return best ?? { handler: null, error: new DecodeError('no serialize handler can decode this session', 0, entry.location) };
}

/** "decodes with php_serialize: …" for a session the configured handler cannot read but another can. */
export function otherHandlerHint(r: DecodeOutcome, configured: string): string | undefined {
  if (!r.decodesWith) return undefined;
  return `it is not corrupt: it decodes with ${r.decodesWith}, not the configured ${configured} (use --serialize-handler ${r.decodesWith} or auto to read it; PHP configured with ${configured} fails to decode it, and destroys it)`;
}

/**
 * Runs the source's own check (the save path is a readable directory, the server answers)
 * and gives every failure one code, `ESAVEPATH`, so every command reports a missing or
 * unusable storage the same way (the CLI: one line, exit 2) instead of walking nothing.
 * @throws SessctlError (code ESAVEPATH) naming what is wrong; closes the source first.
 */
export async function checkSource(source: AdminSource): Promise<void> {
  try {
    await source.check();
  } catch (err) {
    await source.close().catch(() => {});
    // A save path we may not follow keeps its own code (ESYMLINK) and message; exit 2 all the same.
    if (err instanceof SavePathError || (err instanceof SessctlError && err.code === 'ESAVEPATH')) throw err;
    throw new SessctlError(`${source.description}: ${(err as Error).message}`, 'ESAVEPATH', { cause: err });
  }
}
