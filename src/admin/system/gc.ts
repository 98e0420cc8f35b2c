/** Runs gc over every files save path `discoverSystemSessions` found, one after another. */
import { openAdminSource } from '../../backends/index.js';
import type { GcOptions, GcReport } from '../../session/admin.js';
import { checkSource } from '../common.js';
import type { SystemDiscovery, SystemTarget } from './discover.js';

export interface SystemGcResult {
  target: SystemTarget;
  /** Absent when the save path could not be opened (`error` says why). */
  report?: GcReport;
  error?: string;
}

/**
 * PHP's gc for each target with its longest lifetime (lock-aware, any depth), as `sessctl gc`
 * does for one save path. A target that cannot be opened is reported and the others go on.
 */
export async function gcSystem(discovery: SystemDiscovery, options: Omit<GcOptions, 'maxlifetime'> & { onTarget?: (t: SystemTarget) => void } = {}): Promise<SystemGcResult[]> {
  const results: SystemGcResult[] = [];
  for (const target of discovery.targets) {
    if (options.signal?.aborted) break;
    options.onTarget?.(target);
    const source = await openAdminSource({ saveHandler: 'files', savePath: target.savePath, serializeHandler: 'php', maxlifetime: target.maxlifetime });
    try {
      await checkSource(source);
      results.push({ target, report: await source.gc({ ...options, maxlifetime: target.maxlifetime }) });
    } catch (err) {
      results.push({ target, error: (err as Error).message });
    } finally {
      await source.close();
    }
  }
  return results;
}
