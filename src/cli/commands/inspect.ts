import { inspectSession } from '../../admin/inspect.js';
import { bytesToKeyString } from '../../codec/strings.js';
import { escapeText } from '../escape.js';
import { loadCodec } from '../../admin/codec-bridge.js';
import { otherHandlerHint } from '../../admin/common.js';
import { ConfigError, DecodeError, InvalidSessionIdError } from '../../errors.js';
import type { AppConfig } from '../../admin/app/types.js';
import { formatBytes, formatDuration, formatTime, hexdumpAround } from '../format.js';
import { colorsFor } from '../output.js';
import { renderTree } from '../tree.js';
import type { CommonOptions } from '../index.js';
import { json, sourceFrom } from './common.js';

/** `sessctl inspect <id>` or `--cookie VALUE`: tree, --json (plain view) or --raw (the bytes). */
export async function run(opts: CommonOptions & { full?: boolean; raw?: boolean; cookie?: string }, args: string[]): Promise<number> {
  if ((args[0] === undefined) === (opts.cookie === undefined)) throw new ConfigError('give a session id or --cookie VALUE (one of them)');
  const { resolved, source } = await sourceFrom(opts);
  let r;
  try {
    const id = opts.cookie === undefined ? args[0]! : await sessionIdFromCookie(opts.cookie, resolved.app);
    r = await inspectSession(source, resolved.values, id);
  } finally {
    await source.close();
  }
  if (opts.raw) {
    // The bytes as stored are for a pipe or a file; on a terminal they could carry control
    // sequences: escaped there (valid UTF-8 as text, any other byte as \xNN).
    if (process.stdout.isTTY) {
      const bytes = Buffer.from(r.bytes.buffer, r.bytes.byteOffset, r.bytes.byteLength);
      process.stdout.write(escapeText(bytesToKeyString(bytes, 0, bytes.length)) + '\n');
    }
    else process.stdout.write(r.bytes);
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
  const framework = resolved.app?.framework;
  const auth = framework ? await import('../../admin/app/auth.js') : undefined;
  const codec = await loadCodec();
  const who = auth && framework ? auth.sessionAuth(framework, r.data, codec.toPlain) : null;
  if (opts.json) {
    const plain = codec.toPlain(r.data, { json: true });
    process.stdout.write(json(auth ? auth.withAuth(plain, who) : plain));
    return 0;
  }
  const c = await colorsFor(process.stdout);
  const expires = r.expiresInSeconds === null ? 'never expires' : r.expiresInSeconds < 0 ? c.red('expired') : `expires in ${formatDuration(r.expiresInSeconds)}`;
  const modified = r.mtimeMs === null || r.ageSeconds === null ? 'modified: unknown' : `modified ${formatTime(r.mtimeMs)} (${formatDuration(r.ageSeconds)} ago)`;
  process.stdout.write(
    `${c.bold(`session ${escapeText(r.id)}`)} ${c.dim(escapeText(r.location))}\n` +
      c.dim(`${r.handler}, ${formatBytes(r.size)}, ${r.data.size} keys, ${modified}, `) +
      expires +
      '\n',
  );
  if (framework) {
    const names = who ? Object.entries(who).filter(([k]) => k !== 'user') : [];
    process.stdout.write(c.dim(names.length ? `logged in: ${names.map(([k, v]) => `${escapeText(typeof v === 'string' ? v : JSON.stringify(v))} (${escapeText(k)})`).join(', ')}` : 'logged in: nobody') + '\n');
  }
  process.stdout.write(renderTree(r.data, { colors: c, full: opts.full }));
  return 0;
}

/**
 * The session id a cookie value carries: a Laravel app's cookie is decrypted and verified with
 * its APP_KEY; otherwise (Symfony, plain PHP) the value is the id, URL-decoded.
 * @throws LaravelDecryptError (nothing of the cookie is shown); InvalidSessionIdError.
 */
async function sessionIdFromCookie(value: string, app: AppConfig | undefined): Promise<string> {
  if (app?.cookieToId) return app.cookieToId(value);
  let id = value.trim();
  try {
    id = decodeURIComponent(id);
  } catch {
    throw new InvalidSessionIdError('(cookie)', 'the cookie value is not validly URL-encoded');
  }
  return id;
}
