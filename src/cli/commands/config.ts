import { settingNames } from '../../admin/settings.js';
import { redactSecrets } from '../../session/redact.js';
import { parseSavePath } from '../../backends/index.js';
import { colorsFor } from '../output.js';
import { escapeText } from '../escape.js';
import type { CommonOptions } from '../index.js';
import { json, settingsFrom } from './common.js';

/** `sessctl config`: each resolved value and where it came from. */
export async function run(opts: CommonOptions): Promise<number> {
  // Showing the settings needs no key: an encrypting app without APP_KEY is reported, not refused.
  const resolved = await settingsFrom(opts, {}, { payloadCipher: false });
  const { sources } = resolved;
  // The save path may hold a password (phpredis auth=…): shown redacted, in text and JSON alike.
  const values = { ...resolved.values, savePath: redactSecrets(resolved.values.savePath) };
  // What the app says about itself: names and non-secret values only (APP_KEY is "set", never shown).
  const app = resolved.app ? Object.fromEntries(Object.entries(resolved.app.summary).map(([k, v]) => [k, redactSecrets(v)])) : undefined;
  if (opts.json) {
    process.stdout.write(json(app ? { values, sources, app } : { values, sources }));
    return 0;
  }
  const c = await colorsFor(process.stdout);
  if (app) for (const [k, v] of Object.entries(app)) process.stdout.write(`${c.cyan(`app.${k}`.padEnd(31))} ${escapeText(v)}\n`);
  for (const { name, ini } of settingNames()) {
    let shown = String(values[name]);
    if (name === 'savePath' && values.saveHandler === 'files') {
      const sp = parseSavePath(resolved.values.savePath);
      shown = `${JSON.stringify(values.savePath)} → ${sp.path} (depth ${sp.depth}, mode 0${sp.mode.toString(8)})`;
    } else if (name === 'gcDivisor') {
      shown += ` (${gcChance(values.gcProbability, values.gcDivisor)})`;
    }
    process.stdout.write(`${c.cyan(ini.padEnd(31))} ${escapeText(shown).padEnd(20)}  ${c.dim(escapeText(`from ${sources[name].kind}: ${sources[name].detail}`))}\n`);
  }
  if (app) for (const [k, v] of Object.entries(values.ini ?? {})) process.stdout.write(`${c.cyan(k.padEnd(31))} ${escapeText(redactSecrets(JSON.stringify(v)))}\n`);
  return 0;
}

/** PHP's gc chance per session start, in words. */
function gcChance(probability: number, divisor: number): string {
  if (probability === 0) return 'no gc at session start';
  if (probability >= divisor) return 'gc at every session start';
  return `gc at ${Number(((probability / divisor) * 100).toPrecision(3))}% of session starts`;
}
