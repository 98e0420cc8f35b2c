import { loadCodec } from './codec-bridge.js';
import type { AdminSettings } from './settings.js';
import type { AdminSource } from '../session/admin.js';
import { ageOf, decodeWith, expiresInOf, nowSeconds } from './common.js';

export interface HistogramBucket {
  label: string;
  /** Upper bound (exclusive); null for the last, open bucket. */
  upTo: number | null;
  count: number;
}

export interface StatsReport {
  source: string;
  count: number;
  totalBytes: number;
  /** Sessions no serialize handler decodes (PHP would destroy them). */
  corrupt: number;
  /**
   * Sessions the configured handler does not decode but another one does: written with another
   * serialize handler, not corrupt (PHP configured as it is would still destroy them).
   */
  otherHandler: number;
  /** The handler the counts above are judged by (the configured one; `auto` = each session's own). */
  configuredHandler: string;
  /** Past their expiry: older than maxlifetime, or past the store's own expiry time (Symfony PDO); gc would delete them. */
  expired: number;
  /** Redis / Memcached keys without an expiry: no age, never collected (not in `expired` nor the age histogram). */
  neverExpire: number;
  maxlifetime: number;
  /** Sessions per serialize handler detected in the stored bytes, whatever is configured (`unknown` when none can read them, `empty`). */
  handlers: Record<string, number>;
  age: HistogramBucket[];
  size: HistogramBucket[];
  oldestAgeSeconds: number | null;
  newestAgeSeconds: number | null;
  largestBytes: number | null;
}

const AGE_BUCKETS: [string, number][] = [
  ['< 1m', 60],
  ['< 5m', 300],
  ['< 24m', 1440],
  ['< 1h', 3600],
  ['< 6h', 21600],
  ['< 1d', 86400],
  ['< 7d', 604800],
  ['< 30d', 2592000],
];
const SIZE_BUCKETS: [string, number][] = [
  ['< 64 B', 64],
  ['< 256 B', 256],
  ['< 1 KiB', 1024],
  ['< 4 KiB', 4096],
  ['< 16 KiB', 16384],
  ['< 64 KiB', 65536],
  ['< 256 KiB', 262144],
  ['< 1 MiB', 1048576],
];

function makeBuckets(spec: [string, number][], last: string): HistogramBucket[] {
  return [...spec.map(([label, upTo]) => ({ label, upTo, count: 0 })), { label: last, upTo: null, count: 0 }];
}
function addTo(buckets: HistogramBucket[], v: number): void {
  (buckets.find((b) => b.upTo === null || v < b.upTo) ?? buckets[buckets.length - 1]!).count++;
}

/**
 * Counts, sizes, ages (fixed histogram buckets, so memory is bounded), handlers and
 * corrupt sessions over the whole store.
 */
export async function sessionStats(source: AdminSource, settings: AdminSettings, options: { now?: number; onError?: (location: string, err: Error) => void } = {}): Promise<StatsReport> {
  const now = options.now ?? nowSeconds();
  const codec = await loadCodec();
  const report: StatsReport = {
    source: source.description,
    count: 0,
    totalBytes: 0,
    corrupt: 0,
    otherHandler: 0,
    configuredHandler: settings.serializeHandler,
    expired: 0,
    neverExpire: 0,
    maxlifetime: settings.maxlifetime,
    handlers: {},
    age: makeBuckets(AGE_BUCKETS, '≥ 30d'),
    size: makeBuckets(SIZE_BUCKETS, '≥ 1 MiB'),
    oldestAgeSeconds: null,
    newestAgeSeconds: null,
    largestBytes: null,
  };
  for await (const entry of source.entries({ withData: true, onError: options.onError })) {
    report.count++;
    report.totalBytes += entry.size;
    if (entry.neverExpires) report.neverExpire++;
    else {
      const age = ageOf(entry.mtimeMs, now);
      if (expiresInOf(entry, settings.maxlifetime, now)! < 0) report.expired++;
      addTo(report.age, age);
      report.oldestAgeSeconds = Math.max(report.oldestAgeSeconds ?? age, age);
      report.newestAgeSeconds = Math.min(report.newestAgeSeconds ?? age, age);
    }
    addTo(report.size, entry.size);
    report.largestBytes = Math.max(report.largestBytes ?? 0, entry.size);
    const bytes = entry.bytes;
    const detected = !bytes ? 'too big' : bytes.length === 0 ? 'empty' : codec.detectHandler(bytes) ?? 'unknown';
    report.handlers[detected] = (report.handlers[detected] ?? 0) + 1;
    const r = decodeWith(codec, settings, entry);
    if (r.decodesWith) report.otherHandler++;
    else if (r.error) report.corrupt++;
  }
  return report;
}
