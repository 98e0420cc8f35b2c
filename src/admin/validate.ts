import { DecodeError, LockTimeoutError } from '../errors.js';
import type { SerializeHandler } from '../codec/session.js';
import { loadCodec } from './codec-bridge.js';
import type { AdminSettings } from './settings.js';
import type { AdminSource, NotADirectory, SessionEntry } from '../session/admin.js';
import { decodeWith } from './common.js';

export interface ValidationProblem {
  id: string;
  location: string;
  handler: SerializeHandler | null;
  message: string;
  /** Byte offset of the fault, when known. */
  offset?: number;
  /** Not corrupt: this other serialize handler decodes it (PHP configured as it is would not). */
  decodesWith?: SerializeHandler;
}

export interface ValidateReport {
  checked: number;
  invalid: number;
  /** Entries that could not be read at all (permissions…). */
  unreadable: number;
  /**
   * Directories of an `N;/path` tree that PHP will need (for ids of the configured
   * sid_bits_per_character) and that are missing: PHP fails to write sessions there.
   */
  missingDirectories: number;
  /** The first missing ones. */
  missingDirectorySamples: string[];
  /**
   * Those of the samples that exist but are no directory (a symlink — never followed — a file…):
   * `mkdirs` will not replace them; remove them first.
   */
  notDirectories: NotADirectory[];
}

/**
 * Finds every session PHP would fail to decode with the configured handler (and so destroy
 * on the next request), and the tree directories PHP will need but that are missing. A session that fails is read again under a shared lock before it
 * is reported, so a write in progress is not mistaken for corruption.
 */
export async function validateSessions(
  source: AdminSource,
  settings: AdminSettings,
  options: { onInvalid?: (p: ValidationProblem) => void; onError?: (location: string, err: Error) => void; lockTimeoutMs?: number } = {},
): Promise<ValidateReport> {
  const codec = await loadCodec();
  const report: ValidateReport = { checked: 0, invalid: 0, unreadable: 0, missingDirectories: 0, missingDirectorySamples: [], notDirectories: [] };
  const missing = await source.missingStructure?.(settings.sidBitsPerCharacter ?? 4);
  if (missing) {
    report.missingDirectories = missing.count;
    report.missingDirectorySamples = missing.samples;
    report.notDirectories = missing.notDirectories ?? [];
  }
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
      decodesWith: r.decodesWith,
    });
  }
  return report;
}
