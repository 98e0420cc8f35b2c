/**
 * The session serialize handlers (php-src ext/session/session.c, and two extensions):
 * - `php`:           `name|` + serialize(value) per key, one slot table across all keys
 * - `php_binary`:    1 length byte (≤ 127, bit 0x80 ignored on read), name, serialize(value)
 * - `php_serialize`: serialize() of the whole session array
 * - `igbinary`:      igbinary of the whole session array (php-igbinary, see igbinary.ts)
 * - `msgpack`:       msgpack of the whole session array (php-msgpack, see msgpack.ts)
 */
import { ConfigError, DecodeError, EncodeError } from '../errors.js';
import { parseWithSlots, type Parser, type DecodeOptions } from './decoder.js';
import { Writer, checkNoHiddenData, sessionLabel, type EncodeOptions } from './encoder.js';
import { keyStringToBytes } from './strings.js';
import { decodeIgbinarySession, encodeIgbinarySession } from './igbinary.js';
import { decodeMsgpackSession, encodeMsgpackSession, looksLikeMsgpackSession } from './msgpack.js';
import { PhpArray, PhpReference, type PhpValue } from './values.js';

export type SerializeHandler = 'php' | 'php_serialize' | 'php_binary' | 'igbinary' | 'msgpack';

/** Every session serialize handler PHP ships (and those of php-igbinary and php-msgpack), in PHP's spelling. */
export const SERIALIZE_HANDLERS: readonly SerializeHandler[] = Object.freeze(['php', 'php_serialize', 'php_binary', 'igbinary', 'msgpack'] as const);


const PIPE = 0x7c;
const PHP_BINARY_MAX_KEY = 127;

function checkHandler(handler: unknown): asserts handler is SerializeHandler {
  if (!SERIALIZE_HANDLERS.includes(handler as SerializeHandler)) {
    throw new ConfigError(`unknown session serialize handler ${JSON.stringify(handler)} (expected one of ${SERIALIZE_HANDLERS.join(', ')})`);
  }
}

/**
 * Decodes session data as PHP's session_decode() would, into a fresh array. Top-level keys of
 * `php`/`php_binary` data are strings kept exactly as written (PHP does not turn "5" into 5 there).
 * Throws DecodeError where session_decode() fails (and, stricter than PHP, on trailing bytes
 * after a php_serialize array, or php_serialize data that is not an array);
 * ConfigError for an unknown handler name.
 */
export function decodeSessionBuffer(buf: Buffer, handler: SerializeHandler, options: DecodeOptions = {}): PhpArray {
  checkHandler(handler);
  if (buf.length === 0) return new PhpArray();
  if (handler === 'igbinary') return decodeIgbinarySession(buf, options);
  if (handler === 'msgpack') return decodeMsgpackSession(buf, options);
  return parseWithSlots(buf, options, (parser) => readSession(parser, buf, handler, options, new PhpArray()));
}

function readSession(parser: Parser, buf: Buffer, handler: SerializeHandler, options: DecodeOptions, session: PhpArray): PhpArray {
  if (handler === 'php_serialize') {
    let value: PhpValue = parser.readValue();
    parser.expectEnd('after the session array');
    // `R:1` inside the outer array boxes the session itself; the session is still that array.
    if (value instanceof PhpReference) value = value.value;
    if (!(value instanceof PhpArray)) throw new DecodeError('php_serialize session data is not an array', 0, options.source);
    return value;
  }
  const end = buf.length;
  while (parser.pos < end) {
    const nameStart = handler === 'php' ? parser.pos : parser.pos + 1;
    let nameEnd: number;
    if (handler === 'php') {
      nameEnd = parser.indexOfAscii(PIPE, nameStart);
      if (nameEnd < 0) parser.fail("expected '|' after a session key name");
      parser.pos = nameEnd + 1;
    } else {
      const len = buf[parser.pos]! & 0x7f;
      nameEnd = nameStart + len;
      if (nameEnd >= end) parser.fail(`session key of ${len} bytes and its value run past the end of the data`);
      parser.pos = nameEnd;
    }
    if (parser.pos >= end) parser.fail('unexpected end of data, expected the value of a session key');
    const name = parser.keyString(nameStart, nameEnd);
    parser.readValue(session, name);
  }
  return session;
}

/** A session's [key, value] pairs; what the encoder's plain-JS rules refuse (checkNoHiddenData) is refused here too. */
function entriesOf(session: unknown): Iterable<[unknown, unknown]> {
  const fail = (m: string): never => {
    throw new EncodeError(`$_SESSION: ${m}`);
  };
  if (session instanceof Map) {
    if (!(session instanceof PhpArray)) checkNoHiddenData(session, 0, fail);
    return session.entries();
  }
  if (session !== null && typeof session === 'object' && !Array.isArray(session)) {
    const proto = Object.getPrototypeOf(session);
    if (proto === Object.prototype || proto === null) {
      const obj = session as Record<string, unknown>;
      const keys = Object.keys(obj);
      checkNoHiddenData(obj, keys.length, fail);
      return keys.map((k) => [k, obj[k]] as [string, unknown]);
    }
  }
  throw new EncodeError('a session is a PhpArray, a Map or a plain object');
}

/**
 * Encodes a session as PHP's session_encode() would. Throws EncodeError (nothing written) for
 * what PHP would mangle: an int key or a key containing '|' in `php`, an int key or a key
 * over 127 bytes in `php_binary`, or any value serialize() refuses; ConfigError for an
 * unknown handler name.
 */
export function encodeSessionBuffer(session: unknown, handler: SerializeHandler, options: EncodeOptions = {}): Buffer {
  checkHandler(handler);
  if (handler === 'igbinary') return encodeIgbinarySession(session, options);
  if (handler === 'msgpack') return encodeMsgpackSession(session, options);
  const w = new Writer(options);
  try {
    if (handler === 'php_serialize') {
      if (!(session instanceof Map) && (session === null || typeof session !== 'object' || Array.isArray(session))) entriesOf(session);
      w.value(session, '$_SESSION');
      return w.finish();
    }
    for (const [key, value] of entriesOf(session)) {
      if (typeof key !== 'string') {
        throw new EncodeError(
          `session key ${String(key)} is an int: PHP's ${handler} handler skips int keys (use string keys or php_serialize)`,
        );
      }
      // Plain ASCII names (nearly all of them) are written straight; the rest, and every error, below.
      if (handler === 'php' ? w.asciiName(key, PIPE) : key.length <= PHP_BINARY_MAX_KEY && w.asciiName(key, -1, key.length)) {
        if (handler === 'php') w.byte(PIPE);
        w.sessionValue(value, key);
        continue;
      }
      const label = sessionLabel(key);
      const bytes = keyStringToBytes(key, (m) => {
        throw new EncodeError(`session key ${label}: ${m}`);
      }) ?? Buffer.from(key, 'utf8');
      if (handler === 'php') {
        if (bytes.includes(PIPE)) {
          throw new EncodeError(`session key ${label} contains '|': PHP's php handler cannot store it (it would empty the session)`);
        }
        w.raw(bytes);
        w.byte(PIPE);
      } else {
        if (bytes.length > PHP_BINARY_MAX_KEY) {
          throw new EncodeError(`session key ${label} is ${bytes.length} bytes: php_binary keys are at most 127 bytes (PHP drops longer ones)`);
        }
        w.byte(bytes.length);
        w.raw(bytes);
      }
      w.sessionValue(value, key);
    }
    return w.finish();
  } catch (e) {
    w.release();
    throw EncodeError.from(e);
  }
}

/**
 * Best guess at which handler wrote `bytes` (for tools): the first of php_serialize, php,
 * php_binary, igbinary (its header), msgpack (a map, or the empty session) that decodes the
 * whole input. Null when none does, or the input is empty.
 */
export function detectHandlerBuffer(buf: Buffer): SerializeHandler | null {
  if (buf.length === 0) return null;
  for (const h of ['php_serialize', 'php', 'php_binary', 'igbinary', 'msgpack'] as const) {
    if (h === 'msgpack' && !looksLikeMsgpackSession(buf)) continue;
    try {
      decodeSessionBuffer(buf, h);
      return h;
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
    }
  }
  return null;
}


