/**
 * sessctl admin library: the logic of every `sessctl` command, callable from Node.
 * The CLI (src/cli) only parses arguments and prints what these return.
 */
export { parseDuration, formatDuration } from './duration.js';
export { parseIni, loadPhpIni, type IniValue } from './ini.js';
export {
  resolveSettings,
  settingNames,
  SERIALIZE_HANDLERS,
  type AdminSettings,
  type AdminSerializeHandler,
  type ResolvedSettings,
  type ResolveOptions,
  type SettingName,
  type SettingSource,
} from './settings.js';
export { gcFiles, type GcOptions, type GcReport, type GcOutcome } from './gc.js';
export { walkSessionTree, type FoundFile, type WalkOptions as SessionTreeWalkOptions } from './walk.js';
