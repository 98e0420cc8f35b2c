import { writeGcMetrics } from '../../admin/metrics.js';
import type { GcOutcome, GcReport } from '../../session/admin.js';
import { escapeText } from '../escape.js';
import { ConfigError } from '../../errors.js';
import { formatBytes, formatCount } from '../format.js';
import { canShowProgress, colorsFor, type Colors } from '../output.js';
import { ProgressLine, rateText } from '../progress.js';
import { reportWalkProblem } from '../walk-errors.js';
import type { CommonOptions } from '../index.js';
import { actedAs, json, sourceFrom } from './common.js';

interface GcCliOptions extends CommonOptions {
  dryRun?: boolean;
  jobs?: string;
  system?: boolean;
  systemRoot?: string;
  metricsFile?: string;
}

/** `sessctl gc`: PHP's gc, lock-aware, any depth; one summary line. `--system`: every save path on the machine. */
export async function run(opts: GcCliOptions): Promise<number> {
  let jobs: number | undefined;
  if (opts.jobs !== undefined) {
    jobs = Number(opts.jobs);
    if (!Number.isSafeInteger(jobs) || jobs < 1 || jobs > 64) throw new ConfigError(`--jobs: ${JSON.stringify(opts.jobs)} is not a number from 1 to 64`);
  }
  if (opts.systemRoot !== undefined && !opts.system) throw new ConfigError('--system-root only applies with --system');
  if (opts.system) {
    const given = (['savePath', 'saveHandler', 'serializeHandler', 'maxlifetime', 'phpIni', 'framework', 'app'] as const).filter((k) => opts[k] !== undefined);
    if (given.length > 0) throw new ConfigError(`--system finds the save paths and lifetimes itself: drop ${given.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')}`);
  }
  const progress = new ProgressLine(canShowProgress(opts.quiet));
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  const onFile = (path: string, outcome: GcOutcome | string, detail?: string) => {
    if (outcome === 'error') reportWalkProblem(path, `${path}: ${detail}`);
    else if (opts.dryRun && !opts.quiet && !opts.json && outcome === 'would-delete') process.stdout.write(escapeText(path) + '\n');
    else if (opts.dryRun && !opts.quiet && !opts.json && outcome === 'locked') process.stdout.write(`${escapeText(path)} (in use: would be skipped)\n`);
  };
  const onProgress = (r: Readonly<GcReport>) =>
    progress.update(`${rateText(r.scanned, progress.elapsedMs())} · ${r.dryRun ? 'would delete' : 'deleted'} ${formatCount(r.deleted)} · locked ${formatCount(r.skippedLocked)} · errors ${r.errors}`);
  const gcOptions = { dryRun: opts.dryRun, jobs, signal: controller.signal, onProgress };
  let code: number;
  let reports: { savePath: string; report: GcReport }[];
  try {
    if (opts.system) {
      const { runSystem } = await import('./gc-system.js');
      const r = await runSystem(opts, gcOptions, onFile);
      code = r.code;
      reports = r.results.filter((x) => x.report).map((x) => ({ savePath: x.target.savePath, report: x.report! }));
    } else {
      const { resolved, source } = await sourceFrom(opts);
      const report = await source.gc({ ...gcOptions, maxlifetime: resolved.values.maxlifetime, onFile }).finally(() => source.close());
      progress.done();
      if (opts.json) process.stdout.write(json({ ...report, actedAs }));
      else if (!opts.quiet) process.stdout.write(summary(report, await colorsFor(process.stdout)) + '\n' + notesOf(report).map((n) => n + '\n').join(''));
      code = report.errors > 0 ? 1 : 0;
      reports = [{ savePath: report.savePath, report }];
    }
  } finally {
    progress.done();
    process.removeListener('SIGINT', onSigint);
  }
  if (controller.signal.aborted) {
    process.stderr.write('sessctl: interrupted; the counts are up to that point\n');
    code = 1;
  }
  // A dry run deletes nothing: it must not look like a successful collection to the alert.
  if (opts.metricsFile !== undefined && !opts.dryRun) writeGcMetrics(opts.metricsFile, reports, code === 0);
  return code;
}

/** The one summary line (cron mails it; greppable). */
export function summary(r: GcReport, c: Colors): string {
  const verb = r.dryRun ? 'would delete' : 'deleted';
  const parts = [
    `scanned ${formatCount(r.scanned)}`,
    `${verb} ${formatCount(r.deleted)} (${formatBytes(r.bytesFreed)}${r.dryRun ? '' : ' freed'})`,
    `skipped ${formatCount(r.skippedLocked)} locked`,
    `${formatCount(r.skippedTouched)} touched`,
    r.errors > 0 ? c.red(`${formatCount(r.errors)} errors`) : '0 errors',
    `${(r.durationMs / 1000).toFixed(2)} s`,
  ];
  return `gc ${escapeText(r.savePath)} (maxlifetime ${r.maxlifetime}s): ${parts.join(', ')}`;
}

/** Remarks a backend adds to its report (Redis: why gc deletes nothing, keys without a TTL). */
/** The report's notes, escaped: they name keys, whose prefix (from the save_path) may hold any byte. */
function notesOf(r: GcReport): string[] {
  const notes = (r as GcReport & { notes?: unknown }).notes;
  return Array.isArray(notes) ? notes.map((n) => escapeText(String(n))) : [];
}
