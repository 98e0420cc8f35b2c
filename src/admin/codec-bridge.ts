/**
 * The codec, loaded on first use (dynamic import) so that commands which never decode
 * (gc, mkdirs, config) do not pay for loading it. Only types are imported statically.
 */
import type * as Codec from '../codec/index.js';

/** The part of the codec the admin commands use. */
export type AdminCodec = Pick<typeof Codec, 'decodeSession' | 'encodeSession' | 'detectHandler' | 'toPlain' | 'fromPlain' | 'SERIALIZE_HANDLERS'>;

let codec: Promise<AdminCodec> | undefined;

/** The codec module, imported once. Rejects with the import's own error if it cannot load. */
export function loadCodec(): Promise<AdminCodec> {
  codec ??= import('../codec/index.js');
  return codec;
}
