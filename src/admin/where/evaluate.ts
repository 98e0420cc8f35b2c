/**
 * Evaluates a parsed `--where` expression over a session's plain view (toPlain in JSON mode:
 * numbers, strings, booleans, null, arrays, objects with `__class`). A path with wildcards
 * stands for every value it reaches, and a test holds when it holds for any of them; a test
 * on a path that reaches nothing is false (so `not (a == 1)` holds when there is no `a`).
 */
import type { Literal, Segment, WhereNode } from './ast.js';

/** Every value `path` reaches in `root`. `length` on an array or string (with no such key) is its length. */
function resolve(root: unknown, path: Segment[]): unknown[] {
  let current: unknown[] = [root];
  for (const seg of path) {
    const next: unknown[] = [];
    for (const v of current) {
      if (v === null || typeof v !== 'object') {
        if (typeof v === 'string' && seg.kind === 'key' && seg.key === 'length') next.push([...v].length);
        continue;
      }
      const container = v as Record<string, unknown>;
      if (seg.kind === 'key') {
        if (Object.hasOwn(container, seg.key)) next.push(container[seg.key]);
        else if (seg.key === 'length') next.push(Array.isArray(v) ? v.length : Object.keys(container).length);
      } else {
        for (const k of Object.keys(container)) if (seg.re.test(k)) next.push(container[k]);
      }
    }
    current = next;
    if (current.length === 0) break;
  }
  return current;
}

/**
 * PHP 8's numeric string: its whitespace (not JS's \s, which also takes U+00A0 and the like),
 * a sign (`+42` is numeric), digits with an optional fraction (`42.` too) or `.5`, an exponent.
 */
const NUMERIC = /^[ \t\n\r\v\f]*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?[ \t\n\r\v\f]*$/;
const INTEGER = /^[ \t\n\r\v\f]*[+-]?\d+[ \t\n\r\v\f]*$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** A number for numeric comparison: numbers, and strings that are decimal numbers (PHP stores ids either way). */
function asNumber(v: unknown): number | null {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && NUMERIC.test(v)) return Number(v);
  return null;
}

/**
 * The value as an exact integer when PHP would compare it as one: an int (a safe integer, a
 * bigint literal, or the string the plain view gives an int beyond 2^53) or an integer string
 * that fits in 64 bits. PHP compares two of these as ints, so ids beyond 2^53 (snowflake ids)
 * must not be rounded to doubles: 1541815603606036481 is not 1541815603606036480.
 */
function asInteger(v: unknown): bigint | null {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return Number.isSafeInteger(v) ? BigInt(v) : null;
  if (typeof v !== 'string' || !INTEGER.test(v)) return null;
  const n = BigInt(v.trim().replace(/^\+/, ''));
  return n >= INT64_MIN && n <= INT64_MAX ? n : null;
}

/**
 * Two strings as PHP orders them: byte-wise over their UTF-8 (code point order), not by
 * UTF-16 code units as JS's `<` does ("\u{FF61}" < "\u{1F600}" in PHP, not in JS).
 */
function stringOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** -1, 0 or 1 for two numbers, or two exact ints. */
const threeway = <T extends number | bigint>(a: T, b: T): number => (a === b ? 0 : a < b ? -1 : 1);

/**
 * A numeric string as PHP 8's is_numeric_string_ex reads it: an int (exact) when it is an
 * integer within 64 bits, else a double, with the side it overflowed to when it has 20 or more
 * integer digits (even with a fraction: "18446744073709551616.5") or is an integer beyond 64 bits.
 */
function phpNumeric(s: string): { int: bigint | null; dval: number; oflow: number } {
  const body = s.replace(/^[ \t\n\r\v\f]+/, '');
  const neg = body[0] === '-';
  const unsigned = body.replace(/^[+-]/, '');
  const digits = /^\d*/.exec(unsigned)![0].replace(/^0+/, '');
  const dval = Number(s.replace(/^[ \t\n\r\v\f]+|[ \t\n\r\v\f]+$/g, ''));
  const side = neg ? -1 : 1;
  if (digits.length >= 20) return { int: null, dval, oflow: side };
  if (!/^\d+[ \t\n\r\v\f]*$/.test(unsigned)) return { int: null, dval, oflow: 0 };
  const n = BigInt((neg ? '-' : '') + (digits || '0'));
  return n < INT64_MIN || n > INT64_MAX ? { int: null, dval, oflow: side } : { int: n, dval, oflow: 0 };
}

/**
 * Two numeric strings as PHP 8 orders them (zendi_smart_strcmp): ints exactly; an int against
 * an overflowed integer never equal; two values that overflowed alike, or to one infinity, as
 * strings ("9223372036854775808" == "9223372036854775809" and "1e400" == "2e400" are false).
 */
function numericStringOrder(s1: string, s2: string): number {
  const x = phpNumeric(s1);
  const y = phpNumeric(s2);
  if (x.oflow !== 0 && x.oflow === y.oflow && x.dval - y.dval === 0) return stringOrder(s1, s2);
  if (x.int !== null && y.int !== null) return threeway(x.int, y.int);
  if (x.int !== null) return y.oflow !== 0 ? -y.oflow : threeway(Number(x.int), y.dval);
  if (y.int !== null) return x.oflow !== 0 ? x.oflow : threeway(x.dval, Number(y.int));
  if (x.dval === y.dval && !Number.isFinite(x.dval)) return stringOrder(s1, s2);
  return threeway(x.dval, y.dval);
}

/** An int beyond 2^53 as the plain view gives it (its decimal string): PHP compares it as an int. */
const VIEW_INT = /^-?[1-9]\d{15,18}$/;

/** -1, 0 or 1 as PHP 8 orders two numbers (exact for two ints), or null when one is not numeric. */
function numericOrder(actual: unknown, expected: unknown): number | null {
  if (typeof actual === 'string' && typeof expected === 'string' && NUMERIC.test(actual) && NUMERIC.test(expected) && !(VIEW_INT.test(actual) && asInteger(actual) !== null)) {
    return numericStringOrder(actual, expected);
  }
  const ai = asInteger(actual);
  const bi = ai === null ? null : asInteger(expected);
  if (ai !== null && bi !== null) return threeway(ai, bi);
  const a = asNumber(actual);
  const b = asNumber(expected);
  // Not a - b: INF - INF is NaN, and PHP's "1e999" == INF is true.
  return a !== null && b !== null ? threeway(a, b) : null;
}

function compare(actual: unknown, op: string, expected: Literal): boolean {
  if (expected === null || typeof expected === 'boolean') {
    const same = actual === expected;
    return op === '==' ? same : op === '!=' ? !same : false;
  }
  let d = numericOrder(actual, expected);
  if (d === null) {
    if (typeof actual === 'string' && typeof expected === 'string') d = stringOrder(actual, expected);
    else return op === '!=';
  }
  switch (op) {
    case '==':
      return d === 0;
    case '!=':
      return d !== 0;
    case '<':
      return d < 0;
    case '>':
      return d > 0;
    case '<=':
      return d <= 0;
    default:
      return d >= 0;
  }
}

/**
 * The operands of a chain of one connective, in order: `a and b and c` parses as
 * and(and(a, b), c), as deep as the chain is long, so walking it by recursion would overflow
 * the stack on a long generated expression (`user.id == 1 or user.id == 2 or …`).
 */
function chain(node: WhereNode & { kind: 'and' | 'or' }): WhereNode[] {
  const rights: WhereNode[] = [];
  let n: WhereNode = node;
  while (n.kind === node.kind) {
    const c = n as WhereNode & { kind: 'and' | 'or' };
    rights.push(c.right);
    n = c.left;
  }
  return [n, ...rights.reverse()];
}

/**
 * Whether the session's plain view satisfies the expression. Recursion only follows `not` and
 * parentheses (at most 100 levels, see parse.ts): a chain of `and`/`or` is a loop.
 */
export function evaluateWhere(node: WhereNode, plain: unknown): boolean {
  switch (node.kind) {
    case 'and':
      return chain(node).every((n) => evaluateWhere(n, plain));
    case 'or':
      return chain(node).some((n) => evaluateWhere(n, plain));
    case 'not':
      return !evaluateWhere(node.operand, plain);
    case 'exists':
      return resolve(plain, node.path).length > 0;
    case 'compare':
      return resolve(plain, node.path).some((v) => compare(v, node.op, node.value));
    case 'match':
      return resolve(plain, node.path).some((v) => (typeof v === 'string' || typeof v === 'number') && node.re.test(String(v)));
  }
}
