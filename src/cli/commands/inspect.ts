import { inspectSession } from '../../admin/inspect.js';
import { escapeText } from '../escape.js';
import { loadCodec } from '../../admin/codec-bridge.js';
import { otherHandlerHint } from '../../admin/common.js';
import { DecodeError } from '../../errors.js';
import { formatBytes, formatDuration, formatTime, hexdumpAround } from '../format.js';
import { colorsFor } from '../output.js';
import { renderTree } from '../tree.js';
import type { CommonOptions } from '../index.js';
import { json, sourceFrom } from './common.js';

/** `sessctl inspect <id>`: tree, --json (plain view) or --raw (the bytes). */
export async function run(opts: CommonOptions & { full?: boolean; raw?: boolean }, args: string[]): Promise<number> {
  const id = args[0]!;
  const { resolved, source } = await sourceFrom(opts);
  const r = await inspectSession(source, resolved.values, id);
  await source.close();
  if (opts.raw) {
    process.stdout.write(r.bytes);
    return 0;
  }
  if (!r.data) {
    const err = r.error!;
    const offset = err instanceof DecodeError ? err.offset : undefined;
    process.stderr.write(`sessctl: ${escapeText(err.message.includes(r.location) ? err.message : `${r.location}: ${err.message}`)}${r.handler ? ` (handler ${r.handler})` : ''}\n`);
    const hint = otherHandlerHint(r, resolved.values.serializeHandler);
    if (hint) process.stderr.write(`sessctl: ${hint}\n`);
    // A session written with another handler is not damaged: no hexdump of a "fault".
    if (offset !== undefined && !hint) process.stderr.write(hexdumpAround(r.bytes, offset));
    return 1;
  }
  if (opts.json) {
    const codec = await loadCodec();
    process.stdout.write(json(codec.toPlain(r.data, { json: true })));
    return 0;
  }
  const c = await colorsFor(process.stdout);
  const expires = r.expiresInSeconds < 0 ? c.red('expired') : `expires in ${formatDuration(r.expiresInSeconds)}`;
  process.stdout.write(
    `${c.bold(`session ${escapeText(r.id)}`)} ${c.dim(escapeText(r.location))}\n` +
      c.dim(`${r.handler}, ${formatBytes(r.size)}, ${r.data.size} keys, modified ${formatTime(r.mtimeMs)} (${formatDuration(r.ageSeconds)} ago), `) +
      expires +
      '\n',
  );
  process.stdout.write(renderTree(r.data, { colors: c, full: opts.full }));
  return 0;
}
