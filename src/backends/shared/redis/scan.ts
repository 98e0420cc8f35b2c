/** Listing keys under a prefix with SCAN (bounded memory, never KEYS). */
import type { CommandTarget } from './connection.js';

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
