import { migrateSessions, type MigrateReport } from '../../admin/migrate.js';
import type { AdminSettings } from '../../admin/settings.js';
import { openAdminSource } from '../../backends/index.js';
import { ConfigError } from '../../errors.js';
import type { SerializeHandler } from '../../codec/session.js';
import { escapeText } from '../escape.js';
import { formatCount } from '../format.js';
import { canShowProgress } from '../output.js';
import { ProgressLine } from '../progress.js';
import type { CommonOptions } from '../index.js';
import { actedAs, durationOpt, lockTimeoutOpt, iniFlags, json, printWalkError, sourceFrom } from './common.js';

interface MigrateFlags extends CommonOptions {
  toSaveHandler: string;
  toSavePath?: string;
  toSerializeHandler?: string;
  toMaxlifetime?: string;
  toIni?: string[];
  dryRun?: boolean;
  verify?: boolean;
  overwrite?: boolean;
  report?: string;
  jobs?: string;
  lockTimeout?: string;
}

/** `sessctl migrate`: every live session from the source backend into the target one. */
export async function run(opts: MigrateFlags): Promise<number> {
  const lockTimeoutMs = lockTimeoutOpt(opts.lockTimeout);
  const jobs = opts.jobs === undefined ? undefined : Number(opts.jobs);
  if (opts.toSaveHandler === 'files' && !opts.toSavePath) throw new ConfigError('--to-save-path is required for a files target (the directory PHP will use)');
  const { resolved, source } = await sourceFrom(opts);
  const from = resolved.values;
  const toSettings: AdminSettings = {
    saveHandler: opts.toSaveHandler,
    savePath: opts.toSavePath ?? '',
    serializeHandler: (opts.toSerializeHandler ?? from.serializeHandler) as AdminSettings['serializeHandler'],
    maxlifetime: durationOpt(opts.toMaxlifetime, '--to-maxlifetime') ?? from.maxlifetime,
    ini: iniFlags(opts.toIni),
  };
  // An app that encrypts its sessions keeps them encrypted when they move to another of its Laravel stores.
  if (from.payloadCipher && opts.toSaveHandler.startsWith('laravel-')) toSettings.payloadCipher = from.payloadCipher;
  const target = await openAdminSource(toSettings);
  const progress = new ProgressLine(canShowProgress(opts.quiet));
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  let report: MigrateReport;
  try {
    await source.check();
    await target.check();
    report = await migrateSessions(source, from, target, {
      toSerializeHandler: opts.toSerializeHandler as SerializeHandler | undefined,
      dryRun: opts.dryRun,
      verify: opts.verify,
      overwrite: opts.overwrite,
      lockTimeoutMs,
      jobs,
      reportFile: opts.report,
      signal: controller.signal,
      onError: printWalkError,
      onProgress: (r) => progress.update(`checked ${formatCount(r.checked)} · moved ${formatCount(r.moved)} · exists ${formatCount(r.exists)} · failed ${formatCount(r.failed)}`),
      onResult: (r) => {
        if (r.outcome === 'failed') {
          progress.done();
          process.stderr.write(`sessctl: ${escapeText(`${r.location}: ${(r.message ?? '').replace(`${r.location}: `, '')}`)}\n`);
        } else if (r.outcome === 'would-move' && !opts.quiet && !opts.json) {
          process.stdout.write(`${escapeText(r.id)}: would move (${r.remainingSeconds}s left)\n`);
        }
      },
    });
  } finally {
    progress.done();
    process.removeListener('SIGINT', onSigint);
    await source.close();
    await target.close();
  }
  if (report.reportFileError) process.stderr.write(`sessctl: ${escapeText(report.reportFileError)}\n`);
  if (report.gaveUp) process.stderr.write(`sessctl: migrate ${escapeText(report.gaveUp)}\n`);
  if (controller.signal.aborted) process.stderr.write('sessctl: interrupted; run again with the same --report to go on\n');
  if (opts.json) process.stdout.write(json({ ...report, actedAs }));
  else if (!opts.quiet) {
    const verb = report.dryRun ? 'would move' : 'moved';
    const parts = [
      `checked ${formatCount(report.checked)}`,
      `${verb} ${formatCount(report.moved)}`,
      `already there ${formatCount(report.exists)}`,
      `expired ${formatCount(report.expired)}`,
      `vanished ${formatCount(report.vanished)}`,
      ...(report.doneBefore ? [`done before ${formatCount(report.doneBefore)}`] : []),
      `failed ${formatCount(report.failed)}`,
      ...(report.verified !== undefined ? [`verified ${formatCount(report.verified)} (${formatCount(report.mismatched ?? 0)} differ)`] : []),
      `${(report.durationMs / 1000).toFixed(2)} s`,
    ];
    process.stdout.write(`migrate ${escapeText(report.from)} → ${escapeText(report.to)}: ${parts.join(', ')}\n`);
  }
  return report.failed > 0 || (report.mismatched ?? 0) > 0 || report.reportFileError !== undefined || report.gaveUp !== undefined || controller.signal.aborted ? 1 : 0;
}
