import { convertSessions } from '../../admin/convert.js';
import { escapeText } from '../escape.js';
import { canShowProgress } from '../output.js';
import { ProgressLine, withProgress } from '../progress.js';
import type { CommonOptions } from '../index.js';
import { actedAs, lockTimeoutOpt, json, printWalkError, sourceFrom } from './common.js';

/** `sessctl convert --to <handler>`: in place, under each session's lock. */
export async function run(opts: CommonOptions & { to: string; dryRun?: boolean; lockTimeout?: string }): Promise<number> {
  const lockTimeoutMs = lockTimeoutOpt(opts.lockTimeout);
  const { resolved, source: opened } = await sourceFrom(opts);
  const source = withProgress(opened, new ProgressLine(canShowProgress(opts.quiet) && (!process.stdout.isTTY || opts.json === true)), 'checked');
  const listed: unknown[] = [];
  const report = await convertSessions(source, resolved.values, {
    to: opts.to,
    dryRun: opts.dryRun,
    lockTimeoutMs,
    onError: printWalkError,
    onResult: (r) => {
      if (opts.json) {
        if (r.outcome !== 'unchanged') listed.push(r);
        return;
      }
      if (r.outcome === 'refused') process.stdout.write(`${escapeText(`${r.location}: refused (${r.message})`)}; left as it is\n`);
      else if (r.outcome === 'failed') process.stderr.write(`sessctl: ${escapeText(`${r.location}: ${(r.message ?? '').replace(`${r.location}: `, '')}`)}\n`);
      else if (r.outcome === 'would-convert' && !opts.quiet) process.stdout.write(`${escapeText(r.location)}: would convert ${r.from} → ${opts.to}\n`);
    },
  });
  await source.close();
  if (opts.json) process.stdout.write(json({ ...report, results: listed, actedAs }));
  else if (!opts.quiet) {
    const verb = report.dryRun ? 'would convert' : 'converted';
    process.stdout.write(`convert to ${report.to}: checked ${report.checked}, ${verb} ${report.converted}, unchanged ${report.unchanged}, refused ${report.refused}, failed ${report.failed}\n`);
    if (!report.dryRun && report.converted > 0) {
      process.stderr.write(`sessctl: now set session.serialize_handler = ${report.to} for PHP, or PHP will fail to decode (and destroy) the converted sessions\n`);
    }
  }
  return report.refused > 0 || report.failed > 0 ? 1 : 0;
}
