import { spawn } from 'node:child_process';
import type { ActedAs } from '../../admin/identity.js';
import { parseSavePath, statSaveDir } from '../../backends/index.js';
import { discoverSystemSessions, gcSystem, type SystemDiscovery, type SystemGcResult, type SystemTarget } from '../../admin/system/index.js';
import type { GcOptions } from '../../session/admin.js';
import { escapeText } from '../escape.js';
import { colorsFor, type Colors } from '../output.js';
import { json } from './common.js';
import { summary } from './gc.js';

/** What --dry-run (and --json) shows: every configuration found, what is skipped, what is collected and why. */
function describe(d: SystemDiscovery, c: Colors): string {
  const out: string[] = [`PHP configurations under ${escapeText(d.root)}:`];
  const width = Math.max(0, ...d.configs.map((k) => escapeText(k.name).length));
  for (const k of d.configs) {
    out.push(`  ${escapeText(k.name).padEnd(width)}  ${escapeText(k.saveHandler)} ${escapeText(JSON.stringify(k.savePath))} maxlifetime ${k.maxlifetime}s  ${c.dim(`${escapeText(k.file)}; read by ${escapeText(k.readBy)}`)}`);
  }
  if (d.configs.length === 0) out.push(c.dim('  none (no etc/php/*/*/php.ini)'));
  for (const p of d.problems) out.push(`${c.red('problem')}: ${escapeText(p)}`);
  if (d.skipped.length > 0) out.push('skipped:');
  for (const s of d.skipped) out.push(`  ${escapeText(s.config.name)}: ${escapeText(s.reason)}`);
  out.push('to collect:');
  for (const t of d.targets) {
    const why = t.configs.map((k) => `${escapeText(k.name)} ${k.maxlifetime}s`).join(', ');
    out.push(`  ${escapeText(t.savePath)} with maxlifetime ${t.maxlifetime}s ${c.dim(`(the longest of: ${why})`)}`);
  }
  if (d.targets.length === 0) out.push(c.dim('  nothing'));
  return out.join('\n') + '\n';
}

interface SystemOptions {
  systemRoot?: string;
  php?: boolean;
  dryRun?: boolean;
  json?: boolean;
  quiet?: boolean;
  jobs?: string;
  asRoot?: boolean;
}

type Result = SystemGcResult & { actedAs?: ActedAs };

/**
 * One save path collected by a `sessctl gc` child process, which (started as root) becomes the
 * save path's owner before touching it, as every one-save-path command does: one process can
 * drop root only once, and the save paths of several pools may belong to several users.
 */
function gcAsOwner(target: SystemTarget, opts: SystemOptions): Promise<Result> {
  // A dry-run listing goes straight to our stdout; otherwise the child's JSON report comes back.
  const listing = opts.dryRun === true && !opts.json;
  const args = [process.argv[1]!, 'gc', '--save-handler', 'files', '--serialize-handler', 'php', '--save-path', target.savePath, '--maxlifetime', String(target.maxlifetime), '--no-php'];
  if (opts.dryRun) args.push('--dry-run');
  if (opts.jobs !== undefined) args.push('--jobs', opts.jobs);
  if (opts.quiet) args.push('--quiet');
  if (!listing) args.push('--json');
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', listing ? 'inherit' : 'pipe', 'inherit'] });
    let out = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', (err) => resolve({ target, error: `${target.savePath}: cannot run sessctl gc: ${err.message}` }));
    child.on('close', (code) => {
      if (listing) return resolve(code === 0 ? { target } : { target, error: `${target.savePath}: sessctl gc exited ${code}` });
      try {
        const { actedAs, ...report } = JSON.parse(out) as SystemGcResult['report'] & { actedAs?: ActedAs };
        resolve({ target, report: report as NonNullable<SystemGcResult['report']>, actedAs });
      } catch {
        resolve({ target, error: `${target.savePath}: sessctl gc exited ${code}` });
      }
    });
  });
}

/**
 * Whether this target is collected by a child acting as its owner (root, not --as-root, owned
 * by someone else). The owner is that of the directory its save path really leads to, reached
 * as the gc will reach it (statSaveDir), not of the realpath: a save path that leads through a
 * symlink we may not follow stays here, where the gc refuses it.
 */
function byOwner(target: SystemTarget, opts: SystemOptions): boolean {
  if (opts.asRoot || process.geteuid?.() !== 0) return false;
  try {
    return statSaveDir(parseSavePath(target.savePath).path).uid !== 0;
  } catch {
    return false;
  }
}

/** `sessctl gc --system`: phpsessionclean's discovery plus FPM pools, then gc per save path. */
export async function runSystem(
  opts: SystemOptions,
  gcOptions: Omit<GcOptions, 'maxlifetime'>,
  onFile: (path: string, outcome: string, detail?: string) => void,
): Promise<{ code: number; scanned: number; results: Result[] }> {
  const discovery = await discoverSystemSessions({ root: opts.systemRoot, noPhp: opts.php === false });
  const c = await colorsFor(process.stdout);
  if (opts.dryRun && !opts.json && !opts.quiet) process.stdout.write(describe(discovery, c));
  for (const p of discovery.problems) process.stderr.write(`sessctl: ${escapeText(p)}\n`);
  const results: Result[] = [];
  for (const target of discovery.targets) {
    if (gcOptions.signal?.aborted) break;
    if (byOwner(target, opts)) results.push(await gcAsOwner(target, opts));
    else results.push(...(await gcSystem({ ...discovery, targets: [target] }, { ...gcOptions, onFile })));
  }
  let failed = discovery.problems.length > 0;
  for (const r of results) {
    if (r.error) {
      failed = true;
      process.stderr.write(`sessctl: ${escapeText(r.error)}\n`);
    } else if (r.report && r.report.errors > 0) failed = true;
    if (r.report && !opts.json && !opts.quiet) process.stdout.write(summary(r.report, c) + (r.actedAs?.switched ? c.dim(` (as ${escapeText(r.actedAs.user ?? `uid ${r.actedAs.uid}`)})`) : '') + '\n');
  }
  if (opts.json) process.stdout.write(json({ discovery, results }));
  else if (!opts.quiet && !opts.dryRun && discovery.skipped.length > 0) {
    for (const s of discovery.skipped) process.stdout.write(c.dim(`skipped ${escapeText(s.config.name)}: ${escapeText(s.reason)}`) + '\n');
  }
  return { code: failed ? 1 : 0, scanned: results.reduce((n, r) => n + (r.report?.scanned ?? 0), 0), results };
}
