/**
 * The part of PHP's parse_str() that phpredis relies on when it reads the query string of
 * `session.save_path` (`?auth=…&prefix=…&seed[]=…`): `&`-separated pairs, `+` and `%XX`
 * decoding, `name[]` appends, `name[key]` sets. Values stay bytes (Buffers), because
 * PHP strings are bytes and a prefix may hold any of them.
 */

/** One parsed query value: a scalar, or the array built by `name[]=` / `name[key]=`. */
export type QueryValue = Buffer | QueryArray;
export interface QueryArray {
  /** Entries in insertion order; `[]` appends get keys '0', '1', … like PHP's next free int key. */
  entries: Map<string, Buffer>;
}

/** Percent-decodes like PHP's urldecode(): `+` is a space, a bad `%` sequence stays as it is. */
export function urlDecodeBytes(text: string): Buffer {
  const raw = Buffer.from(text, 'utf8');
  const out = Buffer.alloc(raw.length);
  let n = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === 0x2b) {
      out[n++] = 0x20;
    } else if (c === 0x25 && isHex(raw[i + 1]) && isHex(raw[i + 2])) {
      out[n++] = parseInt(String.fromCharCode(raw[i + 1]!, raw[i + 2]!), 16);
      i += 2;
    } else {
      out[n++] = c;
    }
  }
  return out.subarray(0, n);
}

function isHex(c: number | undefined): boolean {
  return c !== undefined && ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66));
}

/**
 * Parses `a=1&b[]=x&b[]=y&c[k]=z` into a map. Only one level of brackets is kept (phpredis
 * never needs more); a later scalar replaces an earlier value of the same name, as in PHP.
 * Names are compared as text (they are plain ASCII words in every phpredis option).
 */
export function parseQueryString(query: string): Map<string, QueryValue> {
  const result = new Map<string, QueryValue>();
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const rawName = urlDecodeBytes(eq < 0 ? pair : pair.slice(0, eq)).toString('latin1');
    const value = urlDecodeBytes(eq < 0 ? '' : pair.slice(eq + 1));
    const open = rawName.indexOf('[');
    const close = open >= 0 ? rawName.indexOf(']', open) : -1;
    if (open > 0 && close > open) {
      const name = rawName.slice(0, open);
      const sub = rawName.slice(open + 1, close);
      let arr = result.get(name);
      if (!arr || Buffer.isBuffer(arr)) {
        arr = { entries: new Map() };
        result.set(name, arr);
      }
      const key = sub === '' ? String(nextIndex(arr)) : sub;
      arr.entries.set(key, value);
    } else if (rawName !== '') {
      result.set(rawName, value);
    }
  }
  return result;
}

function nextIndex(arr: QueryArray): number {
  let next = 0;
  for (const k of arr.entries.keys()) {
    if (/^(?:0|[1-9][0-9]*)$/.test(k) && Number(k) >= next) next = Number(k) + 1;
  }
  return next;
}
