/**
 * sessctl admin library: the logic of every `sessctl` command, callable from Node.
 * The CLI (src/cli) only parses arguments and prints what these return.
 */
export { parseDuration, formatDuration } from './duration.js';
export { parseIni, loadPhpIni, type IniValue } from './ini.js';
export {
  resolveSettings,
  settingNames,
  ADMIN_SERIALIZE_HANDLERS,
  type AdminSettings,
  type AdminSerializeHandler,
  type ResolvedSettings,
  type ResolveOptions,
  type SettingName,
  type SettingSource,
} from './settings.js';
export { gcFiles, type GcOptions, type GcReport, type GcOutcome } from './gc.js';
export { walkSessionTree, type FoundFile, type TreeWalkOptions as SessionTreeWalkOptions } from '../store/walk.js';
export { gcShard, type GcShardTask } from './gc.js';
export {
  openAdminSource,
  registerAdminSource,
  FileAdminSource,
  type AdminSource,
  type SessionEntry,
  type DestroyOutcome,
  type RewriteOutcome,
} from './source.js';
export {
  listSessions,
  inspectSession,
  sessionStats,
  validateSessions,
  convertSessions,
  destroySessions,
  mkdirs,
  matchesAge,
  LIST_SORTS,
  type SessionInfo,
  type ListFilters,
  type ListSort,
  type InspectResult,
  type StatsReport,
  type HistogramBucket,
  type ValidateReport,
  type ValidationProblem,
  type ConvertReport,
  type ConvertResult,
  type ConvertOutcome,
  type DestroyRequest,
  type DestroyReport,
  type DestroyResult,
  type DestroyResultOutcome,
} from './operations.js';
export { loadCodec, type AdminCodec } from './codec-bridge.js';
