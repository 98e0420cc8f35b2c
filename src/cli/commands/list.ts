import { parseWhere } from '../../admin/where/index.js';
import { listSessions, type ListSort, type SessionInfo } from '../../admin/list.js';
import { escapeText } from '../escape.js';
import { ConfigError } from '../../errors.js';
import { formatBytes, formatDuration, formatTime, tableRow, type Column } from '../format.js';
import { canShowProgress, colorsFor, formatJson, writeOut, type Colors } from '../output.js';
import { ProgressLine, withProgress } from '../progress.js';
import type { CommonOptions } from '../index.js';
import { durationOpt, printWalkError, sourceFrom } from './common.js';

interface ListOptions extends CommonOptions {
  olderThan?: string;
  newerThan?: string;
  sort?: ListSort;
  reverse?: boolean;
  limit?: string;
  decode?: boolean;
  ndjson?: boolean;
  where?: string;
}

/** `sessctl list`: a table, a JSON array or NDJSON, streamed unless sorted. */
export async function run(opts: ListOptions): Promise<number> {
  let limit: number | undefined;
  if (opts.limit !== undefined) {
    limit = Number(opts.limit);
    if (!Number.isSafeInteger(limit) || limit < 0) throw new ConfigError(`--limit: ${JSON.stringify(opts.limit)} is not a count`);
  }
  if (opts.json && opts.ndjson) throw new ConfigError('--json and --ndjson: pick one');
  // A bad expression is reported before anything is printed or opened.
  if (opts.where !== undefined) parseWhere(opts.where);
  const { resolved, source: opened } = await sourceFrom(opts);
  // Rows on a terminal are their own progress; with stdout redirected, stderr shows the count.
  const source = withProgress(opened, new ProgressLine(canShowProgress(false) && !process.stdout.isTTY), 'listed');
  let errors = 0;
  let undecodable = 0;
  const rows = listSessions(source, resolved.values, {
    where: opts.where,
    framework: resolved.app?.framework,
    onUndecodable: () => undecodable++,
    olderThan: durationOpt(opts.olderThan, '--older-than'),
    newerThan: durationOpt(opts.newerThan, '--newer-than'),
    sort: opts.sort,
    reverse: opts.reverse,
    limit,
    noDecode: opts.decode === false,
    onError: (loc, err) => {
      errors++;
      printWalkError(loc, err);
    },
  });
  if (opts.ndjson) {
    for await (const row of rows) await writeOut(formatJson(row, 0) + '\n');
  } else if (opts.json) {
    // Streamed as an array so that even --json does not hold every row.
    let first = true;
    await writeOut('[');
    for await (const row of rows) {
      await writeOut((first ? '\n  ' : ',\n  ') + formatJson(row, 0));
      first = false;
    }
    await writeOut(first ? ']\n' : '\n]\n');
  } else {
    const c = await colorsFor(process.stdout);
    const columns: Column[] = [
      { title: 'ID', width: 32 },
      { title: 'SIZE', width: 9, align: 'right' },
      { title: 'MODIFIED', width: 19 },
      { title: 'AGE', width: 8, align: 'right' },
      { title: 'EXPIRES IN', width: 10, align: 'right' },
      { title: 'HANDLER', width: 13 },
      { title: 'KEYS', width: 4, align: 'right' },
    ];
    await writeOut(c.bold(tableRow(columns, columns.map((col) => col.title)).trimEnd()) + '\n');
    let count = 0;
    const others = new Map<string, number>();
    for await (const r of rows) {
      count++;
      if (r.decodesWith) others.set(r.decodesWith, (others.get(r.decodesWith) ?? 0) + 1);
      await writeOut(tableRow(columns, cells(r, c)));
    }
    if (count === 0) {
      const filtered = opts.where !== undefined || opts.olderThan !== undefined || opts.newerThan !== undefined || limit === 0;
      // Sessions it could not read are not "no sessions": the errors above said why.
      if (errors > 0) process.stderr.write(`sessctl: none of the sessions in ${escapeText(source.description)} could be read (${errors} error${errors === 1 ? '' : 's'})\n`);
      else process.stderr.write(`sessctl: no sessions ${filtered ? 'match in' : 'in'} ${escapeText(source.description)}\n`);
    }
    for (const [h, n] of others) {
      process.stderr.write(
        `sessctl: ${n} session${n === 1 ? '' : 's'} (handler ${h}!) ${n === 1 ? 'is' : 'are'} not corrupt but written with ${h}, not the configured ${resolved.values.serializeHandler}: ` +
          `--serialize-handler ${h} (or auto) reads them; PHP configured with ${resolved.values.serializeHandler} fails to decode them, and destroys them\n`,
      );
    }
  }
  await source.close();
  if (undecodable > 0) process.stderr.write(`sessctl: ${undecodable} session${undecodable === 1 ? '' : 's'} did not decode${resolved.values.serializeHandler === 'auto' ? '' : ` with ${resolved.values.serializeHandler}`}; --where could not look inside ${undecodable === 1 ? 'it' : 'them'} (see sessctl validate)\n`);
  return errors > 0 ? 1 : 0;
}

function cells(r: SessionInfo, c: Colors): string[] {
  // A key without an expiry (Redis, Memcached): its last write is unknown, and it never expires.
  const expires = r.expiresInSeconds === null ? c.yellow('never') : r.expiresInSeconds < 0 ? c.red('expired') : formatDuration(r.expiresInSeconds);
  return [
    escapeText(r.id),
    formatBytes(r.size),
    r.mtimeMs === null ? c.dim('?') : formatTime(r.mtimeMs),
    r.ageSeconds === null ? c.dim('?') : formatDuration(r.ageSeconds),
    expires,
    // Written with another handler than the configured one: name it, marked, instead of "corrupt".
    r.decodesWith ? c.yellow(`${r.decodesWith}!`) : r.handler ?? c.dim('-'),
    r.keys === null ? (r.decodesWith ? c.yellow('?') : r.error ? c.red('corrupt') : c.dim('-')) : String(r.keys),
  ];
}
