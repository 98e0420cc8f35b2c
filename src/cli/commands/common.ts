import { resolveSettings, type ResolvedSettings } from '../../admin/settings.js';
import { ConfigError } from '../../errors.js';
import { openAdminSource } from '../../backends/index.js';
import type { AdminSource } from '../../session/admin.js';
import { escapeText } from '../escape.js';
import { parseDuration } from '../../admin/duration.js';
import type { CommonOptions } from '../index.js';
import { formatJson } from '../output.js';

/** Resolves settings from the command's flags (flag > env > php.ini > php > defaults). */
export function settingsFrom(opts: CommonOptions): Promise<ResolvedSettings> {
  return resolveSettings({
    flags: { savePath: opts.savePath, serializeHandler: opts.serializeHandler, saveHandler: opts.saveHandler, maxlifetime: opts.maxlifetime },
    phpIni: opts.phpIni,
    php: opts.php === false ? false : undefined,
    ini: iniFlags(opts.ini),
  });
}

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

export async function sourceFrom(opts: CommonOptions): Promise<{ resolved: ResolvedSettings; source: AdminSource }> {
  const resolved = await settingsFrom(opts);
  return { resolved, source: await openAdminSource(resolved.values) };
}

/** An optional duration flag in seconds. @throws ConfigError */
export function durationOpt(value: unknown, flag: string): number | undefined {
  return value === undefined ? undefined : parseDuration(String(value), flag);
}

export function json(value: unknown): string {
  return formatJson(value, 2) + '\n';
}

/** Error lines for unreadable directories / files met while walking. */
export function printWalkError(location: string, err: Error): void {
  process.stderr.write(`sessctl: ${escapeText(err.message.startsWith(location) ? err.message : `${location}: ${err.message}`)}\n`);
}
