/**
 * One memcached server as the store sees it: binary-protocol requests in, responses out (values
 * are bytes, never text), every failure a BackendError naming the server, nothing waiting longer
 * than the configured timeouts. Requests are pipelined on one socket and matched by `opaque`.
 *
 * A timeout or a lost connection fails every request in flight and drops the socket: its state
 * is unknown (a late reply would be taken for the next request's), so the next call connects
 * afresh. Nothing is retried here: a retried ADD whose first attempt did land would report the
 * lock as taken — by ourselves.
 *
 * Written for sessctl rather than taken from npm: see docs/memcached.md ("The client").
 */
import { connect, type Socket } from 'node:net';
import { BackendError } from '../../../errors.js';
import { bodyLength, decodeResponse, encodeRequest, HEADER, OP, RESPONSE_MAGIC, type Request, type Response } from './protocol.js';
import type { MemcachedServer } from './save-path.js';

export interface TimeoutOptions {
  connectTimeoutMs: number;
  commandTimeoutMs: number;
}

interface Pending {
  resolve(r: Response): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
  /** STAT answers with many responses, the last one with an empty key. */
  multi?: Response[];
  what: string;
  /** The request's maxValue. */
  maxValue?: number;
}

const EMPTY = Buffer.alloc(0);
const OP_NAMES: Record<number, string> = Object.fromEntries(Object.entries(OP).map(([k, v]) => [v, k]));

export function connectTo(server: MemcachedServer): Socket {
  return server.socketPath ? connect({ path: server.socketPath }) : connect({ host: server.host!, port: server.port! });
}

export class MemcachedConnection {
  readonly label: string;
  #socket: Socket | undefined;
  #ready: Promise<Socket> | undefined;
  #pending = new Map<number, Pending>();
  #opaque = 0;
  #chunks: Buffer[] = [];
  #buffered = 0;
  /** Bytes still to drop of a value longer than its request's maxValue. */
  #skip = 0;
  #closed = false;

  constructor(
    readonly server: MemcachedServer,
    readonly timeouts: TimeoutOptions,
  ) {
    this.label = server.label;
  }

  /**
   * Sends one request and resolves with its response (any status: the caller judges it).
   * @throws BackendError EBACKENDCONN / EBACKENDTIMEOUT / EBACKENDCLOSED.
   */
  async request(req: Request): Promise<Response> {
    const socket = await this.#connected();
    return this.#send(socket, req, false) as Promise<Response>;
  }

  /** STAT (one group or the general one): every name → value. @throws BackendError */
  async stats(group?: string): Promise<Map<string, string>> {
    const socket = await this.#connected();
    const replies = (await this.#send(socket, { opcode: OP.STAT, key: group ? Buffer.from(group, 'latin1') : undefined }, true)) as Response[];
    const out = new Map<string, string>();
    for (const r of replies) if (r.key.length > 0) out.set(r.key.toString('latin1'), r.value.toString('latin1'));
    return out;
  }

  #send(socket: Socket, req: Request, multi: boolean): Promise<Response | Response[]> {
    this.#opaque = (this.#opaque + 1) >>> 0;
    const opaque = this.#opaque;
    const what = OP_NAMES[req.opcode] ?? `opcode ${req.opcode}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#fail(new BackendError(`${this.label}: ${what}: no answer within ${this.timeouts.commandTimeoutMs} ms`, 'EBACKENDTIMEOUT'));
      }, this.timeouts.commandTimeoutMs);
      const p: Pending = { resolve: resolve as (r: Response) => void, reject, timer, what, maxValue: req.maxValue };
      if (multi) {
        p.multi = [];
        p.resolve = () => resolve(p.multi!);
      }
      this.#pending.set(opaque, p);
      if (this.#pending.size === 1) socket.ref();
      socket.write(encodeRequest(req, opaque));
    });
  }

  async #connected(): Promise<Socket> {
    if (this.#closed) throw new BackendError(`${this.label}: the store was closed`, 'EBACKENDCLOSED');
    if (this.#socket) return this.#socket;
    this.#ready ??= this.#connect().finally(() => {
      this.#ready = undefined;
    });
    return this.#ready;
  }

  #connect(): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const socket = connectTo(this.server);
      socket.setNoDelay(true); // as php-memcached does with the binary protocol
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new BackendError(`${this.label}: connect: no answer within ${this.timeouts.connectTimeoutMs} ms`, 'EBACKENDTIMEOUT'));
      }, this.timeouts.connectTimeoutMs);
      socket.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new BackendError(`${this.label}: connect: connection failed: ${err.message}`, 'EBACKENDCONN', { cause: err }));
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        if (this.#closed) {
          socket.destroy();
          reject(new BackendError(`${this.label}: the store was closed`, 'EBACKENDCLOSED'));
          return;
        }
        socket.on('data', (d: Buffer) => this.#onData(d));
        socket.on('error', (err) => this.#fail(new BackendError(`${this.label}: connection failed: ${err.message}`, 'EBACKENDCONN', { cause: err }), socket));
        socket.on('close', () => this.#fail(new BackendError(`${this.label}: the server closed the connection`, 'EBACKENDCONN'), socket));
        this.#socket = socket;
        resolve(socket);
      });
    });
  }

  #onData(chunk: Buffer): void {
    if (this.#skip > 0) {
      const n = Math.min(this.#skip, chunk.length);
      this.#skip -= n;
      if (n === chunk.length) return;
      chunk = chunk.subarray(n);
    }
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    while (this.#buffered >= HEADER) {
      let head = this.#chunks[0]!;
      if (head.length < HEADER) head = this.#flatten();
      if (head[0] !== RESPONSE_MAGIC) {
        this.#fail(new BackendError(`${this.label}: not a memcached binary-protocol response (magic 0x${head[0]!.toString(16)})`, 'EBACKENDPROTO'));
        return;
      }
      const need = HEADER + bodyLength(head);
      const maxValue = this.#pending.get(head.readUInt32BE(12))?.maxValue;
      const valueLength = bodyLength(head) - head[4]! - head.readUInt16BE(2);
      if (maxValue !== undefined && valueLength > maxValue) {
        // Too long to hold: answered at once, and the value dropped as it arrives (memory stays bounded).
        const r: Response = { opcode: head[1]!, status: head.readUInt16BE(6), opaque: head.readUInt32BE(12), cas: head.readBigUInt64BE(16), extras: EMPTY, key: EMPTY, value: EMPTY, oversized: valueLength };
        const held = Math.min(this.#buffered, need);
        this.#drop(held);
        this.#skip = need - held;
        this.#deliver(r);
        continue;
      }
      if (this.#buffered < need) return;
      if (head.length < need) head = this.#flatten();
      const frame = head.subarray(0, need);
      if (head.length === need) this.#chunks.shift();
      else this.#chunks[0] = head.subarray(need);
      this.#buffered -= need;
      this.#deliver(decodeResponse(frame));
    }
  }

  /** Removes `n` buffered bytes from the front. */
  #drop(n: number): void {
    this.#buffered -= n;
    while (n > 0) {
      const c = this.#chunks[0]!;
      if (c.length <= n) {
        this.#chunks.shift();
        n -= c.length;
      } else {
        this.#chunks[0] = c.subarray(n);
        n = 0;
      }
    }
  }

  #flatten(): Buffer {
    const all = Buffer.concat(this.#chunks, this.#buffered);
    this.#chunks = [all];
    return all;
  }

  #deliver(r: Response): void {
    const p = this.#pending.get(r.opaque);
    if (!p) return; // a late reply to a request that was already failed
    if (p.multi && r.key.length > 0 && r.status === 0) {
      p.multi.push(r);
      return;
    }
    this.#pending.delete(r.opaque);
    clearTimeout(p.timer);
    // An idle connection does not keep the process alive (a CLI run or a script ends by itself).
    if (this.#pending.size === 0) this.#socket?.unref();
    p.resolve(r);
  }

  /** Fails everything in flight and drops the socket (only if `socket` is still the current one). */
  #fail(err: BackendError, socket: Socket | undefined = this.#socket): void {
    if (socket !== this.#socket) return;
    this.#socket = undefined;
    socket?.destroy();
    this.#chunks = [];
    this.#buffered = 0;
    this.#skip = 0;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) {
      clearTimeout(p.timer);
      p.reject(err);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#fail(new BackendError(`${this.label}: the store was closed`, 'EBACKENDCLOSED'));
  }
}
