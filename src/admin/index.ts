/**
 * `sessctl/admin`: the logic of every `sessctl` command, callable from Node. The CLI
 * (src/cli) only parses arguments and prints what these return. Backends are reached
 * through src/backends/index.ts (loaded per save_handler).
 */
export { parseDuration, parseDurationMs, formatDuration } from './duration.js';
export { parseIni, loadPhpIni, type IniValue } from './ini.js';
export {
  resolveSettings,
  settingNames,
  ADMIN_SERIALIZE_HANDLERS,
  type AdminSettings,
  type AdminSerializeHandler,
  type ResolvedSettings,
  type ResolvedSettingValues,
  type ResolveOptions,
  type SettingName,
  type SettingSource,
} from './settings.js';
export { openAdminSource, SAVE_HANDLERS } from '../backends/index.js';
export { redactSecrets } from '../session/redact.js';
export { actAsOwner, type ActedAs } from './identity.js';
export { listSessions, matchesAge, LIST_SORTS, type SessionInfo, type ListFilters, type ListSort } from './list.js';
export { inspectSession, type InspectResult } from './inspect.js';
export { sessionStats, type StatsReport, type HistogramBucket } from './stats.js';
export { validateSessions, type ValidateReport, type ValidationProblem } from './validate.js';
export { convertSessions, type ConvertReport, type ConvertResult, type ConvertOutcome } from './convert.js';
export { destroySessions, type DestroyRequest, type DestroyReport, type DestroyResult, type DestroyResultOutcome } from './destroy.js';
export { mkdirs } from './mkdirs.js';
export { checkSource } from './common.js';
export { formatMetrics, gcMetrics, statsMetrics, writeMetricsFile, writeGcMetrics } from './metrics.js';
export { discoverSystemSessions, gcSystem, parseFpmPools, type PhpConfig, type SystemTarget, type SystemDiscovery, type SystemGcResult, type FpmPool } from './system/index.js';
export { setSessionValue, type SetRequest, type SetResult, type SetOutcome } from './set.js';
export { compileWhere, parseWhere, evaluateWhere, WhereSyntaxError, type WhereNode } from './where/index.js';
export { migrateSessions, type MigrateOptions, type MigrateReport, type MigrateResult, type MigrateOutcome } from './migrate.js';
export type { AdminSource, SessionEntry, DestroyOutcome, PutOutcome, RewriteOutcome, GcOptions, GcReport, GcOutcome } from '../session/admin.js';
export { readApp, parseDotenv, laravelSlug, FRAMEWORKS, SYMFONY_SESSION_HANDLERS, type ReadAppOptions, type AppConfig, type Framework, type SymfonySessionHandler, type DotenvOptions, type DotenvFlavour } from './app/index.js';
