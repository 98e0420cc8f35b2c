/**
 * `--where` regular expressions run against session content, which is hostile input: a
 * backtracking pattern like /^(a+)+$/ against "aaaa…b" takes exponential time. So every one
 * is compiled for V8's non-backtracking engine (the `l` flag), which runs in time linear in the
 * input whatever the pattern; patterns it cannot run (backreferences, lookaround) are refused.
 * That engine has no `i` flag yet: a case-insensitive pattern is lower-cased outside its
 * escapes and tested against the lower-cased value, which is the same test for letters
 * written as letters.
 */
import { setFlagsFromString } from 'node:v8';

/** What a `match` test needs: `test(value)`. */
export interface Matcher {
  test(value: string): boolean;
  readonly source: string;
}

let engineEnabled = false;

/**
 * The pattern as a linear-time matcher.
 * @throws SyntaxError for an invalid pattern, or one the linear engine cannot run (the
 *   message says which).
 */
export function linearMatcher(source: string, flags: string): Matcher {
  if (!engineEnabled) {
    // Read when a pattern with `l` is compiled; it changes nothing for other RegExps.
    setFlagsFromString('--enable-experimental-regexp-engine');
    engineEnabled = true;
  }
  new RegExp(source, flags); // the ordinary syntax error first, as the user wrote it
  const fold = flags.includes('i');
  const pattern = fold ? lowerOutsideEscapes(source) : source;
  let re: RegExp;
  try {
    re = new RegExp(pattern, flags.replace('i', '') + 'l');
  } catch {
    throw new SyntaxError('backreferences, lookahead/lookbehind, the u flag and repetition counts above 16 in all ({17}, [0-9a-f]{40}, (a{5}){4}) are beyond the linear-time engine, and a backtracking one could be kept busy for ever by hostile session content: not supported here (write x{40} as x{16}x{16}x{8})');
  }
  return fold ? { source, test: (value) => re.test(value.toLowerCase()) } : { source, test: (value) => re.test(value) };
}

/** `source` with every character lower-cased except the one after a backslash (`\W` stays `\W`). */
function lowerOutsideEscapes(source: string): string {
  let out = '';
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === '\\' && i + 1 < source.length) {
      out += c + source[++i];
      continue;
    }
    out += c.toLowerCase();
  }
  return out;
}
