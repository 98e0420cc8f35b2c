import { setSessionValue } from '../../admin/set.js';
import { parsePath } from '../../admin/where/index.js';
import { escapeText } from '../escape.js';
import { colorsFor, formatJson } from '../output.js';
import type { CommonOptions } from '../index.js';
import { actedAs, lockTimeoutOpt, json, sourceFrom } from './common.js';

/** `sessctl set ID PATH JSON` / `sessctl unset ID PATH`. */
export async function run(opts: CommonOptions & { dryRun?: boolean; lockTimeout?: string }, args: string[], unset: boolean): Promise<number> {
  const [id, path, value] = args as [string, string, string | undefined];
  const lockTimeoutMs = lockTimeoutOpt(opts.lockTimeout);
  parsePath(path, unset ? 'unset PATH' : 'set PATH'); // a bad path is reported before anything is opened
  const { resolved, source } = await sourceFrom(opts);
  const r = await setSessionValue(source, resolved.values, { id, path, json: value, unset, dryRun: opts.dryRun, lockTimeoutMs }).finally(() => source.close());
  if (opts.json) {
    process.stdout.write(json({ ...r, actedAs }));
    return 0;
  }
  if (opts.quiet) return 0;
  const c = await colorsFor(process.stdout);
  const show = (v: unknown) => (v === undefined ? c.dim('(not set)') : escapeText(formatJson(v, 0) ?? String(v)));
  const verb = r.outcome === 'unchanged' ? 'unchanged' : r.outcome === 'would-change' ? 'would change' : 'changed';
  process.stdout.write(`${escapeText(r.id)} ${escapeText(path)}: ${verb} (${r.handler}, ${r.sizeBefore} → ${r.sizeAfter} bytes)\n`);
  process.stdout.write(`  ${c.red('before')} ${show(r.before)}\n  ${c.green('after')}  ${show(r.after)}\n`);
  return 0;
}
