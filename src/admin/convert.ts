import { ConfigError, EncodeError, SessctlError } from '../errors.js';
import type { SerializeHandler } from '../codec/session.js';
import { loadCodec } from './codec-bridge.js';
import type { AdminSettings } from './settings.js';
import type { AdminSource, SessionEntry } from '../session/admin.js';
import { decodeWith } from './common.js';

export type ConvertOutcome = 'converted' | 'would-convert' | 'unchanged' | 'refused' | 'failed';

export interface ConvertResult {
  id: string;
  location: string;
  outcome: ConvertOutcome;
  from?: SerializeHandler | null;
  message?: string;
}

export interface ConvertReport {
  to: SerializeHandler;
  dryRun: boolean;
  checked: number;
  converted: number;
  unchanged: number;
  /** Sessions the target format cannot hold (left as they are). */
  refused: number;
  /** Sessions that do not decode, are locked too long, or vanished. */
  failed: number;
}

/**
 * Rewrites every session from its handler (the configured one, or detected with `auto`)
 * to `to`, in place under PHP's exclusive lock, keeping its mtime. A session the target
 * cannot hold (int keys or `|` in a key for `php`, keys over 127 bytes for `php_binary`)
 * is refused and listed, never truncated. The new bytes are decoded again before writing.
 * @throws ConfigError when `to` is not a concrete handler.
 */
export async function convertSessions(
  source: AdminSource,
  settings: AdminSettings,
  options: { to: string; dryRun?: boolean; lockTimeoutMs?: number; onResult?: (r: ConvertResult) => void; onError?: (location: string, err: Error) => void },
): Promise<ConvertReport> {
  const to = options.to as SerializeHandler;
  const codec = await loadCodec();
  if (!codec.SERIALIZE_HANDLERS.includes(to)) throw new ConfigError(`--to: ${JSON.stringify(options.to)} is not a serialize handler (${codec.SERIALIZE_HANDLERS.join(', ')})`);
  const dryRun = options.dryRun ?? false;
  const report: ConvertReport = { to, dryRun, checked: 0, converted: 0, unchanged: 0, refused: 0, failed: 0 };
  const emit = (r: ConvertResult) => {
    if (r.outcome === 'converted' || r.outcome === 'would-convert') report.converted++;
    else report[r.outcome]++;
    options.onResult?.(r);
  };

  /** Throws a tagged error for refuse/fail; returns null when nothing is to be done. */
  const transform = (entry: SessionEntry & { bytes: Uint8Array }): { bytes: Uint8Array | null; from: SerializeHandler } => {
    const r = decodeWith(codec, settings, entry);
    if (!r.data || !r.handler) throw new ConvertFailure('failed', r.error?.message ?? 'does not decode', r.handler);
    if (r.handler === to) return { bytes: null, from: r.handler };
    let out: Uint8Array;
    try {
      out = codec.encodeSession(r.data, to);
      const back = codec.decodeSession(out, to, { source: entry.location });
      if (back.size !== r.data.size) throw new EncodeError(`${to} keeps ${back.size} of ${r.data.size} keys`);
    } catch (err) {
      if (err instanceof SessctlError) throw new ConvertFailure('refused', err.message, r.handler);
      throw err;
    }
    return { bytes: out, from: r.handler };
  };

  for await (const entry of source.entries({ withData: false, onError: options.onError })) {
    report.checked++;
    let from: SerializeHandler | null | undefined;
    try {
      if (dryRun) {
        const cur = await source.read(entry.id);
        if (!cur) throw new ConvertFailure('failed', 'vanished', null);
        const t = transform(cur as SessionEntry & { bytes: Uint8Array });
        from = t.from;
        emit({ id: entry.id, location: entry.location, from, outcome: t.bytes ? 'would-convert' : 'unchanged' });
        continue;
      }
      const outcome = await source.rewrite(
        entry.id,
        (locked) => {
          const t = transform(locked);
          from = t.from;
          return t.bytes;
        },
        { lockTimeoutMs: options.lockTimeoutMs ?? 10_000 },
      );
      if (outcome === 'missing') emit({ id: entry.id, location: entry.location, outcome: 'failed', message: 'vanished before it could be locked' });
      else emit({ id: entry.id, location: entry.location, from, outcome: outcome === 'rewritten' ? 'converted' : 'unchanged' });
    } catch (err) {
      if (err instanceof ConvertFailure) emit({ id: entry.id, location: entry.location, from: err.from, outcome: err.outcome, message: err.message });
      else emit({ id: entry.id, location: entry.location, from, outcome: 'failed', message: (err as Error).message });
    }
  }
  return report;
}

class ConvertFailure extends Error {
  constructor(
    readonly outcome: 'refused' | 'failed',
    message: string,
    readonly from: SerializeHandler | null,
  ) {
    super(message);
  }
}
