/** What several admin operations share: the clock, and decoding with the configured or detected handler. */
import type { PhpArray } from '../codec/values.js';
import { DecodeError, SessctlError } from '../errors.js';
import type { SerializeHandler } from '../codec/session.js';
import type { AdminCodec } from './codec-bridge.js';
import type { AdminSettings } from './settings.js';
import type { AdminSource, SessionEntry } from '../session/admin.js';

export const nowSeconds = () => Math.floor(Date.now() / 1000);
export const ageOf = (mtimeMs: number, now: number) => now - Math.floor(mtimeMs / 1000);

/** Decodes with the configured handler, or the detected one for `auto`. */
export function decodeWith(codec: AdminCodec, settings: AdminSettings, entry: SessionEntry): { handler: SerializeHandler | null; data?: PhpArray; error?: Error } {
  if (!entry.bytes) {
    // Above the size limit: reported, never read into memory.
    return { handler: null, error: new SessctlError(`${entry.location}: is ${entry.size} bytes, above the size limit (maxBytes); not read`, 'ETOOBIG') };
  }
  // An empty file is an empty session for every handler (PHP creates it empty); auto calls it php.
  const handler = settings.serializeHandler !== 'auto' ? settings.serializeHandler : entry.bytes.length === 0 ? 'php' : codec.detectHandler(entry.bytes);
  if (handler === null) return { handler, error: new DecodeError('no serialize handler (php, php_serialize, php_binary) can decode this session', 0, entry.location) };
  try {
    return { handler, data: codec.decodeSession(entry.bytes, handler, { source: entry.location }) };
  } catch (err) {
    return { handler, error: err as Error };
  }
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
    if (err instanceof SessctlError && err.code === 'ESAVEPATH') throw err;
    throw new SessctlError(`${source.description}: ${(err as Error).message}`, 'ESAVEPATH', { cause: err });
  }
}
