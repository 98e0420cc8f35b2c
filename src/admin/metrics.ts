/**
 * `--metrics-file PATH`: the Prometheus text exposition format, for node_exporter's textfile
 * collector. The file is written atomically (a temporary file in the same directory, then
 * rename), so the collector never reads half a file. A failed run keeps the previous
 * `…_last_success_timestamp_seconds`, read back from the file it replaces, so an alert on its
 * age fires when runs keep failing.
 */
import { closeSync, fchmodSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { ConfigError } from '../errors.js';
import { readConfigFile } from './config-file.js';
import type { GcReport } from '../session/admin.js';
import type { StatsReport } from './stats.js';

type Sample = [labels: Record<string, string>, value: number];
interface Metric {
  name: string;
  help: string;
  type: 'gauge' | 'counter';
  samples: Sample[];
}

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** Renders metrics in the text format (HELP, TYPE, then one line per sample). */
export function formatMetrics(metrics: Metric[]): string {
  let out = '';
  for (const m of metrics) {
    out += `# HELP ${m.name} ${m.help}\n# TYPE ${m.name} ${m.type}\n`;
    for (const [labels, value] of m.samples) {
      const l = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',');
      out += `${m.name}${l ? `{${l}}` : ''} ${Number.isFinite(value) ? String(value) : 'NaN'}\n`;
    }
  }
  return out;
}

/**
 * The value of `name` (without labels) in a metrics file written earlier, if any. Read as a
 * configuration file is (a FIFO or a huge file there must not hang the run): what it refuses
 * counts as no previous value.
 */
function previousValue(file: string, name: string): number | undefined {
  let text: string;
  try {
    text = readConfigFile(file, '--metrics-file');
  } catch {
    return undefined;
  }
  // Lines end at \n only, as in the exposition format: a label value may hold a raw \r or
  // U+2028 (a save path's), which a multiline RegExp would take for a line end — and read a
  // forged sample out of it.
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name} `)) continue;
    const value = line.slice(name.length + 1);
    if (!/^\S+$/.test(value)) continue;
    const n = Number(value);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

const per = (reports: { savePath: string; report: GcReport }[], pick: (r: GcReport) => number): Sample[] => reports.map(({ savePath, report }) => [{ save_path: savePath }, pick(report)]);

/**
 * The gc metrics, one sample per save path: sessions scanned, expired, deleted, bytes freed,
 * skipped as locked, errors, duration; and for the run: success, last run and last success times.
 */
export function gcMetrics(reports: { savePath: string; report: GcReport }[], run: { success: boolean; nowMs: number; previousLastSuccess?: number }): Metric[] {
  const now = run.nowMs / 1000;
  const lastSuccess = run.success ? now : run.previousLastSuccess;
  const g = (name: string, help: string, pick: (r: GcReport) => number): Metric => ({ name: `sessctl_gc_${name}`, help, type: 'gauge', samples: per(reports, pick) });
  return [
    g('sessions', 'Sessions looked at by the last gc run.', (r) => r.scanned),
    g('expired', 'Sessions older than gc_maxlifetime at the last run.', (r) => r.expired),
    g('deleted', 'Sessions deleted by the last run.', (r) => r.deleted),
    g('bytes_freed', 'Bytes freed by the last run.', (r) => r.bytesFreed),
    g('skipped_locked', 'Expired sessions left alone because a request held their lock.', (r) => r.skippedLocked),
    g('errors', 'Errors in the last run.', (r) => r.errors),
    g('duration_seconds', 'How long the last run took.', (r) => r.durationMs / 1000),
    { name: 'sessctl_gc_success', help: '1 when the last gc run succeeded (no error), else 0.', type: 'gauge', samples: [[{}, run.success ? 1 : 0]] },
    { name: 'sessctl_gc_last_run_timestamp_seconds', help: 'When the last gc run ended.', type: 'gauge', samples: [[{}, now]] },
    ...(lastSuccess !== undefined ? [{ name: 'sessctl_gc_last_success_timestamp_seconds', help: 'When a gc run last ended without error.', type: 'gauge' as const, samples: [[{}, lastSuccess]] as Sample[] }] : []),
  ];
}

/** The stats metrics for one source: sessions, bytes, expired, corrupt, other handler, duration, last success. */
export function statsMetrics(s: StatsReport, run: { durationMs: number; nowMs: number }): Metric[] {
  const l = { source: s.source };
  const g = (name: string, help: string, value: number): Metric => ({ name: `sessctl_${name}`, help, type: 'gauge', samples: [[l, value]] });
  return [
    g('sessions', 'Stored sessions.', s.count),
    g('sessions_bytes', 'Total size of the stored sessions.', s.totalBytes),
    g('sessions_expired', 'Sessions past their expiry (older than gc_maxlifetime), which gc would delete.', s.expired),
    g('sessions_never_expire', 'Redis / Memcached session keys without an expiry (they stay until deleted).', s.neverExpire),
    g('sessions_corrupt', 'Sessions no serialize handler decodes.', s.corrupt),
    g('sessions_other_handler', 'Sessions written with another serialize handler than the configured one.', s.otherHandler),
    g('stats_duration_seconds', 'How long the last stats run took.', run.durationMs / 1000),
    { name: 'sessctl_stats_last_success_timestamp_seconds', help: 'When stats last ran to the end.', type: 'gauge', samples: [[{}, run.nowMs / 1000]] },
  ];
}

/**
 * Writes `text` to `file` atomically (temp file in the same directory, fsync, rename; mode 0644
 * so node_exporter can read it). @throws ConfigError naming the file when it cannot be written.
 */
export function writeMetricsFile(file: string, text: string): void {
  // An unguessable name: one planted in advance (a shared directory) cannot make the write fail.
  const tmp = join(dirname(file), `.${basename(file)}.${randomBytes(8).toString('hex')}.tmp`);
  try {
    // O_EXCL: never write through something planted under the temporary name.
    try {
      unlinkSync(tmp);
    } catch {
      // usually not there
    }
    const fd = openSync(tmp, 'wx', 0o644);
    try {
      fchmodSync(fd, 0o644); // whatever the umask: node_exporter must read it
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // nothing was created
    }
    throw new ConfigError(`--metrics-file ${file}: cannot write it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

/** gc's metrics file: the text for these reports, keeping the last success time of earlier runs on failure. */
export function writeGcMetrics(file: string, reports: { savePath: string; report: GcReport }[], success: boolean): void {
  const previousLastSuccess = previousValue(file, 'sessctl_gc_last_success_timestamp_seconds');
  writeMetricsFile(file, formatMetrics(gcMetrics(reports, { success, nowMs: Date.now(), previousLastSuccess })));
}
