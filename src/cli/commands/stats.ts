import { sessionStats } from '../../admin/stats.js';
import { escapeText } from '../escape.js';
import { formatBytes, formatCount, formatDuration, histogram } from '../format.js';
import { canShowProgress, colorsFor } from '../output.js';
import { ProgressLine, withProgress } from '../progress.js';
import type { CommonOptions } from '../index.js';
import { actedAs, json, printWalkError, sourceFrom } from './common.js';

/** `sessctl stats`: totals, histograms, handlers, corrupt sessions. */
export async function run(opts: CommonOptions & { metricsFile?: string }): Promise<number> {
  const { resolved, source } = await sourceFrom(opts);
  let errors = 0;
  const started = Date.now();
  const s = await sessionStats(withProgress(source, new ProgressLine(canShowProgress(opts.quiet))), resolved.values, {
    onError: (l, e) => {
      errors++;
      printWalkError(l, e);
    },
  });
  await source.close();
  if (opts.metricsFile !== undefined) {
    const { formatMetrics, statsMetrics, writeMetricsFile } = await import('../../admin/metrics.js');
    writeMetricsFile(opts.metricsFile, formatMetrics(statsMetrics(s, { durationMs: Date.now() - started, nowMs: Date.now() })));
  }
  if (opts.json) {
    process.stdout.write(json({ ...s, actedAs }));
    return errors ? 1 : 0;
  }
  if (opts.quiet) return errors ? 1 : 0;
  const c = await colorsFor(process.stdout);
  const label = (t: string) => c.bold(t.padEnd(14));
  const out: string[] = [];
  out.push(`${label('source')}${escapeText(s.source)}`);
  out.push(`${label('sessions')}${formatCount(s.count)}  ${c.dim(`(${formatCount(s.expired)} older than maxlifetime ${s.maxlifetime}s${s.neverExpire > 0 ? `; ${formatCount(s.neverExpire)} never expire: no TTL` : ''})`)}`);
  out.push(`${label('corrupt')}${s.corrupt > 0 ? c.red(formatCount(s.corrupt)) : '0'}  ${c.dim('(no serialize handler decodes them; PHP would destroy them)')}`);
  if (s.otherHandler > 0) {
    out.push(`${label('other handler')}${c.yellow(formatCount(s.otherHandler))}  ${c.dim(`(not corrupt, but not ${s.configuredHandler}: PHP configured with ${s.configuredHandler} would destroy them; see "stored as")`)}`);
  }
  out.push(`${label('total size')}${formatBytes(s.totalBytes)}${s.largestBytes !== null ? c.dim(`  (largest ${formatBytes(s.largestBytes)}, mean ${formatBytes(Math.round(s.totalBytes / Math.max(1, s.count)))})`) : ''}`);
  if (s.oldestAgeSeconds !== null) out.push(`${label('ages')}${formatDuration(s.newestAgeSeconds!)} … ${formatDuration(s.oldestAgeSeconds)}`);
  const handlers = Object.entries(s.handlers).sort((a, b) => b[1] - a[1]);
  out.push(`${label('stored as')}${handlers.length ? handlers.map(([h, n]) => `${h} ${formatCount(n)}`).join(' · ') : c.dim('none')}`);
  process.stdout.write(out.join('\n') + '\n');
  if (s.count > 0) {
    process.stdout.write(`\n${c.bold('age')}\n` + histogram(s.age, { bar: c.cyan }));
    process.stdout.write(`\n${c.bold('size')}\n` + histogram(s.size, { bar: c.green }));
  }
  return errors ? 1 : 0;
}
