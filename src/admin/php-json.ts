/**
 * JSON text read as PHP's `json_decode($text, true)` reads it, for `sessctl set`: the number's
 * spelling decides its type, as in PHP — `9007199254740993` is that int (JSON.parse would round
 * it to a double), `1.0` and `1e2` are floats (JSON.parse gives the integer 1), an integer
 * beyond 64 bits is a float — and objects keep their keys in the order written (a JS object
 * puts integer-like keys first).
 */
import { ConfigError } from '../errors.js';
import { PhpArray, PhpFloat, type PhpValue } from '../codec/values.js';

/** json_decode()'s default depth: nesting deeper than this is refused, as PHP refuses it. */
const MAX_DEPTH = 512;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;
const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

/**
 * The PHP value of `text`.
 * @throws ConfigError naming the offset for text that is not JSON, nests deeper than 512, or
 *   holds a lone UTF-16 surrogate escape (PHP refuses all three).
 */
export function parsePhpJson(text: string): PhpValue {
  let pos = 0;
  const fail = (what: string): never => {
    throw new ConfigError(`${what} at offset ${pos}`);
  };
  const space = () => {
    while (pos < text.length && (text[pos] === ' ' || text[pos] === '\t' || text[pos] === '\n' || text[pos] === '\r')) pos++;
  };
  const literal = (word: string, value: PhpValue): PhpValue => {
    if (!text.startsWith(word, pos)) fail('unexpected character');
    pos += word.length;
    return value;
  };
  const number = (): PhpValue => {
    NUMBER.lastIndex = pos;
    const m = NUMBER.exec(text);
    if (!m) return fail('unexpected character');
    pos += m[0].length;
    if (m[1] !== undefined || m[2] !== undefined) return new PhpFloat(Number(m[0]));
    const n = BigInt(m[0]);
    if (n < INT64_MIN || n > INT64_MAX) return new PhpFloat(Number(m[0])); // PHP's json_decode: a float
    return Number.isSafeInteger(Number(n)) ? Number(n) : n;
  };
  const string = (): string => {
    pos++; // the opening quote
    let out = '';
    for (;;) {
      if (pos >= text.length) fail('unterminated string');
      const ch = text[pos]!;
      if (ch === '"') {
        pos++;
        return out;
      }
      if (ch < ' ') fail('control character in a string');
      if (ch !== '\\') {
        out += ch;
        pos++;
        continue;
      }
      const e = text[pos + 1];
      if (e !== undefined && ESCAPES[e] !== undefined) {
        out += ESCAPES[e];
        pos += 2;
        continue;
      }
      if (e !== 'u') fail('bad escape');
      const unit = (at: number) => (/^[0-9a-fA-F]{4}$/.test(text.slice(at, at + 4)) ? parseInt(text.slice(at, at + 4), 16) : fail('bad \\u escape'));
      const u = unit(pos + 2);
      pos += 6;
      if (u >= 0xd800 && u <= 0xdbff && text.startsWith('\\u', pos)) {
        const low = unit(pos + 2);
        if (low >= 0xdc00 && low <= 0xdfff) {
          out += String.fromCharCode(u, low);
          pos += 6;
          continue;
        }
      }
      if (u >= 0xd800 && u <= 0xdfff) fail('single unpaired UTF-16 surrogate');
      out += String.fromCharCode(u);
    }
  };
  const value = (depth: number): PhpValue => {
    space();
    const ch = text[pos];
    if (ch === '{' || ch === '[') {
      if (depth >= MAX_DEPTH) fail(`nesting deeper than ${MAX_DEPTH}`);
      const close = ch === '{' ? '}' : ']';
      const out = new PhpArray();
      pos++;
      space();
      if (text[pos] === close) {
        pos++;
        return out;
      }
      for (let i = 0; ; i++) {
        let key: string | number = i;
        if (close === '}') {
          space();
          if (text[pos] !== '"') fail('expected a string key');
          key = string();
          space();
          if (text[pos] !== ':') fail("expected ':'");
          pos++;
        }
        out.set(key, value(depth + 1)); // PhpArray applies PHP's numeric-key rule; a repeated key keeps its place
        space();
        if (text[pos] === ',') {
          pos++;
          continue;
        }
        if (text[pos] !== close) fail(`expected ',' or '${close}'`);
        pos++;
        return out;
      }
    }
    if (ch === '"') return string();
    if (ch === 't') return literal('true', true);
    if (ch === 'f') return literal('false', false);
    if (ch === 'n') return literal('null', null);
    return number();
  };
  const result = value(0);
  space();
  if (pos !== text.length) fail('unexpected text after the value');
  return result;
}
