/**
 * The two things only memcached's text protocol offers, each on a short-lived connection of its
 * own (memcached picks the protocol per connection by its first byte):
 *
 * - `lru_crawler metadump hash` (`all` on servers older than that, memcached ≥ 1.4.31): every key
 *   with its absolute expiry, the only way to list what a server holds;
 * - `mg <key> t s` (meta commands, memcached ≥ 1.6): one key's remaining TTL, so that an admin
 *   rewrite keeps a session's life instead of extending it.
 */
import { once } from 'node:events';
import { BackendError } from '../../../errors.js';
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
 * A line-oriented conversation on a fresh text-protocol connection: sends `command`, yields every
 * reply line; the caller stops reading when the reply is complete (the socket is then closed).
 * Reading is pulled, so a long listing waits in the kernel, not in memory, while the consumer
 * works. Bounded by the timeouts: the connect timeout, then the command timeout per chunk read.
 */
async function* converse(server: MemcachedServer, t: TimeoutOptions, command: string, signal?: AbortSignal): AsyncGenerator<string> {
  const socket = connectTo(server);
  const verb = command.split(' ')[0];
  let timer: NodeJS.Timeout | undefined;
  let timedOut: BackendError | undefined;
  const arm = (ms: number, what: string) => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timedOut = new BackendError(`${server.label}: ${what}: no answer within ${ms} ms`, 'EBACKENDTIMEOUT');
      socket.destroy(timedOut);
    }, ms);
  };
  const onAbort = () => socket.destroy(signal!.reason instanceof Error ? signal!.reason : new Error('aborted'));
  signal?.addEventListener('abort', onAbort);
  try {
    arm(t.connectTimeoutMs, 'connect');
    await once(socket, 'connect');
    socket.write(`${command}\r\n`);
    arm(t.commandTimeoutMs, verb!);
    let rest = '';
    for await (const chunk of socket as AsyncIterable<Buffer>) {
      rest += chunk.toString('latin1');
      let nl: number;
      while ((nl = rest.indexOf('\n')) >= 0) {
        const line = rest.slice(0, nl).replace(/\r$/, '');
        rest = rest.slice(nl + 1);
        clearTimeout(timer); // the consumer's own time does not count against the server
        yield line;
        arm(t.commandTimeoutMs, verb!);
      }
    }
    throw new BackendError(`${server.label}: the server closed the connection before answering ${verb}`, 'EBACKENDCONN');
  } catch (err) {
    if (timedOut) throw timedOut;
    if (err instanceof BackendError || signal?.aborted) throw err;
    throw new BackendError(`${server.label}: connection failed: ${(err as Error).message}`, 'EBACKENDCONN', { cause: err });
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
    socket.destroy();
  }
}

/**
 * Every key the server holds, in batches as they arrive. `lru_crawler metadump hash` walks the
 * hash table; `metadump all` walks the LRUs, and misses items that reads move between LRU
 * segments while it runs (measured on 1.6.18: a read between dumps made more than half the
 * dumps of six items come back short), so `all` is only the fallback for a server without `hash`.
 * @throws BackendError ENOLIST when the server cannot list keys (older than 1.4.31, or the
 *   crawler disabled / busy), naming the server and its answer.
 */
export async function* metadump(server: MemcachedServer, t: TimeoutOptions, signal?: AbortSignal): AsyncGenerator<DumpedKey[]> {
  let refused: string | undefined;
  for (const scope of ['hash', 'all']) {
    refused = undefined;
    let batch: DumpedKey[] = [];
    let answered = false;
    for await (const line of converse(server, t, `lru_crawler metadump ${scope}`, signal)) {
      if (line === 'END') break;
      if (line.startsWith('key=')) {
        answered = true;
        const k = parseDumpLine(line);
        if (k) batch.push(k);
        if (batch.length >= 500) {
          yield batch;
          batch = [];
        }
        continue;
      }
      if (line === '') continue;
      if (answered) throw noList(server, line);
      refused = line;
      break;
    }
    if (refused === undefined) {
      if (batch.length) yield batch;
      return;
    }
  }
  throw noList(server, refused ?? '');
}

function noList(server: MemcachedServer, line: string): BackendError {
  return new BackendError(
    `${server.label}: cannot list sessions: the server answered "${line.slice(0, 200)}" to lru_crawler metadump (it needs memcached ≥ 1.4.31 with the LRU crawler enabled; a busy crawler clears in a moment)`,
    'ENOLIST',
  );
}

/**
 * Remaining TTL of one key in seconds (-1 = never expires), or null when it does not exist.
 * @throws BackendError ENOMETA when the server has no meta commands (memcached < 1.6).
 */
export async function remainingTtl(server: MemcachedServer, t: TimeoutOptions, key: Buffer): Promise<number | null> {
  // Keys here are what PHP writes: printable ASCII without spaces, so the text protocol can carry them.
  for await (const line of converse(server, t, `mg ${key.toString('latin1')} t`)) {
    if (line === 'EN') return null;
    const words = line.split(' ');
    const ttl = words.find((w) => /^t-?\d+$/.test(w));
    if ((words[0] === 'HD' || words[0] === 'VA') && ttl) return Number(ttl.slice(1));
    throw new BackendError(`${server.label}: cannot read a key's TTL: the server answered "${line.slice(0, 200)}" to mg (meta commands need memcached ≥ 1.6)`, 'ENOMETA');
  }
  return null;
}
