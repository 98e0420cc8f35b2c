import { destroySessions } from '../../admin/destroy.js';
import { parseWhere } from '../../admin/where/index.js';
import { escapeText } from '../escape.js';
import { ConfigError } from '../../errors.js';
import { colorsFor, formatJson } from '../output.js';
import { canShowProgress } from '../output.js';
import { ProgressLine, withProgress } from '../progress.js';
import type { CommonOptions } from '../index.js';
import { actedAs, durationOpt, lockTimeoutOpt, json, printWalkError, sourceFrom } from './common.js';

interface DestroyOptions extends CommonOptions {
  olderThan?: string;
  newerThan?: string;
  allMatching?: boolean;
  dryRun?: boolean;
  lockTimeout?: string;
  where?: string;
  ndjson?: boolean;
}

/** `sessctl destroy <id…>` or `--older-than … --all-matching`. */
export async function run(opts: DestroyOptions, ids: string[]): Promise<number> {
  const olderThan = durationOpt(opts.olderThan, '--older-than');
  const newerThan = durationOpt(opts.newerThan, '--newer-than');
  const lockTimeoutMs = lockTimeoutOpt(opts.lockTimeout);
  if (opts.json && opts.ndjson) throw new ConfigError('--json and --ndjson: pick one');
  if (opts.where !== undefined) parseWhere(opts.where);
  const { resolved, source: opened } = await sourceFrom(opts);
  const source = withProgress(opened, new ProgressLine(canShowProgress(opts.quiet) && (!process.stdout.isTTY || opts.json === true)), 'scanned');
  const c = await colorsFor(process.stdout);
  const failures: { id: string; outcome: string; message?: string }[] = [];
  const report = await destroySessions(source, {
    ids,
    olderThan,
    newerThan,
    where: opts.where,
    framework: resolved.app?.framework,
    settings: resolved.values,
    allMatching: opts.allMatching,
    dryRun: opts.dryRun,
    lockTimeoutMs,
    onError: printWalkError,
    onResult: (r) => {
      if (opts.ndjson) process.stdout.write(formatJson(r, 0) + '\n');
      if (r.outcome === 'failed' || r.outcome === 'missing') {
        failures.push(r);
        process.stderr.write(`sessctl: ${escapeText(`${r.id}: ${r.message}`)}\n`);
      } else if (!opts.quiet && !opts.json && !opts.ndjson) {
        const text = r.outcome === 'destroyed' ? c.red('destroyed') : r.outcome === 'would-destroy' ? 'would destroy' : c.dim(escapeText(r.message ?? r.outcome));
        process.stdout.write(`${escapeText(r.id)}  ${text}\n`);
      }
    },
  });
  await source.close();
  if (opts.json) process.stdout.write(json({ ...report, failures, actedAs }));
  else if (opts.ndjson) process.stdout.write(formatJson({ report: { ...report, actedAs } }, 0) + '\n');
  else if (!opts.quiet) {
    process.stdout.write(`${report.dryRun ? 'would destroy' : 'destroyed'} ${report.destroyed}, missing ${report.missing}, kept ${report.kept}, failed ${report.failed}\n`);
  }
  return report.failed > 0 || report.missing > 0 ? 1 : 0;
}
