/** The parsed form of a `--where` expression (see parse.ts for the grammar). */
import type { Matcher } from './linear-regex.js';

/** One step of a path: a literal key, or a key pattern with `*` / `?`. */
export type Segment = { kind: 'key'; key: string } | { kind: 'glob'; pattern: string; re: Matcher };

export type CompareOp = '==' | '!=' | '<' | '>' | '<=' | '>=';

/** A literal on the right of a comparison: an integer beyond 2^53 (within 64 bits) is a bigint, kept exact. */
export type Literal = string | number | bigint | boolean | null;

export type WhereNode =
  | { kind: 'and' | 'or'; left: WhereNode; right: WhereNode }
  | { kind: 'not'; operand: WhereNode }
  | { kind: 'exists'; path: Segment[] }
  | { kind: 'compare'; path: Segment[]; op: CompareOp; value: Literal }
  | { kind: 'match'; path: Segment[]; re: Matcher };
