/**
 * The empty GcReport every save handler's gc starts from (kept apart from gc.ts so that a
 * backend can use it without loading the file gc's worker machinery).
 */
import type { GcOptions, GcReport } from './gc.js';

/** A report with every counter at zero. */
export function newGcReport(savePath: string, options: Pick<GcOptions, 'maxlifetime' | 'dryRun'>): GcReport {
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
