// The shipped systemd units and cron line: in the package, and running what the docs say.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, sessctl } from '../helpers/cli.js';

const read = (name) => readFileSync(join(ROOT, 'systemd', name), 'utf8');

test('package.json ships systemd/, and each unit runs gc --system with the metrics file', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  assert.ok(pkg.files.includes('systemd'));
  assert.ok(pkg.dependencies['fast-glob'], 'fast-glob is a runtime dependency (dist uses it)');
  const service = read('sessctl-gc.service');
  const exec = /^ExecStart=(\S+) (.*)$/m.exec(service);
  assert.ok(exec);
  assert.ok(exec[1].startsWith('/'), 'systemd needs an absolute path');
  assert.match(exec[2], /^gc --system --quiet --metrics-file \S+\.prom$/);
  assert.match(service, /^Type=oneshot$/m);
  assert.doesNotMatch(service, /^PrivateTmp=true/m);
  const timer = read('sessctl-gc.timer');
  assert.match(timer, /^OnCalendar=\*-\*-\* \*:09,39:00$/m);
  assert.match(timer, /^WantedBy=timers\.target$/m);
  const cron = read('sessctl.cron').split('\n').filter((l) => l && !l.startsWith('#'));
  assert.equal(cron.length, 1);
  assert.match(cron[0], /^09,39 +\* +\* \* \* +root +.*sessctl gc --system --quiet --metrics-file/);
});

test('the command line the units run parses (as --dry-run over an empty root)', () => {
  const args = /^ExecStart=\S+ (.*)$/m.exec(read('sessctl-gc.service'))[1].split(' ');
  const r = sessctl([...args, '--dry-run', '--system-root', '/nonexistent-root']);
  assert.equal(r.code, 0, r.stderr);
});
