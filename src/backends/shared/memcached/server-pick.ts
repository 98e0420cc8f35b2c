/**
 * Which server of a multi-server save_path holds a key — the choice libmemcached 1.x makes for
 * php-memcached's session handler, so Node and PHP meet on one server:
 *
 * - `memcached.sess_consistent_hash = On` with `sess_consistent_hash_type = ketama` (the
 *   defaults): MEMCACHED_BEHAVIOR_KETAMA = a continuum of 100 points per server, each the
 *   one-at-a-time hash of `host-N` (`host:port-N` when the port is not 11211), N = 0..99;
 *   weights are ignored (setting the behaviour switches weighting off);
 * - `ketama_weighted`: MD5 everywhere, 160 points per server scaled by its share of the total
 *   weight, four points from each MD5 of `host-N`;
 * - `sess_consistent_hash = Off`: one-at-a-time(key) modulo the number of servers.
 *
 * A key's point is its one-at-a-time (weighted: MD5) hash; its server is the first continuum
 * point at or above it, wrapping to the first. The key hashed is the one PHP passes — the
 * session id, or `lock.` + id for the lock — without the `sess_prefix` (libmemcached's
 * namespace is not hashed unless asked), so a session and its lock may live on different servers.
 * Servers that fail are not taken out of the continuum (`sess_remove_failed_servers` Off).
 */
import { createHash } from 'node:crypto';
import { MEMCACHED_DEFAULT_PORT, type MemcachedServer } from './save-path.js';

export type Distribution = 'ketama' | 'ketama_weighted' | 'modula';

/** libhashkit's one-at-a-time over C `char` — signed, so bytes ≥ 0x80 count as negative. */
export function oneAtATime(bytes: Uint8Array): number {
  let value = 0;
  for (const b of bytes) {
    value = (value + (b >= 0x80 ? b - 0x100 : b)) >>> 0;
    value = (value + (value << 10)) >>> 0;
    value = (value ^ (value >>> 6)) >>> 0;
  }
  value = (value + (value << 3)) >>> 0;
  value = (value ^ (value >>> 11)) >>> 0;
  value = (value + (value << 15)) >>> 0;
  return value;
}

function md5(bytes: Uint8Array): Buffer {
  return createHash('md5').update(bytes).digest();
}

/** The `alignment`-th little-endian 32-bit word of the MD5 (libmemcached's ketama_server_hash). */
function md5Word(bytes: Uint8Array, alignment: number): number {
  return md5(bytes).readUInt32LE(alignment * 4);
}

function pointName(s: Pick<MemcachedServer, 'hostname' | 'port'>, n: number): Buffer {
  const port = s.port ?? 0;
  return Buffer.from(port === MEMCACHED_DEFAULT_PORT ? `${s.hostname}-${n}` : `${s.hostname}:${port}-${n}`, 'latin1');
}

interface Point {
  value: number;
  index: number;
}

/** A server chooser for one save_path and distribution. */
export class ServerPicker {
  readonly #continuum: Point[] = [];

  constructor(
    readonly servers: readonly Pick<MemcachedServer, 'hostname' | 'port' | 'weight'>[],
    readonly distribution: Distribution,
  ) {
    if (distribution === 'modula' || servers.length < 2) return;
    const f = Math.fround;
    const total = servers.reduce((t, s) => t + s.weight, 0);
    servers.forEach((s, index) => {
      if (distribution === 'ketama') {
        for (let n = 0; n < 100; n++) this.#continuum.push({ value: oneAtATime(pointName(s, n)), index });
        return;
      }
      // libmemcached computes this in C floats; fround keeps each step at that precision.
      const pct = f(f(s.weight) / f(total));
      const points = Math.floor(f(f(f(f(pct * 160) / 4) * f(servers.length)) + f(0.0000000001))) * 4;
      for (let n = 0; n < points / 4; n++) {
        const name = pointName(s, n);
        for (let x = 0; x < 4; x++) this.#continuum.push({ value: md5Word(name, x), index });
      }
    });
    this.#continuum.sort((a, b) => a.value - b.value || a.index - b.index);
  }

  /** The key's hash as libmemcached takes it. */
  hash(key: Uint8Array): number {
    return this.distribution === 'ketama_weighted' ? md5Word(key, 0) : oneAtATime(key);
  }

  /** Index (save_path order) of the server holding `key` (the un-prefixed key PHP names). */
  pick(key: Uint8Array): number {
    if (this.servers.length < 2) return 0;
    const h = this.hash(key);
    if (this.distribution === 'modula') return h % this.servers.length;
    const c = this.#continuum;
    let lo = 0;
    let hi = c.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (c[mid]!.value < h) lo = mid + 1;
      else hi = mid;
    }
    return c[lo === c.length ? 0 : lo]!.index;
  }
}
