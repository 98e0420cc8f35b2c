/**
 * The one place that makes text from session data safe for a terminal. Everything the CLI
 * prints that did not come from the CLI itself — keys, values, class, enum and property
 * names, session ids, file names and paths, error messages that quote any of them, JSON —
 * goes through {@link escapeText}: a crafted session or file name must not reach the
 * admin's terminal as control sequences (set the title, clear the screen, rewrite lines).
 *
 * Escaped, visibly:
 * - C0 controls U+0000–U+001F: `\n`, `\r`, `\t`, the rest `\x1b`-style (in JSON: `\u001b`);
 * - DEL U+007F: `\x7f`;
 * - C1 controls U+0080–U+009F (U+009B is a one-character CSI): `\u009b` — they are valid
 *   UTF-8 and pass a JSON.stringify test unescaped;
 * - lone UTF-16 surrogates: U+DC80–U+DCFF is the codec's encoding of an invalid byte in a key
 *   or name (see codec/strings.ts), shown as that byte, `\xNN`; any other as `\udXXX`;
 * - the bidirectional overrides and isolates U+202A–U+202E, U+2066–U+2069, which reorder what
 *   the admin sees (a name can be made to read as another): `\u202e`; and the line and
 *   paragraph separators U+2028, U+2029, which some terminals and log viewers break lines at;
 * - in 'quoted' and 'json' modes also `"` and `\`, so the escaped text reads back unambiguously.
 */

/** How the result is used: bare text, inside `"…"` in the tree, or inside a JSON string. */
export type EscapeMode = 'bare' | 'quoted' | 'json';

// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]/;
// eslint-disable-next-line no-control-regex
const UNSAFE_QUOTED = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff"\\]/;

const hex2 = (c: number): string => c.toString(16).padStart(2, '0');
const hex4 = (c: number): string => c.toString(16).padStart(4, '0');

/** Escapes `s` for printing (see the module comment); returns `s` itself when nothing needs it. */
export function escapeText(s: string, mode: EscapeMode = 'bare'): string {
  if (!(mode === 'bare' ? UNSAFE : UNSAFE_QUOTED).test(s)) return s;
  const json = mode === 'json';
  let out = '';
  let run = 0; // start of the run of characters copied as they are
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let rep: string | undefined;
    if (c < 0x20) {
      rep = c === 0x0a ? '\\n' : c === 0x0d ? '\\r' : c === 0x09 ? '\\t' : json ? `\\u${hex4(c)}` : `\\x${hex2(c)}`;
    } else if (c === 0x7f) rep = json ? '\\u007f' : '\\x7f';
    else if (c >= 0x80 && c <= 0x9f) rep = `\\u${hex4(c)}`;
    else if (c === 0x2028 || c === 0x2029 || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069)) rep = `\\u${hex4(c)}`;
    else if (c >= 0xd800 && c <= 0xdfff) {
      const paired = c <= 0xdbff && i + 1 < s.length && s.charCodeAt(i + 1) >= 0xdc00 && s.charCodeAt(i + 1) <= 0xdfff;
      if (paired) {
        i++; // a valid pair: printed as it is
        continue;
      }
      rep = !json && c >= 0xdc80 && c <= 0xdcff ? `\\x${hex2(c & 0xff)}` : `\\u${hex4(c)}`;
    } else if (mode !== 'bare' && (c === 0x22 || c === 0x5c)) rep = c === 0x22 ? '\\"' : '\\\\';
    if (rep === undefined) continue;
    out += s.slice(run, i) + rep;
    run = i + 1;
  }
  return out + s.slice(run);
}

/**
 * A key or name for the tree: as it is when nothing in it needs escaping, else escaped and in
 * double quotes (also when it is empty or starts with a quote, so the two never look alike).
 */
export function displayName(s: string): string {
  if (s !== '' && s.charCodeAt(0) !== 0x22 && !UNSAFE.test(s)) return s;
  return `"${escapeText(s, 'quoted')}"`;
}

// eslint-disable-next-line no-control-regex
const SGR = /\x1b\[[0-9;]*m/g;

/**
 * Text that may hold the CLI's own colour codes (SGR `ESC[…m`, as chalk writes them) around
 * data: every other part goes through {@link escapeText}. For the table and histogram
 * printers, whose cells mix the two; data should be escaped before it is coloured, this
 * keeps anything that was not from turning into control sequences.
 */
export function escapeAroundColors(text: string): string {
  if (!UNSAFE.test(text)) return text;
  let out = '';
  let last = 0;
  for (const m of text.matchAll(SGR)) {
    out += escapeText(text.slice(last, m.index)) + m[0];
    last = m.index! + m[0].length;
  }
  return out + escapeText(text.slice(last));
}
