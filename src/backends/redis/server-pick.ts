/**
 * Which server of a multi-server `redis` save_path holds a session — the same choice
 * phpredis makes (redis_session.c, redis_pool_get_sock), so Node and PHP meet on one server:
 *
 * - the first 4 bytes of the session id (not of the prefixed key) are read as a native
 *   (little-endian on x86/ARM, so we use the host's order too) unsigned 32-bit int, taken modulo the total weight;
 * - phpredis keeps its servers in a list built by prepending, so the walk over the weight
 *   ranges goes from the LAST server of the save_path to the first;
 * - there is no fallback: if that server is down, the session is unavailable.
 */
import { endianness } from 'node:os';
import type { RedisServerConfig } from './save-path.js';

const NATIVE_LE = endianness() === 'LE';

/**
 * Index (into `servers`, save_path order) of the server phpredis uses for `id`.
 * Ids shorter than 4 bytes are padded with NULs (PHP reads the string's terminating NUL and
 * whatever follows it; ids PHP generates are never that short).
 */
export function pickServerIndex(servers: readonly Pick<RedisServerConfig, 'weight'>[], id: string): number {
  if (servers.length === 1) return 0;
  const head = Buffer.alloc(4);
  Buffer.from(id, 'latin1').copy(head, 0, 0, 4);
  const total = servers.reduce((s, v) => s + v.weight, 0);
  const pos = (NATIVE_LE ? head.readUInt32LE(0) : head.readUInt32BE(0)) % total;
  let start = 0;
  for (let i = servers.length - 1; i >= 0; i--) {
    const w = servers[i]!.weight;
    if (pos >= start && pos < start + w) return i;
    start += w;
  }
  /* c8 ignore next */
  return 0;
}
