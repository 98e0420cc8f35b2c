/**
 * Byte ↔ JS string conversions used by the decoder and encoder.
 *
 * String VALUES that are not valid UTF-8 become Buffers. Array KEYS, property names and
 * class names must stay JS strings (PhpKey has no byte form), so for those we use a
 * "surrogate escape": every byte that is not part of a valid UTF-8 sequence becomes the
 * lone surrogate U+DC80..U+DCFF. Valid UTF-8 can never produce a lone surrogate, so the
 * mapping is unambiguous and the encoder turns those code units back into the raw bytes.
 */

type SliceFn = (this: Uint8Array, start: number, end: number) => string;
const bufferProto = Buffer.prototype as unknown as { latin1Slice?: SliceFn; utf8Slice?: SliceFn };
// Buffer's undocumented but long-standing slice helpers skip toString()'s argument handling.
const latin1SliceFn: SliceFn = bufferProto.latin1Slice ?? function (this: Uint8Array, s, e) { return Buffer.prototype.toString.call(this, 'latin1', s, e); };
const utf8SliceFn: SliceFn = bufferProto.utf8Slice ?? function (this: Uint8Array, s, e) { return Buffer.prototype.toString.call(this, 'utf8', s, e); };
/** The bytes [start, end) of a Buffer as a latin1 string (one char per byte). */
export const latin1 = (buf: Buffer, start: number, end: number): string => latin1SliceFn.call(buf, start, end);
/** The bytes [start, end) of a Buffer decoded as UTF-8 (invalid sequences become U+FFFD: validate first). */
export const utf8Slice = (buf: Buffer, start: number, end: number): string => utf8SliceFn.call(buf, start, end);

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

const CACHE_BITS = 12;
const stringCache: (string | undefined)[] = new Array<string | undefined>(1 << CACHE_BITS).fill(undefined);

/**
 * Short ASCII runs (keys like "id", "name", values like "ROLE_USER") repeat a lot: look them
 * up in a small hash table instead of allocating a new string each time. Undefined when
 * the bytes are not all ASCII.
 */
export function shortAscii(buf: Uint8Array, start: number, end: number): string | undefined {
  let h = end - start;
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    if (c > 0x7f) return undefined;
    h = (Math.imul(h, 31) + c) | 0;
  }
  const slot = (h ^ (h >>> CACHE_BITS)) & ((1 << CACHE_BITS) - 1);
  const cached = stringCache[slot];
  if (cached !== undefined && cached.length === end - start) {
    let same = true;
    for (let j = 0, i = start; i < end; i++, j++) {
      if (cached.charCodeAt(j) !== buf[i]) {
        same = false;
        break;
      }
    }
    if (same) return cached;
  }
  const s = latin1SliceFn.call(buf, start, end);
  stringCache[slot] = s;
  return s;
}

/** True when every byte in [start, end) is ASCII. */
export function isAscii(buf: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (buf[i]! > 0x7f) return false;
  return true;
}

/** Strict UTF-8 decoding; `undefined` when the bytes are not valid UTF-8. */
export function decodeUtf8(buf: Uint8Array, start: number, end: number): string | undefined {
  try {
    return utf8.decode(buf.subarray(start, end));
  } catch {
    return undefined;
  }
}

/**
 * True when [start, end) is valid UTF-8 by the same rules as a fatal TextDecoder (no overlong
 * forms, no UTF-16 surrogates, nothing above U+10FFFF). A loop in JS beats TextDecoder's call
 * and subarray overhead on the short strings sessions are made of.
 */
export function isValidUtf8(buf: Uint8Array, start: number, end: number): boolean {
  let i = start;
  while (i < end) {
    const b0 = buf[i]!;
    if (b0 < 0x80) {
      i++;
      continue;
    }
    const n = validSequenceLength(buf, i, end);
    if (n === 0) return false;
    i += n;
  }
  return true;
}

/** Length of the valid UTF-8 sequence starting at i (0 when the byte there starts none). */
function validSequenceLength(buf: Uint8Array, i: number, end: number): number {
  const b0 = buf[i]!;
  if (b0 < 0x80) return 1;
  if (b0 >= 0xc2 && b0 <= 0xdf) return i + 1 < end && (buf[i + 1]! & 0xc0) === 0x80 ? 2 : 0;
  if (b0 >= 0xe0 && b0 <= 0xef) {
    if (i + 2 >= end) return 0;
    // E0 needs A0..BF (no overlongs), ED needs 80..9F (no UTF-16 surrogates)
    const b1 = buf[i + 1]!;
    const lo = b0 === 0xe0 ? 0xa0 : 0x80;
    const hi = b0 === 0xed ? 0x9f : 0xbf;
    return b1 >= lo && b1 <= hi && (buf[i + 2]! & 0xc0) === 0x80 ? 3 : 0;
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    if (i + 3 >= end) return 0;
    const b1 = buf[i + 1]!;
    const lo = b0 === 0xf0 ? 0x90 : 0x80;
    const hi = b0 === 0xf4 ? 0x8f : 0xbf;
    return b1 >= lo && b1 <= hi && (buf[i + 2]! & 0xc0) === 0x80 && (buf[i + 3]! & 0xc0) === 0x80 ? 4 : 0;
  }
  return 0;
}

/** Bytes → JS string for keys and names: UTF-8, with invalid bytes surrogate-escaped. */
export function bytesToKeyString(buf: Buffer, start: number, end: number): string {
  if (end - start <= 32) {
    const s = shortAscii(buf, start, end);
    if (s !== undefined) return s;
  } else if (isAscii(buf, start, end)) return latin1(buf, start, end);
  const valid = decodeUtf8(buf, start, end);
  if (valid !== undefined) return valid;
  const parts: string[] = [];
  let runStart = start;
  let i = start;
  while (i < end) {
    const n = validSequenceLength(buf, i, end);
    if (n > 0) {
      i += n;
      continue;
    }
    if (runStart < i) parts.push(utf8Slice(buf, runStart, i));
    parts.push(String.fromCharCode(0xdc00 | buf[i]!));
    i++;
    runStart = i;
  }
  if (runStart < end) parts.push(utf8Slice(buf, runStart, end));
  return parts.join('');
}

const isWellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

/**
 * JS string → the bytes the encoder writes. Returns null when the string is well-formed
 * (write it as UTF-8); otherwise the bytes with surrogate escapes undone, or throws via
 * `fail` for a lone surrogate that is not an escape (it has no byte form).
 */
export function keyStringToBytes(s: string, fail: (msg: string) => never): Buffer | null {
  if (isWellFormed(s)) return null;
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        for (const b of Buffer.from(s.slice(i, i + 2), 'utf8')) out.push(b);
        i++;
        continue;
      }
    }
    if (c >= 0xdc80 && c <= 0xdcff) {
      out.push(c & 0xff);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      fail(`string has a lone UTF-16 surrogate U+${c.toString(16).toUpperCase()} at index ${i}, which has no byte form`);
    }
    if (c < 0x80) out.push(c);
    else for (const b of Buffer.from(s[i]!, 'utf8')) out.push(b);
  }
  return Buffer.from(out);
}
