/**
 * The codec calls the admin commands make, loaded on first use (dynamic import) so that
 * commands which never decode (gc, mkdirs, config) do not pay for loading the codec.
 */
import type { PhpArray, PhpValue } from '../codec/values.js';

/** A concrete serialize handler (never `auto`). */
export type SessionHandlerName = 'php' | 'php_serialize' | 'php_binary';
export const SESSION_HANDLERS: readonly SessionHandlerName[] = ['php', 'php_serialize', 'php_binary'];

export interface AdminCodec {
  decodeSession(bytes: Uint8Array, handler: SessionHandlerName, options?: { source?: string }): PhpArray;
  encodeSession(data: PhpArray, handler: SessionHandlerName): Uint8Array;
  /** The handler that can read these bytes, or null when none can. */
  detectHandler(bytes: Uint8Array): SessionHandlerName | null;
  toPlain(value: PhpValue, options?: { json?: boolean }): unknown;
}

let codec: Promise<AdminCodec> | undefined;

/** @throws SessctlError-free: a codec that fails to load rejects with its own error. */
export function loadCodec(): Promise<AdminCodec> {
  codec ??= import('../codec/index.js').then((m) => {
    const api = m as unknown as Record<string, unknown>;
    for (const name of ['decodeSession', 'encodeSession', 'detectHandler', 'toPlain']) {
      if (typeof api[name] !== 'function') throw new Error(`the codec does not export ${name}() yet`);
    }
    const detect = api.detectHandler as (b: Uint8Array) => unknown;
    return {
      decodeSession: api.decodeSession as AdminCodec['decodeSession'],
      encodeSession: api.encodeSession as AdminCodec['encodeSession'],
      toPlain: api.toPlain as AdminCodec['toPlain'],
      detectHandler: (bytes) => normalizeDetected(detect(bytes)),
    };
  });
  return codec;
}

// Accept either a handler name or an object naming it, so a small API change does not break us.
function normalizeDetected(v: unknown): SessionHandlerName | null {
  if (typeof v === 'string') return (SESSION_HANDLERS as readonly string[]).includes(v) ? (v as SessionHandlerName) : null;
  if (v && typeof v === 'object' && 'handler' in v) return normalizeDetected((v as { handler: unknown }).handler);
  return null;
}
