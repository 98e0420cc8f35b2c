import { mkdirs } from '../../admin/mkdirs.js';
import { ConfigError } from '../../errors.js';
import { escapeText } from '../escape.js';
import type { CommonOptions } from '../index.js';
import { actedAs, json, settingsAsOwner } from './common.js';

/** `sessctl mkdirs`: PHP's mod_files.sh, with PHP's own sid_bits_per_character. */
export async function run(opts: CommonOptions & { bits?: string; depth?: string; mode?: string }): Promise<number> {
  const { values, sources } = await settingsAsOwner(opts, { sidBitsPerCharacter: opts.bits });
  const depth = opts.depth === undefined ? undefined : Number(opts.depth);
  if (depth !== undefined && !Number.isSafeInteger(depth)) throw new ConfigError(`--depth: ${opts.depth} is not a number`);
  let mode: number | undefined;
  if (opts.mode !== undefined) {
    if (!/^[0-7]{1,4}$/.test(opts.mode)) throw new ConfigError(`--mode: ${opts.mode} is not an octal mode`);
    mode = parseInt(opts.mode, 8);
  }
  const bits = values.sidBitsPerCharacter ?? 4;
  const r = await mkdirs(values, { bits, depth, mode });
  if (opts.json) process.stdout.write(json({ ...r, bits, actedAs }));
  else if (!opts.quiet) {
    const from = sources.sidBitsPerCharacter;
    process.stdout.write(
      `created ${r.created} directories (${r.existing} already there) under ${escapeText(r.path)}, depth ${r.depth}, ${1 << bits} per level ` +
        `(session.sid_bits_per_character ${bits}, from ${from.kind}: ${escapeText(from.detail)})\n`,
    );
  }
  return 0;
}
