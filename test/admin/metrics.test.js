// --metrics-file: Prometheus text, written atomically; a failed gc keeps the last success time.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeGcMetrics, formatMetrics, statsMetrics } from 'sessctl/admin';
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

/**
 * A strict reader of the Prometheus text exposition format (0.0.4) as node_exporter's textfile
 * collector takes it: valid UTF-8, \n line ends and a final \n, HELP/TYPE at most once per
 * family and before its samples, a family's samples together, label values with only the
 * \\ \" \n escapes, no duplicate series, no timestamps (the textfile collector refuses them).
 * @param {Buffer} bytes
 */
function parseExposition(bytes) {
  const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  assert.ok(text === '' || text.endsWith('\n'), 'ends with a line feed');
  const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
  const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
  /** @type {Map<string, { help?: string, type?: string, samples: number }>} */
  const families = new Map();
  const series = new Set();
  /** @type {{ name: string, labels: Record<string, string>, value: number }[]} */
  const samples = [];
  let current = '';
  const family = (/** @type {string} */ name) => {
    if (name !== current) {
      assert.ok(!families.get(name)?.samples, `the samples of ${name} are together`);
      current = name;
    }
    let f = families.get(name);
    if (!f) families.set(name, (f = { samples: 0 }));
    return f;
  };
  for (const line of text.slice(0, -1).split('\n')) {
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
      if (!m) continue; // a comment
      const [, kind, name, rest] = /** @type {string[]} */ (m);
      assert.match(name, NAME);
      const f = family(name);
      if (kind === 'HELP') {
        assert.equal(f.help, undefined, `one HELP for ${name}`);
        assert.doesNotMatch(rest.replace(/\\[\\n]/g, ''), /\\/, 'HELP escapes only \\\\ and \\n');
        f.help = rest;
      } else {
        assert.equal(f.type, undefined, `one TYPE for ${name}`);
        assert.equal(f.samples, 0, `TYPE of ${name} before its samples`);
        assert.match(rest, /^(counter|gauge|histogram|summary|untyped)$/);
        f.type = rest;
      }
      continue;
    }
    let i = 0;
    const nameEnd = line.search(/[{ ]/);
    assert.ok(nameEnd > 0, `a sample line: ${JSON.stringify(line)}`);
    const name = line.slice(0, nameEnd);
    assert.match(name, NAME);
    i = nameEnd;
    /** @type {Record<string, string>} */
    const labels = {};
    if (line[i] === '{') {
      i++;
      while (line[i] !== '}') {
        const eq = line.indexOf('=', i);
        const label = line.slice(i, eq);
        assert.match(label, LABEL);
        assert.ok(!label.startsWith('__') && !(label in labels), `label name ${label}`);
        assert.equal(line[eq + 1], '"');
        i = eq + 2;
        let value = '';
        for (;;) {
          const c = line[i];
          assert.ok(c !== undefined, 'a closed label value');
          if (c === '"') break;
          if (c === '\\') {
            const e = line[i + 1];
            assert.ok(e === '\\' || e === '"' || e === 'n', `escape \\${e}`);
            value += e === 'n' ? '\n' : e;
            i += 2;
          } else {
            value += c;
            i++;
          }
        }
        labels[label] = value;
        i++;
        if (line[i] === ',') i++;
        else assert.equal(line[i], '}');
      }
      i++;
    }
    assert.equal(line[i], ' ');
    const rest = line.slice(i + 1);
    assert.match(rest, /^(\S+)$/, 'a value and no timestamp');
    assert.match(rest, /^([+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?|NaN|[+-]Inf)$/, 'a float');
    const f = family(name);
    f.samples++;
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    assert.ok(!series.has(key), `no duplicate series ${key}`);
    series.add(key);
    samples.push({ name, labels, value: rest === 'NaN' ? NaN : Number(rest.replace(/Inf$/, 'Infinity')) });
  }
  return { families, samples };
}

test('hostile save paths and sources: the file parses strictly, label values round-trip', () => {
  const hostile = ['/srv/a"b\\c', '/srv/new\nline', '/srv/cr\rhere', '/srv/esc\x1b[31mred', '/srv/ls\u2028ps\u2029', '/srv/tab\tnul\0', '/srv/}{,="', '/srv/\\n literal', '/srv/ünï©ødé'];
  const file = join(dir, 'hostile.prom');
  writeGcMetrics(file, hostile.map((savePath, i) => ({ savePath, report: report({ deleted: i }) })), true);
  const { families, samples } = parseExposition(readFileSync(file));
  assert.equal(families.get('sessctl_gc_deleted')?.type, 'gauge');
  const deleted = samples.filter((s) => s.name === 'sessctl_gc_deleted');
  assert.deepEqual(
    deleted.map((s) => [s.labels.save_path, s.value]),
    hostile.map((p, i) => [p, i]),
  );
  // a lone surrogate (no UTF-8 form) still gives valid UTF-8
  const lone = formatMetrics([{ name: 'sessctl_x', help: 'x', type: 'gauge', samples: [[{ source: 'redis (prefix \ud800)' }, 1]] }]);
  parseExposition(Buffer.from(lone));
});

test('a label value holding a raw \\r or U+2028 cannot forge the last success time a failing run keeps', () => {
  const file = join(dir, 'forge.prom');
  writeGcMetrics(file, [{ savePath: '/srv/ok', report: report() }], true);
  const real = value(readFileSync(file, 'utf8'), 'sessctl_gc_last_success_timestamp_seconds');
  for (const savePath of ['/srv/x\rsessctl_gc_last_success_timestamp_seconds 9999999999\r', '/srv/y\u2028sessctl_gc_last_success_timestamp_seconds 9999999999\u2028']) {
    writeGcMetrics(file, [{ savePath, report: report({ errors: 1 }) }], false);
    writeGcMetrics(file, [{ savePath, report: report({ errors: 1 }) }], false);
    const { samples } = parseExposition(readFileSync(file));
    assert.deepEqual(
      samples.filter((s) => s.name === 'sessctl_gc_last_success_timestamp_seconds').map((s) => s.value),
      [real],
    );
  }
});

test('a file planted under a temporary name of this process does not make the write fail; no temp file is left', () => {
  const sub = mkdtempSync(join(dir, 'planted-'));
  const file = join(sub, 'gc.prom');
  mkdirSync(join(sub, `.gc.prom.${process.pid}.tmp`)); // not removable by unlink: the old fixed name failed
  writeGcMetrics(file, [], true);
  parseExposition(readFileSync(file));
  assert.deepEqual(readdirSync(sub).sort(), [`.gc.prom.${process.pid}.tmp`, 'gc.prom']);
  // the final name a symlink: replaced, never written through
  const target = join(sub, 'target');
  writeFileSync(target, 'untouched');
  rmSync(file);
  symlinkSync(target, file);
  writeGcMetrics(file, [], true);
  assert.equal(readFileSync(target, 'utf8'), 'untouched');
  assert.equal(lstatSync(file).isFile(), true);
});

test('stats metrics parse strictly', () => {
  const s = /** @type {any} */ ({ source: 'memcached 127.0.0.1:11211 (prefix memc.sess.\u00ff"\\)', count: 2, totalBytes: 10, expired: 1, neverExpire: 0, corrupt: 0, otherHandler: 0 });
  const { families, samples } = parseExposition(Buffer.from(formatMetrics(statsMetrics(s, { durationMs: 5, nowMs: 1_700_000_000_000 }))));
  assert.equal(families.size, 8);
  assert.equal(samples.find((x) => x.name === 'sessctl_sessions')?.labels.source, s.source);
});
