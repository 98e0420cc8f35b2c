import { ConfigError } from '../errors.js';
import type { AdminSettings } from './settings.js';
import { loadCreateSessionDirs, parseSavePath } from '../backends/index.js';

/**
 * PHP's mod_files.sh: creates the depth-N directory tree of the files save path for ids of
 * `bits` bits per character (16, 32 or 64 directories per level; default: the settings'
 * session.sid_bits_per_character, as PHP will name them). Idempotent.
 * @throws ConfigError for depth 0, bad bits or a non-files handler; SessionFileError when the save path is unusable.
 */
export async function mkdirs(settings: AdminSettings, options: { bits?: number; depth?: number; mode?: number } = {}): Promise<{ path: string; depth: number; created: number; existing: number }> {
  if (settings.saveHandler !== 'files') throw new ConfigError(`mkdirs only applies to the files save handler (not ${settings.saveHandler})`);
  // PHP names the directories with the alphabet of sid_bits_per_character (Debian: 5, 32 a level).
  const bits = options.bits ?? settings.sidBitsPerCharacter ?? 4;
  if (bits !== 4 && bits !== 5 && bits !== 6) throw new ConfigError(`--bits: ${bits} is not 4, 5 or 6`);
  const createSessionDirs = await loadCreateSessionDirs();
  const sp = parseSavePath(settings.savePath);
  const depth = options.depth ?? sp.depth;
  if (!Number.isSafeInteger(depth) || depth < 1) throw new ConfigError(`save_path ${JSON.stringify(sp.raw)} has depth ${depth}: there is no directory tree to create (use "N;/path" with N ≥ 1, or --depth)`);
  const r = await createSessionDirs({ ...sp, depth }, { bitsPerCharacter: bits, mode: options.mode });
  return { path: sp.path, depth, ...r };
}
