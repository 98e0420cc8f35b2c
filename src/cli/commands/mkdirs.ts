import { mkdirs } from '../../admin/mkdirs.js';
import { ConfigError } from '../../errors.js';
import type { CommonOptions } from '../index.js';
import { actedAs, json, settingsAsOwner } from './common.js';

/** `sessctl mkdirs`: PHP's mod_files.sh. */
export async function run(opts: CommonOptions & { bits?: string; depth?: string; mode?: string }): Promise<number> {
  const { values } = await settingsAsOwner(opts);
  const depth = opts.depth === undefined ? undefined : Number(opts.depth);
  if (depth !== undefined && !Number.isSafeInteger(depth)) throw new ConfigError(`--depth: ${opts.depth} is not a number`);
  let mode: number | undefined;
  if (opts.mode !== undefined) {
    if (!/^[0-7]{1,4}$/.test(opts.mode)) throw new ConfigError(`--mode: ${opts.mode} is not an octal mode`);
    mode = parseInt(opts.mode, 8);
  }
  const r = await mkdirs(values, { bits: Number(opts.bits ?? 4), depth, mode });
  if (opts.json) process.stdout.write(json({ ...r, actedAs }));
  else process.stdout.write(`created ${r.created} directories (${r.existing} already there) under ${r.path}, depth ${r.depth}, ${1 << Number(opts.bits ?? 4)} per level\n`);
  return 0;
}
