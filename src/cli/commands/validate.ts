import { validateSessions, type ValidateReport, type ValidationProblem } from '../../admin/validate.js';
import { escapeText } from '../escape.js';
import { canShowProgress } from '../output.js';
import { ProgressLine, withProgress } from '../progress.js';
import type { CommonOptions } from '../index.js';
import { actedAs, json, printWalkError, sourceFrom, SOURCE_AND_IDS } from './common.js';

/** `sessctl validate`: every session PHP would fail to decode; exit 1 if any. */
export async function run(opts: CommonOptions): Promise<number> {
  const { resolved, source: opened } = await sourceFrom(opts, SOURCE_AND_IDS);
  const source = withProgress(opened, new ProgressLine(canShowProgress(opts.quiet)), 'checked');
  const problems: ValidationProblem[] = [];
  const report = await validateSessions(source, resolved.values, {
    onError: printWalkError,
    onInvalid: (p) => {
      if (opts.json) problems.push(p);
      else {
        const hint = p.decodesWith ? `; not corrupt: it decodes with ${p.decodesWith}` : '';
        process.stdout.write(`${escapeText(`${p.location}: ${p.message.replace(`${p.location}: `, '')}`)}${p.handler ? ` (handler ${p.handler}${hint})` : ''}\n`);
      }
    },
  });
  await source.close();
  if (report.missingDirectories > 0 && !opts.json) {
    const bits = resolved.values.sidBitsPerCharacter ?? 4;
    process.stdout.write(
      `${escapeText(source.description)}: ${report.missingDirectories} directories PHP needs for ids of sid_bits_per_character ${bits} are missing ` +
        `(PHP fails to write sessions there; run: sessctl mkdirs), e.g.:\n` +
        report.missingDirectorySamples.slice(0, 5).map((d) => `  ${escapeText(d)}${notADirectory(report, d)}\n`).join('') +
        (report.missingDirectories > 5 ? '  …\n' : ''),
    );
  }
  if (opts.json) process.stdout.write(json({ ...report, handler: resolved.values.serializeHandler, problems, actedAs }));
  else if (!opts.quiet) {
    process.stdout.write(`validate ${escapeText(source.description)}: checked ${report.checked}, ${report.invalid} PHP would fail to decode (and destroy)${report.unreadable ? `, ${report.unreadable} unreadable` : ''}\n`);
  }
  return report.invalid > 0 || report.unreadable > 0 || report.missingDirectories > 0 ? 1 : 0;
}

/** What stands where a needed directory should be: mkdirs will not replace it. */
function notADirectory(report: ValidateReport, path: string): string {
  const found = report.notDirectories.find((n) => n.path === path);
  if (!found) return '';
  const what = found.is === 'symlink' ? 'a symlink (never followed)' : found.is === 'file' ? 'a file' : 'not a directory';
  return ` — ${what}: remove it, then run sessctl mkdirs`;
}
