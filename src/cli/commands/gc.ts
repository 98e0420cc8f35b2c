import type { GcReport } from '../../session/admin.js';
import { escapeText } from '../escape.js';
import { ConfigError } from '../../errors.js';
import { formatBytes, formatCount } from '../format.js';
import { canShowProgress, colorsFor, type Colors } from '../output.js';
import { ProgressLine } from '../progress.js';
import { reportWalkProblem } from '../walk-errors.js';
import type { CommonOptions } from '../index.js';
import { json, sourceFrom } from './common.js';

/** `sessctl gc`: PHP's gc, lock-aware, any depth; one summary line. */
export async function run(opts: CommonOptions & { dryRun?: boolean; jobs?: string }): Promise<number> {
  let jobs: number | undefined;
  if (opts.jobs !== undefined) {
    jobs = Number(opts.jobs);
    if (!Number.isSafeInteger(jobs) || jobs < 1 || jobs > 64) throw new ConfigError(`--jobs: ${JSON.stringify(opts.jobs)} is not a number from 1 to 64`);
  }
  const { resolved, source } = await sourceFrom(opts);
  const progress = new ProgressLine(canShowProgress(opts.quiet) && !opts.dryRun);
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  const report = await source
    .gc({
      maxlifetime: resolved.values.maxlifetime,
      dryRun: opts.dryRun,
      jobs,
      signal: controller.signal,
      onProgress: (r) => progress.update(`scanned ${formatCount(r.scanned)} · deleted ${formatCount(r.deleted)} · locked ${formatCount(r.skippedLocked)} · errors ${r.errors}`),
      onFile: (path, outcome, detail) => {
        if (outcome === 'error') reportWalkProblem(path, `${path}: ${detail}`);
        else if (opts.dryRun && !opts.quiet && !opts.json && outcome === 'would-delete') process.stdout.write(escapeText(path) + '\n');
        else if (opts.dryRun && !opts.quiet && !opts.json && outcome === 'locked') process.stdout.write(`${escapeText(path)} (in use: would be skipped)\n`);
      },
    })
    .finally(() => {
      progress.done();
      process.removeListener('SIGINT', onSigint);
    });
  await source.close();
  if (controller.signal.aborted) process.stderr.write('sessctl: interrupted; the counts below are up to that point\n');
  if (opts.json) process.stdout.write(json(report));
  else if (!opts.quiet) process.stdout.write(summary(report, await colorsFor(process.stdout)) + '\n' + notesOf(report).map((n) => n + '\n').join(''));
  return report.errors > 0 || controller.signal.aborted ? 1 : 0;
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
function notesOf(r: GcReport): string[] {
  const notes = (r as GcReport & { notes?: unknown }).notes;
  return Array.isArray(notes) ? notes.map(String) : [];
}
