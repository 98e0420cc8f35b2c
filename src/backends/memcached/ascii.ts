/**
 * The two things only memcached's text protocol offers, each on a short-lived connection of its
 * own (memcached picks the protocol per connection by its first byte):
 *
 * - `lru_crawler metadump all` (memcached ≥ 1.4.31): every key with its absolute expiry, the only
 *   way to list what a server holds;
 * - `mg <key> t s` (meta commands, memcached ≥ 1.6): one key's remaining TTL, so that an admin
 *   rewrite keeps a session's life instead of extending it.
 */
import { BackendError } from '../../errors.js';
import { connectTo, type TimeoutOptions } from './connection.js';
import type { MemcachedServer } from './save-path.js';

export interface DumpedKey {
  key: Buffer;
  /** Absolute expiry in unix seconds; -1 = never. */
  exp: number;
  size: number;
}

/** Keys in metadump lines are URL-encoded (%xx): back to their bytes. */
function unescapeKey(text: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x25 && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      out.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else out.push(c & 0xff);
  }
  return Buffer.from(out);
}

function parseDumpLine(line: string): DumpedKey | null {
  const fields = new Map<string, string>();
  for (const part of line.split(' ')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq), part.slice(eq + 1));
  }
  const key = fields.get('key');
  if (key === undefined) return null;
  return { key: unescapeKey(key), exp: Number(fields.get('exp') ?? -1), size: Number(fields.get('size') ?? 0) };
}

/**
 * A line-oriented conversation on a fresh text-protocol connection: sends `command`, hands every
 * reply line to `onLine` until it returns true (done). Bounded by the timeouts: the connect
 * timeout, then the command timeout between two chunks of the reply.
 */
function converse(server: MemcachedServer, t: TimeoutOptions, command: string, onLine: (line: string) => boolean, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connectTo(server);
    let rest = '';
    let settled = false;
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      if (err) reject(err);
      else resolve();
    };
    const onAbort = () => finish(signal!.reason instanceof Error ? signal!.reason : new Error('aborted'));
    signal?.addEventListener('abort', onAbort);
    let timer = setTimeout(() => finish(new BackendError(`${server.label}: connect: no answer within ${t.connectTimeoutMs} ms`, 'EBACKENDTIMEOUT')), t.connectTimeoutMs);
    const rearm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => finish(new BackendError(`${server.label}: ${command.split(' ')[0]}: no answer within ${t.commandTimeoutMs} ms`, 'EBACKENDTIMEOUT')), t.commandTimeoutMs);
    };
    socket.once('connect', () => {
      rearm();
      socket.write(`${command}\r\n`);
    });
    socket.on('error', (err) => finish(new BackendError(`${server.label}: connection failed: ${err.message}`, 'EBACKENDCONN', { cause: err })));
    socket.on('close', () => finish(new BackendError(`${server.label}: the server closed the connection before answering ${command.split(' ')[0]}`, 'EBACKENDCONN')));
    socket.on('data', (d: Buffer) => {
      rearm();
      rest += d.toString('latin1');
      let nl: number;
      while ((nl = rest.indexOf('\n')) >= 0) {
        const line = rest.slice(0, nl).replace(/\r$/, '');
        rest = rest.slice(nl + 1);
        let done: boolean;
        try {
          done = onLine(line);
        } catch (err) {
          finish(err as Error);
          return;
        }
        if (done) {
          finish();
          return;
        }
      }
    });
  });
}

/**
 * Every key the server holds (`lru_crawler metadump all`), in batches as they arrive.
 * @throws BackendError ENOLIST when the server cannot list keys (older than 1.4.31, or the
 *   crawler disabled / busy), naming the server and its answer.
 */
export async function metadump(server: MemcachedServer, t: TimeoutOptions, onBatch: (keys: DumpedKey[]) => void, signal?: AbortSignal): Promise<void> {
  let batch: DumpedKey[] = [];
  await converse(
    server,
    t,
    'lru_crawler metadump all',
    (line) => {
      if (line === 'END') {
        if (batch.length) onBatch(batch);
        return true;
      }
      if (line.startsWith('key=')) {
        const k = parseDumpLine(line);
        if (k) batch.push(k);
        if (batch.length >= 1000) {
          onBatch(batch);
          batch = [];
        }
        return false;
      }
      if (line === '') return false;
      throw new BackendError(
        `${server.label}: cannot list sessions: the server answered "${line.slice(0, 200)}" to lru_crawler metadump (it needs memcached ≥ 1.4.31 with the LRU crawler enabled; a busy crawler clears in a moment)`,
        'ENOLIST',
      );
    },
    signal,
  );
}

/**
 * Remaining TTL of one key in seconds (-1 = never expires), or null when it does not exist.
 * @throws BackendError ENOMETA when the server has no meta commands (memcached < 1.6).
 */
export async function remainingTtl(server: MemcachedServer, t: TimeoutOptions, key: Buffer): Promise<number | null> {
  let result: number | null = null;
  // Keys here are what PHP writes: printable ASCII without spaces, so the text protocol can carry them.
  await converse(server, t, `mg ${key.toString('latin1')} t`, (line) => {
    if (line === 'EN') return true;
    const words = line.split(' ');
    const ttl = words.find((w) => /^t-?\d+$/.test(w));
    if ((words[0] === 'HD' || words[0] === 'VA') && ttl) {
      result = Number(ttl.slice(1));
      return true;
    }
    throw new BackendError(`${server.label}: cannot read a key's TTL: the server answered "${line.slice(0, 200)}" to mg (meta commands need memcached ≥ 1.6)`, 'ENOMETA');
  });
  return result;
}
