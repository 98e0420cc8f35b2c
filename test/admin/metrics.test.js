// --metrics-file: Prometheus text, written atomically; a failed gc keeps the last success time.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeGcMetrics, formatMetrics } from 'sessctl/admin';
import { sessctl } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'sessctl-metrics-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const report = (over = {}) => ({ savePath: '/var/lib/php/sessions', maxlifetime: 1440, dryRun: false, scanned: 10, expired: 4, deleted: 3, skippedLocked: 1, skippedTouched: 0, vanished: 0, bytesFreed: 300, errors: 0, errorSamples: [], durationMs: 1500, ...over });
const value = (text, name) => {
  const m = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\"]/g, '\\$&')} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
};

test('gc metrics: one sample per save path, HELP/TYPE, success, timestamps; mode 0644, no temp file left', () => {
  const file = join(dir, 'gc.prom');
  writeGcMetrics(file, [{ savePath: '/var/lib/php/sessions', report: report() }, { savePath: '/srv/a"b\\c', report: report({ deleted: 7 }) }], true);
  const text = readFileSync(file, 'utf8');
  assert.equal(value(text, 'sessctl_gc_deleted{save_path="/var/lib/php/sessions"}'), 3);
  assert.equal(value(text, 'sessctl_gc_deleted{save_path="/srv/a\\"b\\\\c"}'), 7, 'label values escaped');
  assert.equal(value(text, 'sessctl_gc_skipped_locked{save_path="/var/lib/php/sessions"}'), 1);
  assert.equal(value(text, 'sessctl_gc_duration_seconds{save_path="/var/lib/php/sessions"}'), 1.5);
  assert.equal(value(text, 'sessctl_gc_success'), 1);
  assert.match(text, /^# HELP sessctl_gc_errors .+\n# TYPE sessctl_gc_errors gauge$/m);
  const success = value(text, 'sessctl_gc_last_success_timestamp_seconds');
  assert.ok(Math.abs(success - Date.now() / 1000) < 600);
  assert.equal(statSync(file).mode & 0o777, 0o644);
  assert.deepEqual(readdirSync(dir), ['gc.prom']);

  // A failing run: success 0, last run now, last success carried over from the file it replaces.
  writeFileSync(file, text.replace(/^sessctl_gc_last_success_timestamp_seconds .*$/m, 'sessctl_gc_last_success_timestamp_seconds 1700000000'));
  writeGcMetrics(file, [{ savePath: '/var/lib/php/sessions', report: report({ errors: 2 }) }], false);
  const failed = readFileSync(file, 'utf8');
  assert.equal(value(failed, 'sessctl_gc_success'), 0);
  assert.equal(value(failed, 'sessctl_gc_last_success_timestamp_seconds'), 1700000000);
  assert.equal(value(failed, 'sessctl_gc_errors{save_path="/var/lib/php/sessions"}'), 2);
  // Never succeeded: no last-success sample at all (the alert's absent() catches it).
  const fresh = join(dir, 'fresh.prom');
  writeGcMetrics(fresh, [], false);
  assert.equal(value(readFileSync(fresh, 'utf8'), 'sessctl_gc_last_success_timestamp_seconds'), undefined);
});

test('an unwritable metrics file is a configuration error naming it', () => {
  assert.throws(() => writeGcMetrics(join(dir, 'no-such-dir', 'x.prom'), [], true), /--metrics-file .*no-such-dir\/x\.prom: cannot write it \(ENOENT\)/);
  assert.equal(formatMetrics([]), '');
});

test('stats --metrics-file and gc --metrics-file from the CLI; gc --dry-run writes none', () => {
  const sessions = mkdtempSync(join(dir, 's-'));
  writeFileSync(join(sessions, 'sess_metricsabcdefghijklmnop1'), 'a|i:1;');
  writeFileSync(join(sessions, 'sess_metricsabcdefghijklmnop2'), 'not a session');
  const stats = join(dir, 'stats.prom');
  assert.equal(sessctl(['stats', '--save-path', sessions, '--no-php', '--metrics-file', stats]).code, 0);
  const text = readFileSync(stats, 'utf8');
  assert.equal(value(text, `sessctl_sessions{source="${sessions}"}`), 2);
  assert.equal(value(text, `sessctl_sessions_corrupt{source="${sessions}"}`), 1);
  assert.equal(value(text, `sessctl_sessions_bytes{source="${sessions}"}`), 19);
  const gc = join(dir, 'cli-gc.prom');
  assert.equal(sessctl(['gc', '--dry-run', '--save-path', sessions, '--no-php', '--metrics-file', gc]).code, 0);
  assert.throws(() => statSync(gc), /ENOENT/);
  assert.equal(sessctl(['gc', '--save-path', sessions, '--no-php', '--metrics-file', gc]).code, 0);
  assert.equal(value(readFileSync(gc, 'utf8'), `sessctl_gc_sessions{save_path="${sessions}"}`), 2);
});
