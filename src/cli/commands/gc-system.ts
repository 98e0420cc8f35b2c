import { discoverSystemSessions, gcSystem, type SystemDiscovery } from '../../admin/system/index.js';
import type { GcOptions } from '../../session/admin.js';
import { escapeText } from '../escape.js';
import { colorsFor, type Colors } from '../output.js';
import { json } from './common.js';
import { summary } from './gc.js';

/** What --dry-run (and --json) shows: every configuration found, what is skipped, what is collected and why. */
function describe(d: SystemDiscovery, c: Colors): string {
  const out: string[] = [`PHP configurations under ${escapeText(d.root)}:`];
  const width = Math.max(0, ...d.configs.map((k) => k.name.length));
  for (const k of d.configs) {
    out.push(`  ${k.name.padEnd(width)}  ${k.saveHandler} ${escapeText(JSON.stringify(k.savePath))} maxlifetime ${k.maxlifetime}s  ${c.dim(`${escapeText(k.file)}; read by ${escapeText(k.readBy)}`)}`);
  }
  if (d.configs.length === 0) out.push(c.dim('  none (no etc/php/*/*/php.ini)'));
  for (const p of d.problems) out.push(`${c.red('problem')}: ${escapeText(p)}`);
  if (d.skipped.length > 0) out.push('skipped:');
  for (const s of d.skipped) out.push(`  ${s.config.name}: ${escapeText(s.reason)}`);
  out.push('to collect:');
  for (const t of d.targets) {
    const why = t.configs.map((k) => `${k.name} ${k.maxlifetime}s`).join(', ');
    out.push(`  ${escapeText(t.savePath)} with maxlifetime ${t.maxlifetime}s ${c.dim(`(the longest of: ${why})`)}`);
  }
  if (d.targets.length === 0) out.push(c.dim('  nothing'));
  return out.join('\n') + '\n';
}

/** `sessctl gc --system`: phpsessionclean's discovery plus FPM pools, then gc per save path. */
export async function runSystem(
  opts: { systemRoot?: string; php?: boolean; dryRun?: boolean; json?: boolean; quiet?: boolean },
  gcOptions: Omit<GcOptions, 'maxlifetime'>,
  onFile: (path: string, outcome: string, detail?: string) => void,
): Promise<{ code: number; scanned: number; results: Awaited<ReturnType<typeof gcSystem>> }> {
  const discovery = await discoverSystemSessions({ root: opts.systemRoot, noPhp: opts.php === false });
  const c = await colorsFor(process.stdout);
  if (opts.dryRun && !opts.json && !opts.quiet) process.stdout.write(describe(discovery, c));
  for (const p of discovery.problems) process.stderr.write(`sessctl: ${escapeText(p)}\n`);
  const results = await gcSystem(discovery, { ...gcOptions, onFile });
  let failed = discovery.problems.length > 0;
  for (const r of results) {
    if (r.error) {
      failed = true;
      process.stderr.write(`sessctl: ${escapeText(r.error)}\n`);
    } else if (r.report && r.report.errors > 0) failed = true;
    if (r.report && !opts.json && !opts.quiet) process.stdout.write(summary(r.report, c) + '\n');
  }
  if (opts.json) process.stdout.write(json({ discovery, results }));
  else if (!opts.quiet && !opts.dryRun && discovery.skipped.length > 0) {
    for (const s of discovery.skipped) process.stdout.write(c.dim(`skipped ${s.config.name}: ${escapeText(s.reason)}`) + '\n');
  }
  return { code: failed ? 1 : 0, scanned: results.reduce((n, r) => n + (r.report?.scanned ?? 0), 0), results };
}
