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

const NUMERIC = /^\s*-?(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][+-]?\d+)?\s*$/;

/** A number for numeric comparison: numbers, and strings that are decimal numbers (PHP stores ids either way). */
function asNumber(v: unknown): number | null {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && NUMERIC.test(v)) return Number(v);
  return null;
}

function compare(actual: unknown, op: string, expected: Literal): boolean {
  if (expected === null || typeof expected === 'boolean') {
    const same = actual === expected;
    return op === '==' ? same : op === '!=' ? !same : false;
  }
  const a = asNumber(actual);
  const b = asNumber(expected);
  let d: number;
  if (a !== null && b !== null) d = a - b;
  else if (typeof actual === 'string' && typeof expected === 'string') d = actual < expected ? -1 : actual > expected ? 1 : 0;
  else return op === '!=' && (typeof actual !== 'object' || actual === null);
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

/** Whether the session's plain view satisfies the expression. */
export function evaluateWhere(node: WhereNode, plain: unknown): boolean {
  switch (node.kind) {
    case 'and':
      return evaluateWhere(node.left, plain) && evaluateWhere(node.right, plain);
    case 'or':
      return evaluateWhere(node.left, plain) || evaluateWhere(node.right, plain);
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
