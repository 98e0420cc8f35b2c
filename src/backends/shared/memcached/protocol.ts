/**
 * memcached's binary protocol (the one php-memcached's session handler speaks by default,
 * `memcached.sess_binary_protocol = On`): 24-byte headers, big-endian, a request's `opaque`
 * echoed in its response. Only what the session store needs: framing, opcodes, statuses.
 */

export const OP = {
  GET: 0x00,
  SET: 0x01,
  ADD: 0x02,
  DELETE: 0x04,
  NOOP: 0x0a,
  VERSION: 0x0b,
  STAT: 0x10,
  TOUCH: 0x1c,
} as const;

/** Response statuses (memcached's protocol_binary.h). */
export const STATUS = {
  OK: 0x00,
  NOT_FOUND: 0x01,
  EXISTS: 0x02,
  TOO_LARGE: 0x03,
  INVALID: 0x04,
  NOT_STORED: 0x05,
} as const;

const STATUS_TEXT: Record<number, string> = {
  0x01: 'key not found',
  0x02: 'key exists',
  0x03: 'value too large',
  0x04: 'invalid arguments',
  0x05: 'item not stored',
  0x06: 'incr/decr on a non-numeric value',
  0x20: 'authentication error',
  0x81: 'unknown command',
  0x82: 'out of memory',
  0x83: 'not supported',
  0x84: 'internal error',
  0x85: 'busy',
  0x86: 'temporary failure',
};

export function statusText(status: number): string {
  return STATUS_TEXT[status] ?? `status 0x${status.toString(16)}`;
}

export const HEADER = 24;
const REQUEST_MAGIC = 0x80;
export const RESPONSE_MAGIC = 0x81;

export interface Response {
  opcode: number;
  status: number;
  opaque: number;
  cas: bigint;
  extras: Buffer;
  key: Buffer;
  value: Buffer;
  /**
   * Set when the value was longer than the request's `maxValue`: its length. The value was then
   * read off the socket and dropped, never held (`value` is empty).
   */
  oversized?: number;
}

export interface Request {
  opcode: number;
  key?: Buffer;
  extras?: Buffer;
  value?: Buffer;
  /** Compare-and-swap value (0 = unconditional). */
  cas?: bigint;
  /** Longest value to hold in memory; a longer one is dropped as it arrives (`Response.oversized`). */
  maxValue?: number;
}

const EMPTY = Buffer.alloc(0);

/** Header + extras + key + value as one buffer. */
export function encodeRequest(r: Request, opaque: number): Buffer {
  const key = r.key ?? EMPTY;
  const extras = r.extras ?? EMPTY;
  const value = r.value ?? EMPTY;
  const out = Buffer.allocUnsafe(HEADER + extras.length + key.length + value.length);
  out[0] = REQUEST_MAGIC;
  out[1] = r.opcode;
  out.writeUInt16BE(key.length, 2);
  out[4] = extras.length;
  out[5] = 0; // raw bytes
  out.writeUInt16BE(0, 6); // vbucket
  out.writeUInt32BE(extras.length + key.length + value.length, 8);
  out.writeUInt32BE(opaque, 12);
  out.writeBigUInt64BE(r.cas ?? 0n, 16);
  extras.copy(out, HEADER);
  key.copy(out, HEADER + extras.length);
  value.copy(out, HEADER + extras.length + key.length);
  return out;
}

/** Body length announced by a response header. */
export function bodyLength(header: Buffer): number {
  return header.readUInt32BE(8);
}

/** Splits one complete response (header + body) into its parts. */
export function decodeResponse(frame: Buffer): Response {
  const keyLen = frame.readUInt16BE(2);
  const extLen = frame[4]!;
  const total = frame.readUInt32BE(8);
  return {
    opcode: frame[1]!,
    status: frame.readUInt16BE(6),
    opaque: frame.readUInt32BE(12),
    cas: frame.readBigUInt64BE(16),
    extras: frame.subarray(HEADER, HEADER + extLen),
    key: frame.subarray(HEADER + extLen, HEADER + extLen + keyLen),
    value: frame.subarray(HEADER + extLen + keyLen, HEADER + total),
  };
}

/** SET/ADD extras: flags (php-memcached's session handler stores 0) and expiration. */
export function storeExtras(expiration: number, flags = 0): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32BE(flags, 0);
  b.writeUInt32BE(expiration >>> 0, 4);
  return b;
}

/** TOUCH extras: the new expiration. */
export function touchExtras(expiration: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(expiration >>> 0, 0);
  return b;
}
