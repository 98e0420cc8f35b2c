/**
 * The `--where` language: a hand-written scanner and recursive-descent parser — the text is
 * never evaluated as JavaScript. Grammar (keywords are case-sensitive, whitespace free):
 *
 *   expr    := and ('or' and)*
 *   and     := unary ('and' unary)*
 *   unary   := 'not' unary | '(' expr ')' | test
 *   test    := path 'exists' | path ('=='|'!='|'<'|'>'|'<='|'>=') value | path '~' /regex/flags
 *   path    := step ('.' step | '[' (integer | string) ']')*
 *   step    := name | string          name: letters, digits, _ $ - and the wildcards * ?
 *   value   := number | 'string' | "string" | true | false | null
 *
 * Errors are WhereSyntaxError (a ConfigError) naming the column, with a caret line.
 */
import { ConfigError } from '../../errors.js';
import type { CompareOp, Literal, Segment, WhereNode } from './ast.js';
import { linearMatcher, type Matcher } from './linear-regex.js';

/** A `--where` expression that does not parse; `detail` holds the expression and a caret under the column. */
export class WhereSyntaxError extends ConfigError {
  readonly detail: string;
  constructor(
    readonly expression: string,
    readonly column: number,
    what: string,
    label = '--where',
  ) {
    super(`${label}: ${what} at column ${column}`);
    this.detail = `  ${expression}\n  ${' '.repeat(Math.max(0, column - 1))}^`;
  }
}

const NAME = /[A-Za-z0-9_$*?-]/;
const KEYWORDS = new Set(['and', 'or', 'not', 'exists', 'true', 'false', 'null']);
const MAX_DEPTH = 100;

/**
 * A number as PHP reads the literal: an integer that fits in 64 bits is an int, kept exact as a
 * bigint beyond 2^53 (`user.id == 1541815603606036481` must not match ...480); anything else a double.
 */
function numberLiteral(text: string): number | bigint {
  const n = Number(text);
  if (!/^-?\d+$/.test(text) || Number.isSafeInteger(n)) return n;
  const big = BigInt(text);
  return big >= -(2n ** 63n) && big < 2n ** 63n ? big : n;
}

/** Parses a `--where` expression. @throws WhereSyntaxError */
export function parseWhere(text: string): WhereNode {
  return parse(text, '--where', false) as WhereNode;
}

/**
 * Parses a single path (`cart.items`, `user["full name"]`, `list[0]`), as `set`/`unset` take
 * it: no wildcards. @throws WhereSyntaxError (labelled `label`)
 */
export function parsePath(text: string, label = 'PATH'): (Segment & { kind: 'key' })[] {
  const path = parse(text, label, true) as Segment[];
  const glob = path.find((s) => s.kind === 'glob');
  if (glob) throw new WhereSyntaxError(text, text.indexOf((glob as { pattern: string }).pattern) + 1, 'a wildcard selects several values; give one path', label);
  return path as (Segment & { kind: 'key' })[];
}

function parse(text: string, label: string, pathOnly: boolean): WhereNode | Segment[] {
  if (typeof text !== 'string') throw new ConfigError(`${label}: the expression must be a string`);
  let pos = 0;
  let depth = 0;
  const fail = (what: string, at = pos): never => {
    throw new WhereSyntaxError(text, at + 1, what, label);
  };
  const ws = () => {
    while (pos < text.length && /\s/.test(text[pos]!)) pos++;
  };
  const describe = () => (pos >= text.length ? 'the end' : JSON.stringify(text.slice(pos, pos + 12)));
  /** The keyword at pos, when it is one (a name not continued by name characters). */
  const keyword = (word: string): boolean => {
    ws();
    if (!text.startsWith(word, pos)) return false;
    const after = text[pos + word.length];
    if (after !== undefined && NAME.test(after)) return false;
    pos += word.length;
    return true;
  };

  const readString = (): string => {
    const quote = text[pos]!;
    const start = pos++;
    let out = '';
    while (pos < text.length && text[pos] !== quote) {
      if (text[pos] === '\\') {
        pos++;
        if (pos >= text.length) break;
        const c = text[pos]!;
        out += c === 'n' ? '\n' : c === 't' ? '\t' : c;
      } else out += text[pos];
      pos++;
    }
    if (pos >= text.length) fail('unterminated string', start);
    pos++;
    return out;
  };

  const readStep = (): Segment => {
    ws();
    const c = text[pos];
    if (c === '"' || c === "'") return { kind: 'key', key: readString() };
    const start = pos;
    while (pos < text.length && NAME.test(text[pos]!)) pos++;
    if (pos === start) fail(`expected a key name, found ${describe()}`);
    const name = text.slice(start, pos);
    if (!/[*?]/.test(name)) return { kind: 'key', key: name };
    const source = name.replace(/[$-]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
    return { kind: 'glob', pattern: name, re: linearMatcher(`^${source}$`, 's') };
  };

  const readPath = (): Segment[] => {
    ws();
    const first = pos;
    const path = [readStep()];
    if (path[0]!.kind === 'key' && KEYWORDS.has((path[0] as { key: string }).key) && text[first] !== '"' && text[first] !== "'") {
      fail(`expected a path, found the keyword ${JSON.stringify((path[0] as { key: string }).key)} (quote a key of that name: "${(path[0] as { key: string }).key}")`, first);
    }
    for (;;) {
      if (text[pos] === '.') {
        pos++;
        path.push(readStep());
      } else if (text[pos] === '[') {
        pos++;
        ws();
        const c = text[pos];
        let key: string;
        if (c === '"' || c === "'") key = readString();
        else {
          const m = /^-?\d+/.exec(text.slice(pos));
          if (!m) fail(`expected an index or a quoted key inside [ ], found ${describe()}`);
          key = String(BigInt(m![0])); // exact: an int key beyond 2^53 (and "007" is 7, "-0" is 0)
          pos += m![0].length;
        }
        ws();
        if (text[pos] !== ']') fail(`expected ']', found ${describe()}`);
        pos++;
        path.push({ kind: 'key', key });
      } else return path;
    }
  };

  const readValue = (): Literal => {
    ws();
    const c = text[pos];
    if (c === '"' || c === "'") return readString();
    const m = /^-?(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][+-]?\d+)?/.exec(text.slice(pos));
    if (m && !NAME.test(text[pos + m[0].length] ?? ' ')) {
      pos += m[0].length;
      return numberLiteral(m[0]);
    }
    if (keyword('true')) return true;
    if (keyword('false')) return false;
    if (keyword('null')) return null;
    return fail(`expected a value (a number, a quoted string, true, false or null), found ${describe()}`);
  };

  const readRegex = (): Matcher => {
    ws();
    if (text[pos] !== '/') fail(`expected a /regular expression/ after '~', found ${describe()}`);
    const start = pos++;
    let source = '';
    let inClass = false;
    while (pos < text.length && (text[pos] !== '/' || inClass)) {
      const c = text[pos]!;
      if (c === '\\' && pos + 1 < text.length) {
        source += c + text[pos + 1];
        pos += 2;
        continue;
      }
      if (c === '[') inClass = true;
      else if (c === ']') inClass = false;
      source += c;
      pos++;
    }
    if (pos >= text.length) fail('unterminated regular expression', start);
    pos++;
    const flagsStart = pos;
    while (pos < text.length && /[a-z]/.test(text[pos]!)) pos++;
    const flags = text.slice(flagsStart, pos);
    if (/[^ims]/.test(flags) || new Set(flags).size !== flags.length) fail(`regular expression flags ${JSON.stringify(flags)}: only i, m and s are allowed`, flagsStart);
    try {
      return linearMatcher(source, flags);
    } catch (err) {
      return fail(`invalid regular expression: ${(err as Error).message.replace(/^Invalid regular expression: /, '')}`, start);
    }
  };

  const OPS: CompareOp[] = ['==', '!=', '<=', '>=', '<', '>'];
  const readTest = (): WhereNode => {
    const path = readPath();
    if (keyword('exists')) return { kind: 'exists', path };
    ws();
    if (text[pos] === '~') {
      pos++;
      return { kind: 'match', path, re: readRegex() };
    }
    const op = OPS.find((o) => text.startsWith(o, pos));
    if (!op) fail(`expected an operator (== != < > <= >= ~) or 'exists' after the path, found ${describe()}`);
    pos += op!.length;
    return { kind: 'compare', path, op: op!, value: readValue() };
  };

  const unary = (): WhereNode => {
    if (++depth > MAX_DEPTH) fail(`nested more than ${MAX_DEPTH} levels`);
    try {
      if (keyword('not')) return { kind: 'not', operand: unary() };
      ws();
      if (text[pos] === '(') {
        pos++;
        const inner = or();
        ws();
        if (text[pos] !== ')') fail(`expected ')', found ${describe()}`);
        pos++;
        return inner;
      }
      return readTest();
    } finally {
      depth--;
    }
  };
  const and = (): WhereNode => {
    let left = unary();
    while (keyword('and')) left = { kind: 'and', left, right: unary() };
    return left;
  };
  const or = (): WhereNode => {
    let left = and();
    while (keyword('or')) left = { kind: 'or', left, right: and() };
    return left;
  };

  ws();
  if (pos >= text.length) fail(pathOnly ? 'the path is empty' : 'the expression is empty');
  const tree = pathOnly ? readPath() : or();
  ws();
  if (pos < text.length) fail(pathOnly ? `expected '.', '[' or the end of the path, found ${describe()}` : `expected 'and', 'or' or the end, found ${describe()}`);
  return tree;
}
