import { checkSource } from '../../admin/common.js';
import { actAsOwner, type ActedAs } from '../../admin/identity.js';
import { resolveSettings, type ResolvedSettings, type SettingName } from '../../admin/settings.js';
import { ConfigError } from '../../errors.js';
import type { AppConfig } from '../../admin/app/types.js';
import { redactSecrets } from '../../session/redact.js';
import { escapeText } from '../escape.js';
import { openAdminSource } from '../../backends/index.js';
import type { AdminSource } from '../../session/admin.js';
import { reportWalkProblem } from '../walk-errors.js';
import { parseDuration, parseDurationMs } from '../../admin/duration.js';
import type { CommonOptions } from '../index.js';
import { formatJson } from '../output.js';

/** Resolves settings from the command's flags (flag > framework app > env > php.ini > php > defaults). */
export async function settingsFrom(
  opts: CommonOptions,
  extra: Partial<Record<SettingName, string>> = {},
  { payloadCipher = true, needed }: { payloadCipher?: boolean; needed?: readonly SettingName[] } = {},
): Promise<ResolvedSettings> {
  let app: AppConfig | undefined;
  if (opts.framework !== undefined) {
    const { readApp } = await import('../../admin/app/index.js');
    app = readApp({ framework: opts.framework, app: opts.app, sessionHandler: opts.sessionHandler, encrypt: opts.sessionEncrypt, cipher: opts.cipher });
    for (const w of app.warnings) process.stderr.write(`sessctl: warning: ${escapeText(redactSecrets(w))}\n`);
  } else if (opts.app !== undefined || opts.sessionHandler !== undefined || opts.sessionEncrypt !== undefined || opts.cipher !== undefined) {
    const flag = opts.app !== undefined ? '--app' : opts.sessionHandler !== undefined ? '--session-handler' : opts.sessionEncrypt !== undefined ? '--session-encrypt' : '--cipher';
    throw new ConfigError(`${flag} needs --framework laravel|symfony`);
  }
  const resolved = await resolveSettings({
    app,
    flags: { savePath: opts.savePath, serializeHandler: opts.serializeHandler, saveHandler: opts.saveHandler, maxlifetime: opts.maxlifetime, ...extra },
    phpIni: opts.phpIni,
    php: opts.php === false ? false : undefined,
    ini: iniFlags(opts.ini),
    payloadCipher,
    needed,
  });
  for (const w of resolved.warnings ?? []) process.stderr.write(`sessctl: warning: ${escapeText(redactSecrets(w))}\n`);
  return resolved;
}

// Sources opened by this run: a command that fails midway must not leave a connection holding the process open.
const opened = new Set<AdminSource>();

/** Who this command acts as (set once the settings are known; see actAsOwner). */
export let actedAs: ActedAs | undefined;

/** Resolves settings, then (as root) becomes the save path's owner before anything is touched. */
export async function settingsAsOwner(opts: CommonOptions, extra: Partial<Record<SettingName, string>> = {}, needed?: readonly SettingName[]): Promise<ResolvedSettings> {
  const resolved = await settingsFrom(opts, extra, { needed });
  actedAs = actAsOwner(resolved.values, { stayRoot: opts.asRoot === true });
  return resolved;
}

/** The admin source, checked before any command uses it (one message, exit 2, for every command). */

/** `--ini name=value` (repeatable) → a directive map. @throws ConfigError */
export function iniFlags(list: string[] | undefined): Record<string, string> | undefined {
  if (!list?.length) return undefined;
  const out: Record<string, string> = {};
  for (const item of list) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new ConfigError(`--ini: expected directive=value, got ${JSON.stringify(item)}`);
    out[item.slice(0, eq).trim()] = item.slice(eq + 1);
  }
  return out;
}

/** What the commands that work on stored sessions use (validate also needs the id shape: SOURCE_AND_IDS). */
export const SOURCE_SETTINGS: readonly SettingName[] = ['saveHandler', 'savePath', 'serializeHandler', 'maxlifetime'];
export const SOURCE_AND_IDS: readonly SettingName[] = [...SOURCE_SETTINGS, 'sidLength', 'sidBitsPerCharacter'];

export async function sourceFrom(opts: CommonOptions, needed: readonly SettingName[] = SOURCE_SETTINGS): Promise<{ resolved: ResolvedSettings; source: AdminSource }> {
  const resolved = await settingsAsOwner(opts, {}, needed);
  const source = await openAdminSource(resolved.values);
  await checkSource(source);
  opened.add(source);
  return { resolved, source };
}

/** Closes every source this run opened (after an error; close() is idempotent). */
export async function closeOpenSources(): Promise<void> {
  await Promise.all([...opened].map((s) => s.close().catch(() => {})));
  opened.clear();
}

/** An optional duration flag in seconds. @throws ConfigError */
export function durationOpt(value: unknown, flag: string): number | undefined {
  return value === undefined ? undefined : parseDuration(String(value), flag);
}

/** `--lock-timeout` in milliseconds (it takes `250ms` too); 10 s when not given. */
export function lockTimeoutOpt(value: unknown): number {
  return value === undefined ? 10_000 : parseDurationMs(String(value), '--lock-timeout');
}

export function json(value: unknown): string {
  return formatJson(value, 2) + '\n';
}

/** Error lines for unreadable directories / files met while walking (permission errors: see walk-errors.ts). */
export function printWalkError(location: string, err: Error): void {
  reportWalkProblem(location, err.message.startsWith(location) ? err.message : `${location}: ${err.message}`);
}
