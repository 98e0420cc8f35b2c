/** Listing keys under a prefix with SCAN (bounded memory, never KEYS). */
import { isValidSessionId } from '../../../session/session-id.js';
import type { CommandTarget } from './connection.js';
import { LOCK_SUFFIX } from './lock.js';

const SCAN_COUNT = '500';

/** The prefix as a SCAN MATCH pattern matching itself literally. */
export function globEscape(bytes: Buffer): Buffer {
  const out: number[] = [];
  for (const b of bytes) {
    if (b === 0x2a || b === 0x3f || b === 0x5b || b === 0x5d || b === 0x5c) out.push(0x5c);
    out.push(b);
  }
  return Buffer.from(out);
}

/** Every key starting with `prefix`, one SCAN page at a time. @throws BackendError */
export async function* scanPrefix(target: CommandTarget, prefix: Buffer, signal?: AbortSignal): AsyncGenerator<Buffer[]> {
  const match = Buffer.concat([globEscape(prefix), Buffer.from('*')]);
  let cursor = '0';
  do {
    signal?.throwIfAborted();
    const reply = (await target.send(['SCAN', cursor, 'MATCH', match, 'COUNT', SCAN_COUNT], undefined, true)) as [Buffer, Buffer[]];
    cursor = reply[0].toString('latin1');
    const page = reply[1].filter((k) => k.subarray(0, prefix.length).equals(prefix));
    if (page.length > 0) yield page;
  } while (cursor !== '0');
}

/**
 * The session keys under `prefix`, page by page, with each key's id: lock keys (`…_LOCK`) and
 * ids PHP's session module would refuse are left out, so a listing never offers a key no
 * session_start() could have written. Empty pages are not yielded. @throws BackendError
 */
export async function* scanSessionKeys(target: CommandTarget, prefix: Buffer, signal?: AbortSignal): AsyncGenerator<Array<{ id: string; key: Buffer }>> {
  for await (const keys of scanPrefix(target, prefix, signal)) {
    const page: Array<{ id: string; key: Buffer }> = [];
    for (const key of keys) {
      const id = key.subarray(prefix.length).toString('latin1');
      if (!id.endsWith(LOCK_SUFFIX) && isValidSessionId(id)) page.push({ id, key });
    }
    if (page.length > 0) yield page;
  }
}
