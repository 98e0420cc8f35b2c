import { validateSessions, type ValidationProblem } from '../../admin/validate.js';
import { escapeText } from '../escape.js';
import type { CommonOptions } from '../index.js';
import { actedAs, json, printWalkError, sourceFrom } from './common.js';

/** `sessctl validate`: every session PHP would fail to decode; exit 1 if any. */
export async function run(opts: CommonOptions): Promise<number> {
  const { resolved, source } = await sourceFrom(opts);
  const problems: ValidationProblem[] = [];
  const report = await validateSessions(source, resolved.values, {
    onError: printWalkError,
    onInvalid: (p) => {
      if (opts.json) problems.push(p);
      else process.stdout.write(`${escapeText(`${p.location}: ${p.message.replace(`${p.location}: `, '')}`)}${p.handler ? ` (handler ${p.handler})` : ''}\n`);
    },
  });
  await source.close();
  if (opts.json) process.stdout.write(json({ ...report, handler: resolved.values.serializeHandler, problems, actedAs }));
  else if (!opts.quiet) {
    process.stdout.write(`validate ${escapeText(source.description)}: checked ${report.checked}, ${report.invalid} PHP would fail to decode (and destroy)${report.unreadable ? `, ${report.unreadable} unreadable` : ''}\n`);
  }
  return report.invalid > 0 || report.unreadable > 0 ? 1 : 0;
}
